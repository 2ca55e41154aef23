/* Tests for the disk reserve of the gateway's write-ahead log
 * (sinks/gateway_log.c with core/file_reserve.c) on a real full disk: a
 * small tmpfs mounted for each test and filled to the last byte (needs
 * root, CAP_SYS_ADMIN; skipped with a message otherwise). Checked: records
 * written while the disk is full land in the reserve and survive a restart;
 * a restart on the full disk keeps the old log (compaction skipped) and
 * appends to it; once space is back the log is compacted again; the first
 * start on a full disk opens without durability; a write that fails drops
 * its whole group and the next record still starts a line. One test runs on
 * /tmp without root: the reserve is refreshed while it is consumed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "sinks/gateway_log.h"

#define KIB 1024

struct fs {
	char dir[64];   /* mkdtemp'd; the tmpfs is mounted on it */
	char state[96]; /* dir/state: the log's directory */
	char filler[96];
	int mounted;
};

/* The notifications the replay hands back as unfinished, by seq. */
struct pend {
	uint64_t seq[512];
	size_t n;
};

static void on_pending(void *ctx, uint64_t seq, const char *dest, const char *json, double at)
{
	struct pend *p = ctx;
	(void)dest;
	(void)json;
	(void)at;
	if (p->n < sizeof p->seq / sizeof p->seq[0])
		p->seq[p->n++] = seq;
}

static struct gwlog *open_log(const char *dir, int64_t reserve, struct pend *p, uint64_t *skipped)
{
	struct gwlog_replay rp = {.ctx = p, .pending = on_pending};
	struct gwlog *l = NULL;
	uint64_t next = 0, sk = 0;
	char err[512];
	memset(p, 0, sizeof *p);
	int rc = gwlog_open(dir, reserve, &rp, &l, &next, &sk, err, sizeof err);
	if (rc != 0)
		print_error("gwlog_open: %s\n", err);
	assert_int_equal(rc, 0);
	if (skipped)
		*skipped = sk;
	return l;
}

/* A notification of about 1 KiB. */
static void send_one(struct gwlog *l, uint64_t seq)
{
	char json[1100];
	memset(json, 0, sizeof json);
	snprintf(json, sizeof json, "{\"n\":%llu,\"pad\":\"", (unsigned long long)seq);
	size_t n = strlen(json);
	memset(json + n, 'x', 1000);
	strcpy(json + n + 1000, "\"}");
	gwlog_send(l, seq, "owner#0", json, 1.0);
}

static int64_t reserve_left(struct gwlog *l)
{
	int64_t left;
	uint64_t short_n;
	gwlog_reserve_stats(l, &left, &short_n);
	return left;
}

static uint64_t reserve_short(struct gwlog *l)
{
	int64_t left;
	uint64_t short_n;
	gwlog_reserve_stats(l, &left, &short_n);
	return short_n;
}

static ino_t log_inode(const struct fs *f)
{
	char p[128];
	struct stat st;
	snprintf(p, sizeof p, "%s/gateway.log", f->state);
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

/* Fill the filesystem to the last byte. */
static void fill(struct fs *f)
{
	static char buf[4096];
	FILE *o = fopen(f->filler, "w");
	assert_non_null(o);
	setvbuf(o, NULL, _IONBF, 0);
	while (fwrite(buf, 1, sizeof buf, o) == sizeof buf)
		;
	fclose(o);
	o = fopen(f->filler, "a"); /* the last partial page */
	assert_non_null(o);
	setvbuf(o, NULL, _IONBF, 0);
	while (fwrite(buf, 1, 1, o) == 1)
		;
	fclose(o);
	FILE *t = fopen(f->filler, "a");
	assert_non_null(t);
	setvbuf(t, NULL, _IONBF, 0);
	assert_int_equal(fwrite(buf, 1, 1, t), 0); /* really full */
	fclose(t);
}

static int fs_setup(void **state)
{
	static struct fs f;
	memset(&f, 0, sizeof f);
	snprintf(f.dir, sizeof f.dir, "/tmp/vigil_test_reserve_XXXXXX");
	if (mkdtemp(f.dir) == NULL)
		return -1;
	snprintf(f.state, sizeof f.state, "%s/state", f.dir);
	snprintf(f.filler, sizeof f.filler, "%s/filler", f.dir);
	if (mount("tmpfs", f.dir, "tmpfs", 0, "size=2m") == 0)
		f.mounted = 1;
	else
		fprintf(stderr,
			"test_gateway_log_reserve: cannot mount a tmpfs on %s (%s): needs root; the "
			"full-disk tests are skipped\n",
			f.dir, strerror(errno));
	*state = &f;
	return 0;
}

static int fs_teardown(void **state)
{
	struct fs *f = *state;
	if (f->mounted && umount2(f->dir, MNT_DETACH) != 0)
		return -1;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir); /* the files when it was not mounted */
	return system(cmd) == 0 ? 0 : -1;
}

/* The realistic case: the state is created with space, then the disk fills
 * up, then the gateway decides and sends. */
