/* See progress.h. */
#include "core/progress.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

#define PROGRESS_EVERY 0.25 /* seconds between redraws */

static _Atomic int line_shown; /* a progress line is on the terminal */

int progress_take_line(void)
{
	return atomic_exchange(&line_shown, 0);
}

void progress_start(struct progress *p, const char *what, const char *unit)
{
	const char *env = getenv("VIGIL_PROGRESS");
	memset(p, 0, sizeof *p);
	p->what = what;
	p->unit = unit;
	p->on = env && *env ? strcmp(env, "0") != 0 : isatty(STDERR_FILENO);
	p->start = clock_mono_real();
	p->next = p->start + PROGRESS_EVERY;
}

/* n with a k / M / G suffix into out. */
static void human(double n, char *out, size_t outlen)
{
	if (n >= 1e9)
		snprintf(out, outlen, "%.1fG", n / 1e9);
	else if (n >= 1e6)
		snprintf(out, outlen, "%.1fM", n / 1e6);
	else if (n >= 1e4)
		snprintf(out, outlen, "%.0fk", n / 1e3);
	else
		snprintf(out, outlen, "%.0f", n);
}

void progress_update(struct progress *p, uint64_t done, uint64_t done_bytes, uint64_t total_bytes)
{
	if (!p->on)
		return;
	double now = clock_mono_real();
	if (now < p->next)
		return;
	p->next = now + PROGRESS_EVERY;
	double secs = now - p->start, rate = secs > 0 ? (double)done / secs : 0;
	char n[32], r[32], pct[16] = "", eta[32] = "";
	human((double)done, n, sizeof n);
	human(rate, r, sizeof r);
	if (total_bytes > 0 && done_bytes <= total_bytes) {
		double f = (double)done_bytes / (double)total_bytes;
		snprintf(pct, sizeof pct, "%3.0f%%  ", 100.0 * f);
		if (f > 0.001 && secs > 0.5)
			snprintf(eta, sizeof eta, "  ETA %.0fs", secs * (1.0 - f) / f);
	}
	fprintf(stderr, "\r%s: %s%s %s  %s %s/s%s\033[K", p->what, pct, n, p->unit, r, p->unit, eta);
	fflush(stderr);
	p->shown = 1;
	atomic_store(&line_shown, 1);
}

void progress_end(struct progress *p)
{
	if (p->on && p->shown && progress_take_line()) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->shown = 0;
}
