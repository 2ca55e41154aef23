/* Tests for the checkpoint codec of the state topic without a broker
 * (core/kafka_ckpt.c: kafka_ckpt_encode, the encoder kafka_ckpt_write
 * produces with, and kafka_ckpt_scan_*, the decoder kafka_ckpt_read feeds):
 * multi-chunk snapshots in both key schemes read back byte for byte, the
 * newest complete snapshot wins over a newer partial one (which is listed
 * as stale), other partitions' keys, tombstones and bad headers are
 * skipped, and a corrupt snapshot is not found. The same functions are
 * fuzzed by tests/fuzz/fuzz_kafka_ckpt.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kafka.h"
#include "core/log.h"

#define MAXMSG 16

/* The messages an encode produced, as the state partition would hold them. */
struct msgs {
	struct {
		char key[300];
		char hdr[128];
		uint8_t *val;
		size_t len;
	} m[MAXMSG];
	size_t n;
};

static int collect(void *ctx, const char *key, const char *hdr, const void *chunk, size_t len)
{
	struct msgs *s = ctx;
	assert_true(s->n < MAXMSG);
	snprintf(s->m[s->n].key, sizeof s->m[0].key, "%s", key);
	snprintf(s->m[s->n].hdr, sizeof s->m[0].hdr, "%s", hdr);
	s->m[s->n].val = malloc(len ? len : 1);
	assert_non_null(s->m[s->n].val);
	memcpy(s->m[s->n].val, chunk, len);
	s->m[s->n].len = len;
	s->n++;
	return 0;
}

static void msgs_free(struct msgs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].val);
	s->n = 0;
}

/* Feed messages [from, to) of s to scan. */
static void feed(struct kafka_ckpt_scan *sc, const struct msgs *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		kafka_ckpt_scan_msg(sc, s->m[i].key, strlen(s->m[i].key), s->m[i].val, s->m[i].len,
				    s->m[i].hdr);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31u + seed + (i >> 9));
	return b;
}

