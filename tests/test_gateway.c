/* Tests for sinks/: alert identity, the alert JSON form, the stdout and file
 * destinations and the central gateway (episodes, replay dedup, routing,
 * fallback, extra destinations, failing destinations). Rulesets are built by
 * hand; files go to a fresh temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/point.h" /* struct tag, used by rules/rules.h */
#include "core/timefmt.h"
#include "core/alert.h"
#include "sinks/gateway.h"
#include "sinks/outbox.h"
#include "sinks/sink.h"
#include "core/clock.h"

/* ---- helpers ---- */

/* NaN-aware closeness: NaN only matches NaN. */

/* send() with the verdict as the result. */
static enum sink_verdict test_send(const struct sink_type *t, void *priv, const struct notification *n)
{
	struct sink_result r;
	memset(&r, 0, sizeof r);
	t->send(priv, n, &r);
	return r.verdict;
}

static void assert_near_impl(double got, double want, double tol, const char *file, int line)
{
	if (isnan(want)) {
		if (!isnan(got))
			_fail(file, line);
		return;
	}
	if (isnan(got) || fabs(got - want) > tol) {
		print_error("got %.17g want %.17g (tol %g)\n", got, want, tol);
		_fail(file, line);
	}
}
#define assert_near(got, want, tol) assert_near_impl((got), (want), (tol), __FILE__, __LINE__)

/* Bit-exact double equality (NaN == NaN of any payload). */
static void assert_same_double_impl(double got, double want, const char *file, int line)
{
	if (isnan(want) && isnan(got))
		return;
	if (memcmp(&got, &want, sizeof got) != 0) {
		print_error("got %.17g want %.17g (not bit-identical)\n", got, want);
		_fail(file, line);
	}
}
#define assert_same_double(got, want) assert_same_double_impl((got), (want), __FILE__, __LINE__)

static void assert_same_str_impl(const char *got, const char *want, const char *file, int line)
{
	if (!got && !want)
		return;
	if (!got || !want || strcmp(got, want) != 0) {
		print_error("got '%s' want '%s'\n", got ? got : "(null)", want ? want : "(null)");
		_fail(file, line);
	}
}
#define assert_same_str(got, want) assert_same_str_impl((got), (want), __FILE__, __LINE__)

static void base_event(struct alert_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->status = ALERT_FIRING;
	ev->rule = "disk-latency";
	ev->owner = "storage";
	ev->action = "page";
	ev->detector = "des";
	ev->series = "disk.write_latency{cluster=eu-1,host=db1}";
	ev->name = "disk.write_latency";
	ev->summary = "write latency 3.1x expected";
	ev->runbook_url = "https://runbooks.example/disk";
	ev->labels[0] = (struct kv){"cluster", "eu-1", NULL};
	ev->labels[1] = (struct kv){"host", "db1", NULL};
	ev->labels[2] = (struct kv){"team", "storage", NULL};
	ev->nlabels = 3;
	ev->started = time_from_civil(2026, 3, 2, 8, 15, 0.0);
	ev->ts = ev->started + 0.1 + 0.2; /* an awkward double */
	ev->value = 41.2;
	ev->expected = 13.1;
	ev->lower = 8.0;
	ev->upper = 19.5;
	ev->score = 0.9930000000000001;
	ev->direction = "up";
	ev->threshold = 0.99;
	ev->source = "data/disk.csv";
	ev->start_pos = 1234;
	ev->pos = 1240;
}

/* Independent re-statement of the identity contract (FNV-1a 64 chains with a
 * 0 separator after each string, splitmix64 finaliser), so that a change to
 * the hashing in sinks/alert.c or core/hash.c is caught. */
