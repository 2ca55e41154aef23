/* See gateway_log.h. */
#include "sinks/gateway_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file_reserve.h"
#include "core/hash.h"
#include "core/htab.h"
#include "core/log.h"
#include "core/vigil.h"

static const char comp[] = "gateway";

#define WBUF_FLUSH 4096 /* the write buffer goes to the file beyond this (as stdio's did) */

struct gwlog {
	pthread_mutex_t mu;
	int fd;        /* O_APPEND */
	struct buf wb; /* records not written yet (whole lines) */
	int need_nl;   /* a failed write left part of a line: the next write starts a new one */
	int failed;    /* a write failed since the last sync */
	int err;       /* its errno */
	char path[4096];
	uint64_t next_group;    /* the last group id handed out (under mu) */
	uint64_t poison_upto;   /* groups up to this id may have lost records: no end record for them */
	struct file_reserve rs; /* disk space held past the end (want 0 for the compaction writer) */
};

/* The group open on this thread (gwlog_begin/gwlog_end): its records carry
 * "g" and count only once the group's end record is read back. */
static _Thread_local const struct gwlog *tl_log;
static _Thread_local uint64_t tl_group;
static _Thread_local unsigned tl_depth;
static _Thread_local size_t tl_records;

/* ---- replay ---- */

#define KEEP_CLOSED 4096 /* closed episodes kept through a compaction (the gateway's recent memory) */

struct rec {
	int op; /* 0 open, 1 send, 2 closed, 3 put (dest = namespace, fp = key, json = value) */
	int live;
	uint64_t key; /* ep for open, seq for send */
	uint64_t fp;
	double started, at;
	int64_t start_pos;
	char *dest, *json;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	struct htab idx; /* live records by (op, key) */
};

static uint64_t rec_key(int op, uint64_t key)
{
	return hash_mix(key ^ ((uint64_t)op << 63));
}

static uint64_t rec_hash(const void *ctx, uint32_t id)
{
	const struct recs *r = ctx;
	return rec_key(r->v[id].op, r->v[id].key);
}

struct rec_probe {
	int op;
	uint64_t key;
};

static int rec_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct recs *r = ctx;
	const struct rec_probe *p = key;
	return r->v[id].op == p->op && r->v[id].key == p->key;
}

static struct rec *rec_find(struct recs *r, int op, uint64_t key)
{
	struct rec_probe p = {op, key};
	uint32_t id = htab_find(&r->idx, rec_key(op, key), rec_eq, rec_hash, r, &p);
	return id == HTAB_NONE ? NULL : &r->v[id];
}

