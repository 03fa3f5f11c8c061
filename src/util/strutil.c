/* SPDX-License-Identifier: Apache-2.0 */
#include "strutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool berth_str_has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool berth_str_has_suffix(const char *s, const char *suffix)
{
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

size_t berth_strv_len(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int berth_parse_int64(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int berth_parse_uint64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (s == NULL || *s == '\0' || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        const char *key = a;
        const struct berth_name_value *e = b;
        return strcmp(key, e->name);
}

const struct berth_name_value *berth_name_lookup(const struct berth_name_value *table, size_t n,
                                                 const char *name)
{
        return bsearch(name, table, n, sizeof(*table), name_cmp);
}
