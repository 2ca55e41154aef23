/* The central alert gateway: every alert event from every rule goes through
 * one gateway object, which
 *  - gives each event its identity (fingerprint = rule + series; episode =
 *    fingerprint + start of the anomaly),
 *  - keeps episodes (firing -> resolved): a repeat of an open episode, or a
 *    transition it already decided, is suppressed; a resolve closes only its
 *    own episode; two episodes of one series open at once (one series on
 *    two input partitions) are both kept, counted and logged as split_series;
 *    a resolve of an episode it does not know (its firing was decided by an
 *    earlier process) is still sent, so a notified firing always gets its
 *    resolve,
 *  - decides the notifications: one per destination of the owner the rule
 *    names (an unknown owner goes to the fallback destination and is
 *    counted), plus the extra destinations,
 *  - hands them to the outbox (sinks/outbox.h): per-destination queues and
 *    delivery threads with retries, backoff, Retry-After and dead letters.
 *    A notification that cannot be delivered becomes a dead-letter record
 *    (file) and a `vigil-delivery-failed` meta-alert to the fallback
 *    destination.
 *
 * Durability (state_dir set): decisions, episode changes and finished
 * deliveries go to a write-ahead log in state_dir (sinks/gateway_log.c),
 * fsync'd by gateway_flush(); a restarted gateway restores its open episodes
 * and recent transitions and re-queues every notification it had decided
 * but not finished (the same dedup key, so receivers drop a duplicate).
 * @thread gateway_* calls from one thread at a time; deliveries run on the
 * outbox's threads. */
#ifndef SINKS_GATEWAY_H
#define SINKS_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"
#include "rules/rules.h"
#include "sinks/sink.h"

struct gateway;

struct gateway_opts {
	/* Destination used when an owner has none, for unknown owners and for
	 * meta-alerts. NULL = "stdout". */
	const char *fallback_sink;
	/* Extra destinations for every alert, e.g. --out FILE; may be NULL/0. */
	const struct destination_cfg *extra;
	size_t nextra;
	/* What destinations may use from the process (borrowed; may be zero). */
	struct sink_env env;
	/* Directory for the write-ahead log and dead letters (created if
	 * missing); NULL = in memory only (dead letters then only logged). */
	const char *state_dir;
	/* Bytes the write-ahead log keeps allocated past its end, so a disk
	 * that fills up costs no durability until they are used up
	 * (sinks/gateway_log.h): 0 = FILE_RESERVE_DEFAULT (4 MiB), < 0 = none. */
	int64_t log_reserve;
	/* 1: time for grouping, muting, budgets and escalation is the data
	 * time of the events submitted (`vigil replay`, a backtest): it moves
	 * to each event's ts, and timers due before an event run before it.
	 * 0: wall-clock time. */
	int data_time;
};

#define GATEWAY_STAT_DESTS 64 /* destinations reported one by one (the first ones) */

/* One destination's deliveries (gateway_stats.dests). */
struct gateway_dest_stat {
	char id[192];  /* "owner#k", "(fallback)", "(extra)#k" */
	char type[24]; /* webhook, email, ... */
	uint64_t delivered, failed, retries;
};

struct gateway_stats {
	uint64_t received;        /* events submitted */
	uint64_t fired;           /* episodes opened (firing notifications decided) */
	uint64_t resolved;        /* resolves decided (own episode or orphan) */
	uint64_t suppressed;      /* repeats of an open episode / duplicates */
	uint64_t notifications;   /* notifications queued (one per destination) */
	uint64_t delivered;       /* notifications delivered */
	uint64_t failed;          /* notifications given up: dead-lettered */
	uint64_t retries;         /* attempts after the first */
	uint64_t unowned;         /* events whose owner is unknown */
	uint64_t split_series;    /* firings of a series with another episode open */
	uint64_t orphan_resolves; /* resolves of episodes this process did not see fire */
	uint64_t restored;        /* notifications re-queued from the log at start */
	uint64_t resends;         /* firing notifications re-sent to receivers that expire them */
	uint64_t pending;         /* notifications queued and not finished */
	uint64_t open_episodes;
	uint64_t dest_removed_drops; /* notifications queued for a destination a reload removed: dropped
				       (logged, dead-lettered) */
	uint64_t owner_reloads;      /* owners (destinations, routes, policies) reloaded */
	uint64_t log_failures;       /* flushes of the state log (--state DIR) that failed: not durable */
	uint64_t log_reserve_bytes;  /* disk space the state log holds past its end (estimate), now */
	uint64_t log_reserve_short;  /* refreshes of that reserve that could not get all of it */
	/* open alerts in groups by state, as the API lists them: active (none
	 * of the others), acknowledged, muted, held (computed by get_stats) */
	uint64_t alerts_active, alerts_acked, alerts_muted, alerts_held;
	uint64_t groups;       /* groups open now */
	uint64_t muted;        /* times a firing, not yet notified alert was found muted (silence, inhibition,
				  window) */
	uint64_t pages_held;   /* pages held by a page budget (sent in its digest) */
	uint64_t page_digests; /* page budget digests sent */
	uint64_t escalations;  /* escalation levels notified */
	uint64_t acks;         /* acknowledges applied */
	uint64_t control_applied; /* control commands applied (inbox) */
	uint64_t control_bad;     /* control commands rejected (inbox) */
	/* per destination, the first GATEWAY_STAT_DESTS (filled by get_stats) */
	struct gateway_dest_stat dests[GATEWAY_STAT_DESTS];
	size_t ndests;
};

