/* SPDX-License-Identifier: Apache-2.0 */
/* Berth's error contract; see docs/error-handling.md. */
#ifndef BERTH_UTIL_ERROR_H
#define BERTH_UTIL_ERROR_H

#include <stdarg.h>

typedef struct berth_error {
        int status; /* an errno value, or 0 when there is none */
        char *msg;  /* the full message, context first */
} berth_error;

/* Fill *err (when err is not NULL and *err is NULL) and return -status,
 * or -1 when status is 0. "status" is an errno value; when it is not 0 its
 * strerror() text is appended. */
int berth_fail(berth_error **err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int berth_failv(berth_error **err, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Shorthand for berth_fail(err, errno, ...). */
#define berth_fail_errno(err, ...) berth_fail(err, errno, __VA_ARGS__)

/* Prepend context ("pulling `x`: ") to an existing error; returns ret unchanged
 * so that it can be used as `return berth_error_prefix(err, ret, ...)`. */
int berth_error_prefix(berth_error **err, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void berth_error_free(berth_error *err);
void berth_error_freep(berth_error **err);
#define cleanup_error __attribute__((cleanup(berth_error_freep)))

/* Return the errno-style status of an error, or EIO if there is none. */
int berth_error_status(const berth_error *err);

/* The HTTP status of an errno-style status, as the API answers it:
 *   ENOENT -> 404, EEXIST / EBUSY -> 409, EINVAL / E2BIG / ENAMETOOLONG -> 400,
 *   EALREADY -> 304, EPERM / EACCES -> 403, ENOTSUP -> 501, anything else -> 500. */
int berth_errno_http_status(int status);

#endif
