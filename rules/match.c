/* Which series a rule watches: a glob over the series name plus tag
 * matchers (see rules.h), and the same matchers over alert labels (routes,
 * inhibition, silences). Matching is pure and allocation-free, any thread. */
#include <stdio.h>
#include <stdlib.h>
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

static int match_value(const struct tag_matcher *m, const char *v)
{
	switch (m->op) {
	case MATCH_EQ: return strcmp(v, m->value) == 0;
	case MATCH_NE: return strcmp(v, m->value) != 0;
	case MATCH_RE: return regexec(&m->re, v, 0, NULL, 0) == 0;
	case MATCH_NRE: return regexec(&m->re, v, 0, NULL, 0) != 0;
	case MATCH_GLOB: return rule_glob_match(m->value, v);
	}
	return 0;
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
	return rule_matches_tags(r, tags, ntags);
}

int rule_matches_tags(const struct rule *r, const struct tag *tags, int ntags)
{
	for (size_t i = 0; i < r->nmatch; i++) {
		const struct tag_matcher *m = &r->match[i];
		int ok = match_value(m, tag_value(tags, ntags, m->key));
		if (!ok)
			return 0;
	}
	return 1;
}

static const char *kv_value(const struct kv *labels, size_t n, const char *key)
{
	for (size_t i = 0; labels && i < n; i++)
		if (labels[i].key && strcmp(labels[i].key, key) == 0)
			return labels[i].value ? labels[i].value : "";
	return "";
}

int matcher_match_kv(const struct tag_matcher *m, const struct kv *labels, size_t n)
{
	return match_value(m, kv_value(labels, n, m->key));
}

/* The 1-based column of the first ')' of pattern that closes no '(' (outside
 * bracket expressions and escapes), or 0. glibc takes such a ')' as a
 * literal, and in the anchored form ^(...)$ it would close the anchoring
 * group: "x){2}" would match "xx)" instead of "x))". */
static size_t unmatched_paren(const char *p)
{
	size_t depth = 0;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '\\' && p[i + 1]) {
			i++;
		} else if (p[i] == '[') { /* a bracket expression: "]" first is literal */
			size_t j = i + 1;
			if (p[j] == '^')
				j++;
			if (p[j] == ']')
				j++;
			while (p[j] && p[j] != ']') {
				if (p[j] == '[' && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
					const char *end = strchr(p + j + 2, ']');
					j = end ? (size_t)(end - p) : j;
				}
				j++;
			}
			if (!p[j])
				return 0; /* unterminated: regcomp says so */
			i = j;
		} else if (p[i] == '(') {
			depth++;
		} else if (p[i] == ')') {
			if (depth == 0)
				return i + 1;
			depth--;
		}
	}
	return 0;
}

int matcher_build(const char *key, enum match_op op, const char *value, struct tag_matcher *m, char *err,
		  size_t errlen)
{
	struct tag_matcher t = {.op = op};
	if (op == MATCH_RE || op == MATCH_NRE) {
		regex_t probe;
		char *anchored = NULL, msg[160];
		int e;
		size_t col = unmatched_paren(value);
		if (col) {
			snprintf(err, errlen,
				 "bad regular expression '%.80s': the ')' at column %zu closes no '(' (write "
				 "\\) "
				 "for a literal parenthesis)",
				 value, col);
			return -VIGIL_EINVAL;
		}
		if (asprintf(&anchored, "^(%s)$", value) < 0)
			return -VIGIL_ENOMEM;
		/* both forms are compiled: glibc takes an unmatched ')' of value
		 * as a literal, which in the anchored form closes the group */
		double cost = re_cost(value), cost_anchored = re_cost(anchored);
		cost = cost > cost_anchored ? cost : cost_anchored;
		if (cost > RE_MAX_COST) {
			free(anchored);
			snprintf(
				err, errlen,
				"regular expression '%.80s' is too complex (%.3g compiled nodes, at most %d; "
				"repetitions at most 2 deep, never adjacent, counts at most 1000; a count "
				"over what can match nothing costs its copies squared)",
				value, cost, RE_MAX_COST);
			return -VIGIL_EINVAL;
		}
		/* Compile the bare pattern first so that one like "a)|(b" cannot
		 * escape the anchoring group below. */
		if ((e = regcomp(&probe, value, REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(e, &probe, msg, sizeof msg);
			snprintf(err, errlen, "bad regular expression '%s': %s", value, msg);
			free(anchored);
			return -VIGIL_EINVAL;
		}
		regfree(&probe);
		e = regcomp(&t.re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (e != 0) {
			regerror(e, &t.re, msg, sizeof msg);
			snprintf(err, errlen, "bad regular expression '%s': %s", value, msg);
			return -VIGIL_EINVAL;
		}
	}
	t.key = strdup(key);
	t.value = strdup(value);
	if (t.key == NULL || t.value == NULL) {
		matcher_free(&t);
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	*m = t;
	return 0;
}

int matcher_parse(const char *text, struct tag_matcher *m, char *err, size_t errlen)
{
	static const struct {
		const char *tok;
		enum match_op op;
	} ops[] = {{"!~", MATCH_NRE}, {"=~", MATCH_RE}, {"!=", MATCH_NE}, {"=", MATCH_EQ}};
	size_t klen = strcspn(text, "=!~");
	enum match_op op = MATCH_EQ;
	const char *v = NULL;
	char key[256], val[1024];

	for (size_t i = 0; i < sizeof ops / sizeof ops[0] && v == NULL; i++)
		if (strncmp(text + klen, ops[i].tok, strlen(ops[i].tok)) == 0) {
			op = ops[i].op;
			v = text + klen + strlen(ops[i].tok);
		}
	while (klen > 0 && text[klen - 1] == ' ')
		klen--;
	if (v == NULL || klen == 0 || klen >= sizeof key) {
		snprintf(err, errlen,
			 "matcher '%.200s': want name=value, name!=value, name=~regex or name!~regex", text);
		return -VIGIL_EINVAL;
	}
	memcpy(key, text, klen);
	key[klen] = '\0';
	while (*v == ' ')
		v++;
	size_t vlen = strlen(v);
	if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		v++;
		vlen -= 2;
	}
	if (vlen >= sizeof val) {
		snprintf(err, errlen, "matcher '%.200s': value too long", text);
		return -VIGIL_EINVAL;
	}
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	return matcher_build(key, op, val, m, err, errlen);
}

void matcher_format(const struct tag_matcher *m, char *out, size_t outlen)
{
	static const char *const tok[] = {"=", "!=", "=~", "!~", "="}; /* a glob prints as = */
	snprintf(out, outlen, "%s%s\"%s\"", m->key, tok[m->op], m->value);
}

void matcher_free(struct tag_matcher *m)
{
	if (m->op == MATCH_RE || m->op == MATCH_NRE)
		regfree(&m->re);
	free(m->key);
	free(m->value);
	m->key = m->value = NULL;
}
