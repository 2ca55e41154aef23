/* The central alert gateway, see gateway.h and docs/alerting.md §3, §8, §9:
 * destinations and routes, the outbox that delivers, the write-ahead log,
 * dead letters and the delivery_failed meta-alert. The decisions themselves
 * are in gateway_decide.c.
 *
 * Destinations: every owner's, then the fallback, then the extras, in one
 * array (gw->dests, rebuilt by a reload); each has a slot (struct dslot):
 * its outbox queue and delivery thread, and its instance, which the outbox
 * reaches through the slot's proxy type so gateway_reload can keep, swap
 * or retire it. Slots live until the gateway goes; the outboxes come in
 * generations (the first from gateway_create, one more per reload that
 * added destinations). A destination's
 * retry policy comes from its settings, which the gateway takes out before
 * the destination sees them:
 *   max_attempts (default 12), max_age (1h), retry_initial (1s),
 *   retry_max (5m).
 * @thread see gateway.h; the outbox's done hook runs on delivery threads. */
#include "sinks/gateway.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/file_reserve.h"
#include "core/hash.h"
#include "core/params.h"
#include "core/timefmt.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

static const struct retry_policy default_policy = {
	.initial = 1.0, .max_delay = 300.0, .max_attempts = 12, .max_age = 3600.0};

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

/* Split the gateway's retry settings out of kv: *pol from them, out/nout
 * the rest (out has room for nkv; strings borrowed). */
static int take_policy(const struct kv *kv, size_t nkv, struct retry_policy *pol, struct kv *out,
		       size_t *nout, char *err, size_t errlen)
{
	*pol = default_policy;
	*nout = 0;
	for (size_t i = 0; i < nkv; i++) {
		const char *k = kv[i].key ? kv[i].key : "", *v = kv[i].value ? kv[i].value : "";
		const char *where = kv[i].where ? kv[i].where : "?";
		double d;
		char *end;
		if (strcmp(k, "max_attempts") == 0) {
			long n = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || n < 1 || n > 1000) {
				snprintf(err, errlen,
					 "%s: max_attempts: want an integer in [1, 1000], got '%s'", where,
					 v);
				return -VIGIL_EINVAL;
			}
			pol->max_attempts = (int)n;
		} else if (strcmp(k, "max_age") == 0 || strcmp(k, "retry_initial") == 0 ||
			   strcmp(k, "retry_max") == 0) {
			if (params_parse_duration(v, &d) != 0 || !(d > 0) || d > 30 * 86400.0) {
				snprintf(err, errlen,
					 "%s: %s: want a duration like 30s, 5m (up to 30d), got '%s'", where,
					 k, v);
				return -VIGIL_EINVAL;
			}
			if (k[0] == 'm')
				pol->max_age = d;
			else if (strcmp(k, "retry_initial") == 0)
				pol->initial = d;
			else
				pol->max_delay = d;
		} else if (strcmp(k, "name") != 0) { /* name: the gateway's (escalation levels) */
			out[(*nout)++] = kv[i];
		}
	}
	if (pol->max_delay < pol->initial)
		pol->max_delay = pol->initial;
	return 0;
}

static int check_dest(const struct owner *o, const struct destination_cfg *d, char *err, size_t errlen)
{
	char serr[512];
	const struct sink_type *t = find_type(d->type, d->where, o->name, err, errlen);
	if (t == NULL)
		return -VIGIL_EINVAL;
	struct kv *rest = calloc(d->nkv ? d->nkv : 1, sizeof *rest);
	struct retry_policy pol;
	size_t nrest;
	if (rest == NULL)
		return -VIGIL_ENOMEM;
	serr[0] = '\0';
	int rc = take_policy(d->kv, d->nkv, &pol, rest, &nrest, serr, sizeof serr);
	if (rc == 0)
		rc = t->check(rest, nrest, serr, sizeof serr);
	free(rest);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s: %s", d->where ? d->where : "?", o->name,
			 serr[0] ? serr : vigil_strerror(rc));
	return rc;
}

