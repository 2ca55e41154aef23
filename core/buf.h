/* A growable byte buffer, and a bounds-checked reader over bytes. Used for
 * detector state save/load and checkpoints. Numbers are written in host byte
 * order: state is restored on the same architecture that wrote it (the
 * checkpoint header records the byte order and refuses a mismatch). */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* owned; free with buf_free() */
	size_t len, cap;
	int failed; /* sticky: set when an append could not allocate */
};

/* Appends never fail loudly: on allocation failure buf->failed is set and the
 * buffer keeps its old contents; check buf_ok() once at the end. */
void buf_put(struct buf *b, const void *p, size_t n);
/* printf into b (no NUL added). The whole formatted text is appended, however
 * long; a formatting error appends nothing; out of memory fails b (buf_ok). */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_u32(struct buf *b, uint32_t v);
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_f64(struct buf *b, double v);
void buf_put_str(struct buf *b, const char *s); /* u32 length + bytes, no NUL */
static inline int buf_ok(const struct buf *b)
{
	return !b->failed;
}
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

struct reader {
	const uint8_t *p;
	size_t left;
	int failed; /* sticky: set when a read ran past the end */
};

static inline struct reader reader_of(const void *p, size_t n)
{
	struct reader r = {(const uint8_t *)p, n, 0};
	return r;
}
/* Reads return 0 (and zero-fill) once the reader has failed; check reader_ok(). */
void rd_get(struct reader *r, void *dst, size_t n);
uint32_t rd_u32(struct reader *r);
uint64_t rd_u64(struct reader *r);
double rd_f64(struct reader *r);
static inline int reader_ok(const struct reader *r)
{
	return !r->failed;
}

/* Make room for `need` elements of `size` bytes in the growable array *arr
 * of capacity *cap (doubling, at least 16). 0, or -VIGIL_ENOMEM with the
 * array unchanged (also when the byte count would overflow). */
int vec_reserve(void **arr, size_t *cap, size_t need, size_t size);

#endif