static uint64_t ref_fnv_str(uint64_t h, const char *s)
{
	size_t n = strlen(s) + 1; /* include the NUL separator */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
static uint64_t ref_fnv_u64le(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}
static uint64_t ref_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int is_hex16(const char *s)
{
	if (strlen(s) != 16)
		return 0;
	for (int i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- identity ---- */

static void test_fingerprint(void **state)
{
	struct alert_event a, b;
	char fa[17], fb[17], want[17];
	(void)state;

	base_event(&a);
	alert_fingerprint(&a, fa);
	assert_true(is_hex16(fa));

	/* the documented formula, recomputed here */
	uint64_t h = ref_fnv_str(0xcbf29ce484222325ULL, "vigil/fp/1");
	h = ref_fnv_str(h, a.rule);
	h = ref_fnv_str(h, a.series);
	snprintf(want, sizeof want, "%016llx", (unsigned long long)ref_mix(h));
	assert_string_equal(fa, want);

	/* not identity: status, times, values, labels, owner, pos */
	b = a;
	b.status = ALERT_RESOLVED;
	b.ts += 3600;
	b.started += 60;
	b.value = -1;
	b.nlabels = 1;
	b.owner = "someone-else";
	b.pos = 99;
	b.start_pos = 98;
	alert_fingerprint(&b, fb);
	assert_string_equal(fa, fb);

	/* identity: rule and series */
	b = a;
	b.rule = "disk-latency-2";
	alert_fingerprint(&b, fb);
	assert_string_not_equal(fa, fb);
	b = a;
	b.series = "disk.write_latency{cluster=eu-1,host=db2}";
	alert_fingerprint(&b, fb);
	assert_string_not_equal(fa, fb);
	/* the separator keeps "ab"+"c" apart from "a"+"bc" */
	a.rule = "ab";
	a.series = "c";
	b.rule = "a";
	b.series = "bc";
	alert_fingerprint(&a, fa);
	alert_fingerprint(&b, fb);
	assert_string_not_equal(fa, fb);
}

static void test_episode(void **state)
{
	struct alert_event a, b;
	char ea[17], eb[17], want[17], fp[17];
	uint64_t bits;
	(void)state;

	base_event(&a);
	alert_episode(&a, ea);
	assert_true(is_hex16(ea));

	alert_fingerprint(&a, fp);
	memcpy(&bits, &a.started, sizeof bits);
	uint64_t h = ref_fnv_str(0xcbf29ce484222325ULL, "vigil/ep/1");
	h = ref_fnv_str(h, fp);
	h = ref_fnv_u64le(h, bits);
	h = ref_fnv_u64le(h, (uint64_t)a.start_pos);
	snprintf(want, sizeof want, "%016llx", (unsigned long long)ref_mix(h));
	assert_string_equal(ea, want);

	/* deterministic, and independent of this point's ts/pos/status */
	b = a;
	b.ts += 500;
	b.pos += 50;
	b.status = ALERT_RESOLVED;
	b.value = 0;
	alert_episode(&b, eb);
	assert_string_equal(ea, eb);

	b = a;
	b.started += 1;
	alert_episode(&b, eb);
	assert_string_not_equal(ea, eb);
	b = a;
	b.start_pos += 1;
	alert_episode(&b, eb);
	assert_string_not_equal(ea, eb);
	b = a;
	b.series = "other";
	alert_episode(&b, eb);
	assert_string_not_equal(ea, eb);

	/* -0.0 and 0.0 start the same episode */
	a.started = 0.0;
	b = a;
	b.started = -0.0;
	alert_episode(&a, ea);
	alert_episode(&b, eb);
	assert_string_equal(ea, eb);
}

/* ---- JSON ---- */

static void assert_events_equal(const struct alert_event *got, const struct alert_event *want)
{
	assert_int_equal(got->status, want->status);
	assert_same_str(got->rule, want->rule);
	assert_same_str(got->owner, want->owner);
	assert_same_str(got->action, want->action);
	assert_same_str(got->detector, want->detector);
	assert_same_str(got->series, want->series);
	assert_same_str(got->name, want->name);
	assert_same_str(got->summary, want->summary);
	assert_same_str(got->runbook_url, want->runbook_url);
	assert_same_str(got->direction, want->direction);
	assert_same_str(got->source, want->source);
	assert_int_equal(got->nlabels, want->nlabels);
	for (size_t i = 0; i < want->nlabels; i++) {
		assert_same_str(got->labels[i].key, want->labels[i].key);
		assert_same_str(got->labels[i].value, want->labels[i].value);
	}
	assert_same_double(got->ts, want->ts);
	assert_same_double(got->started, want->started);
	assert_same_double(got->value, want->value);
	assert_same_double(got->expected, want->expected);
	assert_same_double(got->lower, want->lower);
	assert_same_double(got->upper, want->upper);
	assert_same_double(got->score, want->score);
	assert_same_double(got->threshold, want->threshold);
	assert_true(got->start_pos == want->start_pos);
	assert_true(got->pos == want->pos);
}

/* to_json -> text -> parse -> from_json, as the wire does. */
static void round_trip(const struct alert_event *ev)
{
	struct alert_event back;
	char err[256] = "";
	json_t *j = alert_to_json(ev);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	assert_non_null(text);
	json_decref(j);
	json_error_t jerr;
	json_t *p = json_loads(text, 0, &jerr);
	assert_non_null(p);
	int rc = alert_from_json(p, &back, err, sizeof err);
	if (rc != 0)
		print_error("from_json: %s\n", err);
	assert_int_equal(rc, 0);
	assert_events_equal(&back, ev);
	json_decref(p);
	free(text);
}

static void test_json_round_trip(void **state)
{
	struct alert_event ev;
	(void)state;

	base_event(&ev);
	round_trip(&ev);

	/* unknowns: NaN numbers, NULL optional strings */
	ev.expected = NAN;
	ev.lower = NAN;
	ev.upper = NAN;
	ev.summary = NULL;
	ev.runbook_url = NULL;
	ev.detector = NULL;
	ev.nlabels = 0;
	ev.status = ALERT_RESOLVED;
	ev.start_pos = -1;
	ev.pos = INT64_MAX;
	round_trip(&ev);

	/* doubles that need all 17 digits */
	ev.ts = 1772439300.123456789;
	ev.value = 0.1 + 0.2;
	ev.score = 1.0 / 3.0;
	ev.threshold = 5e-324;
	round_trip(&ev);
}

static void test_json_shape(void **state)
{
	struct alert_event ev;
	char fp[17], ep[17], ts[40];
	(void)state;

	base_event(&ev);
	ev.expected = NAN;
	json_t *j = alert_to_json(&ev);
	assert_non_null(j);
	alert_fingerprint(&ev, fp);
	alert_episode(&ev, ep);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "fingerprint")), fp);
	assert_string_equal(json_string_value(json_object_get(j, "episode")), ep);
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "page");
	assert_string_equal(json_string_value(json_object_get(j, "startsAt")), "2026-03-02T08:15:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "endsAt")), "0001-01-01T00:00:00Z");
	json_t *why = json_object_get(j, "why");
	assert_true(json_is_null(json_object_get(why, "expected")));
	assert_near(json_number_value(json_object_get(why, "observed")), 41.2, 0);
	assert_string_equal(json_string_value(json_object_get(why, "direction")), "up");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "labels"), "host")), "db1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "source"), "start_pos")),
			 1234);
	json_decref(j);

	/* a resolve ends at its own point's time */
	ev.status = ALERT_RESOLVED;
	ev.ts = ev.started + 600;
	j = alert_to_json(&ev);
	assert_non_null(j);
	time_format_rfc3339(ev.ts, ts, sizeof ts);
	assert_string_equal(ts, "2026-03-02T08:25:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "endsAt")), ts);
	assert_string_equal(json_string_value(json_object_get(j, "ts")), ts);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
	json_decref(j);
}

/* Each mutation of a valid document must be rejected with a message naming
 * the field. */
struct mutation {
	const char *path;       /* "key" or "obj.key" */
	json_t *(*value)(void); /* NULL = delete */
	const char *want_in_err;
};

static json_t *v_pending(void)
{
	return json_string("pending");
}
static json_t *v_int(void)
{
	return json_integer(7);
}
static json_t *v_real(void)
{
	return json_real(1.5);
}
static json_t *v_str(void)
{
	return json_string("x");
}
static json_t *v_null(void)
{
	return json_null();
}
static json_t *v_badfp(void)
{
	return json_string("0000000000000000");
}
static json_t *v_badtime(void)
{
	return json_string("yesterday");
}
static json_t *v_arr(void)
{
	return json_array();
}

static void test_json_rejects(void **state)
{
	static const struct mutation muts[] = {
		{"status", NULL, "status"},
		{"status", v_pending, "status"},
		{"status", v_int, "status"},
		{"rule", v_int, "rule"},
		{"rule", v_null, "rule"},
		{"series", NULL, "series"},
		{"fingerprint", v_badfp, "fingerprint"},
		{"episode", v_badfp, "episode"},
		{"severity", v_str, "severity"},
		{"labels", v_arr, "labels"},
		{"labels.host", v_int, "labels.host"},
		{"why", NULL, "why"},
		{"why.score", v_str, "why.score"},
		{"why.threshold", NULL, "why.threshold"},
		{"source.start_pos", v_real, "source.start_pos"},
		{"source.pos", NULL, "source.pos"},
		{"source", v_str, "source"},
		{"ts_epoch", v_str, "ts_epoch"},
		{"started_epoch", NULL, "started_epoch"},
		{"startsAt", v_badtime, "startsAt"},
		{"endsAt", v_int, "endsAt"},
	};
	struct alert_event ev, out;
	char err[256];
	(void)state;

	base_event(&ev);
	json_t *good = alert_to_json(&ev);
	assert_non_null(good);
	assert_int_equal(alert_from_json(good, &out, err, sizeof err), 0);

	for (size_t i = 0; i < VIGIL_ARRAY_LEN(muts); i++) {
		json_t *doc = json_deep_copy(good);
		char key[64];
		const char *dot = strchr(muts[i].path, '.');
		json_t *obj = doc;
		const char *leaf = muts[i].path;
		assert_non_null(doc);
		if (dot) {
			snprintf(key, sizeof key, "%.*s", (int)(dot - muts[i].path), muts[i].path);
			obj = json_object_get(doc, key);
			leaf = dot + 1;
		}
		if (muts[i].value)
			assert_int_equal(json_object_set_new(obj, leaf, muts[i].value()), 0);
		else
			assert_int_equal(json_object_del(obj, leaf), 0);
		err[0] = '\0';
		int rc = alert_from_json(doc, &out, err, sizeof err);
		if (rc == 0 || !strstr(err, muts[i].want_in_err))
			print_error("mutation %zu (%s): rc %d err '%s'\n", i, muts[i].path, rc, err);
		assert_int_equal(rc, -VIGIL_EINVAL);
		assert_non_null(strstr(err, muts[i].want_in_err));
		json_decref(doc);
	}

	/* not an object at all */
	json_t *arr = json_array();
	assert_int_equal(alert_from_json(arr, &out, err, sizeof err), -VIGIL_EINVAL);
	json_decref(arr);
	assert_int_equal(alert_from_json(NULL, &out, err, sizeof err), -VIGIL_EINVAL);
	json_decref(good);
}

