/* The gateway's state per alerts-topic partition (gateway.h:
 * gateway_export / gateway_import / gateway_release), for the Kafka
 * deployment, where a gateway member owns partitions of the alerts topic
 * and hands them over on a rebalance or a failure.
 *
 * A snapshot is one JSON object (schema "vigil.gateway/1"):
 *   {"schema":…, "partition":P,
 *    "open":[{"ep","fp","started","start_pos","owner","text"?}],
 *    "recent_packed":"<ep><status>…",      the recent transitions, oldest
 *                                            first: 16 hex digits of the
 *                                            episode and one decimal digit of
 *                                            its status each (17 characters)
 *    "pending":[{"dest","seq","at","json"}],  the unfinished notifications
 *    "groups":[…], "escalations":[…], "budgets":[…], "silences":[…]}
 *                                            the on-call state (gateway_persist.c)
 * Importing re-queues the pending notifications (dedup keys unchanged, so a
 * receiver drops one that the previous owner had delivered after its last
 * snapshot) and restores episodes and recent transitions, tagged with P.
 * Snapshots written before "recent_packed" carry "recent":[{"ep","status"}]
 * instead; both are read. The packed form is one string rather than one
 * JSON object per transition: a full ring (GW_RECENT) built as objects took
 * about 1.7 MB of short-lived heap at every checkpoint, which the process
 * kept as RSS (RELIABILITY.md, Load and soak); packed it is 70 KB.
 * @thread the gateway's caller. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "sinks/gateway_int.h"

#define SNAP_SCHEMA "vigil.gateway/1"

static const char comp[] = "gateway";

struct export_ctx {
	struct gateway *gw;
	json_t *arr;
	int ok;
};

static void export_pending(void *ctx, size_t dest, uint64_t seq, const char *json, double at)
{
	struct export_ctx *x = ctx;
	json_t *o = json_pack("{s:s, s:I, s:f, s:s}", "dest", x->gw->dests[dest].id, "seq", (json_int_t)seq,
			      "at", at, "json", json);
	if (o == NULL || json_array_append_new(x->arr, o) != 0)
		x->ok = 0;
}

#define PACKED_LEN 17 /* one recent transition in "recent_packed" */

/* The recent transitions of partition part, oldest first, as the text of
 * "recent_packed" (a new string; NULL on allocation failure). */
static json_t *export_recent(const struct gateway *gw, int32_t part)
{
	size_t n = 0;
	for (size_t k = 0; k < gw->ring_n; k++)
		if (gw->ring[(gw->ring_head + k) % GW_RECENT].part == part)
			n++;
	char *text = malloc(n * PACKED_LEN + 1), *at = text;
	if (text == NULL)
		return NULL;
	for (size_t k = 0; k < gw->ring_n; k++) {
		const struct recent *r = &gw->ring[(gw->ring_head + k) % GW_RECENT];
		if (r->part != part || r->status > 9)
			continue;
		hash_hex(r->ep, at);
		at[16] = (char)('0' + r->status);
		at += PACKED_LEN;
	}
	*at = '\0';
	json_t *s = json_stringn_nocheck(text, (size_t)(at - text));
	free(text);
	return s;
}

/* Remember the transitions of "recent_packed"; returns how many entries
 * were malformed (skipped). */
static size_t import_packed(struct gateway *gw, int32_t part, const char *s, size_t len)
{
	size_t bad = len % PACKED_LEN ? 1 : 0;
	for (size_t at = 0; at + PACKED_LEN <= len; at += PACKED_LEN) {
		uint64_t ep = 0;
		int ok = 1;
		for (size_t i = 0; i < 16 && ok; i++) {
			char c = s[at + i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			ok = d >= 0;
			ep = ep << 4 | (uint64_t)(d & 15);
		}
		char st = s[at + 16];
		if (!ok || ep == 0 || st < '0' || st > '9') {
			bad++;
			continue;
		}
		gw_recent_add(gw, ep, (uint8_t)(st - '0'), part);
	}
	return bad;
}

json_t *gateway_export(struct gateway *gw, int32_t part)
{
	json_t *open = json_array(), *recent = export_recent(gw, part), *pending = json_array();
	char e[17], f[17];
	int ok = open && recent && pending;

	for (size_t i = 0; ok && i < gw->nep; i++) {
		const struct open_ep *x = &gw->eps[i];
		if (x->part != part)
			continue;
		hash_hex(x->ep, e);
		hash_hex(x->fp, f);
		json_t *o =
			json_pack("{s:s, s:s, s:f, s:I, s:s?, s:s?}", "ep", e, "fp", f, "started", x->started,
				  "start_pos", (json_int_t)x->start_pos, "owner", x->owner, "text", x->text);
		ok = o && json_array_append_new(open, o) == 0;
	}
	struct export_ctx x = {gw, pending, 1};
	if (ok)
		gw_outbox_export(gw, part, export_pending, &x);
	if (!ok || !x.ok) {
		json_decref(open);
		json_decref(recent);
		json_decref(pending);
		return NULL;
	}
	json_t *snap = json_pack("{s:s, s:i, s:o, s:o, s:o}", "schema", SNAP_SCHEMA, "partition", (int)part,
				 "open", open, "recent_packed", recent, "pending", pending);
	if (snap && gw_policy_export(gw, part, snap) != 0) {
		json_decref(snap);
		return NULL;
	}
	return snap;
}

static uint64_t hex_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strtoull(s, NULL, 16) : 0;
}

