/* Fuzz target: the rules and owners loader (rules/load.c and the parsers it
 * calls: parse_rule, parse_owner, parse_policy, parse_oncall, match,
 * timewin, schedule). ruleset_load reads files, so the input is written to
 * scratch files: everything before the first line "#---owners---" is a rules
 * file, the rest (when the marker is present) the owners file; without the
 * marker the rules file must hold its own `owners:` section. A refusal must
 * come with a message. */
#include <string.h>

#include "core/log.h"
#include "rules/rules.h"
#include "tests/fuzz/fuzz.h"

#define MARKER "\n#---owners---\n"

static char rules_path[256], owners_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_tmp_path(rules_path, sizeof rules_path, "rules.yaml");
	fuzz_tmp_path(owners_path, sizeof owners_path, "owners.yaml");
	log_level = LOG_LEVEL_ERR - 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *m = memmem(data, size, MARKER, strlen(MARKER));
	size_t nrules = m ? (size_t)(m - data) + 1 : size; /* keep the rules file's last '\n' */
	const char *paths[1] = {rules_path};
	struct ruleset *rs = NULL;
	char err[1024] = "";

	if (fuzz_write_file(rules_path, data, nrules) != 0)
		return 0;
	if (m != NULL) {
		size_t off = (size_t)(m - data) + strlen(MARKER);
		if (fuzz_write_file(owners_path, data + off, size - off) != 0)
			return 0;
	}
	int rc = ruleset_load(paths, 1, m ? owners_path : NULL, &rs, err, sizeof err);
	if (rc != 0 && err[0] == '\0')
		abort(); /* a refusal without a reason */
	ruleset_free(rs);
	return 0;
}
