/* vigil silence add|list|expire|preview: an owner's silences (sinks/silence.h)
 * through the gateway's control channel (cli/ctl_client.h): the control
 * topic of a Kafka deployment (-c CONFIG), or the control.jsonl of a
 * single-process gateway's state directory (--state DIR). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/ctl_client.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/params.h"
#include "core/timefmt.h"

#define TARGET_USAGE "(-c CONFIG | --state DIR --owners FILE [--rules PATH]...)"

static const char target_help[] =
	"  -c CONFIG        the Kafka deployment's config (`vigil gateway -c`): commands\n"
	"                   go to its control_topic keyed by owner, state is read from\n"
	"                   its gateway_state_topic snapshots plus later control records\n"
	"  --state DIR      instead: the state directory of a `vigil replay --state DIR`\n"
	"                   gateway (commands are appended to DIR/control.jsonl, which\n"
	"                   the gateway applies at start and while it runs)\n"
	"  --owners FILE    with --state: the owners file of that run, to check --owner\n"
	"  --rules PATH     with --state: its rule files (repeatable), for owners there\n";

static const char exit_help[] =
	"\nExit status: 0 done, 1 failure (broker, files, not found), 2 usage error.\n";

static void add_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil silence add " TARGET_USAGE "\n"
		"                         --owner O --author A --comment C\n"
		"                         (--duration D | --ends T) [--starts T] MATCHER...\n\n"
		"Mutes owner O's alerts whose labels match every MATCHER, from --starts (default\n"
		"now) until --ends or for --duration (with -c the end must be in the future;\n"
		"with --state any window is taken, for a replay of past data). A MATCHER is name=value, "
		"name!=value,\n"
		"name=~regex or name!~regex (anchored POSIX ERE; quote it for the shell); a\n"
		"missing label reads as \"\". Alerts carry their series tags, the rule's labels,\n"
		"alertname, rule, owner, series and severity. Everything is checked before the\n"
		"command is published; with -c it is confirmed by the broker, and the gateway\n"
		"member that owns O's alerts applies it. Prints the silence id (derived from\n"
		"the content, so the gateway assigns the same one) and a summary.\n\n"
		"%s"
		"  --owner O        the owner whose alerts are muted (must be a loaded owner)\n"
		"  --author A       who silences (required)\n"
		"  --comment C      why (required)\n"
		"  --duration D     how long, like 30m, 2h, 1d (from --starts)\n"
		"  --ends T         or until when, RFC 3339 (2026-03-02T10:00:00Z)\n"
		"  --starts T       from when, RFC 3339 (default now)\n"
		"  -v               debug logging\n%s",
		target_help, exit_help);
}

static void list_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil silence list (-c CONFIG | --state DIR [--owners FILE] [--rules PATH]...)\n"
		"                          [--owner O] [--json]\n\n"
		"Lists the silences the gateway knows (pending, active and recently expired),\n"
		"as of the newest snapshot of every alerts partition plus the control records\n"
		"published after it (with --state: DIR/gateway.log plus the lines of\n"
		"DIR/control.jsonl the gateway has not applied yet). States are at the\n"
		"current time (a replay's silences may be in the past).\n"
		"Columns: id, owner, state, starts, ends, matchers, created_by, comment.\n\n"
		"%s"
		"  --owner O        only owner O's\n"
		"  --json           a JSON array of silences (sinks/silence.h form, with state)\n"
		"  -v               debug logging\n%s",
		target_help, exit_help);
}

static void expire_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil silence expire " TARGET_USAGE " --owner O ID\n\n"
		"Ends silence ID of owner O now; the alerts it muted are notified at their\n"
		"group's next flush. Fails (1) if the gateway's state has no such silence of O.\n\n"
		"%s"
		"  --owner O        the silence's owner (routes the command to its gateway member)\n"
		"  -v               debug logging\n%s",
		target_help, exit_help);
}

static void preview_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil silence preview " TARGET_USAGE " --owner O [--json] MATCHER...\n\n"
		"Shows which of owner O's open alerts a silence with these matchers would mute\n"
		"(nothing is published), as of the gateway's snapshots (alerts that arrived\n"
		"after a partition's last snapshot are not seen).\n\n"
		"%s"
		"  --owner O        whose alerts\n"
		"  --json           a JSON array of {episode, rule, series, labels, acknowledged}\n"
		"  -v               debug logging\n%s",
		target_help, exit_help);
}

static void silence_usage(FILE *f)
{
	fprintf(f, "usage: vigil silence add|list|expire|preview ...\n\n"
		   "  add       mute an owner's alerts matching label matchers for a while\n"
		   "  list      the silences the gateway knows\n"
		   "  expire    end a silence now\n"
		   "  preview   which open alerts a silence would mute\n\n"
		   "Run `vigil silence COMMAND --help` for the options.\n");
}

/* MATCHER arguments as a JSON array, each checked. 0 or 2. */
static int matchers_json(const char *prog, const struct ctl_args *a, json_t **out)
{
	char err[256];
	*out = NULL;
	if (a->npos == 0) {
		fprintf(stderr,
			"%s: at least one MATCHER is required, like 'cluster=~eu-.*' or 'host!=db1'\n", prog);
		return 2;
	}
	json_t *arr = json_array();
	for (int i = 0; arr && i < a->npos; i++) {
		struct tag_matcher m;
		if (matcher_parse(a->pos[i], &m, err, sizeof err) != 0) {
			fprintf(stderr, "%s: MATCHER '%s': %s\n", prog, a->pos[i], err);
			json_decref(arr);
			return 2;
		}
		matcher_free(&m);
		if (json_array_append_new(arr, json_string(a->pos[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	*out = arr;
	return 0;
}

static void fmt_time(double t, char *out, size_t outlen)
{
	time_format_rfc3339(t, out, outlen);
}

static void fmt_matchers(const struct silence *x, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < x->nm && n + 1 < outlen; i++) {
		char m[512];
		matcher_format(&x->m[i], m, sizeof m);
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? "," : "", m);
	}
}

static int require(const char *prog, const char *val, const char *what, void (*usage)(FILE *))
{
	if (val && val[0])
		return 0;
	fprintf(stderr, "%s: %s is required\n\n", prog, what);
	usage(stderr);
	return 2;
}

static int silence_add(int argc, char **argv)
{
	static const char prog[] = "vigil silence add";
	struct ctl_args a;
	struct ctl_env e = {0};
	struct silences *st = NULL;
	json_t *matchers = NULL, *spec = NULL, *cmd = NULL;
	char id[SILENCE_ID_LEN], err[512], ts[48], te[48], tc[48], where[160] = "", ms[2048];
	double starts, ends, d, now = ctl_now_ms();
	int rc;

	if (cmd_wants_help(argc, argv)) {
		add_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_STATE | CTL_O_OWNERS | CTL_O_RULES | CTL_O_OWNER |
				    CTL_O_AUTHOR | CTL_O_COMMENT | CTL_O_DURATION | CTL_O_ENDS | CTL_O_STARTS,
			    &a, add_usage)) != 0)
		return rc;
	if ((rc = require(prog, a.owner, "--owner O", add_usage)) != 0 ||
	    (rc = require(prog, a.author, "--author A (who silences)", add_usage)) != 0 ||
	    (rc = require(prog, a.comment, "--comment C (why)", add_usage)) != 0)
		return rc;
	if (!a.duration == !a.ends) {
		fprintf(stderr, "%s: give --duration D or --ends T (exactly one)\n", prog);
		return 2;
	}
	if ((rc = matchers_json(prog, &a, &matchers)) != 0)
		return rc;
	starts = now;
	if (a.starts && (rc = ctl_parse_time(prog, "--starts", a.starts, &starts)) != 0)
		goto out;
	if (a.duration) {
		if (params_parse_duration(a.duration, &d) != 0 || !(d > 0)) {
			fprintf(stderr, "%s: --duration '%s': not a positive duration like 30m, 2h, 1d\n",
				prog, a.duration);
			rc = 2;
			goto out;
		}
		ends = starts + d;
	} else if ((rc = ctl_parse_time(prog, "--ends", a.ends, &ends)) != 0) {
		goto out;
	}
	fmt_time(starts, ts, sizeof ts);
	fmt_time(ends, te, sizeof te);
	fmt_time(now, tc, sizeof tc);
	/* a Kafka gateway runs on wall time; a replay (--state) on its data's */
	int past = !a.state && !(ends > now);
	if (past || !(ends > starts)) {
		fprintf(stderr, "%s: the silence would end at %s, %s%s\n", prog, te,
			past ? "which is not in the future" : "not after it starts at ", past ? "" : ts);
		rc = 2;
		goto out;
	}
	if ((rc = ctl_env_open(&e, prog, &a, CTL_NEED_OWNERS | CTL_WRITES)) != 0 ||
	    (rc = ctl_check_owner(&e, "--owner", a.owner)) != 0)
		goto out;
	spec = json_pack("{s:s, s:O, s:s, s:s, s:s, s:s, s:s}", "owner", a.owner, "matchers", matchers,
			 "starts_at", ts, "ends_at", te, "created_by", a.author, "comment", a.comment,
			 "created_at", tc);
	cmd = ctl_cmd_new("silence_add");
	if (!spec || !cmd || json_object_set(cmd, "silence", spec) != 0 || silences_new(&st) != 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	/* the gateway's own validation, and the id it will derive */
	if (silences_add(st, spec, a.state ? starts : now, -1, id, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = 2;
		goto out;
	}
	if ((rc = ctl_send(&e, a.owner, cmd, where, sizeof where)) != 0)
		goto out;
	fmt_matchers(silences_find(st, id), ms, sizeof ms);
	printf("%s\nsilenced %s's alerts matching %s from %s until %s (by %s: %s); published to %s\n", id,
	       a.owner, ms, ts, te, a.author, a.comment, where);
out:
	if (st)
		silences_free(st);
	json_decref(matchers);
	json_decref(spec);
	json_decref(cmd);
	ctl_env_close(&e);
	return rc;
}

static int by_owner_start(const void *p, const void *q)
{
	const struct silence *x = *(const struct silence *const *)p, *y = *(const struct silence *const *)q;
	int c = strcmp(x->owner, y->owner);
	if (c)
		return c;
	if (x->starts < y->starts)
		return -1;
	if (x->starts > y->starts)
		return 1;
	return strcmp(x->id, y->id);
}

static const char *state_name(enum silence_state s)
{
	return s == SILENCE_PENDING ? "pending" : s == SILENCE_ACTIVE ? "active" : "expired";
}

static int silence_list(int argc, char **argv)
{
	static const char prog[] = "vigil silence list";
	struct ctl_args a;
	struct ctl_env e = {0};
	struct ctl_view v = {0};
	const struct silence **xs = NULL;
	size_t n = 0;
	double now = clock_wall();
	int rc;

	if (cmd_wants_help(argc, argv)) {
		list_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_STATE | CTL_O_OWNERS | CTL_O_RULES | CTL_O_OWNER |
				    CTL_O_JSON,
			    &a, list_usage)) != 0)
		return rc;
	if (a.npos > 0) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, a.pos[0]);
		return 2;
	}
	if ((rc = ctl_env_open(&e, prog, &a, 0)) != 0 ||
	    (a.owner && (rc = ctl_check_owner(&e, "--owner", a.owner)) != 0) ||
	    (rc = ctl_view_load(&e, &v)) != 0)
		goto out;
	xs = calloc(silences_count(v.sil) + 1, sizeof *xs);
	if (xs == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < silences_count(v.sil); i++) {
		const struct silence *x = silences_at(v.sil, i);
		if (!a.owner || strcmp(x->owner, a.owner) == 0)
			xs[n++] = x;
	}
	qsort(xs, n, sizeof *xs, by_owner_start);
	if (a.json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			if (json_array_append_new(arr, silence_to_json(xs[i], now)) != 0) {
				json_decref(arr);
				arr = NULL;
			}
		rc = arr ? ctl_print_json(prog, arr) : 1;
		if (!arr)
			fprintf(stderr, "%s: out of memory\n", prog);
		json_decref(arr);
		goto out;
	}
	if (n == 0) {
		printf("no silences%s%s\n", a.owner ? " of " : "", a.owner ? a.owner : "");
		goto out;
	}
	printf("%-19s %-14s %-8s %-24s %-24s %-32s %-12s %s\n", "ID", "OWNER", "STATE", "STARTS", "ENDS",
	       "MATCHERS", "CREATED_BY", "COMMENT");
	for (size_t i = 0; i < n; i++) {
		char s[48], t[48], m[2048];
		fmt_time(xs[i]->starts, s, sizeof s);
		fmt_time(xs[i]->ends, t, sizeof t);
		fmt_matchers(xs[i], m, sizeof m);
		printf("%-19s %-14s %-8s %-24s %-24s %-32s %-12s %s\n", xs[i]->id, xs[i]->owner,
		       state_name(silence_state(xs[i], now)), s, t, m, xs[i]->created_by, xs[i]->comment);
	}
