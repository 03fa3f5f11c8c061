/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the daemon's request-side parsing that is ours
 * (libmicrohttpd parses the HTTP itself): the JSON bodies as api_body_json
 * reads them, the type checks of the create / update / exec / exec-start
 * bodies (body-check.h), the "filters" query value as api_query_filters
 * reads it, and the /vX.Y version prefix (berth_api_parse_version).
 *
 * The first byte picks the target; the rest is the body or the string.
 * Property: a body accepted by a check has the types that check promises
 * for the fields the engine reads without further checks. */
#include <string.h>

#include "api/api.h"
#include "api/body-check.h"
#include "fuzz-common.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"

#define FUZZ_MAX_INPUT (128 * 1024)

static void assert_strv_or_null(json_object *o, const char *key)
{
        json_object *v = berth_json_get(o, key);
        if (v == NULL || json_object_is_type(v, json_type_string))
                return;
        fuzz_assert(json_object_is_type(v, json_type_array));
        for (size_t i = 0; i < json_object_array_length(v); i++)
                fuzz_assert(json_object_is_type(json_object_array_get_idx(v, i), json_type_string));
}

static void check_body(unsigned which, const char *s, size_t len)
{
        cleanup_json json_object *o = NULL;
        cleanup_free char *why = NULL;
        berth_error *err = NULL;
        int r = berth_json_parse(s, len, "the request body", &o, &err);
        fuzz_check_err(r, &err);
        if (r < 0 || !json_object_is_type(o, json_type_object))
                return;
        switch (which) {
        case 0:
                why = api_check_container_config(o);
                if (why == NULL) {
                        assert_strv_or_null(o, "Cmd");
                        assert_strv_or_null(o, "Entrypoint");
                        assert_strv_or_null(o, "Env");
                        assert_strv_or_null(berth_json_get(o, "HostConfig"), "Binds");
                        assert_strv_or_null(berth_json_get(o, "HostConfig"), "SecurityOpt");
                }
                break;
        case 1:
                why = api_check_host_config(o);
                if (why == NULL) {
                        assert_strv_or_null(o, "CapAdd");
                        assert_strv_or_null(o, "CapDrop");
                }
                break;
        case 2:
                why = api_check_exec_config(o);
                if (why == NULL)
                        assert_strv_or_null(o, "Cmd");
                break;
        default:
                why = api_check_exec_start(o);
                break;
        }
        if (why != NULL)
                fuzz_assert(strncmp(why, "invalid JSON: ", 14) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        unsigned which = data[0] % 6;
        cleanup_free char *s = fuzz_strndup(data + 1, size - 1);
        if (which < 4) {
                check_body(which, s, size - 1);
        } else if (which == 4) {
                /* "filters": must be a JSON object; the string is NUL-terminated */
                cleanup_json json_object *o = NULL;
                berth_error *err = NULL;
                int r = berth_json_parse(s, strlen(s), "filters", &o, &err);
                fuzz_check_err(r, &err);
        } else {
                int v = berth_api_parse_version(s);
                fuzz_assert(v >= -1 && v <= 9999);
        }
        return 0;
}
