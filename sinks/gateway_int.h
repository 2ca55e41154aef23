/* Internal to the gateway (gateway.c: destinations, outbox wiring, dead
 * letters, meta-alerts, durability; gateway_decide.c: identity, episodes and
 * the decision of each event). Not for other files: use gateway.h.
 * @thread see gateway.h; fields marked (mu) are shared with the delivery
 * threads and read or written under gw->mu. */
#ifndef SINKS_GATEWAY_INT_H
#define SINKS_GATEWAY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/htab.h"
#include "core/log.h"
#include "sinks/gateway.h"
#include "sinks/gateway_log.h"
#include "sinks/outbox.h"
#include "sinks/silence.h"

#define GW_RECENT         4096 /* remembered (episode, status) transitions */
#define GW_CHART_KEEP     256  /* resolved alerts whose documents (charts) stay readable */
#define COMPLAIN_INTERVAL 60.0 /* seconds */
#define COMPLAIN_BURST    5
#define GW_META_RULE      "vigil-delivery-failed"
#define GW_META_OWNER     "vigil"

/* A destination's delivery queue and its current instance: one outbox
 * queue, kept across reloads while a destination of the same id and type
 * exists (stable address: the outbox's priv for it). The outbox sees it
 * through `proxy` (the real type with send/flush going through the slot),
 * so a reload can swap the instance between two sends (mu) or retire it.
 * @thread mu: held by a send, and by a swap (gateway's thread). */
struct dslot {
	pthread_mutex_t mu;
	struct sink_type proxy;       /* what the outbox calls */
	const struct sink_type *type; /* the real type */
	void *priv;                   /* owned (mu): type->destroy() */
	int retired;                  /* (mu) removed by a reload: what is queued is dropped */
	char id[192];
	const char *owner, *where; /* borrowed (rulesets live until the gateway goes) */
	struct outbox *ob;         /* the generation's outbox it is queue obi of */
	size_t obi;
	uint64_t cfg;                        /* hash of its settings */
	int secrets;                         /* settings name env:/file: secrets */
	uint64_t delivered, failed, retries; /* under the gateway's mu (delivery threads) */
	uint64_t dropped;                    /* given up because it was removed (gateway's mu) */
};

/* The outboxes: one per reload that added destinations (their queues are
 * never removed), with the slot of each queue. */
struct obgen {
	struct gateway *gw;
	struct outbox *ob;
	struct outbox_dest *obd; /* owned, n */
	struct dslot **slots;    /* borrowed (gw->slots owns), n */
	size_t n;
};

struct dest {
	struct dslot *slot;           /* its queue and instance (gw->slots owns) */
	const struct sink_type *type; /* the real type */
	void *priv;                   /* the slot's instance when it was built (for repeat_every only) */
	const char *owner;            /* borrowed: the owner name, or a role like "(extra)" */
	const char *where;            /* borrowed from the ruleset / opts, may be NULL */
	char id[192];                 /* "owner#k", "(fallback)", "(extra)#k": the log's name */
	struct retry_policy policy;
	double repeat; /* seconds between re-sends of a firing (type's repeat_every); 0 = once */
	uint64_t cfg;  /* hash of its settings (dslot.cfg once committed) */
	int swap;      /* during gateway_reload: priv replaces slot->priv at commit (owned until then) */
};

/* One route of an owner (index 0: the owner itself; then its `routes:`),
 * with the inherited settings resolved. */
struct route_rt {
	const struct tag_matcher *match; /* borrowed; index 0 matches everything */
	size_t nmatch;
	int cont;
	size_t first, n; /* destinations: dests[first .. first + n) */
	char *const *by; /* group_by (borrowed) */
	size_t nby;
	int by_all;  /* group_by ['...'] */
	int grouped; /* 0: one group per episode, all destinations per episode */
	double wait, interval, repeat;
	char *const *mute, *const *active; /* interval names (borrowed) */
	size_t nmute, nactive;
};

/* A person's destinations (escalation targets). */
struct person_rt {
	const char *name;
	size_t first, n;
};

/* The page budget's current window of one owner (wall times). */
struct budget_rt {
	double start;  /* 0: no window open */
	unsigned used; /* pages sent in the window */
	int told;      /* the owner was told the budget was hit */
	json_t *held;  /* alerts held for the digest (array), NULL = none */
	int32_t part;
	int dirty;
};

struct route {
	const char *owner; /* borrowed from the ruleset */
	const struct owner *cfg;
	struct route_rt *rt; /* owned, nrt >= 1; rt[0] is the owner's own route */
	size_t nrt;
	struct person_rt *people; /* owned, cfg->npeople */
	size_t *level_dest;       /* owned: per escalation level of kind ESC_DESTINATION, the dest index */
	struct budget_rt budget;
};

