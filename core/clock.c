/* See clock.h. */
#include "core/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int fake_on;
static _Atomic double fake_mono, fake_wall;

static double read_clock(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double clock_mono(void)
{
	if (atomic_load_explicit(&fake_on, memory_order_relaxed))
		return atomic_load(&fake_mono);
	return read_clock(CLOCK_MONOTONIC);
}

double clock_mono_real(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

double clock_wall(void)
{
	if (atomic_load_explicit(&fake_on, memory_order_relaxed))
		return atomic_load(&fake_wall);
	return read_clock(CLOCK_REALTIME);
}

void clock_fake_set(double mono, double wall)
{
	atomic_store(&fake_mono, mono);
	atomic_store(&fake_wall, wall);
	atomic_store(&fake_on, 1);
}

void clock_fake_advance(double dt)
{
	atomic_store(&fake_mono, atomic_load(&fake_mono) + dt);
	atomic_store(&fake_wall, atomic_load(&fake_wall) + dt);
}

void clock_fake_off(void)
{
	atomic_store(&fake_on, 0);
}
