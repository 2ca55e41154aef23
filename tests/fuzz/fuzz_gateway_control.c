/* Fuzz target: the gateway's control commands (sinks/gateway_control.c
 * gateway_control: silence_add / silence_expire / ack / unack, schema
 * "vigil.control/v1"), read from the Kafka control topic
 * (consumers/gateway_control.c) and the single-process inbox
 * (sinks/gateway_inbox.c). Each input line is one command's JSON, applied in
 * order to partition 3 of a gateway that starts every input from the same
 * state: a real snapshot (fuzz_gw_drive, so there are open episodes to ack
 * and silences to expire) imported before the commands and released after.
 * A refused command must come with a message. */
#include <string.h>

#include "core/log.h"
#include "tests/fuzz/fuzz_gw.h"

static struct gateway *gw;
static json_t *base; /* the snapshot every input starts from */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	struct ruleset *rs = fuzz_gw_ruleset(); /* kept: the gateway borrows it */
	struct gateway_opts o = {.fallback_sink = "stdout", .data_time = 1};
	if (gateway_create(rs, &o, &gw, err, sizeof err) != 0)
		abort();
	fuzz_gw_drive(gw, 3);
	base = gateway_export(gw, 3);
	if (base == NULL)
		abort();
	gateway_release(gw, 3);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;
	if (gateway_import(gw, 3, base) != 0)
		abort();
	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;
		json_error_t je;
		json_t *cmd = json_loadb((const char *)data + start, end - start, 0, &je), *reply = NULL;
		char err[512] = "";
		if (cmd != NULL) {
			if (gateway_control(gw, cmd, 3, &reply, err, sizeof err) != 0 && err[0] == '\0')
				abort();
			json_decref(reply);
			json_decref(cmd);
		}
		start = end + 1;
	}
	fuzz_gw_use(gw);
	gateway_release(gw, 3);
	return 0;
}
