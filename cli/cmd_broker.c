/* vigil broker: a development Kafka broker (librdkafka 2.0.2's mock cluster)
 * in its own process. Honest limits (docs/kafka.md §4): everything is in
 * memory and dies with this process, no log compaction, no transactions
 * (no EOS effects), static membership ignored, each partition keeps at most
 * 5 MiB / 100,000 batches (the oldest are dropped), rebalances take about
 * session.timeout.ms - 1 s per round. For development and tests only.
 *
 * Fault injection: SIGUSR1 = every broker down, SIGUSR2 = every broker up,
 * or lines on the --control FIFO: "down", "up", "down ID", "up ID",
 * "error APIKEY N [ERRCODE]" (next N requests of that API fail; default
 * error = transport, i.e. disconnect), "clear APIKEY", "rtt MS". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli/cmds.h"
#include "core/log.h"

static volatile sig_atomic_t broker_down_req, broker_up_req;

static void on_usr1(int sig)
{
	(void)sig;
	broker_down_req = 1;
}
static void on_usr2(int sig)
{
	(void)sig;
	broker_up_req = 1;
}

static void broker_usage(FILE *f)
{
	fprintf(f, "usage: vigil broker [--partitions N] [--topics T1,T2:N,...] [--brokers N]\n"
		   "                    [--bootstrap-file FILE] [--control FIFO] [--debug CTX]\n\n"
		   "Hosts librdkafka's in-memory mock Kafka cluster for development and tests.\n"
		   "NOT a real broker: in memory only, no compaction, no transactions, static\n"
		   "membership ignored, at most 5 MiB per partition (oldest data dropped).\n\n"
		   "  --partitions N        partitions of each pre-created topic (default 6)\n"
		   "  --topics LIST         topics to pre-create, comma-separated; NAME:N sets a\n"
		   "                        count per topic (others auto-create with 4 partitions)\n"
		   "  --brokers N           mock brokers (default 1)\n"
		   "  --bootstrap-file F    write the bootstrap servers string to F (atomically)\n"
		   "  --control FIFO        read fault-injection commands from FIFO (created if absent):\n"
		   "                        down [ID] | up [ID] | error APIKEY N [ERRCODE] | clear APIKEY | "
		   "rtt MS\n"
		   "  --debug CTX           librdkafka debug contexts on stderr, e.g. mock,cgrp (the\n"
		   "                        mock's group coordinator: joins, generations, timeouts)\n"
		   "Signals: SIGUSR1 all brokers down, SIGUSR2 all up, SIGTERM/SIGINT stop.\n");
}

static int write_atomic(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	if (fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void set_all(rd_kafka_mock_cluster_t *mc, int nbrokers, int down)
{
	for (int b = 1; b <= nbrokers; b++) {
		rd_kafka_resp_err_t e =
			down ? rd_kafka_mock_broker_set_down(mc, b) : rd_kafka_mock_broker_set_up(mc, b);
		if (e)
			LOG_WARN("broker", "event=set_%s broker=%d err=\"%s\"", down ? "down" : "up", b,
				 rd_kafka_err2str(e));
	}
	LOG_INFO("broker", "event=brokers_%s count=%d", down ? "down" : "up", nbrokers);
}

static void control_line(rd_kafka_mock_cluster_t *mc, int nbrokers, char *line)
{
	char cmd[32] = "";
	int a = -1, b = -1, c = RD_KAFKA_RESP_ERR__TRANSPORT;
	int n = sscanf(line, "%31s %d %d %d", cmd, &a, &b, &c);
	if (n < 1)
		return;
	if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
		int down = cmd[0] == 'd';
		if (n >= 2) {
			rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(mc, a)
						     : rd_kafka_mock_broker_set_up(mc, a);
			LOG_INFO("broker", "event=broker_%s broker=%d err=\"%s\"", cmd, a,
				 rd_kafka_err2str(e));
		} else {
			set_all(mc, nbrokers, down);
		}
	} else if (strcmp(cmd, "error") == 0 && n >= 3 && a >= 0 && b > 0 && b <= 100000) {
		rd_kafka_resp_err_t *errs = malloc((size_t)b * sizeof *errs);
		if (errs == NULL)
			return;
		for (int i = 0; i < b; i++)
			errs[i] = (rd_kafka_resp_err_t)c;
		rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
		free(errs);
		LOG_INFO("broker", "event=inject_errors api=%d count=%d err=\"%s\"", a, b,
			 rd_kafka_err2str((rd_kafka_resp_err_t)c));
	} else if (strcmp(cmd, "clear") == 0 && n >= 2) {
		rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
		LOG_INFO("broker", "event=clear_errors api=%d", a);
	} else if (strcmp(cmd, "rtt") == 0 && n >= 2 && a >= 0) {
		for (int i = 1; i <= nbrokers; i++)
			rd_kafka_mock_broker_set_rtt(mc, i, a);
		LOG_INFO("broker", "event=rtt ms=%d", a);
	} else {
		LOG_WARN("broker", "event=bad_control_line line=\"%s\"", line);
	}
}

int cmd_broker(int argc, char **argv)
{
	int partitions = 6, nbrokers = 1, rc = 1, fd = -1;
	const char *topics = NULL, *bootfile = NULL, *control = NULL, *debug = NULL;
	char err[512], ctl_buf[1024];
	size_t ctl_len = 0;
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;

	if (cmd_wants_help(argc, argv)) {
		broker_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
			partitions = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
			nbrokers = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--topics") == 0 && i + 1 < argc) {
			topics = argv[++i];
		} else if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc) {
			bootfile = argv[++i];
		} else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
			control = argv[++i];
		} else if (strcmp(argv[i], "--debug") == 0 && i + 1 < argc) {
			debug = argv[++i];
		} else {
			fprintf(stderr, "vigil broker: unknown or incomplete option '%s'\n", argv[i]);
			broker_usage(stderr);
			return 2;
		}
	}
	if (partitions < 1 || partitions > 1000 || nbrokers < 1 || nbrokers > 16) {
		fprintf(stderr, "vigil broker: --partitions must be 1..1000 and --brokers 1..16\n");
		return 2;
	}
	cmd_stop_on_signals();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "client.id", "vigil-broker", err, sizeof err) != RD_KAFKA_CONF_OK ||
	    (debug && rd_kafka_conf_set(conf, "debug", debug, err, sizeof err) != RD_KAFKA_CONF_OK)) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "vigil broker: %s\n", err);
		return 1;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (rk == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "vigil broker: %s\n", err);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, nbrokers);
	if (mc == NULL) {
		fprintf(stderr, "vigil broker: cannot start the mock cluster\n");
		goto out;
	}
	if (topics) {
		char *copy = strdup(topics), *save = NULL;
		if (copy == NULL)
			goto out;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *colon = strchr(t, ':');
			int np = partitions;
			if (colon) {
				*colon = '\0';
				np = atoi(colon + 1);
			}
			if (*t == '\0' || np < 1) {
				fprintf(stderr, "vigil broker: bad topic spec in --topics\n");
				free(copy);
				goto out;
			}
			rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, t, np, 1);
			if (e) {
				fprintf(stderr, "vigil broker: topic %s: %s\n", t, rd_kafka_err2str(e));
				free(copy);
				goto out;
			}
			LOG_INFO("broker", "event=topic_created topic=%s partitions=%d", t, np);
		}
		free(copy);
	}
	const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
	if (control) {
		if (mkfifo(control, 0600) != 0 && errno != EEXIST) {
			fprintf(stderr, "vigil broker: %s: %s\n", control, strerror(errno));
			goto out;
		}
		/* O_RDWR keeps the FIFO open when writers come and go (Linux). */
		fd = open(control, O_RDWR | O_NONBLOCK);
		if (fd < 0) {
			fprintf(stderr, "vigil broker: %s: %s\n", control, strerror(errno));
			goto out;
		}
	}
	if (bootfile && write_atomic(bootfile, boot) != 0) {
		fprintf(stderr, "vigil broker: cannot write %s: %s\n", bootfile, strerror(errno));
		goto out;
	}
	printf("%s\n", boot);
	fflush(stdout);
	LOG_INFO("broker",
		 "event=started bootstrap=%s brokers=%d (development mock: in memory, 5 MiB/partition)", boot,
		 nbrokers);
	while (!cmd_stop) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int pr = poll(&pfd, fd >= 0 ? 1 : 0, 200);
		if (broker_down_req) {
			broker_down_req = 0;
			set_all(mc, nbrokers, 1);
		}
		if (broker_up_req) {
			broker_up_req = 0;
			set_all(mc, nbrokers, 0);
		}
		if (pr > 0 && fd >= 0 && (pfd.revents & POLLIN)) {
			ssize_t r = read(fd, ctl_buf + ctl_len, sizeof ctl_buf - 1 - ctl_len);
			if (r > 0) {
				ctl_len += (size_t)r;
				ctl_buf[ctl_len] = '\0';
				char *nl;
				while ((nl = memchr(ctl_buf, '\n', ctl_len)) != NULL) {
					*nl = '\0';
					control_line(mc, nbrokers, ctl_buf);
					size_t used = (size_t)(nl - ctl_buf) + 1;
					memmove(ctl_buf, nl + 1, ctl_len - used);
					ctl_len -= used;
				}
				if (ctl_len == sizeof ctl_buf - 1)
					ctl_len = 0; /* overlong line: drop it */
			}
		}
	}
	LOG_INFO("broker", "event=stopping");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	if (bootfile && rc == 0)
		unlink(bootfile);
	return rc;
}
