/* See gateway_done.h: the gateway's side of the done records, over its
 * outbox (sinks/outbox.h: the recorder and the already-delivered set), and
 * their place in a partition's snapshot ("done", sinks/gateway_state.c).
 * @thread the gateway's caller. */
#include <jansson.h>
#include <stdlib.h>

#include "core/hash.h"
#include "sinks/gateway_done.h"
#include "sinks/gateway_int.h"

void gateway_set_recorder(struct gateway *gw, void (*rec)(void *ctx, int32_t part, uint64_t ident), void *ctx)
{
	outbox_set_recorder(gw->ob, rec, ctx);
}

int gateway_already_delivered(struct gateway *gw, int32_t part, uint64_t ident, const char *uid,
			      double expires)
{
	return outbox_skip_add(gw->ob, part, ident, uid, expires);
}

size_t gateway_delivered_forget(struct gateway *gw, int32_t part)
{
	return outbox_skip_clear(gw->ob, part);
}

uint64_t gateway_skipped(struct gateway *gw)
{
	return outbox_skipped(gw->ob);
}

struct done_ctx {
	json_t *arr;
	int ok;
};

static void export_one(void *ctx, uint64_t ident, const char *uid, double expires)
{
	struct done_ctx *x = ctx;
	char h[17];
	hash_hex(ident, h);
	json_t *o = json_pack("{s:s, s:s, s:f}", "ident", h, "uid", uid, "expires", expires);
	if (o == NULL || json_array_append_new(x->arr, o) != 0)
		x->ok = 0;
}

int gw_done_export(struct gateway *gw, int32_t part, json_t *snap)
{
	struct done_ctx x = {json_array(), 1};
	if (x.arr == NULL)
		return -VIGIL_ENOMEM;
	outbox_skip_export(gw->ob, part, export_one, &x);
	if (!x.ok) {
		json_decref(x.arr);
		return -VIGIL_ENOMEM;
	}
	/* set_new takes the array, also when it fails */
	return json_object_set_new(snap, "done", x.arr) == 0 ? 0 : -VIGIL_ENOMEM;
}

int gw_done_import(struct gateway *gw, int32_t part, json_t *snap)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(snap, "done"), i, o)
	{
		const char *hx = json_string_value(json_object_get(o, "ident"));
		const char *uid = json_string_value(json_object_get(o, "uid"));
		json_t *ex = json_object_get(o, "expires");
		uint64_t ident = hx ? strtoull(hx, NULL, 16) : 0;
		if (ident && uid && json_is_number(ex) &&
		    gateway_already_delivered(gw, part, ident, uid, json_number_value(ex)) != 0)
			return -VIGIL_ENOMEM;
	}
	return 0;
}
