/* The client side of on-call control, shared by `vigil silence`, `vigil ack`
 * and `vigil oncall` (cli/cmd_silence.c, cmd_ack.c, cmd_oncall.c):
 *  - the command line they share (-c CONFIG, or --state DIR with the
 *    --owners FILE / --rules PATH of the `vigil replay --state DIR` run),
 *  - where a control command goes: the control topic of CONFIG, keyed by
 *    owner, confirmed by the broker (consumers/gateway_control.h applies
 *    it); or one JSON line appended to DIR/control.jsonl for a
 *    `vigil replay --state DIR` gateway,
 *  - the gateway's view of silences and open alerts: with CONFIG the newest
 *    snapshot of every alerts-topic partition on the gateway state topic
 *    plus the control records after each snapshot's control position; with
 *    DIR the "put" records of DIR/gateway.log plus the lines of
 *    DIR/control.jsonl the gateway has not applied yet (its "c" record).
 * Functions that can fail print their message ("vigil silence add: ...") on
 * stderr and return the exit status: 0 ok, 1 failure, 2 usage.
 * @thread single-threaded CLI code. */
#ifndef CLI_CTL_CLIENT_H
#define CLI_CTL_CLIENT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "rules/rules.h"
#include "sinks/silence.h"

#define CTL_SCHEMA    "vigil.control/v1"
#define CTL_MAX_POS   256
#define CTL_MAX_RULES 64

/* Options a command accepts (ctl_parse mask). */
enum {
	CTL_O_CONFIG = 1 << 0,   /* -c/--config CONFIG */
	CTL_O_STATE = 1 << 1,    /* --state DIR */
	CTL_O_OWNERS = 1 << 2,   /* --owners FILE */
	CTL_O_OWNER = 1 << 3,    /* --owner O */
	CTL_O_AUTHOR = 1 << 4,   /* --author A */
	CTL_O_COMMENT = 1 << 5,  /* --comment C */
	CTL_O_DURATION = 1 << 6, /* --duration D */
	CTL_O_ENDS = 1 << 7,     /* --ends T */
	CTL_O_STARTS = 1 << 8,   /* --starts T */
	CTL_O_AT = 1 << 9,       /* --at T */
	CTL_O_JSON = 1 << 10,    /* --json */
	CTL_O_UNACK = 1 << 11,   /* --unack */
	CTL_O_RULES = 1 << 12,   /* --rules PATH (repeatable) */
};

struct ctl_args {
	const char *config, *state, *owners, *owner, *author, *comment, *duration, *ends, *starts, *at;
	int json, unack;
	const char *rules[CTL_MAX_RULES]; /* --rules, in order */
	int nrules;
	const char *pos[CTL_MAX_POS]; /* positional arguments, in order */
	int npos;
};

/* Parse argv[1..argc) into a (options outside mask, a missing value or a
 * repeated option are errors; -v turns debug logging on; "--" ends the
 * options). Returns 0 or 2 (message printed, then usage(stderr)). */
int ctl_parse(const char *prog, int argc, char **argv, unsigned mask, struct ctl_args *a,
	      void (*usage)(FILE *));

/* Where a command acts: a Kafka deployment (cfg) or a single-process
 * gateway's state directory (state_dir), and the owners it may name. */
struct ctl_env {
	const char *prog; /* "vigil silence add", for messages */
	struct kafka_cfg *cfg;
	const char *state_dir;
	struct ruleset *rs; /* NULL when not loaded */
};

/* How a command uses its target (ctl_env_open flags). */
enum {
	CTL_NEED_OWNERS = 1, /* --state needs --owners or --rules (to check an owner) */
	CTL_OPTIONAL = 2,    /* neither -c nor --state is fine (oncall: --owners alone) */
	CTL_WRITES = 4,      /* appends to DIR: a missing DIR is created */
};
/* Check the -c / --state choice and load what they name: the config and
 * its rules and owners, or the --rules / --owners files (required with
 * CTL_NEED_OWNERS). 0, 1 or 2. */
int ctl_env_open(struct ctl_env *e, const char *prog, const struct ctl_args *a, unsigned flags);
void ctl_env_close(struct ctl_env *e);
/* 0 if owner is an owner of e->rs (or no owners are loaded), else 2 with a
 * message naming flag and the known owners. */
int ctl_check_owner(const struct ctl_env *e, const char *flag, const char *owner);

/* Publish control command cmd (borrowed) keyed by owner and wait for the
 * broker to acknowledge it, or append it to DIR/control.jsonl. where (may
 * be NULL, >= 96 bytes) gets "alerts.control partition 1 offset 17" or the
 * file's path. 0 or 1. */
int ctl_send(const struct ctl_env *e, const char *owner, json_t *cmd, char *where, size_t wherelen);

/* The gateway's view: its silences and its groups of open alerts. */
struct ctl_view {
	struct silences *sil;
	json_t *groups;    /* array of the snapshots' group objects ({"owner","alerts":[...]}) */
	unsigned nsnaps;   /* snapshots (or state files) read */
	unsigned nrecords; /* control records applied after them */
};

/* Load the view of e (the whole deployment). 0 or 1. */
int ctl_view_load(const struct ctl_env *e, struct ctl_view *v);
void ctl_view_free(struct ctl_view *v);
/* Apply one control command to the view (as the gateway would), at time
 * `at` when the command carries none. 0 or -VIGIL_E*. */
int ctl_view_apply(struct ctl_view *v, json_t *cmd, int32_t part, double at);

/* Parse an RFC 3339 time given for flag. 0 or 2 (message printed). */
int ctl_parse_time(const char *prog, const char *flag, const char *text, double *out);
/* now at millisecond precision, exactly as its RFC 3339 text reads back. */
double ctl_now_ms(void);
/* A new control command {"schema","op"}; NULL on allocation failure. */
json_t *ctl_cmd_new(const char *op);
/* Write j to stdout (indented) and a newline. 0 or 1. */
int ctl_print_json(const char *prog, json_t *j);

#endif
