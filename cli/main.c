/* bin/vigil: dispatch to the subcommands in core/cmd_*.c. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "core/chart.h"
#include "core/failpoint.h"
#include "cli/serve.h"
#include "core/harden.h"
#include "core/vigil.h"

int cmd_read_first_line(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(out, (int)outlen, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -1;
}

volatile sig_atomic_t cmd_stop;

static void cmd_on_term(int sig)
{
	(void)sig;
	cmd_stop = 1;
}

void cmd_stop_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmd_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

const struct vigil_cmd vigil_cmds[] = {
	{"detect", "score one NAB-style CSV file: timestamp,value -> timestamp,value,anomaly_score",
	 cmd_detect},
	{"replay", "run files through the whole pipeline using the data's own timestamps", cmd_replay},
	{"rules", "rules check|list|test PATH...: validate, list or backtest rule and owner files",
	 cmd_rules},
	{"bench", "internal benchmarks used by `make bench`", cmd_bench},
	{"run", "run -c CONFIG: join a Kafka consumer group and alert (member or single mode)", cmd_run},
	{"gateway", "gateway -c CONFIG: the alert gateway as a consumer group on the alerts topic",
	 cmd_gateway},
	{"silence", "silence add|list|expire|preview: mute an owner's alerts matching label matchers",
	 cmd_silence},
	{"ack", "ack EPISODE: acknowledge an open alert (stops its escalation); --unack undoes it", cmd_ack},
	{"oncall", "oncall [OWNER]: who is on call now and next in each on-call schedule", cmd_oncall},
	{"ingest", "a Prometheus remote write receiver producing samples to a topic, keyed by series",
	 cmd_ingest},
	{"produce", "publish metric lines to a Kafka topic, keyed by series", cmd_produce},
	{"consume", "read a topic (e.g. the dead-letter topic) as JSON lines, without a group", cmd_consume},
	{"broker", "a development Kafka broker (librdkafka mock cluster, in memory)", cmd_broker},
	{"help", "this text; `vigil help detectors`: detectors and parameters; `vigil help api`: HTTP routes",
	 cmd_help},
	{"version", "print the version", cmd_version},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil COMMAND [ARGS...]\n\n"
		   "vigil is a streaming anomaly-detection alert engine: it learns a model per\n"
		   "series, turns anomalies into alerts through one central gateway and sends\n"
		   "each to the owner a rule names.\n\ncommands:\n");
	for (const struct vigil_cmd *c = vigil_cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nRun `vigil COMMAND --help` for a command's options.\n\n"
		   "Core dumps are off and the process is not dumpable (no same-user ptrace or\n"
		   "/proc/PID/mem reads): it holds resolved secrets. VIGIL_ALLOW_CORE_DUMPS=1 in\n"
		   "the environment keeps the system's settings, for debugging.\n");
}

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("vigil %s\n", VIGIL_VERSION);
	return 0;
}

void det_print_help(FILE *f);

static int cmd_help(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "detectors") == 0) {
		det_print_help(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "api") == 0) {
		/* the route table of the HTTP service (cli/openapi.yaml documents it) */
		size_t n;
		const struct httpd_route *r = serve_routes(&n);
		for (size_t i = 0; i < n; i++)
			printf("%-6s %s\n", r[i].method, r[i].pattern);
		return 0;
	}
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/* before any command reads a config or resolves a secret: no core
	 * dump and no same-user /proc/PID/mem read of this process (unless
	 * VIGIL_ALLOW_CORE_DUMPS=1); the usual state is logged by the daemons,
	 * any other at once */
	if (harden_core_dumps() != HARDEN_OFF)
		harden_log();
	gsl_set_error_handler_off();
	/* test hooks (core/failpoint.h): read once, before any thread */
	char fperr[512];
	if (failpoint_setup(getenv("VIGIL_FAILPOINT"), fperr, sizeof fperr) != 0) {
		fprintf(stderr, "vigil: VIGIL_FAILPOINT: %s\n", fperr);
		return 2;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (const struct vigil_cmd *c = vigil_cmds; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0) {
			int rc = c->run(argc - 1, argv + 1);
			chart_release(); /* every command has joined its threads by now */
			return rc;
		}
	fprintf(stderr, "vigil: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