/* ---- destinations and gateway fixtures ---- */

struct tmp {
	char dir[64];
	char paths[8][128];
	int npaths;
};

static const char *tmp_path(struct tmp *t, const char *name)
{
	assert_true(t->npaths < 8);
	char tmpbuf[sizeof t->paths[0]];
	snprintf(tmpbuf, sizeof tmpbuf, "%s/%s", t->dir, name);
	memcpy(t->paths[t->npaths], tmpbuf, sizeof tmpbuf);
	return t->paths[t->npaths++];
}

static void tmp_init(struct tmp *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/vigil_test_gw_XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

static void tmp_fini(struct tmp *t)
{
	for (int i = 0; i < t->npaths; i++)
		unlink(t->paths[i]);
	rmdir(t->dir);
}

/* Parsed lines of a JSON-lines file. */
struct lines {
	json_t *docs[64];
	struct alert_event evs[64];
	int n;
};

static void read_lines(const char *path, struct lines *l)
{
	char buf[8192];
	char err[256];
	FILE *f = fopen(path, "r");
	memset(l, 0, sizeof *l);
	if (!f)
		return; /* no file = no lines */
	while (fgets(buf, sizeof buf, f)) {
		json_error_t jerr;
		assert_true(l->n < 64);
		assert_non_null(strchr(buf, '\n'));
		l->docs[l->n] = json_loads(buf, 0, &jerr);
		assert_non_null(l->docs[l->n]);
		int rc = alert_from_json(l->docs[l->n], &l->evs[l->n], err, sizeof err);
		if (rc != 0)
			print_error("%s: %s\n", path, err);
		assert_int_equal(rc, 0);
		l->n++;
	}
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (int i = 0; i < l->n; i++)
		json_decref(l->docs[i]);
	l->n = 0;
}

static const char *doc_str(const struct lines *l, int i, const char *key)
{
	return json_string_value(json_object_get(l->docs[i], key));
}

static void test_file_sink(void **state)
{
	struct tmp t;
	char err[256];
	void *priv = NULL;
	(void)state;

	tmp_init(&t);
	const char *p = tmp_path(&t, "out.jsonl");
	const struct sink_type *ft = sink_find("file");
	assert_non_null(ft);
	assert_ptr_equal(sink_find("stdout"), &sink_type_stdout);
	assert_null(sink_find("carrier-pigeon"));
	int nall = 0;
	for (const struct sink_type *const *s = sink_all(); *s; s++)
		nall++;
	assert_true(nall >= 2);

	struct kv kv[2] = {{"path", p, "o.yaml:3:11"}, {"fsync", "true", "o.yaml:4:12"}};
	assert_int_equal(ft->create(NULL, kv, 2, &priv, err, sizeof err), 0);
	struct notification n = {0};
	n.json = "{\"a\":1}";
	n.json_len = strlen(n.json);
	assert_int_equal(test_send(ft, priv, &n), SINK_OK);
	n.json = "{\"b\":2}";
	n.json_len = strlen(n.json);
	assert_int_equal(test_send(ft, priv, &n), SINK_OK);
	assert_int_equal(ft->flush(priv), 0);
	ft->destroy(priv);

	/* append, never truncate; mode 0644 */
	assert_int_equal(ft->create(NULL, kv, 1, &priv, err, sizeof err), 0);
	n.json = "{\"c\":3}";
	n.json_len = strlen(n.json);
	assert_int_equal(test_send(ft, priv, &n), SINK_OK);
	ft->destroy(priv);
	char buf[256] = "";
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[got] = '\0';
	assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	mode_t mask = umask(0);
	umask(mask);
	assert_int_equal(sb.st_mode & 0777, 0644 & ~mask);

	/* settings errors name where they came from */
	struct kv bad[1] = {{"colour", "red", "o.yaml:5:3"}};
	assert_int_equal(ft->create(NULL, bad, 1, &priv, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "o.yaml:5:3"));
	assert_non_null(strstr(err, "colour"));
	assert_int_equal(ft->create(NULL, NULL, 0, &priv, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "path"));
	struct kv badfs[2] = {{"path", p, "o.yaml:3:11"}, {"fsync", "sometimes", "o.yaml:4:12"}};
	assert_int_equal(ft->create(NULL, badfs, 2, &priv, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "o.yaml:4:12"));
	char missing[192];
	snprintf(missing, sizeof missing, "%s/no-such-dir/out.jsonl", t.dir);
	struct kv nodir[1] = {{"path", missing, "o.yaml:9:7"}};
	assert_int_equal(ft->create(NULL, nodir, 1, &priv, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "o.yaml:9:7"));
	assert_non_null(strstr(err, missing));
	struct kv so[1] = {{"path", "x", "o.yaml:2:2"}};
	assert_int_equal(sink_type_stdout.create(NULL, so, 1, &priv, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "o.yaml:2:2"));

	/* a torn line (partial write, here forced with RLIMIT_FSIZE) is closed
	 * by a newline before the next line, so lines never glue together */
	const char *pt = tmp_path(&t, "torn.jsonl");
	struct kv tk[1] = {{"path", pt, "o.yaml:1:1"}};
	struct rlimit old_lim, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
	void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(ft->create(NULL, tk, 1, &priv, err, sizeof err), 0);
	n.json = "{\"first\":1}";
	n.json_len = strlen(n.json);
	assert_int_equal(test_send(ft, priv, &n), SINK_OK); /* 12 bytes */
	lim = old_lim;
	lim.rlim_cur = 16;
	int lim_rc = setrlimit(RLIMIT_FSIZE, &lim);
	n.json = "{\"second\":2}";
	n.json_len = strlen(n.json);
	enum sink_verdict v2 = test_send(ft, priv, &n); /* only 4 bytes fit */
	/* restore before asserting, so a failure does not leak into later tests */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
	signal(SIGXFSZ, old_sig);
	assert_int_equal(lim_rc, 0);
	assert_int_equal(v2, SINK_RETRY);
	n.json = "{\"third\":3}";
	n.json_len = strlen(n.json);
	assert_int_equal(test_send(ft, priv, &n), SINK_OK);
	ft->destroy(priv);
	f = fopen(pt, "r");
	assert_non_null(f);
	got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[got] = '\0';
	assert_string_equal(buf, "{\"first\":1}\n{\"se\n{\"third\":3}\n");

	/* a full device: every write fails with ENOSPC -> RETRY, no crash */
	struct kv full[1] = {{"path", "/dev/full", "o.yaml:1:1"}};
	if (ft->create(NULL, full, 1, &priv, err, sizeof err) == 0) {
		assert_int_equal(test_send(ft, priv, &n), SINK_RETRY);
		assert_int_equal(test_send(ft, priv, &n), SINK_RETRY);
		ft->destroy(priv);
	}
	tmp_fini(&t);
}

/* A hand-built ruleset: owners with destinations. */
struct fixture {
	struct kv kv[8][4];
	struct destination_cfg dests[8];
	struct owner owners[4];
	struct ruleset rs;
};

static void add_owner(struct fixture *fx, size_t oi, const char *name, size_t di, size_t nd)
{
	fx->owners[oi].name = (char *)name;
	fx->owners[oi].where = (char *)"owners.yaml:1:1";
	fx->owners[oi].dests = nd ? &fx->dests[di] : NULL;
	fx->owners[oi].ndests = nd;
	if (oi + 1 > fx->rs.nowners)
		fx->rs.nowners = oi + 1;
	fx->rs.owners = fx->owners;
}

static void set_file_dest(struct fixture *fx, size_t di, const char *path, const char *where)
{
	fx->kv[di][0] = (struct kv){"path", path, where};
	fx->dests[di].type = (char *)"file";
	fx->dests[di].kv = fx->kv[di];
	fx->dests[di].nkv = 1;
	fx->dests[di].where = (char *)where;
}

/* A fast-failing retry policy for destination di: 3 attempts, 10 ms apart. */
static void fast_retries(struct fixture *fx, size_t di)
{
	fx->kv[di][fx->dests[di].nkv++] = (struct kv){"max_attempts", "3", "owners.yaml:5:7"};
	fx->kv[di][fx->dests[di].nkv++] = (struct kv){"retry_initial", "10ms", "owners.yaml:6:7"};
}

static void test_episodes(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev, ev2;
	struct lines l;
	char err[256], ep1[17], ep2[17], ep3[17];
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *p = tmp_path(&t, "storage.jsonl");
	set_file_dest(&fx, 0, p, "owners.yaml:3:5");
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), 0);

	base_event(&ev);
	alert_episode(&ev, ep1);
	/* fire: opens and queues */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	/* the same firing again, and a later point of it: suppressed */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	ev2 = ev;
	ev2.ts += 60;
	ev2.pos += 1;
	assert_int_equal(gateway_submit(gw, &ev2), 0);
	/* another episode of the same series while one is open (the series
	 * reaches two members): both are kept, counted as split_series */
	ev2.started += 60;
	ev2.start_pos += 1;
	alert_episode(&ev2, ep2);
	assert_string_not_equal(ep1, ep2);
	assert_int_equal(gateway_submit(gw, &ev2), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.received, 4);
	assert_int_equal(st.fired, 2);
	assert_int_equal(st.suppressed, 2);
	assert_int_equal(st.split_series, 1);
	assert_int_equal(st.open_episodes, 2);

	/* the first episode's resolve closes that episode only */
	struct alert_event res = ev;
	res.status = ALERT_RESOLVED;
	res.ts = ev.started + 900;
	res.pos = ev.start_pos + 40;
	assert_int_equal(gateway_submit(gw, &res), 0);
	assert_int_equal(gateway_submit(gw, &res), 0); /* duplicate resolve */
	/* replay of the original firing after close: duplicate transition */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.resolved, 1);
	assert_int_equal(st.suppressed, 4);
	assert_int_equal(st.open_episodes, 1);
	/* the second member's resolve closes its own */
	struct alert_event res2 = ev2;
	res2.status = ALERT_RESOLVED;
	res2.ts = ev2.started + 900;
	assert_int_equal(gateway_submit(gw, &res2), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.resolved, 2);
	assert_int_equal(st.open_episodes, 0);

	/* a resolve of an episode this gateway never saw fire (decided by an
	 * earlier process) is still sent: a notified firing gets its resolve */
	struct alert_event orphan = ev;
	orphan.started = ev.started - 86400;
	orphan.start_pos = 7;
	orphan.status = ALERT_RESOLVED;
	alert_episode(&orphan, ep3);
	assert_int_equal(gateway_submit(gw, &orphan), 0);
	assert_int_equal(gateway_submit(gw, &orphan), 0); /* once */
	/* its firing arriving after it (out of order) does not open the episode again */
	struct alert_event late = orphan;
	late.status = ALERT_FIRING;
	assert_int_equal(gateway_submit(gw, &late), 0);
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.orphan_resolves, 1);
	assert_int_equal(st.resolved, 3);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.notifications, 5);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.unowned, 0);
	assert_int_equal(st.pending, 0);

	read_lines(p, &l);
	assert_int_equal(l.n, 5);
	const char *want_ep[] = {ep1, ep2, ep1, ep2, ep3};
	const enum alert_status want_st[] = {ALERT_FIRING, ALERT_FIRING, ALERT_RESOLVED, ALERT_RESOLVED,
					     ALERT_RESOLVED};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(l.evs[i].status, want_st[i]);
		assert_string_equal(doc_str(&l, i, "episode"), want_ep[i]);
		assert_string_equal(doc_str(&l, i, "fingerprint"), doc_str(&l, 0, "fingerprint"));
	}
	assert_string_equal(doc_str(&l, 2, "startsAt"), doc_str(&l, 0, "startsAt"));
	assert_same_double(l.evs[2].started, ev.started);
	assert_true(l.evs[2].start_pos == ev.start_pos);
	assert_same_double(l.evs[2].ts, res.ts);
	assert_string_equal(doc_str(&l, 2, "endsAt"), "2026-03-02T08:30:00Z");
	free_lines(&l);

	/* bad events are rejected, counted as received, and change nothing */
	struct alert_event bad = ev;
	bad.rule = NULL;
	assert_int_equal(gateway_submit(gw, &bad), -VIGIL_EINVAL);
	bad = ev;
	bad.status = (enum alert_status)7;
	assert_int_equal(gateway_submit(gw, &bad), -VIGIL_EINVAL);
	assert_int_equal(gateway_submit(gw, NULL), -VIGIL_EINVAL);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, 2);
	assert_int_equal(st.open_episodes, 0);

	gateway_destroy(gw);
	tmp_fini(&t);
}

