/* Unit tests for the peer-group detector (detectors/peerpca.c through
 * detectors/group.h), the engine's peer-group path (core/engine.c) and the
 * peer_group rule syntax (rules/load.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "engine/engine.h"
#include "core/log.h"
#include "detectors/group.h"
#include "tests/testutil.h"

#define NMEM    8
#define STEP    60.0
#define PERIOD  240 /* ticks of the shared "daily-ish" pattern */
#define NTICKS  1100
#define T_ROGUE 700
#define ROGUE   3

/* ---- data ---- */

static uint64_t rng_state; /* the seed of a data set */

/* A standard normal draw that depends only on (seed, i, t), so a data set
 * can be replayed in pieces and in any order. */
static double gauss_at(int i, int t)
{
	uint64_t z = rng_state + 0x9e3779b97f4a7c15ull * (uint64_t)(i * 1000003 + t + 1), u[2];
	for (int k = 0; k < 2; k++) {
		z += 0x9e3779b97f4a7c15ull;
		uint64_t x = z;
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		u[k] = x ^ (x >> 31);
	}
	double u1 = ((double)(u[0] >> 11) + 0.5) / 9007199254740992.0;
	double u2 = ((double)(u[1] >> 11) + 0.5) / 9007199254740992.0;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Member i at tick t: its own scale times a shared pattern, 2 % noise; the
 * rogue member (rogue >= 0) is multiplied by 3 from tick T_ROGUE. */
static double value_at(int i, int t, int rogue)
{
	double b = 1.0 + 7.0 * i; /* very different magnitudes */
	double v = b * (10.0 + 4.0 * sin(2.0 * M_PI * t / PERIOD) + 1.5 * sin(2.0 * M_PI * t / 37.0));
	v += 0.02 * b * 10.0 * gauss_at(i, t);
	if (i == rogue && t >= T_ROGUE)
		v *= 3.0;
	return v;
}

/* ---- the detector alone ---- */

struct grig {
	const struct group_type *g;
	struct detector d;
	void *st;
};

static void grig_open(struct grig *r, const struct kv *set, size_t nset)
{
	char err[256] = "";
	r->g = group_find("peerpca");
	assert_non_null(r->g);
	if (group_det_new("peerpca", set, nset, &r->d, err, sizeof err) != 0)
		fail_msg("group_det_new: %s", err);
	assert_ptr_equal(group_of(r->d.type), r->g);
	assert_null(group_of(det_find("des")));
	r->st = calloc(1, r->g->state_size(r->d.cfg));
	assert_non_null(r->st);
	assert_int_equal(r->g->init(r->d.cfg, r->st), 0);
}

static void grig_close(struct grig *r)
{
	free(r->st);
	det_free(&r->d);
}

static void test_peer__detector_rogue_only(void **state)
{
	struct grig r;
	double x[NMEM];
	uint8_t present[NMEM];
	struct det_result out[NMEM];
	double max_other = 0, rogue_first = -1;

	(void)state;
	grig_open(&r, NULL, 0);
	rng_state = 88172645463325252ull;
	for (int t = 0; t < NTICKS; t++) {
		for (int i = 0; i < NMEM; i++) {
			x[i] = value_at(i, t, ROGUE);
			present[i] = 1;
		}
		memset(out, 0x5a, sizeof out);
		assert_int_equal(r.g->update(r.d.cfg, r.st, t * STEP, NMEM, x, present, out), 0);
		for (int i = 0; i < NMEM; i++) {
			/* warm-up: members enter the model after 16 points of
			 * their own, then the group learns 100 ticks */
			if (t < 16 + 100) {
				assert_true(isnan(out[i].score));
				continue;
			}
			assert_false(isnan(out[i].score));
			assert_true(out[i].score >= 0 && out[i].score <= 1);
			assert_true(out[i].lower <= out[i].expected && out[i].expected <= out[i].upper);
			if (i != ROGUE || t < T_ROGUE)
				max_other = fmax(max_other, out[i].score);
			else if (rogue_first < 0 && out[i].score >= 0.5)
				rogue_first = t;
		}
	}
	print_message("peerpca: max score of the others %.3f, rogue at threshold at tick %.0f\n", max_other,
		      rogue_first);
	assert_true(max_other < 0.5);
	assert_true(rogue_first >= T_ROGUE && rogue_first < T_ROGUE + 5);
	grig_close(&r);
}

static void test_peer__detector_absent_member(void **state)
{
	struct grig r;
	double x[NMEM];
	uint8_t present[NMEM];
	struct det_result out[NMEM];
	struct buf b1 = {0}, b2 = {0};

	(void)state;
	grig_open(&r, NULL, 0);
	rng_state = 1234567;
	for (int t = 0; t < 300; t++) {
		for (int i = 0; i < NMEM; i++) {
			x[i] = value_at(i, t, -1);
			present[i] = !(i == 5 && t >= 200);
		}
		if (t >= 200)
			x[5] = 1e300; /* must not be read */
		assert_int_equal(r.g->update(r.d.cfg, r.st, t * STEP, NMEM, x, present, out), 0);
		if (t >= 200) {
			assert_true(isnan(out[5].score));
			assert_true(isnan(out[5].expected));
			for (int i = 0; i < NMEM; i++)
				if (i != 5)
					assert_true(out[i].score < 0.5);
		}
	}
	/* growing the group keeps the others' model; shrinking is refused */
	assert_int_equal(r.g->update(r.d.cfg, r.st, 300 * STEP, NMEM - 1, x, present, out), -VIGIL_EINVAL);
	/* save -> load -> same state */
	assert_int_equal(group_state_save(r.g, r.d.cfg, r.st, &b1), 0);
	void *st2 = calloc(1, r.g->state_size(r.d.cfg));
	assert_int_equal(group_state_load(r.g, r.d.cfg, st2, b1.data, b1.len), 0);
	assert_int_equal(group_state_save(r.g, r.d.cfg, st2, &b2), 0);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	/* truncated or corrupted blobs are refused, leaving a fresh model */
	assert_int_not_equal(group_state_load(r.g, r.d.cfg, st2, b1.data, b1.len - 8), 0);
	b1.data[b1.len - 8] = 0xff;
	b1.data[b1.len - 1] = 0xff; /* last prev: NaN pattern 0xff.. */
	assert_int_not_equal(group_state_load(r.g, r.d.cfg, st2, b1.data, b1.len), 0);
	free(st2);
	buf_free(&b1);
	buf_free(&b2);
	grig_close(&r);
}

/* ---- through the engine ---- */

static struct ruleset *load_text(const char *yaml, char *err, size_t errlen, int *rc)
{
	char path[] = "/tmp/vigil-test-peer-XXXXXX";
	int fd = mkstemp(path);
	struct ruleset *rs = NULL;
	const char *paths[] = {path};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	*rc = ruleset_load(paths, 1, NULL, &rs, err, errlen);
	/* errors name the file: replace it by "F" for the comparisons */
	if (*rc != 0 && strncmp(err, path, strlen(path)) == 0) {
		memmove(err + 1, err + strlen(path), strlen(err + strlen(path)) + 1);
		err[0] = 'F';
	}
	unlink(path);
	return rs;
}

#define PEER_RULES(extra)                                                                                    \
	"rules:\n"                                                                                           \
	"  - name: peers\n"                                                                                  \
	"    series: cpu\n"                                                                                  \
	"    detector: peerpca\n" extra "    peer_group:\n"                                                  \
	"      by: [app]\n"                                                                                  \
	"      step: 1m\n"                                                                                   \
	"      deadline: 2m\n"                                                                               \
	"      min_members: 3\n"                                                                             \
	"    owner: ops\n"                                                                                   \
	"owners:\n"                                                                                          \
	"  - name: ops\n"                                                                                    \
	"    destinations: [{type: stdout}]\n"

static struct ruleset *peer_rules(const char *yaml)
{
	char err[512];
	int rc;
	struct ruleset *rs = load_text(yaml, err, sizeof err, &rc);
	if (rc != 0)
		fail_msg("rules: %s", err);
	return rs;
}

static struct engine *new_engine(struct ruleset *rs, struct alerts_got *g)
{
	struct engine *e = NULL;
	char err[256];
	struct engine_opts o = {.rs = rs, .on_alert = alerts_collect, .alert_ctx = g};
	if (engine_create(&o, &e, err, sizeof err) != 0)
		fail_msg("engine: %s", err);
	return e;
}

static void feed(struct engine *e, int member, const char *app, double ts, double v, int64_t pos)
{
	char host[16];
	struct point p;

	memset(&p, 0, sizeof p);
	snprintf(host, sizeof host, "h%d", member);
	p.name = "cpu";
	p.tags[0] = (struct tag){"host", host};
	p.tags[1] = (struct tag){"app", app};
	p.ntags = 2;
	p.ts = ts;
	p.value = v;
	assert_int_equal(engine_point(e, &p, "test", pos), 0);
}

/* Feed ticks [t0, t1): member order rotates and timestamps jitter inside
 * the tick; member `silent` (if >= 0) stops from tick silent_from. */
static void run(struct engine *e, int t0, int t1, int rogue, int silent, int silent_from)
{
	for (int t = t0; t < t1; t++) {
		for (int k = 0; k < NMEM; k++) {
			int i = (k + t) % NMEM;
			double v = value_at(i, t, rogue);
			if (i == silent && t >= silent_from)
				continue;
			feed(e, i, "web", t * STEP + 1 + 5 * i, v, (int64_t)t * NMEM + i);
		}
	}
}

static int count_firing(const struct alerts_got *g, const char *series, double from_ts)
{
	int n = 0;
	for (int i = 0; i < g->n; i++)
		if (g->ev[i].status == ALERT_FIRING && strcmp(g->ev[i].series, series) == 0 &&
		    g->ev[i].ts >= from_ts)
			n++;
	return n;
}

static void test_peer__engine_rogue(void **state)
{
	struct ruleset *rs = peer_rules(PEER_RULES(""));
	static struct alerts_got g, g0;
	struct engine *e = new_engine(rs, &g), *e0 = new_engine(rs, &g0);
	struct engine_stats es;

	(void)state;
	memset(&g, 0, sizeof g);
	memset(&g0, 0, sizeof g0);
	rng_state = 42;
	run(e, 0, NTICKS, ROGUE, -1, 0);
	rng_state = 42;
	run(e0, 0, NTICKS, -1, -1, 0); /* control: nobody leaves the pack */
	engine_get_stats(e, &es);
	print_message("groups=%llu members=%llu late=%llu closed=%llu alerts=%d/%d det_errors=%llu\n",
		      (unsigned long long)es.groups, (unsigned long long)es.group_members,
		      (unsigned long long)es.late, (unsigned long long)es.ticks_closed, g.n, g0.n,
		      (unsigned long long)es.det_errors);
	assert_int_equal(g0.n, 0);
	assert_true(g.n >= 1);
	assert_true(count_firing(&g, "cpu{app=web,host=h3}", T_ROGUE * STEP) >= 1);
	for (int i = 0; i < g.n; i++) {
		assert_string_equal(g.ev[i].series, "cpu{app=web,host=h3}");
		assert_string_equal(g.ev[i].rule, "peers");
		assert_string_equal(g.ev[i].owner, "ops");
		assert_true(g.ev[i].ts >= T_ROGUE * STEP);
	}
	assert_int_equal(g.ev[0].status, ALERT_FIRING);
	assert_true(g.ev[0].ts < (T_ROGUE + 5) * STEP);
	assert_true(g.ev[0].score >= 0.5);
	assert_int_equal(g.ev[0].pos % NMEM, ROGUE);
	engine_get_stats(e, &es);
	assert_int_equal(es.groups, 1);
	assert_int_equal(es.group_members, NMEM);
	assert_int_equal(es.late, NMEM - 1); /* tick 0 closed at its first member: the others are late */
	/* the last tick stays open until a later point or every member: all reported, so closed */
	assert_int_equal(es.ticks_closed, NTICKS);
	engine_destroy(e);
	engine_destroy(e0);
	ruleset_free(rs);
}

static void test_peer__engine_silent_member(void **state)
{
	struct ruleset *rs = peer_rules(PEER_RULES(""));
	static struct alerts_got g;
	struct engine *e = new_engine(rs, &g);
	struct engine_stats es;

	(void)state;
	memset(&g, 0, sizeof g);
	rng_state = 7;
	run(e, 0, NTICKS, ROGUE, 5, 400);
	engine_get_stats(e, &es);
	/* ticks kept closing by the deadline; only the last two wait for it */
	assert_true(es.ticks_closed >= NTICKS - 3);
	assert_int_equal(count_firing(&g, "cpu{app=web,host=h5}", 0), 0);
	assert_true(count_firing(&g, "cpu{app=web,host=h3}", T_ROGUE * STEP) >= 1);
	for (int i = 0; i < g.n; i++)
		assert_string_equal(g.ev[i].series, "cpu{app=web,host=h3}");
	/* a point for a closed tick is dropped and counted */
	uint64_t late = es.late;
	feed(e, 9, "web", 100 * STEP, 1.0, 1);
	engine_get_stats(e, &es);
	assert_int_equal(es.late, late + 1);
	/* another group (other app) is independent and too small for an opinion */
	feed(e, 0, "db", 5 * STEP, 1.0, 2);
	engine_get_stats(e, &es);
	assert_int_equal(es.groups, 2);
	engine_destroy(e);
	ruleset_free(rs);
}

static void test_peer__engine_max_members(void **state)
{
	struct ruleset *rs = peer_rules(PEER_RULES("    params: {max_members: 5}\n"));
	static struct alerts_got g;
	struct engine *e = new_engine(rs, &g);
	struct engine_stats es;

	(void)state;
	memset(&g, 0, sizeof g);
	rng_state = 9;
	run(e, 0, 50, -1, -1, 0);
	engine_get_stats(e, &es);
	assert_int_equal(es.group_members, 5);
	assert_int_equal(es.group_refused, 3);
	engine_destroy(e);
	ruleset_free(rs);
}

/* Save in the middle of a tick (some members buffered), load into a new
 * engine, continue: same alerts and the same final checkpoint as without. */
static void test_peer__checkpoint_round_trip(void **state)
{
	struct ruleset *rs = peer_rules(PEER_RULES(""));
	static struct alerts_got ga, gb;
	struct engine *a = new_engine(rs, &ga), *b = new_engine(rs, &gb), *c;
	struct buf blob = {0}, fa = {0}, fc = {0};
	int cut = 650;

	(void)state;
	memset(&ga, 0, sizeof ga);
	memset(&gb, 0, sizeof gb);
	rng_state = 5;
	run(a, 0, NTICKS, ROGUE, 6, 600);
	rng_state = 5;
	run(b, 0, cut, ROGUE, 6, 600);
	for (int k = 0; k < 3; k++) { /* half a tick */
		int i = (k + cut) % NMEM;
		feed(b, i, "web", cut * STEP + 1 + 5 * i, value_at(i, cut, ROGUE), (int64_t)cut * NMEM + i);
	}
	assert_int_equal(engine_save(b, &blob), 0);
	engine_destroy(b);
	c = new_engine(rs, &gb);
	assert_int_equal(engine_load(c, blob.data, blob.len), 0);
	for (int k = 3; k < NMEM; k++) {
		int i = (k + cut) % NMEM;
		if (i == 6)
			continue;
		feed(c, i, "web", cut * STEP + 1 + 5 * i, value_at(i, cut, ROGUE), (int64_t)cut * NMEM + i);
	}
	run(c, cut + 1, NTICKS, ROGUE, 6, 600);
	assert_true(ga.n >= 1);
	assert_int_equal(ga.n, gb.n);
	for (int i = 0; i < ga.n; i++) {
		assert_int_equal(ga.ev[i].status, gb.ev[i].status);
		assert_string_equal(ga.ev[i].series, gb.ev[i].series);
		assert_int_equal(ga.ev[i].pos, gb.ev[i].pos);
		assert_memory_equal(&ga.ev[i].score, &gb.ev[i].score, sizeof(double));
	}
	assert_int_equal(engine_save(a, &fa), 0);
	assert_int_equal(engine_save(c, &fc), 0);
	assert_int_equal(fa.len, fc.len);
	assert_memory_equal(fa.data, fc.data, fa.len);
	/* a version-1 blob is refused cleanly; truncations never crash */
	uint32_t v1 = 1;
	memcpy(blob.data + 4, &v1, sizeof v1);
	assert_int_equal(engine_load(c, blob.data, blob.len), -VIGIL_EVERSION);
	v1 = 4; /* the current version (4: a held point per series) */
	memcpy(blob.data + 4, &v1, sizeof v1);
	for (size_t cutlen = 0; cutlen < blob.len; cutlen += 1 + cutlen / 7)
		assert_int_not_equal(engine_load(c, blob.data, cutlen), 0);
	assert_int_equal(engine_load(c, blob.data, blob.len), 0);
	buf_free(&blob);
	buf_free(&fa);
	buf_free(&fc);
	engine_destroy(a);
	engine_destroy(c);
	ruleset_free(rs);
}

/* ---- rule syntax ---- */

struct err_case {
	const char *yaml;
	const char *want; /* "F:line:col: message prefix" */
};

#define HEAD                                                                                                 \
	"owners:\n  - name: ops\n    destinations: [{type: stdout}]\nrules:\n  - name: p\n    series: "      \
	"cpu\n    owner: ops\n"

static const struct err_case err_cases[] = {
	{HEAD "    detector: peerpca\n",
	 "F:8:15: detector 'peerpca' judges a peer group: the rule needs a peer_group"},
	{HEAD "    peer_group: {by: [app], step: 1m}\n", "F:8:17: peer_group needs a group detector"},
	{HEAD "    detector: des\n    peer_group: {by: [app], step: 1m}\n",
	 "F:9:17: peer_group needs a group detector (detector: peerpca), not 'des'"},
	{HEAD "    detector: peerpca\n    peer_group: [app]\n",
	 "F:9:17: peer_group must be a map, not a list"},
	{HEAD "    detector: peerpca\n    peer_group: {step: 1m}\n",
	 "F:9:17: peer_group is missing required key 'by'"},
	{HEAD "    detector: peerpca\n    peer_group: {by: [app]}\n",
	 "F:9:17: peer_group is missing required key 'step'"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 1m\n      dedline: 2m\n",
	 "F:12:7: unknown key 'dedline' in peer_group (did you mean 'deadline'?)"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: app\n      step: 1m\n",
	 "F:10:11: peer_group.by must be a list, not a scalar"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: []\n      step: 1m\n",
	 "F:10:11: peer_group.by needs at least one tag key"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app, \"\"]\n      step: 1m\n",
	 "F:10:17: a peer_group.by tag key must not be empty"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app, dc, app]\n      step: 1m\n",
	 "F:10:21: duplicate tag key 'app' in peer_group.by"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: fast\n",
	 "F:11:13: peer_group.step: 'fast' is not a duration"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 0\n",
	 "F:11:13: peer_group.step must be greater than 0"},
	{HEAD
	 "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 1m\n      deadline: -1m\n",
	 "F:12:17: peer_group.deadline: '-1m' is not a duration"},
	{HEAD "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 1m\n      deadline: 2h\n",
	 "F:12:17: peer_group.deadline must be at most 62 steps"},
	{HEAD
	 "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 1m\n      min_members: 0\n",
	 "F:12:20: peer_group.min_members: '0' is not an integer >= 1"},
	{HEAD
	 "    detector: peerpca\n    peer_group:\n      by: [app]\n      step: 1m\n      min_members: many\n",
	 "F:12:20: peer_group.min_members: 'many' is not an integer >= 1"},
	{HEAD "    detector: peerpca\n    params: {max_members: 4}\n    peer_group:\n      by: [app]\n      "
	      "step: 1m\n      min_members: 5\n",
	 "F:13:20: peer_group.min_members 5 exceeds the detector's max_members 4"},
	{HEAD "    detector: peerpca\n    params: {rank: 9, max_members: 4}\n    peer_group: {by: [app], "
	      "step: 1m}\n",
	 "F:9:13: detector 'peerpca': peerpca: rank 9 must not exceed max_members 4"},
	{HEAD "    detector: peerpca\n    params: {bogus: 1}\n    peer_group: {by: [app], step: 1m}\n",
	 "F:9:14: unknown parameter 'bogus'"},
	{HEAD "    detector: peerpcb\n", "F:8:15: unknown detector 'peerpcb' (known:"},
};

