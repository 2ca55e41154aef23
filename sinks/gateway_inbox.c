/* The control inbox of a single-process gateway (`vigil replay --state
 * DIR`): `vigil silence|ack --state DIR` append control commands
 * (gateway.h gateway_control) as JSON lines to DIR/control.jsonl; the
 * gateway applies the lines it has not applied yet at start and on every
 * tick, and records how far it got (log record "c") so a restart neither
 * skips nor repeats a line (repeating would be harmless: commands are
 * idempotent). A bad line is logged as "DIR/control.jsonl:LINE: reason",
 * counted, and skipped; a line still being written (no newline yet) waits.
 * @thread the gateway's caller. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

#define INBOX_KEY 1 /* the one "c" record */

int gw_inbox_init(struct gateway *gw, const char *state_dir)
{
	size_t n = strlen(state_dir) + 32;
	if ((gw->inbox_path = malloc(n)) == NULL)
		return -VIGIL_ENOMEM;
	snprintf(gw->inbox_path, n, "%s/control.jsonl", state_dir);
	return 0;
}

void gw_inbox_restore(struct gateway *gw, json_t *v)
{
	gw->inbox_off = json_integer_value(json_object_get(v, "off"));
	gw->inbox_line = json_integer_value(json_object_get(v, "line"));
}

void gw_inbox_poll(struct gateway *gw)
{
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t n;
	int applied = 0;

	if (!gw->inbox_path)
		return;
	FILE *f = fopen(gw->inbox_path, "r");
	if (!f) {
		if (errno != ENOENT)
			LOG_WARN(comp, "event=inbox_unreadable path=%s err=\"%s\"", gw->inbox_path,
				 strerror(errno));
		return;
	}
	if (fseeko(f, (off_t)gw->inbox_off, SEEK_SET) != 0) {
		fclose(f);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* being written: next time */
		gw->inbox_off += n;
		gw->inbox_line++;
		applied = 1;
		json_error_t je;
		json_t *cmd = json_loads(line, 0, &je);
		int rc = cmd ? gateway_control(gw, cmd, -1, NULL, err, sizeof err) : -VIGIL_EINVAL;
		if (!cmd)
			snprintf(err, sizeof err, "not JSON: %s (column %d)", je.text, je.column);
		if (rc != 0) {
			gw->st.control_bad++;
			LOG_WARN(comp, "event=control_rejected where=%s:%" PRId64 " reason=\"%s\"",
				 gw->inbox_path, gw->inbox_line, err);
		} else {
			gw->st.control_applied++;
		}
		json_decref(cmd);
	}
	free(line);
	fclose(f);
	if (applied && gw->log) {
		json_t *v = json_pack("{s:I, s:I}", "off", (json_int_t)gw->inbox_off, "line",
				      (json_int_t)gw->inbox_line);
		if (v)
			gwlog_put(gw->log, "c", INBOX_KEY, v);
		json_decref(v);
		gateway_flush(gw);
	}
}
