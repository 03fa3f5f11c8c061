/* SPDX-License-Identifier: Apache-2.0 */
/* OCI image manifests, indexes and configs, and Docker's schema2 manifest
 * and manifest list: parse both, write both. The stored bytes are never
 * re-serialised (their digest is their identity); berth_manifest_write is
 * for documents Berth creates. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "image.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

void berth_descriptor_clear(struct berth_descriptor *d)
{
        free(d->media_type);
        free(d->os);
        free(d->arch);
        free(d->variant);
        free(d->ref_name);
        memset(d, 0, sizeof(*d));
}

void berth_manifest_free(struct berth_manifest *m)
{
        if (m == NULL)
                return;
        free(m->media_type);
        berth_descriptor_clear(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                berth_descriptor_clear(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->n_manifests; i++)
                berth_descriptor_clear(&m->manifests[i]);
        free(m->manifests);
        free(m);
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static int parse_descriptor(json_object *o, const char *what, struct berth_descriptor *d,
                            berth_error **err)
{
        const char *mt = berth_json_str(o, "mediaType");
        const char *digest = berth_json_str(o, "digest");
        json_object *size = berth_json_get(o, "size");
        json_object *platform = berth_json_get(o, "platform");
        json_object *ann = berth_json_get(o, "annotations");
        int r;

        if (!json_object_is_type(o, json_type_object))
                return berth_fail(err, EINVAL, "%s is not an object", what);
        if (digest == NULL)
                return berth_fail(err, EINVAL, "%s has no digest", what);
        r = berth_digest_check(digest, what, err);
        if (r < 0)
                return r;
        if (size == NULL || !json_object_is_type(size, json_type_int) ||
            json_object_get_int64(size) < 0)
                return berth_fail(err, EINVAL, "%s has no valid size", what);
        d->media_type = dup_or_null(mt);
        snprintf(d->digest, sizeof(d->digest), "%s", digest);
        d->size = json_object_get_int64(size);
        if (platform != NULL) {
                d->os = dup_or_null(berth_json_str(platform, "os"));
                d->arch = dup_or_null(berth_json_str(platform, "architecture"));
                d->variant = dup_or_null(berth_json_str(platform, "variant"));
        }
        if (ann != NULL) {
                const char *n = berth_json_str(ann, "io.containerd.image.name");
                if (n == NULL)
                        n = berth_json_str(ann, "org.opencontainers.image.ref.name");
                d->ref_name = dup_or_null(n);
        }
        return 0;
}

static int parse_descriptor_array(json_object *arr, const char *what, size_t max,
                                  struct berth_descriptor **ret, size_t *ret_n, berth_error **err)
{
        size_t n;
        struct berth_descriptor *v;

        if (arr == NULL) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!json_object_is_type(arr, json_type_array))
                return berth_fail(err, EINVAL, "%s is not an array", what);
        n = json_object_array_length(arr);
        if (n > max)
                return berth_fail(err, E2BIG, "too many %s: %zu (at most %zu)", what, n, max);
        v = xcalloc(n ? n : 1, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *w = xasprintf("%s[%zu]", what, i);
                int r = parse_descriptor(json_object_array_get_idx(arr, i), w, &v[i], err);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                berth_descriptor_clear(&v[j]);
                        free(v);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int berth_manifest_parse(const char *data, size_t len, const char *media_type_hint,
                         struct berth_manifest **ret, berth_error **err)
{
        cleanup_json json_object *o = NULL;
        const char *mt;
        int64_t version;
        struct berth_manifest *m;
        int r;

        if (len > BERTH_IMAGE_MAX_JSON)
                return berth_fail(err, EFBIG, "manifest is %zu bytes, more than the %u allowed",
                                  len, BERTH_IMAGE_MAX_JSON);
        r = berth_json_parse(data, len, "manifest", &o, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object))
                return berth_fail(err, EINVAL, "manifest is not a JSON object");
        version = berth_json_int(o, "schemaVersion", -1);
        if (version != 2)
                return berth_fail(err, ENOTSUP,
                                  "unsupported manifest schemaVersion %lld (only 2 is supported)",
                                  (long long)version);
        mt = berth_json_str(o, "mediaType");
        if (mt == NULL)
                mt = media_type_hint;
        m = xmalloc0(sizeof(*m));
        if (mt == NULL) {
                /* OCI allows the media type to be absent: guess from the shape. */
                mt = berth_json_get(o, "manifests") ? BERTH_MT_OCI_INDEX : BERTH_MT_OCI_MANIFEST;
        }
        m->media_type = xstrdup(mt);
        if (strcmp(mt, BERTH_MT_OCI_MANIFEST) == 0)
                m->kind = BERTH_MANIFEST_OCI;
        else if (strcmp(mt, BERTH_MT_DOCKER_MANIFEST) == 0)
                m->kind = BERTH_MANIFEST_DOCKER;
        else if (strcmp(mt, BERTH_MT_OCI_INDEX) == 0)
                m->kind = BERTH_INDEX_OCI;
        else if (strcmp(mt, BERTH_MT_DOCKER_LIST) == 0)
                m->kind = BERTH_INDEX_DOCKER;
        else {
                berth_manifest_free(m);
                return berth_fail(err, ENOTSUP, "unsupported manifest media type `%s`", mt);
        }
        switch (m->kind) {
        case BERTH_MANIFEST_OCI:
        case BERTH_MANIFEST_DOCKER: {
                json_object *cfg = berth_json_get(o, "config");
                if (cfg == NULL) {
                        r = berth_fail(err, EINVAL, "manifest has no config");
                        break;
                }
                r = parse_descriptor(cfg, "manifest config", &m->config, err);
                if (r < 0)
                        break;
                if (berth_json_get(o, "layers") == NULL) {
                        r = berth_fail(err, EINVAL, "manifest has no layers");
                        break;
                }
                r = parse_descriptor_array(berth_json_get(o, "layers"), "manifest layers",
                                           BERTH_IMAGE_MAX_LAYERS, &m->layers, &m->n_layers, err);
                break;
        }
        case BERTH_INDEX_OCI:
        case BERTH_INDEX_DOCKER:
                r = parse_descriptor_array(berth_json_get(o, "manifests"), "index manifests",
                                           BERTH_IMAGE_MAX_DESCRIPTORS, &m->manifests,
                                           &m->n_manifests, err);
                break;
        }
        if (r < 0) {
                berth_manifest_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

char *berth_json_canonical(json_object *o, size_t *ret_len)
{
        size_t len;
        const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (ret_len)
                *ret_len = len;
        return xstrndup(s, len);
}

static json_object *descriptor_json(const struct berth_descriptor *d, bool docker)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "mediaType",
                               json_object_new_string(d->media_type ? d->media_type : ""));
        if (docker) {
                json_object_object_add(o, "size", json_object_new_int64(d->size));
                json_object_object_add(o, "digest", json_object_new_string(d->digest));
        } else {
                json_object_object_add(o, "digest", json_object_new_string(d->digest));
                json_object_object_add(o, "size", json_object_new_int64(d->size));
        }
        if (d->ref_name != NULL) {
                json_object *a = json_object_new_object();
                json_object_object_add(a, "io.containerd.image.name",
                                       json_object_new_string(d->ref_name));
                cleanup_ref struct berth_ref *r = NULL;
                if (berth_ref_parse(d->ref_name, &r, NULL) == 0 && r->tag != NULL)
                        json_object_object_add(a, "org.opencontainers.image.ref.name",
                                               json_object_new_string(r->tag));
                json_object_object_add(o, "annotations", a);
        }
        if (d->os != NULL || d->arch != NULL) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "architecture",
                                       json_object_new_string(d->arch ? d->arch : ""));
                json_object_object_add(p, "os", json_object_new_string(d->os ? d->os : ""));
                if (d->variant)
                        json_object_object_add(p, "variant", json_object_new_string(d->variant));
                json_object_object_add(o, "platform", p);
        }
        return o;
}

