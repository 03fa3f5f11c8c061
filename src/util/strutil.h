/* SPDX-License-Identifier: Apache-2.0 */
#ifndef BERTH_UTIL_STRUTIL_H
#define BERTH_UTIL_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

bool berth_str_has_prefix(const char *s, const char *prefix);
bool berth_str_has_suffix(const char *s, const char *suffix);
size_t berth_strv_len(char *const *v);

/* Parse a decimal integer that must fill the whole string. */
int berth_parse_int64(const char *s, int64_t *ret);
int berth_parse_uint64(const char *s, uint64_t *ret);

/* Lookup in a sorted table of { name, value } pairs. */
struct berth_name_value {
        const char *name;
        long value;
};
const struct berth_name_value *berth_name_lookup(const struct berth_name_value *table, size_t n,
                                                 const char *name);

#endif