/* One alert in a group. */
struct galert {
	uint64_t ep;
	char *text;       /* owned: the newest rendering (firing, then resolved) */
	json_t *labels;   /* owned: the policy label set (labels + alertname, rule, owner, ...) */
	uint8_t status;   /* ALERT_FIRING / ALERT_RESOLVED */
	uint8_t notified; /* its firing went to this group's destinations */
	uint8_t held;     /* held back by the page budget (in the digest instead) */
	uint8_t page;     /* rule action page */
	uint8_t acked;
	uint8_t muted;     /* muted at the last flush (for listings) */
	uint8_t brief_key; /* the flags brief was rendered with (0: none) */
	json_t *hist;      /* owned or NULL: the episode's history, [{"at","event","detail"}] (gw_hist) */
	char *brief;       /* owned: cached JSON text of the API's alert brief */
};

/* A group: one route of one owner x the values of its group_by labels. */
struct group {
	uint64_t key;
	char *key_text;   /* owned: Alertmanager-style group key */
	json_t *glabels;  /* owned: the group_by labels and values */
	struct route *o;  /* the owner */
	size_t route;     /* index into o->rt */
	struct galert *a; /* owned */
	size_t n, cap;
	double created;     /* wall */
	double next_flush;  /* wall; 0 = none due */
	double last_notify; /* wall; 0 = never notified */
	int32_t part;
	int64_t pend_off; /* smallest input offset of a change not yet flushed; -1 none */
	int dirty;        /* changed since it was last persisted */
};

/* An episode being escalated (owner with an escalation policy, action page). */
struct esc {
	uint64_t ep;
	struct route *o;
	char *text;     /* owned: the firing notification */
	double t0;      /* wall: when this round started */
	double next_at; /* wall: the next level is due; 0 = none (finished or acked) */
	unsigned level; /* the next level to notify */
	unsigned round;
	int acked;
	char *acked_by; /* owned, may be NULL */
	size_t *sent;   /* owned: destinations that got the firing (they get the resolve) */
	size_t nsent, capsent;
	int32_t part;
	int dirty;
};

struct open_ep {
	uint64_t ep; /* key */
	uint64_t fp;
	int32_t part;      /* alerts-topic partition it came from; -1 = none */
	const char *owner; /* borrowed from the ruleset, or NULL (unknown owner) */
	double started;
	int64_t start_pos;
	char *text;         /* owned: the firing notification, kept only when its
			       route has a destination that wants re-sends */
	size_t first, n;    /* that route: dests[first .. first + n) */
	double next_repeat; /* monotonic */
};

/* A resolved alert's newest document, kept after it left its group so its
 * chart URL (linked from Slack / PagerDuty) keeps working for a while;
 * memory only, GW_CHART_KEEP of them, the oldest replaced first. */
struct kept_doc {
	uint64_t ep;
	const char *owner; /* borrowed from the ruleset */
	char *text;        /* owned; NULL = empty slot */
};

struct recent {
	uint64_t ep;
	uint8_t status;
	int32_t part; /* as open_ep.part */
};

struct gateway {
	const struct ruleset *rs; /* borrowed */
	struct sink_env env;      /* pointers borrowed, but url_key (= url_key) */
	char *url_key;            /* owned copy of the signing key, or NULL */
	struct dest *dests;       /* owned, ndests */
	size_t ndests, fallback;  /* fallback: index of the fallback destination */
	size_t first_extra, nextra;
	struct route *routes; /* owned, sorted by owner name */
	size_t nroutes;
	struct dslot **slots; /* owned: every destination queue since start */
	size_t nslots, capslots;
	struct obgen **gens; /* owned: the outboxes, gens[0] from gateway_create */
	size_t ngens, capgens;
	struct outbox_done_set *done_set; /* borrowed (gateway_attach_done): every outbox gets it */
	struct dslot *fallback_slot;      /* the fallback's (delivery threads read it) */
	const struct dest *reload_from;   /* during gateway_reload: the running dests (to reuse) */
	size_t reload_nfrom;
	struct gwlog *log; /* NULL without a state directory */
	char *dead_path;   /* NULL: dead letters only logged */

	struct open_ep *eps; /* owned: eps[0..nep) */
	size_t epcap, nep;
	struct htab ep_index; /* eps by episode */
	struct htab fp_index; /* eps by fingerprint (several per fingerprint possible) */

	struct recent ring[GW_RECENT]; /* insertion order; ring_head = oldest */
	size_t ring_head, ring_n;
	struct htab rc_index; /* ring positions by (episode, status) */