int berth_manifest_write(const struct berth_manifest *m, char **ret, size_t *ret_len,
                         berth_error **err)
{
        cleanup_json json_object *o = json_object_new_object();
        bool docker = m->kind == BERTH_MANIFEST_DOCKER || m->kind == BERTH_INDEX_DOCKER;
        const char *mt = NULL;

        switch (m->kind) {
        case BERTH_MANIFEST_OCI:
                mt = BERTH_MT_OCI_MANIFEST;
                break;
        case BERTH_MANIFEST_DOCKER:
                mt = BERTH_MT_DOCKER_MANIFEST;
                break;
        case BERTH_INDEX_OCI:
                mt = BERTH_MT_OCI_INDEX;
                break;
        case BERTH_INDEX_DOCKER:
                mt = BERTH_MT_DOCKER_LIST;
                break;
        }
        if (m->n_layers > BERTH_IMAGE_MAX_LAYERS || m->n_manifests > BERTH_IMAGE_MAX_DESCRIPTORS)
                return berth_fail(err, E2BIG, "write manifest: too many entries");
        json_object_object_add(o, "schemaVersion", json_object_new_int(2));
        json_object_object_add(o, "mediaType", json_object_new_string(mt));
        if (m->kind == BERTH_MANIFEST_OCI || m->kind == BERTH_MANIFEST_DOCKER) {
                json_object *layers = json_object_new_array();
                json_object_object_add(o, "config", descriptor_json(&m->config, docker));
                for (size_t i = 0; i < m->n_layers; i++)
                        json_object_array_add(layers, descriptor_json(&m->layers[i], docker));
                json_object_object_add(o, "layers", layers);
        } else {
                json_object *arr = json_object_new_array();
                for (size_t i = 0; i < m->n_manifests; i++)
                        json_object_array_add(arr, descriptor_json(&m->manifests[i], docker));
                json_object_object_add(o, "manifests", arr);
        }
        *ret = berth_json_canonical(o, ret_len);
        return 0;
}