/* Instantiate destinations for every owner in rs (borrowed; must outlive the
 * gateway), restore state_dir's log if any, and start delivering. Returns 0,
 * or -VIGIL_EINVAL / -VIGIL_EIO with err naming the destination or file. */
int gateway_create(const struct ruleset *rs, const struct gateway_opts *o, struct gateway **out, char *err,
		   size_t errlen);
/* Check every owner's destinations in rs as gateway_create would (types
 * exist, settings valid) without creating anything: 0, or
 * -VIGIL_EINVAL with err "file:line:column: owner: message". */
int gateway_check(const struct ruleset *rs, char *err, size_t errlen);
/* Move the running gateway to the owners of rs (validated as a whole
 * first: on any error the running owners stay, err says why with its
 * file:line:column). Unchanged destinations keep their queue and instance;
 * changed ones keep their queue and get the new instance between two
 * sends; new ones get a queue; removed ones are retired (what is queued for
 * them is dropped, logged, counted in dest_removed_drops and
 * dead-lettered); an owner removed while it has open alerts is kept with
 * its old configuration until a later reload finds it idle. Open episodes,
 * groups, escalation timers, acknowledgements and page budgets go on.
 * See sinks/gateway_reload.c. The gateway borrows rs, and keeps borrowing
 * every ruleset it ran, until it is destroyed. 0, -VIGIL_EINVAL,
 * -VIGIL_ENOMEM or -VIGIL_EIO. */
int gateway_reload(struct gateway *gw, const struct ruleset *rs, char *err, size_t errlen);
/* Decide on one event and queue its notifications. ev is borrowed. Returns
 * 0 (queued or suppressed), -VIGIL_EINVAL (a malformed event, counted and
 * logged) or -VIGIL_ENOMEM. */
int gateway_submit(struct gateway *gw, const struct alert_event *ev);
/* The same, tagging the notifications with where the event came from
 * (alerts-topic partition and offset) for gateway_min_pending(). */
int gateway_submit_tagged(struct gateway *gw, const struct alert_event *ev, int32_t part, int64_t off);
/* Make every decision so far durable (write-ahead log fsync). */
void gateway_flush(struct gateway *gw);
/* Wait until every queued notification is delivered or dead-lettered, at
 * most timeout seconds (< 0: no limit). Returns the number still pending. */
size_t gateway_drain(struct gateway *gw, double timeout);
/* Data-time mode: the data has reached time t (no event needed), so what
 * falls due by then happens now. Ignored otherwise and for t in the past. */
void gateway_advance(struct gateway *gw, double t);
/* Flush every group waiting for its group_wait or group_interval now, and
 * send the digest of every page budget window holding pages (the end of a
 * replay, which has no real time to wait in). Pending escalations stay. */
void gateway_settle(struct gateway *gw);
/* Re-send the firing notifications of open episodes to destinations that
 * expire alerts they stop hearing about (Alertmanager: every lease/4).
 * Call it regularly (about once a second) from the gateway's thread. */
void gateway_tick(struct gateway *gw);
/* The smallest offset of partition part with notifications not finished;
 * INT64_MAX when none. */
int64_t gateway_min_pending(struct gateway *gw, int32_t part);
void gateway_get_stats(struct gateway *gw, struct gateway_stats *out);

/* The Kafka deployment (sinks/gateway_state.c): the state that belongs to
 * one alerts-topic partition, for a member that takes it over.
 * gateway_export: open episodes (with what re-sends need), recent
 * transitions and unfinished notifications of partition part, as a JSON
 * snapshot (caller json_decref's; NULL on allocation failure).
 * gateway_import: take partition part over from a snapshot (NULL: nothing
 * known); its notifications are queued again. 0 or -VIGIL_EINVAL (not a
 * snapshot) / -VIGIL_ENOMEM.
 * gateway_release: forget partition part: its open episodes and its queued
 * notifications (a send in progress finishes). */
