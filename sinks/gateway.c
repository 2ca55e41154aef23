/* The central alert gateway v1, see gateway.h and docs/alerting.md §3, §8, §9.
 *
 * State:
 *  - routes: one per owner of the ruleset, sorted by name, each with its
 *    instantiated destinations (none = the shared fallback destination);
 *  - the fallback destination (also the "unowned" route) and the extra
 *    destinations that receive every notification;
 *  - the open episodes: a packed array of (fingerprint, episode id, started,
 *    start_pos) indexed by fingerprint (core/htab.h). Closed episodes are
 *    removed, so memory is bounded by the number of series firing right now;
 *  - the recent-transition memory: the last GW_RECENT accepted (episode,
 *    status) pairs, a ring for eviction order indexed by the pair, so an
 *    exact duplicate transition re-submitted after its episode closed (a
 *    replay) is suppressed.
 *
 * Delivery v1: every destination's send() is tried up to GW_ATTEMPTS times
 * back to back on SINK_RETRY; a send that still fails, or returns SINK_DROP,
 * is counted in stats.failed and logged at most COMPLAIN_BURST times per
 * COMPLAIN_INTERVAL seconds per destination. A durable outbox comes later.
 * @thread single-threaded (see gateway.h). */
/* rules/rules.h uses struct tag without declaring it: pull it in first. */
#include "core/point.h"
#include "sinks/gateway.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/htab.h"
#include "core/log.h"
#include "sinks/sink.h"

#define GW_RECENT         4096 /* remembered (episode, status) transitions */
#define GW_ATTEMPTS       3    /* send attempts on SINK_RETRY */
#define GW_EP_MIN_CAP     64   /* initial episode table size (power of 2) */
#define COMPLAIN_INTERVAL 60.0 /* seconds */
#define COMPLAIN_BURST    5

static const char comp[] = "gateway";

struct dest {
	const struct sink_type *type;
	void *priv;        /* owned: type->destroy() */
	const char *owner; /* borrowed: the owner name, or a role like "(extra)" */
	const char *where; /* borrowed from the ruleset / opts, may be NULL */
	struct complain complain;
};

struct route {
	const char *owner;  /* borrowed from the ruleset */
	struct dest *dests; /* owned array; NULL/0 = use the fallback */
	size_t ndests;
};

struct open_ep {
	uint64_t fp; /* key */
	uint64_t ep;
	double started;
	int64_t start_pos;
};

struct recent {
	uint64_t ep;
	uint8_t status;
};

struct gateway {
	const struct ruleset *rs; /* borrowed */
	struct sink_env env;      /* from the options; pointers borrowed */
	struct route *routes;     /* owned, sorted by owner name */
	size_t nroutes;
	struct dest fallback;
	int have_fallback;
	struct dest *extra; /* owned */
	size_t nextra;

	struct open_ep *eps; /* owned: eps[0..nep) */
	size_t epcap, nep;
	struct htab ep_index; /* eps by fingerprint */

	struct recent ring[GW_RECENT]; /* insertion order; ring_head = oldest */
	size_t ring_head, ring_n;
	struct htab rc_index; /* ring positions by (episode, status) */

	struct gateway_stats st;
	struct complain unowned_c, invalid_c;
};

/* ---- destinations ---- */

