/* The gateway's outbox: what the gateway decided to send and has not yet
 * finished. One FIFO queue and one delivery thread per destination, so a
 * slow or hanging destination delays only itself, and a destination sees
 * its notifications in decision order (a resolve never before its
 * trigger).
 *
 * Policy per entry: SINK_OK finishes it (delivered); SINK_RETRY waits with
 * exponential backoff and full jitter (at least the receiver's Retry-After)
 * and tries again until max_attempts or max_age is reached; SINK_DROP, or a
 * retry policy exhausted, finishes it as dead: a dead-letter record (the
 * notification, the destination, attempts and the last response) goes to
 * the dead-letter hook, which the gateway turns into a file line and a
 * `delivery_failed` meta-alert.
 *
 * Every entry carries a sequence number (the gateway's write-ahead log
 * key) and a tag (e.g. the alerts-topic partition and offset it came from)
 * so callers can tell what is still in flight.
 * @thread outbox_* functions may be called from any thread; the hooks run
 * on delivery threads, with no outbox lock held. */
#ifndef SINKS_OUTBOX_H
#define SINKS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "sinks/sink.h"

struct retry_policy {
	double initial;   /* first backoff, seconds (default 1) */
	double max_delay; /* cap of one backoff, seconds (default 300) */
	int max_attempts; /* attempts before giving up (default 12) */
	double max_age;   /* seconds after the decision before giving up (default 3600) */
};

/* One destination instance, as the gateway built it (all borrowed; must
 * outlive the outbox). */
struct outbox_dest {
	const struct sink_type *type;
	void *priv;
	const char *owner; /* whose destination, for logs and dead letters */
	const char *where; /* file:line:col of its configuration, or a role */
	const char *id;    /* stable name "owner#k" for the write-ahead log */
	struct retry_policy policy;
};

/* What finished: delivered (dead == 0) or given up (dead == 1). */
struct outbox_done {
	uint64_t seq;
	size_t dest;
	int dead;
	int attempts;
	double decided_at; /* wall clock of the decision */
	const char *json;  /* the notification JSON (borrowed for the call) */
	const struct sink_result *last;
};

struct outbox_hooks {
	void *ctx;
	/* An entry finished. Runs on the destination's delivery thread. */
	void (*done)(void *ctx, const struct outbox_done *d);
};

struct outbox;

/* Start one delivery thread per destination. Returns 0 or -VIGIL_ENOMEM /
 * -VIGIL_EIO (thread creation). *out owned by the caller (outbox_destroy). */
int outbox_create(const struct outbox_dest *dests, size_t ndests, const struct outbox_hooks *hooks,
		  struct outbox **out);
/* Stop the threads (a send in progress finishes first) and free every
 * entry still queued; the caller has persisted what must survive. */
void outbox_destroy(struct outbox *ob);

/* Queue a copy of json for destination dest: one alert (alert_to_json
 * plus identity; dedup key "vigil/<fingerprint>/<episode>") or a group
 * document (schema "vigil.group/v1": owner, group_key, reason,
 * group_labels, alerts each with "change", truncated), handed to the type
 * as notification.group with dedup_key = group_key. A text that cannot be
 * read back (or a group of more than 1000 alerts) is dead at its first
 * attempt (SINK_DROP). tag_part / tag_off say where it came from (-1 = none).
 * decided_at: wall clock of the decision (a restored entry keeps its own).
 * Returns 0 or -VIGIL_ENOMEM. */
int outbox_enqueue(struct outbox *ob, size_t dest, uint64_t seq, const char *json, int32_t tag_part,
		   int64_t tag_off, double decided_at);

/* Hand every unfinished entry tagged with partition part to fn (dest,
 * seq, json, decided_at), in queue order per destination; under the
 * outbox's lock, so fn must not call back into the outbox. */
void outbox_export(struct outbox *ob, int32_t part,
		   void (*fn)(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at),
		   void *ctx);
/* Drop the queued entries tagged with partition part (another process
 * takes them over); an entry being sent right now finishes its send and is
 * then dropped whatever the outcome (no done hook). Returns the number
 * dropped. */
size_t outbox_cancel(struct outbox *ob, int32_t part);

/* Entries queued and not finished. */
size_t outbox_pending(struct outbox *ob);
/* The smallest tag_off of unfinished entries tagged with partition part,
 * or INT64_MAX when there is none. */