json_t *gateway_export(struct gateway *gw, int32_t part);
int gateway_import(struct gateway *gw, int32_t part, json_t *snap);
void gateway_release(struct gateway *gw, int32_t part);
/* A hand-over of partition part (the Kafka gateway's revoke):
 * gateway_hold(gw, part, 1) stops new sends of its notifications from
 * starting (they stay queued, so exported); gateway_wait_sending waits until
 * the sends of part already in progress have finished (their done records
 * made) or the monotonic time `until` (clock_mono_real) has come, and
 * returns how many are still in progress; gateway_hold(gw, part, 0) after
 * gateway_release. 0 or -VIGIL_ENOMEM (not held). */
int gateway_hold(struct gateway *gw, int32_t part, int on);
size_t gateway_wait_sending(struct gateway *gw, int32_t part, double until);
/* ---- on-call control (sinks/gateway_control.c; issue 10) ----
 * The operations behind `vigil silence`, `vigil ack`, the control topic
 * and the HTTP API. Each applies at the current wall time and is made
 * durable by the next gateway_flush (the callers flush before answering).
 * part: the alerts-topic partition the owner's state belongs to (-1 in a
 * single process). Errors: -VIGIL_EINVAL / -VIGIL_ENOENT / -VIGIL_EFULL
 * with err saying why, -VIGIL_ENOMEM. */

/* Add (or update, with "id") a silence from its JSON form (sinks/silence.h)
 * for an owner the ruleset knows; id_out (>= 24 bytes) gets its id. */
int gateway_silence_add(struct gateway *gw, json_t *spec, int32_t part, char *id_out, char *err,
			size_t errlen);
/* Expire silence id of owner (NULL: any owner) now. */
int gateway_silence_expire(struct gateway *gw, const char *owner, const char *id, char *err, size_t errlen);
/* Silences of owner (NULL: all) as a JSON array, with their state. */
json_t *gateway_silence_list(struct gateway *gw, const char *owner);
/* The silence with this id (a new reference), or NULL: one silence
 * rendered, not the whole list (an add answers with it). */
json_t *gateway_silence_get(struct gateway *gw, const char *id);
/* The open alerts a silence built from spec would mute (a preview; nothing
 * is added): a JSON array of {"episode","rule","series","labels"}. NULL
 * with err on a bad spec. */
json_t *gateway_silence_preview(struct gateway *gw, json_t *spec, char *err, size_t errlen);
/* Acknowledge (unack = 0) or unacknowledge episode (16 hex digits) of an
 * open alert: see sinks/gateway_oncall.c. by/comment may be NULL. */
int gateway_ack(struct gateway *gw, const char *episode, const char *by, const char *comment, int unack,
		char *err, size_t errlen);
/* Apply one control command (schema "vigil.control/v1"):
 *   {"op":"silence_add","silence":{...}}  {"op":"silence_expire","owner":..,"id":..}
 *   {"op":"ack"|"unack","episode":..,"by":..,"comment":..}
 * *reply (may be NULL) gets {"ok":true,...} or {"ok":false,"error":..}. */
int gateway_control(struct gateway *gw, json_t *cmd, int32_t part, json_t **reply, char *err, size_t errlen);
/* Open alerts (firing, in groups) as the text of a JSON array appended to
 * out: episode, owner, rule, series, labels, notified, muted, acknowledged,
 * held, group, and startsAt / age_seconds (policy clock) when the episode is
 * known. owner NULL = every owner's; state NULL or "" = any, else
 * "active" (neither acknowledged, muted nor held), "acknowledged", "muted"
 * or "held". Each alert's text is cached until a flag it shows changes, so a
 * listing costs a copy per alert. 0 or -VIGIL_ENOMEM. */
int gateway_alerts_json(struct gateway *gw, const char *owner, const char *state, struct buf *out);
/* The open alert with episode (16 hex digits) in the same form plus, from
 * its newest event, why, summary, runbook_url, startsAt, ts and action, and
 * its history [{"at","event","detail"}] (fired, notified, muted, held,
 * acknowledged, escalated, ...; at most GW_HIST_MAX), or NULL. */
json_t *gateway_alert(struct gateway *gw, const char *episode);
/* The newest alert document (vigil.alert/v1 JSON, with its series window)
 * of episode (16 hex digits) while the gateway holds it in a group (firing,
 * or resolved and not yet notified), or among the last 256 resolved alerts
 * it dropped (in memory only: not after a restart); *owner gets its owner
 * (borrowed from the ruleset). A new reference, or NULL. Gateway thread. */
json_t *gateway_alert_doc(struct gateway *gw, const char *episode, const char **owner);
/* Who is on call now and next in every schedule of owner (NULL: every
 * owner) of rs at wall time now: [{"owner","schedule","now","until","next",
 * "next_until"}] (a missing "now" = nobody). */
json_t *gateway_oncall_report(const struct ruleset *rs, const char *owner, double now);

/* Stop delivering (a send in progress finishes), flush the log, free.
 * Queued notifications stay in the log for the next start. */
void gateway_destroy(struct gateway *gw);

#endif
