/* See failpoint.h. */
#include "core/failpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/vigil.h"

#define COMP "failpoint"

/* The moments a failpoint can stall or kill, and where they are. */
static const char *const fp_names[] = {
	/* consumers/gateway_intake.c checkpoint(): a partition's snapshot
	 * exported (its pending notifications listed), not yet produced */
	"gateway_snapshot_after_export",
	/* sinks/outbox.c: a destination accepted a notification, its done
	 * record not yet queued (the delivery thread) */
	"gateway_send_accepted",
};
#define FP_N (sizeof fp_names / sizeof fp_names[0])

enum fp_action { FP_OFF = 0, FP_SLEEP, FP_KILL };

struct fp {
	enum fp_action action;
	long ms;
	atomic_ulong hits;
};

int failpoints_armed;
static struct fp fps[FP_N];

static int fp_index(const char *name, size_t len)
{
	for (size_t i = 0; i < FP_N; i++)
		if (strlen(fp_names[i]) == len && memcmp(fp_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* One "NAME:ACTION" of spec, from s to e (column col). */
static int parse_one(const char *s, const char *e, size_t col, struct fp *out, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	if (colon == NULL) {
		snprintf(err, errlen, "column %zu: want NAME:ACTION, got \"%.*s\"", col, (int)(e - s), s);
		return -VIGIL_EINVAL;
	}
	int i = fp_index(s, (size_t)(colon - s));
	if (i < 0) {
		char known[256] = "";
		for (size_t k = 0; k < FP_N; k++)
			snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
				 fp_names[k]);
		snprintf(err, errlen, "column %zu: unknown failpoint \"%.*s\" (known: %s)", col,
			 (int)(colon - s), s, known);
		return -VIGIL_EINVAL;
	}
	const char *a = colon + 1;
	size_t alen = (size_t)(e - a), acol = col + (size_t)(a - s);
	if (alen == 4 && memcmp(a, "kill", 4) == 0) {
		out[i].action = FP_KILL;
		return 0;
	}
	if (alen > 6 && memcmp(a, "sleep=", 6) == 0) {
		char num[16], *end;
		if (alen - 6 < sizeof num) {
			memcpy(num, a + 6, alen - 6);
			num[alen - 6] = '\0';
			long ms = strtol(num, &end, 10);
			if (*end == '\0' && num[0] >= '0' && num[0] <= '9' && ms <= 600000) {
				out[i].action = FP_SLEEP;
				out[i].ms = ms;
				return 0;
			}
		}
		snprintf(err, errlen, "column %zu: sleep=MS wants 0..600000 milliseconds, got \"%.*s\"",
			 acol + 6, (int)(alen - 6), a + 6);
		return -VIGIL_EINVAL;
	}
	snprintf(err, errlen, "column %zu: unknown action \"%.*s\" (want sleep=MS or kill)", acol, (int)alen,
		 a);
	return -VIGIL_EINVAL;
}

int failpoint_setup(const char *spec, char *err, size_t errlen)
{
	struct fp parsed[FP_N];
	int any = 0;

	memset(parsed, 0, sizeof parsed);
	for (const char *s = spec; s && *spec;) {
		const char *e = strchr(s, ',');
		if (e == NULL)
			e = s + strlen(s);
		int rc = parse_one(s, e, (size_t)(s - spec) + 1, parsed, err, errlen);
		if (rc != 0)
			return rc;
		any = 1;
		if (*e == '\0')
			break;
		s = e + 1; /* an empty entry after a comma is refused */
	}
	for (size_t i = 0; i < FP_N; i++) {
		fps[i].action = parsed[i].action;
		fps[i].ms = parsed[i].ms;
		atomic_store(&fps[i].hits, 0);
	}
	failpoints_armed = any;
	return 0;
}

void failpoint_hit(const char *name)
{
	int i = fp_index(name, strlen(name));
	if (i < 0 || fps[i].action == FP_OFF)
		return;
	unsigned long hit = atomic_fetch_add(&fps[i].hits, 1) + 1;
	if (fps[i].action == FP_KILL) {
		LOG_WARN(COMP, "event=failpoint name=%s action=kill hit=%lu", name, hit);
		raise(SIGKILL);
		return;
	}
	LOG_WARN(COMP, "event=failpoint name=%s action=sleep ms=%ld hit=%lu", name, fps[i].ms, hit);
	struct timespec ts = {fps[i].ms / 1000, (fps[i].ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	LOG_WARN(COMP, "event=failpoint_resumed name=%s hit=%lu", name, hit);
}
