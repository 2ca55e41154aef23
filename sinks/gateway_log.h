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
 * mid-write) is skipped and counted. Appends are buffered; gwlog_sync() makes them durable (fdatasync).
 * Groups: the records one thread writes between gwlog_begin() and gwlog_end()
 * (one decision: an episode's open record and its sends, an escalation step
 * and its page) carry "g":N and are followed by {"op":"end","g":N}; reading
 * back applies a group only when its end record is there, so a crash in the
 * middle of a decision leaves none of it (the input read again decides it
 * again) instead of an open episode whose notification is missing. Records
 * written outside a group (deliveries done, API changes) apply alone.
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

/* Open (create) dir/gateway.log, replay it through r, compact it. *next_seq
 * gets a sequence number above every one in the log; *skipped the lines
 * that could not be read. Returns 0 or -VIGIL_EIO with err naming the file. */
int gwlog_open(const char *dir, const struct gwlog_replay *r, struct gwlog **out, uint64_t *next_seq,
	       uint64_t *skipped, char *err, size_t errlen);
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
/* Sync and close. NULL is fine. */
void gwlog_close(struct gwlog *l);

#endif
