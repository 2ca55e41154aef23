/* Reloading rules and owners while a command runs: see rules_reload.h. */
#include "cli/rules_reload.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "sinks/gateway.h"

static volatile sig_atomic_t hup;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

#define WATCH_MASK  (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)
#define DEBOUNCE_MS 200

/* Watch directory dir, counting only events about file (NULL: any YAML
 * file or subdirectory). 0 or -1 with err. */
static int watch_dir(struct rules_reload *rr, const char *dir, const char *file, char *err, size_t errlen)
{
	int wd = inotify_add_watch(rr->fd, dir, WATCH_MASK);

	if (wd < 0) {
		snprintf(err, errlen, "cannot watch '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (vec_reserve((void **)&rr->w, &rr->capw, rr->nw + 1, sizeof *rr->w) != 0) {
		snprintf(err, errlen, "cannot watch '%s': out of memory", dir);
		return -1;
	}
	rr->w[rr->nw].wd = wd;
	snprintf(rr->w[rr->nw].file, sizeof rr->w[rr->nw].file, "%s", file ? file : "");
	rr->nw++;
	return 0;
}

/* A path as given: a directory and its subdirectories (the team
 * directories), or a file's directory (editors replace files by rename). */
static int watch_path(struct rules_reload *rr, const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct dirent *de;
	char sub[PATH_MAX];
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot watch '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		if (slash == NULL)
			return watch_dir(rr, ".", path, err, errlen);
		snprintf(sub, sizeof sub, "%.*s", (int)(slash - path) + (slash == path), path);
		return watch_dir(rr, sub, slash + 1, err, errlen);
	}
	if (watch_dir(rr, path, NULL, err, errlen) != 0)
		return -1;
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "cannot watch '%s': %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			rc = watch_dir(rr, sub, NULL, err, errlen);
	}
	closedir(d);
	return rc;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);
	return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* Does this event concern the rules or owners? */
static int relevant(const struct rules_reload *rr, const struct inotify_event *ev)
{
	for (size_t i = 0; i < rr->nw; i++) {
		if (rr->w[i].wd != ev->wd)
			continue;
		if (ev->len == 0 || ev->name[0] == '.')
			return 0;
		if (rr->w[i].file[0] != '\0')
			return strcmp(ev->name, rr->w[i].file) == 0;
		return (ev->mask & IN_ISDIR) || has_suffix(ev->name, ".yaml") || has_suffix(ev->name, ".yml");
	}
	return 0;
}

/* The watch thread: on an event, wait until the files are quiet for
 * DEBOUNCE_MS, then request a reload. */
static void *watch_main(void *arg)
{
	struct rules_reload *rr = arg;
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = {.fd = rr->fd, .events = POLLIN};
	int pending = 0;

	while (!atomic_load(&rr->stop)) {
		int n = poll(&p, 1, pending ? DEBOUNCE_MS : 100);
		if (n > 0) {
			ssize_t len = read(rr->fd, ev, sizeof ev);
			for (ssize_t off = 0; len > 0 && off < len;) {
				const struct inotify_event *ie = (const void *)(ev + off);
				pending |= relevant(rr, ie);
				off += (ssize_t)(sizeof *ie + ie->len);
			}
			continue;
		}
		if (n == 0 && pending) {
			pending = 0;
			atomic_store(&rr->requested, 1);
		}
	}
	return NULL;
}

int rules_reload_start(struct rules_reload *rr, const char *const *paths, size_t npaths, const char *owners,
		       const struct ruleset *first, int watch, const char *prog, char *err, size_t errlen)
{
	struct sigaction sa;

	memset(rr, 0, sizeof *rr);
	rr->paths = paths;
	rr->npaths = npaths;
	rr->owners = owners;
	rr->first = first;
	rr->target = first;
	rr->prog = prog;
	rr->fd = -1;
	atomic_init(&rr->requested, 0);
	atomic_init(&rr->stop, 0);
	ruleset_version_hex(first, rr->version);
	if (watch) /* a plain replay's output stays as it was */
		LOG_INFO("rules", "event=rules_loaded version=%s rules=%zu owners=%zu", rr->version,
			 first->nrules, first->nowners);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART; /* a blocking read goes on; the reload waits for the next point */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) != 0) {
		snprintf(err, errlen, "cannot handle SIGHUP: %s", strerror(errno));
		return -VIGIL_EIO;
	}
	if (!watch)
		return 0;
	if ((rr->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot watch the rules: inotify: %s", strerror(errno));
		return -VIGIL_EIO;
	}
	for (size_t i = 0; i < npaths; i++)
		if (watch_path(rr, paths[i], err, errlen) != 0)
			goto fail;
	if (owners && watch_path(rr, owners, err, errlen) != 0)
		goto fail;
	if (pthread_create(&rr->thr, NULL, watch_main, rr) != 0) {
		snprintf(err, errlen, "cannot watch the rules: no thread");
		goto fail;
	}
	rr->have_thr = 1;
	return 0;
fail:
	close(rr->fd);
	rr->fd = -1;
	free(rr->w);
	rr->w = NULL;
	rr->nw = rr->capw = 0;
	return -VIGIL_EIO;
}