static void test_many_episodes(void **state)
{
	enum { N = 3000 };
	struct fixture fx;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	char err[256], series[N][32];
	(void)state;

	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, "/dev/null", "owners.yaml:3:5");
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), 0);
	base_event(&ev);
	for (int i = 0; i < N; i++) {
		snprintf(series[i], sizeof series[i], "s{i=%d}", i);
		ev.series = series[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	gateway_get_stats(gw, &st);
	assert_int_equal(st.open_episodes, N);
	/* resolve the odd ones */
	ev.status = ALERT_RESOLVED;
	for (int i = 1; i < N; i += 2) {
		ev.series = series[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	gateway_get_stats(gw, &st);
	assert_int_equal(st.open_episodes, N / 2);
	assert_int_equal(st.resolved, N / 2);
	/* the even ones are still open (a re-fire is suppressed), the odd ones
	 * are closed (a second resolve is suppressed) */
	uint64_t sup0 = st.suppressed;
	for (int i = 0; i < N; i++) {
		ev.series = series[i];
		ev.status = (i % 2) ? ALERT_RESOLVED : ALERT_FIRING;
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	gateway_get_stats(gw, &st);
	assert_int_equal(st.suppressed - sup0, N);
	assert_int_equal(st.fired, N);
	/* close the rest */
	ev.status = ALERT_RESOLVED;
	for (int i = 0; i < N; i += 2) {
		ev.series = series[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	assert_int_equal(gateway_drain(gw, 30), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.open_episodes, 0);
	assert_int_equal(st.resolved, N);
	assert_int_equal(st.delivered, 2 * N);
	/* the recent memory is bounded. Transitions so far: the firings T0..T2999,
	 * the odd series' resolves T3000..T4499 (series 2k+1 at T3000+k), the
	 * even ones' T4500..T5999. 1100 more episodes, fired and resolved, make
	 * T8199 the newest; with 4096 remembered the oldest kept is T4104, i.e.
	 * the resolve of series 2209. */
	char extra[32];
	for (int i = 0; i < 1100; i++) {
		snprintf(extra, sizeof extra, "more{i=%d}", i);
		ev.series = extra;
		ev.status = ALERT_FIRING;
		assert_int_equal(gateway_submit(gw, &ev), 0);
		ev.status = ALERT_RESOLVED;
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, N + 1100);
	/* a firing after its own remembered resolve is suppressed; one whose
	 * resolve was forgotten opens a new episode */
	ev.status = ALERT_FIRING;
	ev.series = series[N - 2]; /* even: resolved at T5998 */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	ev.series = series[2209]; /* resolved at T4104: the oldest remembered */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, N + 1100);
	ev.series = series[1]; /* resolved at T3000: forgotten */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	ev.series = series[2207]; /* resolved at T4103: just forgotten */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, N + 1102);
	/* every remembered resolve is still found after thousands of evictions
	 * from the index (this catches broken probe chains); the two episodes
	 * just opened pushed the oldest kept to T4106, series 2213 */
	for (int i = 2213; i < N; i += 2) {
		ev.series = series[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	for (int i = 0; i < N; i += 2) {
		ev.series = series[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, N + 1102);
	gateway_destroy(gw);
}

/* Run fn with stdout redirected to path. */
static int stdout_to(const char *path)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	return saved;
}

static void stdout_back(int saved)
{
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
}

static void test_routing(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	struct lines l;
	char err[256];
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *pa = tmp_path(&t, "storage.jsonl");
	const char *pb = tmp_path(&t, "payments.jsonl");
	const char *pall = tmp_path(&t, "all.jsonl");
	const char *pout = tmp_path(&t, "stdout.jsonl");
	set_file_dest(&fx, 0, pa, "owners.yaml:3:5");
	set_file_dest(&fx, 1, pb, "owners.yaml:8:5");
	set_file_dest(&fx, 2, pall, "--out");
	/* owners not in name order: the gateway must not depend on it */
	add_owner(&fx, 0, "storage", 0, 1);
	add_owner(&fx, 1, "payments", 1, 1);
	add_owner(&fx, 2, "nobody-home", 0, 0); /* no destinations: fallback */
	struct gateway_opts o = {.fallback_sink = NULL, .extra = &fx.dests[2], .nextra = 1};
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);

	int saved = stdout_to(pout);
	base_event(&ev);
	const char *owners[] = {"storage", "payments", "storage", "ghost", "nobody-home", NULL, "payments"};
	char series[7][32];
	for (int i = 0; i < 7; i++) {
		snprintf(series[i], sizeof series[i], "x{n=%d}", i);
		ev.series = series[i];
		ev.owner = owners[i];
		assert_int_equal(gateway_submit(gw, &ev), 0);
	}
	assert_int_equal(gateway_drain(gw, 10), 0);
	stdout_back(saved);

	gateway_get_stats(gw, &st);
	assert_int_equal(st.fired, 7);
	assert_int_equal(st.unowned, 2); /* "ghost" and NULL */
	assert_int_equal(st.delivered, 14);
	assert_int_equal(st.failed, 0);

	read_lines(pa, &l);
	assert_int_equal(l.n, 2);
	for (int i = 0; i < l.n; i++)
		assert_string_equal(l.evs[i].owner, "storage");
	assert_string_equal(l.evs[0].series, "x{n=0}");
	assert_string_equal(l.evs[1].series, "x{n=2}");
	free_lines(&l);
	read_lines(pb, &l);
	assert_int_equal(l.n, 2);
	for (int i = 0; i < l.n; i++)
		assert_string_equal(l.evs[i].owner, "payments");
	free_lines(&l);
	read_lines(pall, &l);
	assert_int_equal(l.n, 7);
	for (int i = 0; i < l.n; i++)
		assert_string_equal(l.evs[i].series, series[i]);
	free_lines(&l);
	read_lines(pout, &l); /* fallback = stdout */
	assert_int_equal(l.n, 3);
	assert_string_equal(l.evs[0].series, "x{n=3}");
	assert_string_equal(l.evs[0].owner, "ghost");
	assert_string_equal(l.evs[1].owner, "nobody-home");
	assert_null(l.evs[2].owner);
	free_lines(&l);

	gateway_destroy(gw);
	tmp_fini(&t);
}

static void test_failing_destination(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	struct lines l;
	char err[256], dead[256];
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *pa = tmp_path(&t, "storage.jsonl");
	const char *pb = tmp_path(&t, "payments.jsonl");
	const char *pout = tmp_path(&t, "stdout.jsonl");
	const char *dir = tmp_path(&t, "state");
	set_file_dest(&fx, 0, "/dev/full", "owners.yaml:3:5");
	fast_retries(&fx, 0);
	set_file_dest(&fx, 1, pa, "owners.yaml:4:5");
	set_file_dest(&fx, 2, pb, "owners.yaml:8:5");
	add_owner(&fx, 0, "storage", 0, 2); /* /dev/full and a good file */
	add_owner(&fx, 1, "payments", 2, 1);
	struct gateway_opts o = {.state_dir = dir};
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);

	int saved = stdout_to(pout); /* the fallback: meta-alerts */
	base_event(&ev);
	ev.owner = "storage";
	assert_int_equal(gateway_submit(gw, &ev), 0);
	/* the gateway keeps working: other destinations and owners deliver */
	assert_int_equal(gateway_submit(gw, &ev), 0); /* suppressed repeat */
	struct alert_event ev2 = ev;
	ev2.owner = "payments";
	ev2.series = "payments.latency{}";
	assert_int_equal(gateway_submit(gw, &ev2), 0);
	ev.status = ALERT_RESOLVED;
	assert_int_equal(gateway_submit(gw, &ev), 0);
	assert_int_equal(gateway_drain(gw, 10), 0);
	stdout_back(saved);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.failed, 2);    /* firing and resolve to /dev/full, 3 attempts each */
	assert_int_equal(st.retries, 4);   /* 2 + 2 */
	assert_int_equal(st.delivered, 5); /* the good file twice, payments, two meta-alerts */
	assert_int_equal(st.resolved, 1);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.open_episodes, 1);

	read_lines(pa, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.evs[1].status, ALERT_RESOLVED);
	free_lines(&l);
	read_lines(pb, &l);
	assert_int_equal(l.n, 1);
	free_lines(&l);
	/* a delivery_failed meta-alert per notification given up, to the fallback */
	read_lines(pout, &l);
	assert_int_equal(l.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(l.evs[i].rule, "vigil-delivery-failed");
		assert_non_null(
			strstr(l.evs[i].summary, "storage's file destination failed after 3 attempt(s)"));
	}
	free_lines(&l);
	/* and a dead-letter record each, with the notification and the reason */
	snprintf(dead, sizeof dead, "%s/dead_letters.jsonl", dir);
	FILE *f = fopen(dead, "r");
	assert_non_null(f);
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "owner")), "storage");
		assert_string_equal(json_string_value(json_object_get(j, "where")), "owners.yaml:3:5");
		assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 3);
		assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "write failed"));
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(j, "notification"), "rule")),
			"disk-latency");
		json_decref(j);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);
	gateway_destroy(gw);
	tmp_fini(&t);
}

