/* vigil: common status codes and small helpers shared by every module.
 * Convention: functions return 0 on success or -VIGIL_E* on failure; results go
 * through out-parameters; parsers also fill a caller's (err, errlen) buffer. */
#ifndef CORE_VIGIL_H
#define CORE_VIGIL_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_VERSION "0.1.0"

enum vigil_err {
	VIGIL_OK = 0,
	VIGIL_EINVAL = 1, /* bad input or configuration */
	VIGIL_ENOMEM,     /* allocation failed */
	VIGIL_EIO,        /* read/write failed */
	VIGIL_EAGAIN,     /* try again later */
	VIGIL_EFULL,      /* a queue or table is at its cap */
	VIGIL_EVERSION,   /* unknown state/format version */
	VIGIL_ENUMERIC,   /* numerical failure (GSL, non-finite) */
	VIGIL_ENOENT,     /* no such thing */
	VIGIL_ELIMIT,     /* a configured limit (cardinality, size) was hit */
};

/* Human text for 0 or -VIGIL_E*. Never NULL. */
const char *vigil_strerror(int rc);

/* A key/value pair with the place it came from ("file:line:col", or NULL).
 * Used for detector parameters, destination settings and labels. */
struct kv {
	const char *key;
	const char *value;
	const char *where;
};

#define VIGIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
