/* Fuzz target: the request bodies of the gateway API (cli/serve_api.c), each
 * parsed as the server does (json_loadb, duplicate keys refused). The first
 * byte picks the endpoint, the rest is the body:
 *   0  POST /api/v1/alerts/{episode}/ack (and unack): api_ack_body_check
 *   1  POST /api/v1/silences (and /preview): the silence JSON form
 *      (sinks/silence.c) added to a fresh store, matched, listed back
 *   2  POST /api/v2/alerts: Alertmanager's shape, each item through
 *      api_am_to_v1 then alert_from_json_v1 (core/alert_ingest.c), as
 *      api_ingest and run_ingest do
 * A refusal must come with a message. */
#include <string.h>

#include "cli/serve_int.h"
#include "core/alert.h"
#include "core/log.h"
#include "sinks/silence.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1.7e9 /* a fixed "now": the outcome may depend on it, not on the wall clock */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	return 0;
}

static void ack(json_t *body)
{
	char msg[160] = "";
	if (api_ack_body_check(body, msg, sizeof msg) != 0 && msg[0] == '\0')
		abort();
}

static void silence(json_t *body)
{
	static const struct kv labels[] = {
		{"alertname", "x", NULL}, {"host", "db1", NULL}, {"team", "", NULL}};
	struct silences *s = NULL;
	char id[SILENCE_ID_LEN + 8], err[512] = "";
	if (!json_is_object(body))
		return; /* the handler refuses it before parsing further */
	if (silences_new(&s) != 0)
		return;
	int rc = silences_add(s, body, NOW, -1, id, err, sizeof err);
	if (rc == -VIGIL_EINVAL && err[0] == '\0')
		abort();
	if (rc == 0) {
		const struct silence *x = silences_find(s, id);
		if (x == NULL)
			abort(); /* added under an id it cannot be found by */
		json_decref(silence_to_json(x, NOW));
		(void)silences_match(s, x->owner, labels, 3, NOW + 1);
		(void)silence_matches(x, labels, 3);
		(void)silences_next_change(s, NOW);
		silences_expire(s, x->owner, id, NOW + 2);
	}
	silences_free(s);
}

static void ingest(json_t *body)
{
	char field[96], msg[512], series[1024];
	size_t i;
	json_t *a;
	if (!json_is_array(body) || json_array_size(body) > 1000)
		return; /* refused whole, as api_ingest does */
	json_array_foreach(body, i, a)
	{
		struct alert_event ev;
		msg[0] = '\0';
		json_t *o = api_am_to_v1(a, NOW, field, sizeof field, msg, sizeof msg);
		if (o == NULL) {
			if (msg[0] == '\0')
				abort();
			continue;
		}
		if (alert_from_json_v1(o, &ev, series, sizeof series, NOW, msg, sizeof msg) == 0) {
			json_decref(alert_to_json(&ev)); /* what the gateway will print of it */
		} else if (msg[0] == '\0') {
			abort();
		}
		json_decref(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	if (size < 1)
		return 0;
	json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return 0;
	switch (data[0] % 3) {
	case 0: ack(body); break;
	case 1: silence(body); break;
	default: ingest(body); break;
	}
	json_decref(body);
	return 0;
}
