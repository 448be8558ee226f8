/**
 * @file error.h
 * Error codes and the per-thread error message.
 *
 * Fallible functions return 0 on success or a negative code. The message is
 * set once, where the failure is detected, and passed up unchanged.
 */
#ifndef SCLI_ERROR_H
#define SCLI_ERROR_H

#include "scli/export.h"

enum {
	SCLI_OK = 0,
	SCLI_ERROR = -1,	/**< generic runtime failure */
	SCLI_EINVALID = -2,	/**< invalid input (bad timestamp, bad field, bad argument) */
	SCLI_ENOTFOUND = -3,	/**< something asked for does not exist */
	SCLI_EIO = -4,		/**< I/O failure (file, network, database unreachable) */
	SCLI_ENOMEM = -5,	/**< allocation failed */
	SCLI_ESCHEMA = -6,	/**< database schema missing or newer than this build */
	SCLI_ERANGE = -7,	/**< a limit was exceeded (e.g. too many buckets) */
	SCLI_EUNSUPPORTED = -8, /**< operation not supported by this adapter/build */
	SCLI_ECHANGED = -9	/**< a file changed while it was being loaded */
};

/** Set this thread's error message (printf-style). Returns `code` for `return scli_error_set(...)`.
 */
SCLI_API int scli_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** This thread's last error message (borrowed; "" when none). */
SCLI_API const char *scli_error_last(void);

/** Forget this thread's error message. */
SCLI_API void scli_error_clear(void);

#endif