/* The type named `type`, or NULL with err naming the known types. */
static const struct sink_type *find_type(const char *type, const char *where, const char *owner, char *err,
					 size_t errlen)
{
	const struct sink_type *t = sink_find(type);
	if (t)
		return t;
	char known[256] = "";
	size_t off = 0;
	for (const struct sink_type *const *k = sink_all(); *k && off < sizeof known; k++) {
		int n = snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "", (*k)->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	snprintf(err, errlen, "%s: %s: unknown destination type '%s' (known: %s)", where ? where : "?", owner,
		 type ? type : "(none)", known);
	return NULL;
}

int gateway_check(const struct ruleset *rs, char *err, size_t errlen)
{
	char serr[512];
	for (size_t i = 0; i < rs->nowners; i++) {
		const struct owner *o = &rs->owners[i];
		for (size_t k = 0; k < o->ndests; k++) {
			const struct destination_cfg *d = &o->dests[k];
			const struct sink_type *t = find_type(d->type, d->where, o->name, err, errlen);
			if (t == NULL)
				return -VIGIL_EINVAL;
			serr[0] = '\0';
			int rc = t->check(d->kv, d->nkv, serr, sizeof serr);
			if (rc != 0) {
				snprintf(err, errlen, "%s: %s: %s", d->where ? d->where : "?", o->name,
					 serr[0] ? serr : vigil_strerror(rc));
				return rc;
			}
		}
	}
	return 0;
}

static int dest_init(const struct sink_env *env, struct dest *d, const char *type, const struct kv *kv,
		     size_t nkv, const char *where, const char *owner, char *err, size_t errlen)
{
	char serr[512];
	int rc;

	memset(d, 0, sizeof *d);
	d->owner = owner;
	d->where = where;
	d->type = find_type(type, where, owner, err, errlen);
	if (!d->type)
		return -VIGIL_EINVAL;
	serr[0] = '\0';
	rc = d->type->create(env, kv, nkv, &d->priv, serr, sizeof serr);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s: %s", where ? where : "?", owner,
			 serr[0] ? serr : vigil_strerror(rc));
		d->type = NULL;
		d->priv = NULL;
		return rc < 0 ? rc : -VIGIL_EINVAL;
	}
	return 0;
}

static void dest_fini(struct dest *d)
{
	if (d->type && d->type->destroy)
		d->type->destroy(d->priv);
	d->type = NULL;
	d->priv = NULL;
}

/* Send one notification to one destination with the v1 retry policy. */
static int dest_send(struct gateway *gw, struct dest *d, const struct notification *n)
{
	enum sink_verdict v = SINK_RETRY;
	int attempts = 0;
	struct sink_result res;

	while (v == SINK_RETRY && attempts < GW_ATTEMPTS) {
		memset(&res, 0, sizeof res);
		d->type->send(d->priv, n, &res);
		v = res.verdict;
		attempts++;
	}
	if (v == SINK_OK) {
		gw->st.delivered++;
		return 0;
	}
	gw->st.failed++;
	if (complain_due(&d->complain, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST)) {
		LOG_WARN(
			comp,
			"delivery failed owner=%s type=%s where=%s verdict=%s attempts=%d rule=%s episode=%s "
			"status=%s suppressed_logs=%" PRIu64,
			d->owner, d->type->name, d->where ? d->where : "-", v == SINK_DROP ? "drop" : "retry",
			attempts, n->ev->rule, n->episode,
			n->ev->status == ALERT_RESOLVED ? "resolved" : "firing", d->complain.suppressed);
		d->complain.suppressed = 0;
	}
	return -VIGIL_EIO;
}

static int route_cmp(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	return strcmp(x->owner, y->owner);
}

static const struct route *route_find(const struct gateway *gw, const char *owner)
{
	struct route key;
	if (!owner || gw->nroutes == 0)
		return NULL;
	key.owner = owner;
	return bsearch(&key, gw->routes, gw->nroutes, sizeof *gw->routes, route_cmp);
}

/* ---- open episodes: a pool of records indexed by fingerprint ---- */

static uint64_t ep_hash(const void *ctx, uint32_t id)
{
	const struct gateway *gw = ctx;
	return hash_mix(gw->eps[id].fp);
}

static int ep_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct gateway *gw = ctx;
	return gw->eps[id].fp == *(const uint64_t *)key;
}

static struct open_ep *ep_find(struct gateway *gw, uint64_t fp)
{
	uint32_t id = htab_find(&gw->ep_index, hash_mix(fp), ep_eq, ep_hash, gw, &fp);
	return id == HTAB_NONE ? NULL : &gw->eps[id];
}

/* Insert (fp not present). 0 or -VIGIL_ENOMEM. */
static int ep_insert(struct gateway *gw, const struct open_ep *rec)
{
	if (gw->nep == gw->epcap) {
		size_t ncap = gw->epcap ? gw->epcap * 2 : GW_EP_MIN_CAP;
		struct open_ep *n = ncap < UINT32_MAX - 2 ? realloc(gw->eps, ncap * sizeof *n) : NULL;
		if (!n)
			return -VIGIL_ENOMEM;
		gw->eps = n;
		gw->epcap = ncap;
	}
	gw->eps[gw->nep] = *rec;
	if (htab_insert(&gw->ep_index, hash_mix(rec->fp), (uint32_t)gw->nep, ep_hash, gw) != 0)
		return -VIGIL_ENOMEM;
	gw->nep++;
	return 0;
}