	struct kept_doc kept[GW_CHART_KEEP]; /* resolved alerts' documents (gateway_group.c) */
	size_t kept_next;

	/* on-call control (gateway_group.c, gateway_oncall.c) */
	struct group **groups; /* owned, ngroups */
	size_t ngroups, capgroups;
	struct htab g_index; /* groups by key */
	struct esc **escs;   /* owned, nesc */
	size_t nesc, capesc;
	struct silences *sil; /* owned */
	double next_gc;       /* policy time: next collection of expired silences */
	int data_time;        /* gateway_opts.data_time */
	double data_now, data_next_tick;
	char *inbox_path;              /* owned: STATE/control.jsonl, NULL without a state dir */
	int64_t inbox_off, inbox_line; /* bytes and lines of it applied */

	int any_repeat;       /* some destination wants firing re-sends */
	double next_tick;     /* monotonic: gateway_tick's next scan */
	_Atomic uint64_t seq; /* next notification sequence number */
	pthread_mutex_t mu;
	struct gateway_stats st; /* delivered, failed, retries (mu); the rest gateway thread */
	struct complain unowned_c, invalid_c, split_c;
};

/* The policy clock: wall time, or (data_time) the newest event time. */
static inline double gw_now(const struct gateway *gw)
{
	return gw->data_time ? gw->data_now : clock_wall();
}

/* gateway_decide.c */
int gw_episodes_init(struct gateway *gw);
void gw_episodes_fini(struct gateway *gw);
/* Restore (from the log or a partition snapshot): an open episode, a
 * closed one, a recent transition. */
int gw_restore_open(struct gateway *gw, uint64_t ep, uint64_t fp, double started, int64_t start_pos);
void gw_restore_closed(struct gateway *gw, uint64_t ep);
void gw_recent_add(struct gateway *gw, uint64_t ep, uint8_t status, int32_t part);
struct open_ep *gw_ep_find(struct gateway *gw, uint64_t ep);
int gw_ep_insert(struct gateway *gw, const struct open_ep *rec);
void gw_ep_remove(struct gateway *gw, struct open_ep *e);

/* gateway_group.c: routing to groups, flushing, muting */
int gw_groups_init(struct gateway *gw);
void gw_groups_fini(struct gateway *gw);
/* An episode's transition (firing or resolved) into its groups; flushes
 * the groups that are due now. labels: the policy label set (taken). */
int gw_policy_submit(struct gateway *gw, const struct alert_event *ev, uint64_t ep, const char *text,
		     int32_t part, int64_t off);
/* The smallest offset of partition part held in a group not yet flushed
 * (INT64_MAX: none), for gateway_min_pending. */
int64_t gw_groups_min_pending(struct gateway *gw, int32_t part);
/* Flush due groups, escalate, close budget windows (wall time now). */
void gw_policy_tick(struct gateway *gw, double now);
/* The destinations of route r: its own, or the fallback when it has none. */
void gw_route_dests(const struct gateway *gw, const struct route_rt *r, size_t *first, size_t *n);
/* The owner's route record, or NULL. */
struct route *gw_route_rec(const struct gateway *gw, const char *owner);

/* Take restored group g (owned from now on; one with the same key is
 * replaced). 0 or -VIGIL_ENOMEM (g freed). */
int gw_group_restore(struct gateway *gw, struct group *g);
/* A change in g at now (an alert came or went, a mute may have ended):
 * its flush is due after group_wait (never notified yet) or group_interval
 * (since the last notification), and not later than it was already due. */
void gw_group_schedule(struct group *g, double now);
/* Free a group that is not in the gateway. */
void gw_group_free(struct group *g);
/* Forget group number id (handed over: nothing logged). */
void gw_group_drop(struct gateway *gw, uint32_t id);

/* gateway_persist.c: the policy state as JSON (log records, snapshots) */
/* Log every changed group, escalation and budget (before a sync). */
void gw_policy_persist(struct gateway *gw);
/* The log key of silence id. */
uint64_t gw_silence_key(const char *id);
/* Log silence id's current form (or its removal when it is gone). */
void gw_silence_persist(struct gateway *gw, const char *id);
/* One record of namespace ns ("g", "e", "b", "s") back, for partition part. */
int gw_policy_restore(struct gateway *gw, const char *ns, json_t *v, int32_t part);
/* Add / read "groups", "escalations", "budgets", "silences" of part to /
 * from a partition snapshot; forget them (handed over). */
int gw_policy_export(struct gateway *gw, int32_t part, json_t *snap);
int gw_policy_import(struct gateway *gw, int32_t part, json_t *snap);
void gw_policy_release(struct gateway *gw, int32_t part);