/* Load and validate; on success the new set becomes the target. */
static void load_new(struct rules_reload *rr)
{
	struct ruleset *rs = NULL;
	char err[1024];
	int rc;

	rc = ruleset_load(rr->paths, rr->npaths, rr->owners, &rs, err, sizeof err);
	if (rc == 0)
		rc = gateway_check(rs, err, sizeof err);
	if (rc == 0 && rs->version == rr->target->version) {
		LOG_DBG("rules", "event=rules_unchanged version=%s", rr->version);
		/* the same files: the gateway still reads its secrets again (a
		 * rotated token file takes effect) */
		if (rr->gw && (rc = gateway_reload(rr->gw, rr->target, err, sizeof err)) != 0)
			goto refused;
		ruleset_free(rs);
		return;
	}
	if (rc == 0 && vec_reserve((void **)&rr->sets, &rr->capsets, rr->nsets + 1, sizeof *rr->sets) != 0) {
		snprintf(err, sizeof err, "out of memory");
		rc = -VIGIL_ENOMEM;
	}
	/* the gateway moves first: if its owners cannot be built, nothing moves */
	if (rc == 0 && rr->gw)
		rc = gateway_reload(rr->gw, rs, err, sizeof err);
	if (rc == 0) {
		rr->sets[rr->nsets++] = rs; /* kept until stop: an idle engine may still run an older one */
		rr->target = rs;
		rr->reloads++;
		rr->last_error[0] = '\0'; /* the running set is the newest: valid */
		ruleset_version_hex(rs, rr->version);
		LOG_INFO("rules", "event=rules_reloaded version=%s rules=%zu reloads=%llu", rr->version,
			 rs->nrules, (unsigned long long)rr->reloads);
		return;
	}
refused:
	ruleset_free(rs);
	rr->errors++;
	snprintf(rr->last_error, sizeof rr->last_error, "%.511s", err);
	LOG_ERR("rules",
		"event=rules_reload_failed version=%s reload_errors=%llu error=\"%s\" (the running rules "
		"stay)",
		rr->version, (unsigned long long)rr->errors, err);
}

void rules_reload_check(struct rules_reload *rr)
{
	if (!hup && !atomic_load_explicit(&rr->requested, memory_order_relaxed))
		return;
	hup = 0;
	atomic_store(&rr->requested, 0);
	load_new(rr);
}

void rules_reload_poll(void *ctx, struct engine *e, const struct point *p)
{
	struct rules_reload *rr = ctx;
	char err[256];

	(void)p;
	rules_reload_check(rr);
	if (e == NULL || engine_ruleset(e) == rr->target)
		return;
	if (engine_reload(e, rr->target, err, sizeof err) != 0) {
		rr->errors++;
		LOG_ERR("rules", "event=rules_reload_failed version=%s reload_errors=%llu error=\"%s\"",
			rr->version, (unsigned long long)rr->errors, err);
	}
}

void rules_reload_stop(struct rules_reload *rr)
{
	atomic_store(&rr->stop, 1);
	if (rr->have_thr)
		pthread_join(rr->thr, NULL);
	rr->have_thr = 0;
	if (rr->fd >= 0)
		close(rr->fd);
	rr->fd = -1;
	free(rr->w);
	rr->w = NULL;
	rr->nw = rr->capw = 0;
	signal(SIGHUP, SIG_DFL);
	for (size_t i = 0; i < rr->nsets; i++)
		ruleset_free(rr->sets[i]);
	free(rr->sets);
	rr->sets = NULL;
	rr->nsets = rr->capsets = 0;
	rr->target = rr->first;
	rr->gw = NULL;
}

void rules_reload_set_gateway(struct rules_reload *rr, struct gateway *gw)
{
	rr->gw = gw;
}