/* Kill the gateway with notifications pending (here: destroy while its only
 * destination fails), start a new one on the same state directory: it
 * restores the open episode and delivers what was pending, once. */
static void test_restart_finishes_pending(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	struct lines l;
	char err[256];
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *pa = tmp_path(&t, "storage.jsonl");
	const char *dir = tmp_path(&t, "state");
	set_file_dest(&fx, 0, "/dev/full", "owners.yaml:3:5"); /* down */
	add_owner(&fx, 0, "storage", 0, 1);
	struct gateway_opts o = {.state_dir = dir};
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);
	base_event(&ev);
	assert_int_equal(gateway_submit(gw, &ev), 0);
	struct alert_event other = ev;
	other.series = "disk.write_latency{cluster=eu-1,host=db2}";
	assert_int_equal(gateway_submit(gw, &other), 0);
	gateway_flush(gw);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.delivered, 0);
	gateway_destroy(gw); /* pending: 2 */

	set_file_dest(&fx, 0, pa, "owners.yaml:3:5"); /* back */
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.restored, 2);
	assert_int_equal(st.open_episodes, 2);
	/* the input replayed: the firing is known, the resolve closes it */
	assert_int_equal(gateway_submit(gw, &ev), 0);
	ev.status = ALERT_RESOLVED;
	assert_int_equal(gateway_submit(gw, &ev), 0);
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.orphan_resolves, 0);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.open_episodes, 1);
	gateway_destroy(gw);

	read_lines(pa, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.evs[0].status, ALERT_FIRING);
	assert_int_equal(l.evs[1].status, ALERT_FIRING);
	assert_int_equal(l.evs[2].status, ALERT_RESOLVED);
	free_lines(&l);

	/* a third start has nothing pending: every delivery was recorded */
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.restored, 0);
	assert_int_equal(st.open_episodes, 1);
	gateway_destroy(gw);
	tmp_fini(&t);
}

