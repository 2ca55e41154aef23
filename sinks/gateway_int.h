/* Internal to the gateway (gateway.c: destinations, outbox wiring, dead
 * letters, meta-alerts, durability; gateway_decide.c: identity, episodes and
 * the decision of each event). Not for other files: use gateway.h.
 * @thread see gateway.h; fields marked (mu) are shared with the delivery
 * threads and read or written under gw->mu. */
#ifndef SINKS_GATEWAY_INT_H
#define SINKS_GATEWAY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/htab.h"
#include "core/log.h"
#include "sinks/gateway.h"
#include "sinks/gateway_log.h"
#include "sinks/outbox.h"

#define GW_RECENT         4096 /* remembered (episode, status) transitions */
#define COMPLAIN_INTERVAL 60.0 /* seconds */
#define COMPLAIN_BURST    5
#define GW_META_RULE      "vigil-delivery-failed"
#define GW_META_OWNER     "vigil"

struct dest {
	const struct sink_type *type;
	void *priv;        /* owned: type->destroy() */
	const char *owner; /* borrowed: the owner name, or a role like "(extra)" */
	const char *where; /* borrowed from the ruleset / opts, may be NULL */
	char id[192];      /* "owner#k", "(fallback)", "(extra)#k": the log's name */
	struct retry_policy policy;
	double repeat; /* seconds between re-sends of a firing (type's repeat_every); 0 = once */
};

struct route {
	const char *owner; /* borrowed from the ruleset */
	size_t first, n;   /* its destinations: dests[first .. first + n) */
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

struct recent {
	uint64_t ep;
	uint8_t status;
	int32_t part; /* as open_ep.part */
};

struct gateway {
	const struct ruleset *rs; /* borrowed */
	struct sink_env env;      /* pointers borrowed */
	struct dest *dests;       /* owned, ndests */
	size_t ndests, fallback;  /* fallback: index of the fallback destination */
	size_t first_extra, nextra;
	struct route *routes; /* owned, sorted by owner name */
	size_t nroutes;
	struct outbox_dest *obd; /* owned, parallel to dests */
	struct outbox *ob;
	struct gwlog *log; /* NULL without a state directory */
	char *dead_path;   /* NULL: dead letters only logged */

	struct open_ep *eps; /* owned: eps[0..nep) */
	size_t epcap, nep;
	struct htab ep_index; /* eps by episode */
	struct htab fp_index; /* eps by fingerprint (several per fingerprint possible) */

	struct recent ring[GW_RECENT]; /* insertion order; ring_head = oldest */
	size_t ring_head, ring_n;
	struct htab rc_index; /* ring positions by (episode, status) */

	int any_repeat;       /* some destination wants firing re-sends */
	double next_tick;     /* monotonic: gateway_tick's next scan */
	_Atomic uint64_t seq; /* next notification sequence number */
	pthread_mutex_t mu;
	struct gateway_stats st; /* delivered, failed, retries (mu); the rest gateway thread */
	struct complain unowned_c, invalid_c, split_c;
};

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

/* gateway.c */
/* Queue json for destination d: log "send" (unless a re-send), then the outbox. */
int gw_enqueue(struct gateway *gw, size_t d, const char *json, int32_t part, int64_t off, int resend);
/* The destinations for owner (the route's, or the fallback for none or an
 * unknown owner): *first, *n. Returns 0 for a known owner, -1 otherwise. */
int gw_route(const struct gateway *gw, const char *owner, size_t *first, size_t *n);
/* The ruleset's copy of an owner's name, or NULL when the owner is unknown. */
const char *gw_owner_name(const struct gateway *gw, const char *owner);

#endif
