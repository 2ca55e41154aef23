/* Declarative parameter tables: a plugin lists its parameters (name, kind,
 * default, offset into its config struct, help, range) and params_apply()
 * fills the struct from defaults plus user overrides, rejecting unknown keys
 * and out-of-range values with an error that names where the value came from. */
#ifndef CORE_PARAMS_H
#define CORE_PARAMS_H

#include <stddef.h>
#include <stdio.h>

#include "core/vigil.h"

enum param_kind {
	PARAM_DOUBLE,   /* double; "nan" allowed only if min/max are both NaN-free and allow_nan */
	PARAM_INT,      /* int */
	PARAM_BOOL,     /* int 0/1; true/false/yes/no/on/off/1/0 */
	PARAM_DURATION, /* double seconds; "90", "90s", "5m", "2h", "1d", "1w", "250ms" */
	PARAM_ENUM,     /* int index into choices[] */
};

struct param_spec {
	const char *name;
	enum param_kind kind;
	const char *def; /* default as text, parsed like user input */
	size_t offset;   /* offsetof(config struct, field) */
	const char *help;
	double min, max;            /* inclusive range for numbers; ignored when min > max */
	const char *const *choices; /* PARAM_ENUM: NULL-terminated list; PARAM_DURATION:
				     * optional { "keyword", NULL } read as 0 */
	int allow_nan;              /* PARAM_DOUBLE: "nan" disables the feature */
};

/* Sentinel-terminated tables end with { .name = NULL }. */

/* Fill cfg from spec defaults, then apply set[0..nset). Unknown key, bad
 * number, out-of-range value: -VIGIL_EINVAL and err says "<where>: ...".
 * On error cfg may be partly filled. Does not allocate. */
int params_apply(const struct param_spec *spec, void *cfg, const struct kv *set, size_t nset, char *err,
		 size_t errlen);

/* Parse one value of the given kind into dst (a double or int as the kind says). */
int params_parse_value(const struct param_spec *p, const char *text, void *dst, char *err, size_t errlen);

/* Parse a duration like "5m" into seconds. Returns 0 or -VIGIL_EINVAL. */
int params_parse_duration(const char *text, double *out);

/* Parse a size in bytes: a number with an optional unit B, KB, MB, GB, TB
 * (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 512MiB,
 * 8GB, 1.5GiB. Returns 0 (finite, >= 0) or -VIGIL_EINVAL. */
int params_parse_size(const char *text, double *out);

/* Print "  name (kind, default D): help" lines for --help. */
void params_print_help(FILE *f, const struct param_spec *spec);

#endif
