/* SPDX-License-Identifier: Apache-2.0 */
/* Image records (images/records/<hex>.json), tags (images/tags.json) and
 * holds (images/holds/<chain>/<holder>). Reference counts are derived from
 * the records and holds on disk, never kept as counters, so a crash can't
 * leave them wrong. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "layer.h"
#include "store-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* ---- small helpers ------------------------------------------------------ */

void store_strv_push(char ***v, const char *s)
{
        size_t n = *v ? berth_strv_len(*v) : 0;
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

void store_strv_pushf(char ***v, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = xvasprintf(fmt, ap);
        va_end(ap);
        store_strv_push(v, s);
        free(s);
}

bool store_strv_contains(char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static const char *hex_of(const char *digest)
{
        const char *c = strchr(digest, ':');
        return c ? c + 1 : digest;
}

void berth_image_free(struct berth_image *img)
{
        if (img == NULL)
                return;
        free(img->manifest_media_type);
        free(img->created);
        for (size_t i = 0; i < img->n_layers; i++)
                free(img->layers[i].media_type);
        free(img->layers);
        berth_strv_freep(&img->repo_tags);
        berth_strv_freep(&img->repo_digests);
        free(img);
}

void berth_image_list_free(struct berth_image **v, size_t n)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < n; i++)
                berth_image_free(v[i]);
        free(v);
}

/* ---- tags ---------------------------------------------------------------- */

int store_tags_load(struct berth_image_store *s, json_object **ret, berth_error **err)
{
        cleanup_free char *p = xasprintf("%s/tags.json", s->images_dir);
        json_object *o = NULL;
        if (access(p, F_OK) < 0) {
                *ret = json_object_new_object();
                return 0;
        }
        int r = berth_json_parse_file(p, &o, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return berth_fail(err, EINVAL, "`%s` is not a JSON object", p);
        }
        *ret = o;
        return 0;
}

int store_tags_save(struct berth_image_store *s, json_object *tags, berth_error **err)
{
        cleanup_free char *p = xasprintf("%s/tags.json", s->images_dir);
        return berth_json_write_file_atomic(p, tags, err);
}

static char **tags_of(json_object *tags, const char *id)
{
        char **v = xmalloc0(sizeof(char *));
        json_object_object_foreach(tags, k, val)
        {
                if (strcmp(json_object_get_string(val), id) == 0)
                        store_strv_push(&v, k);
        }
        return v;
}

int berth_image_tags(struct berth_image_store *s, char ***ret, berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        char **v = xmalloc0(sizeof(char *));
        int r = store_tags_load(s, &tags, err);
        if (r < 0) {
                berth_strv_freep(&v);
                return r;
        }
        json_object_object_foreach(tags, k, val)
        {
                store_strv_pushf(&v, "%s\t%s", k, json_object_get_string(val));
        }
        *ret = v;
        return 0;
}

/* ---- records ------------------------------------------------------------- */

static char *record_path(struct berth_image_store *s, const char *id)
{
        return xasprintf("%s/records/%s.json", s->images_dir, hex_of(id));
}

int store_record_write(struct berth_image_store *s, const struct berth_image *img,
                       berth_error **err)
{
        cleanup_json json_object *o = json_object_new_object();
        cleanup_free char *p = record_path(s, img->id);
        json_object *layers = json_object_new_array();
        json_object *digests = json_object_new_array();

        json_object_object_add(o, "id", json_object_new_string(img->id));
        json_object_object_add(o, "manifest", json_object_new_string(img->manifest_digest));
        json_object_object_add(
            o, "manifestMediaType",
            json_object_new_string(img->manifest_media_type ? img->manifest_media_type : ""));
        json_object_object_add(o, "created",
                               json_object_new_string(img->created ? img->created : ""));
        json_object_object_add(o, "size", json_object_new_int64(img->size));
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct berth_image_layer *l = &img->layers[i];
                json_object *lo = json_object_new_object();
                json_object_object_add(lo, "digest", json_object_new_string(l->digest));
                json_object_object_add(lo, "diffID", json_object_new_string(l->diff_id));
                json_object_object_add(lo, "chainID", json_object_new_string(l->chain_id));
                json_object_object_add(lo, "mediaType",
                                       json_object_new_string(l->media_type ? l->media_type : ""));
                json_object_object_add(lo, "size", json_object_new_int64(l->size));
                json_object_object_add(lo, "unpackedSize", json_object_new_int64(l->unpacked_size));
                json_object_array_add(layers, lo);
        }
        json_object_object_add(o, "layers", layers);
        for (char **d = img->repo_digests; d && *d; d++)
                json_object_array_add(digests, json_object_new_string(*d));
        json_object_object_add(o, "repoDigests", digests);
        return berth_json_write_file_atomic(p, o, err);
}