static int rec_add(struct recs *r, const struct rec *x)
{
	if (vec_reserve((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v) != 0)
		return -1;
	r->v[r->n] = *x;
	if (htab_insert(&r->idx, rec_key(x->op, x->key), (uint32_t)r->n, rec_hash, r) != 0)
		return -1;
	r->n++;
	return 0;
}

static void rec_kill(struct recs *r, struct rec *x)
{
	htab_remove(&r->idx, rec_key(x->op, x->key), (uint32_t)(x - r->v), rec_hash, r);
	x->live = 0;
	free(x->dest);
	free(x->json);
	x->dest = x->json = NULL;
}

static uint64_t hex_u64(const char *s)
{
	return s ? strtoull(s, NULL, 16) : 0;
}

static uint64_t put_key(const char *ns, uint64_t key)
{
	return hash_mix(hash_str(HASH_SEED, ns) ^ key);
}

/* Apply one record (j borrowed); -1 if it cannot be read. */
static int apply(struct recs *r, json_t *j, const struct gwlog_replay *rp, uint64_t *max_seq)
{
	const char *op = json_string_value(json_object_get(j, "op"));
	int rc = 0;
	if (op && strcmp(op, "open") == 0) {
		struct rec x = {.op = 0, .live = 1};
		x.key = hex_u64(json_string_value(json_object_get(j, "ep")));
		x.fp = hex_u64(json_string_value(json_object_get(j, "fp")));
		x.started = json_number_value(json_object_get(j, "started"));
		x.start_pos = json_integer_value(json_object_get(j, "start_pos"));
		if (x.key == 0 || rec_find(r, 0, x.key) || rec_add(r, &x) != 0)
			rc = x.key == 0 ? -1 : 0;
	} else if (op && strcmp(op, "close") == 0) {
		uint64_t ep = hex_u64(json_string_value(json_object_get(j, "ep")));
		uint64_t fp = hex_u64(json_string_value(json_object_get(j, "fp")));
		struct rec *x = rec_find(r, 0, ep);
		if (x)
			rec_kill(r, x);
		struct rec c = {.op = 2, .live = 1, .key = ep, .fp = fp};
		if (ep && !rec_find(r, 2, ep) && rec_add(r, &c) != 0)
			rc = -1;
		if (rp->closed_ep)
			rp->closed_ep(rp->ctx, ep, fp);
	} else if (op && strcmp(op, "send") == 0) {
		struct rec x = {.op = 1, .live = 1};
		json_t *js = json_object_get(j, "seq");
		const char *dest = json_string_value(json_object_get(j, "dest"));
		const char *body = json_string_value(json_object_get(j, "json"));
		if (!json_is_integer(js) || dest == NULL || body == NULL) {
			rc = -1;
		} else {
			x.key = (uint64_t)json_integer_value(js);
			x.at = json_number_value(json_object_get(j, "at"));
			x.dest = strdup(dest);
			x.json = strdup(body);
			if (x.key > *max_seq)
				*max_seq = x.key;
			if (x.dest == NULL || x.json == NULL || rec_add(r, &x) != 0) {
				free(x.dest);
				free(x.json);
				rc = -1;
			}
		}
	} else if (op && strcmp(op, "put") == 0) {
		const char *ns = json_string_value(json_object_get(j, "ns"));
		const char *k = json_string_value(json_object_get(j, "key"));
		json_t *v = json_object_get(j, "v");
		if (!ns || !k || !v) {
			rc = -1;
		} else {
			struct rec x = {.op = 3, .live = 1, .fp = hex_u64(k)};
			x.key = put_key(ns, x.fp);
			struct rec *old = rec_find(r, 3, x.key);
			if (old)
				rec_kill(r, old);
			if (!json_is_null(v)) {
				x.dest = strdup(ns);
				x.json = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));
				if (x.dest == NULL || x.json == NULL || rec_add(r, &x) != 0) {
					free(x.dest);
					free(x.json);
					rc = -1;
				}
			}
		}
	} else if (op && strcmp(op, "done") == 0) {
		json_t *js = json_object_get(j, "seq");
		struct rec *x = json_is_integer(js) ? rec_find(r, 1, (uint64_t)json_integer_value(js)) : NULL;
		if (x)
			rec_kill(r, x);
	} else {
		rc = -1;
	}
	return rc;
}

/* Records read but not applied yet, in log order: once a group's record is
 * read, everything after it waits until that group's end record arrives, so
 * a record written outside the group (a delivery's "done") still applies
 * after the group's "send" it refers to. */
struct held {
	struct held_rec {
		json_t *j;
		json_int_t g; /* its group, or -1 */
		int ready;    /* outside any group, or its group ended */
	} * v;
	size_t n, cap;
	uint64_t max_group; /* the highest group id read (appending after it must not reuse one) */
};

/* Apply the ready records at the head of h; 1 per record that could not be read. */
static uint64_t held_drain(struct recs *r, struct held *h, const struct gwlog_replay *rp, uint64_t *max_seq)
{
	uint64_t bad = 0;
	size_t i = 0;
	for (; i < h->n && h->v[i].ready; i++) {
		bad += apply(r, h->v[i].j, rp, max_seq) != 0;
		json_decref(h->v[i].j);
	}
	if (i > 0) {
		memmove(h->v, h->v + i, (h->n - i) * sizeof *h->v);
		h->n -= i;
	}
	return bad;
}

