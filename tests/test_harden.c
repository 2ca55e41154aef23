/* Unit tests for core/harden (core dumps off, process not dumpable, the
 * VIGIL_ALLOW_CORE_DUMPS opt-out) and the wipe of secrets in memory
 * (secret_wipe). Each harden case runs in a forked child: the change is
 * process-wide and one-way, and the child reports what it observed through a
 * pipe for the parent to assert. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/harden.h"
#include "core/log.h"
#include "core/secret.h"

struct seen {
	int result, again, state;
	int dumpable_before, dumpable_after;
	struct rlimit before, after;
};

/* Raise the soft core limit to the hard one (or 1 MiB when unlimited) so
 * that "unchanged" and "0" differ; as root the hard limit may be raised too. */
static void nonzero_core_limit(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_CORE, &r) != 0)
		return;
	if (r.rlim_max == 0) {
		struct rlimit up = {1 << 20, 1 << 20};
		(void)setrlimit(RLIMIT_CORE, &up); /* root only; else left as it is */
		return;
	}
	r.rlim_cur = r.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : r.rlim_max;
	(void)setrlimit(RLIMIT_CORE, &r);
}

/* Fork; in the child set VIGIL_ALLOW_CORE_DUMPS to allow (NULL: unset), call
 * harden_core_dumps() twice and report. */
static void run_child(const char *allow, struct seen *s)
{
	int fd[2], status;
	pid_t pid;

	memset(s, 0, sizeof *s);
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct seen c;
		memset(&c, 0, sizeof c);
		close(fd[0]);
		log_level = LOG_LEVEL_ERR; /* the opt-out warning is not under test here */
		if (allow)
			setenv(HARDEN_ENV, allow, 1);
		else
			unsetenv(HARDEN_ENV);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		nonzero_core_limit();
		c.dumpable_before = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		getrlimit(RLIMIT_CORE, &c.before);
		c.result = (int)harden_core_dumps();
		c.again = (int)harden_core_dumps();
		c.state = (int)harden_state();
		c.dumpable_after = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
		getrlimit(RLIMIT_CORE, &c.after);
		_exit(write(fd[1], &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], s, sizeof *s), (ssize_t)sizeof *s);
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void assert_hardened(const struct seen *s)
{
	assert_int_equal(s->result, HARDEN_OFF);
	assert_int_equal(s->again, HARDEN_OFF);
	assert_int_equal(s->state, HARDEN_OFF);
	assert_int_equal(s->dumpable_after, 0);
	assert_true(s->after.rlim_cur == 0);
	assert_true(s->after.rlim_max == 0);
}

static void test_harden__off_by_default(void **state)
{
	struct seen s;
	(void)state;
	assert_int_equal(harden_state(), HARDEN_NOT_RUN);
	run_child(NULL, &s);
	/* the start was observably different: dumpable, and a nonzero hard
	 * limit unless this machine's is 0 for a non-root user */
	assert_int_equal(s.dumpable_before, 1);
	if (s.before.rlim_max == 0)
		print_message("note: the hard core limit is 0 here: the limit cannot tell the modes apart\n");
	assert_hardened(&s);
	run_child("", &s);
	assert_hardened(&s);
	run_child("0", &s);
	assert_hardened(&s);
	/* anything but 1 is not an opt-out: fail safe */
	run_child("yes", &s);
	assert_hardened(&s);
}

static void test_harden__opt_out_changes_nothing(void **state)
{
	struct seen s;
	(void)state;
	run_child("1", &s);
	assert_int_equal(s.result, HARDEN_ALLOWED);
	assert_int_equal(s.again, HARDEN_ALLOWED);
	assert_int_equal(s.state, HARDEN_ALLOWED);
	assert_int_equal(s.dumpable_after, s.dumpable_before);
	assert_int_equal(s.dumpable_after, 1);
	assert_true(s.after.rlim_cur == s.before.rlim_cur);
	assert_true(s.after.rlim_max == s.before.rlim_max);
}

static void test_secret_wipe(void **state)
{
	char buf[32];
	char *s = strdup("hunter2-resolved-secret");
	(void)state;
	memset(buf, 'x', sizeof buf);
	secret_wipe(buf + 4, 8);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], i >= 4 && i < 12 ? 0 : 'x');
	secret_wipe(NULL, 8); /* nothing to do */
	secret_wipe(buf, 0);
	assert_non_null(s);
	secret_free(s); /* wiped then freed: valgrind and ASan see a clean free */
	secret_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_harden__off_by_default),
		cmocka_unit_test(test_harden__opt_out_changes_nothing),
		cmocka_unit_test(test_secret_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
