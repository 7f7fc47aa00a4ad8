/* fl_err.c — error names and formatted error messages. */
#include "fl_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *fl_strerror(int code)
{
	switch (code) {
	case FL_OK: return "ok";
	case FL_EINVAL: return "invalid input";
	case FL_ENOMEM: return "out of memory";
	case FL_EIO: return "I/O error";
	case FL_ELIMIT: return "limit exceeded";
	case FL_EPROTO: return "protocol error";
	case FL_EDB: return "database error";
	case FL_ETIMEDOUT: return "timed out";
	case FL_ENOTFOUND: return "not found";
	case FL_ECONFIG: return "configuration error";
	case FL_EREJECTED: return "rejected by peer";
	default: return "unknown error";
	}
}

int fl_seterr(char *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, FL_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return code;
}
