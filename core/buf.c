/* struct buf and struct reader, see buf.h. */
#include "core/buf.h"
#include "core/vigil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->failed || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (d == NULL) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_put_u32(struct buf *b, uint32_t v)
{
	buf_put(b, &v, sizeof v);
}
void buf_put_u64(struct buf *b, uint64_t v)
{
	buf_put(b, &v, sizeof v);
}
void buf_put_f64(struct buf *b, double v)
{
	buf_put(b, &v, sizeof v);
}

void buf_put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	buf_put_u32(b, (uint32_t)n);
	buf_put(b, s, n);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

void rd_get(struct reader *r, void *dst, size_t n)
{
	if (r->failed || n > r->left) {
		r->failed = 1;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

uint32_t rd_u32(struct reader *r)
{
	uint32_t v;
	rd_get(r, &v, sizeof v);
	return v;
}

uint64_t rd_u64(struct reader *r)
{
	uint64_t v;
	rd_get(r, &v, sizeof v);
	return v;
}

double rd_f64(struct reader *r)
{
	double v;
	rd_get(r, &v, sizeof v);
	return v;
}

int vec_reserve(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -VIGIL_ENOMEM;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return -VIGIL_ENOMEM;
	void *p = realloc(*arr, ncap * size);
	if (p == NULL)
		return -VIGIL_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		buf_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL) {
		b->failed = 1; /* as buf_put on out of memory: buf_ok() says so */
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_put(b, big, (size_t)n);
	free(big);
}
