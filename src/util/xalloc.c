/* SPDX-License-Identifier: Apache-2.0 */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void oom(void)
{
        static const char msg[] = "berth: out of memory\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xmalloc0(size_t size)
{
        return xcalloc(1, size ? size : 1);
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xrealloc(void *ptr, size_t size)
{
        void *p = realloc(ptr, size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s ? s : "");
        if (p == NULL)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        if (p == NULL)
                oom();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *p;
        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;
        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}
