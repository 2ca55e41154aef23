/* params_apply and friends, see params.h. */
#include "core/params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int params_parse_duration(const char *text, double *out)
{
	char *end;
	double v, mul = 1.0;

	if (text == NULL || *text == '\0')
		return -VIGIL_EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || !isfinite(v) || v < 0)
		return -VIGIL_EINVAL;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mul = 1.0;
	else if (strcmp(end, "ms") == 0)
		mul = 0.001;
	else if (strcmp(end, "m") == 0)
		mul = 60.0;
	else if (strcmp(end, "h") == 0)
		mul = 3600.0;
	else if (strcmp(end, "d") == 0)
		mul = 86400.0;
	else if (strcmp(end, "w") == 0)
		mul = 7 * 86400.0;
	else
		return -VIGIL_EINVAL;
	*out = v * mul;
	return 0;
}

int params_parse_size(const char *text, double *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"", 1},
		     {"B", 1},
		     {"KB", 1e3},
		     {"MB", 1e6},
		     {"GB", 1e9},
		     {"TB", 1e12},
		     {"KiB", 1024.0},
		     {"MiB", 1048576.0},
		     {"GiB", 1073741824.0},
		     {"TiB", 1099511627776.0}};
	char *end;

	if (text == NULL)
		return -VIGIL_EINVAL;
	double v = strtod(text, &end);
	while (*end == ' ')
		end++;
	double mult = -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0)
			mult = units[i].mult;
	if (end == text || mult < 0 || !isfinite(v) || v < 0 || !isfinite(v * mult))
		return -VIGIL_EINVAL;
	*out = v * mult;
	return 0;
}

static const char *kind_name(enum param_kind k)
{
	switch (k) {
	case PARAM_DOUBLE: return "number";
	case PARAM_INT: return "integer";
	case PARAM_BOOL: return "bool";
	case PARAM_DURATION: return "duration";
	case PARAM_ENUM: return "choice";
	}
	return "?";
}

static int out_of_range(const struct param_spec *p, double v)
{
	if (p->min > p->max)
		return 0;
	return v < p->min || v > p->max;
}

int params_parse_value(const struct param_spec *p, const char *text, void *dst, char *err, size_t errlen)
{
	char *end;
	double d;
	long l;

	if (text == NULL)
		text = "";
	switch (p->kind) {
	case PARAM_DOUBLE:
		if (p->allow_nan && strcasecmp(text, "nan") == 0) {
			*(double *)dst = NAN;
			return 0;
		}
		errno = 0;
		d = strtod(text, &end);
		if (errno != 0 || end == text || *end != '\0' || !isfinite(d)) {
			snprintf(err, errlen, "parameter '%s': '%s' is not a finite number", p->name, text);
			return -VIGIL_EINVAL;
		}
		if (out_of_range(p, d)) {
			snprintf(err, errlen, "parameter '%s': %g is outside [%g, %g]", p->name, d, p->min,
				 p->max);
			return -VIGIL_EINVAL;
		}
		*(double *)dst = d;
		return 0;
	case PARAM_DURATION:
		/* A duration may name one keyword (choices[0], e.g. "auto") that
		 * stands for 0 = "let the detector decide". */
		if (p->choices && p->choices[0] && strcmp(text, p->choices[0]) == 0) {
			*(double *)dst = 0.0;
			return 0;
		}
		if (params_parse_duration(text, &d) != 0) {
			snprintf(err, errlen, "parameter '%s': '%s' is not a duration (like 90s, 5m, 2h, 1d)",
				 p->name, text);
			return -VIGIL_EINVAL;
		}
		if (out_of_range(p, d)) {
			snprintf(err, errlen, "parameter '%s': %gs is outside [%g, %g] seconds", p->name, d,
				 p->min, p->max);
			return -VIGIL_EINVAL;
		}
		*(double *)dst = d;
		return 0;
	case PARAM_INT:
		errno = 0;
		l = strtol(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' || l < -2147483647L || l > 2147483647L) {
			snprintf(err, errlen, "parameter '%s': '%s' is not an integer", p->name, text);
			return -VIGIL_EINVAL;
		}
		if (out_of_range(p, (double)l)) {
			snprintf(err, errlen, "parameter '%s': %ld is outside [%g, %g]", p->name, l, p->min,
				 p->max);
			return -VIGIL_EINVAL;
		}
		*(int *)dst = (int)l;
		return 0;
	case PARAM_BOOL:
		if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcasecmp(text, "on") ||
		    !strcmp(text, "1")) {
			*(int *)dst = 1;
			return 0;
		}
		if (!strcasecmp(text, "false") || !strcasecmp(text, "no") || !strcasecmp(text, "off") ||
		    !strcmp(text, "0")) {
			*(int *)dst = 0;
			return 0;
		}
		snprintf(err, errlen, "parameter '%s': '%s' is not true or false", p->name, text);
		return -VIGIL_EINVAL;
	case PARAM_ENUM:
		for (int i = 0; p->choices && p->choices[i]; i++) {
			if (strcmp(p->choices[i], text) == 0) {
				*(int *)dst = i;
				return 0;
			}
		}
		{
			size_t n = (size_t)snprintf(err, errlen, "parameter '%s': '%s' is not one of",
						    p->name, text);
			for (int i = 0; p->choices && p->choices[i] && n < errlen; i++)
				n += (size_t)snprintf(err + n, errlen - n, " %s", p->choices[i]);
		}
		return -VIGIL_EINVAL;
	}
	snprintf(err, errlen, "parameter '%s': unknown kind", p->name);
	return -VIGIL_EINVAL;
}

int params_apply(const struct param_spec *spec, void *cfg, const struct kv *set, size_t nset, char *err,
		 size_t errlen)
{
	char sub[256];
	int rc;

	for (const struct param_spec *p = spec; p && p->name; p++) {
		rc = params_parse_value(p, p->def, (char *)cfg + p->offset, sub, sizeof sub);
		if (rc != 0) {
			snprintf(err, errlen, "internal default: %s", sub);
			return rc;
		}
	}
	for (size_t i = 0; i < nset; i++) {
		const struct param_spec *p = spec;
		while (p && p->name && strcmp(p->name, set[i].key) != 0)
			p++;
		if (p == NULL || p->name == NULL) {
			size_t n = (size_t)snprintf(err, errlen, "%s%sunknown parameter '%s' (known:",
						    set[i].where ? set[i].where : "",
						    set[i].where ? ": " : "", set[i].key);
			for (p = spec; p && p->name && n < errlen; p++)
				n += (size_t)snprintf(err + n, errlen - n, " %s", p->name);
			if (n < errlen)
				snprintf(err + n, errlen - n, ")");
			return -VIGIL_EINVAL;
		}
		rc = params_parse_value(p, set[i].value, (char *)cfg + p->offset, sub, sizeof sub);
		if (rc != 0) {
			snprintf(err, errlen, "%s%s%s", set[i].where ? set[i].where : "",
				 set[i].where ? ": " : "", sub);
			return rc;
		}
	}
	return 0;
}

void params_print_help(FILE *f, const struct param_spec *spec)
{
	for (const struct param_spec *p = spec; p && p->name; p++) {
		fprintf(f, "    %-18s %-8s default %-8s %s", p->name, kind_name(p->kind), p->def, p->help);
		if (p->kind == PARAM_ENUM && p->choices) {
			fprintf(f, " (");
			for (int i = 0; p->choices[i]; i++)
				fprintf(f, "%s%s", i ? "|" : "", p->choices[i]);
			fprintf(f, ")");
		}
		fprintf(f, "\n");
	}
}
