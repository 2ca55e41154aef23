/* Subcommands of bin/vigil. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 failure of the job, 2 usage error. */
#ifndef CORE_CMDS_H
#define CORE_CMDS_H

#include <signal.h>
#include <stddef.h>

struct vigil_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cmd_detect(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_bench_gateway(int argc, char **argv); /* cli/cmd_bench_gateway.c */
int cmd_bench_inputs(int argc, char **argv);  /* cli/cmd_bench_inputs.c: decoders, rw */
/* vigil bench chart: microseconds to draw one alert chart as SVG and PNG. */
int cmd_bench_chart(int argc, char **argv);
int cmd_bench_rules(int argc, char **argv); /* cli/cmd_bench_rules.c */
int cmd_broker(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_ingest(int argc, char **argv); /* cli/cmd_ingest.c */
int cmd_consume(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_silence(int argc, char **argv); /* cli/cmd_silence.c */
int cmd_ack(int argc, char **argv);     /* cli/cmd_ack.c */
int cmd_oncall(int argc, char **argv);  /* cli/cmd_oncall.c */

/* NULL-terminated table, defined in core/main.c. */
extern const struct vigil_cmd vigil_cmds[];

/* 1 if argv has -h/--help before any "--". */
int cmd_wants_help(int argc, char **argv);
/* The first line of a file (e.g. a --bootstrap-file) into out, without its
 * line end. 0, or -1 if the file cannot be read or the line is empty. */
int cmd_read_first_line(const char *path, char *out, size_t outlen);
/* Set to 1 by SIGTERM / SIGINT once cmd_stop_on_signals() ran: the
 * long-running subcommands (one per process) poll it to finish cleanly. */
extern volatile sig_atomic_t cmd_stop;
void cmd_stop_on_signals(void);

#endif
