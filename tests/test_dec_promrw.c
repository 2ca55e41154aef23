/* Prometheus remote write 1.0 bodies (consumers/promrw.c): a body built
 * byte by byte from the specification's field numbers (independent of
 * proto/remote_write.proto), the stale marker vs NaN, bad series skipped
 * whole (non-UTF-8 label value, no __name__, repeated label) while the
 * others pass, bodies that are not snappy or not a WriteRequest. The
 * end-to-end test with a real Prometheus is tests/e2e_ingest_remote_write.sh. */
#include <math.h>
#include <setjmp.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/dec_testutil.h"
#include "consumers/promrw.h"

struct pbuf {
	uint8_t b[4096];
	size_t n;
};

static void put_varint(struct pbuf *o, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		o->b[o->n++] = (uint8_t)(c | (v ? 0x80 : 0));
	} while (v);
}

static void put_len(struct pbuf *o, int field, const void *p, size_t n)
{
	put_varint(o, (uint64_t)field << 3 | 2);
	put_varint(o, n);
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void label(struct pbuf *ts, const char *k, const char *v)
{
	struct pbuf l = {.n = 0};
	put_len(&l, 1, k, strlen(k));
	put_len(&l, 2, v, strlen(v));
	put_len(ts, 1, l.b, l.n);
}

static void sample(struct pbuf *ts, uint64_t bits, int64_t ms)
{
	struct pbuf s = {.n = 0};
	put_varint(&s, 1 << 3 | 1); /* field 1, 64-bit */
	memcpy(s.b + s.n, &bits, 8);
	s.n += 8;
	put_varint(&s, 2 << 3 | 0); /* field 2, varint */
	put_varint(&s, (uint64_t)ms);
	put_len(ts, 2, s.b, s.n);
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static char *compress(const struct pbuf *raw, size_t *n)
{
	size_t cap = snappy_max_compressed_length(raw->n);
	char *out = malloc(cap);
	assert_non_null(out);
	assert_int_equal(snappy_compress((const char *)raw->b, raw->n, out, &cap), SNAPPY_OK);
	*n = cap;
	return out;
}

static int run(const struct pbuf *raw, struct dt_sink *s, struct promrw_stats *st, char *err)
{
	size_t n;
	char *body = compress(raw, &n);
	int rc = promrw_decode(body, n, dt_collect, s, st, err, 256);
	free(body);
	return rc;
}

static void test_spec_bytes_stale_nan_bad_series(void **state)
{
	struct pbuf req = {.n = 0}, ts;
	struct dt_sink *s = calloc(1, sizeof *s);
	struct promrw_stats st;
	char err[256];
	(void)state;
	assert_non_null(s);
	/* series 0: up{instance="a:1",job="j"} 1 @1000, stale @2000, NaN @3000, 0 @4000 */
	ts.n = 0;
	label(&ts, "__name__", "up");
	label(&ts, "instance", "a:1");
	label(&ts, "job", "j");
	label(&ts, "empty", "");
	sample(&ts, dbits(1.0), 1700000000000);
	sample(&ts, PROMRW_STALE_BITS, 1700000002000);
	sample(&ts, dbits(NAN), 1700000003000);
	sample(&ts, dbits(0.0), 1700000004500);
	put_len(&req, 1, ts.b, ts.n);
	/* series 1: a label value that is not UTF-8 */
	ts.n = 0;
	label(&ts, "__name__", "bad");
	label(&ts, "path", "\xff\xfe");
	sample(&ts, dbits(5), 1000);
	put_len(&req, 1, ts.b, ts.n);
	/* series 2: no __name__ */
	ts.n = 0;
	label(&ts, "job", "j");
	sample(&ts, dbits(5), 1000);
	put_len(&req, 1, ts.b, ts.n);
	/* series 3: fine, after the bad ones */
	ts.n = 0;
	label(&ts, "__name__", "temp_celsius");
	label(&ts, "room", "ü");
	sample(&ts, dbits(-3.25), 1700000001000);
	put_len(&req, 1, ts.b, ts.n);
	/* metadata (field 3) is skipped */
	put_len(&req, 3, "\x08\x01", 2);

	assert_int_equal(run(&req, s, &st, err), 0);
	assert_int_equal(st.series, 4);
	assert_int_equal(st.samples, 7);
	assert_int_equal(st.points, 3);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.nonfinite, 1);
	assert_int_equal(st.bad_series, 2);
	assert_non_null(strstr(st.first_bad, "timeseries[1]: label name or value is not valid UTF-8"));
	assert_int_equal(s->n, 3);
	dt_expect(s, "up", "instance=a:1,job=j", 1700000000.0, 1);
	assert_near(s->pts[1].ts, 1700000004.5, 1e-12);
	assert_near(s->pts[1].value, 0, 0);
	dt_expect(s, "temp_celsius", "room=ü", 1700000001.0, -3.25);
	free(s);
}

static void test_bad_bodies(void **state)
{
	struct dt_sink *s = calloc(1, sizeof *s);
	struct promrw_stats st;
	struct pbuf raw = {.n = 0};
	char err[256];
	(void)state;
	assert_non_null(s);
	/* not snappy */
	assert_int_equal(promrw_decode("\xff\xff\xff\xff\xff\xff", 6, dt_collect, s, &st, err, sizeof err),
			 -VIGIL_EINVAL);
	assert_non_null(strstr(err, "snappy"));
	/* snappy, but not a WriteRequest: field 1 claims 100 bytes */
	put_varint(&raw, 1 << 3 | 2);
	put_varint(&raw, 100);
	assert_int_equal(run(&raw, s, &st, err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "WriteRequest"));
	/* an empty request is fine and empty */
	raw.n = 0;
	assert_int_equal(run(&raw, s, &st, err), 0);
	assert_int_equal(st.series, 0);
	assert_int_equal(s->n, 0);
	free(s);
}

/* promrw_encode (used by the bench) round-trips. */
static void test_encode_round_trip(void **state)
{
	static const char *const n0[] = {"__name__", "a"}, *const v0[] = {"m", "1"};
	static const char *const n1[] = {"__name__"}, *const v1[] = {"k"};
	const char *const *names[] = {n0, n1}, *const * values[] = {v0, v1};
	size_t nl[] = {2, 1}, len;
	double v[] = {1.5, 2.5};
	int64_t ms[] = {1000, 2000};
	char *body, err[256];
	struct promrw_stats st;
	struct dt_sink *s = calloc(1, sizeof *s);
	(void)state;
	assert_non_null(s);
	assert_int_equal(promrw_encode(2, nl, names, values, v, ms, &body, &len), 0);
	assert_int_equal(promrw_decode(body, len, dt_collect, s, &st, err, sizeof err), 0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "m", "a=1", 1, 1.5);
	dt_expect(s, "k", "", 2, 2.5);
	free(body);
	free(s);
}

/* Mutated bodies (raw protobuf bytes, then snappy) never crash and never
 * emit a point that breaks the decoder contract (dt_collect checks it). */
static void test_fuzz_no_crash(void **state)
{
	uint64_t r = 0x9e3779b97f4a7c15ULL;
	struct pbuf base = {.n = 0}, ts = {.n = 0};
	struct dt_sink *s = calloc(1, sizeof *s);
	struct promrw_stats st;
	char err[256];
	long ok = 0;
	(void)state;
	assert_non_null(s);
	label(&ts, "__name__", "up");
	label(&ts, "job", "j\xc3\xa9");
	sample(&ts, dbits(1.0), 1000);
	sample(&ts, PROMRW_STALE_BITS, 2000);
	put_len(&base, 1, ts.b, ts.n);
	put_len(&base, 1, ts.b, ts.n);
	for (int it = 0; it < 20000; it++) {
		struct pbuf m = base;
		for (int k = (int)(r % 4); k >= 0 && m.n > 0; k--) {
			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			size_t at = (size_t)(r >> 20) % m.n;
			switch ((r >> 8) % 3) {
			case 0: m.b[at] = (uint8_t)(r >> 40); break;
			case 1: m.n = at; break;
			default: m.b[at] ^= 0x80; break;
			}
		}
		s->n = 0;
		if (m.n > 0 && run(&m, s, &st, err) == 0)
			ok++;
	}
	assert_true(ok > 0); /* some mutations stay readable */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_bytes_stale_nan_bad_series),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_fuzz_no_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
