/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for POST /containers/create as far as it goes without
 * an engine object or a disk: the API's type checks of the body
 * (api_check_container_config), the engine's HostConfig checks
 * (berth_spec_check_hostconfig), Docker's merge of the image config with
 * the body (berth_spec_merge_config), the stop signal, the capability list
 * (berth_spec_caps) and the seccomp profile: a Docker profile given as
 * SecurityOpt "seccomp=<json>" is converted (berth_seccomp_from_docker) and
 * compiled by the runtime's parser, as `docker run` would end up doing.
 *
 * Input: the create body (JSON). A member "__image_config" (an object), when
 * present, replaces the built-in image config and is removed from the body,
 * so that the fuzzer mutates both sides of the merge. */
#include <string.h>

#include "api/body-check.h"
#include "engine/core.h"
#include "fuzz-common.h"
#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"

#define FUZZ_MAX_INPUT (128 * 1024)

static const char default_image_config[] =
    "{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],"
    "\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\",\"Labels\":{\"a\":\"b\"},"
    "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000},"
    "\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGTERM\"}";

/* The value of SecurityOpt "seccomp=..." (or ":"), as the engine reads it. */
static const char *seccomp_opt(json_object *hc)
{
        json_object *so = berth_json_get(hc, "SecurityOpt");
        if (so == NULL || !json_object_is_type(so, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(so); i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(so, i));
                if (o != NULL && strncmp(o, "seccomp", 7) == 0 && (o[7] == '=' || o[7] == ':'))
                        return o + 8;
        }
        return NULL;
}

static void seccomp_profile(json_object *hc, char *const *caps)
{
        const char *profile = seccomp_opt(hc);
        cleanup_json json_object *oci = NULL;
        berth_error *err = NULL;
        int r;

        if (profile == NULL || strcmp(profile, "unconfined") == 0)
                return; /* the default profile: checked once, see below */
        r = berth_seccomp_from_docker(profile, caps, &oci, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return;
        cleanup_seccomp struct berth_seccomp *sc = NULL;
        r = berth_seccomp_parse(oci, &sc, &err);
        fuzz_check_err(r, &err);
}

/* The built-in default profile must always compile, whatever the caps. */
static void check_default_profile(char *const *caps)
{
        static unsigned calls;
        if (calls++ % 256 != 0)
                return; /* compiling it is slow; sample */
        cleanup_json json_object *def = berth_seccomp_default(caps);
        cleanup_seccomp struct berth_seccomp *sc = NULL;
        berth_error *err = NULL;
        int r = berth_seccomp_parse(def, &sc, &err);
        if (r < 0)
                fprintf(stderr, "default seccomp profile: %s\n", err ? err->msg : "?");
        fuzz_check_err(r, &err);
        fuzz_assert(r == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cleanup_json json_object *body = NULL, *image = NULL, *config = NULL, *hc = NULL;
        cleanup_strv char **caps = NULL;
        cleanup_free char *why = NULL;
        berth_error *err = NULL;
        json_object *v;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        r = berth_json_parse((const char *)data, size, "the request body", &body, &err);
        fuzz_check_err(r, &err);
        if (r < 0 || !json_object_is_type(body, json_type_object))
                return 0;
        v = berth_json_get(body, "__image_config");
        if (v != NULL && json_object_is_type(v, json_type_object)) {
                image = json_object_get(v);
                json_object_object_del(body, "__image_config");
        } else {
                r = berth_json_parse(default_image_config, strlen(default_image_config), "image",
                                     &image, &err);
                fuzz_check_err(r, &err);
                fuzz_assert(r == 0);
        }

        why = api_check_container_config(body);
        if (why != NULL)
                return 0; /* 400 */

        v = berth_json_get(body, "HostConfig");
        hc = v != NULL ? json_object_get(v) : json_object_new_object();
        r = berth_spec_check_hostconfig(hc, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;

        r = berth_spec_merge_config(image, body, &config, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        fuzz_assert(config != NULL && json_object_is_type(config, json_type_object));
        {
                const char *sig = berth_json_str(config, "StopSignal");
                if (sig != NULL)
                        (void)berth_engine_signal_parse(sig);
        }

        r = berth_spec_caps(hc, &caps, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        fuzz_assert(caps != NULL);
        for (char **c = caps; *c != NULL; c++) {
                cleanup_free char *canon = NULL;
                fuzz_assert(strncmp(*c, "CAP_", 4) == 0);
                r = berth_spec_cap_canonical(*c, &canon, &err);
                fuzz_check_err(r, &err);
                fuzz_assert(r == 0 && strcmp(canon, *c) == 0);
        }
        seccomp_profile(hc, caps);
        check_default_profile(caps);

        /* The json-file log limits, as berth_container_log_limits reads them. */
        {
                json_object *lc = berth_json_get(berth_json_get(hc, "LogConfig"), "Config");
                const char *ms = berth_json_str(lc, "max-size");
                int64_t bytes;
                if (ms != NULL)
                        (void)berth_engine_parse_bytes(ms, &bytes);
        }
        /* Byte sizes and signals as strings from anywhere in the body. */
        json_object_object_foreach(body, key, val)
        {
                (void)key;
                if (json_object_is_type(val, json_type_string)) {
                        int64_t bytes;
                        (void)berth_engine_parse_bytes(json_object_get_string(val), &bytes);
                        (void)berth_engine_signal_parse(json_object_get_string(val));
                }
        }
        return 0;
}