/* Remove e; the last record moves into its place (re-indexed). */
static void ep_remove(struct gateway *gw, struct open_ep *e)
{
	uint32_t id = (uint32_t)(e - gw->eps), last = (uint32_t)(gw->nep - 1);
	htab_remove(&gw->ep_index, hash_mix(e->fp), id, ep_hash, gw);
	if (id != last) {
		htab_remove(&gw->ep_index, hash_mix(gw->eps[last].fp), last, ep_hash, gw);
		gw->eps[id] = gw->eps[last];
		htab_insert(&gw->ep_index, hash_mix(gw->eps[id].fp), id, ep_hash, gw); /* slot freed above */
	}
	gw->nep--;
}

/* ---- recent transitions: a ring indexed by (episode, status) ---- */

static uint64_t rc_key(uint64_t ep, uint8_t status)
{
	return hash_mix(ep ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(status + 1)));
}

static uint64_t rc_hash(const void *ctx, uint32_t id)
{
	const struct gateway *gw = ctx;
	return rc_key(gw->ring[id].ep, gw->ring[id].status);
}

static int rc_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct gateway *gw = ctx;
	const struct recent *k = key;
	return gw->ring[id].ep == k->ep && gw->ring[id].status == k->status;
}

static int rc_find(struct gateway *gw, uint64_t ep, uint8_t status)
{
	struct recent k = {ep, status};
	return htab_find(&gw->rc_index, rc_key(ep, status), rc_eq, rc_hash, gw, &k) != HTAB_NONE;
}

/* Remember (ep, status); evicts the oldest pair when GW_RECENT are held. */
static void rc_add(struct gateway *gw, uint64_t ep, uint8_t status)
{
	size_t at;

	if (rc_find(gw, ep, status))
		return;
	if (gw->ring_n == GW_RECENT) {
		at = gw->ring_head;
		htab_remove(&gw->rc_index, rc_hash(gw, (uint32_t)at), (uint32_t)at, rc_hash, gw);
		gw->ring_head = (gw->ring_head + 1) % GW_RECENT;
	} else {
		at = (gw->ring_head + gw->ring_n) % GW_RECENT;
		gw->ring_n++;
	}
	gw->ring[at] = (struct recent){ep, status};
	/* cannot fail: the index was sized for GW_RECENT at creation */
	htab_insert(&gw->rc_index, rc_key(ep, status), (uint32_t)at, rc_hash, gw);
}

/* ---- create / destroy ---- */

