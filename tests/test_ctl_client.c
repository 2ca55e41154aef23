/* Tests for the client side of on-call control (cli/ctl_client.c): the
 * shared command line, applying control commands to a view as the gateway
 * would (the same command twice is one silence, whenever it is applied),
 * and the single-process view: DIR/gateway.log "put" records (newest wins,
 * null deletes) plus the commands appended to DIR/control.jsonl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/ctl_client.h"
#include "core/clock.h"

volatile sig_atomic_t cmd_stop; /* cli/main.c's, which is not in the library */

static void no_usage(FILE *f)
{
	(void)f;
}

static int parse(unsigned mask, struct ctl_args *a, int argc, ...)
{
	char *argv[32];
	va_list ap;
	argv[0] = "cmd";
	va_start(ap, argc);
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return ctl_parse("vigil test", argc, argv, mask, a, no_usage);
}

static void test_ctl__parse(void **state)
{
	struct ctl_args a;
	unsigned m = CTL_O_CONFIG | CTL_O_OWNER | CTL_O_JSON | CTL_O_COMMENT;

	(void)state;
	assert_int_equal(
		parse(m, &a, 8, "-c", "x.yaml", "--owner=storage", "host=db1", "--json", "--comment", "a b"),
		0);
	assert_string_equal(a.config, "x.yaml");
	assert_string_equal(a.owner, "storage");
	assert_string_equal(a.comment, "a b");
	assert_int_equal(a.json, 1);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "host=db1");
	/* "--" ends the options: what follows is positional even with a dash */
	assert_int_equal(parse(m, &a, 4, "--", "--json", "x"), 0);
	assert_int_equal(a.json, 0);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "--json");
	/* errors: usage (2) */
	assert_int_equal(parse(m, &a, 2, "--author"), 2); /* not accepted by this command */
	assert_int_equal(parse(m, &a, 2, "--owner"), 2);  /* no value */
	assert_int_equal(parse(m, &a, 5, "--owner", "a", "--owner", "b"), 2); /* twice */
	assert_int_equal(parse(m, &a, 2, "--json=1"), 2);                     /* a flag takes no value */
	assert_int_equal(parse(m, &a, 2, "--ownerx"), 2);                     /* no prefix matching */
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return j;
}

