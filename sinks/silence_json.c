/* A silence as JSON (silence_to_json, sinks/silence.h): the API's and the
 * gateway state's form, read back by silences_restore. */
#include <jansson.h>
#include <stdio.h>

#include "core/timefmt.h"
#include "core/vigil.h"
#include "rules/rules.h"
#include "sinks/silence.h"

#define MATCHER_TEXT 1400 /* matcher_format of a parsed matcher: key < 256, value < 1024 */

json_t *silence_to_json(const struct silence *x, double now)
{
	static const char *const state[] = {"pending", "active", "expired"};
	const struct {
		const char *key;
		double t;
	} times[] = {{"starts_at", x->starts}, {"ends_at", x->ends}, {"created_at", x->created}};
	json_t *j = json_object(), *m = json_array();
	char buf[MATCHER_TEXT];
	int bad = j == NULL || m == NULL;

	for (size_t i = 0; !bad && i < x->nm; i++) {
		matcher_format(&x->m[i], buf, sizeof buf);
		bad = json_array_append_new(m, json_string(buf)) != 0;
	}
	if (bad) {
		json_decref(m);
		json_decref(j);
		return NULL;
	}
	bad |= json_object_set_new(j, "id", json_string(x->id));
	bad |= json_object_set_new(j, "owner", json_string(x->owner));
	bad |= json_object_set_new(j, "matchers", m); /* m is j's now, even on failure */
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(times); i++) {
		time_format_rfc3339(times[i].t, buf, sizeof buf);
		bad |= json_object_set_new(j, times[i].key, json_string(buf));
	}
	bad |= json_object_set_new(j, "created_by", json_string(x->created_by));
	bad |= json_object_set_new(j, "comment", json_string(x->comment));
	bad |= json_object_set_new(j, "state", json_string(state[silence_state(x, now)]));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}
