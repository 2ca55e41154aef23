/* vigil oncall: who is on call now and next in each on-call schedule of the
 * owners (rules/oncall.h, gateway_oncall_report), from the configuration
 * alone: no Kafka, no gateway state. */
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/ctl_client.h"
#include "core/clock.h"
#include "core/timefmt.h"
#include "sinks/gateway.h"

static void oncall_usage(FILE *f)
{
	fprintf(f, "usage: vigil oncall (-c CONFIG | --owners FILE [--rules PATH]...) [--at T] [--json]\n"
		   "                    [OWNER]\n\n"
		   "Prints, for every on-call schedule of OWNER (default: every owner), who is on\n"
		   "call at --at (default now) and until when, and who is next and until when.\n"
		   "Nothing is contacted: the answer comes from the schedules, their rotations and\n"
		   "overrides in the owners configuration.\n\n"
		   "  -c CONFIG        a `vigil run`/`vigil gateway` config (its rules and owners)\n"
		   "  --owners FILE    or an owners file\n"
		   "  --rules PATH     and/or rule files with owners (repeatable)\n"
		   "  --at T           the instant to ask about, RFC 3339 (2026-03-02T08:15:00Z)\n"
		   "  --json           a JSON array of {owner, schedule, now, until, next, next_until}\n"
		   "  -v               debug logging\n\n"
		   "Exit status: 0 done, 1 failure (unreadable owners), 2 usage error.\n");
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

int cmd_oncall(int argc, char **argv)
{
	static const char prog[] = "vigil oncall";
	struct ctl_args a;
	struct ctl_env e = {0};
	json_t *rep = NULL, *x;
	double at = clock_wall();
	const char *owner = NULL;
	size_t i;
	int rc;

	if (cmd_wants_help(argc, argv)) {
		oncall_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_OWNERS | CTL_O_RULES | CTL_O_AT | CTL_O_JSON, &a,
			    oncall_usage)) != 0)
		return rc;
	if (a.npos > 1) {
		fprintf(stderr, "%s: at most one OWNER, got '%s' and '%s'\n", prog, a.pos[0], a.pos[1]);
		return 2;
	}
	owner = a.npos ? a.pos[0] : NULL;
	if (!a.config && !a.owners && !a.nrules) {
		fprintf(stderr, "%s: -c CONFIG or --owners FILE (or --rules PATH) is required\n\n", prog);
		oncall_usage(stderr);
		return 2;
	}
	if (a.at && (rc = ctl_parse_time(prog, "--at", a.at, &at)) != 0)
		return rc;
	if ((rc = ctl_env_open(&e, prog, &a, CTL_OPTIONAL)) != 0 ||
	    (owner && (rc = ctl_check_owner(&e, "OWNER", owner)) != 0))
		goto out;
	rep = gateway_oncall_report(e.rs, owner, at);
	if (rep == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	if (a.json) {
		rc = ctl_print_json(prog, rep);
		goto out;
	}
	if (json_array_size(rep) == 0) {
		printf("no on-call schedules%s%s\n", owner ? " for " : "", owner ? owner : "");
		goto out;
	}
	char t[48];
	time_format_rfc3339(at, t, sizeof t);
	printf("on call at %s\n", t);
	printf("%-16s %-16s %-16s %-24s %-16s %s\n", "OWNER", "SCHEDULE", "NOW", "UNTIL", "NEXT",
	       "NEXT_UNTIL");
	json_array_foreach(rep, i, x)
		printf("%-16s %-16s %-16s %-24s %-16s %s\n", str_or(x, "owner", "?"),
		       str_or(x, "schedule", "?"), str_or(x, "now", "(nobody)"), str_or(x, "until", "-"),
		       str_or(x, "next", "(nobody)"), str_or(x, "next_until", "-"));
out:
	json_decref(rep);
	ctl_env_close(&e);
	return rc;
}