const char *berth_host_arch(void)
{
        static const struct {
                const char *uname, *goarch;
        } map[] = {
            {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},      {"i686", "386"},
            {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
        };
        struct utsname u;
        if (uname(&u) == 0)
                for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                        if (strcmp(u.machine, map[i].uname) == 0)
                                return map[i].goarch;
        return "amd64";
}

const struct berth_descriptor *berth_index_select(const struct berth_manifest *idx, const char *os,
                                                  const char *arch, const char *variant,
                                                  berth_error **err)
{
        const struct berth_descriptor *best = NULL;
        if (os == NULL)
                os = "linux";
        if (arch == NULL)
                arch = berth_host_arch();
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct berth_descriptor *d = &idx->manifests[i];
                if (d->os == NULL || d->arch == NULL)
                        continue;
                if (strcmp(d->os, os) != 0 || strcmp(d->arch, arch) != 0)
                        continue;
                if (variant != NULL && (d->variant == NULL || strcmp(d->variant, variant) != 0))
                        continue;
                if (best == NULL)
                        best = d;
        }
        if (best == NULL) {
                berth_fail(err, ENOENT, "no manifest for platform %s/%s%s%s in the index", os, arch,
                           variant ? "/" : "", variant ? variant : "");
                return NULL;
        }
        return best;
}

int berth_layer_media_compression(const char *mt)
{
        if (mt == NULL)
                return -1;
        if (strcmp(mt, BERTH_MT_OCI_LAYER) == 0 || strcmp(mt, BERTH_MT_DOCKER_LAYER) == 0 ||
            strcmp(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar") == 0)
                return 0;
        if (strcmp(mt, BERTH_MT_OCI_LAYER_GZIP) == 0 ||
            strcmp(mt, BERTH_MT_DOCKER_LAYER_GZIP) == 0 ||
            strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") == 0 ||
            strcmp(mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") == 0)
                return 1;
        if (strcmp(mt, BERTH_MT_OCI_LAYER_ZSTD) == 0)
                return 2;
        return -1;
}

void berth_image_config_free(struct berth_image_config *c)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < c->n_diff_ids; i++)
                free(c->diff_ids[i]);
        free(c->diff_ids);
        free(c->created);
        free(c->os);
        free(c->arch);
        if (c->json)
                json_object_put(c->json);
        free(c);
}

int berth_image_config_parse(const char *data, size_t len, struct berth_image_config **ret,
                             berth_error **err)
{
        cleanup_json json_object *o = NULL;
        json_object *rootfs, *ids;
        cleanup_image_config struct berth_image_config *c = NULL;
        int r;

        if (len > BERTH_IMAGE_MAX_JSON)
                return berth_fail(err, EFBIG, "image config is %zu bytes, more than the %u allowed",
                                  len, BERTH_IMAGE_MAX_JSON);
        r = berth_json_parse(data, len, "image config", &o, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object))
                return berth_fail(err, EINVAL, "image config is not a JSON object");
        rootfs = berth_json_get(o, "rootfs");
        ids = berth_json_get(rootfs, "diff_ids");
        if (ids == NULL || !json_object_is_type(ids, json_type_array))
                return berth_fail(err, EINVAL, "image config has no rootfs.diff_ids");
        if (json_object_array_length(ids) > BERTH_IMAGE_MAX_LAYERS)
                return berth_fail(err, E2BIG, "image config has %zu layers (at most %d)",
                                  json_object_array_length(ids), BERTH_IMAGE_MAX_LAYERS);
        c = xmalloc0(sizeof(*c));
        c->n_diff_ids = json_object_array_length(ids);
        c->diff_ids = xcalloc(c->n_diff_ids + 1, sizeof(char *));
        for (size_t i = 0; i < c->n_diff_ids; i++) {
                const char *d = json_object_get_string(json_object_array_get_idx(ids, i));
                if (d == NULL || !berth_digest_valid(d)) {
                        c->n_diff_ids = i;
                        return berth_fail(
                            err, EINVAL,
                            "image config: rootfs.diff_ids[%zu] is not a sha256 digest", i);
                }
                c->diff_ids[i] = xstrdup(d);
        }
        c->created = dup_or_null(berth_json_str(o, "created"));
        c->os = dup_or_null(berth_json_str(o, "os"));
        c->arch = dup_or_null(berth_json_str(o, "architecture"));
        c->json = steal_pointer(&o);
        *ret = steal_pointer(&c);
        return 0;
}
