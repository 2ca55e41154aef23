/* Fuzz target: the gateway's per-partition snapshot reader
 * (sinks/gateway_state.c gateway_import, and through it the on-call state
 * restore of sinks/gateway_persist.c and the silences of sinks/silence.c),
 * the state a gateway member takes over from the Kafka state topic. The
 * input is the snapshot's JSON; one gateway, created once, imports it as
 * partition 3, exports it again (what it would hand on) and releases it, so
 * every input starts from the same empty gateway.
 * Seeds: VIGIL_FUZZ_SEEDS=DIR writes a real snapshot (fuzz_gw_drive) to DIR. */
#include "core/log.h"
#include "tests/fuzz/fuzz_gw.h"

static struct gateway *gw;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	struct ruleset *rs = fuzz_gw_ruleset(); /* kept for the process: the gateway borrows it */
	struct gateway_opts o = {.fallback_sink = "stdout", .data_time = 1};
	if (gateway_create(rs, &o, &gw, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_gateway_state: %s\n", err);
		abort();
	}
	const char *seeds = getenv("VIGIL_FUZZ_SEEDS");
	if (seeds != NULL) { /* a real snapshot of partition 3 as the seed */
		char path[512];
		fuzz_gw_drive(gw, 3);
		json_t *snap = gateway_export(gw, 3);
		snprintf(path, sizeof path, "%s/export", seeds);
		if (snap == NULL || json_dump_file(snap, path, JSON_COMPACT) != 0)
			abort();
		json_decref(snap);
		gateway_release(gw, 3);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *snap = json_loadb((const char *)data, size, 0, &je);
	if (snap == NULL)
		return 0;
	if (gateway_import(gw, 3, snap) == 0) {
		fuzz_gw_use(gw);
		json_decref(gateway_export(gw, 3));
	}
	gateway_release(gw, 3);
	json_decref(snap);
	return 0;
}
