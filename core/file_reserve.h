/* Disk space kept allocated ahead of the end of an append-only file (a
 * write-ahead log), as databases preallocate theirs: the blocks past the
 * end are taken with fallocate(FALLOC_FL_KEEP_SIZE), so the file's size
 * does not change and appends land in space the filesystem already gave
 * the file. A disk that fills up while the file is open then costs no
 * durability until that reserve is used up.
 *
 * Contracts:
 *  - Space: the reserve is `want` bytes past the logical end (what the
 *    writer has appended, bytes still in a stdio buffer included). It is
 *    refreshed to `want` once less than half of it is left. A refresh that
 *    cannot get `want` bytes (ENOSPC) takes what it can in halves down to
 *    one page, counts a failure, logs one warning per minute at most
 *    (event=log_reserve_short, with the bytes left) and is not tried again
 *    for `retry` seconds (real time): writes go on into what is left.
 *  - Unsupported filesystems (EOPNOTSUPP, ENOSYS): one warning
 *    (event=log_reserve_unsupported), no reserve, never tried again; the
 *    file itself works as before. No emulation (posix_fallocate would write
 *    zeros into the file's size).
 *  - What the reserve covers stays allocated after the file is closed
 *    (ext4, xfs, tmpfs): a later process that opens the file for appending
 *    finds it (file_reserve_init reads it back from st_blocks).
 *  - Counting: `left` is an estimate from st_blocks at init plus what each
 *    successful fallocate covered; the file is assumed dense (an append-only
 *    log is).
 * @thread not thread-safe: the caller serialises calls on one reserve (the
 * log's mutex). */
#ifndef CORE_FILE_RESERVE_H
#define CORE_FILE_RESERVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

#define FILE_RESERVE_DEFAULT (4 * 1024 * 1024) /* bytes */

struct file_reserve {
	int fd;            /* borrowed, open for writing */
	const char *path;  /* borrowed, for messages */
	int64_t want;      /* bytes to keep ahead of end; 0 = no reserve */
	int64_t end;       /* logical end: bytes appended so far */
	int64_t alloc_end; /* allocated from offset 0 up to here, as far as known */
	int unsupported;   /* the filesystem has no fallocate */
	double retry;      /* seconds between refreshes after a failed one; default 1 */
	double next_try;   /* clock_mono_real() before which no refresh is tried */
	uint64_t failures; /* refreshes that could not get `want` bytes */
	struct complain warn;
};

/* Start tracking fd (whose logical end is `end`) with `want` bytes ahead
 * (<= 0: none), without allocating anything yet: call file_reserve_refresh.
 * Reads st_blocks to find what an earlier process left allocated. */
void file_reserve_init(struct file_reserve *r, int fd, const char *path, int64_t want, int64_t end);
/* Top the reserve up to `want` bytes past the end. force: even when more
 * than half is left and within the retry interval. Returns 0 when the full
 * reserve is in place (or none is wanted), -1 otherwise (counted, warned as
 * the contract says). */
int file_reserve_refresh(struct file_reserve *r, int force);
/* n bytes were appended: move the end, refresh when less than half is left. */
void file_reserve_advance(struct file_reserve *r, size_t n);
/* Bytes allocated past the logical end (the estimate above), >= 0. */
int64_t file_reserve_left(const struct file_reserve *r);

/* fallocate(fd, FALLOC_FL_KEEP_SIZE, off, len): 0, or -errno (-EOPNOTSUPP
 * when the filesystem cannot, -ENOSPC when the disk has no room). */
int file_preallocate(int fd, int64_t off, int64_t len);

#endif
