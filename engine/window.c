/* The per-(rule, series) chart window ring, see window.h. */
#include "engine/window.h"

#include <math.h>
#include <string.h>

#define TICKS_PER_S 100.0
#define T_MASK      0x7fffffffu
#define T_ANOMALY   0x80000000u

struct win_hdr {
	double base;   /* epoch seconds of time 0 */
	uint16_t head; /* next slot to write */
	uint16_t n;    /* points held */
	uint32_t pad;
};

struct win_pt {
	uint32_t t;
	float value, expected;
	uint16_t dlo, dhi; /* bfloat16: expected - lower, upper - expected */
};

_Static_assert(sizeof(struct win_hdr) == 16, "window header is 16 bytes");
_Static_assert(sizeof(struct win_pt) == 16, "window point is 16 bytes");

size_t window_bytes(uint32_t cap)
{
	return cap ? sizeof(struct win_hdr) + (size_t)cap * sizeof(struct win_pt) : 0;
}

void window_init(void *ring, uint32_t cap)
{
	if (cap)
		memset(ring, 0, sizeof(struct win_hdr));
}

/* float -> bfloat16, rounded to nearest even; NaN stays NaN. */
static uint16_t to_bf16(double d)
{
	float f = (float)d;
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	if (isnan(f))
		return 0x7fc0;
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static double from_bf16(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static struct win_pt *pts_of(void *ring)
{
	return (struct win_pt *)(void *)((char *)ring + sizeof(struct win_hdr));
}

/* Move base to the oldest point's time so ts fits; drop everything when
 * even that is not enough (a gap of more than 248 days). */
static void rebase(struct win_hdr *h, struct win_pt *p, uint32_t cap, double ts)
{
	if (h->n) {
		uint32_t oldest = (uint32_t)((h->head + cap - h->n) % cap);
		uint32_t shift = p[oldest].t & T_MASK;
		double nb = h->base + shift / TICKS_PER_S;
		if ((ts - nb) * TICKS_PER_S < (double)T_MASK) {
			for (uint32_t i = 0, k = oldest; i < h->n; i++, k = (k + 1) % cap)
				p[k].t = (p[k].t & T_ANOMALY) | ((p[k].t & T_MASK) - shift);
			h->base = nb;
			return;
		}
	}
	h->n = 0;
	h->head = 0;
	h->base = ts;
}

void window_push(void *ring, uint32_t cap, double ts, double value, double expected, double lower,
		 double upper, int anomaly)
{
	struct win_hdr *h = ring;
	struct win_pt *p = pts_of(ring);
	double off;

	if (cap == 0 || !isfinite(ts))
		return;
	if (h->n == 0)
		h->base = ts;
	off = (ts - h->base) * TICKS_PER_S;
	if (!(off >= 0) || off >= (double)T_MASK) {
		rebase(h, p, cap, ts);
		off = (ts - h->base) * TICKS_PER_S;
		if (!(off >= 0))
			off = 0;
	}
	struct win_pt *w = &p[h->head];
	w->t = (uint32_t)(off + 0.5) & T_MASK;
	if (anomaly)
		w->t |= T_ANOMALY;
	w->value = (float)value;
	w->expected = (float)expected;
	w->dlo = to_bf16(expected - lower);
	w->dhi = to_bf16(upper - expected);
	h->head = (uint16_t)((uint32_t)h->head + 1 == cap ? 0u : (uint32_t)h->head + 1);
	if (h->n < cap)
		h->n++;
}

void window_prefetch(const void *ring, uint32_t cap)
{
	const struct win_hdr *h = ring;
	if (cap)
		__builtin_prefetch((const char *)ring + sizeof *h + (size_t)h->head * sizeof(struct win_pt),
				   1);
}

static double finite_or_nan(double v)
{
	return isfinite(v) ? v : NAN;
}

size_t window_read(const void *ring, uint32_t cap, struct alert_point *out)
{
	const struct win_hdr *h = ring;
	const struct win_pt *p;

	if (cap == 0 || h->n == 0)
		return 0;
	p = (const struct win_pt *)(const void *)((const char *)ring + sizeof *h);
	uint32_t k = (uint32_t)((h->head + cap - h->n) % cap);
	for (uint32_t i = 0; i < h->n; i++, k = (k + 1) % cap) {
		struct alert_point *o = &out[i];
		double e = p[k].expected;
		o->ts = h->base + (p[k].t & T_MASK) / TICKS_PER_S;
		o->value = finite_or_nan(p[k].value);
		o->expected = finite_or_nan(e);
		o->lower = finite_or_nan(e - from_bf16(p[k].dlo));
		o->upper = finite_or_nan(e + from_bf16(p[k].dhi));
		o->anomaly = (p[k].t & T_ANOMALY) != 0;
	}
	return h->n;
}