int gateway_create(const struct ruleset *rs, const struct gateway_opts *o, struct gateway **out, char *err,
		   size_t errlen)
{
	static const struct gateway_opts defaults = {0};
	struct gateway *gw;
	const char *fb;
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (!o)
		o = &defaults;
	gw = calloc(1, sizeof *gw);
	if (!gw) {
		snprintf(err, errlen, "gateway: out of memory");
		return -VIGIL_ENOMEM;
	}
	gw->rs = rs;
	gw->env = o->env;
	htab_init(&gw->ep_index);
	htab_init(&gw->rc_index);
	/* size the recent index once so that rc_add never allocates */
	for (uint32_t i = 0; i < GW_RECENT; i++) {
		gw->ring[i] = (struct recent){i, 0};
		if (htab_insert(&gw->rc_index, rc_key(i, 0), i, rc_hash, gw) != 0) {
			snprintf(err, errlen, "gateway: out of memory");
			goto fail;
		}
	}
	htab_reset(&gw->rc_index);

	fb = o->fallback_sink ? o->fallback_sink : "stdout";
	rc = dest_init(&gw->env, &gw->fallback, fb, NULL, 0, "gateway", "fallback", err, errlen);
	if (rc != 0)
		goto fail;
	gw->have_fallback = 1;

	if (o->nextra > 0) {
		gw->extra = calloc(o->nextra, sizeof *gw->extra);
		if (!gw->extra) {
			rc = -VIGIL_ENOMEM;
			snprintf(err, errlen, "gateway: out of memory");
			goto fail;
		}
		for (size_t i = 0; i < o->nextra; i++) {
			const struct destination_cfg *c = &o->extra[i];
			rc = dest_init(&gw->env, &gw->extra[i], c->type, c->kv, c->nkv, c->where,
				       "extra destination", err, errlen);
			if (rc != 0)
				goto fail;
			gw->nextra++;
		}
	}

	if (rs && rs->nowners > 0) {
		gw->routes = calloc(rs->nowners, sizeof *gw->routes);
		if (!gw->routes) {
			rc = -VIGIL_ENOMEM;
			snprintf(err, errlen, "gateway: out of memory");
			goto fail;
		}
		for (size_t i = 0; i < rs->nowners; i++) {
			const struct owner *ow = &rs->owners[i];
			struct route *r = &gw->routes[gw->nroutes];
			char ctx[160];

			if (!ow->name) {
				rc = -VIGIL_EINVAL;
				snprintf(err, errlen, "%s: owner without a name",
					 ow->where ? ow->where : "?");
				goto fail;
			}
			r->owner = ow->name;
			gw->nroutes++;
			if (ow->ndests == 0)
				continue;
			r->dests = calloc(ow->ndests, sizeof *r->dests);
			if (!r->dests) {
				rc = -VIGIL_ENOMEM;
				snprintf(err, errlen, "gateway: out of memory");
				goto fail;
			}
			snprintf(ctx, sizeof ctx, "owner '%.120s'", ow->name);
			for (size_t k = 0; k < ow->ndests; k++) {
				const struct destination_cfg *c = &ow->dests[k];
				rc = dest_init(&gw->env, &r->dests[k], c->type, c->kv, c->nkv, c->where, ctx,
					       err, errlen);
				if (rc != 0)
					goto fail;
				r->dests[k].owner = ow->name; /* ctx is on the stack */
				r->ndests++;
			}
		}
		qsort(gw->routes, gw->nroutes, sizeof *gw->routes, route_cmp);
	}
	*out = gw;
	return 0;
fail:
	gateway_destroy(gw);
	return rc;
}

void gateway_destroy(struct gateway *gw)
{
	if (!gw)
		return;
	for (size_t i = 0; i < gw->nroutes; i++) {
		for (size_t k = 0; k < gw->routes[i].ndests; k++)
			dest_fini(&gw->routes[i].dests[k]);
		free(gw->routes[i].dests);
	}
	free(gw->routes);
	for (size_t i = 0; i < gw->nextra; i++)
		dest_fini(&gw->extra[i]);
	free(gw->extra);
	if (gw->have_fallback)
		dest_fini(&gw->fallback);
	free(gw->eps);
	htab_fini(&gw->ep_index);
	htab_fini(&gw->rc_index);
	free(gw);
}

/* ---- submit ---- */

static int invalid(struct gateway *gw, const char *why, const struct alert_event *ev)
{
	if (complain_due(&gw->invalid_c, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST)) {
		LOG_WARN(comp, "invalid alert event rejected reason=\"%s\" rule=%s suppressed_logs=%" PRIu64,
			 why, ev && ev->rule ? ev->rule : "-", gw->invalid_c.suppressed);
		gw->invalid_c.suppressed = 0;
	}
	return -VIGIL_EINVAL;
}

/* The notification line for ev: caller frees. NULL on allocation failure. */
static char *render(const struct alert_event *ev)
{
	json_t *j = alert_to_json(ev);
	char *text;
	if (!j)
		return NULL;
	text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	return text;
}

/* Deliver one accepted transition to its route (or the fallback) and to every
 * extra destination. Takes ownership of text. */
static int deliver(struct gateway *gw, const struct alert_event *ev, const char *fp, const char *ep,
		   const struct route *route, char *text)
{
	struct notification n;
	int rc = 0;

	n.ev = ev;
	n.fingerprint = fp;
	n.episode = ep;
	n.owner = ev->owner;
	n.json = text;
	n.json_len = strlen(text);

	if (route && route->ndests > 0) {
		for (size_t i = 0; i < route->ndests; i++)
			if (dest_send(gw, &route->dests[i], &n) != 0)
				rc = -VIGIL_EIO;
	} else if (dest_send(gw, &gw->fallback, &n) != 0) {
		rc = -VIGIL_EIO;
	}
	for (size_t i = 0; i < gw->nextra; i++)
		if (dest_send(gw, &gw->extra[i], &n) != 0)
			rc = -VIGIL_EIO;
	free(text);
	return rc;
}