/* A crash in the middle of writing one decision to the log (here: the log
 * cut inside the firing's "send" record, after its "open" record): none of
 * the decision survives, so the input read again decides it again and the
 * page goes out. Before groups, the open episode came back without its
 * notification and the repeated firing was suppressed: the page was lost. */
static void test_torn_decision(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	struct lines l;
	char err[256], logp[512], *buf;
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *pa = tmp_path(&t, "storage.jsonl");
	const char *dir = tmp_path(&t, "state");
	set_file_dest(&fx, 0, "/dev/full", "owners.yaml:3:5"); /* down: the send stays pending */
	add_owner(&fx, 0, "storage", 0, 1);
	struct gateway_opts o = {.state_dir = dir};
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);
	base_event(&ev);
	assert_int_equal(gateway_submit(gw, &ev), 0);
	gateway_flush(gw);
	gateway_destroy(gw);

	snprintf(logp, sizeof logp, "%s/gateway.log", dir);
	FILE *f = fopen(logp, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	char *open_rec = strstr(buf, "\"op\":\"open\"");
	char *send_rec = strstr(buf, "\"op\":\"send\"");
	assert_non_null(open_rec);
	assert_non_null(send_rec);
	assert_true(open_rec < send_rec);
	size_t cut = (size_t)(send_rec - buf) + 20; /* inside the send record */
	assert_true(cut < n);
	f = fopen(logp, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, cut, f), cut);
	fclose(f);
	free(buf);

	set_file_dest(&fx, 0, pa, "owners.yaml:3:5"); /* back */
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.open_episodes, 0);        /* the half-written decision is gone */
	assert_int_equal(gateway_submit(gw, &ev), 0); /* the input read again */
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.suppressed, 0);
	assert_int_equal(st.delivered, 1);
	gateway_destroy(gw);
	read_lines(pa, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.evs[0].status, ALERT_FIRING);
	free_lines(&l);
	tmp_fini(&t);
}

/* jansson allocations counted (test_snapshot_recent_packed) */
#define GW_RECENT 4096 /* the transitions a gateway remembers (sinks/gateway_int.h) */
static size_t json_allocs;
static void *counting_malloc(size_t n)
{
	json_allocs++;
	return malloc(n);
}

/* A partition's snapshot carries the whole ring of recent transitions
 * (GW_RECENT) packed in one string, not one JSON object per transition
 * (which made every checkpoint of the soak's gateway take about 1.7 MB of
 * short-lived heap, kept as RSS); the member that imports it suppresses
 * those transitions; a snapshot of the older form ("recent" objects) is
 * still read; a malformed packed entry is skipped. */
