/* vigil run / vigil gateway: the Kafka roles (consumers/consumer.h).
 *   vigil run -c CONFIG [--mode member|single]   a consumer-group member
 *   vigil gateway -c CONFIG                       the alert gateway group
 * SIGTERM/SIGINT stop cleanly: finish the batch, checkpoint, commit, close. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "consumers/consumer.h"
#include "core/cmds.h"
#include "core/log.h"

static void run_usage(FILE *f, const char *name)
{
	fprintf(f,
		"usage: vigil %s -c CONFIG%s [-v]\n\n"
		"Joins a Kafka consumer group as described by the YAML config file (keys:\n"
		"kafka, input, state_topic, alerts_topic, dead_letter_topic, rules, owners,\n"
		"gateway_group, checkpoint_interval, stats_interval, batch_size, max_series,\n"
		"mode). See consumers/kafka_conf.c for the full format.\n\n"
		"  -c CONFIG   config file\n%s"
		"  -v          debug logging\n",
		name, strcmp(name, "run") == 0 ? " [--mode member|single]" : "",
		strcmp(name, "run") == 0 ? "  --mode M    override the config's mode (member or single)\n"
					 : "");
}

static int run_common(int argc, char **argv, int gateway)
{
	const char *path = NULL, *mode_s = NULL;
	struct kafka_cfg *c = NULL;
	char err[1024];

	if (cmd_wants_help(argc, argv)) {
		run_usage(stdout, argv[0]);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			path = argv[++i];
		} else if (!gateway && strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			mode_s = argv[++i];
		} else if (strcmp(argv[i], "-v") == 0) {
			log_level = LOG_LEVEL_DEBUG;
		} else {
			fprintf(stderr, "vigil %s: unknown or incomplete option '%s'\n", argv[0], argv[i]);
			run_usage(stderr, argv[0]);
			return 2;
		}
	}
	if (path == NULL) {
		run_usage(stderr, argv[0]);
		return 2;
	}
	if (kafka_cfg_load(path, &c, err, sizeof err) != 0) {
		fprintf(stderr, "vigil %s: %s\n", argv[0], err);
		return 2;
	}
	enum kafka_mode mode = gateway ? KAFKA_MODE_GATEWAY : c->mode;
	if (mode_s) {
		if (strcmp(mode_s, "member") == 0)
			mode = KAFKA_MODE_MEMBER;
		else if (strcmp(mode_s, "single") == 0)
			mode = KAFKA_MODE_SINGLE;
		else {
			fprintf(stderr, "vigil run: --mode must be member or single\n");
			kafka_cfg_free(c);
			return 2;
		}
	} else if (!gateway && mode == KAFKA_MODE_GATEWAY) {
		fprintf(stderr, "vigil run: %s says mode: gateway; use `vigil gateway -c %s`\n", path, path);
		kafka_cfg_free(c);
		return 2;
	}
	cmd_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);
	int rc = kafka_run(c, mode, &cmd_stop);
	kafka_cfg_free(c);
	return rc == 0 ? 0 : 1;
}

int cmd_run(int argc, char **argv)
{
	return run_common(argc, argv, 0);
}

int cmd_gateway(int argc, char **argv)
{
	return run_common(argc, argv, 1);
}
