/* Charts as files: `vigil replay --svg DIR` and `vigil rules test --svg
 * DIR` write each alert episode's chart (core/chart*, the renderer the
 * gateway serves) to DIR/<episode>.svg.
 * @thread the caller's. */
#ifndef CLI_CHART_FILES_H
#define CLI_CHART_FILES_H

#include "core/alert.h"

struct chart_files {
	const char *dir;       /* borrowed; NULL = off */
	unsigned long written; /* charts (files) written: one per episode */
	unsigned long failed;  /* writes that failed */
};

/* Create cf->dir if missing. 0, or -1 with the reason on stderr after prog. */
int chart_files_open(struct chart_files *cf, const char *prog);
/* Render ev's chart to dir/<episode>.svg, replacing the file (each
 * transition rewrites it, so it ends with the newest window); written
 * through a temporary file and a rename. A failure is logged and counted. */
void chart_files_write(struct chart_files *cf, const struct alert_event *ev);
/* "PROG: --svg DIR: N charts written, M failed" on stderr. */
void chart_files_report(const struct chart_files *cf, const char *prog);

#endif