out:
	free(xs);
	ctl_view_free(&v);
	ctl_env_close(&e);
	return rc;
}

static int valid_id(const char *id)
{
	if (strlen(id) != SILENCE_ID_LEN - 1 || strncmp(id, "s-", 2) != 0)
		return 0;
	for (const char *p = id + 2; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return 0;
	return 1;
}

static int silence_expire(int argc, char **argv)
{
	static const char prog[] = "vigil silence expire";
	struct ctl_args a;
	struct ctl_env e = {0};
	struct ctl_view v = {0};
	json_t *cmd = NULL;
	char where[160] = "", at[48], t[48];
	int rc;

	if (cmd_wants_help(argc, argv)) {
		expire_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_STATE | CTL_O_OWNERS | CTL_O_RULES | CTL_O_OWNER, &a,
			    expire_usage)) != 0)
		return rc;
	if ((rc = require(prog, a.owner, "--owner O", expire_usage)) != 0)
		return rc;
	if (a.npos != 1) {
		fprintf(stderr,
			"%s: want exactly one silence ID (like s-0123456789abcdef), got %d arguments\n", prog,
			a.npos);
		return 2;
	}
	const char *id = a.pos[0];
	if (!valid_id(id)) {
		fprintf(stderr, "%s: ID '%s': not a silence id (s- and 16 lowercase hex digits)\n", prog, id);
		return 2;
	}
	if ((rc = ctl_env_open(&e, prog, &a, CTL_NEED_OWNERS | CTL_WRITES)) != 0 ||
	    (rc = ctl_check_owner(&e, "--owner", a.owner)) != 0 || (rc = ctl_view_load(&e, &v)) != 0)
		goto out;
	const struct silence *x = silences_find(v.sil, id);
	if (x == NULL || strcmp(x->owner, a.owner) != 0) {
		fprintf(stderr,
			"%s: the gateway has no silence %s of owner %s (`vigil silence list` shows them)\n",
			prog, id, a.owner);
		rc = 1;
		goto out;
	}
	double now = ctl_now_ms();
	if (silence_state(x, now) == SILENCE_EXPIRED) {
		fmt_time(x->ends, t, sizeof t);
		printf("silence %s of %s already expired at %s\n", id, a.owner, t);
		goto out;
	}
	fmt_time(now, at, sizeof at);
	cmd = ctl_cmd_new("silence_expire");
	if (!cmd || json_object_set_new(cmd, "owner", json_string(a.owner)) != 0 ||
	    json_object_set_new(cmd, "id", json_string(id)) != 0 ||
	    json_object_set_new(cmd, "at", json_string(at))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	if ((rc = ctl_send(&e, a.owner, cmd, where, sizeof where)) == 0)
		printf("expired silence %s of %s at %s; published to %s\n", id, a.owner, at, where);
out:
	json_decref(cmd);
	ctl_view_free(&v);
	ctl_env_close(&e);
	return rc;
}

