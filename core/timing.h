/* Named sampled timings: a small fixed table of (name, samples, seconds)
 * that a hot loop fills with one timed call in N, and that sums across
 * engines for /metrics. Names are static strings (a detector type's name).
 * @thread plain data; owned by whoever embeds it. */
#ifndef CORE_TIMING_H
#define CORE_TIMING_H

#include <stdint.h>

#define TIMING_KINDS 16

struct timing {
	const char *name; /* static; NULL: unused slot */
	uint64_t samples; /* timed calls */
	double seconds;   /* sum over the timed calls */
};

/* Add one timed call of name to t[TIMING_KINDS]; a new name takes the first
 * free slot and is dropped when none is left. */
void timing_note(struct timing *t, const char *name, double seconds);
/* Add every slot of from[] into acc[] (both TIMING_KINDS long) by name. */
void timing_add(struct timing *acc, const struct timing *from);

#endif