/* gateway_inbox.c: the control inbox of a single process (STATE/control.jsonl) */
int gw_inbox_init(struct gateway *gw, const char *state_dir);
void gw_inbox_restore(struct gateway *gw, json_t *v);
void gw_inbox_poll(struct gateway *gw);

/* gateway_oncall.c: escalation, acknowledge, page budget */
/* Forget escalation e (handed over: nothing sent or logged). */
void gw_esc_drop(struct gateway *gw, struct esc *e);
/* A page was sent for episode ep of owner o (text = firing JSON). */
int gw_esc_start(struct gateway *gw, struct route *o, uint64_t ep, const char *text, int32_t part,
		 double now);
/* The episode resolved: resolve to everyone escalation reached; forget it. */
void gw_esc_resolve(struct gateway *gw, uint64_t ep, const char *text);
struct esc *gw_esc_find(struct gateway *gw, uint64_t ep);

/* gateway_control.c: one open alert's listing fields (episode, owner, rule,
 * series, labels, flags, group; startsAt and age_seconds on the policy
 * clock when its episode is known). A new reference, NULL without memory. */
json_t *gw_alert_brief(struct gateway *gw, const struct group *g, const struct galert *a);
void gw_esc_tick(struct gateway *gw, double now);
/* May a page for owner o be sent now? 1 = yes (counted), 0 = held (added
 * to the digest; the owner is told once per window). */
int gw_budget_take(struct gateway *gw, struct route *o, const char *text, double now);
void gw_budget_tick(struct gateway *gw, double now);
/* The input is over (gateway_settle): windows holding pages close now. */
void gw_budget_settle(struct gateway *gw, double now);
void gw_oncall_fini(struct gateway *gw);

/* gateway_routes.c: owners' routes, people and escalation destinations */
/* How many destinations the owners of rs need (owners', routes', people's). */
size_t gw_routes_ndests(const struct ruleset *rs);
/* The destinations one owner needs. */
size_t gw_owner_ndests(const struct owner *o);
/* Build gw->routes (sorted by owner) for the owners of rs and keep[0..nkeep)
 * (owners a reload removed that still have open alerts) and add their
 * destinations. */
int gw_routes_build(struct gateway *gw, const struct ruleset *rs, const struct owner *const *keep,
		    size_t nkeep, char *err, size_t errlen);
void gw_routes_fini(struct gateway *gw);

/* gateway.c */
/* The outbox calls over every generation (gateway_state.c): export gives
 * fn the gw->dests index (entries of retired destinations are left out). */
void gw_outbox_export(struct gateway *gw, int32_t part,
		      void (*fn)(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at),
		      void *ctx);
size_t gw_outbox_cancel(struct gateway *gw, int32_t part);
/* Start the slots not yet in an outbox (dests' slots with ob == NULL) as a
 * new generation. 0 or -VIGIL_ENOMEM / -VIGIL_EIO. */
int gw_outbox_grow(struct gateway *gw);
/* Free a slot (its instance too): gateway_reload's rollback. */
void gw_slot_free(struct dslot *s);
/* Instantiate destination c (type given separately: the fallback has no
 * config) as gw->dests[gw->ndests++] with log id `id`. */
int gw_add_dest(struct gateway *gw, const struct destination_cfg *c, const char *type, const char *owner,
		const char *id, char *err, size_t errlen);
/* Queue json for destination d: log "send" (unless a re-send), then the outbox. */
int gw_enqueue(struct gateway *gw, size_t d, const char *json, int32_t part, int64_t off, int resend);
/* The destinations for owner (the route's, or the fallback for none or an
 * unknown owner): *first, *n. Returns 0 for a known owner, -1 otherwise. */
int gw_route(const struct gateway *gw, const char *owner, size_t *first, size_t *n);
/* The ruleset's copy of an owner's name, or NULL when the owner is unknown. */
const char *gw_owner_name(const struct gateway *gw, const char *owner);

/* Fill out's alerts_* counts from the open groups (gateway_control.c). */
void gw_count_alerts(const struct gateway *gw, struct gateway_stats *out);

/* Append {"at": RFC 3339 of now, "event", "detail"} to a's history (at
 * most GW_HIST_MAX entries: the first is kept, then the newest). Out of
 * memory loses the entry, nothing else. detail may be NULL. */
#define GW_HIST_MAX 32
void gw_hist(struct galert *a, double now, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The firing alert of episode ep in any group, or NULL. */
struct galert *gw_galert_by_ep(struct gateway *gw, uint64_t ep);

#endif
