/* SPDX-License-Identifier: Apache-2.0 */
/* Disk accounting (per-image size and shared size, system df), prune, and
 * the store check that reconciles records with the disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "layer.h"
#include "store-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* Inodes with several links are counted once per walk. */
struct seen {
        dev_t *dev;
        ino_t *ino;
        size_t n, cap;
};

static bool seen_add(struct seen *s, dev_t dev, ino_t ino)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->ino[i] == ino && s->dev[i] == dev)
                        return false;
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->dev = xrealloc(s->dev, s->cap * sizeof(*s->dev));
                s->ino = xrealloc(s->ino, s->cap * sizeof(*s->ino));
        }
        s->dev[s->n] = dev;
        s->ino[s->n++] = ino;
        return true;
}

static int64_t du_at(int dfd, struct seen *seen, int depth)
{
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        int64_t total = 0;
        int fd;

        if (depth > 512)
                return 0;
        fd = dup(dfd);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return 0;
        }
        while ((de = readdir(d)) != NULL) {
                struct stat st;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
                    !seen_add(seen, st.st_dev, st.st_ino))
                        continue;
                total += (int64_t)st.st_blocks * 512;
                if (S_ISDIR(st.st_mode)) {
                        cleanup_close int sub = openat(
                            dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0)
                                total += du_at(sub, seen, depth + 1);
                }
        }
        return total;
}

int64_t berth_du(const char *path)
{
        struct seen seen = {0};
        struct stat st;
        cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int64_t total;
        if (fd < 0) {
                if (lstat(path, &st) == 0)
                        return (int64_t)st.st_blocks * 512;
                return 0;
        }
        total = du_at(fd, &seen, 0);
        if (fstat(fd, &st) == 0)
                total += (int64_t)st.st_blocks * 512;
        free(seen.dev);
        free(seen.ino);
        return total;
}

int berth_image_usage(struct berth_image_store *s, struct berth_image_usage **ret, size_t *ret_n,
                      berth_error **err)
{
        struct berth_image **imgs = NULL;
        size_t n = 0;
        int r = berth_image_list(s, &imgs, &n, err);
        if (r < 0)
                return r;
        struct berth_image_usage *u = xcalloc(n ? n : 1, sizeof(*u));
        for (size_t i = 0; i < n; i++) {
                memcpy(u[i].id, imgs[i]->id, sizeof(u[i].id));
                for (size_t l = 0; l < imgs[i]->n_layers; l++) {
                        const struct berth_image_layer *lay = &imgs[i]->layers[l];
                        bool shared = false;
                        for (size_t j = 0; j < n && !shared; j++) {
                                if (j == i)
                                        continue;
                                for (size_t k = 0; k < imgs[j]->n_layers; k++)
                                        if (strcmp(imgs[j]->layers[k].chain_id, lay->chain_id) ==
                                            0) {
                                                shared = true;
                                                break;
                                        }
                        }
                        u[i].size += lay->unpacked_size;
                        if (shared)
                                u[i].shared_size += lay->unpacked_size;
                }
                u[i].unique_size = u[i].size - u[i].shared_size;
                if (imgs[i]->n_layers > 0)
                        u[i].containers =
                            store_layer_holders(s, imgs[i]->layers[imgs[i]->n_layers - 1].chain_id);
        }
        berth_image_list_free(imgs, n);
        *ret = u;
        *ret_n = n;
        return 0;
}

int berth_image_df(struct berth_image_store *s, struct berth_store_df *ret, berth_error **err)
{
        struct berth_image **imgs = NULL;
        size_t n = 0;
        cleanup_strv char **counted = xmalloc0(sizeof(char *));
        cleanup_strv char **active_layers = xmalloc0(sizeof(char *));
        struct berth_store_df df = {0};
        int r = berth_image_list(s, &imgs, &n, err);
        if (r < 0)
                return r;
        df.images = n;
        /* Layers of active images (a holder on the top layer) are not
         * reclaimable. */
        for (size_t i = 0; i < n; i++) {
                if (imgs[i]->n_layers == 0 ||
                    store_layer_holders(s, imgs[i]->layers[imgs[i]->n_layers - 1].chain_id) == 0)
                        continue;
                df.active++;
                for (size_t l = 0; l < imgs[i]->n_layers; l++)
                        store_strv_push(&active_layers, imgs[i]->layers[l].chain_id);
        }
        for (size_t i = 0; i < n; i++)
                for (size_t l = 0; l < imgs[i]->n_layers; l++) {
                        const struct berth_image_layer *lay = &imgs[i]->layers[l];
                        if (store_strv_contains(counted, lay->chain_id))
                                continue;
                        store_strv_push(&counted, lay->chain_id);
                        df.size += lay->unpacked_size;
                        if (!store_strv_contains(active_layers, lay->chain_id) &&
                            store_layer_holders(s, lay->chain_id) == 0)
                                df.reclaimable += lay->unpacked_size;
                }
        berth_image_list_free(imgs, n);
        df.blobs_size = berth_du(s->blobs_dir);
        *ret = df;
        return 0;
}