int store_record_delete(struct berth_image_store *s, const char *id, berth_error **err)
{
        cleanup_free char *p = record_path(s, id);
        if (unlink(p) < 0 && errno != ENOENT)
                return berth_fail_errno(err, "remove image record `%s`", p);
        return 0;
}

static int record_load(struct berth_image_store *s, const char *id, json_object *tags,
                       struct berth_image **ret, berth_error **err)
{
        cleanup_free char *p = record_path(s, id);
        cleanup_json json_object *o = NULL;
        cleanup_image struct berth_image *img = NULL;
        json_object *layers, *digests;
        int r;

        if (!berth_digest_valid(id))
                return berth_fail(err, EINVAL, "invalid image id `%s`", id);
        r = berth_json_parse_file(p, &o, err);
        if (r < 0)
                return r;
        img = xmalloc0(sizeof(*img));
        snprintf(img->id, sizeof(img->id), "%s", id);
        snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s",
                 berth_json_str(o, "manifest") ?: "");
        img->manifest_media_type = xstrdup(berth_json_str(o, "manifestMediaType") ?: "");
        img->created = xstrdup(berth_json_str(o, "created") ?: "");
        img->created_unix = berth_time_parse_rfc3339_sec(img->created);
        img->size = berth_json_int(o, "size", 0);
        layers = berth_json_get(o, "layers");
        img->n_layers = layers ? json_object_array_length(layers) : 0;
        if (img->n_layers > BERTH_IMAGE_MAX_LAYERS)
                return berth_fail(err, E2BIG, "image record `%s` has too many layers", p);
        img->layers = xcalloc(img->n_layers ? img->n_layers : 1, sizeof(*img->layers));
        for (size_t i = 0; i < img->n_layers; i++) {
                json_object *lo = json_object_array_get_idx(layers, i);
                struct berth_image_layer *l = &img->layers[i];
                snprintf(l->digest, sizeof(l->digest), "%s", berth_json_str(lo, "digest") ?: "");
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", berth_json_str(lo, "diffID") ?: "");
                snprintf(l->chain_id, sizeof(l->chain_id), "%s",
                         berth_json_str(lo, "chainID") ?: "");
                l->media_type = xstrdup(berth_json_str(lo, "mediaType") ?: "");
                l->size = berth_json_int(lo, "size", 0);
                l->unpacked_size = berth_json_int(lo, "unpackedSize", 0);
        }
        digests = berth_json_get(o, "repoDigests");
        img->repo_digests = digests ? berth_json_strv(digests) : xmalloc0(sizeof(char *));
        img->repo_tags = tags ? tags_of(tags, id) : xmalloc0(sizeof(char *));
        *ret = steal_pointer(&img);
        return 0;
}

int store_record_ids(struct berth_image_store *s, char ***ret, berth_error **err)
{
        cleanup_free char *dir = xasprintf("%s/records", s->images_dir);
        cleanup_closedir DIR *d = opendir(dir);
        char **v = xmalloc0(sizeof(char *));
        struct dirent *de;

        if (d == NULL) {
                free(v);
                return berth_fail_errno(err, "open `%s`", dir);
        }
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                if (len != 64 + 5 || !berth_str_has_suffix(de->d_name, ".json"))
                        continue;
                cleanup_free char *id = xasprintf("sha256:%.64s", de->d_name);
                if (berth_digest_valid(id))
                        store_strv_push(&v, id);
        }
        *ret = v;
        return 0;
}

int berth_image_get_by_id(struct berth_image_store *s, const char *id, struct berth_image **ret,
                          berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        int r = store_tags_load(s, &tags, err);
        if (r < 0)
                return r;
        return record_load(s, id, tags, ret, err);
}

