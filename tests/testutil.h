/* Shared helpers for the cmocka unit tests. Include after <cmocka.h>.
 * Everything is static so each test binary gets its own copy. */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "detectors/detector.h"
#include "core/alert.h"

/* NaN-aware comparison with a relative tolerance (cmocka's float asserts
 * cast to float, which is useless for doubles). */
static inline void assert_near(double got, double want, double tol)
{
	if (isnan(want)) {
		if (!isnan(got))
			fail_msg("got %.17g want NaN", got);
		return;
	}
	if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
		fail_msg("got %.17g want %.17g (tol %g)", got, want, tol);
}

/* A loop length for a test whose iteration count only buys confidence (a
 * brute-force comparison over many random steps): full normally, and
 * under_valgrind when tests/valgrind.sh runs the test under memcheck
 * (VIGIL_UNDER_VALGRIND=1; 30-60 times slower there). Only the number of
 * iterations changes, never which checks run. */
static inline int test_workload(int full, int under_valgrind)
{
	const char *v = getenv("VIGIL_UNDER_VALGRIND");
	return v && *v && strcmp(v, "0") != 0 ? under_valgrind : full;
}

/* A configured detector with one state block. */
struct rig {
	struct detector d;
	void *state;
};

static inline void rig_open(struct rig *r, const char *name, const struct kv *set, size_t nset)
{
	char err[256] = "";
	int rc = det_new(name, set, nset, &r->d, err, sizeof err);
	if (rc != 0)
		fail_msg("det_new(%s): %s", name, err);
	r->state = malloc(det_state_size(&r->d));
	assert_non_null(r->state);
	assert_int_equal(det_state_init(&r->d, r->state), 0);
}

static inline void rig_close(struct rig *r)
{
	det_state_fini(&r->d, r->state);
	free(r->state);
	det_free(&r->d);
}

/* Feed one point; update() must succeed and write every field of out. */
static inline struct det_result rig_feed(struct rig *r, double ts, double x)
{
	struct det_result out;
	memset(&out, 0x5a, sizeof out);
	assert_int_equal(r->d.type->update(r->d.cfg, r->state, ts, x, &out), 0);
	return out;
}

/* An engine's alert callback for tests: alerts_collect(ctx = struct
 * alerts_got *) copies each event; fails (-1) once ALERTS_GOT_MAX are held. */
#define ALERTS_GOT_MAX 512
struct alerts_got {
	int n;
	struct {
		int status;
		char rule[64], owner[64], series[128];
		double ts, value, expected, score, started;
		long long pos, start_pos;
	} ev[ALERTS_GOT_MAX];
};

static inline int alerts_collect(void *ctx, const struct alert_event *ev)
{
	struct alerts_got *g = ctx;
	if (g->n == ALERTS_GOT_MAX)
		return -1;
	g->ev[g->n].status = ev->status;
	snprintf(g->ev[g->n].rule, sizeof g->ev[0].rule, "%s", ev->rule);
	snprintf(g->ev[g->n].owner, sizeof g->ev[0].owner, "%s", ev->owner);
	snprintf(g->ev[g->n].series, sizeof g->ev[0].series, "%s", ev->series);
	g->ev[g->n].ts = ev->ts;
	g->ev[g->n].value = ev->value;
	g->ev[g->n].expected = ev->expected;
	g->ev[g->n].score = ev->score;
	g->ev[g->n].started = ev->started;
	g->ev[g->n].pos = (long long)ev->pos;
	g->ev[g->n].start_pos = (long long)ev->start_pos;
	g->n++;
	return 0;
}

#endif
