/* Linked into the ThreadSanitizer variant only (build/tsan, `make tsan`).
 *
 * librdkafka (Debian's 2.0.2, built with C11THREADS) starts its threads and
 * takes its locks through C11 <threads.h>. glibc implements thrd_create,
 * mtx_lock, cnd_wait... by calling its internal pthread functions directly,
 * which gcc 12's and clang 14's TSan runtimes do not intercept: a librdkafka
 * thread is then unknown to TSan and crashes in its allocator on the first
 * malloc, and librdkafka's locks are invisible (every hand-off through its
 * queues would look like a race). Defining the C11 functions here, in the
 * executable, interposes them for librdkafka.so: each one forwards to the
 * pthread function TSan intercepts. glibc's mtx_t/cnd_t/thrd_t have the
 * layout of pthread_mutex_t/pthread_cond_t/pthread_t (glibc casts them the
 * same way), so the casts below are the library's own contract.
 * @thread any, exactly as <threads.h>. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

static int c11_rc(int e)
{
	switch (e) {
	case 0: return thrd_success;
	case ETIMEDOUT: return thrd_timedout;
	case EBUSY: return thrd_busy;
	case ENOMEM: return thrd_nomem;
	default: return thrd_error;
	}
}

struct start {
	thrd_start_t fn;
	void *arg;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	return (void *)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	struct start *s = malloc(sizeof *s);
	if (s == NULL)
		return thrd_nomem;
	s->fn = func;
	s->arg = arg;
	pthread_t t;
	int e = pthread_create(&t, NULL, trampoline, s);
	if (e) {
		free(s);
		return c11_rc(e);
	}
	*thr = (thrd_t)t;
	return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
	void *r = NULL;
	int e = pthread_join((pthread_t)thr, &r);
	if (e == 0 && res)
		*res = (int)(intptr_t)r;
	return c11_rc(e);
}

int thrd_detach(thrd_t thr)
{
	return c11_rc(pthread_detach((pthread_t)thr));
}

int mtx_init(mtx_t *m, int type)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	if (type & mtx_recursive)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	int e = pthread_mutex_init((pthread_mutex_t *)m, &a);
	pthread_mutexattr_destroy(&a);
	return c11_rc(e);
}

int mtx_lock(mtx_t *m)
{
	return c11_rc(pthread_mutex_lock((pthread_mutex_t *)m));
}

int mtx_trylock(mtx_t *m)
{
	return c11_rc(pthread_mutex_trylock((pthread_mutex_t *)m));
}

int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
	return c11_rc(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}

int mtx_unlock(mtx_t *m)
{
	return c11_rc(pthread_mutex_unlock((pthread_mutex_t *)m));
}

void mtx_destroy(mtx_t *m)
{
	pthread_mutex_destroy((pthread_mutex_t *)m);
}

int cnd_init(cnd_t *c)
{
	return c11_rc(pthread_cond_init((pthread_cond_t *)c, NULL));
}

int cnd_signal(cnd_t *c)
{
	return c11_rc(pthread_cond_signal((pthread_cond_t *)c));
}

int cnd_broadcast(cnd_t *c)
{
	return c11_rc(pthread_cond_broadcast((pthread_cond_t *)c));
}

int cnd_wait(cnd_t *c, mtx_t *m)
{
	return c11_rc(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
	return c11_rc(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}

void cnd_destroy(cnd_t *c)
{
	pthread_cond_destroy((pthread_cond_t *)c);
}
