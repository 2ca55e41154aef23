/* See notify_ident.h. */
#include "sinks/notify_ident.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

static const char *str_of(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

/* XOR of the per-alert hashes: the same whatever the alerts' order. */
static uint64_t group_alerts(json_t *alerts)
{
	uint64_t acc = 0;
	size_t i;
	json_t *a;
	json_array_foreach(alerts, i, a)
	{
		uint64_t h = hash_str(HASH_SEED, str_of(a, "episode"));
		h = hash_str(h, str_of(a, "fingerprint"));
		acc ^= hash_mix(hash_str(h, str_of(a, "change")));
	}
	return acc;
}

static int is_group(json_t *j)
{
	return strncmp(str_of(j, "schema"), "vigil.group/", 12) == 0;
}

/* The identity of json without its destination (0 = not JSON). */
static uint64_t content_ident(json_t *j)
{
	uint64_t h;
	if (is_group(j)) {
		h = hash_str(HASH_SEED, "group");
		h = hash_str(h, str_of(j, "group_key"));
		return hash_mix(h ^ group_alerts(json_object_get(j, "alerts")));
	}
	h = hash_str(HASH_SEED, "alert");
	h = hash_str(h, str_of(j, "fingerprint"));
	h = hash_str(h, str_of(j, "episode"));
	return hash_mix(hash_str(h, str_of(j, "status")));
}

uint64_t notify_ident(const char *dest_id, const char *json)
{
	json_error_t je;
	json_t *j = json ? json_loads(json, 0, &je) : NULL;
	uint64_t h = hash_str(HASH_SEED, dest_id ? dest_id : "");
	if (json_is_object(j))
		h = hash_mix(h ^ content_ident(j));
	else
		h = hash_mix(hash_str(h, json ? json : ""));
	json_decref(j);
	return h ? h : 1;
}

const char *notify_idem_key(const char *json, char *out, size_t outlen)
{
	json_error_t je;
	json_t *j = json ? json_loads(json, 0, &je) : NULL;
	char hx[17];
	if (outlen == 0)
		return out;
	if (json_is_object(j) && is_group(j)) {
		hash_hex(content_ident(j), hx);
		snprintf(out, outlen, "vigil-group/%s", hx);
	} else if (json_is_object(j)) {
		snprintf(out, outlen, "vigil/%s/%s/%s", str_of(j, "fingerprint"), str_of(j, "episode"),
			 str_of(j, "status"));
	} else {
		hash_hex(hash_mix(hash_str(HASH_SEED, json ? json : "")), hx);
		snprintf(out, outlen, "vigil-text/%s", hx);
	}
	json_decref(j);
	return out;
}