static int silence_preview(int argc, char **argv)
{
	static const char prog[] = "vigil silence preview";
	struct ctl_args a;
	struct ctl_env e = {0};
	struct ctl_view v = {0};
	struct silence *x = NULL;
	json_t *matchers = NULL, *spec = NULL, *hits = NULL, *g, *al;
	char err[512];
	size_t i, k;
	int rc;

	if (cmd_wants_help(argc, argv)) {
		preview_usage(stdout);
		return 0;
	}
	if ((rc = ctl_parse(prog, argc, argv,
			    CTL_O_CONFIG | CTL_O_STATE | CTL_O_OWNERS | CTL_O_RULES | CTL_O_OWNER |
				    CTL_O_JSON,
			    &a, preview_usage)) != 0)
		return rc;
	if ((rc = require(prog, a.owner, "--owner O", preview_usage)) != 0 ||
	    (rc = matchers_json(prog, &a, &matchers)) != 0)
		goto out;
	spec = json_pack("{s:s, s:O, s:s, s:s, s:s}", "owner", a.owner, "matchers", matchers, "duration",
			 "1h", "created_by", "preview", "comment", "preview");
	if (spec == NULL || (hits = json_array()) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	if (silence_from_spec(spec, clock_wall(), &x, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = 2;
		goto out;
	}
	if ((rc = ctl_env_open(&e, prog, &a, CTL_NEED_OWNERS)) != 0 ||
	    (rc = ctl_check_owner(&e, "--owner", a.owner)) != 0 || (rc = ctl_view_load(&e, &v)) != 0)
		goto out;
	json_array_foreach(v.groups, i, g)
	{
		const char *o = json_string_value(json_object_get(g, "owner"));
		if (!o || strcmp(o, a.owner) != 0)
			continue;
		json_array_foreach(json_object_get(g, "alerts"), k, al)
		{
			struct kv kv[ALERT_MAX_LABELS + 8];
			json_t *labels = json_object_get(al, "labels");
			if (json_integer_value(json_object_get(al, "status")) != ALERT_FIRING ||
			    !json_is_object(labels))
				continue;
			size_t n = alert_labels_kv(labels, kv, VIGIL_ARRAY_LEN(kv));
			if (!silence_matches(x, kv, n))
				continue;
			json_t *hit = json_pack(
				"{s:O?, s:O?, s:O?, s:O, s:b}", "episode", json_object_get(al, "ep"), "rule",
				json_object_get(labels, "rule"), "series", json_object_get(labels, "series"),
				"labels", labels, "acknowledged",
				json_integer_value(json_object_get(al, "acked")) != 0);
			json_array_append_new(hits, hit);
		}
	}
	if (a.json) {
		rc = ctl_print_json(prog, hits);
		goto out;
	}
	if (json_array_size(hits) > 0)
		printf("%-16s %-24s %s\n", "EPISODE", "RULE", "SERIES");
	json_array_foreach(hits, i, g) printf(
		"%-16s %-24s %s\n", json_string_value(json_object_get(g, "episode")),
		json_string_value(json_object_get(g, "rule")) ? json_string_value(json_object_get(g, "rule"))
							      : "-",
		json_string_value(json_object_get(g, "series"))
			? json_string_value(json_object_get(g, "series"))
			: "-");
	printf("%zu open alert%s of %s would be muted\n", json_array_size(hits),
	       json_array_size(hits) == 1 ? "" : "s", a.owner);
out:
	if (x)
		silence_free(x);
	json_decref(matchers);
	json_decref(spec);
	json_decref(hits);
	ctl_view_free(&v);
	ctl_env_close(&e);
	return rc;
}

int cmd_silence(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} subs[] = {{"add", silence_add},
		    {"list", silence_list},
		    {"expire", silence_expire},
		    {"preview", silence_preview}};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		silence_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vigil silence: unknown command '%s'\n\n", argv[1]);
	silence_usage(stderr);
	return 2;
}
