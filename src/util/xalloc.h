/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers: an allocation failure aborts, so callers carry no
 * NULL checks for memory. */
#ifndef BERTH_UTIL_XALLOC_H
#define BERTH_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xmalloc0(size_t size);
void *xrealloc(void *ptr, size_t size);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
