/* Core dumps off and the process not dumpable (core/harden.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/harden.h"
#include "core/log.h"

#define COMP "harden"

static enum harden_state state = HARDEN_NOT_RUN;
static int logged;
static char failed_call[64]; /* the first call that failed, for harden_log */
static int failed_errno;

static void note_failure(const char *call, int err)
{
	LOG_WARN(COMP, "event=core_dumps_not_disabled call=%s error=\"%s\"", call, strerror(err));
	if (!failed_call[0]) {
		strncpy(failed_call, call, sizeof failed_call - 1);
		failed_errno = err;
	}
}

enum harden_state harden_core_dumps(void)
{
	const char *allow = getenv(HARDEN_ENV);
	struct rlimit zero = {0, 0};
	int ok = 1;

	if (state != HARDEN_NOT_RUN)
		return state;
	if (allow && strcmp(allow, "1") == 0) {
		state = HARDEN_ALLOWED;
		return state;
	}
	if (allow && *allow && strcmp(allow, "0") != 0)
		LOG_WARN(COMP, "event=core_dumps_opt_out_ignored reason=\"%s is set but not to 1 or 0\"",
			 HARDEN_ENV);
	if (setrlimit(RLIMIT_CORE, &zero) != 0) {
		note_failure("setrlimit(RLIMIT_CORE)", errno);
		ok = 0;
	}
	/* LeakSanitizer's exit check attaches to the threads with ptrace from
	 * a helper task, which a process that is not dumpable refuses to a
	 * non-root user; the sanitizer runtime makes the process dumpable for
	 * that stop-the-world and clears the flag again. Checked as user
	 * nobody: a leaking ASan probe after PR_SET_DUMPABLE 0 still reports
	 * its leak, and tests/e2e_coredump.sh runs the ASan vigil as nobody
	 * to a clean exit. So the flag is cleared under sanitizers too. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		note_failure("prctl(PR_SET_DUMPABLE)", errno);
		ok = 0;
	}
	state = ok ? HARDEN_OFF : HARDEN_PARTIAL;
	return state;
}

enum harden_state harden_state(void)
{
	return state;
}

void harden_log(void)
{
	if (logged)
		return;
	logged = 1;
	switch (state) {
	case HARDEN_OFF: LOG_INFO(COMP, "event=core_dumps state=off rlimit_core=0 dumpable=0"); break;
	case HARDEN_ALLOWED:
		LOG_INFO(COMP,
			 "event=core_dumps state=allowed reason=\"%s=1\" note=\"a core dump of this process "
			 "holds its resolved secrets\"",
			 HARDEN_ENV);
		break;
	case HARDEN_PARTIAL:
		LOG_WARN(COMP, "event=core_dumps state=partial failed=%s error=\"%s\"", failed_call,
			 strerror(failed_errno));
		break;
	case HARDEN_NOT_RUN: LOG_WARN(COMP, "event=core_dumps state=unchanged reason=\"not applied\""); break;
	}
}
