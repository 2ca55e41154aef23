/* The gateway's decisions (see gateway.h): identity, episodes, recent
 * transitions, and which notifications an event becomes.
 *
 * State:
 *  - the open episodes: a packed array of (episode, fingerprint, started,
 *    start_pos) with two indexes (core/htab.h): by episode (the key) and by
 *    fingerprint (to notice a series with two episodes open: split_series).
 *    Closed episodes are removed, so memory is bounded by the number of
 *    episodes open right now;
 *  - the recent-transition memory: the last GW_RECENT decided (episode,
 *    status) pairs, a ring indexed by the pair, so a transition submitted
 *    again after its episode closed (a replay) is suppressed.
 * @thread the gateway's caller only. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

/* ---- open episodes ---- */

static uint64_t ep_hash(const void *ctx, uint32_t id)
{
	const struct gateway *gw = ctx;
	return hash_mix(gw->eps[id].ep);
}

static uint64_t fp_hash(const void *ctx, uint32_t id)
{
	const struct gateway *gw = ctx;
	return hash_mix(gw->eps[id].fp);
}

static int ep_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct gateway *gw = ctx;
	return gw->eps[id].ep == *(const uint64_t *)key;
}

static int fp_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct gateway *gw = ctx;
	return gw->eps[id].fp == *(const uint64_t *)key;
}

struct open_ep *gw_ep_find(struct gateway *gw, uint64_t ep)
{
	uint32_t id = htab_find(&gw->ep_index, hash_mix(ep), ep_eq, ep_hash, gw, &ep);
	return id == HTAB_NONE ? NULL : &gw->eps[id];
}

static int fp_open(struct gateway *gw, uint64_t fp)
{
	return htab_find(&gw->fp_index, hash_mix(fp), fp_eq, fp_hash, gw, &fp) != HTAB_NONE;
}

/* Insert (ep not present). 0 or -VIGIL_ENOMEM (nothing changed). */
int gw_ep_insert(struct gateway *gw, const struct open_ep *rec)
{
	if (gw->nep == gw->epcap) {
		size_t ncap = gw->epcap ? gw->epcap * 2 : 64;
		struct open_ep *n = ncap < UINT32_MAX - 2 ? realloc(gw->eps, ncap * sizeof *n) : NULL;
		if (!n)
			return -VIGIL_ENOMEM;
		gw->eps = n;
		gw->epcap = ncap;
	}
	uint32_t id = (uint32_t)gw->nep;
	gw->eps[id] = *rec;
	if (htab_insert(&gw->ep_index, hash_mix(rec->ep), id, ep_hash, gw) != 0)
		return -VIGIL_ENOMEM;
	if (htab_insert(&gw->fp_index, hash_mix(rec->fp), id, fp_hash, gw) != 0) {
		htab_remove(&gw->ep_index, hash_mix(rec->ep), id, ep_hash, gw);
		return -VIGIL_ENOMEM;
	}
	gw->nep++;
	return 0;
}

static void unindex(struct gateway *gw, uint32_t id)
{
	htab_remove(&gw->ep_index, hash_mix(gw->eps[id].ep), id, ep_hash, gw);
	htab_remove(&gw->fp_index, hash_mix(gw->eps[id].fp), id, fp_hash, gw);
}

/* Remove e; the last record moves into its place (re-indexed; the slots
 * freed by the removals make room, so the inserts cannot fail). */
void gw_ep_remove(struct gateway *gw, struct open_ep *e)
{
	uint32_t id = (uint32_t)(e - gw->eps), last = (uint32_t)(gw->nep - 1);
	free(e->text);
	e->text = NULL;
	unindex(gw, id);
	if (id != last) {
		unindex(gw, last);
		gw->eps[id] = gw->eps[last];
		htab_insert(&gw->ep_index, hash_mix(gw->eps[id].ep), id, ep_hash, gw);
		htab_insert(&gw->fp_index, hash_mix(gw->eps[id].fp), id, fp_hash, gw);
	}
	gw->nep--;
}

/* ---- recent transitions ---- */

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
	struct recent k = {ep, status, -1};
	return htab_find(&gw->rc_index, rc_key(ep, status), rc_eq, rc_hash, gw, &k) != HTAB_NONE;
}