/* Read one line (see struct held). Returns the lines that could not be read. */
static uint64_t replay_line(struct recs *r, struct held *h, const char *line, const struct gwlog_replay *rp,
			    uint64_t *max_seq)
{
	json_error_t je;
	json_t *j = json_loads(line, 0, &je);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return 1;
	}
	json_t *g = json_object_get(j, "g");
	const char *op = json_string_value(json_object_get(j, "op"));
	if (json_is_integer(g) && json_integer_value(g) > 0 && (uint64_t)json_integer_value(g) > h->max_group)
		h->max_group = (uint64_t)json_integer_value(g);
	if (json_is_integer(g) && op && strcmp(op, "end") == 0) {
		for (size_t i = 0; i < h->n; i++)
			if (h->v[i].g == json_integer_value(g))
				h->v[i].ready = 1;
		json_decref(j);
		return held_drain(r, h, rp, max_seq);
	}
	if (!json_is_integer(g) && h->n == 0) {
		uint64_t bad = apply(r, j, rp, max_seq) != 0;
		json_decref(j);
		return bad;
	}
	if (vec_reserve((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v) != 0) {
		json_decref(j);
		return 1;
	}
	h->v[h->n++] =
		(struct held_rec){j, json_is_integer(g) ? json_integer_value(g) : -1, !json_is_integer(g)};
	return 0;
}

/* At the end of the log: a group without its end record is a crash while one
 * decision was being written; none of it counts (the input read again
 * decides it again), what came after it outside the group still does. */
static uint64_t held_finish(struct recs *r, struct held *h, const char *path, const struct gwlog_replay *rp,
			    uint64_t *max_seq)
{
	size_t dropped = 0, keep = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (h->v[i].ready) {
			h->v[keep++] = h->v[i];
		} else {
			json_decref(h->v[i].j);
			dropped++;
		}
	}
	h->n = keep;
	if (dropped > 0)
		LOG_WARN(comp, "event=log_group_unfinished path=%s records=%zu (dropped: decided again)",
			 path, dropped);
	uint64_t bad = held_drain(r, h, rp, max_seq) + dropped;
	free(h->v);
	return bad;
}

/* ---- writing ---- */

/* Write the buffer to the file. 0, or -1 when the file refused some of it
 * (disk full...): the rest is dropped (l->failed, every group open now gets
 * no end record, see poison_upto), and when what did reach the file ends in
 * part of a line, the next write starts with a newline. (under mu) */