static void test_full_disk_writes_into_reserve(void **state)
{
	struct fs *f = *state;
	struct pend p;
	uint64_t skipped;
	if (!f->mounted)
		skip();
	struct gwlog *l = open_log(f->state, 512 * KIB, &p, NULL);
	assert_true(reserve_left(l) >= 512 * KIB);
	gwlog_close(l);

	fill(f);
	l = open_log(f->state, 512 * KIB, &p, NULL); /* compaction skipped: no room */
	ino_t ino = log_inode(f);
	assert_true(reserve_left(l) >= 512 * KIB); /* what the first run left allocated */
	for (uint64_t s = 1; s <= 300; s++) {      /* ~310 KiB: past half the reserve */
		gwlog_begin(l);
		send_one(l, s);
		gwlog_end(l);
	}
	assert_int_equal(gwlog_sync(l), 0); /* durable although the disk is full */
	assert_true(reserve_short(l) >= 1); /* the refresh could not top it up: counted */
	assert_true(reserve_left(l) > 0 && reserve_left(l) < 256 * KIB);
	gwlog_close(l);

	/* a restart on the still full disk: every send is back, the old log kept */
	l = open_log(f->state, 512 * KIB, &p, &skipped);
	assert_int_equal(p.n, 300);
	assert_int_equal(skipped, 0);
	assert_int_equal(log_inode(f), ino);
	for (uint64_t s = 1; s <= 300; s++)
		gwlog_done(l, s, 0);
	assert_int_equal(gwlog_sync(l), 0);
	gwlog_close(l);

	/* space again: compacted (a new file), nothing pending, a full reserve */
	assert_int_equal(unlink(f->filler), 0);
	l = open_log(f->state, 512 * KIB, &p, &skipped);
	assert_int_equal(p.n, 0);
	assert_int_equal(skipped, 0);
	assert_true(log_inode(f) != ino);
	assert_true(reserve_left(l) >= 512 * KIB);
	gwlog_close(l);
}

/* Full from the very first start: no reserve possible; the log opens
 * (delivery goes on without durability) and every flush fails. */
static void test_full_from_first_start(void **state)
{
	struct fs *f = *state;
	struct pend p;
	if (!f->mounted)
		skip();
	assert_int_equal(mkdir(f->state, 0755), 0);
	fill(f);
	struct gwlog *l = open_log(f->state, 512 * KIB, &p, NULL);
	assert_int_equal(reserve_left(l), 0);
	assert_true(reserve_short(l) >= 1);
	for (uint64_t s = 1; s <= 8; s++)
		send_one(l, s);
	assert_int_not_equal(gwlog_sync(l), 0);
	gwlog_close(l);
}

/* A write that fails inside a group: what reached the disk of that group
 * must not count after a restart, and the record after the failure must
 * not be glued to the torn line. */
static void test_failed_write_drops_group(void **state)
{
	struct fs *f = *state;
	struct pend p;
	uint64_t skipped;
	if (!f->mounted)
		skip();
	struct gwlog *l = open_log(f->state, 8 * KIB, &p, NULL);
	gwlog_close(l);
	fill(f);
	l = open_log(f->state, 8 * KIB, &p, NULL);
	gwlog_begin(l); /* ~20 KiB in one group: the first 8 KiB fit */
	for (uint64_t s = 1; s <= 20; s++)
		send_one(l, s);
	assert_int_not_equal(gwlog_sync(l), 0);
	gwlog_end(l);
	assert_int_equal(unlink(f->filler), 0);
	gwlog_begin(l);
	send_one(l, 100);
	gwlog_end(l);
	assert_int_equal(gwlog_sync(l), 0);
	gwlog_close(l);

	l = open_log(f->state, 8 * KIB, &p, &skipped);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.seq[0], 100);
	assert_true(skipped >= 1); /* the torn line, the group's records */
	gwlog_close(l);
}

/* With room (no root needed: /tmp): the reserve is topped up as it is
 * consumed, and 0 means none. */
static void test_reserve_refreshed(void **state)
{
	char dir[64], cmd[96];
	struct pend p;
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vigil_test_reserve_XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct gwlog *l = open_log(dir, 64 * KIB, &p, NULL);
	assert_true(reserve_left(l) >= 64 * KIB);
	for (uint64_t s = 1; s <= 200; s++) { /* ~200 KiB: three times the reserve */
		send_one(l, s);
		assert_true(reserve_left(l) >= 32 * KIB);
	}
	assert_int_equal(gwlog_sync(l), 0);
	assert_int_equal(reserve_short(l), 0);
	gwlog_close(l);
	l = open_log(dir, -1, &p, NULL);
	assert_int_equal(p.n, 200);
	assert_int_equal(reserve_short(l), 0);
	gwlog_close(l);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	log_level = LOG_LEVEL_ERR;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_disk_writes_into_reserve, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_full_from_first_start, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_drops_group, fs_setup, fs_teardown),
		cmocka_unit_test(test_reserve_refreshed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