/* Remember (ep, status); evicts the oldest pair when GW_RECENT are held. */
void gw_recent_add(struct gateway *gw, uint64_t ep, uint8_t status, int32_t part)
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
	gw->ring[at] = (struct recent){ep, status, part};
	/* cannot fail: the index was sized for GW_RECENT at creation */
	htab_insert(&gw->rc_index, rc_key(ep, status), (uint32_t)at, rc_hash, gw);
}

int gw_episodes_init(struct gateway *gw)
{
	htab_init(&gw->ep_index);
	htab_init(&gw->fp_index);
	htab_init(&gw->rc_index);
	/* size the recent index once so that rc_add never allocates */
	for (uint32_t i = 0; i < GW_RECENT; i++) {
		gw->ring[i] = (struct recent){i, 0, -1};
		if (htab_insert(&gw->rc_index, rc_key(i, 0), i, rc_hash, gw) != 0)
			return -VIGIL_ENOMEM;
	}
	htab_reset(&gw->rc_index);
	return 0;
}

void gw_episodes_fini(struct gateway *gw)
{
	for (size_t i = 0; i < gw->nep; i++)
		free(gw->eps[i].text);
	free(gw->eps);
	gw->eps = NULL;
	htab_fini(&gw->ep_index);
	htab_fini(&gw->fp_index);
	htab_fini(&gw->rc_index);
}

int gw_restore_open(struct gateway *gw, uint64_t ep, uint64_t fp, double started, int64_t start_pos)
{
	struct open_ep rec = {.ep = ep, .fp = fp, .part = -1, .started = started, .start_pos = start_pos};
	if (gw_ep_find(gw, ep))
		return 0;
	gw_recent_add(gw, ep, ALERT_FIRING, -1);
	return gw_ep_insert(gw, &rec);
}

void gw_restore_closed(struct gateway *gw, uint64_t ep)
{
	gw_recent_add(gw, ep, ALERT_FIRING, -1);
	gw_recent_add(gw, ep, ALERT_RESOLVED, -1);
}

/* ---- submit ---- */

static int invalid(struct gateway *gw, const char *why, const struct alert_event *ev)
{
	if (complain_due(&gw->invalid_c, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST)) {
		LOG_WARN(comp, "event=invalid_alert reason=\"%s\" rule=%s suppressed_logs=%" PRIu64, why,
			 ev && ev->rule ? ev->rule : "-", gw->invalid_c.suppressed);
		gw->invalid_c.suppressed = 0;
	}
	return -VIGIL_EINVAL;
}

/* The notification line for ev (alert JSON with identity): caller frees. */
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

/* Queue text: for a known owner through its routes and groups
 * (gateway_group.c), else at once to the fallback destination; and at once
 * to every extra destination (an audit trail of every decision). */
static int notify(struct gateway *gw, const struct alert_event *ev, uint64_t ep, const char *text,
		  int32_t part, int64_t off)
{
	int rc = gw_policy_submit(gw, ev, ep, text, part, off);
	if (rc == -VIGIL_ENOENT) {
		rc = 0;
		if (gw_enqueue(gw, gw->fallback, text, part, off, 0) != 0)
			rc = -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < gw->nextra; i++)
		if (gw_enqueue(gw, gw->first_extra + i, text, part, off, 0) != 0)
			rc = -VIGIL_ENOMEM;
	return rc;
}

void gateway_advance(struct gateway *gw, double t)
{
	if (!gw->data_time || !(t > gw->data_now))
		return;
	gw->data_now = t;
	if (gw->data_now >= gw->data_next_tick) {
		gw->data_next_tick = gw->data_now + 1.0;
		gw_policy_tick(gw, gw->data_now);
	}
}

int gateway_submit(struct gateway *gw, const struct alert_event *ev)
{
	return gateway_submit_tagged(gw, ev, -1, -1);
}

static int submit(struct gateway *gw, const struct alert_event *ev, int32_t part, int64_t off);

/* One event is one group of the write-ahead log: its open/close record and
 * the notifications it decides survive a crash together or not at all. */