int64_t outbox_min_pending(struct outbox *ob, int32_t part);
/* Wait until nothing is pending or timeout seconds passed (timeout < 0:
 * forever). Returns the entries still pending. */
size_t outbox_drain(struct outbox *ob, double timeout);

/* ---- a partition handed over (the Kafka gateway's revoke) ----
 * outbox_hold(ob, part, 1): no send of an entry tagged with part starts
 * from now on (its destination's queue waits at that entry; the entries
 * stay queued and exported); outbox_hold(ob, part, 0) lets them go again
 * (after outbox_cancel, nothing of part is left to go). A partition is held
 * once: holding it again is a no-op. 0, or -VIGIL_ENOMEM (not held).
 * outbox_wait_sending: wait until no send of an entry tagged with part is
 * in progress, or until the monotonic time `until` (clock_mono_real).
 * Returns the sends of part still in progress (0: every one finished, its
 * done hook and done record made). */
int outbox_hold(struct outbox *ob, int32_t part, int on);
size_t outbox_wait_sending(struct outbox *ob, int32_t part, double until);

/* ---- what a previous owner of a partition already delivered ----
 * (the Kafka gateway's takeover: consumers/gateway_done.c; the set is in
 * sinks/outbox_done.c and may be shared by several outboxes)
 *
 * With a done set attached, an outbox
 *  - reports every entry tagged with a partition (tag_part >= 0) that a
 *    destination accepted (also one cancelled while being sent) to the
 *    set's recorder, with its identity (notify_ident of the destination id
 *    and the text), under the outbox's lock and in the same critical
 *    section that removes the entry from its queue, so outbox_export either
 *    still lists the entry or runs after the recorder. Every type's
 *    SINK_OK is final (sinks/sink.h: file and stdout have written the line
 *    to the kernel, kafka has the broker's delivery report);
 *  - queues nothing for an entry of a partition and identity the set holds
 *    a record of: it consumes the record instead (counted, logged as
 *    event=notification_already_delivered).
 * Lock order: the outbox's lock, then the set's. */
struct outbox_done_set;

int outbox_done_set_new(struct outbox_done_set **out);
/* Detach it from every outbox first. NULL is fine. */
void outbox_done_set_free(struct outbox_done_set *set);
/* rec(ctx, part, ident) runs on a delivery thread with the outbox's and
 * the set's locks held: it must not block nor call the outbox or the set.
 * NULL: none. Once this returns, the previous recorder is not running. */
void outbox_done_set_recorder(struct outbox_done_set *set,
			      void (*rec)(void *ctx, int32_t part, uint64_t ident), void *ctx);
/* Remember that the notification of identity ident was delivered for
 * partition part (record uid; a second add of the same uid is ignored)
 * until wall time expires. 0 or -VIGIL_ENOMEM. */
int outbox_done_set_add(struct outbox_done_set *set, int32_t part, uint64_t ident, const char *uid,
			double expires);
/* Forget the partition's records; returns how many there were. */
size_t outbox_done_set_clear(struct outbox_done_set *set, int32_t part);
/* Hand the partition's unexpired records to fn (under the set's lock: fn
 * must not call the set). */
void outbox_done_set_export(struct outbox_done_set *set, int32_t part,
			    void (*fn)(void *ctx, uint64_t ident, const char *uid, double expires),
			    void *ctx);
/* Entries not queued because a record said they were delivered. */
uint64_t outbox_done_set_skipped(struct outbox_done_set *set);
/* For the outbox: consume one unexpired record of (part, ident), 1 if
 * there was one; report a delivered entry to the recorder. */
int outbox_done_set_take(struct outbox_done_set *set, int32_t part, uint64_t ident);
void outbox_done_set_record(struct outbox_done_set *set, int32_t part, uint64_t ident);

/* Attach set (borrowed; NULL detaches) to ob. */
void outbox_attach_done(struct outbox *ob, struct outbox_done_set *set);

/* The delay before attempt `attempt` (>= 1 failures so far): full jitter
 * over min(max_delay, initial * 2^(attempt-1)), at least retry_after.
 * rnd in [0, 1). Exposed for tests. */
double outbox_backoff(const struct retry_policy *p, int attempt, double retry_after, double rnd);

#endif
