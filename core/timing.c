#include "core/timing.h"

#include <string.h>

static struct timing *slot(struct timing *t, const char *name)
{
	for (size_t k = 0; k < TIMING_KINDS; k++) {
		if (t[k].name == NULL)
			t[k].name = name;
		if (t[k].name == name || strcmp(t[k].name, name) == 0)
			return &t[k];
	}
	return NULL;
}

void timing_note(struct timing *t, const char *name, double seconds)
{
	struct timing *s = slot(t, name);
	if (s) {
		s->samples++;
		s->seconds += seconds;
	}
}

void timing_add(struct timing *acc, const struct timing *from)
{
	for (size_t i = 0; i < TIMING_KINDS && from[i].name; i++) {
		struct timing *s = slot(acc, from[i].name);
		if (s) {
			s->samples += from[i].samples;
			s->seconds += from[i].seconds;
		}
	}
}
