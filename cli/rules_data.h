/* Rules against data (cli/rules_data.c): `vigil rules check --data` and the
 * backtest run data files through an engine built on a ruleset and report
 * what each rule saw. */
#ifndef CLI_RULES_DATA_H
#define CLI_RULES_DATA_H

#include <stddef.h>
#include <stdio.h>

#include "engine/engine.h"
#include "rules/rules.h"

/* Replay files[0..n) (format name or "auto") through engine e (borrowed,
 * built on its ruleset, with whatever alert callback the caller wants).
 * Returns 0, or -VIGIL_E* with err filled (unknown format, a file that
 * could not be read). */
int rules_data_feed(struct engine *e, const char *const *files, size_t n, const char *format, char *err,
		    size_t errlen);

/* Print to f one warning per rule of rs that matched no series in what e
 * saw, and per rule whose detector never left its warm-up ("no opinion" on
 * every point). Returns the number of warnings. */
size_t rules_data_warn(FILE *f, const struct ruleset *rs, const struct engine *e);

#endif
