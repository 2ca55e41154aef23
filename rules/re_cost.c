/* A bound on what compiling a POSIX extended regular expression costs
 * (rules.h: re_cost). glibc's regcomp copies the subtree of an interval
 * {m,n} max(m, n) times and of X+ once more (X X*), so nested repetitions
 * multiply: "((a{1,1000}){1,1000}){1,1000}" or "e+++...+" (each '+' doubles)
 * need gigabytes before regcomp returns, and the epsilon closures of nested
 * repetitions take it minutes ("(((a*)+){1,30}){1,30}": found by
 * fuzz_http_bodies). re_cost walks the pattern once, without compiling it,
 * and returns an upper estimate of the parse-tree nodes regcomp builds, or
 * +inf for what is refused outright: adjacent repetition operators ("a+*",
 * undefined in POSIX), repetitions nested more than RE_MAX_NEST deep, an
 * interval count over RE_MAX_COUNT. Callers refuse a pattern above
 * RE_MAX_COST. An interval over an operand that may match the empty string
 * costs the square of its copies' size:
 * "(a|b*){1,900}" passed the linear estimate and took 11.6 GB and 9 minutes
 * in regcomp (glibc 2.36, 7 December 2026; the issue 16 audit). This is a
 * guard, not a proof. Syntax errors are left to regcomp. */
#include <math.h>
#include <stdlib.h>

#include "rules/rules.h"

#define RE_MAX_DEPTH 64   /* deeper group nesting is refused (cost +inf) */
#define RE_MAX_NEST  2    /* "(a*)+" is fine, "((a*)+)+" is refused */
#define RE_MAX_COUNT 1000 /* the largest m or n of an interval {m,n} */

/* p just after '[': the position after the closing ']' (or the end). */
static const char *skip_bracket(const char *p)
{
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char k = p[1];
			p += 2;
			while (*p && !(p[0] == k && p[1] == ']'))
				p++;
			if (*p)
				p += 2;
		} else {
			p++;
		}
	}
	return *p ? p + 1 : p;
}

double re_cost(const char *p)
{
	double outer[RE_MAX_DEPTH]; /* the enclosing sequence's cost before each open '(' */
	int outer_lvl[RE_MAX_DEPTH];
	/* may match the empty string: the enclosing branch before the group and
	 * whether an earlier branch of the enclosing group may */
	int outer_pre[RE_MAX_DEPTH], outer_alt[RE_MAX_DEPTH];
	int pre_null = 1, last_null = 1, alt_null = 0; /* this branch before its last atom, that atom */
	double sum = 0, last = 0;  /* cost of the current group so far, of its last atom */
	int lvl = 0, last_lvl = 0; /* repetition nesting in the group so far, in its last atom */
	int depth = 0, prev_rep = 0;

	while (*p) {
		char c = *p++;
		int rep = c == '*' || c == '?' || c == '+' ||
			  (c == '{' && ((*p >= '0' && *p <= '9') || *p == ','));
		if (rep) {
			if (prev_rep || ++last_lvl > RE_MAX_NEST)
				return INFINITY; /* "a+*" is undefined in POSIX; deep nesting
						  * makes regcomp's closures explode */
			lvl = last_lvl > lvl ? last_lvl : lvl;
		}
		prev_rep = rep;
		if (c == '(') {
			if (depth == RE_MAX_DEPTH)
				return INFINITY;
			outer[depth] = sum;
			outer_pre[depth] = pre_null && last_null;
			outer_alt[depth] = alt_null;
			outer_lvl[depth++] = lvl;
			sum = last = 0;
			lvl = last_lvl = 0;
			pre_null = last_null = 1;
			alt_null = 0;
		} else if (c == ')' && depth > 0) {
			last = sum + 1;
			last_lvl = lvl;
			last_null = alt_null || (pre_null && last_null);
			sum = outer[--depth] + last;
			lvl = outer_lvl[depth] > lvl ? outer_lvl[depth] : lvl;
			pre_null = outer_pre[depth];
			alt_null = outer_alt[depth];
		} else if (c == '*' || c == '?') {
			sum += 1;
			last += 1;
			last_null = 1;
		} else if (c == '+') { /* X+ is X X*: one more copy of X */
			sum += last + 1;
			last = 2 * last + 1;
		} else if (rep) { /* {m}, {m,}, {m,n}, {,n} */
			char *end;
			double m = strtod(p, &end), n = m + 1; /* {m,}: m copies and a star */
			if (*end == ',' && end[1] >= '0' && end[1] <= '9')
				n = strtod(end + 1, &end);
			else if (*end == ',')
				end++;
			double k = m > n ? m : n;
			if (k > RE_MAX_COUNT)
				return INFINITY;
			k = k > 1 ? k : 1;
			p = *end == '}' ? end + 1 : end;
			if (last_null && k > 1) {
				/* the operand may match the empty string: regcomp's
				 * epsilon closures then chain across all k copies,
				 * quadratic in their size ("(a|b*){1,900}": 11.6 GB
				 * and 9 minutes) */
				double q = last * k;
				sum += q * q;
				last = q * q;
			} else {
				sum += last * (k - 1) + 1;
				last = last * k + 1;
			}
			last_null = last_null || m < 1;
		} else if (c == '|') {
			sum += 1;
			last = 0;
			last_lvl = 0;
			alt_null = alt_null || (pre_null && last_null);
			pre_null = last_null = 1;
		} else {
			if (c == '\\' && *p)
				p++;
			else if (c == '[')
				p = skip_bracket(p);
			sum += 1;
			last = 1;
			last_lvl = 0;
			pre_null = pre_null && last_null;
			last_null = 0;
		}
	}
	while (depth > 0) /* unbalanced: regcomp refuses it; count what was seen */
		sum += outer[--depth];
	return sum;
}
