/* The central alert gateway: every alert event from every rule goes through
 * one gateway object, which
 *  - gives each event its identity (fingerprint, episode),
 *  - keeps episodes (firing -> resolved) and suppresses repeats of an open
 *    episode (and duplicates of an already-delivered transition),
 *  - hands each notification to the destinations of the owner the rule names
 *    (an unknown owner goes to the fallback "unowned" route and is counted).
 * @thread single-threaded: one caller at a time. */
#ifndef SINKS_GATEWAY_H
#define SINKS_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"
#include "core/alert.h"
#include "sinks/sink.h"

struct gateway;

struct gateway_opts {
	/* Destination used when an owner has none, or for unknown owners.
	 * NULL = "stdout". */
	const char *fallback_sink;
	/* Extra destinations for every alert, e.g. --out FILE; may be NULL/0. */
	const struct destination_cfg *extra;
	size_t nextra;
	/* What destinations may use from the process (borrowed; may be zero). */
	struct sink_env env;
};

struct gateway_stats {
	uint64_t received;   /* events submitted */
	uint64_t fired;      /* episodes opened (firing notifications) */
	uint64_t resolved;   /* episodes closed (resolve notifications) */
	uint64_t suppressed; /* repeats of an open episode / duplicates */
	uint64_t delivered;  /* successful destination sends */
	uint64_t failed;     /* destination sends that failed (after retries) */
	uint64_t unowned;    /* events whose owner is unknown */
	uint64_t open_episodes;
};

/* Instantiate destinations for every owner in rs (borrowed; must outlive the
 * gateway). Returns 0, or -VIGIL_EINVAL with err naming the destination. */
int gateway_create(const struct ruleset *rs, const struct gateway_opts *o, struct gateway **out, char *err,
		   size_t errlen);
/* Check every owner's destinations in rs as gateway_create would (types
 * exist, settings valid) without creating anything: 0, or
 * -VIGIL_EINVAL with err "file:line:column: owner: message". */
int gateway_check(const struct ruleset *rs, char *err, size_t errlen);
/* Route one event. ev is borrowed and copied as needed before return.
 * Returns 0 (delivered or suppressed) or -VIGIL_E* (a destination failed;
 * the failure is counted and logged, the gateway stays usable). */
int gateway_submit(struct gateway *gw, const struct alert_event *ev);
/* Flush destinations. */
void gateway_flush(struct gateway *gw);
void gateway_get_stats(const struct gateway *gw, struct gateway_stats *out);
void gateway_destroy(struct gateway *gw);

#endif
