/* Reloading rules and owners while a command runs (cli/rules_reload.c).
 * A reload is requested by SIGHUP or, when watching, by a change in a rules
 * directory (its team subdirectories included), in the directory of a rules
 * file or in the owners file's directory (inotify, debounced 200 ms). It is
 * validated on the command's thread (rules_reload_check, also done by
 * rules_reload_poll): the files are loaded as a whole (ruleset_load, then
 * the destinations as the gateway would build them); if anything is wrong
 * the running set stays, the error is logged with its position and
 * counted; else the new set becomes the target and its version is logged.
 * Each engine moves to the target at its next point (rules_reload_poll as
 * its before_point hook: engine_reload), so the engines of a Kafka member
 * each swap between two of their own points. Every set loaded is kept until
 * stop (an idle engine may still run an older one). When a gateway is
 * attached (rules_reload_set_gateway), it moves to the new owners first
 * (gateway_reload: destinations, routes, escalation, schedules); if that
 * fails the whole set is refused. A set whose version equals the running
 * one is not a reload, but an attached gateway still re-creates the
 * destinations that name env:/file: secrets (a rotated token takes effect
 * on SIGHUP). Only events about the given files, or about *.yaml / *.yml files
 * and subdirectories of a given directory, count; a team directory created
 * after start is not watched inside (SIGHUP, or a restart).
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

struct gateway;

struct rules_reload {
	const char *const *paths; /* borrowed, as given to ruleset_load */
	size_t npaths;
	const char *owners;           /* borrowed, may be NULL */
	const struct ruleset *first;  /* the set loaded at start (borrowed) */
	struct gateway *gw;           /* reloaded with the owners, or NULL (borrowed) */
	const struct ruleset *target; /* the newest valid set: engines move to it */
	struct ruleset **sets;        /* every set loaded since start (owned) */
	size_t nsets, capsets;
	const char *prog;     /* "vigil replay" */
	atomic_int requested; /* set by the watch thread */
	atomic_int stop;
	int fd; /* inotify, -1 when not watching */
	struct rules_watch_ent {
		int wd;
		char file[256]; /* a watched file's base name; "" = a rules directory (any *.yaml) */
	} * w;                  /* written before the watch thread starts, read-only then */
	size_t nw, capw;
	pthread_t thr;
	int have_thr;
	uint64_t reloads, errors; /* applied / refused */
	char version[17];         /* of the running set */
	char last_error[512];     /* the newest refused reload's error, until one succeeds ("" = none) */
};

/* Start: log the version of `first` ("event=rules_loaded version=...",
 * when watching),
 * install the SIGHUP handler and, when watch, the inotify watch. 0 or
 * -VIGIL_E* with err filled (the watch could not be set up). */
int rules_reload_start(struct rules_reload *rr, const char *const *paths, size_t npaths, const char *owners,
		       const struct ruleset *first, int watch, const char *prog, char *err, size_t errlen);
/* Load and validate when a reload was requested (cheap when none). */
void rules_reload_check(struct rules_reload *rr);
/* rules_reload_check, then move e (may be NULL) to the target set. Usable
 * directly as engine_opts.before_point with ctx = rr. */
void rules_reload_poll(void *rr, struct engine *e, const struct point *p);
/* Reload gw's owners with every valid set from now on (NULL: none). The
 * gateway borrows the sets: destroy it before rules_reload_stop. */
void rules_reload_set_gateway(struct rules_reload *rr, struct gateway *gw);
/* Stop the watch and free the sets loaded since start: every engine and
 * the gateway using one must be gone. */
void rules_reload_stop(struct rules_reload *rr);

#endif