static int wbuf_flush(struct gwlog *l)
{
	size_t off = 0;
	int e = 0;
	if (l->wb.len == 0)
		return 0;
	if (l->need_nl) {
		ssize_t n;
		while ((n = write(l->fd, "\n", 1)) < 0 && errno == EINTR)
			;
		if (n == 1) {
			l->need_nl = 0;
			file_reserve_advance(&l->rs, 1);
		} else {
			e = n < 0 ? errno : EIO;
		}
	}
	while (e == 0 && off < l->wb.len) {
		ssize_t n = write(l->fd, l->wb.data + off, l->wb.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			e = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	if (e == 0) {
		buf_reset(&l->wb);
		return 0;
	}
	if (off > 0 && l->wb.data[off - 1] != '\n')
		l->need_nl = 1;
	l->rs.end -= (int64_t)(l->wb.len - off); /* not in the file after all */
	buf_reset(&l->wb);
	l->failed = 1;
	l->err = e;
	l->poison_upto = l->next_group;
	return -1;
}

static void put_line(struct gwlog *l, json_t *j)
{
	if (j == NULL) {
		l->failed = 1;
		l->err = ENOMEM;
		l->poison_upto = l->next_group;
		return;
	}
	if (tl_log == l && tl_depth > 0) {
		json_object_set_new(j, "g", json_integer((json_int_t)tl_group));
		tl_records++;
	}
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	size_t n = s ? strlen(s) : 0, before = l->wb.len;
	int ok = s != NULL;
	if (ok) {
		buf_put(&l->wb, s, n);
		buf_put(&l->wb, "\n", 1);
		ok = buf_ok(&l->wb);
	}
	free(s);
	if (!ok) { /* out of memory: the record is lost, whole */
		l->wb.failed = 0;
		l->wb.len = before;
		l->failed = 1;
		l->err = ENOMEM;
		l->poison_upto = l->next_group;
		return;
	}
	file_reserve_advance(&l->rs, n + 1);
	if (l->wb.len >= WBUF_FLUSH)
		wbuf_flush(l);
}

static json_t *open_json(uint64_t ep, uint64_t fp, double started, int64_t start_pos)
{
	char e[17], f[17];
	hash_hex(ep, e);
	hash_hex(fp, f);
	return json_pack("{s:s, s:s, s:s, s:f, s:I}", "op", "open", "ep", e, "fp", f, "started", started,
			 "start_pos", (json_int_t)start_pos);
}

static json_t *close_json(uint64_t ep, uint64_t fp)
{
	char e[17], f[17];
	hash_hex(ep, e);
	hash_hex(fp, f);
	return json_pack("{s:s, s:s, s:s}", "op", "close", "ep", e, "fp", f);
}

static json_t *send_json(uint64_t seq, const char *dest, const char *json, double at)
{
	return json_pack("{s:s, s:I, s:s, s:f, s:s}", "op", "send", "seq", (json_int_t)seq, "dest", dest,
			 "at", at, "json", json);
}

static json_t *put_json(const char *ns, uint64_t key, const char *vtext, json_t *v)
{
	char k[17];
	json_error_t je;
	hash_hex(key, k);
	if (vtext && (v = json_loads(vtext, 0, &je)) == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:o}", "op", "put", "ns", ns, "key", k, "v", v ? v : json_null());
}

#define COMPACT_SKIPPED 1 /* compact(): the old log stays as it is */

/* compact() could not write the temp file (errno e): with an old log to
 * keep, COMPACT_SKIPPED (why: what, the file, the error); without one,
 * -VIGIL_EIO (err: the temp file's path and the error). */
static int compact_fail(int have_old, const char *tmp, const char *what, int e, char *why, size_t whylen,
			char *err, size_t errlen)
{
	if (have_old) {
		snprintf(why, whylen, "%s (gateway.log.tmp): %s", what, strerror(e));
		return COMPACT_SKIPPED;
	}
	snprintf(err, errlen, "%s: %s", tmp, strerror(e));
	return -VIGIL_EIO;
}

/* Rewrite the log with the live records only: a temp file, its reserve,
 * fdatasync, rename. When the disk has no room for the compacted file plus
 * its reserve and there is an old log to keep, the old log stays as it is
 * (COMPACT_SKIPPED, why says so): its own reserve, allocated past its end
 * by the previous process, is still there to append into. "Room for the
 * reserve" is the whole reserve, or at least what the old log holds past
 * its end (compacting then costs no durability). Without an old log the
 * compacted file (empty) is used whatever its reserve. Returns 0,
 * COMPACT_SKIPPED or -VIGIL_EIO (err names the file). */
static int compact(struct gwlog *l, struct recs *r, int64_t reserve, char *why, size_t whylen, char *err,
		   size_t errlen)
{
	char tmp[4200];
	struct stat old, st;
	int have_old = stat(l->path, &old) == 0;
	int64_t old_left = have_old && (int64_t)old.st_blocks * 512 > (int64_t)old.st_size
				   ? (int64_t)old.st_blocks * 512 - (int64_t)old.st_size
				   : 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", l->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return compact_fail(have_old, tmp, "cannot create the compacted log", errno, why, whylen, err,
				    errlen);
	struct gwlog w = {.fd = fd};
	size_t closed = 0, skip;
	for (size_t i = 0; i < r->n; i++)
		closed += r->v[i].live && r->v[i].op == 2;
	skip = closed > KEEP_CLOSED ? closed - KEEP_CLOSED : 0; /* the oldest go */
	for (size_t i = 0; i < r->n; i++) {
		const struct rec *x = &r->v[i];
		if (!x->live)
			continue;
		if (x->op == 2) {
			if (skip) {
				skip--;
				continue;
			}
			put_line(&w, close_json(x->key, x->fp));
		} else {
			put_line(&w, x->op == 0   ? open_json(x->key, x->fp, x->started, x->start_pos)
				     : x->op == 1 ? send_json(x->key, x->dest, x->json, x->at)
						  : put_json(x->dest, x->fp, x->json, NULL));
		}
	}
	int e = 0;
	wbuf_flush(&w);
	buf_free(&w.wb);
	if (w.failed)
		e = w.err;
	else if (fstat(fd, &st) != 0)
		e = errno;
	else if (reserve > 0) {
		/* the reserve before the rename: a compacted log must not start
		 * with less room than the old one has */
		int pr = file_preallocate(fd, (int64_t)st.st_size, reserve);
		if (pr != 0 && pr != -EOPNOTSUPP && have_old && old_left > 0 &&
		    (old_left >= reserve || file_preallocate(fd, (int64_t)st.st_size, old_left) != 0)) {
			snprintf(why, whylen,
				 "no room for the compacted log (%lld bytes) and its reserve (%lld bytes): "
				 "%s; "
				 "the log keeps %lld bytes reserved past its end",
				 (long long)st.st_size, (long long)reserve, strerror(-pr),
				 (long long)old_left);
			close(fd);
			unlink(tmp);
			return COMPACT_SKIPPED;
		}
	}
	if (e == 0 && fdatasync(fd) != 0)
		e = errno;
	if (e != 0) {
		close(fd);
		unlink(tmp);
		return compact_fail(have_old, tmp, "no room for the compacted log", e, why, whylen, err,
				    errlen);
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -VIGIL_EIO;
	}
	if (rename(tmp, l->path) != 0) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(errno));
		unlink(tmp);
		return -VIGIL_EIO;
	}
	return 0;
}

