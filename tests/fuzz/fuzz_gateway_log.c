/* Fuzz target: the gateway's write-ahead log reader (sinks/gateway_log.c:
 * replay of STATE_DIR/gateway.log), with what the gateway does with each
 * record (episodes, the outbox's unfinished sends, the on-call state of
 * sinks/gateway_persist.c, the control inbox) -- the state a single-process
 * gateway reads back after a restart. Each input is written as the log of a
 * scratch state directory and a gateway is created on it (replay, then
 * compaction) and destroyed. */
#include <sys/stat.h>

#include "core/log.h"
#include "tests/fuzz/fuzz_gw.h"

static struct ruleset *rs;
static char dir[256], logpath[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	rs = fuzz_gw_ruleset();
	fuzz_tmp_path(dir, sizeof dir, "state");
	mkdir(dir, 0700);
	snprintf(logpath, sizeof logpath, "%s/gateway.log", dir);
	const char *seeds = getenv("VIGIL_FUZZ_SEEDS");
	if (seeds != NULL) { /* a real log, left uncompacted by a kill, as the seed */
		struct gateway *gw = NULL;
		char err[512], cmd[1024];
		struct gateway_opts o = {.fallback_sink = "stdout", .state_dir = dir, .data_time = 1};
		unlink(logpath);
		if (gateway_create(rs, &o, &gw, err, sizeof err) != 0)
			abort();
		fuzz_gw_drive(gw, -1);
		gateway_flush(gw);
		snprintf(cmd, sizeof cmd, "cp '%s' '%s/written'", logpath, seeds);
		if (system(cmd) != 0)
			abort();
		gateway_destroy(gw);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gateway *gw = NULL;
	char err[512];
	/* no disk reserve: 4 MiB allocated per input would only slow the parser's fuzzing */
	struct gateway_opts o = {
		.fallback_sink = "stdout", .state_dir = dir, .data_time = 1, .log_reserve = -1};
	fuzz_empty_dir(dir); /* no dead letters of the previous input */
	if (fuzz_write_file(logpath, data, size) != 0)
		return 0;
	if (gateway_create(rs, &o, &gw, err, sizeof err) == 0) {
		fuzz_gw_use(gw);
		gateway_destroy(gw);
	}
	return 0;
}
