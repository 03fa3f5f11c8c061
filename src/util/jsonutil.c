/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonutil.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fs.h"
#include "xalloc.h"

#define JSON_MAX_DEPTH 64

int berth_json_parse(const char *data, size_t len, const char *what, json_object **ret,
                     berth_error **err)
{
        json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        json_object *obj;
        enum json_tokener_error jerr;

        if (tok == NULL)
                return berth_fail(err, ENOMEM, "parse %s", what);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, data, (int)len);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue) {
                jerr = json_tokener_error_parse_eof;
        } else if (jerr == json_tokener_success) {
                /* Only whitespace may follow the document. */
                size_t off = json_tokener_get_parse_end(tok);
                for (; off < len; off++)
                        if (!strchr(" \t\r\n", data[off])) {
                                jerr = json_tokener_error_parse_unexpected;
                                break;
                        }
        }
        if (jerr != json_tokener_success) {
                size_t off = json_tokener_get_parse_end(tok);
                int line = 1, col = 1;
                for (size_t i = 0; i < off && i < len; i++) {
                        if (data[i] == '\n') {
                                line++;
                                col = 1;
                        } else {
                                col++;
                        }
                }
                json_tokener_free(tok);
                if (obj)
                        json_object_put(obj);
                return berth_fail(err, EINVAL, "%s is not valid JSON: %s at line %d, column %d",
                                  what, json_tokener_error_desc(jerr), line, col);
        }
        json_tokener_free(tok);
        *ret = obj;
        return 0;
}

int berth_json_parse_file(const char *path, json_object **ret, berth_error **err)
{
        cleanup_free char *data = NULL;
        cleanup_free char *what = NULL;
        size_t len;
        int r = berth_read_file(path, &data, &len, err);
        if (r < 0)
                return r;
        what = xasprintf("`%s`", path);
        return berth_json_parse(data, len, what, ret, err);
}

int berth_json_write_file_atomic(const char *path, json_object *obj, berth_error **err)
{
        size_t len;
        const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
        return berth_write_file_atomic(path, s, len, 0600, err);
}

int berth_json_write_file_replace(const char *path, json_object *obj, berth_error **err)
{
        size_t len;
        const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
        return berth_write_file_replace(path, s, len, 0600, err);
}

json_object *berth_json_get(json_object *obj, const char *key)
{
        json_object *v = NULL;
        if (obj == NULL || !json_object_is_type(obj, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(obj, key, &v))
                return NULL;
        return v;
}

const char *berth_json_str(json_object *obj, const char *key)
{
        json_object *v = berth_json_get(obj, key);
        if (v == NULL || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

bool berth_json_bool(json_object *obj, const char *key, bool dflt)
{
        json_object *v = berth_json_get(obj, key);
        if (v == NULL || !json_object_is_type(v, json_type_boolean))
                return dflt;
        return json_object_get_boolean(v);
}

int64_t berth_json_int(json_object *obj, const char *key, int64_t dflt)
{
        json_object *v = berth_json_get(obj, key);
        if (v == NULL ||
            !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
                return dflt;
        return json_object_get_int64(v);
}

char **berth_json_strv(json_object *arr)
{
        size_t n =
            arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
        char **v = xcalloc(n + 1, sizeof(char *));
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                if (e && json_object_is_type(e, json_type_string))
                        v[j++] = xstrdup(json_object_get_string(e));
        }
        v[j] = NULL;
        return v;
}

int berth_json_write_line(int fd, json_object *obj)
{
        size_t len;
        const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
        cleanup_free char *line = xmalloc(len + 1);

        memcpy(line, s, len);
        line[len] = '\n';
        return berth_write_all(fd, line, len + 1);
}