static void test_snapshot_recent_packed(void **state)
{
	enum { N = 2100 }; /* 4200 transitions: more than the ring holds */
	struct fixture fx;
	struct gateway *g1 = NULL, *g2 = NULL, *g3 = NULL;
	struct gateway_stats st;
	struct alert_event ev;
	char err[256], series[32];
	(void)state;

	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, "/dev/null", "owners.yaml:3:5");
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &g1, err, sizeof err), 0);
	base_event(&ev);
	for (int i = 0; i < N; i++) {
		snprintf(series, sizeof series, "s{i=%d}", i);
		ev.series = series;
		ev.status = ALERT_FIRING;
		assert_int_equal(gateway_submit_tagged(g1, &ev, 2, 2 * i), 0);
		ev.status = ALERT_RESOLVED;
		assert_int_equal(gateway_submit_tagged(g1, &ev, 2, 2 * i + 1), 0);
	}
	assert_int_equal(gateway_drain(g1, 30), 0);

	json_allocs = 0;
	json_set_alloc_funcs(counting_malloc, free);
	json_t *snap = gateway_export(g1, 2);
	json_set_alloc_funcs(malloc, free);
	assert_non_null(snap);
	/* a few allocations for the snapshot, not several per transition
	 * (an object each: tens of thousands for the ring) */
	assert_true(json_allocs < 100);
	/* the ring is full: GW_RECENT transitions, 17 characters each */
	json_t *packed = json_object_get(snap, "recent_packed");
	assert_true(json_is_string(packed));
	assert_int_equal(json_string_length(packed), (size_t)GW_RECENT * 17);
	assert_null(json_object_get(snap, "recent"));

	/* the importer remembers them: the newest episode's resolve and
	 * firing again are suppressed (no notification, not an orphan) */
	assert_int_equal(gateway_create(&fx.rs, NULL, &g2, err, sizeof err), 0);
	assert_int_equal(gateway_import(g2, 2, snap), 0);
	snprintf(series, sizeof series, "s{i=%d}", N - 1);
	ev.series = series;
	assert_int_equal(gateway_submit_tagged(g2, &ev, 2, 2 * N), 0); /* the resolve */
	ev.status = ALERT_FIRING;
	assert_int_equal(gateway_submit_tagged(g2, &ev, 2, 2 * N + 1), 0);
	gateway_get_stats(g2, &st);
	assert_int_equal(st.suppressed, 2);
	assert_int_equal(st.notifications, 0);
	assert_int_equal(st.orphan_resolves, 0);
	gateway_destroy(g2);

	/* the older form, and a packed string with one malformed entry (not
	 * hex) and a truncated tail: what is well-formed is remembered */
	const char *ep = json_string_value(packed) + (GW_RECENT - 1) * 17; /* the newest: its resolve */
	char old_ep[17], bad[3 * 17 + 8];
	memcpy(old_ep, ep, 16);
	old_ep[16] = '\0';
	snprintf(bad, sizeof bad, "zzzzzzzzzzzzzzzz1%.17s0123",
		 json_string_value(packed) + (GW_RECENT - 2) * 17);
	json_t *old =
		json_pack("{s:s, s:i, s:[{s:s, s:i}], s:s}", "schema", "vigil.gateway/1", "partition", 2,
			  "recent", "ep", old_ep, "status", (int)ALERT_RESOLVED, "recent_packed", bad);
	assert_non_null(old);
	assert_int_equal(gateway_create(&fx.rs, NULL, &g3, err, sizeof err), 0);
	assert_int_equal(gateway_import(g3, 2, old), 0);
	ev.status = ALERT_RESOLVED; /* from "recent" */
	assert_int_equal(gateway_submit_tagged(g3, &ev, 2, 1), 0);
	ev.status = ALERT_FIRING; /* from the packed entry that was well-formed */
	assert_int_equal(gateway_submit_tagged(g3, &ev, 2, 2), 0);
	gateway_get_stats(g3, &st);
	assert_int_equal(st.suppressed, 2);
	assert_int_equal(st.notifications, 0);
	json_decref(old);
	gateway_destroy(g3);

	json_decref(snap);
	gateway_destroy(g1);
}

/* The Kafka hand-over of one alerts-topic partition: a snapshot carries
 * that partition's open episodes and unfinished notifications (and nothing
 * of another partition); the member that imports it delivers them and knows
 * the episodes; release forgets them and cancels the queued sends. */
static void test_partition_handover(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *g1 = NULL, *g2 = NULL;
	struct gateway_stats st;
	struct alert_event ev, other;
	struct lines l;
	char err[256];
	(void)state;

	memset(&fx, 0, sizeof fx);
	tmp_init(&t);
	const char *pa = tmp_path(&t, "storage.jsonl");
	set_file_dest(&fx, 0, "/dev/full", "owners.yaml:3:5"); /* g1's receiver is down */
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &g1, err, sizeof err), 0);
	base_event(&ev);
	other = ev;
	other.series = "disk.write_latency{cluster=eu-1,host=db9}";
	assert_int_equal(gateway_submit_tagged(g1, &ev, 2, 5), 0);
	assert_int_equal(gateway_submit_tagged(g1, &other, 1, 7), 0);
	assert_true(gateway_min_pending(g1, 2) == 5);
	json_t *snap = gateway_export(g1, 2);
	assert_non_null(snap);
	assert_int_equal(json_array_size(json_object_get(snap, "open")), 1);
	assert_int_equal(json_array_size(json_object_get(snap, "pending")), 1);
	assert_true(json_string_length(json_object_get(snap, "recent_packed")) >= 17);
	/* g1 hands partition 2 over: its queued send is cancelled (one being
	 * sent right now finishes first, then goes) */
	gateway_release(g1, 2);
	gateway_get_stats(g1, &st);
	assert_int_equal(st.open_episodes, 1); /* partition 1's */
	for (int i = 0; i < 200 && st.pending != 1; i++) {
		usleep(10000);
		gateway_get_stats(g1, &st);
	}
	assert_int_equal(st.pending, 1); /* partition 1's, still retrying */
	assert_true(gateway_min_pending(g1, 2) == INT64_MAX);

	set_file_dest(&fx, 0, pa, "owners.yaml:3:5"); /* g2's receiver works */
	assert_int_equal(gateway_create(&fx.rs, NULL, &g2, err, sizeof err), 0);
	assert_int_equal(gateway_import(g2, 2, snap), 0);
	json_decref(snap);
	assert_int_equal(gateway_drain(g2, 10), 0);
	gateway_get_stats(g2, &st);
	assert_int_equal(st.restored, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.open_episodes, 1);
	/* the episode is known: a repeat of the firing is suppressed, its resolve closes it */
	assert_int_equal(gateway_submit_tagged(g2, &ev, 2, 9), 0);
	ev.status = ALERT_RESOLVED;
	assert_int_equal(gateway_submit_tagged(g2, &ev, 2, 10), 0);
	assert_int_equal(gateway_drain(g2, 10), 0);
	gateway_get_stats(g2, &st);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.orphan_resolves, 0);
	assert_int_equal(st.open_episodes, 0);
	read_lines(pa, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.evs[0].status, ALERT_FIRING);
	assert_int_equal(l.evs[1].status, ALERT_RESOLVED);
	free_lines(&l);
	/* not a snapshot */
	json_t *junk = json_pack("{s:s}", "schema", "something/else");
	assert_int_equal(gateway_import(g2, 3, junk), -VIGIL_EINVAL);
	json_decref(junk);
	gateway_destroy(g2);
	gateway_destroy(g1);
	tmp_fini(&t);
}

