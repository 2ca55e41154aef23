/* IANA time zones read from compiled zone files (TZif, RFC 8536, versions 1
 * to 4) plus the POSIX TZ footer rule for instants after the last
 * transition. See core/tz.h. Leap-second zones ("right/...") are refused:
 * vigil's instants are POSIX seconds. */
#include "core/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZ_MAX_FILE    (1 << 20)          /* real zone files are a few KiB */
#define TZ_MAX_NAME    255                /* bytes of a zone name */
#define TZ_MAX_FOOTER  255                /* bytes of a footer rule */
#define TZ_MAX_OFF     (26 * 3600)        /* |UT offset| accepted, seconds */
#define TZ_MAX_RULE_H  167                /* hours of a rule's time of day (RFC 8536 3.3.1) */
#define TZ_CLAMP       ((int64_t)1 << 45) /* instants beyond +-2^45 s (~1.1 million years) are clamped */
#define TZ_HDR         44                 /* bytes of a TZif header */

/* One date of a POSIX rule: Jn (kind 'J', n 1..365, February 29th never
 * counted), n (kind 'N', 0..365, counted) or Mm.w.d (kind 'M'), and the
 * local time of day of the change in seconds (may be < 0 or >= 24 h). */
struct tz_date {
	char kind;
	int n, m, w, d;
	int32_t time;
};

struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	int has_dst;              /* 0: std_off all year */
	struct tz_date start;     /* into DST, at a standard local time */
	struct tz_date end;       /* out of DST, at a daylight local time */
};

struct tz {
	char *name;
	int64_t *trans; /* transition instants, strictly ascending */
	uint8_t *tidx;  /* type in force from trans[i] on */
	size_t ntrans;
	int32_t *offs; /* UT offset of each local time type; offs[0] before trans[0] */
	size_t ntypes;
	int has_rule; /* the footer rule holds from the last transition on */
	struct tz_rule rule;
	int32_t min_off, max_off; /* bounds of every offset the zone can be in */
};

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days are counted in eras of 400 years (146097 days) starting on March
 * 1st, so that the leap day is the last day of a year. */
int64_t tz_days_from_civil(int64_t year, int month, int mday)
{
	int64_t m0 = (int64_t)month - 1;
	int64_t y = year + floor_div(m0, 12);
	int64_t m = m0 - floor_div(m0, 12) * 12 + 1; /* 1..12 */
	int64_t ym = m <= 2 ? y - 1 : y;             /* the March-based year */
	int64_t era = floor_div(ym, 400);
	int64_t yoe = ym - era * 400;                 /* 0..399 */
	int64_t doy = (153 * ((m + 9) % 12) + 2) / 5; /* day of the March-based year of the 1st */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468 + (int64_t)mday - 1; /* 719468: 0000-03-01 .. 1970-01-01 */
}

int tz_month_days(int64_t year, int month)
{
	return (int)(tz_days_from_civil(year, month + 1, 1) - tz_days_from_civil(year, month, 1));
}

static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                                      /* 0..146096 */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
	int64_t mp = (5 * doy + 2) / 153;                                    /* 0 = March */

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int weekday(int64_t days)
{
	return (int)(days - floor_div(days + 4, 7) * 7 + 4); /* 1970-01-01 was a Thursday */
}

/* ---- the POSIX rule ---- */

static int64_t rule_day(const struct tz_date *d, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);

	switch (d->kind) {
	case 'J': return jan1 + d->n - 1 + (d->n >= 60 && is_leap(y));
	case 'N': return jan1 + d->n;
	default: break;
	}
	int64_t first = tz_days_from_civil(y, d->m, 1);
	int mday = 1 + (d->d - weekday(first) + 7) % 7 + 7 * (d->w - 1);
	int len = tz_month_days(y, d->m);

	while (mday > len) /* w = 5: the last such weekday */
		mday -= 7;
	return first + mday - 1;
}

struct rule_event {
	int64_t at;
	int32_t off; /* in force from `at` on */
};

