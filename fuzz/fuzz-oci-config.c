/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for an OCI bundle's config.json as berth-oci reads it:
 * berth_json_parse, the schema and Linux checks of berth_spec_validate
 * (without FOR_CREATE: nothing on disk), then, for a document that passed,
 * the parsers that run in the parent before anything is created: mounts
 * (and the rootfs checks), capabilities, credentials, rlimits and seccomp
 * (compiled to BPF by libseccomp, in memory). Reads only: a bind mount's
 * source is stat()ed. */
#include <json-c/json.h>

#include "fuzz-common.h"
#include "runtime/rootfs.h"
#include "runtime/schema.h"
#include "runtime/security.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"

#define FUZZ_MAX_INPUT (256 * 1024)

static void parse_parts(json_object *doc)
{
        berth_error *err = NULL;
        json_object *process = berth_json_get(doc, "process");
        json_object *linux_ = berth_json_get(doc, "linux");
        int r;

        {
                cleanup_mounts struct berth_mounts *m = NULL;
                r = berth_mounts_parse(doc, &m, &err);
                fuzz_check_err(r, &err);
                fuzz_assert((r == 0) == (m != NULL));
                for (size_t i = 0; m != NULL && i < m->n; i++)
                        fuzz_assert(m->v[i].destination != NULL && m->v[i].destination[0] == '/');
        }
        {
                cleanup_caps struct berth_caps *caps = NULL;
                r = berth_caps_parse(berth_json_get(process, "capabilities"), &caps, &err);
                fuzz_check_err(r, &err);
        }
        {
                struct berth_creds creds = {0};
                r = berth_creds_parse(berth_json_get(process, "user"), &creds, &err);
                fuzz_check_err(r, &err);
                if (r == 0)
                        berth_creds_clear(&creds);
        }
        {
                cleanup_rlimits struct berth_rlimits *rl = NULL;
                r = berth_rlimits_parse(berth_json_get(process, "rlimits"), &rl, &err);
                fuzz_check_err(r, &err);
        }
        {
                cleanup_seccomp struct berth_seccomp *sc = NULL;
                json_object *s = berth_json_get(linux_, "seccomp");
                r = berth_seccomp_parse(s, &sc, &err);
                fuzz_check_err(r, &err);
                if (r == 0 && sc != NULL)
                        (void)berth_seccomp_bpf_len(sc);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cleanup_json json_object *doc = NULL;
        berth_error *err = NULL;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        r = berth_json_parse((const char *)data, size, "config.json", &doc, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        r = berth_spec_validate(doc, false, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        parse_parts(doc);
        return 0;
}
