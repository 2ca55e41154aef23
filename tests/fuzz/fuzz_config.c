/* Fuzz target: the run/gateway config loader (core/config.c, with its
 * `http:` map in core/config_http.c). The loader takes a path, so each input
 * is written to a scratch file and loaded twice: as `vigil run`/`gateway`
 * would (kafka_cfg_load) and as `vigil replay -c` would
 * (kafka_cfg_load_local). A refusal must come with a message. */
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "tests/fuzz/fuzz.h"

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_tmp_path(path, sizeof path, "config.yaml");
	log_level = LOG_LEVEL_ERR - 1; /* the loader's warnings are not findings */
	return 0;
}

static void load(int local)
{
	struct kafka_cfg *c = NULL;
	char err[512] = "";
	int rc = local ? kafka_cfg_load_local(path, &c, err, sizeof err)
		       : kafka_cfg_load(path, &c, err, sizeof err);
	if (rc != 0 && err[0] == '\0')
		abort(); /* a refusal without a reason */
	if (rc == 0 && c == NULL)
		abort();
	kafka_cfg_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_write_file(path, data, size) != 0)
		return 0;
	load(0);
	load(1);
	return 0;
}
