/* Failpoints: test hooks that stall or kill the process at a named moment,
 * so that an end-to-end test can hit a race window every time instead of
 * once in a hundred random kills. Compiled in always; they cost one load
 * and a branch when VIGIL_FAILPOINT is unset (the only case in production).
 *
 *   VIGIL_FAILPOINT=NAME:ACTION[,NAME:ACTION...]
 *   ACTION  sleep=MS   the calling thread sleeps MS milliseconds (0..600000)
 *           kill       the process sends itself SIGKILL (no cleanup at all)
 *
 * Each hit logs `event=failpoint name=... action=... hit=N` (warn, component
 * "failpoint") before acting, so a test can wait for that line. The names
 * (the moments) are listed in core/failpoint.c, with where they are; an
 * unknown name or action is refused at start-up with its column.
 * @thread failpoint_setup once at start-up, before any thread; FAILPOINT
 * from any thread. */
#ifndef CORE_FAILPOINT_H
#define CORE_FAILPOINT_H

#include <stddef.h>

/* Non-zero once a failpoint is armed (set by failpoint_setup only). */
extern int failpoints_armed;

/* Parse spec (VIGIL_FAILPOINT's syntax) and arm what it names, replacing
 * what was armed; NULL or "" disarms all. 0, or -VIGIL_EINVAL with
 * "column N: ..." in err (what was armed stays armed). */
int failpoint_setup(const char *spec, char *err, size_t errlen);

/* The slow path of FAILPOINT: act if name is armed. */
void failpoint_hit(const char *name);

/* Mark the moment `name` (a string literal listed in core/failpoint.c). */
#define FAILPOINT(name)                                                                                      \
	do {                                                                                                 \
		if (failpoints_armed)                                                                        \
			failpoint_hit(name);                                                                 \
	} while (0)

#endif