/* The log opened for appending, with its reserve. After a skipped
 * compaction the old log may end in a torn line (a crash in mid-write):
 * a newline first, so the next record starts a line of its own. */
static int open_append(struct gwlog *l, int64_t reserve, int compacted, char *err, size_t errlen)
{
	struct stat st;
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (l->fd < 0 || fstat(l->fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		return -VIGIL_EIO;
	}
	int64_t end = (int64_t)st.st_size;
	char last = '\n';
	if (!compacted && end > 0 && pread(l->fd, &last, 1, (off_t)(end - 1)) == 1 && last != '\n')
		l->need_nl = 1;
	file_reserve_init(&l->rs, l->fd, l->path, reserve, end);
	if (file_reserve_refresh(&l->rs, 1) != 0 && !l->rs.unsupported && file_reserve_left(&l->rs) == 0)
		LOG_WARN(comp,
			 "event=log_durability_off path=%s reason=\"no disk space for the log's reserve\" "
			 "(notifications are still delivered; what the disk cannot take is not recorded and "
			 "may be sent again after a restart)",
			 l->path);
	return 0;
}

int gwlog_open(const char *dir, int64_t reserve, const struct gwlog_replay *rp, struct gwlog **out,
	       uint64_t *next_seq, uint64_t *skipped, char *err, size_t errlen)
{
	struct gwlog *l = calloc(1, sizeof *l);
	struct recs r = {0};
	struct held held = {0};
	uint64_t max_seq = 0;
	char *line = NULL;
	size_t cap = 0;
	int rc = -VIGIL_EIO;

	*out = NULL;
	*skipped = 0;
	if (l == NULL)
		return -VIGIL_ENOMEM;
	pthread_mutex_init(&l->mu, NULL);
	htab_init(&r.idx);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "gateway state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(l->path, sizeof l->path, "%s/gateway.log", dir);
	FILE *in = fopen(l->path, "r");
	if (in == NULL && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(errno));
		goto out;
	}
	for (ssize_t n; in && (n = getline(&line, &cap, in)) >= 0;) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (line[0])
			*skipped += replay_line(&r, &held, line, rp, &max_seq);
	}
	if (in)
		fclose(in);
	*skipped += held_finish(&r, &held, l->path, rp, &max_seq);
	l->next_group = held.max_group; /* appended groups after the old ones when compaction is skipped */
	char why[1024] = "";
	int compacted = (rc = compact(l, &r, reserve, why, sizeof why, err, errlen)) == 0;
	if (rc < 0)
		goto out;
	if (!compacted)
		LOG_WARN(comp,
			 "event=log_compaction_skipped path=%s reason=\"%s\" (appending to the log as it is)",
			 l->path, why);
	for (size_t i = 0; i < r.n; i++) {
		const struct rec *x = &r.v[i];
		if (x->live && x->op == 0 && rp->open_ep)
			rp->open_ep(rp->ctx, x->key, x->fp, x->started, x->start_pos);
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct rec *x = &r.v[i];
		json_error_t je;
		json_t *v = x->live && x->op == 3 && rp->put ? json_loads(x->json, 0, &je) : NULL;
		if (v)
			rp->put(rp->ctx, x->dest, x->fp, v);
		json_decref(v);
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct rec *x = &r.v[i];
		if (x->live && x->op == 1 && rp->pending)
			rp->pending(rp->ctx, x->key, x->dest, x->json, x->at);
	}
	if ((rc = open_append(l, reserve, compacted, err, errlen)) != 0)
		goto out;
	*next_seq = max_seq + 1;
	*out = l;
	rc = 0;