int gateway_submit_tagged(struct gateway *gw, const struct alert_event *ev, int32_t part, int64_t off)
{
	if (gw && gw->log)
		gwlog_begin(gw->log);
	int rc = submit(gw, ev, part, off);
	if (gw && gw->log)
		gwlog_end(gw->log);
	return rc;
}

static int submit(struct gateway *gw, const struct alert_event *ev, int32_t part, int64_t off)
{
	char fp[17], ep[17];
	uint64_t fpv, epv;
	size_t first, n;

	if (!gw)
		return -VIGIL_EINVAL;
	gw->st.received++;
	if (!ev)
		return invalid(gw, "no event", ev);
	if (!ev->rule || !ev->series)
		return invalid(gw, "rule and series are required", ev);
	if (ev->status != ALERT_FIRING && ev->status != ALERT_RESOLVED)
		return invalid(gw, "unknown status", ev);
	gateway_advance(gw, ev->ts); /* what fell due before this event happens first */
	if (ev->nlabels > ALERT_MAX_LABELS)
		return invalid(gw, "too many labels", ev);
	for (size_t i = 0; i < ev->nlabels; i++)
		if (!ev->labels[i].key || !ev->labels[i].value)
			return invalid(gw, "label without key or value", ev);

	if (gw_route(gw, ev->owner, &first, &n) != 0) {
		gw->st.unowned++;
		if (complain_due(&gw->unowned_c, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST)) {
			LOG_WARN(comp,
				 "event=unowned_alert owner=%s rule=%s series=%s routed_to=fallback "
				 "suppressed_logs=%" PRIu64,
				 ev->owner ? ev->owner : "-", ev->rule, ev->series, gw->unowned_c.suppressed);
			gw->unowned_c.suppressed = 0;
		}
	}
	alert_fingerprint(ev, fp);
	alert_episode(ev, ep);
	fpv = strtoull(fp, NULL, 16);
	epv = strtoull(ep, NULL, 16);
	uint8_t status = (uint8_t)ev->status;
	struct open_ep *open = gw_ep_find(gw, epv);

	if (ev->status == ALERT_FIRING) {
		if (open || rc_find(gw, epv, status) || rc_find(gw, epv, ALERT_RESOLVED)) {
			/* the open episode repeating, a replay, or a firing that
			 * arrives after its own resolve (out of order) */
			gw->st.suppressed++;
			return 0;
		}
		if (fp_open(gw, fpv)) {
			gw->st.split_series++;
			if (complain_due(&gw->split_c, clock_mono(), COMPLAIN_INTERVAL, COMPLAIN_BURST))
				LOG_WARN(comp,
					 "event=split_series rule=%s series=%s episode=%s: another episode "
					 "of this "
					 "series is open (the series reaches two members: key its input by "
					 "series)",
					 ev->rule, ev->series, ep);
		}
		char *text = render(ev);
		if (!text)
			return -VIGIL_ENOMEM;
		struct open_ep rec = {.ep = epv,
				      .fp = fpv,
				      .part = part,
				      .owner = gw_owner_name(gw, ev->owner),
				      .started = ev->started,
				      .start_pos = ev->start_pos};
		if (gw_ep_insert(gw, &rec) != 0) {
			free(text);
			return -VIGIL_ENOMEM;
		}
		gw_recent_add(gw, epv, status, part);
		if (gw->log)
			gwlog_open_ep(gw->log, epv, fpv, ev->started, ev->start_pos);
		gw->st.fired++;
		int rc = notify(gw, ev, epv, text, part, off);
		free(text);
		return rc;
	}

	/* RESOLVED: closes only its own episode */
	if (!open && rc_find(gw, epv, status)) {
		gw->st.suppressed++; /* a replayed resolve */
		return 0;
	}
	if (!open && rc_find(gw, epv, ALERT_FIRING) == 0)
		gw->st.orphan_resolves++; /* fired before this process: resolve anyway */
	char *text = render(ev);
	if (!text)
		return -VIGIL_ENOMEM;
	if (open)
		gw_ep_remove(gw, open);
	gw_recent_add(gw, epv, status, part);
	if (gw->log)
		gwlog_close_ep(gw->log, epv, fpv);
	gw->st.resolved++;
	int rc = notify(gw, ev, epv, text, part, off);
	free(text);
	return rc;
}