/* Offset of rule r at t, and the first change after t (INT64_MAX: none). */
static int32_t rule_offset(const struct tz_rule *r, int64_t t, int64_t *next)
{
	struct rule_event ev[8], e;
	int64_t y0;
	int32_t off;
	size_t n = 0;
	int m, d;

	*next = INT64_MAX;
	if (!r->has_dst)
		return r->std_off;
	civil_from_days(floor_div(t + r->std_off, 86400), &y0, &m, &d);
	for (int64_t y = y0 - 1; y <= y0 + 2; y++) {
		ev[n++] = (struct rule_event){rule_day(&r->start, y) * 86400 + r->start.time - r->std_off,
					      r->dst_off};
		ev[n++] = (struct rule_event){rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off,
					      r->std_off};
	}
	for (size_t i = 1; i < n; i++) { /* stable: a year's end before the next year's start */
		size_t j = i;
		e = ev[i];
		for (; j > 0 && ev[j - 1].at > e.at; j--)
			ev[j] = ev[j - 1];
		ev[j] = e;
	}
	off = ev[0].off == r->dst_off ? r->std_off : r->dst_off;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].at > t) {
			*next = ev[i].at;
			break;
		}
		off = ev[i].off;
	}
	return off;
}

/* 1 to 3 digits, value in [lo, hi]. */
static int p_num(const char **sp, int lo, int hi, int *out)
{
	const char *s = *sp;
	int v = 0, k = 0;

	while (*s >= '0' && *s <= '9' && k < 3) {
		v = v * 10 + (*s++ - '0');
		k++;
	}
	if (k == 0 || (*s >= '0' && *s <= '9') || v < lo || v > hi)
		return -1;
	*sp = s;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hours 0..maxh, in seconds. */
static int p_hms(const char **sp, int maxh, int32_t *out)
{
	const char *s = *sp;
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (p_num(&s, 0, maxh, &h) != 0)
		return -1;
	if (*s == ':') {
		s++;
		if (p_num(&s, 0, 59, &m) != 0)
			return -1;
		if (*s == ':') {
			s++;
			if (p_num(&s, 0, 59, &sec) != 0)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	*sp = s;
	return 0;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static int p_abbr(const char **sp)
{
	const char *s = *sp, *b;

	if (*s == '<') {
		b = ++s;
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		       *s == '+' || *s == '-')
			s++;
		if (*s != '>' || s - b < 3)
			return -1;
		*sp = s + 1;
		return 0;
	}
	b = s;
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	if (s - b < 3)
		return -1;
	*sp = s;
	return 0;
}

static int p_date(const char **sp, struct tz_date *d)
{
	const char *s = *sp;

	memset(d, 0, sizeof *d);
	if (*s == 'J') {
		s++;
		d->kind = 'J';
		if (p_num(&s, 1, 365, &d->n) != 0)
			return -1;
	} else if (*s == 'M') {
		s++;
		d->kind = 'M';
		if (p_num(&s, 1, 12, &d->m) != 0 || *s++ != '.' || p_num(&s, 1, 5, &d->w) != 0 ||
		    *s++ != '.' || p_num(&s, 0, 6, &d->d) != 0)
			return -1;
	} else {
		d->kind = 'N';
		if (p_num(&s, 0, 365, &d->n) != 0)
			return -1;
	}
	d->time = 2 * 3600;
	if (*s == '/') {
		s++;
		if (p_hms(&s, TZ_MAX_RULE_H, &d->time) != 0)
			return -1;
	}
	*sp = s;
	return 0;
}

/* "std offset [dst [offset] ,start[/time],end[/time]]". POSIX offsets
 * count west of Greenwich: "CET-1" is one hour east. A DST name without
 * a rule is refused (zone files always carry one). */
static int parse_rule(const char *s, struct tz_rule *r)
{
	int32_t o;

	memset(r, 0, sizeof *r);
	if (p_abbr(&s) != 0 || p_hms(&s, 24, &o) != 0)
		return -1;
	r->std_off = -o;
	r->dst_off = r->std_off;
	if (*s == '\0')
		return 0;
	if (p_abbr(&s) != 0)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (p_hms(&s, 24, &o) != 0)
			return -1;
		r->dst_off = -o;
	}
	if (*s++ != ',' || p_date(&s, &r->start) != 0 || *s++ != ',' || p_date(&s, &r->end) != 0 ||
	    *s != '\0')
		return -1;
	return 0;
}

/* ---- TZif ---- */

struct tzif_hdr {
	uint8_t ver; /* 0, '2', '3', '4' */
	uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_hdr(const uint8_t *p, size_t n, size_t at, struct tzif_hdr *h)
{
	if (at > n || n - at < TZ_HDR || memcmp(p + at, "TZif", 4) != 0)
		return -1;
	p += at;
	h->ver = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return 0;
}

/* Bytes of the data block after a header, with tsz-byte times. */
static uint64_t block_size(const struct tzif_hdr *h, unsigned tsz)
{
	return (uint64_t)h->time * (tsz + 1) + (uint64_t)h->type * 6 + h->chars +
	       (uint64_t)h->leap * (tsz + 4) + h->isstd + h->isut;
}

/* Read the data block at p (block_size bytes, checked) into z. 0, -1 with
 * *why, or -VIGIL_ENOMEM. */
static int load_block(struct tz *z, const uint8_t *p, const struct tzif_hdr *h, unsigned tsz,
		      const char **why)
{
	const uint8_t *ti = p + (size_t)h->time * tsz, *ty = ti + h->time;

	*why = "bad header counts";
	if (h->type == 0 || h->type > 256 || h->chars == 0 || (h->isstd != 0 && h->isstd != h->type) ||
	    (h->isut != 0 && h->isut != h->type))
		return -1;
	if (h->leap != 0) {
		*why = "leap-second zones are not supported";
		return -1;
	}
	z->trans = malloc(((size_t)h->time + 1) * sizeof *z->trans);
	z->tidx = malloc((size_t)h->time + 1);
	z->offs = malloc((size_t)h->type * sizeof *z->offs);
	if (z->trans == NULL || z->tidx == NULL || z->offs == NULL)
		return -VIGIL_ENOMEM;
	for (uint32_t i = 0; i < h->type; i++) {
		int32_t off = (int32_t)be32(ty + 6 * (size_t)i);
		if (off <= -TZ_MAX_OFF || off >= TZ_MAX_OFF || ty[6 * (size_t)i + 4] > 1 ||
		    ty[6 * (size_t)i + 5] >= h->chars) {
			*why = "bad local time type";
			return -1;
		}
		z->offs[i] = off;
	}
	z->ntypes = h->type;
	for (uint32_t i = 0; i < h->time; i++) {
		const uint8_t *q = p + (size_t)i * tsz;
		int64_t t = tsz == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
		if ((i > 0 && t <= z->trans[i - 1]) || ti[i] >= h->type) {
			*why = i > 0 && t <= z->trans[i - 1] ? "transitions out of order" : "bad type index";
			return -1;
		}
		z->trans[i] = t;
		z->tidx[i] = ti[i];
	}
	z->ntrans = h->time;
	return 0;
}

/* Parse file p[0..n) into z. 0, -1 with *why (not a valid TZif file) or
 * -VIGIL_ENOMEM. */
static int parse_tzif(struct tz *z, const uint8_t *p, size_t n, const char **why)
{
	struct tzif_hdr h;
	uint64_t sz;
	size_t at = 0;
	unsigned tsz = 4;
	int rc;

	*why = "no TZif header";
	if (read_hdr(p, n, 0, &h) != 0)
		return -1;
	if (h.ver != 0 && h.ver != '2' && h.ver != '3' && h.ver != '4') {
		*why = "unknown TZif version";
		return -1;
	}
	*why = "truncated";
	if ((sz = block_size(&h, 4)) > n - TZ_HDR)
		return -1;
	if (h.ver != 0) { /* skip the 32-bit data: the 64-bit header and data follow */
		at = TZ_HDR + (size_t)sz;
		*why = "no second TZif header";
		if (read_hdr(p, n, at, &h) != 0)
			return -1;
		tsz = 8;
		*why = "truncated";
		if ((sz = block_size(&h, 8)) > n - at - TZ_HDR)
			return -1;
	}
	if ((rc = load_block(z, p + at + TZ_HDR, &h, tsz, why)) != 0)
		return rc;
	if (tsz == 4)
		return 0;
	/* the footer: "\n<POSIX TZ rule or nothing>\n" */
	const char *f = (const char *)p + at + TZ_HDR + sz, *end = (const char *)p + n, *nl;
	char rule[TZ_MAX_FOOTER + 1];

	*why = "bad footer";
	if (f >= end || *f != '\n' || (nl = memchr(f + 1, '\n', (size_t)(end - f - 1))) == NULL ||
	    nl - f - 1 > TZ_MAX_FOOTER)
		return -1;
	memcpy(rule, f + 1, (size_t)(nl - f - 1));
	rule[nl - f - 1] = '\0';
	if (rule[0] == '\0')
		return 0;
	if (parse_rule(rule, &z->rule) != 0) {
		*why = "bad footer rule";
		return -1;
	}
	z->has_rule = 1;
	return 0;
}

/* ---- loading ---- */

static const char *bad_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return "is empty";
	if (len > TZ_MAX_NAME)
		return "is too long";
	if (strstr(s, "..") != NULL)
		return "must not contain '..'";
	if (s[0] == '/')
		return "must be a relative path (like Europe/Berlin)";
	for (const char *c = s; *c; c++) {
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '+' || *c == '-' || *c == '/'))
			return "may hold only letters, digits, '_', '+', '-' and '/'";
		if (*c == '/' && (c[1] == '/' || c[1] == '\0'))
			return "has an empty path component";
	}
	return NULL;
}