int gateway_check(const struct ruleset *rs, char *err, size_t errlen)
{
	int rc;
	for (size_t i = 0; i < rs->nowners; i++) {
		const struct owner *o = &rs->owners[i];
		for (size_t k = 0; k < o->ndests; k++)
			if ((rc = check_dest(o, &o->dests[k], err, errlen)) != 0)
				return rc;
		for (size_t r = 0; r < o->nroutes; r++)
			for (size_t k = 0; k < o->routes[r].ndests; k++)
				if ((rc = check_dest(o, &o->routes[r].dests[k], err, errlen)) != 0)
					return rc;
		for (size_t p = 0; p < o->npeople; p++)
			for (size_t k = 0; k < o->people[p].ndests; k++)
				if ((rc = check_dest(o, &o->people[p].dests[k], err, errlen)) != 0)
					return rc;
	}
	return 0;
}

static int dest_init(const struct sink_env *env, struct dest *d, const char *type, const struct kv *kv,
		     size_t nkv, const char *where, const char *owner, char *err, size_t errlen)
{
	char serr[512];
	struct kv *rest = NULL;
	size_t nrest = 0;
	int rc;

	memset(d, 0, sizeof *d);
	d->owner = owner;
	d->where = where ? where : "-";
	d->type = find_type(type, where, owner, err, errlen);
	if (!d->type)
		return -VIGIL_EINVAL;
	rest = calloc(nkv ? nkv : 1, sizeof *rest);
	if (rest == NULL) {
		snprintf(err, errlen, "gateway: out of memory");
		d->type = NULL;
		return -VIGIL_ENOMEM;
	}
	serr[0] = '\0';
	rc = take_policy(kv, nkv, &d->policy, rest, &nrest, serr, sizeof serr);
	if (rc == 0)
		rc = d->type->create(env, rest, nrest, &d->priv, serr, sizeof serr);
	free(rest);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s: %s", where ? where : "?", owner,
			 serr[0] ? serr : vigil_strerror(rc));
		d->type = NULL;
		d->priv = NULL;
		return rc < 0 ? rc : -VIGIL_EINVAL;
	}
	return 0;
}

/* ---- slots: a destination's queue, seen by the outbox through a proxy ---- */

static void proxy_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct dslot *s = priv;
	pthread_mutex_lock(&s->mu);
	if (s->retired)
		sink_result_set(res, SINK_DROP, 0, "destination %s was removed by a reload of the owners",
				s->id);
	else
		s->type->send(s->priv, n, res);
	pthread_mutex_unlock(&s->mu);
}

