/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers over json-c. */
#ifndef BERTH_UTIL_JSONUTIL_H
#define BERTH_UTIL_JSONUTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

static inline void berth_json_putp(json_object **o)
{
        if (*o != NULL)
                json_object_put(*o);
        *o = NULL;
}
#define cleanup_json __attribute__((cleanup(berth_json_putp)))

/* Parse a document; errors name the line and column. Nesting is bounded. */
int berth_json_parse(const char *data, size_t len, const char *what, json_object **ret,
                     berth_error **err);
int berth_json_parse_file(const char *path, json_object **ret, berth_error **err);

/* Serialize (compact) and write atomically (durably), or atomically only
 * (berth_write_file_replace: for volatile state under /run). */
int berth_json_write_file_atomic(const char *path, json_object *obj, berth_error **err);
int berth_json_write_file_replace(const char *path, json_object *obj, berth_error **err);

/* One compact document and a newline, in one write to FD (a JSON-lines
 * stream: events, stats). Returns 0 or a negative errno (as berth_write_all). */
int berth_json_write_line(int fd, json_object *obj);

/* Member lookup: NULL when absent or null. */
json_object *berth_json_get(json_object *obj, const char *key);
/* The string member, or NULL when absent / not a string. */
const char *berth_json_str(json_object *obj, const char *key);
/* Typed member reads with a default. */
bool berth_json_bool(json_object *obj, const char *key, bool dflt);
int64_t berth_json_int(json_object *obj, const char *key, int64_t dflt);

/* A NULL-terminated, newly allocated copy of an array of strings. */
char **berth_json_strv(json_object *arr);

#endif
