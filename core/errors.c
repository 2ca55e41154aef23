/* vigil_strerror: text for the status codes in vigil.h. */
#include "core/vigil.h"

const char *vigil_strerror(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case VIGIL_OK: return "ok";
	case VIGIL_EINVAL: return "invalid input";
	case VIGIL_ENOMEM: return "out of memory";
	case VIGIL_EIO: return "i/o error";
	case VIGIL_EAGAIN: return "try again";
	case VIGIL_EFULL: return "queue full";
	case VIGIL_EVERSION: return "unsupported version";
	case VIGIL_ENUMERIC: return "numerical error";
	case VIGIL_ENOENT: return "not found";
	case VIGIL_ELIMIT: return "limit reached";
	default: return "unknown error";
	}
}