int gateway_submit(struct gateway *gw, const struct alert_event *ev)
{
	char fp[17], ep[17];
	const struct route *route;
	struct open_ep *open, rec;
	struct alert_event e;
	uint64_t fpv, epv;
	uint8_t status;
	char *text;

	if (!gw)
		return -VIGIL_EINVAL;
	gw->st.received++;
	if (!ev)
		return invalid(gw, "no event", ev);
	if (!ev->rule || !ev->series)
		return invalid(gw, "rule and series are required", ev);
	if (ev->status != ALERT_FIRING && ev->status != ALERT_RESOLVED)
		return invalid(gw, "unknown status", ev);
	if (ev->nlabels > ALERT_MAX_LABELS)
		return invalid(gw, "too many labels", ev);
	for (size_t i = 0; i < ev->nlabels; i++)
		if (!ev->labels[i].key || !ev->labels[i].value)
			return invalid(gw, "label without key or value", ev);

	route = route_find(gw, ev->owner);
	if (!route) {
		gw->st.unowned++;
		if (complain_due(&gw->unowned_c, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST)) {
			LOG_WARN(comp,
				 "unowned alert routed to fallback owner=%s rule=%s series=%s "
				 "suppressed_logs=%" PRIu64,
				 ev->owner ? ev->owner : "-", ev->rule, ev->series, gw->unowned_c.suppressed);
			gw->unowned_c.suppressed = 0;
		}
	}

	alert_fingerprint(ev, fp);
	fpv = strtoull(fp, NULL, 16);
	open = ep_find(gw, fpv);
	status = (uint8_t)ev->status;

	if (ev->status == ALERT_FIRING) {
		if (open) {
			/* Same episode repeating, or a different episode id while
			 * one is open: the open one continues. */
			gw->st.suppressed++;
			return 0;
		}
		alert_episode(ev, ep);
		epv = strtoull(ep, NULL, 16);
		if (rc_find(gw, epv, status)) {
			gw->st.suppressed++; /* replay of a delivered transition */
			return 0;
		}
		/* Render before touching state: on failure nothing changed. */
		text = render(ev);
		if (!text)
			return -VIGIL_ENOMEM;
		memset(&rec, 0, sizeof rec);
		rec.fp = fpv;
		rec.ep = epv;
		rec.started = ev->started;
		rec.start_pos = ev->start_pos;
		if (ep_insert(gw, &rec) != 0) {
			free(text);
			return -VIGIL_ENOMEM;
		}
		rc_add(gw, epv, status);
		gw->st.fired++;
		return deliver(gw, ev, fp, ep, route, text);
	}

	/* RESOLVED */
	if (!open) {
		gw->st.suppressed++;
		return 0;
	}
	/* A replayed resolve of an earlier, already closed episode must not
	 * close the episode that is open now. */
	alert_episode(ev, ep);
	epv = strtoull(ep, NULL, 16);
	if (epv != open->ep && rc_find(gw, epv, status)) {
		gw->st.suppressed++;
		return 0;
	}
	/* Otherwise the resolve belongs to the open episode: same id, same
	 * startsAt. */
	e = *ev;
	e.started = open->started;
	e.start_pos = open->start_pos;
	alert_episode(&e, ep);
	text = render(&e);
	if (!text)
		return -VIGIL_ENOMEM;
	epv = open->ep;
	ep_remove(gw, open);
	rc_add(gw, epv, status);
	gw->st.resolved++;
	return deliver(gw, &e, fp, ep, route, text);
}

static void dest_flush(struct dest *d)
{
	if (d->type->flush && d->type->flush(d->priv) != 0)
		LOG_WARN(comp, "flush failed owner=%s type=%s where=%s", d->owner, d->type->name,
			 d->where ? d->where : "-");
}

void gateway_flush(struct gateway *gw)
{
	if (!gw)
		return;
	for (size_t i = 0; i < gw->nroutes; i++)
		for (size_t k = 0; k < gw->routes[i].ndests; k++)
			dest_flush(&gw->routes[i].dests[k]);
	for (size_t i = 0; i < gw->nextra; i++)
		dest_flush(&gw->extra[i]);
	if (gw->have_fallback)
		dest_flush(&gw->fallback);
}

void gateway_get_stats(const struct gateway *gw, struct gateway_stats *out)
{
	if (!gw) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = gw->st;
	out->open_episodes = gw->nep;
}