static void test_ctl__view_apply(void **state)
{
	struct ctl_view v = {0};
	const char *add =
		"{\"schema\":\"vigil.control/v1\",\"op\":\"silence_add\",\"silence\":{\"owner\":\"storage\","
		"\"matchers\":[\"host=db1\"],\"created_by\":\"a\",\"comment\":\"c\",\"created_at\":"
		"\"2030-01-01T00:00:00Z\",\"starts_at\":\"2030-01-01T00:00:00Z\",\"ends_at\":"
		"\"2030-01-01T01:00:00Z\"}}";
	(void)state;
	assert_int_equal(silences_new(&v.sil), 0);
	v.groups = J("[{\"owner\":\"esc\",\"alerts\":[{\"ep\":\"00000000000000e1\",\"status\":0}]}]");
	json_t *c = J(add);
	/* applied twice, at different times: one silence (a replayed record) */
	assert_int_equal(ctl_view_apply(&v, c, 0, 1e9), 0);
	assert_int_equal(ctl_view_apply(&v, c, 0, 1.5e9), 0);
	assert_int_equal(silences_count(v.sil), 1);
	const struct silence *x = silences_at(v.sil, 0);
	char id[SILENCE_ID_LEN];
	memcpy(id, x->id, sizeof id);
	assert_int_equal(x->part, 0);
	json_decref(c);
	/* expire at the command's own time */
	char text[256];
	snprintf(text, sizeof text,
		 "{\"op\":\"silence_expire\",\"owner\":\"storage\",\"id\":\"%s\",\"at\":\"2030-01-01T00:30:"
		 "00Z\"}",
		 id);
	c = J(text);
	assert_int_equal(ctl_view_apply(&v, c, 0, 0), 0);
	json_decref(c);
	x = silences_find(v.sil, id);
	assert_non_null(x);
	assert_true(x->ends > 1893457799.0 && x->ends < 1893457801.0); /* 2030-01-01T00:30:00Z */
	/* ack marks the alert; an unknown episode or op is an error */
	c = J("{\"op\":\"ack\",\"episode\":\"00000000000000e1\"}");
	assert_int_equal(ctl_view_apply(&v, c, 0, 0), 0);
	json_decref(c);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(json_array_get(v.groups, 0), "alerts"), 0), "acked")),
		1);
	c = J("{\"op\":\"ack\",\"episode\":\"00000000000000e2\"}");
	assert_int_equal(ctl_view_apply(&v, c, 0, 0), -VIGIL_ENOENT);
	json_decref(c);
	c = J("{\"op\":\"bogus\"}");
	assert_int_equal(ctl_view_apply(&v, c, 0, 0), -VIGIL_EINVAL);
	json_decref(c);
	ctl_view_free(&v);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_ctl__view_local(void **state)
{
	char dir[] = "/tmp/vigil-ctl-XXXXXX", path[128], cmd[160];
	struct ctl_env e = {.prog = "vigil test"};
	struct ctl_view v;
	(void)state;
	assert_non_null(mkdtemp(dir));
	e.state_dir = dir;
	/* no files yet: an empty view */
	assert_int_equal(ctl_view_load(&e, &v), 0);
	assert_int_equal(silences_count(v.sil), 0);
	ctl_view_free(&v);
	snprintf(path, sizeof path, "%s/gateway.log", dir);
	write_file(
		path,
		"{\"op\":\"open\",\"ep\":\"00000000000000e1\",\"fp\":\"1\",\"started\":1,\"start_pos\":1}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"a1\",\"v\":{\"id\":\"s-00000000000000a1\",\"owner\":"
		"\"o\","
		"\"matchers\":[\"a=\\\"b\\\"\"],\"starts_at\":\"2026-01-01T00:00:00Z\",\"ends_at\":"
		"\"2099-01-01T00:00:00Z\",\"created_at\":\"2026-01-01T00:00:00Z\",\"created_by\":\"x\","
		"\"comment\":\"first\",\"state\":\"active\"}}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"a1\",\"v\":{\"id\":\"s-00000000000000a1\",\"owner\":"
		"\"o\","
		"\"matchers\":[\"a=\\\"b\\\"\"],\"starts_at\":\"2026-01-01T00:00:00Z\",\"ends_at\":"
		"\"2099-01-01T00:00:00Z\",\"created_at\":\"2026-01-01T00:00:00Z\",\"created_by\":\"x\","
		"\"comment\":\"newest\",\"state\":\"active\"}}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"a2\",\"v\":{\"id\":\"s-00000000000000a2\",\"owner\":"
		"\"o\","
		"\"matchers\":[\"a=\\\"c\\\"\"],\"starts_at\":\"2026-01-01T00:00:00Z\",\"ends_at\":"
		"\"2099-01-01T00:00:00Z\",\"created_at\":\"2026-01-01T00:00:00Z\",\"created_by\":\"x\","
		"\"comment\":\"gone\",\"state\":\"active\"}}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"a2\",\"v\":null}\n"
		"{\"op\":\"put\",\"ns\":\"g\",\"key\":\"b1\",\"v\":{\"owner\":\"esc\",\"alerts\":[]}}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"a3\",\"v\":{\"torn");
	snprintf(path, sizeof path, "%s/control.jsonl", dir);
	/* no "at": expired when read (an "at" older than the retention would be collected) */
	write_file(path,
		   "{\"op\":\"silence_expire\",\"owner\":\"o\",\"id\":\"s-00000000000000a1\"}\nnot json\n");
	assert_int_equal(ctl_view_load(&e, &v), 0);
	assert_int_equal(silences_count(v.sil), 1);
	const struct silence *x = silences_find(v.sil, "s-00000000000000a1");
	assert_non_null(x);
	assert_string_equal(x->comment, "newest");
	assert_int_equal(silence_state(x, clock_wall()), SILENCE_EXPIRED);
	assert_int_equal(json_array_size(v.groups), 1);
	assert_int_equal(v.nrecords, 1);
	ctl_view_free(&v);
	/* the gateway's "c" record: the lines it applied are not applied again */
	snprintf(path, sizeof path, "%s/gateway.log", dir);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("\n{\"op\":\"put\",\"ns\":\"c\",\"key\":\"0000000000000001\",\"v\":{\"off\":62,\"line\":1}}\n",
	      f);
	fclose(f);
	assert_int_equal(ctl_view_load(&e, &v), 0);
	x = silences_find(v.sil, "s-00000000000000a1");
	assert_non_null(x);
	assert_int_equal(silence_state(x, clock_wall()), SILENCE_ACTIVE);
	assert_int_equal(v.nrecords, 0);
	ctl_view_free(&v);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl__parse),
		cmocka_unit_test(test_ctl__view_apply),
		cmocka_unit_test(test_ctl__view_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