/* Read a regular file of at most TZ_MAX_FILE bytes. 0, or -1 with errno
 * (EISDIR for a directory, EFBIG for a large file), or -VIGIL_ENOMEM. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *b;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_MAX_FILE) {
		e = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
		close(fd);
		errno = e;
		return -1;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -VIGIL_ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno : EIO;
			free(b);
			close(fd);
			errno = e;
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	*out = b;
	*len = n;
	return 0;
}

static void set_bounds(struct tz *z)
{
	z->min_off = z->max_off = z->offs[0];
	for (size_t i = 1; i < z->ntypes; i++) {
		if (z->offs[i] < z->min_off)
			z->min_off = z->offs[i];
		if (z->offs[i] > z->max_off)
			z->max_off = z->offs[i];
	}
	if (z->has_rule) {
		int32_t o[2] = {z->rule.std_off, z->rule.dst_off};
		for (int i = 0; i < 2; i++) {
			if (o[i] < z->min_off)
				z->min_off = o[i];
			if (o[i] > z->max_off)
				z->max_off = o[i];
		}
	}
}

int tz_load(const char *name, struct tz **out, char *err, size_t errlen)
{
	char dummy[1];
	const char *dir, *why;
	struct tz *z;
	char *path = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	if (name == NULL || out == NULL) {
		snprintf(err, errlen, "tz_load: invalid arguments");
		return -VIGIL_EINVAL;
	}
	if ((why = bad_name(name)) != NULL) {
		snprintf(err, errlen, "invalid time zone name '%s': %s", name, why);
		return -VIGIL_EINVAL;
	}
	if ((z = calloc(1, sizeof *z)) == NULL || (z->name = strdup(name)) == NULL)
		goto nomem;
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		if ((z->offs = calloc(1, sizeof *z->offs)) == NULL)
			goto nomem;
		z->ntypes = 1;
		*out = z;
		return 0;
	}
	dir = getenv("VIGIL_ZONEINFO");
	if (dir == NULL || *dir == '\0')
		dir = TZ_DIR_DEFAULT;
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		goto nomem;
	}
	if ((rc = read_file(path, &data, &len)) != 0) {
		if (rc == -VIGIL_ENOMEM)
			goto nomem;
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			snprintf(err, errlen, "unknown time zone '%s' (no zone file %s)", name, path);
		else if (errno == EFBIG)
			snprintf(err, errlen, "time zone '%s': %s is not a zone file", name, path);
		else
			snprintf(err, errlen, "time zone '%s': cannot read %s: %s", name, path,
				 strerror(errno));
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	if ((rc = parse_tzif(z, data, len, &why)) != 0) {
		if (rc == -VIGIL_ENOMEM)
			goto nomem;
		snprintf(err, errlen, "time zone '%s': %s is not a valid TZif file (%s)", name, path, why);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	set_bounds(z);
	free(data);
	free(path);
	*out = z;
	return 0;
nomem:
	snprintf(err, errlen, "time zone '%s': out of memory", name);
	rc = -VIGIL_ENOMEM;
fail:
	free(data);
	free(path);
	tz_free(z);
	return rc;
}

void tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->trans);
	free(z->tidx);
	free(z->offs);
	free(z);
}

const char *tz_name(const struct tz *z)
{
	return z ? z->name : NULL;
}

/* ---- lookups ---- */

