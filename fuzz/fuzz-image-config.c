/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for image configs (berth_image_config_parse), as they
 * come from registries, `docker load` archives and imports. Properties:
 * every diff id is a full digest string, and the kept JSON serialises. */
#include <string.h>

#include "fuzz-common.h"
#include "image/image.h"
#include "util/cleanup.h"

#define FUZZ_MAX_INPUT (512 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cleanup_image_config struct berth_image_config *c = NULL;
        berth_error *err = NULL;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        r = berth_image_config_parse((const char *)data, size, &c, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        fuzz_assert(c != NULL);
        fuzz_assert(c->n_diff_ids == 0 || c->diff_ids != NULL);
        for (size_t i = 0; i < c->n_diff_ids; i++) {
                fuzz_assert(c->diff_ids[i] != NULL);
                fuzz_assert(strncmp(c->diff_ids[i], "sha256:", 7) == 0 ||
                            strncmp(c->diff_ids[i], "sha512:", 7) == 0);
        }
        if (c->json != NULL) {
                size_t len = 0;
                cleanup_free char *s = berth_json_canonical(c->json, &len);
                fuzz_assert(s != NULL && strlen(s) == len);
        }
        return 0;
}
