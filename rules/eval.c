/* Alert state per (rule, series): k-of-n over a bit history, direction,
 * keep_firing_for and episodes (see rule_eval() in rules.h). Pure function
 * of (rule, state, input); the state is plain data the caller owns. */
#include <math.h>
#include <string.h>

#include "rules/rules.h"

static int popcount64(uint64_t x)
{
	int n = 0;

	while (x) {
		x &= x - 1;
		n++;
	}
	return n;
}

/* Is this scored point anomalous for r? score >= threshold, and on the
 * rule's side of the expected value. When expected is unknown (NaN) the side
 * cannot be judged and the score alone decides. */
static int is_anomalous(const struct rule *r, double value, const struct det_result *res)
{
	if (!(res->score >= r->threshold))
		return 0;
	if (r->direction == DIR_BOTH || isnan(res->expected) || isnan(value))
		return 1;
	if (r->direction == DIR_UP)
		return value > res->expected;
	return value < res->expected;
}

/* Semantics, beyond the contract in rules.h:
 *  - the history holds the last for_n scored points (bit 0 newest); a
 *    warm-up/gap point (score NaN) is not a point: nothing changes;
 *  - an episode opens (RULE_FIRE) on an anomalous point that brings the
 *    count of anomalous points among the last for_n to for_k or more; a
 *    normal point never opens one;
 *  - while open, every scored point counts in npoints and anomalous ones
 *    raise peak_score; it closes (RULE_RESOLVE) on the first normal point
 *    with ts - last_true >= keep_firing_for: firing drops to 0 while
 *    started, start_pos, peak_score and npoints keep describing the episode
 *    just closed, because the caller reports them in the resolved alert
 *    (core/engine.c reads them after this call); the next RULE_FIRE
 *    overwrites all four. The history and last_true are never reset. */
enum rule_transition rule_eval(const struct rule *r, struct rule_state *st, double ts, double value,
			       const struct det_result *res, int64_t pos)
{
	int n, k, bad;
	uint64_t mask;

	if (r == NULL || st == NULL || res == NULL || isnan(res->score))
		return RULE_NONE;
	n = r->for_n < 1 ? 1 : r->for_n > 64 ? 64 : r->for_n;
	k = r->for_k < 1 ? 1 : r->for_k > n ? n : r->for_k;
	mask = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
	bad = is_anomalous(r, value, res);
	st->hist = ((st->hist << 1) | (uint64_t)bad) & mask;
	if (bad)
		st->last_true = ts;
	if (st->firing) {
		st->npoints++;
		if (bad && res->score > st->peak_score)
			st->peak_score = res->score;
		if (!bad && ts - st->last_true >= r->keep_firing_for) {
			st->firing = 0;
			return RULE_RESOLVE;
		}
		return RULE_NONE;
	}
	if (bad && popcount64(st->hist) >= k) {
		st->firing = 1;
		st->started = ts;
		st->start_pos = pos;
		st->peak_score = res->score;
		st->npoints = 1;
		return RULE_FIRE;
	}
	return RULE_NONE;
}
