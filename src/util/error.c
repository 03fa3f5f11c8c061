/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "xalloc.h"

int berth_failv(berth_error **err, int status, const char *fmt, va_list ap)
{
        int ret = status > 0 ? -status : -1;
        char *msg;

        if (err == NULL || *err != NULL)
                return ret;
        msg = xvasprintf(fmt, ap);
        if (status > 0) {
                char *full = xasprintf("%s: %s", msg, strerror(status));
                free(msg);
                msg = full;
        }
        *err = xmalloc0(sizeof(**err));
        (*err)->status = status;
        (*err)->msg = msg;
        return ret;
}

int berth_fail(berth_error **err, int status, const char *fmt, ...)
{
        va_list ap;
        int ret;

        va_start(ap, fmt);
        ret = berth_failv(err, status, fmt, ap);
        va_end(ap);
        return ret;
}

int berth_error_prefix(berth_error **err, int ret, const char *fmt, ...)
{
        va_list ap;
        char *prefix, *full;

        if (err == NULL || *err == NULL)
                return ret;
        va_start(ap, fmt);
        prefix = xvasprintf(fmt, ap);
        va_end(ap);
        full = xasprintf("%s: %s", prefix, (*err)->msg);
        free(prefix);
        free((*err)->msg);
        (*err)->msg = full;
        return ret;
}

void berth_error_free(berth_error *err)
{
        if (err == NULL)
                return;
        free(err->msg);
        free(err);
}

void berth_error_freep(berth_error **err)
{
        berth_error_free(*err);
        *err = NULL;
}

int berth_error_status(const berth_error *err)
{
        if (err == NULL || err->status <= 0)
                return EIO;
        return err->status;
}

int berth_errno_http_status(int status)
{
        switch (status) {
        case ENOENT:
                return 404;
        case EEXIST:
        case EBUSY:
                return 409;
        case EINVAL:
        case E2BIG:
        case ENAMETOOLONG:
                return 400;
        case EALREADY:
                return 304;
        case EPERM:
        case EACCES:
                return 403;
        case ENOTSUP:
                return 501;
        default:
                return 500;
        }
}
