/* Silences (docs/alerting.md §6): an owner mutes its alerts that match a
 * set of label matchers for a time window, with an author and a comment.
 * The gateway keeps one store for all owners; a silence belongs to one
 * owner and mutes only that owner's alerts.
 *
 * JSON form (control commands, persistence, listings), schema fields:
 *   {"id": "s-<16 hex>",            assigned by silences_add when absent
 *    "owner": "storage",
 *    "matchers": ["cluster=~eu-.*", "alertname=disk"],  1..64, rules.h matcher_parse
 *    "starts_at": RFC3339,           optional on add: default now
 *    "ends_at": RFC3339,             or "duration": "2h" on add (one of them)
 *    "created_by": "alice", "comment": "disk swap",   required, non-empty
 *    "created_at": RFC3339,          optional on add: default now (and the default
 *                                    starts_at); a command that carries it derives
 *                                    the same id whenever it is applied
 *    "state": "pending"|"active"|"expired"}   output only
 * States: pending before starts_at, active in [starts_at, ends_at),
 * expired from ends_at on. Expire = set ends_at to now (a pending silence
 * then ends before it starts: expired). Expired silences are kept for
 * SILENCE_RETENTION seconds after ends_at (history), then collected.
 * Limits: SILENCE_MAX per store, SILENCE_MAX_MATCHERS matchers, comment and
 * created_by at most 1024 bytes.
 * @thread one thread at a time (the gateway's). */
#ifndef SINKS_SILENCE_H
#define SINKS_SILENCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vigil.h"
#include "rules/rules.h"

#define SILENCE_RETENTION    (5 * 86400.0)
#define SILENCE_MAX          10000
#define SILENCE_MAX_MATCHERS 64
#define SILENCE_ID_LEN       19 /* "s-" + 16 hex digits */

enum silence_state { SILENCE_PENDING = 0, SILENCE_ACTIVE, SILENCE_EXPIRED };

struct silence {
	char id[SILENCE_ID_LEN];
	char *owner;
	struct tag_matcher *m; /* all must hold */
	size_t nm;
	double starts, ends, created; /* Unix seconds */
	char *created_by, *comment;
	int32_t part; /* the alerts-topic partition that owns it; -1 = none */
};

struct silences;

int silences_new(struct silences **out);
/* The number of silences a store admits (silences_add), for every store of
 * the process: n in 1..SILENCE_MAX, anything else restores SILENCE_MAX
 * (config `http.max_silences`). @thread set on the main thread before any
 * store is used. */
void silences_set_max(size_t n);
void silences_free(struct silences *s);

/* Add a silence from its JSON form at time now, for partition part. With an
 * "id" that exists already: an update, which replaces the silence in place
 * when its matchers are unchanged, and otherwise expires the old one and
 * adds the new one under a new id (Alertmanager's rule). Without an id, the
 * id is derived from the content (owner, matchers, times, author, comment,
 * created_at), so re-applying the same command (a replayed control record)
 * yields the same id and no second silence. id_out (SILENCE_ID_LEN) gets
 * the id. 0, or -VIGIL_EINVAL with err naming the field, -VIGIL_ENOMEM, or
 * -VIGIL_EFULL (the limit of silences_set_max, SILENCE_MAX by default, reached). A silence whose ends_at is
 * not after now is refused (-VIGIL_EINVAL). */
int silences_add(struct silences *s, json_t *spec, double now, int32_t part, char *id_out, char *err,
		 size_t errlen);
/* Restore one silence exactly as silence_to_json wrote it (no validation
 * against now: expired ones come back expired). 0 / -VIGIL_EINVAL / -ENOMEM. */
int silences_restore(struct silences *s, json_t *j, int32_t part, char *err, size_t errlen);
/* Expire silence id now. 0, or -VIGIL_ENOENT when there is no such silence
 * (of that owner, when owner != NULL). Expiring an expired one is 0. */
int silences_expire(struct silences *s, const char *owner, const char *id, double now);

enum silence_state silence_state(const struct silence *x, double now);
/* The first active silence of owner whose matchers all hold for labels
 * (a missing label reads as ""), or NULL. */
const struct silence *silences_match(const struct silences *s, const char *owner, const struct kv *labels,
				     size_t n, double now);
/* Would x mute labels at some point of its life (its state ignored)? For
 * the preview of a new silence. */
int silence_matches(const struct silence *x, const struct kv *labels, size_t n);
const struct silence *silences_find(const struct silences *s, const char *id);

size_t silences_count(const struct silences *s);
const struct silence *silences_at(const struct silences *s, size_t i); /* any order */

/* The JSON form with "state" at now; NULL on allocation failure. */
json_t *silence_to_json(const struct silence *x, double now);
/* Build a silence from spec without adding it (for a preview): *out owned
 * by the caller (silence_free). Same validation as silences_add. */
int silence_from_spec(json_t *spec, double now, struct silence **out, char *err, size_t errlen);
void silence_free(struct silence *x);

/* Drop silences expired for longer than SILENCE_RETENTION. Returns how many. */
size_t silences_gc(struct silences *s, double now);
/* The earliest starts_at or ends_at after now (when a silence changes
 * state), or +INFINITY. */
double silences_next_change(const struct silences *s, double now);
/* Forget every silence of partition part (handed over). */
void silences_release(struct silences *s, int32_t part);

#endif
