/* "file" destination: an append-only JSON-lines file, one notification per
 * line.
 *
 * Settings:
 *   path   (required) the file; opened O_WRONLY|O_APPEND|O_CREAT, mode 0644.
 *          Parent directories are not created: a missing directory is an
 *          error at create time.
 *   fsync  (bool, default false) fsync(2) after every line.
 *
 * Each line is the notification's JSON with its "idempotency_key" added
 * (sink_line_key: vigil/<fingerprint>/<episode>/<status>, or vigil-group/...
 * for a group; the webhooks' Idempotency-Key): a reader dedupes on it.
 *
 * Writes are unbuffered (one write(2) per line, looping over partial writes
 * and EINTR) so a line is in the kernel when send() returns SINK_OK, and on
 * disk with fsync: true (fsync after the line). SINK_OK is final
 * (sinks/sink.h): the Kafka gateway records the line as delivered at once,
 * and the member that takes the alerts partition over after a kill -9 of
 * this one does not write it again. With fsync: false a crash of the
 * machine (not of vigil) can lose the newest lines; they are not written
 * again. A write error returns SINK_RETRY; if part of a line had
 * already been written, the next successful send first terminates that torn
 * line with a newline, so every line a reader sees either parses or is a
 * single damaged line, never two notifications glued together.
 * @thread the destination's delivery thread (sinks/sink.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/params.h"
#include "sinks/sink.h"

struct file_sink {
	int fd;
	int fsync;
	int torn; /* 1 when the last line was written only in part */
	char *path;
};

static const struct param_spec fsync_spec = {
	.name = "fsync",
	.kind = PARAM_BOOL,
	.def = "false",
	.help = "fsync after every line",
	.min = 1,
	.max = 0,
};

/* Parse the settings into *path (borrowed from kv), *path_where, *do_fsync. */
static int file_settings(const struct kv *kv, size_t nkv, const char **path, const char **path_where,
			 int *do_fsync, char *err, size_t errlen)
{
	char perr[256];

	*path = *path_where = NULL;
	*do_fsync = 0;
	for (size_t i = 0; i < nkv; i++) {
		const char *where = kv[i].where ? kv[i].where : "?";
		const char *key = kv[i].key ? kv[i].key : "";
		if (!kv[i].value) {
			snprintf(err, errlen, "%s: file destination: setting '%s' has no value", where, key);
			return -VIGIL_EINVAL;
		}
		if (!strcmp(key, "path")) {
			if (!kv[i].value[0]) {
				snprintf(err, errlen, "%s: file destination: path is empty", where);
				return -VIGIL_EINVAL;
			}
			*path = kv[i].value;
			*path_where = where;
		} else if (!strcmp(key, "fsync")) {
			if (params_parse_value(&fsync_spec, kv[i].value, do_fsync, perr, sizeof perr) != 0) {
				snprintf(err, errlen, "%s: file destination: %s", where, perr);
				return -VIGIL_EINVAL;
			}
		} else {
			snprintf(err, errlen,
				 "%s: file destination: unknown setting '%s' (known: path, fsync)", where,
				 key);
			return -VIGIL_EINVAL;
		}
	}
	if (!*path) {
		snprintf(err, errlen, "file destination: setting 'path' is required");
		return -VIGIL_EINVAL;
	}
	return 0;
}

/* The settings only: the path is opened (relative to the process's working
 * directory) when the destination is created. */
static int file_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	const char *path, *path_where;
	int do_fsync;
	return file_settings(kv, nkv, &path, &path_where, &do_fsync, err, errlen);
}

static int file_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		       size_t errlen)
{
	(void)env;
	const char *path = NULL, *path_where = NULL;
	struct file_sink *fs = NULL;
	int do_fsync = 0, rc = file_settings(kv, nkv, &path, &path_where, &do_fsync, err, errlen);

	if (rc)
		return rc;
	fs = calloc(1, sizeof *fs);
	if (!fs) {
		snprintf(err, errlen, "file destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	fs->fd = -1;
	fs->fsync = do_fsync;
	fs->path = strdup(path);
	if (!fs->path) {
		snprintf(err, errlen, "file destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	fs->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fs->fd < 0) {
		snprintf(err, errlen, "%s: file destination: cannot open '%s': %s", path_where, path,
			 strerror(errno));
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	*priv = fs;
	return 0;
fail:
	if (fs) {
		if (fs->fd >= 0)
			close(fs->fd);
		free(fs->path);
		free(fs);
	}
	return rc;
}

/* Write all of iov[0..n) (modified in place). Returns 0, or -1 with errno set
 * and *wrote = bytes that did reach the file. */
static int write_all(int fd, struct iovec *iov, int n, size_t *wrote)
{
	*wrote = 0;
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		*wrote += (size_t)w;
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* One line per notification; see the top of the file for torn lines. */
static enum sink_verdict file_write(struct file_sink *fs, const struct notification *n)
{
	static char nl[] = "\n";
	struct iovec iov[3];
	int niov = 0;
	size_t wrote, head;
	char tail[192];

	if (fs->torn) {
		/* Close the damaged line first; only then is the new line clean. */
		iov[0].iov_base = nl;
		iov[0].iov_len = 1;
		if (write_all(fs->fd, iov, 1, &wrote) != 0)
			return SINK_RETRY;
		fs->torn = 0;
	}
	sink_line_key(n, &head, tail, sizeof tail);
	iov[niov].iov_base = (void *)n->json;
	iov[niov++].iov_len = head;
	iov[niov].iov_base = tail;
	iov[niov++].iov_len = strlen(tail);
	iov[niov].iov_base = nl;
	iov[niov++].iov_len = 1;
	if (write_all(fs->fd, iov, niov, &wrote) != 0) {
		if (wrote > 0)
			fs->torn = 1;
		return SINK_RETRY;
	}
	if (fs->fsync) {
		int rc;
		do
			rc = fsync(fs->fd);
		while (rc != 0 && errno == EINTR);
		if (rc != 0)
			return SINK_RETRY;
	}
	return SINK_OK;
}

static void file_send(void *priv, const struct notification *n, struct sink_result *res)
{
	int saved = errno = 0;
	enum sink_verdict v = file_write(priv, n);
	saved = errno;
	if (v == SINK_OK)
		sink_result_set(res, v, 0, "written");
	else
		sink_result_set(res, v, 0, "write failed: %s", strerror(saved));
}

static int file_flush(void *priv)
{
	(void)priv; /* unbuffered: nothing to do */
	return 0;
}

static void file_destroy(void *priv)
{
	struct file_sink *fs = priv;
	if (!fs)
		return;
	if (fs->fd >= 0)
		close(fs->fd);
	free(fs->path);
	free(fs);
}

const struct sink_type sink_type_file = {
	.name = "file",
	.summary = "append-only JSON-lines file (settings: path, fsync)",
	.create = file_create,
	.check = file_check,
	.send = file_send,
	.flush = file_flush,
	.destroy = file_destroy,
};
