/* Which series a rule watches: a glob over the series name plus tag
 * matchers (see rules.h). Pure functions, no allocation, any thread. */
#include <string.h>

#include "core/point.h"
#include "rules/rules.h"

/* Match one bracket expression starting at p (just after '['). Returns the
 * position after the closing ']' and sets *hit, or NULL when the bracket is
 * not closed (the caller then treats '[' as a literal). */
static const char *match_class(const char *p, unsigned char c, int *hit)
{
	int negate = 0, found = 0;

	if (*p == '!' || *p == '^') {
		negate = 1;
		p++;
	}
	/* a ']' right after '[' or '[!' is a member, not the end */
	if (*p == ']') {
		found = c == ']';
		p++;
	}
	while (*p && *p != ']') {
		unsigned char lo = (unsigned char)*p, hi = lo;

		if (lo == '\\' && p[1]) {
			p++;
			lo = hi = (unsigned char)*p;
		}
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = (unsigned char)p[2];
			if (hi == '\\' && p[3]) {
				hi = (unsigned char)p[3];
				p++;
			}
			p += 2;
		}
		if (c >= lo && c <= hi)
			found = 1;
		p++;
	}
	if (*p != ']')
		return NULL;
	*hit = found != negate;
	return p + 1;
}

int rule_glob_match(const char *pattern, const char *s)
{
	const char *p = pattern, *star_p = NULL, *star_s = NULL;

	if (pattern == NULL || s == NULL)
		return 0;
	/* Iterative matching with one backtrack point: on a mismatch, retry
	 * after the last '*' with one more character consumed by it. This is
	 * complete for globs because a later '*' subsumes earlier choices. */
	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return 1;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s++;
			continue;
		}
		if (*p == '[') {
			int hit = 0;
			const char *next = match_class(p + 1, (unsigned char)*s, &hit);
			if (next != NULL) {
				if (hit) {
					p = next;
					s++;
					continue;
				}
				goto mismatch;
			}
			/* unclosed '[': literal */
		}
		if (*p == '\\' && p[1]) {
			if (p[1] == *s) {
				p += 2;
				s++;
				continue;
			}
			goto mismatch;
		}
		if (*p != '\0' && *p == *s) {
			p++;
			s++;
			continue;
		}
	mismatch:
		if (star_p == NULL)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static const char *tag_value(const struct tag *tags, int ntags, const char *key)
{
	for (int i = 0; tags && i < ntags; i++)
		if (tags[i].key && strcmp(tags[i].key, key) == 0)
			return tags[i].value ? tags[i].value : "";
	return "";
}

int rule_matches(const struct rule *r, const char *name, const struct tag *tags, int ntags)
{
	if (r == NULL || name == NULL || !rule_glob_match(r->series, name))
		return 0;
	for (size_t i = 0; i < r->nmatch; i++) {
		const struct tag_matcher *m = &r->match[i];
		const char *v = tag_value(tags, ntags, m->key);
		int ok = 0;

		switch (m->op) {
		case MATCH_EQ: ok = strcmp(v, m->value) == 0; break;
		case MATCH_NE: ok = strcmp(v, m->value) != 0; break;
		case MATCH_RE: ok = regexec(&m->re, v, 0, NULL, 0) == 0; break;
		case MATCH_NRE: ok = regexec(&m->re, v, 0, NULL, 0) != 0; break;
		case MATCH_GLOB: ok = rule_glob_match(m->value, v); break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}
