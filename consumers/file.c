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
#include <unistd.h>

#include "consumers/consumer.h"
#include "consumers/feed.h"

#define LINES_PER_STEP 4096
/* The read buffer: a whole record of DECODER_MAX_RECORD bytes plus its
 * "\r\n" fits, and reads are made in blocks of at least READ_BLOCK. */
#define READ_BLOCK (64u * 1024)
#define READ_CAP   ((size_t)DECODER_MAX_RECORD + 2 + READ_BLOCK)

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
	char *buf;        /* READ_CAP bytes, allocated on first use */
	size_t beg, end;  /* unread bytes: buf[beg..end) */
	int eof;          /* the open file has no more bytes */
	int rd_errno;     /* the read error that ended it; 0 = end of file */
	uint64_t skipped; /* bytes of the over-long line being skipped; 0 = none */
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
	f->beg = f->end = 0;
	f->eof = 0;
	f->rd_errno = 0;
	f->skipped = 0;
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

enum { LINE_OK, LINE_TOO_LONG, LINE_END };

/* The next line of the open file, without its '\n': *line and *len point into
 * f->buf until the next call. A line longer than a record may be is never
 * held: it is read through and skipped, and LINE_TOO_LONG gives its length
 * in *len. LINE_END at the end of the file (or a read error: f->rd_errno). A
 * last line without '\n' is a line. Memory stays at READ_CAP whatever the
 * input (getline() grew to the longest line: a file without a newline was
 * read whole into memory). */
static int next_line(struct file_consumer *f, char **line, size_t *len)
{
	if (f->buf == NULL && (f->buf = malloc(READ_CAP)) == NULL) {
		f->rd_errno = ENOMEM;
		return LINE_END;
	}
	for (;;) {
		char *nl = f->end > f->beg ? memchr(f->buf + f->beg, '\n', f->end - f->beg) : NULL;
		size_t have = (nl ? (size_t)(nl - f->buf) : f->end) - f->beg;

		if (nl != NULL || (f->eof && (have > 0 || f->skipped > 0))) {
			*line = f->buf + f->beg;
			f->beg += have + (nl != NULL);
			if (f->skipped > 0) {
				*len = (size_t)(f->skipped + have);
				f->skipped = 0;
				return LINE_TOO_LONG;
			}
			*len = have;
			return LINE_OK;
		}
		if (f->eof)
			return LINE_END;
		if (have > (size_t)DECODER_MAX_RECORD + 1) { /* too long already: drop what there is */
			f->skipped += have;
			f->beg = f->end = 0;
		} else if (f->beg > 0) {
			memmove(f->buf, f->buf + f->beg, have);
			f->beg = 0;
			f->end = have;
		}
		/* read(2), not fread: a pipe's lines are handed on as they come */
		ssize_t got;
		do
			got = read(fileno(f->in), f->buf + f->end, READ_CAP - f->end);
		while (got < 0 && errno == EINTR);
		if (got > 0) {
			f->end += (size_t)got;
		} else {
			f->eof = 1;
			f->rd_errno = got < 0 ? errno : 0;
		}
	}
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
		char *line;
		size_t len;
		int r = next_line(f, &line, &len);
		if (r == LINE_END) {
			if (f->rd_errno != 0) {
				fprintf(stderr, "vigil replay: %s: read error: %s\n", f->paths[f->at],
					strerror(f->rd_errno));
				f->failed = 1;
			}
			close_file(f);
			f->at++;
			continue;
		}
		f->line++;
		f->st.lines++;
		f->st.bytes += (uint64_t)len + 1;
		n++;
		if (r == LINE_TOO_LONG) {
			snprintf(err, sizeof err,
				 "column %u: line of %zu bytes, longer than a record may be (%u)",
				 DECODER_MAX_RECORD + 1, len, DECODER_MAX_RECORD);
			engine_note_reject(f->e, f->paths[f->at], f->line, err);
			f->st.rejected++;
			continue;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (feed_record(f->dec, f->e, f->paths[f->at], f->line, line, len, err, sizeof err) != 0)
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
