/* Reloading rules and owners while a command runs (cli/rules_reload.c).
 * A reload is requested by SIGHUP or, when watching, by a change in a rules
 * directory (its team subdirectories included), in the directory of a rules
 * file or in the owners file's directory (inotify, debounced 200 ms). It is
 * applied between two points (engine_opts.before_point, or between steps):
 * the files are loaded and validated as a whole (ruleset_load, then the
 * destinations as the gateway would build them); if anything is wrong the
 * running set stays, the error is logged with its position and counted;
 * else the engine swaps to the new set (engine_reload) and the new version
 * is logged. The gateway keeps the owners it started with: a new set whose
 * owners differ is refused (restart to change owners).
 * @thread start/apply/stop on the command's thread; the watch runs its own
 * thread, which only sets a flag. */
#ifndef CLI_RULES_RELOAD_H
#define CLI_RULES_RELOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "rules/rules.h"

struct rules_reload {
	const char *const *paths; /* borrowed, as given to ruleset_load */
	size_t npaths;
	const char *owners;          /* borrowed, may be NULL */
	const struct ruleset *first; /* the set the gateway runs (borrowed) */
	struct ruleset *cur;         /* the engine's set when it is not `first` (owned) */
	const char *prog;            /* "vigil replay" */
	atomic_int requested;        /* set by the watch thread */
	atomic_int stop;
	int fd; /* inotify, -1 when not watching */
	pthread_t thr;
	int have_thr;
	uint64_t reloads, errors; /* applied / refused */
	char version[17];         /* of the running set */
};

/* Start: log the version of `first` ("event=rules_loaded version=...",
 * when watching),
 * install the SIGHUP handler and, when watch, the inotify watch. 0 or
 * -VIGIL_E* with err filled (the watch could not be set up). */
int rules_reload_start(struct rules_reload *rr, const char *const *paths, size_t npaths, const char *owners,
		       const struct ruleset *first, int watch, const char *prog, char *err, size_t errlen);
/* Apply a pending request to e, if any (cheap when none). Usable directly
 * as engine_opts.before_point with ctx = rr. */
void rules_reload_poll(void *rr, struct engine *e, const struct point *p);
/* Stop the watch; the engine must no longer use rr->cur (destroy it
 * first). Frees rr->cur. */
void rules_reload_stop(struct rules_reload *rr);

#endif
