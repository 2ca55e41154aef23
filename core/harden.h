/* Process hardening for secrets held in memory: vigil resolves env:/file:
 * secrets (destination URLs and passwords, HTTP tokens, librdkafka
 * credentials) and keeps them for the life of the process, so a core dump or
 * a same-user read of /proc/PID/mem would expose them.
 *
 * harden_core_dumps() is called once by main(), before any command reads a
 * config or resolves a secret. Unless the environment sets
 * VIGIL_ALLOW_CORE_DUMPS=1 (the opt-out for debugging), it sets RLIMIT_CORE
 * to 0 soft and hard (a child or a later setrlimit cannot raise it without
 * CAP_SYS_RESOURCE) and PR_SET_DUMPABLE 0 (no core dump whatever the limit;
 * /proc/PID files owned by root; no ptrace attach and no /proc/PID/mem or
 * environ reads by other processes of the same non-root user). Both are
 * inherited by threads and forked children; an execve() resets the dumpable
 * flag but keeps the limit.
 *
 * Errors: a failed call is logged as a warning with the errno text and the
 * result says so; it is never fatal (vigil still runs, less protected).
 * Nothing logged here ever holds a secret.
 * @thread main thread, before other threads start (it changes process-wide
 * state and reads the environment). */
#ifndef CORE_HARDEN_H
#define CORE_HARDEN_H

#define HARDEN_ENV "VIGIL_ALLOW_CORE_DUMPS"

enum harden_state {
	HARDEN_NOT_RUN = 0, /* harden_core_dumps() was not called */
	HARDEN_OFF,         /* core dumps off and the process not dumpable */
	HARDEN_ALLOWED,     /* VIGIL_ALLOW_CORE_DUMPS=1: nothing changed */
	HARDEN_PARTIAL,     /* a call failed (warned): partly or not protected */
};

/* Apply the policy above once; later calls return the first result. */
enum harden_state harden_core_dumps(void);

/* The state of the process (HARDEN_NOT_RUN before harden_core_dumps). */
enum harden_state harden_state(void);

/* Log the state in effect, once per process: info for off and allowed, warn
 * for partial; later calls do nothing. main() calls it at once for a state
 * other than off; the long-running commands (run, gateway, replay --serve)
 * call it after their options so that their start-up log says which mode is
 * in effect. */
void harden_log(void);

#endif