static int proxy_flush(void *priv)
{
	struct dslot *s = priv;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (!s->retired && s->type->flush)
		rc = s->type->flush(s->priv);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* What a destination's settings are: type and every key=value as written
 * (a secret as its reference); *secrets = some value is an env:/file:
 * reference (its resolved value may change without the text changing). */
static uint64_t dest_cfg_hash(const char *type, const struct destination_cfg *c, int *secrets)
{
	uint64_t h = hash_str(HASH_SEED, type ? type : "");
	*secrets = 0;
	for (size_t i = 0; c && i < c->nkv; i++) {
		const char *k = c->kv[i].key ? c->kv[i].key : "", *v = c->kv[i].value ? c->kv[i].value : "";
		h = hash_bytes(hash_str(h, k), "=", 1);
		h = hash_bytes(hash_str(h, v), "\n", 1);
		if (strncmp(v, "env:", 4) == 0 || strncmp(v, "file:", 5) == 0)
			*secrets = 1;
	}
	return hash_mix(h);
}

void gw_slot_free(struct dslot *s)
{
	if (s == NULL)
		return;
	if (s->priv && s->type && s->type->destroy)
		s->type->destroy(s->priv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- queueing, dead letters, meta-alerts ---- */

/* Queue json on slot s (any thread: meta-alerts come from delivery threads). */
static int slot_enqueue(struct gateway *gw, const struct dslot *s, const char *json, int32_t part,
			int64_t off, int resend)
{
	uint64_t seq = atomic_fetch_add(&gw->seq, 1);
	double now = clock_wall();
	if (gw->log && !resend)
		gwlog_send(gw->log, seq, s->id, json, now);
	int rc = outbox_enqueue(s->ob, s->obi, seq, json, part, off, now);
	if (rc == 0) {
		pthread_mutex_lock(&gw->mu);
		gw->st.notifications++;
		pthread_mutex_unlock(&gw->mu);
	}
	return rc;
}

int gw_enqueue(struct gateway *gw, size_t d, const char *json, int32_t part, int64_t off, int resend)
{
	return slot_enqueue(gw, gw->dests[d].slot, json, part, off, resend);
}

/* Append the dead-letter record (under gw->mu). */
static void dead_letter(struct gateway *gw, const struct dslot *d, const struct outbox_done *od)
{
	if (gw->dead_path == NULL)
		return;
	char ts[40];
	time_format_rfc3339(clock_wall(), ts, sizeof ts);
	json_error_t je;
	json_t *n = json_loads(od->json, 0, &je);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:o?}", "time", ts, "owner", d->owner,
				"destination", d->type->name, "where", d->where, "attempts", od->attempts,
				"status", od->last->status, "detail", od->last->detail, "notification", n);
	char *s = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	FILE *f = s ? fopen(gw->dead_path, "a") : NULL;
	if (f == NULL || fprintf(f, "%s\n", s) < 0 || fflush(f) != 0 || fdatasync(fileno(f)) != 0)
		LOG_ERR(comp, "event=dead_letter_write_failed path=%s err=\"%s\"", gw->dead_path,
			strerror(errno));
	if (f)
		fclose(f);
	free(s);
}

/* The delivery_failed meta-alert for a notification given up on d. */
static void meta_alert(struct gateway *gw, const struct dslot *d, const struct outbox_done *od)
{
	json_error_t je;
	json_t *j = json_loads(od->json, 0, &je);
	const char *rule = j ? json_string_value(json_object_get(j, "rule")) : NULL;
	const char *ep = j ? json_string_value(json_object_get(j, "episode")) : NULL;
	const char *st = j ? json_string_value(json_object_get(j, "status")) : NULL;
	char series[512], summary[1024], seqs[32];
	struct alert_event ev;

	memset(&ev, 0, sizeof ev);
	snprintf(series, sizeof series, "vigil.delivery_failed{destination=%s,owner=%s}", d->type->name,
		 d->owner);
	snprintf(summary, sizeof summary,
		 "delivery of %s (%s, episode %s) to %s's %s destination failed after %d attempt(s): %s",
		 rule ? rule : "?", st ? st : "?", ep ? ep : "?", d->owner, d->type->name, od->attempts,
		 od->last->detail);
	snprintf(seqs, sizeof seqs, "%" PRIu64, od->seq);
	ev.status = ALERT_FIRING;
	ev.rule = GW_META_RULE;
	ev.owner = GW_META_OWNER;
	ev.action = "notify";
	ev.detector = "gateway";
	ev.series = series;
	ev.name = "vigil.delivery_failed";
	ev.summary = summary;
	ev.labels[0] = (struct kv){"failed_owner", d->owner, NULL};
	ev.labels[1] = (struct kv){"destination", d->type->name, NULL};
	ev.labels[2] = (struct kv){"where", d->where, NULL};
	ev.labels[3] = (struct kv){"episode", ep ? ep : "", NULL};
	ev.labels[4] = (struct kv){"notification_seq", seqs, NULL};
	ev.nlabels = 5;
	ev.ts = ev.started = clock_wall();
	ev.value = ev.expected = ev.lower = ev.upper = NAN;
	ev.score = 1.0;
	ev.direction = "both";
	ev.threshold = 1.0;
	ev.source = "gateway";
	ev.start_pos = ev.pos = (int64_t)od->seq;
	json_t *m = alert_to_json(&ev);
	char *text = m ? json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(m);
	json_decref(j);
	if (text == NULL || slot_enqueue(gw, gw->fallback_slot, text, -1, -1, 0) != 0)
		LOG_ERR(comp, "event=meta_alert_failed owner=%s", d->owner);
	free(text);
}

/* The outbox's done hook (a delivery thread). */
static void on_done(void *ctx, const struct outbox_done *od)
{
	struct obgen *gen = ctx;
	struct gateway *gw = gen->gw;
	struct dslot *d = gen->slots[od->dest];
	if (gw->log)
		gwlog_done(gw->log, od->seq, od->dead);
	pthread_mutex_lock(&gw->mu);
	uint64_t again = (uint64_t)(od->attempts > 1 ? od->attempts - 1 : 0);
	gw->st.retries += again;
	d->retries += again;
	if (!od->dead) {
		gw->st.delivered++;
		d->delivered++;
		pthread_mutex_unlock(&gw->mu);
		return;
	}
	int retired = od->last->verdict == SINK_DROP && d->retired; /* its instance is gone */
	if (retired) {
		gw->st.dest_removed_drops++;
		d->dropped++;
	} else {
		gw->st.failed++;
		d->failed++;
	}
	dead_letter(gw, d, od);
	pthread_mutex_unlock(&gw->mu);
	if (retired) { /* said and counted, no meta-alert: the owner removed it on purpose */
		LOG_WARN(comp,
			 "event=notification_dropped reason=destination_removed owner=%s id=%s type=%s "
			 "seq=%" PRIu64,
			 d->owner, d->id, d->type->name, od->seq);
		return;
	}
	LOG_ERR(comp,
		"event=delivery_failed owner=%s type=%s where=%s attempts=%d status=%d seq=%" PRIu64
		" detail=\"%s\"",
		d->owner, d->type->name, d->where, od->attempts, od->last->status, od->seq, od->last->detail);
	/* the fallback reports everyone's failures, not its own (no loop) */
	if (d != gw->fallback_slot)
		meta_alert(gw, d, od);
}

/* ---- restore from the log ---- */

/* Pending notifications are collected during the replay and queued once
 * the log and the outbox are both running (a delivery finishing during the
 * replay could not be recorded). */
struct restored {
	uint64_t seq;
	size_t dest;
	double at;
	char *json;
};

struct restore_ctx {
	struct gateway *gw;
	struct restored *v;
	size_t n, cap;
	uint64_t dropped;
};

static void restore_open(void *ctx, uint64_t ep, uint64_t fp, double started, int64_t start_pos)
{
	struct restore_ctx *rc = ctx;
	if (gw_restore_open(rc->gw, ep, fp, started, start_pos) != 0)
		LOG_ERR(comp, "event=restore_failed err=\"out of memory\"");
}

static void restore_put(void *ctx, const char *ns, uint64_t key, json_t *v)
{
	struct restore_ctx *rc = ctx;
	(void)key;
	if (gw_policy_restore(rc->gw, ns, v, -1) != 0)
		LOG_ERR(comp, "event=restore_failed err=\"out of memory\"");
}

static void restore_closed(void *ctx, uint64_t ep, uint64_t fp)
{
	struct restore_ctx *rc = ctx;
	(void)fp;
	gw_restore_closed(rc->gw, ep);
}

/* Keep (seq, dest, at, json) for after the replay; dest SIZE_MAX = gone. */
static int restore_push(struct restore_ctx *rc, uint64_t seq, size_t dest, double at, const char *json)
{
	if (vec_reserve((void **)&rc->v, &rc->cap, rc->n + 1, sizeof *rc->v) != 0)
		return -1;
	char *copy = json ? strdup(json) : NULL;
	if (json && copy == NULL)
		return -1;
	rc->v[rc->n++] = (struct restored){seq, dest, at, copy};
	return 0;
}

static void restore_pending(void *ctx, uint64_t seq, const char *dest_id, const char *json, double at)
{
	struct restore_ctx *rc = ctx;
	struct gateway *gw = rc->gw;
	size_t d = SIZE_MAX;
	for (size_t i = 0; i < gw->ndests && d == SIZE_MAX; i++)
		if (strcmp(gw->dests[i].id, dest_id) == 0)
			d = i;
	if (d == SIZE_MAX) {
		rc->dropped++;
		LOG_ERR(comp,
			"event=restore_dropped seq=%" PRIu64
			" dest=%s: no such destination in the current owners",
			seq, dest_id);
	}
	if (restore_push(rc, seq, d, at, d == SIZE_MAX ? NULL : json) != 0)
		LOG_ERR(comp, "event=restore_failed seq=%" PRIu64 " err=\"out of memory\"", seq);
}

/* ---- create / destroy ---- */

/* During gateway_reload: the running destination with log id `id`, or NULL. */
static const struct dest *reload_match(const struct gateway *gw, const char *id)
{
	for (size_t i = 0; i < gw->reload_nfrom; i++)
		if (strcmp(gw->reload_from[i].id, id) == 0)
			return &gw->reload_from[i];
	return NULL;
}

int gw_add_dest(struct gateway *gw, const struct destination_cfg *c, const char *type, const char *owner,
		const char *id, char *err, size_t errlen)
{
	struct dest *d = &gw->dests[gw->ndests];
	int secrets;
	uint64_t cfg = dest_cfg_hash(type, c, &secrets);
	const struct dest *old = gw->reload_from ? reload_match(gw, id) : NULL;
	const char *where = c ? c->where : owner;

	if (old && old->slot->type == sink_find(type) && old->slot->cfg == cfg && !secrets) {
		*d = *old; /* unchanged: the same queue and instance */
		d->owner = owner;
		d->where = where ? where : "-";
		d->swap = 0;
		gw->ndests++;
		return 0;
	}
	int rc = dest_init(&gw->env, d, type, c ? c->kv : NULL, c ? c->nkv : 0, where, owner, err, errlen);
	if (rc)
		return rc;
	snprintf(d->id, sizeof d->id, "%s", id);
	d->repeat = d->type->repeat_every ? d->type->repeat_every(d->priv) : 0;
	if (d->repeat > 0)
		gw->any_repeat = 1;
	d->cfg = cfg;
	if (old && old->slot->type == d->type) {
		d->slot = old->slot; /* changed settings: the same queue, the new instance at commit */
		d->swap = 1;
		gw->ndests++;
		return 0;
	}
	/* a new queue (started by gw_outbox_grow) */
	struct dslot *s = calloc(1, sizeof *s);
	if (s == NULL ||
	    vec_reserve((void **)&gw->slots, &gw->capslots, gw->nslots + 1, sizeof *gw->slots) != 0) {
		free(s);
		if (d->type->destroy)
			d->type->destroy(d->priv);
		snprintf(err, errlen, "gateway: out of memory");
		return -VIGIL_ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->type = d->type;
	s->priv = d->priv;
	s->proxy = *d->type;
	s->proxy.send = proxy_send;
	s->proxy.flush = d->type->flush ? proxy_flush : NULL;
	snprintf(s->id, sizeof s->id, "%s", id);
	s->owner = d->owner;
	s->where = d->where;
	s->cfg = cfg;
	s->secrets = secrets;
	gw->slots[gw->nslots++] = s;
	d->slot = s;
	d->swap = 0;
	gw->ndests++;
	return 0;
}

int gw_outbox_grow(struct gateway *gw)
{
	struct obgen *g = NULL;
	size_t n = 0;
	int rc = -VIGIL_ENOMEM;

	for (size_t i = 0; i < gw->ndests; i++)
		n += gw->dests[i].slot->ob == NULL;
	if (n == 0)
		return 0;
	if (vec_reserve((void **)&gw->gens, &gw->capgens, gw->ngens + 1, sizeof *gw->gens) != 0 ||
	    (g = calloc(1, sizeof *g)) == NULL || (g->obd = calloc(n, sizeof *g->obd)) == NULL ||
	    (g->slots = calloc(n, sizeof *g->slots)) == NULL)
		goto fail;
	g->gw = gw;
	for (size_t i = 0; i < gw->ndests; i++) {
		struct dslot *s = gw->dests[i].slot;
		int dup = 0;
		for (size_t k = 0; k < g->n; k++)
			dup |= g->slots[k] == s;
		if (s->ob != NULL || dup)
			continue;
		g->obd[g->n] =
			(struct outbox_dest){&s->proxy, s, s->owner, s->where, s->id, gw->dests[i].policy};
		g->slots[g->n++] = s;
	}
	struct outbox_hooks hooks = {g, on_done};
	if ((rc = outbox_create(g->obd, g->n, &hooks, &g->ob)) != 0)
		goto fail;
	if (gw->done_set)
		outbox_attach_done(g->ob, gw->done_set); /* a reload's new queues share the record */
	for (size_t k = 0; k < g->n; k++) {
		g->slots[k]->ob = g->ob;
		g->slots[k]->obi = k;
	}
	gw->gens[gw->ngens++] = g;
	return 0;
fail:
	if (g) {
		free(g->obd);
		free(g->slots);
		free(g);
	}
	return rc < 0 ? rc : -VIGIL_ENOMEM;
}

struct export_map {
	struct gateway *gw;
	struct obgen *gen;
	void (*fn)(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at);
	void *ctx;
};

static void export_one(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at)
{
	struct export_map *m = ctx;
	const struct dslot *s = m->gen->slots[dest];
	for (size_t i = 0; i < m->gw->ndests; i++)
		if (m->gw->dests[i].slot == s) {
			m->fn(m->ctx, i, seq, json, decided_at);
			return;
		}
}

void gw_outbox_export(struct gateway *gw, int32_t part,
		      void (*fn)(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at),
		      void *ctx)
{
	for (size_t g = 0; g < gw->ngens; g++) {
		struct export_map m = {gw, gw->gens[g], fn, ctx};
		outbox_export(gw->gens[g]->ob, part, export_one, &m);
	}
}

size_t gw_outbox_cancel(struct gateway *gw, int32_t part)
{
	size_t n = 0;
	for (size_t g = 0; g < gw->ngens; g++)
		n += outbox_cancel(gw->gens[g]->ob, part);
	return n;
}

int gateway_hold(struct gateway *gw, int32_t part, int on)
{
	int rc = 0;
	for (size_t g = 0; g < gw->ngens; g++) {
		int r = outbox_hold(gw->gens[g]->ob, part, on);
		if (r != 0)
			rc = r;
	}
	return rc;
}

size_t gateway_wait_sending(struct gateway *gw, int32_t part, double until)
{
	size_t n = 0;
	for (size_t g = 0; g < gw->ngens; g++)
		n += outbox_wait_sending(gw->gens[g]->ob, part, until);
	return n;
}

int gateway_create(const struct ruleset *rs, const struct gateway_opts *o, struct gateway **out, char *err,
		   size_t errlen)
{
	static const struct gateway_opts defaults = {0};
	struct gateway *gw;
	struct restore_ctx rctx = {0};
	size_t total = 1;
	char id[192];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (!o)
		o = &defaults;
	gw = calloc(1, sizeof *gw);
	if (!gw) {
		snprintf(err, errlen, "gateway: out of memory");
		return -VIGIL_ENOMEM;
	}
	pthread_mutex_init(&gw->mu, NULL);
	atomic_init(&gw->seq, 1);
	rctx.gw = gw;
	gw->rs = rs;
	gw->env = o->env;
	/* a reload creates destinations later: the key is the gateway's own copy */
	if (o->env.url_key && (gw->env.url_key = gw->url_key = strdup(o->env.url_key)) == NULL) {
		snprintf(err, errlen, "gateway: out of memory");
		free(gw);
		return -VIGIL_ENOMEM;
	}
	gw->data_time = o->data_time;
	total += gw_routes_ndests(rs);
	total += o->nextra;
	gw->dests = calloc(total, sizeof *gw->dests);
	gw->routes = calloc(rs && rs->nowners ? rs->nowners : 1, sizeof *gw->routes);
	if (!gw->dests || !gw->routes || gw_episodes_init(gw) != 0 || gw_groups_init(gw) != 0) {
		snprintf(err, errlen, "gateway: out of memory");
		goto fail;
	}
	if ((rc = gw_routes_build(gw, rs, NULL, 0, err, errlen)) != 0)
		goto fail;
	gw->fallback = gw->ndests;
	if ((rc = gw_add_dest(gw, NULL, o->fallback_sink ? o->fallback_sink : "stdout", "(fallback)",
			      "(fallback)", err, errlen)) != 0)
		goto fail;
	gw->fallback_slot = gw->dests[gw->fallback].slot;
	gw->first_extra = gw->ndests;
	for (size_t i = 0; i < o->nextra; i++) {
		snprintf(id, sizeof id, "(extra)#%zu", i);
		if ((rc = gw_add_dest(gw, &o->extra[i], o->extra[i].type, "(extra)", id, err, errlen)) != 0)
			goto fail;
		gw->nextra++;
	}
	if (o->state_dir) {
		size_t n = strlen(o->state_dir) + 32;
		gw->dead_path = malloc(n);
		if (gw->dead_path == NULL) {
			rc = -VIGIL_ENOMEM;
			goto fail;
		}
		snprintf(gw->dead_path, n, "%s/dead_letters.jsonl", o->state_dir);
		if (gw_inbox_init(gw, o->state_dir) != 0) {
			rc = -VIGIL_ENOMEM;
			goto fail;
		}
		struct gwlog_replay rp = {&rctx, restore_open, restore_closed, restore_pending, restore_put};
		uint64_t next = 1, skipped = 0;
		int64_t reserve = o->log_reserve == 0  ? FILE_RESERVE_DEFAULT
				  : o->log_reserve < 0 ? 0
						       : o->log_reserve;
		if ((rc = gwlog_open(o->state_dir, reserve, &rp, &gw->log, &next, &skipped, err, errlen)) !=
		    0)
			goto fail;
		atomic_store(&gw->seq, next);
		if (skipped)
			LOG_WARN(comp, "event=log_lines_skipped count=%" PRIu64 " dir=%s", skipped,
				 o->state_dir);
	}
	if ((rc = gw_outbox_grow(gw)) != 0) {
		snprintf(err, errlen, "gateway: cannot start delivery threads");
		goto fail;
	}
	for (size_t i = 0; i < rctx.n; i++) {
		struct restored *r = &rctx.v[i];
		if (r->dest == SIZE_MAX) { /* its destination is gone: finished as dead */
			gwlog_done(gw->log, r->seq, 1);
			continue;
		}
		const struct dslot *s = gw->dests[r->dest].slot;
		if (outbox_enqueue(s->ob, s->obi, r->seq, r->json, -1, -1, r->at) == 0) {
			gw->st.restored++;
			gw->st.notifications++;
		}
	}
	if (o->state_dir)
		LOG_INFO(comp, "event=restored dir=%s open_episodes=%zu pending=%" PRIu64 " dropped=%" PRIu64,
			 o->state_dir, gw->nep, gw->st.restored, rctx.dropped);
	gw_inbox_poll(gw); /* commands given while it was not running */
	rc = 0;
fail:
	for (size_t i = 0; i < rctx.n; i++)
		free(rctx.v[i].json);
	free(rctx.v);
	if (rc == 0) {
		*out = gw;
		return 0;
	}
	gateway_destroy(gw);
	return rc;
}

void gateway_destroy(struct gateway *gw)
{
	if (!gw)
		return;
	for (size_t g = 0; g < gw->ngens; g++) {
		outbox_destroy(gw->gens[g]->ob);
		free(gw->gens[g]->obd);
		free(gw->gens[g]->slots);
		free(gw->gens[g]);
	}
	free(gw->gens);
	for (size_t i = 0; i < gw->nslots; i++)
		gw_slot_free(gw->slots[i]);
	free(gw->slots);
	gwlog_close(gw->log);
	free(gw->dests);
	gw_oncall_fini(gw);
	gw_groups_fini(gw);
	gw_routes_fini(gw);
	free(gw->dead_path);
	free(gw->inbox_path);
	if (gw->url_key) {
		explicit_bzero(gw->url_key, strlen(gw->url_key));
		free(gw->url_key);
	}
	gw_episodes_fini(gw);
	pthread_mutex_destroy(&gw->mu);
	free(gw);
}