out:
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].live) {
			free(r.v[i].dest);
			free(r.v[i].json);
		}
	free(r.v);
	htab_fini(&r.idx);
	free(line);
	if (rc != 0) {
		pthread_mutex_destroy(&l->mu);
		free(l);
	}
	return rc;
}

void gwlog_open_ep(struct gwlog *l, uint64_t ep, uint64_t fp, double started, int64_t start_pos)
{
	pthread_mutex_lock(&l->mu);
	put_line(l, open_json(ep, fp, started, start_pos));
	pthread_mutex_unlock(&l->mu);
}

void gwlog_close_ep(struct gwlog *l, uint64_t ep, uint64_t fp)
{
	pthread_mutex_lock(&l->mu);
	put_line(l, close_json(ep, fp));
	pthread_mutex_unlock(&l->mu);
}

void gwlog_send(struct gwlog *l, uint64_t seq, const char *dest_id, const char *json, double decided_at)
{
	pthread_mutex_lock(&l->mu);
	put_line(l, send_json(seq, dest_id, json, decided_at));
	pthread_mutex_unlock(&l->mu);
}

void gwlog_put(struct gwlog *l, const char *ns, uint64_t key, json_t *v)
{
	pthread_mutex_lock(&l->mu);
	put_line(l, put_json(ns, key, NULL, v ? json_incref(v) : NULL));
	pthread_mutex_unlock(&l->mu);
}

void gwlog_done(struct gwlog *l, uint64_t seq, int dead)
{
	pthread_mutex_lock(&l->mu);
	put_line(l, json_pack("{s:s, s:I, s:i}", "op", "done", "seq", (json_int_t)seq, "dead", dead));
	pthread_mutex_unlock(&l->mu);
}

void gwlog_begin(struct gwlog *l)
{
	if (tl_depth++ > 0 && tl_log == l)
		return;
	pthread_mutex_lock(&l->mu);
	tl_group = ++l->next_group;
	pthread_mutex_unlock(&l->mu);
	tl_log = l;
	tl_records = 0;
}

void gwlog_end(struct gwlog *l)
{
	if (tl_depth == 0 || --tl_depth > 0 || tl_log != l)
		return;
	if (tl_records > 0) {
		tl_depth = 0; /* the end record itself is outside the group */
		pthread_mutex_lock(&l->mu);
		/* a write failed while the group was open: some of its records may
		 * be missing, so it must not count (decided again after a restart) */
		if (tl_group > l->poison_upto)
			put_line(l, json_pack("{s:s, s:I}", "op", "end", "g", (json_int_t)tl_group));
		pthread_mutex_unlock(&l->mu);
	}
	tl_log = NULL;
	tl_records = 0;
}

int gwlog_sync(struct gwlog *l)
{
	int rc = 0;
	pthread_mutex_lock(&l->mu);
	if (wbuf_flush(l) == 0 && fdatasync(l->fd) != 0) { /* what was written may not be on disk */
		if (!l->failed)
			l->err = errno;
		l->failed = 1;
		l->poison_upto = l->next_group;
	}
	if (l->failed) {
		LOG_ERR(comp, "event=log_write_failed path=%s err=\"%s\" reserve_bytes=%" PRId64, l->path,
			strerror(l->err), file_reserve_left(&l->rs));
		rc = -VIGIL_EIO;
	}
	l->failed = 0;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void gwlog_reserve_stats(struct gwlog *l, int64_t *left, uint64_t *failures)
{
	pthread_mutex_lock(&l->mu);
	*left = file_reserve_left(&l->rs);
	*failures = l->rs.failures;
	pthread_mutex_unlock(&l->mu);
}

void gwlog_close(struct gwlog *l)
{
	if (l == NULL)
		return;
	gwlog_sync(l);
	close(l->fd);
	buf_free(&l->wb);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