static int cmp_created(const void *a, const void *b)
{
        const struct berth_image *x = *(struct berth_image *const *)a;
        const struct berth_image *y = *(struct berth_image *const *)b;
        if (x->created_unix != y->created_unix)
                return x->created_unix > y->created_unix ? -1 : 1;
        return strcmp(x->id, y->id);
}

int berth_image_list(struct berth_image_store *s, struct berth_image ***ret, size_t *ret_n,
                     berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        cleanup_strv char **ids = NULL;
        struct berth_image **v;
        size_t n = 0;
        int r = store_tags_load(s, &tags, err);
        if (r < 0)
                return r;
        r = store_record_ids(s, &ids, err);
        if (r < 0)
                return r;
        v = xcalloc(berth_strv_len(ids) + 1, sizeof(*v));
        for (char **id = ids; *id; id++) {
                r = record_load(s, *id, tags, &v[n], err);
                if (r < 0) {
                        berth_image_list_free(v, n);
                        return r;
                }
                n++;
        }
        qsort(v, n, sizeof(*v), cmp_created);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Resolve NAME to an image id: a tag, a full id, or a unique id prefix. */
static int resolve(struct berth_image_store *s, json_object *tags, const char *name,
                   char ret_id[BERTH_DIGEST_STR_LEN], bool *ret_by_ref, berth_error **err)
{
        cleanup_ref struct berth_ref *ref = NULL;
        cleanup_strv char **ids = NULL;
        const char *prefix = name;
        const char *found = NULL;
        int r;

        if (berth_ref_parse_normalized(name, &ref, NULL) == 0) {
                if (ref->digest != NULL) {
                        /* name@digest: an image whose manifest has that digest. */
                        r = store_record_ids(s, &ids, err);
                        if (r < 0)
                                return r;
                        for (char **id = ids; *id; id++) {
                                cleanup_image struct berth_image *img = NULL;
                                if (record_load(s, *id, NULL, &img, NULL) < 0)
                                        continue;
                                if (strcmp(img->manifest_digest, ref->digest) == 0 ||
                                    store_strv_contains(img->repo_digests, name)) {
                                        snprintf(ret_id, BERTH_DIGEST_STR_LEN, "%s", *id);
                                        *ret_by_ref = true;
                                        return 0;
                                }
                        }
                        return berth_fail(err, ENOENT, "No such image: %s", name);
                }
                berth_ref_with_default_tag(ref);
                cleanup_free char *full = berth_ref_string(ref);
                const char *id = berth_json_str(tags, full);
                if (id != NULL) {
                        snprintf(ret_id, BERTH_DIGEST_STR_LEN, "%s", id);
                        *ret_by_ref = true;
                        return 0;
                }
        }
        if (berth_str_has_prefix(prefix, "sha256:"))
                prefix += 7;
        size_t plen = strlen(prefix);
        bool hex = plen >= 4 && plen <= 64;
        for (size_t i = 0; i < plen; i++)
                if (!strchr("0123456789abcdef", prefix[i]))
                        hex = false;
        if (hex) {
                r = store_record_ids(s, &ids, err);
                if (r < 0)
                        return r;
                for (char **id = ids; *id; id++) {
                        if (strncmp(*id + 7, prefix, plen) != 0)
                                continue;
                        if (found != NULL)
                                return berth_fail(
                                    err, EINVAL,
                                    "image id prefix `%s` is ambiguous; give more digits", name);
                        found = *id;
                }
                if (found != NULL) {
                        snprintf(ret_id, BERTH_DIGEST_STR_LEN, "%s", found);
                        *ret_by_ref = false;
                        return 0;
                }
        }
        return berth_fail(err, ENOENT, "No such image: %s", name);
}

int berth_image_get(struct berth_image_store *s, const char *name, struct berth_image **ret,
                    berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        char id[BERTH_DIGEST_STR_LEN];
        bool by_ref;
        int r = store_tags_load(s, &tags, err);
        if (r < 0)
                return r;
        r = resolve(s, tags, name, id, &by_ref, err);
        if (r < 0)
                return r;
        r = record_load(s, id, tags, ret, err);
        if (r == -ENOENT)
                return berth_fail(
                    err, ENOENT,
                    "No such image: %s (its record is missing; run `berth image check`)", name);
        return r;
}

int berth_image_tag(struct berth_image_store *s, const char *name, const char *ref,
                    berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        cleanup_ref struct berth_ref *parsed = NULL;
        cleanup_free char *full = NULL;
        char id[BERTH_DIGEST_STR_LEN];
        bool by_ref;
        int r;

        r = berth_ref_parse_normalized(ref, &parsed, err);
        if (r < 0)
                return r;
        if (parsed->digest != NULL)
                return berth_fail(err, EINVAL,
                                  "refusing to create a tag with a digest reference (`%s`)", ref);
        berth_ref_with_default_tag(parsed);
        full = berth_ref_string(parsed);
        r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        r = store_tags_load(s, &tags, err);
        if (r >= 0)
                r = resolve(s, tags, name, id, &by_ref, err);
        if (r >= 0) {
                json_object_object_add(tags, full, json_object_new_string(id));
                r = store_tags_save(s, tags, err);
        }
        berth_image_store_unlock(s);
        return r;
}

void berth_image_add_layout_json(const struct berth_image_store *s, const struct berth_image *img,
                                 json_object *o)
{
        json_object *gd = json_object_new_object();
        json_object *gdd = json_object_new_object();
        json_object *rootfs = json_object_new_object();
        json_object *layers = json_object_new_array();
        json_object *md = json_object_new_object();
        cleanup_free char *lower = NULL;

        for (size_t i = img->n_layers; i-- > 0;) {
                char *p = xasprintf("%s%s%s/layers/%s", lower ? lower : "", lower ? ":" : "",
                                    berth_image_store_root(s), img->layers[i].chain_id + 7);
                free(lower);
                lower = p;
        }
        json_object_object_add(gdd, "LowerDir", json_object_new_string(lower ? lower : ""));
        json_object_object_add(gd, "Data", gdd);
        json_object_object_add(gd, "Name", json_object_new_string("overlay2"));
        json_object_object_add(o, "GraphDriver", gd);
        json_object_object_add(rootfs, "Type", json_object_new_string("layers"));
        for (size_t i = 0; i < img->n_layers; i++)
                json_object_array_add(layers, json_object_new_string(img->layers[i].diff_id));
        json_object_object_add(rootfs, "Layers", layers);
        json_object_object_add(o, "RootFS", rootfs);
        json_object_object_add(md, "LastTagTime", json_object_new_string("0001-01-01T00:00:00Z"));
        json_object_object_add(o, "Metadata", md);
}

/* ---- holds ----------------------------------------------------------------- */

static int holder_check(const char *holder, berth_error **err)
{
        size_t len = strlen(holder);
        if (len == 0 || len > 128 || holder[0] == '.')
                return berth_fail(err, EINVAL, "invalid layer holder name `%s`", holder);
        for (const char *p = holder; *p; p++)
                if (!(isalnum((unsigned char)*p) || strchr("_.-", *p)))
                        return berth_fail(err, EINVAL, "invalid layer holder name `%s`", holder);
        return 0;
}

static char *hold_dir(const struct berth_image_store *s, const char *chain_id)
{
        return xasprintf("%s/holds/%s", s->images_dir, hex_of(chain_id));
}

/* Check both names, then take the store lock (the caller unlocks) and give
 * the hold directory of CHAIN_ID and HOLDER's file in it. */
static int hold_begin(struct berth_image_store *s, const char *chain_id, const char *holder,
                      char **ret_dir, char **ret_path, berth_error **err)
{
        int r = berth_digest_check(chain_id, "layer chain id", err);
        if (r < 0)
                return r;
        r = holder_check(holder, err);
        if (r < 0)
                return r;
        r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        *ret_dir = hold_dir(s, chain_id);
        *ret_path = xasprintf("%s/%s", *ret_dir, holder);
        return 0;
}

int berth_image_store_hold_layer(struct berth_image_store *s, const char *chain_id,
                                 const char *holder, berth_error **err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *p = NULL;
        int r = hold_begin(s, chain_id, holder, &dir, &p, err);
        if (r < 0)
                return r;
        r = berth_mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = berth_write_file_atomic(p, holder, strlen(holder), 0600, err);
        berth_image_store_unlock(s);
        return r;
}

int berth_image_store_release_layer(struct berth_image_store *s, const char *chain_id,
                                    const char *holder, berth_error **err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *p = NULL;
        int r = hold_begin(s, chain_id, holder, &dir, &p, err);
        if (r < 0)
                return r;
        if (unlink(p) < 0 && errno != ENOENT)
                r = berth_fail_errno(err, "release layer hold `%s`", p);
        (void)rmdir(dir);
        berth_image_store_unlock(s);
        return r;
}

/* FN (hold or release) for every layer of IMG, stopping at the first error. */
static int
each_layer(struct berth_image_store *s, const struct berth_image *img, const char *holder,
           int (*fn)(struct berth_image_store *, const char *, const char *, berth_error **),
           berth_error **err)
{
        for (size_t i = 0; i < img->n_layers; i++) {
                int r = fn(s, img->layers[i].chain_id, holder, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int berth_image_hold(struct berth_image_store *s, const struct berth_image *img, const char *holder,
                     berth_error **err)
{
        return each_layer(s, img, holder, berth_image_store_hold_layer, err);
}

int berth_image_release(struct berth_image_store *s, const struct berth_image *img,
                        const char *holder, berth_error **err)
{
        return each_layer(s, img, holder, berth_image_store_release_layer, err);
}

int store_layer_holders(struct berth_image_store *s, const char *chain_id)
{
        cleanup_free char *dir = hold_dir(s, chain_id);
        cleanup_closedir DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

int store_held_layers(struct berth_image_store *s, char ***ret, berth_error **err)
{
        cleanup_free char *dir = xasprintf("%s/holds", s->images_dir);
        cleanup_closedir DIR *d = opendir(dir);
        char **v = xmalloc0(sizeof(char *));
        struct dirent *de;
        if (d == NULL) {
                *ret = v;
                return 0;
        }
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                cleanup_free char *chain = xasprintf("sha256:%s", de->d_name);
                if (berth_digest_valid(chain) && store_layer_holders(s, chain) > 0)
                        store_strv_push(&v, chain);
        }
        *ret = v;
        (void)err;
        return 0;
}

/* ---- layers (glue over layer.h) ----------------------------------------- */

int store_unpack_layer(struct berth_image_store *s, const struct berth_image_layer *l,
                       const char *parent_chain, int64_t *ret_unpacked, berth_error **err)
{
        struct berth_layer_apply_stats st;
        char chain[BERTH_DIGEST_STR_LEN];
        cleanup_close int fd = -1;
        int r;

        if (ret_unpacked)
                *ret_unpacked = -1;
        if (berth_snapshot_exists(s->root, l->chain_id))
                return 0;
        /* Unpacked already while it was stored (load): its content is the
         * blob's, verified, and its diffID the config's, so only the name
         * was missing. */
        for (size_t i = 0; i < s->n_prepared; i++) {
                struct store_prepared *p = &s->prepared[i];
                if (p->tmp == NULL || strcmp(p->digest, l->digest) != 0 ||
                    strcmp(p->diff_id, l->diff_id) != 0)
                        continue;
                r = berth_snapshot_commit(s->root, p->tmp, parent_chain, l->chain_id,
                                          s->prepared_synced, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "unpack layer %s", l->digest);
                /* Every prepared snapshot was complete before that sync. */
                s->prepared_synced = true;
                s->prepared_used++;
                free(p->tmp);
                p->tmp = NULL;
                if (ret_unpacked)
                        *ret_unpacked = p->unpacked;
                return 0;
        }
        fd = berth_blob_open(s, l->digest, err);
        if (fd < 0)
                return fd;
        r = berth_snapshot_unpack(s->root, parent_chain, fd, BERTH_LAYER_AUTO, &st, chain, err);
        if (r < 0)
                return berth_error_prefix(err, r, "unpack layer %s", l->digest);
        if (strcmp(st.digest, l->digest) != 0 || strcmp(st.diff_id, l->diff_id) != 0 ||
            strcmp(chain, l->chain_id) != 0) {
                (void)berth_snapshot_remove(s->root, chain, NULL);
                return berth_fail(
                    err, EINVAL,
                    "layer %s: its content has diffID %s, but the image config says %s", l->digest,
                    st.diff_id, l->diff_id);
        }
        if (ret_unpacked)
                *ret_unpacked = (int64_t)st.unpacked_size;
        return 0;
}

void store_prepared_add(struct berth_image_store *s, const char *digest, const char *diff_id,
                        char *tmp, int64_t unpacked)
{
        s->prepared = xrealloc(s->prepared, (s->n_prepared + 1) * sizeof(*s->prepared));
        struct store_prepared *p = &s->prepared[s->n_prepared++];
        snprintf(p->digest, sizeof(p->digest), "%s", digest);
        snprintf(p->diff_id, sizeof(p->diff_id), "%s", diff_id);
        p->tmp = tmp;
        p->unpacked = unpacked;
}

void store_prepared_clear(struct berth_image_store *s)
{
        for (size_t i = 0; i < s->n_prepared; i++) {
                if (s->prepared[i].tmp != NULL)
                        (void)berth_rm_rf(s->prepared[i].tmp, NULL);
                free(s->prepared[i].tmp);
        }
        free(s->prepared);
        s->prepared = NULL;
        s->n_prepared = 0;
        s->prepared_synced = false;
}

int store_remove_layer(struct berth_image_store *s, const char *chain_id, berth_error **err)
{
        return berth_snapshot_remove(s->root, chain_id, err);
}

int store_list_layers(struct berth_image_store *s, char ***ret, berth_error **err)
{
        cleanup_closedir DIR *d = opendir(s->layers_dir);
        char **v = xmalloc0(sizeof(char *));
        struct dirent *de;
        if (d == NULL) {
                free(v);
                return berth_fail_errno(err, "open `%s`", s->layers_dir);
        }
        while ((de = readdir(d)) != NULL) {
                cleanup_free char *chain = xasprintf("sha256:%s", de->d_name);
                if (berth_digest_valid(chain))
                        store_strv_push(&v, chain);
        }
        *ret = v;
        return 0;
}

int64_t store_layer_disk_size(struct berth_image_store *s, const char *chain_id)
{
        cleanup_free char *p = berth_snapshot_path(s->root, chain_id);
        return p ? berth_du(p) : 0;
}

/* ---- register ---------------------------------------------------------------- */

int berth_image_register(struct berth_image_store *s, const char *manifest_digest,
                         struct berth_image **ret, berth_error **err)
{
        cleanup_free char *mdata = NULL;
        cleanup_free char *cdata = NULL;
        cleanup_manifest struct berth_manifest *m = NULL;
        cleanup_image_config struct berth_image_config *cfg = NULL;
        cleanup_image struct berth_image *img = NULL;
        size_t mlen, clen;
        int r;

        r = berth_blob_read(s, manifest_digest, BERTH_IMAGE_MAX_JSON, &mdata, &mlen, err);
        if (r < 0)
                return r;
        r = berth_manifest_parse(mdata, mlen, NULL, &m, err);
        if (r < 0)
                return r;
        if (m->kind == BERTH_INDEX_OCI || m->kind == BERTH_INDEX_DOCKER) {
                const struct berth_descriptor *d = berth_index_select(m, NULL, NULL, NULL, err);
                if (d == NULL)
                        return -ENOENT;
                return berth_image_register(s, d->digest, ret, err);
        }
        r = berth_blob_read(s, m->config.digest, BERTH_IMAGE_MAX_JSON, &cdata, &clen, err);
        if (r < 0)
                return berth_error_prefix(err, r, "image config");
        r = berth_image_config_parse(cdata, clen, &cfg, err);
        if (r < 0)
                return r;
        if (cfg->n_diff_ids != m->n_layers)
                return berth_fail(err, EINVAL,
                                  "the manifest has %zu layers but the config lists %zu diffIDs",
                                  m->n_layers, cfg->n_diff_ids);
        img = xmalloc0(sizeof(*img));
        snprintf(img->id, sizeof(img->id), "%s", m->config.digest);
        snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", manifest_digest);
        img->manifest_media_type = xstrdup(m->media_type);
        img->created = xstrdup(cfg->created ? cfg->created : "");
        img->created_unix = berth_time_parse_rfc3339_sec(img->created);
        img->n_layers = m->n_layers;
        img->layers = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*img->layers));
        img->repo_digests = xmalloc0(sizeof(char *));
        img->repo_tags = xmalloc0(sizeof(char *));

        /* Existing records tell the unpacked size of known layers. */
        cleanup_image struct berth_image *old = NULL;
        (void)berth_image_get_by_id(s, img->id, &old, NULL);

        for (size_t i = 0; i < m->n_layers; i++) {
                struct berth_image_layer *l = &img->layers[i];
                const struct berth_descriptor *d = &m->layers[i];
                int64_t size;
                if (berth_layer_media_compression(d->media_type) < 0)
                        return berth_fail(err, ENOTSUP, "layer %s has unsupported media type `%s`",
                                          d->digest, d->media_type ? d->media_type : "");
                r = berth_blob_size(s, d->digest, &size, err);
                if (r < 0)
                        return r;
                if (size != d->size)
                        return berth_fail(err, EINVAL,
                                          "layer %s has %lld bytes but the manifest says %lld",
                                          d->digest, (long long)size, (long long)d->size);
                snprintf(l->digest, sizeof(l->digest), "%s", d->digest);
                snprintf(l->diff_id, sizeof(l->diff_id), "%s", cfg->diff_ids[i]);
                r = berth_chain_id(i ? img->layers[i - 1].chain_id : NULL, l->diff_id, l->chain_id);
                if (r < 0)
                        return berth_fail(err, -r, "layer %zu: invalid diffID", i);
                l->media_type = xstrdup(d->media_type);
                l->size = size;
                if (old != NULL && i < old->n_layers &&
                    strcmp(old->layers[i].chain_id, l->chain_id) == 0)
                        l->unpacked_size = old->layers[i].unpacked_size;
        }
        for (size_t i = 0; i < img->n_layers; i++) {
                struct berth_image_layer *l = &img->layers[i];
                int64_t unpacked;
                r = store_unpack_layer(s, l, i ? img->layers[i - 1].chain_id : NULL, &unpacked,
                                       err);
                if (r < 0)
                        return r;
                if (unpacked >= 0)
                        l->unpacked_size = unpacked;
                else if (l->unpacked_size == 0)
                        l->unpacked_size = store_layer_disk_size(s, l->chain_id);
                img->size += l->unpacked_size;
        }
        if (old != NULL) {
                for (char **d = old->repo_digests; d && *d; d++)
                        store_strv_push(&img->repo_digests, *d);
        }
        r = store_record_write(s, img, err);
        if (r < 0)
                return r;
        if (ret != NULL) {
                cleanup_json json_object *tags = NULL;
                if (store_tags_load(s, &tags, NULL) == 0) {
                        berth_strv_freep(&img->repo_tags);
                        img->repo_tags = tags_of(tags, img->id);
                }
                *ret = steal_pointer(&img);
        }
        return 0;
}

/* ---- GC and removal ------------------------------------------------------------ */

int berth_image_store_gc(struct berth_image_store *s, char *const *only, int64_t *ret_freed,
                         berth_error **err)
{
        cleanup_strv char **ids = NULL;
        cleanup_strv char **blobs_used = xmalloc0(sizeof(char *));
        cleanup_strv char **layers_used = NULL;
        cleanup_strv char **layers = NULL;
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        int64_t freed = 0;
        int r;

        r = store_record_ids(s, &ids, err);
        if (r < 0)
                return r;
        r = store_held_layers(s, &layers_used, err);
        if (r < 0)
                return r;
        for (char **id = ids; *id; id++) {
                cleanup_image struct berth_image *img = NULL;
                r = record_load(s, *id, NULL, &img, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "garbage collection");
                store_strv_push(&blobs_used, img->id);
                store_strv_push(&blobs_used, img->manifest_digest);
                for (size_t i = 0; i < img->n_layers; i++) {
                        store_strv_push(&blobs_used, img->layers[i].digest);
                        store_strv_push(&layers_used, img->layers[i].chain_id);
                }
        }
        d = opendir(s->blobs_dir);
        if (d == NULL)
                return berth_fail_errno(err, "open `%s`", s->blobs_dir);
        while ((de = readdir(d)) != NULL) {
                cleanup_free char *digest = xasprintf("sha256:%s", de->d_name);
                struct stat st;
                if (de->d_name[0] == '.')
                        continue;
                if (berth_digest_valid(digest)) {
                        if (store_strv_contains(blobs_used, digest))
                                continue;
                        if (only != NULL && !store_strv_contains(only, digest))
                                continue;
                } else if (only != NULL) {
                        continue;
                }
                cleanup_free char *p = xasprintf("%s/%s", s->blobs_dir, de->d_name);
                if (lstat(p, &st) == 0)
                        freed += (int64_t)st.st_blocks * 512;
                if (unlink(p) < 0 && errno != ENOENT)
                        return berth_fail_errno(err, "remove blob `%s`", p);
        }
        r = store_list_layers(s, &layers, err);
        if (r < 0)
                return r;
        for (char **l = layers; *l; l++) {
                if (store_strv_contains(layers_used, *l))
                        continue;
                if (only != NULL && !store_strv_contains(only, *l))
                        continue;
                freed += store_layer_disk_size(s, *l);
                r = store_remove_layer(s, *l, err);
                if (r < 0)
                        return r;
        }
        if (ret_freed)
                *ret_freed = freed;
        return 0;
}

static bool image_in_use(struct berth_image_store *s, const struct berth_image *img)
{
        return img->n_layers > 0 &&
               store_layer_holders(s, img->layers[img->n_layers - 1].chain_id) > 0;
}

static int remove_image_locked(struct berth_image_store *s, const char *name, bool force,
                               char ***lines, berth_error **err)
{
        cleanup_json json_object *tags = NULL;
        cleanup_image struct berth_image *img = NULL;
        cleanup_strv char **only = xmalloc0(sizeof(char *));
        cleanup_strv char **before = NULL;
        char id[BERTH_DIGEST_STR_LEN];
        bool by_ref;
        int r;

        r = store_tags_load(s, &tags, err);
        if (r < 0)
                return r;
        r = resolve(s, tags, name, id, &by_ref, err);
        if (r < 0)
                return r;
        r = record_load(s, id, tags, &img, err);
        if (r < 0)
                return r;
        size_t ntags = berth_strv_len(img->repo_tags);
        if (by_ref && !strchr(name, '@')) {
                cleanup_free char *full = NULL;
                r = berth_ref_normalize_tagged(name, &full, err);
                if (r < 0)
                        return r;
                json_object_object_del(tags, full);
                cleanup_free char *fam = berth_ref_familiarize(full);
                store_strv_pushf(lines, "Untagged: %s", fam);
                if (ntags > 1) /* other tags keep the image */
                        return store_tags_save(s, tags, err);
        } else {
                if (ntags > 1 && !force) {
                        return berth_fail(err, EBUSY,
                                          "conflict: unable to delete %.12s (must be forced) - "
                                          "image is referenced in multiple repositories",
                                          id + 7);
                }
                for (char **t = img->repo_tags; t && *t; t++) {
                        cleanup_free char *fam = berth_ref_familiarize(*t);
                        json_object_object_del(tags, *t);
                        store_strv_pushf(lines, "Untagged: %s", fam);
                }
        }
        if (image_in_use(s, img) && !force) {
                return berth_fail(err, EBUSY,
                                  "conflict: unable to delete %.12s (cannot be forced) - image is "
                                  "being used by a container",
                                  id + 7);
        }
        r = store_tags_save(s, tags, err);
        if (r < 0)
                return r;
        r = store_record_delete(s, img->id, err);
        if (r < 0)
                return r;
        store_strv_pushf(lines, "Deleted: %s", img->id);
        store_strv_push(&only, img->id);
        store_strv_push(&only, img->manifest_digest);
        r = store_list_layers(s, &before, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < img->n_layers; i++) {
                store_strv_push(&only, img->layers[i].digest);
                store_strv_push(&only, img->layers[i].chain_id);
        }
        r = berth_image_store_gc(s, only, NULL, err);
        if (r < 0)
                return r;
        for (size_t i = img->n_layers; i-- > 0;) {
                const char *c = img->layers[i].chain_id;
                if (store_strv_contains(before, c) && !berth_snapshot_exists(s->root, c))
                        store_strv_pushf(lines, "Deleted: %s", c);
        }
        return 0;
}

int berth_image_remove(struct berth_image_store *s, const char *name, bool force, char ***ret_lines,
                       berth_error **err)
{
        cleanup_strv char **lines = xmalloc0(sizeof(char *));
        int r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        r = remove_image_locked(s, name, force, &lines, err);
        berth_image_store_unlock(s);
        if (r < 0)
                return r;
        if (ret_lines)
                *ret_lines = steal_pointer(&lines);
        return 0;
}
