/* The gateway between decisions: making its log durable, draining the
 * outboxes, the once-a-second tick (inbox, on-call timers, re-sends) and
 * the statistics. Contracts in sinks/gateway.h.
 * @thread the gateway's caller, but gateway_get_stats (any thread). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "sinks/gateway.h"
#include "sinks/gateway_int.h"

void gateway_flush(struct gateway *gw)
{
	if (gw && gw->log) {
		gw_policy_persist(gw);
		if (gwlog_sync(gw->log) != 0) {
			pthread_mutex_lock(&gw->mu);
			gw->st.log_failures++; /* the state may not survive a restart: said and counted */
			pthread_mutex_unlock(&gw->mu);
		}
	}
}

size_t gateway_drain(struct gateway *gw, double timeout)
{
	gateway_flush(gw);
	size_t left = 0;
	double until = clock_mono_real() + timeout;
	for (size_t g = 0; g < gw->ngens; g++) {
		double t = timeout < 0 ? -1 : until - clock_mono_real();
		left += outbox_drain(gw->gens[g]->ob, timeout < 0 ? -1 : t > 0 ? t : 0);
	}
	gateway_flush(gw);
	return left;
}

void gateway_tick(struct gateway *gw)
{
	if (!gw)
		return;
	double now = clock_mono();
	if (now < gw->next_tick)
		return; /* callers tick per batch: scan once a second */
	gw->next_tick = now + 1.0;
	gw_inbox_poll(gw);
	gw_policy_tick(gw, gw_now(gw));
	if (!gw->any_repeat)
		return;
	for (size_t i = 0; i < gw->nep; i++) {
		struct open_ep *e = &gw->eps[i];
		if (e->text == NULL || e->next_repeat > now)
			continue;
		double every = 0;
		for (size_t d = e->first; d < e->first + e->n; d++) {
			if (gw->dests[d].repeat <= 0)
				continue;
			if (gw_enqueue(gw, d, e->text, -1, -1, 1) == 0) {
				pthread_mutex_lock(&gw->mu);
				gw->st.resends++;
				pthread_mutex_unlock(&gw->mu);
			}
			if (!(every > 0) || gw->dests[d].repeat < every)
				every = gw->dests[d].repeat;
		}
		e->next_repeat = now + (every > 0 ? every : 60);
	}
}

int64_t gateway_min_pending(struct gateway *gw, int32_t part)
{
	int64_t b = gw_groups_min_pending(gw, part);
	for (size_t g = 0; g < gw->ngens; g++) {
		int64_t a = outbox_min_pending(gw->gens[g]->ob, part);
		b = a < b ? a : b;
	}
	return b;
}

void gateway_get_stats(struct gateway *gw, struct gateway_stats *out)
{
	if (!gw) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&gw->mu);
	*out = gw->st;
	out->ndests = gw->ndests < GATEWAY_STAT_DESTS ? gw->ndests : GATEWAY_STAT_DESTS;
	for (size_t i = 0; i < out->ndests; i++) {
		const struct dslot *d = gw->dests[i].slot;
		struct gateway_dest_stat *o = &out->dests[i];
		snprintf(o->id, sizeof o->id, "%s", d->id);
		snprintf(o->type, sizeof o->type, "%s", d->type->name);
		o->delivered = d->delivered;
		o->failed = d->failed;
		o->retries = d->retries;
	}
	pthread_mutex_unlock(&gw->mu);
	out->open_episodes = gw->nep;
	out->groups = gw->ngroups;
	gw_count_alerts(gw, out);
	out->pending = 0;
	for (size_t g = 0; g < gw->ngens; g++)
		out->pending += outbox_pending(gw->gens[g]->ob);
	if (gw->log) { /* the log's own mutex, outside gw->mu */
		int64_t left;
		gwlog_reserve_stats(gw->log, &left, &out->log_reserve_short);
		out->log_reserve_bytes = left > 0 ? (uint64_t)left : 0;
	}
}
