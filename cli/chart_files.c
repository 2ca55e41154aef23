#include "cli/chart_files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/chart.h"
#include "core/log.h"

int chart_files_open(struct chart_files *cf, const char *prog)
{
	if (cf->dir && mkdir(cf->dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: --svg %s: %s\n", prog, cf->dir, strerror(errno));
		return -1;
	}
	return 0;
}

void chart_files_write(struct chart_files *cf, const struct alert_event *ev)
{
	struct alert_point pts[ALERT_WINDOW_MAX];
	struct chart_input ci;
	struct buf b = {0};
	char ep[17], sub[512], path[4096], tmp[4200];

	if (cf->dir == NULL)
		return;
	alert_episode(ev, ep);
	chart_input_of_alert(ev, pts, sub, sizeof sub, &ci);
	snprintf(path, sizeof path, "%s/%s.svg", cf->dir, ep);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = NULL;
	int ok = chart_svg(&ci, &b) == 0 && (f = fopen(tmp, "w")) != NULL &&
		 fwrite(b.data, 1, b.len, f) == b.len;
	if (f && fclose(f) != 0)
		ok = 0;
	int fresh = access(path, F_OK) != 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (ok) {
		cf->written += fresh;
	} else {
		cf->failed++;
		LOG_ERR("chart", "event=svg_failed path=%s err=\"%s\"", path, strerror(errno));
		if (f)
			unlink(tmp);
	}
	buf_free(&b);
}

void chart_files_report(const struct chart_files *cf, const char *prog)
{
	if (cf->dir)
		fprintf(stderr, "%s: --svg %s: %lu charts written, %lu failed\n", prog, cf->dir, cf->written,
			cf->failed);
}
