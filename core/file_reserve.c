/* See file_reserve.h. */
#include "core/file_reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"

static const char comp[] = "disk";

#define MIN_CHUNK 4096 /* the smallest piece a short refresh still tries */

int file_preallocate(int fd, int64_t off, int64_t len)
{
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	int e = errno;
	return e == ENOSYS || e == EOPNOTSUPP ? -EOPNOTSUPP : -e;
}

void file_reserve_init(struct file_reserve *r, int fd, const char *path, int64_t want, int64_t end)
{
	struct stat st;

	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->path = path;
	r->want = want > 0 ? want : 0;
	r->end = end;
	r->alloc_end = end;
	r->retry = 1.0;
	if (fstat(fd, &st) == 0 && (int64_t)st.st_blocks * 512 > end)
		r->alloc_end = (int64_t)st.st_blocks * 512; /* blocks an earlier reserve left past the end */
}

int64_t file_reserve_left(const struct file_reserve *r)
{
	return r->alloc_end > r->end ? r->alloc_end - r->end : 0;
}

/* One allocation of [end, end + len): 0, or -errno. */
static int take(struct file_reserve *r, int64_t len)
{
	int rc = file_preallocate(r->fd, r->end, len);
	if (rc == 0 && r->end + len > r->alloc_end)
		r->alloc_end = r->end + len;
	return rc;
}

int file_reserve_refresh(struct file_reserve *r, int force)
{
	if (r->want == 0 || r->unsupported)
		return r->want == 0 ? 0 : -1;
	if (!force && file_reserve_left(r) >= r->want / 2)
		return 0;
	double now = clock_mono_real();
	if (!force && now < r->next_try)
		return -1;
	int rc = take(r, r->want);
	if (rc == 0)
		return 0;
	if (rc == -EOPNOTSUPP) {
		r->unsupported = 1;
		LOG_WARN(comp,
			 "event=log_reserve_unsupported path=%s (the filesystem cannot preallocate: a full "
			 "disk "
			 "stops the log's writes at once)",
			 r->path);
		return -1;
	}
	/* no room for all of it: take what there is, in halves */
	for (int64_t len = r->want / 2; len >= MIN_CHUNK; len /= 2)
		if (take(r, len) == 0)
			break;
	r->failures++;
	r->next_try = now + r->retry;
	if (complain_due(&r->warn, now, 60.0, 1))
		LOG_WARN(comp,
			 "event=log_reserve_short path=%s reserve_bytes=%" PRId64 " wanted=%" PRId64
			 " failures=%" PRIu64 " err=\"%s\" (appends go on into what is left)",
			 r->path, file_reserve_left(r), r->want, r->failures, strerror(-rc));
	return -1;
}

void file_reserve_advance(struct file_reserve *r, size_t n)
{
	r->end += (int64_t)n;
	if (r->want > 0 && file_reserve_left(r) < r->want / 2)
		file_reserve_refresh(r, 0);
}