static void test_peer__rules_errors(void **state)
{
	char err[512];
	int rc;

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(err_cases); i++) {
		struct ruleset *rs = load_text(err_cases[i].yaml, err, sizeof err, &rc);
		if (rc == 0) {
			ruleset_free(rs);
			fail_msg("case %zu loaded; want %s", i, err_cases[i].want);
		}
		if (strncmp(err, err_cases[i].want, strlen(err_cases[i].want)) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, err, err_cases[i].want);
	}
	/* the unknown-detector list names the group detectors too */
	load_text(err_cases[VIGIL_ARRAY_LEN(err_cases) - 1].yaml, err, sizeof err, &rc);
	assert_non_null(strstr(err, " peerpca"));
}

static void test_peer__rules_good(void **state)
{
	char err[512];
	int rc;
	struct ruleset *rs =
		load_text(HEAD "    detector: peerpca\n    peer_group:\n      by: [app, metric]\n"
			       "      step: 30s\n",
			  err, sizeof err, &rc);

	(void)state;
	if (rc != 0)
		fail_msg("%s", err);
	const struct rule *r = &rs->rules[0];
	assert_int_equal(r->peer.nby, 2);
	assert_string_equal(r->peer.by[0], "app");
	assert_string_equal(r->peer.by[1], "metric");
	assert_near(r->peer.step, 30, 0);
	assert_near(r->peer.deadline, 30, 0); /* default: one step */
	assert_int_equal(r->peer.min_members, 3);
	assert_string_equal(r->det.type->name, "peerpca");
	assert_near(r->threshold, 0.5, 0);
	assert_non_null(group_of(r->det.type));
	ruleset_free(rs);
	/* a per-series rule has no peer group */
	rs = load_text(HEAD "    detector: des\n", err, sizeof err, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(rs->rules[0].peer.nby, 0);
	assert_null(group_of(rs->rules[0].det.type));
	ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer__detector_rogue_only),
		cmocka_unit_test(test_peer__detector_absent_member),
		cmocka_unit_test(test_peer__engine_rogue),
		cmocka_unit_test(test_peer__engine_silent_member),
		cmocka_unit_test(test_peer__engine_max_members),
		cmocka_unit_test(test_peer__checkpoint_round_trip),
		cmocka_unit_test(test_peer__rules_errors),
		cmocka_unit_test(test_peer__rules_good),
	};
	gsl_set_error_handler_off();
	log_level = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
