/* The file consumer (consumer.h): files or stdin, one record per line, for
 * `vigil replay`. Each file gets its own decoder stream (so per-stream state
 * such as a CSV header or collectd counter rates never crosses files) and,
 * for formats without series names, the file's base name as the series.
 * Positions are 1-based line numbers; the source is the path. */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consumers/consumer.h"
#include "consumers/feed.h"

#define LINES_PER_STEP 4096

struct file_consumer {
	const char *const *paths;
	size_t npaths, at; /* the file being read: paths[at] */
	const char *format;
	int collectd_raw; /* decoder_opts.collectd_raw */
	struct engine *e;
	FILE *in; /* open file, or NULL between files */
	struct decoder *dec;
	int64_t line;
	char series[256];
	char *buf;
	size_t cap;
	int failed;
	struct consumer_stats st;
};

/* Base name without directory and extension, for formats without a series name. */
static void base_series(const char *path, char *out, size_t outlen)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	snprintf(out, outlen, "%s", b);
	char *dot = strrchr(out, '.');
	if (dot && dot != out)
		*dot = '\0';
}

static void close_file(struct file_consumer *f)
{
	if (f->in && f->in != stdin)
		fclose(f->in);
	f->in = NULL;
	if (f->dec)
		decoder_close(f->dec);
	f->dec = NULL;
}

/* Open paths[at]; 0, or -1 when it cannot be opened (reported). */
static int open_file(struct file_consumer *f)
{
	const char *path = f->paths[f->at];
	char err[512];
	struct decoder_opts o = {.default_series = f->series, .collectd_raw = f->collectd_raw};

	base_series(path, f->series, sizeof f->series);
	if (decoder_open(f->format, &o, &f->dec, err, sizeof err) != 0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		return -1;
	}
	f->in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f->in == NULL) {
		fprintf(stderr, "vigil replay: %s: %s\n", path, strerror(errno));
		close_file(f);
		return -1;
	}
	/* only this thread reads it: no stdio locking per line (the process
	 * has delivery threads, which turns glibc's locking on) */
	__fsetlocking(f->in, FSETLOCKING_BYCALLER);
	f->line = 0;
	return 0;
}

static int file_step(void *self, int timeout_ms, int *done)
{
	struct file_consumer *f = self;
	char err[512];
	int n = 0;
	(void)timeout_ms;

	*done = 0;
	while (n < LINES_PER_STEP) {
		if (f->in == NULL) {
			if (f->at >= f->npaths) {
				*done = 1;
				return n;
			}
			if (open_file(f) != 0) {
				f->failed = 1;
				f->at++;
				continue;
			}
		}
		ssize_t len = getline(&f->buf, &f->cap, f->in);
		if (len < 0) {
			if (ferror(f->in)) {
				fprintf(stderr, "vigil replay: %s: read error: %s\n", f->paths[f->at],
					strerror(errno));
				f->failed = 1;
			}
			close_file(f);
			f->at++;
			continue;
		}
		f->line++;
		f->st.lines++;
		f->st.bytes += (uint64_t)len;
		n++;
		while (len > 0 && (f->buf[len - 1] == '\n' || f->buf[len - 1] == '\r'))
			len--;
		if (feed_record(f->dec, f->e, f->paths[f->at], f->line, f->buf, (size_t)len, err,
				sizeof err) != 0)
			f->st.rejected++;
	}
	return n;
}

static void file_tick(void *self, double now)
{
	(void)self;
	(void)now;
}

static int file_finish(void *self)
{
	struct file_consumer *f = self;
	return f->failed ? -VIGIL_EIO : 0;
}

static void file_close(void *self)
{
	struct file_consumer *f = self;
	if (f == NULL)
		return;
	close_file(f);
	free(f->buf);
	free(f);
}

static const struct consumer_ops file_ops = {
	.name = "file",
	.step = file_step,
	.tick = file_tick,
	.finish = file_finish,
	.close = file_close,
};

int consumer_file_open(const char *const *paths, size_t n, const char *format,
		       const struct decoder_opts *dopts, struct engine *e, struct consumer *out, char *err,
		       size_t errlen)
{
	struct decoder *probe;
	struct decoder_opts o = {0};
	struct file_consumer *f;

	/* refuse an unknown format before reading anything */
	if (decoder_open(format, &o, &probe, err, errlen) != 0)
		return -VIGIL_EINVAL;
	decoder_close(probe);
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	f->paths = paths;
	f->npaths = n;
	f->format = format;
	f->collectd_raw = dopts != NULL && dopts->collectd_raw;
	for (size_t i = 0; i < n; i++) { /* for progress: the size of what there is to read */
		struct stat sb;
		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &sb) == 0 && S_ISREG(sb.st_mode))
			f->st.total += (uint64_t)sb.st_size;
	}
	f->e = e;
	out->ops = &file_ops;
	out->self = f;
	return 0;
}

void consumer_file_stats(const struct consumer *c, struct consumer_stats *out)
{
	const struct file_consumer *f = c->self;
	*out = f->st;
}