int berth_image_prune(struct berth_image_store *s, bool all, char ***ret_lines, int64_t *ret_freed,
                      berth_error **err)
{
        cleanup_strv char **lines = xmalloc0(sizeof(char *));
        struct berth_image **imgs = NULL;
        size_t n = 0;
        int64_t freed = 0, before, after;
        int r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        before = berth_du(s->blobs_dir) + berth_du(s->layers_dir);
        r = berth_image_list(s, &imgs, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct berth_image *img = imgs[i];
                bool dangling = img->repo_tags == NULL || img->repo_tags[0] == NULL;
                cleanup_strv char **out = NULL;
                if (!dangling && !all)
                        continue;
                if (img->n_layers > 0 &&
                    store_layer_holders(s, img->layers[img->n_layers - 1].chain_id) > 0)
                        continue;
                r = berth_image_remove(s, img->id, true, &out, err);
                for (char **l = out; l && *l; l++)
                        store_strv_push(&lines, *l);
        }
        berth_image_list_free(imgs, n);
        if (r >= 0)
                r = berth_image_store_gc(s, NULL, NULL, err);
        after = berth_du(s->blobs_dir) + berth_du(s->layers_dir);
        berth_image_store_unlock(s);
        if (r < 0)
                return r;
        freed = before > after ? before - after : 0;
        if (ret_lines)
                *ret_lines = steal_pointer(&lines);
        if (ret_freed)
                *ret_freed = freed;
        return 0;
}

static int check_locked(struct berth_image_store *s, bool repair, char ***lines, berth_error **err)
{
        cleanup_strv char **ids = NULL;
        cleanup_json json_object *tags = NULL;
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        int problems = 0, r;
        bool tags_changed = false;

        /* Temporary files a crash left behind. */
        d = opendir(s->tmp_dir);
        while (d != NULL && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                cleanup_free char *p = xasprintf("%s/%s", s->tmp_dir, de->d_name);
                if (berth_rm_rf(p, NULL) == 0)
                        store_strv_pushf(lines, "removed temporary file %s", de->d_name);
        }
        (void)berth_snapshot_cleanup_tmp(s->root, NULL);

        r = store_record_ids(s, &ids, err);
        if (r < 0)
                return r;
        r = store_tags_load(s, &tags, err);
        if (r < 0)
                return r;
        /* Records: every blob present, every layer unpacked. */
        for (char **id = ids; *id; id++) {
                cleanup_image struct berth_image *img = NULL;
                bool bad = false;
                r = berth_image_get_by_id(s, *id, &img, NULL);
                if (r < 0) {
                        store_strv_pushf(lines, "image record %s is unreadable; removed", *id);
                        (void)store_record_delete(s, *id, NULL);
                        continue;
                }
                if (!berth_blob_exists(s, img->id) || !berth_blob_exists(s, img->manifest_digest))
                        bad = true;
                for (size_t i = 0; i < img->n_layers; i++) {
                        if (!berth_blob_exists(s, img->layers[i].digest))
                                bad = true;
                        if (!berth_snapshot_exists(s->root, img->layers[i].chain_id)) {
                                const char *parent = i ? img->layers[i - 1].chain_id : NULL;
                                if (berth_blob_exists(s, img->layers[i].digest) &&
                                    store_unpack_layer(s, &img->layers[i], parent, NULL, NULL) == 0)
                                        store_strv_pushf(lines, "unpacked missing layer %s",
                                                         img->layers[i].chain_id);
                                else
                                        bad = true;
                        }
                }
                if (bad) {
                        if (repair) {
                                (void)store_record_delete(s, *id, NULL);
                                store_strv_pushf(lines,
                                                 "image %s lost some of its content; removed", *id);
                        } else {
                                store_strv_pushf(lines,
                                                 "image %s is missing some of its content (run "
                                                 "`berth image check --repair` to remove it)",
                                                 *id);
                                problems++;
                        }
                }
        }
        /* Tags of images that are gone. */
        {
                cleanup_strv char **gone = xmalloc0(sizeof(char *));
                json_object_object_foreach(tags, k, v)
                {
                        const char *id = json_object_get_string(v);
                        cleanup_free char *p = NULL;
                        if (id != NULL && berth_digest_valid(id)) {
                                p = xasprintf("%s/records/%s.json", s->images_dir, id + 7);
                                if (access(p, F_OK) == 0)
                                        continue;
                        }
                        store_strv_push(&gone, k);
                }
                for (char **g = gone; *g; g++) {
                        json_object_object_del(tags, *g);
                        store_strv_pushf(lines, "removed tag %s of a missing image", *g);
                        tags_changed = true;
                }
        }
        if (tags_changed) {
                r = store_tags_save(s, tags, err);
                if (r < 0)
                        return r;
        }
        /* Orphans: blobs and layers no record or holder uses. */
        {
                cleanup_strv char **layers_before = NULL;
                int64_t freed = 0;
                size_t nblobs_before = 0, nblobs_after = 0;
                cleanup_closedir DIR *bd = opendir(s->blobs_dir);
                while (bd && (de = readdir(bd)) != NULL)
                        if (de->d_name[0] != '.')
                                nblobs_before++;
                r = store_list_layers(s, &layers_before, err);
                if (r < 0)
                        return r;
                r = berth_image_store_gc(s, NULL, &freed, err);
                if (r < 0)
                        return r;
                cleanup_closedir DIR *ad = opendir(s->blobs_dir);
                while (ad && (de = readdir(ad)) != NULL)
                        if (de->d_name[0] != '.')
                                nblobs_after++;
                if (nblobs_before > nblobs_after)
                        store_strv_pushf(lines, "removed %zu unreferenced blobs",
                                         nblobs_before - nblobs_after);
                for (char **l = layers_before; *l; l++)
                        if (!berth_snapshot_exists(s->root, *l))
                                store_strv_pushf(lines, "removed unreferenced layer %s", *l);
        }
        return problems;
}

int berth_image_check(struct berth_image_store *s, bool repair, char ***ret_lines,
                      berth_error **err)
{
        cleanup_strv char **lines = xmalloc0(sizeof(char *));
        int r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        r = check_locked(s, repair, &lines, err);
        berth_image_store_unlock(s);
        if (r < 0)
                return r;
        if (ret_lines)
                *ret_lines = steal_pointer(&lines);
        return r;
}
