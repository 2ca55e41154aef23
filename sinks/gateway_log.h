/* The gateway's write-ahead log (single-process mode): one JSON object per
 * line in STATE_DIR/gateway.log:
 *   {"op":"open","ep":"<16 hex>","fp":"<16 hex>","started":S,"start_pos":P}
 *   {"op":"close","ep":"<16 hex>","fp":"<16 hex>"}
 *   {"op":"send","seq":N,"dest":"owner#k","at":T,"json":"<notification>"}
 *   {"op":"done","seq":N,"dead":0|1}
 *   {"op":"put","ns":"g","key":"<16 hex>","v":{...}|null}  keyed state of the
 *     on-call policy (groups "g", escalations "e", silences "s", budgets
 *     "b"); the newest value per (ns, key) wins, null deletes
 * Opening replays the log: the episodes still open, the closed ones (as
 * recent transitions) and every "send" without its "done" are handed to the
 * caller, then the log is rewritten with just that (the newest 4,096 closed
 * episodes, the open ones, the unfinished sends; temp file, fsync, rename). A torn last line (a crash in
 * mid-write) is skipped and counted. Appends are buffered (whole records,
 * written once 4 KiB are waiting); gwlog_sync() writes the rest and makes
 * them durable (fdatasync).
 * Groups: the records one thread writes between gwlog_begin() and gwlog_end()
 * (one decision: an episode's open record and its sends, an escalation step
 * and its page) carry "g":N and are followed by {"op":"end","g":N}; reading
 * back applies a group only when its end record is there, so a crash in the
 * middle of a decision leaves none of it (the input read again decides it
 * again) instead of an open episode whose notification is missing. Records
 * written outside a group (deliveries done, API changes) apply alone.
 *
 * Disk space (core/file_reserve.h): the log keeps a reserve of `reserve`
 * bytes allocated past its end (fallocate, KEEP_SIZE), refreshed once half
 * of it is used, so a disk that fills up while the gateway runs costs no
 * durability until the reserve is used up. Contracts:
 *  - A refresh that cannot get the whole reserve takes what it can, is
 *    counted (gwlog_reserve_stats) and warned about at most once a minute
 *    (event=log_reserve_short); appends go on into what is left.
 *  - Open: the compacted temp file gets its reserve before the rename. If
 *    the disk has no room for the compacted file plus its reserve (or at
 *    least as much as the old log still holds past its end), compaction is
 *    skipped (event=log_compaction_skipped with the reason): the old log is
 *    kept and appended to, into the reserve its previous process left
 *    allocated. The old log is never removed before its replacement is
 *    durable.
 *  - No room at all at the first start (no log yet, no reserve possible):
 *    event=log_durability_off at open; writes fail as the disk refuses them
 *    (event=log_write_failed, gwlog_sync returns an error): the gateway
 *    delivers without durability, and what was not recorded may be sent
 *    again after a restart.
 *  - A failed write: stdio drops what it buffered, so every group open at
 *    that moment gets no end record (none of it counts after a restart: it
 *    is decided again), and the next record starts on a new line.
 *  - Filesystems without fallocate: one warning, no reserve, as before.
 * @thread every call may come from any thread (one mutex). */
#ifndef SINKS_GATEWAY_LOG_H
#define SINKS_GATEWAY_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct gwlog;

struct gwlog_replay {
	void *ctx;
	void (*open_ep)(void *ctx, uint64_t ep, uint64_t fp, double started, int64_t start_pos);
	void (*closed_ep)(void *ctx, uint64_t ep, uint64_t fp);
	void (*pending)(void *ctx, uint64_t seq, const char *dest_id, const char *json, double decided_at);
	/* a live put record (v borrowed for the call), in log order, after
	 * open_ep and before pending */
	void (*put)(void *ctx, const char *ns, uint64_t key, json_t *v);
};

/* Open (create) dir/gateway.log, replay it through r, compact it (see
 * above), and keep `reserve` bytes allocated past its end (<= 0: none).
 * *next_seq gets a sequence number above every one in the log; *skipped the
 * lines that could not be read. Returns 0 or -VIGIL_EIO with err naming the
 * file. */
int gwlog_open(const char *dir, int64_t reserve, const struct gwlog_replay *r, struct gwlog **out,
	       uint64_t *next_seq, uint64_t *skipped, char *err, size_t errlen);
void gwlog_open_ep(struct gwlog *l, uint64_t ep, uint64_t fp, double started, int64_t start_pos);
void gwlog_close_ep(struct gwlog *l, uint64_t ep, uint64_t fp);
void gwlog_send(struct gwlog *l, uint64_t seq, const char *dest_id, const char *json, double decided_at);
void gwlog_done(struct gwlog *l, uint64_t seq, int dead);
/* Record the value of (ns, key); v NULL deletes. v is borrowed. */
void gwlog_put(struct gwlog *l, const char *ns, uint64_t key, json_t *v);
/* Start/finish the calling thread's group (see above). Nested calls on one
 * thread join the outer group; an empty group writes nothing. */
void gwlog_begin(struct gwlog *l);
void gwlog_end(struct gwlog *l);
/* Flush and fdatasync. 0 or -VIGIL_EIO (logged). */
int gwlog_sync(struct gwlog *l);
/* The reserve's bytes left past the end (an estimate, core/file_reserve.h)
 * and the refreshes that could not get all of it. */
void gwlog_reserve_stats(struct gwlog *l, int64_t *left, uint64_t *failures);
/* Sync and close (the reserve stays allocated for the next open). NULL is fine. */
void gwlog_close(struct gwlog *l);

#endif