static void roundtrip(int per_snapshot_keys)
{
	int64_t hwm[2] = {5, 77};
	size_t len = 2 * KAFKA_CKPT_CHUNK + 1000; /* three chunks */
	uint8_t *blob = pattern(len, 3);
	struct kafka_ckpt k = {.next = 42,
			       .nalert_parts = 2,
			       .alert_hwm = hwm,
			       .blob = blob,
			       .bloblen = len,
			       .per_snapshot_keys = per_snapshot_keys};
	struct msgs s = {.n = 0};
	size_t bytes = 0;
	assert_int_equal(kafka_ckpt_encode("in", 3, &k, collect, &s, &bytes), 0);
	assert_int_equal(s.n, 3);
	assert_true(bytes > len);
	assert_int_equal(k.ref.nchunks, 3);
	assert_int_equal(k.ref.legacy, !per_snapshot_keys);
	assert_string_equal(s.m[0].key, per_snapshot_keys ? s.m[0].key : "in/3");
	if (per_snapshot_keys)
		assert_true(strncmp(s.m[2].key, "in/3/", 5) == 0);

	struct kafka_ckpt_scan *sc = kafka_ckpt_scan_new("in", 3);
	struct kafka_ckpt got;
	int found = -1;
	assert_non_null(sc);
	/* another partition's snapshot with a key that shares the prefix */
	kafka_ckpt_scan_msg(sc, "in/30", 5, s.m[0].val, s.m[0].len, s.m[0].hdr);
	feed(sc, &s, 0, 3);
	assert_int_equal(kafka_ckpt_scan_end(sc, "state/3", &got, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(got.next, 42);
	assert_int_equal(got.nalert_parts, 2);
	assert_int_equal(got.alert_hwm[0], 5);
	assert_int_equal(got.alert_hwm[1], 77);
	assert_int_equal(got.bloblen, len);
	assert_memory_equal(got.blob, blob, len);
	assert_int_equal(got.ref.sid, k.ref.sid);
	assert_int_equal(got.ref.nchunks, 3);
	assert_int_equal(got.nstale, 0);
	kafka_ckpt_free(&got);
	msgs_free(&s);
	free(blob);
}

static void test_ckpt__roundtrip(void **state)
{
	(void)state;
	roundtrip(1);
	roundtrip(0);
}

/* A newer snapshot cut short (a crash mid-write) leaves the older one in
 * force and is listed to retire; tombstones and bad headers are skipped. */
static void test_ckpt__partial_newer(void **state)
{
	(void)state;
	int64_t hwm[1] = {9};
	uint8_t *b1 = pattern(1000, 1), *b2 = pattern(KAFKA_CKPT_CHUNK + 10, 2);
	struct kafka_ckpt k1 = {.next = 10,
				.nalert_parts = 1,
				.alert_hwm = hwm,
				.blob = b1,
				.bloblen = 1000,
				.per_snapshot_keys = 1};
	struct kafka_ckpt k2 = k1;
	k2.next = 20;
	k2.blob = b2;
	k2.bloblen = KAFKA_CKPT_CHUNK + 10;
	struct msgs s1 = {.n = 0}, s2 = {.n = 0};
	size_t bytes;
	assert_int_equal(kafka_ckpt_encode("in", 3, &k1, collect, &s1, &bytes), 0);
	assert_int_equal(kafka_ckpt_encode("in", 3, &k2, collect, &s2, &bytes), 0);
	assert_int_equal(s2.n, 2);

	struct kafka_ckpt_scan *sc = kafka_ckpt_scan_new("in", 3);
	struct kafka_ckpt got;
	int found = 0;
	feed(sc, &s1, 0, 1);
	kafka_ckpt_scan_msg(sc, "in/3/x/0", 8, NULL, 0, NULL);         /* a tombstone */
	kafka_ckpt_scan_msg(sc, "in/3", 4, "junk", 4, "not-a-header"); /* counted, skipped */
	kafka_ckpt_scan_msg(sc, "in/3", 4, "junk", 4, NULL);           /* no header */
	feed(sc, &s2, 0, 1);                                           /* only the head of k2 */
	assert_int_equal(kafka_ckpt_scan_end(sc, "state/3", &got, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(got.next, 10);
	assert_int_equal(got.bloblen, 1000);
	assert_memory_equal(got.blob, b1, 1000);
	assert_int_equal(got.nstale, 1);
	assert_int_equal(got.stale[0].sid, k2.ref.sid);
	kafka_ckpt_free(&got);
	msgs_free(&s1);
	msgs_free(&s2);
	free(b1);
	free(b2);
}

/* A complete snapshot whose bytes are not a checkpoint is not found. */
static void test_ckpt__corrupt(void **state)
{
	(void)state;
	int64_t hwm[1] = {1};
	uint8_t blob[16] = {0};
	struct kafka_ckpt k = {.next = 1, .nalert_parts = 1, .alert_hwm = hwm, .blob = blob, .bloblen = 16};
	struct msgs s = {.n = 0};
	size_t bytes;
	assert_int_equal(kafka_ckpt_encode("in", 3, &k, collect, &s, &bytes), 0);
	s.m[0].val[0] ^= 0xff; /* the magic */
	struct kafka_ckpt_scan *sc = kafka_ckpt_scan_new("in", 3);
	struct kafka_ckpt got;
	int found = 1;
	feed(sc, &s, 0, 1);
	assert_int_equal(kafka_ckpt_scan_end(sc, "state/3", &got, &found), 0);
	assert_int_equal(found, 0);
	assert_null(got.blob);
	kafka_ckpt_free(&got);
	/* a blob length that does not match the bytes */
	s.m[0].val[0] ^= 0xff;
	s.m[0].len -= 1;
	sc = kafka_ckpt_scan_new("in", 3);
	feed(sc, &s, 0, 1);
	assert_int_equal(kafka_ckpt_scan_end(sc, "state/3", &got, &found), 0);
	assert_int_equal(found, 0);
	kafka_ckpt_free(&got);
	msgs_free(&s);
}

int main(void)
{
	log_level = LOG_LEVEL_ERR - 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckpt__roundtrip),
		cmocka_unit_test(test_ckpt__partial_newer),
		cmocka_unit_test(test_ckpt__corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