/* Read what a client sent on fd until it is quiet for 200 ms. */
static void read_request(int fd)
{
	char buf[4096];
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, 200) > 0 && read(fd, buf, sizeof buf) > 0)
		;
}

/* The hand-over of a partition with a send in flight (the Kafka gateway's
 * revoke, consumers/gateway_intake.c): a real webhook send to a listening
 * socket that answers only when the test says so. While partition 2 is
 * held, the send in flight finishes (its answer comes) and the next
 * notification of partition 2 does not start; gateway_wait_sending returns
 * at its bound while the send is in flight, and at once when it is done. */
static void test_handover_waits_for_send(void **state)
{
	struct fixture fx;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	struct alert_event ev, other;
	char err[256], url[64];
	(void)state;

	int ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));

	memset(&fx, 0, sizeof fx);
	fx.kv[0][0] = (struct kv){"url", url, "owners.yaml:3:5"};
	fx.kv[0][1] = (struct kv){"timeout", "20s", "owners.yaml:4:5"};
	fx.dests[0].type = (char *)"webhook";
	fx.dests[0].kv = fx.kv[0];
	fx.dests[0].nkv = 2;
	fx.dests[0].where = (char *)"owners.yaml:3:5";
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), 0);
	base_event(&ev);
	other = ev;
	other.series = "disk.write_latency{cluster=eu-1,host=db9}";
	assert_int_equal(gateway_submit_tagged(gw, &ev, 2, 5), 0);
	assert_int_equal(gateway_submit_tagged(gw, &other, 2, 6), 0);
	gateway_flush(gw);
	/* the first send is in flight: connected, no answer */
	size_t n = 0;
	for (int i = 0; i < 500 && (n = gateway_wait_sending(gw, 2, 0)) == 0; i++)
		usleep(10000);
	assert_int_equal(n, 1);
	assert_int_equal(gateway_wait_sending(gw, 1, 0), 0); /* nothing of partition 1 */

	assert_int_equal(gateway_hold(gw, 2, 1), 0);
	assert_int_equal(gateway_hold(gw, 2, 1), 0); /* once */
	double t0 = clock_mono_real();
	assert_int_equal(gateway_wait_sending(gw, 2, t0 + 0.3), 1); /* bounded */
	double dt = clock_mono_real() - t0;
	assert_true(dt >= 0.29 && dt < 5);

	int c = accept(ls, NULL, NULL);
	assert_true(c >= 0);
	read_request(c);
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	assert_int_equal(write(c, ok, sizeof ok - 1), (ssize_t)(sizeof ok - 1));
	t0 = clock_mono_real();
	assert_int_equal(gateway_wait_sending(gw, 2, t0 + 10), 0);
	assert_true(clock_mono_real() - t0 < 5);
	close(c);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.delivered, 1);
	/* held: the second notification of partition 2 stays queued, exported */
	usleep(300000);
	assert_int_equal(gateway_wait_sending(gw, 2, 0), 0);
	struct pollfd p = {ls, POLLIN, 0};
	assert_int_equal(poll(&p, 1, 0), 0); /* no new connection */
	json_t *snap = gateway_export(gw, 2);
	assert_non_null(snap);
	assert_int_equal(json_array_size(json_object_get(snap, "pending")), 1);
	json_decref(snap);
	gateway_release(gw, 2);
	assert_int_equal(gateway_hold(gw, 2, 0), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(poll(&p, 1, 300), 0); /* released and cancelled: never sent */
	gateway_destroy(gw);
	close(ls);
}

static void test_backoff(void **state)
{
	(void)state;
	struct retry_policy p = {.initial = 1, .max_delay = 30, .max_attempts = 10, .max_age = 3600};
	/* full jitter: [0, cap) with cap doubling from initial up to max_delay */
	assert_near(outbox_backoff(&p, 1, 0, 0.5), 0.5, 1e-12);
	assert_near(outbox_backoff(&p, 2, 0, 0.5), 1.0, 1e-12);
	assert_near(outbox_backoff(&p, 4, 0, 0.999), 7.992, 1e-9);
	assert_near(outbox_backoff(&p, 20, 0, 0.5), 15.0, 1e-12);
	/* Retry-After is a floor */
	assert_near(outbox_backoff(&p, 1, 2.0, 0.1), 2.0, 1e-12);
	assert_near(outbox_backoff(&p, 6, 2.0, 0.9), 27.0, 1e-12);
}

static void test_create_errors(void **state)
{
	struct fixture fx;
	struct tmp t;
	struct gateway *gw = NULL;
	char err[512];
	(void)state;

	tmp_init(&t);
	const char *pa = tmp_path(&t, "a.jsonl");

	/* unknown destination type, named with its place */
	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, pa, "owners.yaml:3:5");
	set_file_dest(&fx, 1, pa, "owners.yaml:9:5");
	fx.dests[1].type = (char *)"carrier-pigeon";
	add_owner(&fx, 0, "storage", 0, 1);
	add_owner(&fx, 1, "payments", 1, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), -VIGIL_EINVAL);
	assert_null(gw);
	assert_non_null(strstr(err, "owners.yaml:9:5"));
	assert_non_null(strstr(err, "carrier-pigeon"));
	assert_non_null(strstr(err, "payments"));

	/* a bad setting: both the destination and the setting are named */
	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, pa, "owners.yaml:3:5");
	fx.kv[0][1] = (struct kv){"colour", "red", "owners.yaml:5:7"};
	fx.dests[0].nkv = 2;
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "owners.yaml:3:5"));
	assert_non_null(strstr(err, "owners.yaml:5:7"));

	/* missing directory */
	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, "/nonexistent-vigil-dir/x.jsonl", "owners.yaml:3:5");
	add_owner(&fx, 0, "storage", 0, 1);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "/nonexistent-vigil-dir/x.jsonl"));

	/* a bad extra destination; a fallback that needs settings */
	memset(&fx, 0, sizeof fx);
	set_file_dest(&fx, 0, pa, "owners.yaml:3:5");
	fx.dests[0].nkv = 0;
	struct gateway_opts o = {.extra = &fx.dests[0], .nextra = 1};
	assert_int_equal(gateway_create(&fx.rs, &o, &gw, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "path"));
	struct gateway_opts o2 = {.fallback_sink = "file"};
	assert_int_equal(gateway_create(&fx.rs, &o2, &gw, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "fallback"));

	/* an empty ruleset is fine: everything goes to the fallback */
	memset(&fx, 0, sizeof fx);
	assert_int_equal(gateway_create(&fx.rs, NULL, &gw, err, sizeof err), 0);
	gateway_destroy(gw);
	gateway_destroy(NULL);
	tmp_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_episode),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_file_sink),
		cmocka_unit_test(test_episodes),
		cmocka_unit_test(test_many_episodes),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_failing_destination),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_restart_finishes_pending),
		cmocka_unit_test(test_torn_decision),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_partition_handover),
		cmocka_unit_test(test_handover_waits_for_send),
		cmocka_unit_test(test_snapshot_recent_packed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
