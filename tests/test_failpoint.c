/* Tests for the failpoint test hooks (core/failpoint.c): the VIGIL_FAILPOINT
 * syntax, its errors with their columns, and the two actions (sleep, and
 * kill in a forked child). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/failpoint.h"
#include "core/vigil.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* failpoint_setup(spec) is refused with a message containing want. */
static void expect_refused(const char *spec, const char *want)
{
	char err[512] = "";
	assert_int_equal(failpoint_setup(spec, err, sizeof err), -VIGIL_EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("failpoint_setup(%s): want '%s' in '%s'", spec, want, err);
}

static void test_failpoint__unset_is_disarmed(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(failpoint_setup(NULL, err, sizeof err), 0);
	assert_int_equal(failpoints_armed, 0);
	assert_int_equal(failpoint_setup("", err, sizeof err), 0);
	assert_int_equal(failpoints_armed, 0);
	FAILPOINT("gateway_send_accepted"); /* nothing armed: no effect */
}

static void test_failpoint__syntax_errors(void **state)
{
	char err[256];
	(void)state;
	expect_refused("bogus:kill",
		       "column 1: unknown failpoint \"bogus\" (known: gateway_snapshot_after_export");
	expect_refused("gateway_send_accepted", "column 1: want NAME:ACTION");
	expect_refused("gateway_send_accepted:sleep=x", "column 29: sleep=MS wants 0..600000");
	expect_refused("gateway_send_accepted:sleep=-1", "column 29: sleep=MS");
	expect_refused("gateway_send_accepted:sleep=600001", "sleep=MS wants 0..600000");
	expect_refused("gateway_send_accepted:sleep=", "column 23: unknown action \"sleep=\"");
	expect_refused("gateway_send_accepted:kill,gateway_snapshot_after_export:explode",
		       "column 58: unknown action \"explode\"");
	/* a refused spec leaves what was armed as it was */
	assert_int_equal(failpoint_setup("gateway_send_accepted:sleep=0", err, sizeof err), 0);
	expect_refused("gateway_send_accepted:kill,", "column 28: want NAME:ACTION");
	assert_int_equal(failpoints_armed, 1);
	assert_int_equal(failpoint_setup(NULL, err, sizeof err), 0);
}

static void test_failpoint__sleep(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(
		failpoint_setup("gateway_snapshot_after_export:sleep=150,gateway_send_accepted:sleep=0", err,
				sizeof err),
		0);
	assert_int_equal(failpoints_armed, 1);
	double t0 = now_s();
	FAILPOINT("gateway_snapshot_after_export");
	double slept = now_s() - t0;
	assert_true(slept >= 0.15);
	t0 = now_s();
	FAILPOINT("gateway_send_accepted");
	FAILPOINT("not_a_failpoint"); /* unknown names are ignored at the hook */
	assert_true(now_s() - t0 < 0.15);
	assert_int_equal(failpoint_setup(NULL, err, sizeof err), 0);
}

static void test_failpoint__kill(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(failpoint_setup("gateway_send_accepted:kill", err, sizeof err), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FAILPOINT("gateway_snapshot_after_export"); /* not armed: goes on */
		FAILPOINT("gateway_send_accepted");
		_exit(0); /* not reached */
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_int_equal(failpoint_setup(NULL, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failpoint__unset_is_disarmed),
		cmocka_unit_test(test_failpoint__syntax_errors),
		cmocka_unit_test(test_failpoint__sleep),
		cmocka_unit_test(test_failpoint__kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
