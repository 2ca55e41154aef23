/* Fuzz target: the alert event JSON form (core/alert.c alert_from_json, as
 * the gateway reads vigil's own events from the alerts topic, and
 * core/alert_ingest.c alert_from_json_v1, the subset other producers may
 * send). An event either parsed has to survive alert_to_json and the
 * fingerprint/episode derivation the gateway does next. A refusal must come
 * with a message. */
#include "core/alert.h"
#include "core/log.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	return 0;
}

static void use(const struct alert_event *ev)
{
	char fp[17], ep[17];
	alert_fingerprint(ev, fp);
	alert_episode(ev, ep);
	json_decref(alert_to_json(ev));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	struct alert_event ev;
	char err[512] = "", scratch[1024];
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return 0;
	if (alert_from_json(j, &ev, err, sizeof err) == 0)
		use(&ev);
	else if (err[0] == '\0')
		abort();
	err[0] = '\0';
	if (alert_from_json_v1(j, &ev, scratch, sizeof scratch, 1.7e9, err, sizeof err) == 0)
		use(&ev);
	else if (err[0] == '\0')
		abort();
	json_decref(j);
	return 0;
}