int gateway_import(struct gateway *gw, int32_t part, json_t *snap)
{
	size_t i;
	json_t *o;
	uint64_t restored = 0, dropped = 0;

	if (snap == NULL)
		return 0;
	const char *schema = json_string_value(json_object_get(snap, "schema"));
	if (schema == NULL || strcmp(schema, SNAP_SCHEMA) != 0)
		return -VIGIL_EINVAL;
	json_array_foreach(json_object_get(snap, "recent"), i, o) /* written before recent_packed */
	{
		uint64_t ep = hex_of(o, "ep");
		json_t *st = json_object_get(o, "status");
		if (ep && json_is_integer(st))
			gw_recent_add(gw, ep, (uint8_t)json_integer_value(st), part);
	}
	json_t *packed = json_object_get(snap, "recent_packed");
	if (json_is_string(packed)) {
		size_t bad = import_packed(gw, part, json_string_value(packed), json_string_length(packed));
		if (bad)
			LOG_WARN(comp, "event=snapshot_recent_malformed partition=%d entries=%zu", (int)part,
				 bad);
	}
	json_array_foreach(json_object_get(snap, "open"), i, o)
	{
		struct open_ep rec = {
			.ep = hex_of(o, "ep"),
			.fp = hex_of(o, "fp"),
			.part = part,
			.owner = gw_owner_name(gw, json_string_value(json_object_get(o, "owner"))),
			.started = json_number_value(json_object_get(o, "started")),
			.start_pos = json_integer_value(json_object_get(o, "start_pos"))};
		const char *text = json_string_value(json_object_get(o, "text"));
		if (rec.ep == 0 || gw_ep_find(gw, rec.ep))
			continue;
		if (text) {
			size_t first, n;
			gw_route(gw, rec.owner, &first, &n);
			for (size_t d = first; d < first + n && rec.text == NULL; d++)
				if (gw->dests[d].repeat > 0) {
					rec.text = strdup(text);
					rec.first = first;
					rec.n = n;
					rec.next_repeat = clock_mono(); /* re-post soon: the lease ran on */
				}
		}
		if (gw_ep_insert(gw, &rec) != 0) {
			free(rec.text);
			return -VIGIL_ENOMEM;
		}
	}
	json_array_foreach(json_object_get(snap, "pending"), i, o)
	{
		const char *dest = json_string_value(json_object_get(o, "dest"));
		const char *json = json_string_value(json_object_get(o, "json"));
		size_t d = SIZE_MAX;
		for (size_t k = 0; dest && k < gw->ndests && d == SIZE_MAX; k++)
			if (strcmp(gw->dests[k].id, dest) == 0)
				d = k;
		if (d == SIZE_MAX || json == NULL) {
			dropped++;
			continue;
		}
		/* offset -1: the snapshot covers it, commits need not wait */
		if (gw_enqueue(gw, d, json, part, -1, 1) == 0)
			restored++;
	}
	gw->st.restored += restored;
	if (gw_policy_import(gw, part, snap) != 0)
		return -VIGIL_ENOMEM;
	LOG_INFO(comp, "event=partition_restored partition=%d open_episodes=%zu pending=%llu dropped=%llu",
		 (int)part, json_array_size(json_object_get(snap, "open")), (unsigned long long)restored,
		 (unsigned long long)dropped);
	return 0;
}

void gateway_release(struct gateway *gw, int32_t part)
{
	size_t dropped = gw_outbox_cancel(gw, part);
	for (size_t i = 0; i < gw->nep;) {
		if (gw->eps[i].part == part)
			gw_ep_remove(gw, &gw->eps[i]); /* the last moves here: look at i again */
		else
			i++;
	}
	gw_policy_release(gw, part);
	/* recent transitions of the partition stay until evicted: harmless,
	 * they only suppress what this member no longer receives */
	LOG_INFO(comp, "event=partition_released partition=%d cancelled=%zu", (int)part, dropped);
}
