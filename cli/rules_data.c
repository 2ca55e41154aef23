/* Rules against data: feed files through an engine (a progress line on a
 * terminal, as replay), then say which rules matched nothing and which
 * detectors never left their warm-up. */
#include "cli/rules_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/consumer.h"
#include "core/progress.h"
#include "core/yaml.h"

#define MAX_NAMES 65536 /* series names looked through for a suggestion */

/* The seen series name that a rule's series glob most likely misspells
 * (its text without glob characters, within vy_closest's distance), or
 * NULL. */
static const char *suggest(const char *glob, const char *const *names)
{
	char probe[256];
	size_t j = 0;

	for (const char *s = glob; *s && j + 1 < sizeof probe; s++)
		if (strchr("*?[]\\", *s) == NULL)
			probe[j++] = *s;
	probe[j] = '\0';
	return j > 0 ? vy_closest(names, probe) : NULL;
}

int rules_data_feed(struct engine *e, const char *const *files, size_t n, const char *format, char *err,
		    size_t errlen)
{
	struct consumer in = {0};
	int rc;

	if ((rc = consumer_file_open(files, n, format, NULL, e, &in, err, errlen)) != 0)
		return rc;
	struct progress prog;
	progress_start(&prog, "vigil rules", "lines");
	for (int done = 0; !done;) {
		if ((rc = in.ops->step(in.self, 0, &done)) < 0)
			break;
		struct consumer_stats cs;
		consumer_file_stats(&in, &cs);
		progress_update(&prog, cs.lines, cs.bytes, cs.total);
	}
	progress_end(&prog);
	if (rc >= 0)
		rc = in.ops->finish(in.self);
	if (rc < 0)
		snprintf(err, errlen, "a data file could not be read (see above)");
	in.ops->close(in.self);
	return rc < 0 ? rc : 0;
}

size_t rules_data_warn(FILE *f, const struct ruleset *rs, const struct engine *e)
{
	const struct engine_rule_stats *rst = engine_rule_stats(e);
	const char **names = calloc(MAX_NAMES + 1, sizeof *names);
	struct engine_stats es;
	size_t nwarn = 0;

	if (names != NULL) /* without memory for it, no suggestion */
		names[engine_series_names(e, names, MAX_NAMES)] = NULL;
	engine_get_stats(e, &es);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		const struct engine_rule_stats *s = &rst[i];

		if (s->series == 0) {
			fprintf(f,
				"%s: warning: rule '%s' matched none of the %llu series in the data (series "
				"'%s'",
				r->where, r->name, (unsigned long long)es.series, r->series);
			for (size_t k = 0; k < r->nmatch; k++) {
				char m[300];
				matcher_format(&r->match[k], m, sizeof m);
				fprintf(f, "%s%s", k ? ", " : " and ", m);
			}
			const char *near = names ? suggest(r->series, names) : NULL;
			fprintf(f, ")%s%s%s\n", near ? " (did you mean '" : "", near ? near : "",
				near ? "'?)" : "");
			nwarn++;
		} else if (r->peer.nby == 0 && s->points > 0 && s->scored == 0) {
			fprintf(f,
				"%s: warning: rule '%s': detector '%s' had no opinion on any of its %llu "
				"points "
				"(%.1f days of data in %llu series): its warm-up is longer than the data\n",
				r->where, r->name, r->det.type->name, (unsigned long long)s->points,
				(s->last_ts - s->first_ts) / 86400.0, (unsigned long long)s->series);
			nwarn++;
		}
	}
	free(names);
	return nwarn;
}
