/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for manifests and indexes (berth_manifest_parse), as
 * they come from registries and image archives. The first input byte picks
 * the media type a registry would announce; the rest is the document.
 * Properties: what parses is written back (berth_manifest_write), and the
 * written form parses again and is a fixed point of parse+write; an index
 * answers berth_index_select either with one of its own entries or with an
 * error. */
#include <string.h>

#include "fuzz-common.h"
#include "image/image.h"
#include "util/cleanup.h"

#define FUZZ_MAX_INPUT (512 * 1024)

static const char *const hints[] = {
    NULL,
    BERTH_MT_OCI_MANIFEST,
    BERTH_MT_DOCKER_MANIFEST,
    BERTH_MT_OCI_INDEX,
    BERTH_MT_DOCKER_LIST,
    "application/octet-stream",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cleanup_manifest struct berth_manifest *m = NULL;
        cleanup_manifest struct berth_manifest *m2 = NULL;
        cleanup_free char *out = NULL, *out2 = NULL;
        size_t out_len = 0, out2_len = 0;
        berth_error *err = NULL;
        int r;

        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        const char *hint = hints[data[0] % (sizeof(hints) / sizeof(hints[0]))];
        r = berth_manifest_parse((const char *)data + 1, size - 1, hint, &m, &err);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        fuzz_assert(m != NULL && m->media_type != NULL);
        if (m->kind == BERTH_INDEX_OCI || m->kind == BERTH_INDEX_DOCKER) {
                static const char *const arches[] = {"amd64", "arm64", NULL};
                for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
                        const struct berth_descriptor *d =
                            berth_index_select(m, "linux", arches[i], NULL, &err);
                        fuzz_check_err(d == NULL ? -1 : 0, &err);
                        fuzz_assert(d == NULL ||
                                    (d >= m->manifests && d < m->manifests + m->n_manifests));
                }
                const struct berth_descriptor *d =
                    berth_index_select(m, "linux", "arm", "v7", &err);
                fuzz_check_err(d == NULL ? -1 : 0, &err);
        }
        for (size_t i = 0; i < m->n_layers; i++)
                (void)berth_layer_media_compression(m->layers[i].media_type);

        r = berth_manifest_write(m, &out, &out_len, &err);
        fuzz_check_err(r, &err);
        fuzz_assert(r == 0);
        fuzz_assert(strlen(out) == out_len);
        r = berth_manifest_parse(out, out_len, NULL, &m2, &err);
        fuzz_check_err(r, &err);
        fuzz_assert(r == 0);
        fuzz_assert(m2->kind == m->kind);
        fuzz_assert(m2->n_layers == m->n_layers && m2->n_manifests == m->n_manifests);
        r = berth_manifest_write(m2, &out2, &out2_len, &err);
        fuzz_check_err(r, &err);
        fuzz_assert(r == 0);
        fuzz_assert(out_len == out2_len && memcmp(out, out2, out_len) == 0);
        return 0;
}