/* Offset in force at t and the first transition after t (INT64_MAX: none). */
static int32_t offset_next(const struct tz *z, int64_t t, int64_t *next)
{
	size_t lo = 0, hi = z->ntrans;

	if (z->ntrans > 0 && t < z->trans[z->ntrans - 1]) {
		while (lo < hi) { /* the first transition after t */
			size_t mid = lo + (hi - lo) / 2;
			if (z->trans[mid] <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		*next = z->trans[lo];
		return lo == 0 ? z->offs[0] : z->offs[z->tidx[lo - 1]];
	}
	if (!z->has_rule) {
		*next = INT64_MAX;
		return z->ntrans ? z->offs[z->tidx[z->ntrans - 1]] : z->offs[0];
	}
	if (t > TZ_CLAMP) {
		int32_t off = rule_offset(&z->rule, TZ_CLAMP, next);
		*next = INT64_MAX;
		return off;
	}
	return rule_offset(&z->rule, t < -TZ_CLAMP ? -TZ_CLAMP : t, next);
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
	int64_t next;

	return offset_next(z, t, &next);
}

void tz_local(const struct tz *z, int64_t t, struct tz_tm *out)
{
	int64_t lt, days, secs, y;

	t = t < -TZ_CLAMP ? -TZ_CLAMP : t > TZ_CLAMP ? TZ_CLAMP : t;
	out->offset = tz_offset(z, t);
	lt = t + out->offset;
	days = floor_div(lt, 86400);
	secs = lt - days * 86400;
	civil_from_days(days, &y, &out->month, &out->mday);
	out->year = (int)y;
	out->wday = weekday(days);
	out->hour = (int)(secs / 3600);
	out->min = (int)(secs / 60 % 60);
	out->sec = (int)(secs % 60);
}

/* The smallest instant s whose local time s + offset(s) is >= the wall
 * time: the exact instant, the earlier one of an overlap, or the end of a
 * gap. Walked interval by interval (constant offset) from the earliest
 * instant that could have that wall time. */
int64_t tz_instant(const struct tz *z, int year, int month, int mday, int hour, int min, int sec)
{
	int64_t local = tz_days_from_civil(year, month, mday) * 86400 + (int64_t)hour * 3600 +
			(int64_t)min * 60 + sec;
	int64_t t = local - z->max_off, next;

	for (int i = 0; i < 64; i++) {
		int32_t off = offset_next(z, t, &next);
		int64_t cand = local - off > t ? local - off : t;
		if (cand < next)
			return cand;
		t = next;
	}
	return local - tz_offset(z, local); /* only for a corrupt table of many tiny intervals */
}
