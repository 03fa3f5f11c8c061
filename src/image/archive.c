/* SPDX-License-Identifier: Apache-2.0 */
/* save / load: the docker-archive format (manifest.json + repositories +
 * <id>.json + layer tars, as `docker save` writes) and the OCI image layout
 * (oci-layout + index.json + blobs/sha256). Loading streams every layer
 * into the content store through the verifying writer; nothing is
 * extracted by libarchive itself. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

#define MAX_ENTRIES      100000
#define MAX_IMAGES       1000
#define MAX_SYMLINK_HOPS 8
#define BUFSZ            (1 << 20)

static void archive_readp(struct archive **a)
{
        if (*a != NULL)
                archive_read_free(*a);
        *a = NULL;
}
static void archive_writep(struct archive **a)
{
        if (*a != NULL)
                archive_write_free(*a);
        *a = NULL;
}
#define cleanup_archive_read  __attribute__((cleanup(archive_readp)))
#define cleanup_archive_write __attribute__((cleanup(archive_writep)))

/* ---- decompression helpers (store-internal.h) ------------------------- */

static int sniff(int fd)
{
        unsigned char m[4] = {0};
        ssize_t n = pread(fd, m, sizeof(m), 0);
        if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
                return 1;
        if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                return 2;
        return 0;
}

static int raw_copy(int fd, int (*cb)(void *ud, const void *buf, size_t len), void *ud,
                    berth_error **err)
{
        cleanup_free char *buf = xmalloc(BUFSZ);
        off_t off = 0;
        for (;;) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(pread(fd, buf, BUFSZ, off));
                if (n < 0)
                        return berth_fail_errno(err, "read layer");
                if (n == 0)
                        return 0;
                off += n;
                int r = cb(ud, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
}

int store_uncompressed_copy(int fd, int (*cb)(void *ud, const void *buf, size_t len), void *ud,
                            berth_error **err)
{
        cleanup_free char *buf = NULL;
        if (sniff(fd) == 0)
                return raw_copy(fd, cb, ud, err);
        buf = xmalloc(BUFSZ);
        cleanup_archive_read struct archive *a = archive_read_new();
        struct archive_entry *e;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return berth_fail_errno(err, "seek layer");
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, BUFSZ) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK)
                return berth_fail(err, EINVAL, "decompress layer: %s", archive_error_string(a));
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, BUFSZ);
                if (n < 0)
                        return berth_fail(err, EINVAL, "decompress layer: %s",
                                          archive_error_string(a));
                if (n == 0)
                        return 0;
                int r = cb(ud, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
}

struct hash_ud {
        struct berth_sha256 *sha;
        int64_t size;
};

static int hash_cb(void *ud, const void *buf, size_t len)
{
        struct hash_ud *h = ud;
        if (h->sha)
                berth_sha256_update(h->sha, buf, len);
        h->size += (int64_t)len;
        return 0;
}

int store_uncompressed_digest(int fd, char ret_digest[BERTH_DIGEST_STR_LEN], int64_t *ret_size,
                              berth_error **err)
{
        struct hash_ud h = {.sha = ret_digest ? berth_sha256_new() : NULL};
        int r = store_uncompressed_copy(fd, hash_cb, &h, err);
        if (r >= 0 && ret_digest)
                berth_sha256_final(h.sha, ret_digest);
        if (h.sha)
                berth_sha256_free(h.sha);
        if (r >= 0 && ret_size)
                *ret_size = h.size;
        return r;
}

/* ---- unpacking while storing -------------------------------------------------- */

/* Every layer-sized entry of the archive goes to the content store (hashed,
 * written, verified by the blob writer) and, through an in-memory queue, to
 * a thread that unpacks it into a temporary snapshot at the same time. The
 * archive is read once; the bytes are hashed once (the unpacker skips the
 * digest the blob writer computes, and for a plain tar that digest is the
 * diffID); the layers unpack in parallel with the copy and with each other:
 * the queue holds up to SPOOL_MAX bytes, so that while the big base layer is
 * still unpacking, the archive reader goes on to the next layers and their
 * threads start. A layer's chain id is known only once the config is
 * parsed (and a docker-archive may put the config last), so the snapshots
 * wait unnamed under layers/.tmp-* until berth_image_register() commits
 * them in order (store_unpack_layer) after checking the blob digest and the
 * config's diffID; nothing gets its real name before that. An entry that is
 * no layer (a large OCI config) just fails to unpack and is dropped; a
 * layer whose speculative unpack failed is unpacked again the ordinary way,
 * which reports the error. */
#define SPEC_MIN_SIZE    (64 * 1024)
#define SPEC_MAX_RUNNING 4
#define SPEC_MAX_TOTAL   BERTH_IMAGE_MAX_LAYERS
#define SPOOL_MAX        (64 << 20)

/* What the queues of one load share: their lock and their byte budget. */
struct spool {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        size_t queued;
        size_t max; /* SPOOL_MAX, or the store's spool_max (tests) */
};

struct chunk {
        struct chunk *next;
        size_t len, pos;
        char data[];
};

struct spec {
        pthread_t thread;
        const char *root;
        struct spool *pool;
        /* Under pool->mu. */
        struct chunk *head, *tail;
        bool eof;       /* the feeder is done with it */
        bool abandoned; /* the unpacker stopped reading */
        /* The feeder's. */
        bool joined;
        bool fed;    /* every byte of the entry was queued */
        bool stored; /* the blob was committed: digest is valid */
        char digest[BERTH_DIGEST_STR_LEN];
        /* Written by the thread, read after the join. */
        int ret;
        char *tmp;
        struct berth_layer_apply_stats stats;
};

/* The unpacker's source (berth_layer_read_fn): the next queued bytes. */
static ssize_t spec_read(void *ud, void *buf, size_t len)
{
        struct spec *sp = ud;
        struct spool *pool = sp->pool;
        size_t n = 0;

        pthread_mutex_lock(&pool->mu);
        while (sp->head == NULL && !sp->eof)
                pthread_cond_wait(&pool->cv, &pool->mu);
        if (sp->head != NULL) {
                struct chunk *ch = sp->head;
                n = ch->len - ch->pos < len ? ch->len - ch->pos : len;
                memcpy(buf, ch->data + ch->pos, n);
                ch->pos += n;
                if (ch->pos == ch->len) {
                        sp->head = ch->next;
                        if (sp->head == NULL)
                                sp->tail = NULL;
                        pool->queued -= ch->len;
                        free(ch);
                        pthread_cond_broadcast(&pool->cv);
                }
        }
        pthread_mutex_unlock(&pool->mu);
        return (ssize_t)n;
}

/* Queue LEN bytes for SP's thread, waiting while the budget is spent.
 * Returns false when the thread no longer reads. */
static bool spec_feed(struct spec *sp, const void *buf, size_t len)
{
        struct spool *pool = sp->pool;
        struct chunk *ch = xmalloc(sizeof(*ch) + len);
        bool ok;

        ch->next = NULL;
        ch->len = len;
        ch->pos = 0;
        memcpy(ch->data, buf, len);
        pthread_mutex_lock(&pool->mu);
        while (!sp->abandoned && pool->queued > 0 && pool->queued + len > pool->max)
                pthread_cond_wait(&pool->cv, &pool->mu);
        ok = !sp->abandoned;
        if (ok) {
                if (sp->tail != NULL)
                        sp->tail->next = ch;
                else
                        sp->head = ch;
                sp->tail = ch;
                pool->queued += len;
                ch = NULL;
                pthread_cond_broadcast(&pool->cv);
        }
        pthread_mutex_unlock(&pool->mu);
        free(ch);
        return ok;
}

/* The feeder is done with SP (all of it, or it gives up). */
static void spec_end(struct spec *sp)
{
        pthread_mutex_lock(&sp->pool->mu);
        sp->eof = true;
        pthread_cond_broadcast(&sp->pool->cv);
        pthread_mutex_unlock(&sp->pool->mu);
}

static void spec_endp(struct spec **sp)
{
        if (*sp != NULL)
                spec_end(*sp);
}

static void *spec_main(void *arg)
{
        struct spec *sp = arg;
        sp->ret = berth_snapshot_prepare_stream(sp->root, spec_read, sp, BERTH_LAYER_AUTO,
                                                BERTH_LAYER_APPLY_NO_RAW_DIGEST, &sp->stats,
                                                &sp->tmp, NULL);
        /* Stop taking bytes: drop what is queued, release the feeder. */
        pthread_mutex_lock(&sp->pool->mu);
        sp->abandoned = true;
        while (sp->head != NULL) {
                struct chunk *ch = sp->head;
                sp->head = ch->next;
                sp->pool->queued -= ch->len;
                free(ch);
        }
        sp->tail = NULL;
        pthread_cond_broadcast(&sp->pool->cv);
        pthread_mutex_unlock(&sp->pool->mu);
        return NULL;
}

static void spec_join(struct spec *sp)
{
        if (!sp->joined)
                (void)pthread_join(sp->thread, NULL);
        sp->joined = true;
}

/* ---- load ------------------------------------------------------------------- */

struct entry {
        char *name;
        char *data; /* small JSON documents kept in memory */
        size_t len;
        char *link; /* symlink target, resolved to an archive path */
        char digest[BERTH_DIGEST_STR_LEN];
        int64_t size;
};

struct load_ctx {
        struct berth_image_store *s;
        struct entry *e;
        size_t n, cap;
        char **new_blobs;
        char **lines;
        struct spec **specs;
        size_t n_specs;
        struct spool pool;
        bool pool_init;
};

/* Start unpacking the next entry on a thread, to be fed with spec_feed()
 * and ended with spec_end(). NULL when it will be unpacked later instead. */
static struct spec *spec_start(struct load_ctx *c)
{
        size_t running = 0;

        if (c->s->serial_unpack || c->n_specs >= SPEC_MAX_TOTAL)
                return NULL;
        for (size_t i = 0; i < c->n_specs; i++)
                running += !c->specs[i]->joined;
        for (size_t i = 0; i < c->n_specs && running >= SPEC_MAX_RUNNING; i++)
                if (!c->specs[i]->joined) {
                        spec_join(c->specs[i]);
                        running--;
                }
        if (!c->pool_init) {
                pthread_mutex_init(&c->pool.mu, NULL);
                pthread_cond_init(&c->pool.cv, NULL);
                c->pool.queued = 0;
                c->pool.max = c->s->spool_max ? c->s->spool_max : SPOOL_MAX;
                c->pool_init = true;
        }
        struct spec *sp = xmalloc0(sizeof(*sp));
        sp->root = berth_image_store_root(c->s);
        sp->pool = &c->pool;
        if (pthread_create(&sp->thread, NULL, spec_main, sp) != 0) {
                free(sp);
                return NULL;
        }
        c->specs = xrealloc(c->specs, (c->n_specs + 1) * sizeof(*c->specs));
        c->specs[c->n_specs++] = sp;
        return sp;
}

/* Wait for every unpacking thread; hand what was unpacked from a stored
 * blob to the store, remove the rest. */
static void spec_finish(struct load_ctx *c)
{
        bool any = false;
        for (size_t i = 0; i < c->n_specs; i++) {
                struct spec *sp = c->specs[i];
                spec_join(sp);
                if (sp->ret >= 0 && sp->fed && sp->stored) {
                        const char *diff_id = sp->stats.diff_id[0] ? sp->stats.diff_id : sp->digest;
                        store_prepared_add(c->s, sp->digest, diff_id, steal_pointer(&sp->tmp),
                                           (int64_t)sp->stats.unpacked_size);
                        any = true;
                } else if (sp->tmp != NULL) {
                        (void)berth_rm_rf(sp->tmp, NULL);
                }
                free(sp->tmp);
                free(sp);
        }
        free(c->specs);
        c->specs = NULL;
        c->n_specs = 0;
        if (c->pool_init) {
                pthread_mutex_destroy(&c->pool.mu);
                pthread_cond_destroy(&c->pool.cv);
                c->pool_init = false;
        }
        if (any)
                c->s->prepared_synced = false;
}

static void load_ctx_clear(struct load_ctx *c)
{
        spec_finish(c);
        for (size_t i = 0; i < c->n; i++) {
                free(c->e[i].name);
                free(c->e[i].data);
                free(c->e[i].link);
        }
        free(c->e);
        berth_strv_freep(&c->new_blobs);
        berth_strv_freep(&c->lines);
}

/* Canonical archive path: no "./", no empty components; NULL for "..". */
static char *clean_path(const char *p)
{
        char *out = xmalloc(strlen(p) + 1);
        size_t o = 0;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *end = strchrnul(p, '/');
                size_t len = (size_t)(end - p);
                if (len == 0)
                        break;
                if (len == 1 && p[0] == '.') {
                        p = end;
                        continue;
                }
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        /* pop one component */
                        if (o == 0) {
                                free(out);
                                return NULL;
                        }
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        p = end;
                        continue;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, p, len);
                o += len;
                p = end;
        }
        out[o] = '\0';
        return out;
}

static struct entry *find_entry(struct load_ctx *c, const char *name)
{
        cleanup_free char *cur = clean_path(name);
        for (int hops = 0; cur != NULL && hops <= MAX_SYMLINK_HOPS; hops++) {
                struct entry *found = NULL;
                for (size_t i = 0; i < c->n; i++)
                        if (strcmp(c->e[i].name, cur) == 0)
                                found = &c->e[i];
                if (found == NULL)
                        return NULL;
                if (found->link == NULL)
                        return found;
                free(cur);
                cur = xstrdup(found->link);
        }
        return NULL;
}

static struct entry *add_entry(struct load_ctx *c, char *name)
{
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 32;
                c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
        }
        struct entry *e = &c->e[c->n++];
        memset(e, 0, sizeof(*e));
        e->name = name;
        return e;
}

static bool keep_in_memory(const char *name, int64_t size)
{
        if (strchr(name, '/') != NULL || size > (int64_t)BERTH_IMAGE_MAX_JSON)
                return false;
        return berth_str_has_suffix(name, ".json") || strcmp(name, "repositories") == 0 ||
               strcmp(name, "oci-layout") == 0;
}

static int read_archive(struct load_ctx *c, int fd, berth_error **err)
{
        cleanup_archive_read struct archive *a = archive_read_new();
        cleanup_free char *buf = xmalloc(BUFSZ);
        struct archive_entry *ae;
        size_t count = 0;
        int r;

        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        if (archive_read_open_fd(a, fd, BUFSZ) != ARCHIVE_OK)
                return berth_fail(err, EINVAL, "read image archive: %s", archive_error_string(a));
        for (;;) {
                r = archive_read_next_header(a, &ae);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return berth_fail(
                            err, EINVAL,
                            "read image archive: %s (is it truncated or not a tar file?)",
                            archive_error_string(a));
                if (++count > MAX_ENTRIES)
                        return berth_fail(err, E2BIG, "image archive has more than %d entries",
                                          MAX_ENTRIES);
                const char *raw = archive_entry_pathname(ae);
                char *name = raw ? clean_path(raw) : NULL;
                if (name == NULL || *name == '\0') {
                        free(name);
                        continue;
                }
                mode_t type = archive_entry_filetype(ae);
                if (type == AE_IFLNK || archive_entry_hardlink(ae) != NULL) {
                        const char *target = archive_entry_hardlink(ae);
                        char *resolved;
                        if (target != NULL) {
                                resolved = clean_path(target);
                        } else {
                                const char *slash = strrchr(name, '/');
                                cleanup_free char *joined =
                                    xasprintf("%.*s%s%s", slash ? (int)(slash - name) : 0, name,
                                              slash ? "/" : "", archive_entry_symlink(ae) ?: "");
                                resolved = clean_path(joined);
                        }
                        if (resolved == NULL) {
                                free(name);
                                continue;
                        }
                        add_entry(c, name)->link = resolved;
                        continue;
                }
                if (type != AE_IFREG) {
                        free(name);
                        continue;
                }
                int64_t size = archive_entry_size(ae);
                const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
                if (keep_in_memory(name, size)) {
                        struct entry *e = add_entry(c, name);
                        e->data = xmalloc((size_t)size + 1);
                        la_ssize_t n = archive_read_data(a, e->data, (size_t)size);
                        if (n != size)
                                return berth_fail(err, EINVAL,
                                                  "read `%s` from the image archive: %s", name,
                                                  n < 0 ? archive_error_string(a) : "truncated");
                        e->data[size] = '\0';
                        e->len = (size_t)size;
                        continue;
                }
                if (strcmp(base, "VERSION") == 0 || strcmp(base, "json") == 0) {
                        free(name);
                        continue;
                }
                /* Content: into the store. Blobs named by digest must match. */
                cleanup_free char *expected = NULL;
                if (berth_str_has_prefix(name, "blobs/sha256/")) {
                        expected = xasprintf("sha256:%s", name + strlen("blobs/sha256/"));
                        if (!berth_digest_valid(expected)) {
                                free(expected);
                                expected = NULL;
                        }
                }
                struct entry *e = add_entry(c, name);
                cleanup_blob_writer struct berth_blob_writer *w = NULL;
                __attribute__((cleanup(spec_endp))) struct spec *sp = NULL;
                bool feeding = false;
                bool created;
                r = berth_blob_writer_new(c->s, expected, size, &w, err);
                if (r < 0)
                        return r;
                /* A blob the store has is most likely unpacked already. */
                if (size >= SPEC_MIN_SIZE && !(expected && berth_blob_exists(c->s, expected)))
                        sp = spec_start(c);
                if (sp != NULL) {
                        feeding = true;
                        store_blob_writer_direct(w);
                }
                for (;;) {
                        la_ssize_t n = archive_read_data(a, buf, BUFSZ);
                        if (n < 0)
                                return berth_fail(
                                    err, EINVAL,
                                    "read `%s` from the image archive: %s (is it truncated?)", name,
                                    archive_error_string(a));
                        if (n == 0)
                                break;
                        r = berth_blob_writer_write(w, buf, (size_t)n, err);
                        if (r < 0)
                                return berth_error_prefix(err, r, "`%s`", name);
                        if (feeding && !spec_feed(sp, buf, (size_t)n))
                                feeding = false; /* that unpack failed */
                }
                if (sp != NULL) {
                        sp->fed = feeding;
                        spec_end(sp);
                }
                r = berth_blob_writer_commit(w, e->digest, &created, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "`%s` in the image archive", name);
                if (sp != NULL) {
                        memcpy(sp->digest, e->digest, BERTH_DIGEST_STR_LEN);
                        sp->stored = true;
                }
                e->size = size;
                if (created)
                        store_strv_push(&c->new_blobs, e->digest);
        }
        return 0;
}

static const char *layer_media_type(struct berth_image_store *s, const char *digest)
{
        cleanup_close int fd = berth_blob_open(s, digest, NULL);
        switch (fd < 0 ? 0 : sniff(fd)) {
        case 1:
                return BERTH_MT_OCI_LAYER_GZIP;
        case 2:
                return BERTH_MT_OCI_LAYER_ZSTD;
        default:
                return BERTH_MT_OCI_LAYER;
        }
}

/* Put an in-memory entry into the store (or find its blob). */
static int entry_blob(struct load_ctx *c, struct entry *e, char digest[BERTH_DIGEST_STR_LEN],
                      berth_error **err)
{
        if (e->data == NULL) {
                memcpy(digest, e->digest, BERTH_DIGEST_STR_LEN);
                return 0;
        }
        bool existed;
        berth_sha256_digest(e->data, e->len, digest);
        existed = berth_blob_exists(c->s, digest);
        int r = berth_blob_put(c->s, e->data, e->len, NULL, digest, err);
        if (r < 0)
                return r;
        if (!existed)
                store_strv_push(&c->new_blobs, digest);
        return 0;
}

static int add_tag(struct load_ctx *c, const char *ref, const char *id, berth_error **err)
{
        cleanup_free char *full = NULL;
        int r = berth_ref_normalize_tagged(ref, &full, err);
        if (r < 0)
                return r;
        r = berth_image_tag(c->s, id, full, err);
        if (r < 0)
                return r;
        cleanup_free char *fam = berth_ref_familiarize(full);
        store_strv_pushf(&c->lines, "Loaded image: %s", fam);
        return 0;
}

static int load_docker(struct load_ctx *c, struct entry *mf, berth_error **err)
{
        cleanup_json json_object *o = NULL;
        size_t n;
        int r = berth_json_parse(mf->data, mf->len, "manifest.json", &o, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_array))
                return berth_fail(err, EINVAL, "manifest.json is not an array");
        n = json_object_array_length(o);
        if (n > MAX_IMAGES)
                return berth_fail(err, E2BIG, "manifest.json lists more than %d images",
                                  MAX_IMAGES);
        for (size_t i = 0; i < n; i++) {
                json_object *im = json_object_array_get_idx(o, i);
                const char *cfgname = berth_json_str(im, "Config");
                json_object *layers = berth_json_get(im, "Layers");
                json_object *tags = berth_json_get(im, "RepoTags");
                char cfgdigest[BERTH_DIGEST_STR_LEN], mdigest[BERTH_DIGEST_STR_LEN];
                cleanup_free char *cdata = NULL;
                size_t clen;
                cleanup_image_config struct berth_image_config *cfg = NULL;
                struct berth_manifest m = {.kind = BERTH_MANIFEST_OCI};
                cleanup_free char *mdata = NULL;
                size_t mlen;
                cleanup_image struct berth_image *img = NULL;

                if (cfgname == NULL || layers == NULL ||
                    !json_object_is_type(layers, json_type_array))
                        return berth_fail(err, EINVAL, "manifest.json[%zu] has no Config or Layers",
                                          i);
                struct entry *ce = find_entry(c, cfgname);
                if (ce == NULL)
                        return berth_fail(
                            err, ENOENT,
                            "manifest.json names config `%s`, which is not in the archive",
                            cfgname);
                r = entry_blob(c, ce, cfgdigest, err);
                if (r < 0)
                        return r;
                /* A config named <hex>.json must hash to <hex>. */
                const char *base = strrchr(ce->name, '/') ? strrchr(ce->name, '/') + 1 : ce->name;
                if (strlen(base) == 64 + 5 && berth_str_has_suffix(base, ".json") &&
                    strncmp(base, cfgdigest + 7, 64) != 0)
                        return berth_fail(
                            err, EINVAL,
                            "config `%s` does not match its digest (%s): the archive is corrupt",
                            cfgname, cfgdigest);
                r = berth_blob_read(c->s, cfgdigest, BERTH_IMAGE_MAX_JSON, &cdata, &clen, err);
                if (r < 0)
                        return r;
                r = berth_image_config_parse(cdata, clen, &cfg, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "`%s`", cfgname);
                m.n_layers = json_object_array_length(layers);
                if (m.n_layers != cfg->n_diff_ids)
                        return berth_fail(
                            err, EINVAL,
                            "manifest.json lists %zu layers but config `%s` has %zu diffIDs",
                            m.n_layers, cfgname, cfg->n_diff_ids);
                m.media_type = BERTH_MT_OCI_MANIFEST;
                m.config.media_type = BERTH_MT_OCI_CONFIG;
                memcpy(m.config.digest, cfgdigest, sizeof(cfgdigest));
                m.config.size = (int64_t)clen;
                m.layers = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*m.layers));
                for (size_t l = 0; l < m.n_layers && r >= 0; l++) {
                        const char *lname =
                            json_object_get_string(json_object_array_get_idx(layers, l));
                        struct entry *le = lname ? find_entry(c, lname) : NULL;
                        if (le == NULL) {
                                r = berth_fail(
                                    err, ENOENT,
                                    "manifest.json names layer `%s`, which is not in the archive",
                                    lname ? lname : "");
                                break;
                        }
                        r = entry_blob(c, le, m.layers[l].digest, err);
                        if (r < 0)
                                break;
                        r = berth_blob_size(c->s, m.layers[l].digest, &m.layers[l].size, err);
                        m.layers[l].media_type = (char *)layer_media_type(c->s, m.layers[l].digest);
                }
                if (r >= 0)
                        r = berth_manifest_write(&m, &mdata, &mlen, err);
                free(m.layers);
                if (r < 0)
                        return r;
                bool existed;
                berth_sha256_digest(mdata, mlen, mdigest);
                existed = berth_blob_exists(c->s, mdigest);
                r = berth_blob_put(c->s, mdata, mlen, NULL, mdigest, err);
                if (r < 0)
                        return r;
                if (!existed)
                        store_strv_push(&c->new_blobs, mdigest);
                r = berth_image_register(c->s, mdigest, &img, err);
                if (r < 0)
                        return r;
                size_t ntags = tags && json_object_is_type(tags, json_type_array)
                                   ? json_object_array_length(tags)
                                   : 0;
                for (size_t t = 0; t < ntags; t++) {
                        r = add_tag(c, json_object_get_string(json_object_array_get_idx(tags, t)),
                                    img->id, err);
                        if (r < 0)
                                return r;
                }
                if (ntags == 0)
                        store_strv_pushf(&c->lines, "Loaded image ID: %s", img->id);
        }
        return 0;
}

static int load_oci(struct load_ctx *c, struct entry *idx, berth_error **err)
{
        cleanup_manifest struct berth_manifest *m = NULL;
        int r = berth_manifest_parse(idx->data, idx->len, BERTH_MT_OCI_INDEX, &m, err);
        if (r < 0)
                return berth_error_prefix(err, r, "index.json");
        if (m->kind != BERTH_INDEX_OCI && m->kind != BERTH_INDEX_DOCKER)
                return berth_fail(err, EINVAL, "index.json is not an image index");
        if (m->n_manifests > MAX_IMAGES)
                return berth_fail(err, E2BIG, "index.json lists more than %d images", MAX_IMAGES);
        for (size_t i = 0; i < m->n_manifests; i++) {
                const struct berth_descriptor *d = &m->manifests[i];
                cleanup_image struct berth_image *img = NULL;
                if (!berth_blob_exists(c->s, d->digest))
                        return berth_fail(
                            err, ENOENT,
                            "index.json names manifest %s, which is not in the archive", d->digest);
                r = berth_image_register(c->s, d->digest, &img, err);
                if (r < 0)
                        return r;
                const char *ref = d->ref_name;
                /* A bare tag (OCI's ref.name) names no repository. */
                if (ref != NULL && (strchr(ref, '/') != NULL || strchr(ref, ':') != NULL ||
                                    !berth_ref_tag_valid(ref))) {
                        r = add_tag(c, ref, img->id, err);
                        if (r < 0)
                                return r;
                } else {
                        store_strv_pushf(&c->lines, "Loaded image ID: %s", img->id);
                }
        }
        return 0;
}

static int load_locked(struct load_ctx *c, int fd, berth_error **err)
{
        int r = read_archive(c, fd, err);
        spec_finish(c);
        if (r < 0)
                return r;
        struct entry *mf = find_entry(c, "manifest.json");
        struct entry *idx = find_entry(c, "index.json");
        if (mf != NULL && mf->data != NULL)
                return load_docker(c, mf, err);
        if (idx != NULL && idx->data != NULL)
                return load_oci(c, idx, err);
        return berth_fail(err, EINVAL,
                          "the archive is neither a docker-archive (no manifest.json) nor an OCI "
                          "layout (no index.json)");
}

int berth_image_load(struct berth_image_store *s, int fd, char ***ret_lines, berth_error **err)
{
        struct load_ctx c = {.s = s};
        cleanup_strv char **layers_before = NULL;
        int r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        c.new_blobs = xmalloc0(sizeof(char *));
        c.lines = xmalloc0(sizeof(char *));
        r = store_list_layers(s, &layers_before, err);
        if (r >= 0)
                r = load_locked(&c, fd, err);
        /* Layers unpacked for nothing (failure, not in any image). */
        store_prepared_clear(s);
        /* Blobs this load added that no image uses (a failure, or files
         * the format does not need) go away, with any layer it unpacked for
         * nothing. */
        {
                cleanup_strv char **only = NULL;
                cleanup_strv char **layers_now = NULL;
                for (char **b = c.new_blobs; b && *b; b++)
                        store_strv_push(&only, *b);
                if (store_list_layers(s, &layers_now, NULL) == 0)
                        for (char **l = layers_now; *l; l++)
                                if (!store_strv_contains(layers_before, *l))
                                        store_strv_push(&only, *l);
                if (only != NULL)
                        (void)berth_image_store_gc(s, only, NULL, NULL);
        }
        berth_image_store_unlock(s);
        if (r >= 0 && ret_lines)
                *ret_lines = steal_pointer(&c.lines);
        load_ctx_clear(&c);
        if (r < 0)
                return berth_error_prefix(err, r, "load");
        return 0;
}

/* ---- save -------------------------------------------------------------------- */

static int write_entry(struct archive *a, const char *name, const void *data, size_t len,
                       berth_error **err)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return berth_fail(err, EIO, "write `%s`: %s", name, archive_error_string(a));
        if (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len)
                return berth_fail(err, EIO, "write `%s`: %s", name, archive_error_string(a));
        return 0;
}

static int write_dir(struct archive *a, const char *name, berth_error **err)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return berth_fail(err, EIO, "write `%s`: %s", name, archive_error_string(a));
        return 0;
}

static int archive_cb(void *ud, const void *buf, size_t len)
{
        struct archive *a = ud;
        if (archive_write_data(a, buf, len) != (la_ssize_t)len)
                return -EIO;
        return 0;
}

/* Write a blob, decompressed when UNCOMPRESS is set. */
static int write_blob_entry(struct berth_image_store *s, struct archive *a, const char *name,
                            const char *digest, bool uncompress, berth_error **err)
{
        cleanup_close int fd = berth_blob_open(s, digest, err);
        int64_t size;
        int r;
        if (fd < 0)
                return fd;
        if (uncompress && sniff(fd) != 0) {
                r = store_uncompressed_digest(fd, NULL, &size, err);
                if (r < 0)
                        return r;
        } else {
                uncompress = false;
                r = berth_blob_size(s, digest, &size, err);
                if (r < 0)
                        return r;
        }
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, 0, 0);
        r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return berth_fail(err, EIO, "write `%s`: %s", name, archive_error_string(a));
        if (uncompress) {
                (void)lseek(fd, 0, SEEK_SET);
                r = store_uncompressed_copy(fd, archive_cb, a, err);
        } else {
                r = raw_copy(fd, archive_cb, a, err);
        }
        if (r < 0)
                return berth_fail(err, EIO, "write `%s`: %s", name, archive_error_string(a));
        return 0;
}

struct save_item {
        struct berth_image *img;
        char **tags; /* full references */
};

static int save_docker(struct berth_image_store *s, struct archive *a, struct save_item *items,
                       size_t n, bool oci_blobs, berth_error **err)
{
        cleanup_json json_object *mf = json_object_new_array();
        cleanup_json json_object *repos = json_object_new_object();
        cleanup_strv char **written = xmalloc0(sizeof(char *));
        int r;

        for (size_t i = 0; i < n; i++) {
                struct berth_image *img = items[i].img;
                json_object *entry = json_object_new_object();
                json_object *layers = json_object_new_array();
                cleanup_free char *cfgname = oci_blobs ? xasprintf("blobs/sha256/%s", img->id + 7)
                                                       : xasprintf("%s.json", img->id + 7);
                json_object_array_add(mf, entry);
                /* With OCI blobs, save_oci has written every blob already. */
                if (!oci_blobs && !store_strv_contains(written, cfgname)) {
                        r = write_blob_entry(s, a, cfgname, img->id, false, err);
                        if (r < 0)
                                return r;
                        store_strv_push(&written, cfgname);
                }
                json_object_object_add(entry, "Config", json_object_new_string(cfgname));
                json_object *tags = json_object_new_array();
                for (char **t = items[i].tags; t && *t; t++) {
                        cleanup_free char *fam = berth_ref_familiarize(*t);
                        json_object_array_add(tags, json_object_new_string(fam));
                        cleanup_ref struct berth_ref *ref = NULL;
                        if (berth_ref_parse(*t, &ref, NULL) == 0 && ref->tag && img->n_layers > 0) {
                                cleanup_free char *fname = berth_ref_familiar_name(ref);
                                json_object *repo = berth_json_get(repos, fname);
                                if (repo == NULL) {
                                        repo = json_object_new_object();
                                        json_object_object_add(repos, fname, repo);
                                }
                                json_object_object_add(
                                    repo, ref->tag,
                                    json_object_new_string(img->layers[img->n_layers - 1].diff_id +
                                                           7));
                        }
                }
                json_object_object_add(entry, "RepoTags",
                                       items[i].tags && items[i].tags[0] ? tags : NULL);
                if (!(items[i].tags && items[i].tags[0]))
                        json_object_put(tags);
                for (size_t l = 0; l < img->n_layers; l++) {
                        const struct berth_image_layer *lay = &img->layers[l];
                        cleanup_free char *dir = xasprintf("%s", lay->diff_id + 7);
                        cleanup_free char *lname =
                            oci_blobs ? xasprintf("blobs/sha256/%s", lay->digest + 7)
                                      : xasprintf("%s/layer.tar", dir);
                        if (!oci_blobs && !store_strv_contains(written, lname)) {
                                r = write_dir(a, dir, err);
                                if (r < 0)
                                        return r;
                                r = write_blob_entry(s, a, lname, lay->digest, true, err);
                                if (r < 0)
                                        return r;
                                store_strv_push(&written, lname);
                        }
                        json_object_array_add(layers, json_object_new_string(lname));
                }
                json_object_object_add(entry, "Layers", layers);
        }
        size_t len;
        cleanup_free char *mfs = berth_json_canonical(mf, &len);
        r = write_entry(a, "manifest.json", mfs, len, err);
        if (r < 0)
                return r;
        if (!oci_blobs) {
                cleanup_free char *rs = berth_json_canonical(repos, &len);
                r = write_entry(a, "repositories", rs, len, err);
        }
        return r;
}

static int save_oci(struct berth_image_store *s, struct archive *a, struct save_item *items,
                    size_t n, berth_error **err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        struct berth_manifest idx = {.kind = BERTH_INDEX_OCI};
        cleanup_strv char **written = xmalloc0(sizeof(char *));
        size_t cap = 0;
        int r;

        r = write_dir(a, "blobs", err);
        if (r >= 0)
                r = write_dir(a, "blobs/sha256", err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct berth_image *img = items[i].img;
                const char *digests[BERTH_IMAGE_MAX_LAYERS + 2];
                size_t nd = 0;
                int64_t msize = 0;
                digests[nd++] = img->manifest_digest;
                digests[nd++] = img->id;
                for (size_t l = 0; l < img->n_layers && nd < BERTH_IMAGE_MAX_LAYERS + 2; l++)
                        digests[nd++] = img->layers[l].digest;
                for (size_t d = 0; d < nd && r >= 0; d++) {
                        cleanup_free char *name = xasprintf("blobs/sha256/%s", digests[d] + 7);
                        if (store_strv_contains(written, name))
                                continue;
                        r = write_blob_entry(s, a, name, digests[d], false, err);
                        store_strv_push(&written, name);
                }
                if (r >= 0)
                        r = berth_blob_size(s, img->manifest_digest, &msize, err);
                size_t ntags = items[i].tags ? berth_strv_len(items[i].tags) : 0;
                for (size_t t = 0; r >= 0 && t < (ntags ? ntags : 1); t++) {
                        if (idx.n_manifests == cap) {
                                cap = cap ? cap * 2 : 8;
                                idx.manifests =
                                    xrealloc(idx.manifests, cap * sizeof(*idx.manifests));
                        }
                        struct berth_descriptor *d = &idx.manifests[idx.n_manifests++];
                        memset(d, 0, sizeof(*d));
                        d->media_type =
                            xstrdup(img->manifest_media_type && *img->manifest_media_type
                                        ? img->manifest_media_type
                                        : BERTH_MT_OCI_MANIFEST);
                        memcpy(d->digest, img->manifest_digest, sizeof(d->digest));
                        d->size = msize;
                        d->ref_name = ntags ? xstrdup(items[i].tags[t]) : NULL;
                }
        }
        if (r >= 0) {
                cleanup_free char *data = NULL;
                size_t len;
                r = berth_manifest_write(&idx, &data, &len, err);
                if (r >= 0)
                        r = write_entry(a, "index.json", data, len, err);
                if (r >= 0)
                        r = write_entry(a, "oci-layout", layout, strlen(layout), err);
        }
        for (size_t i = 0; i < idx.n_manifests; i++)
                berth_descriptor_clear(&idx.manifests[i]);
        free(idx.manifests);
        if (r < 0)
                return r;
        /* A manifest.json too, so that `docker load` takes the same file. */
        return save_docker(s, a, items, n, true, err);
}

int berth_image_save(struct berth_image_store *s, char *const *names, enum berth_archive_format fmt,
                     int fd, berth_error **err)
{
        cleanup_archive_write struct archive *a = archive_write_new();
        size_t n = 0, cap = berth_strv_len(names);
        struct save_item *items = xcalloc(cap ? cap : 1, sizeof(*items));
        int r = 0;

        for (size_t i = 0; names[i] && r >= 0; i++) {
                struct berth_image *img = NULL;
                r = berth_image_get(s, names[i], &img, err);
                if (r < 0)
                        break;
                struct save_item *it = NULL;
                for (size_t j = 0; j < n; j++)
                        if (strcmp(items[j].img->id, img->id) == 0)
                                it = &items[j];
                if (it == NULL) {
                        it = &items[n++];
                        it->img = img;
                        it->tags = xmalloc0(sizeof(char *));
                } else {
                        berth_image_free(img);
                }
                /* A reference saves that tag; an id saves the image untagged. */
                cleanup_ref struct berth_ref *ref = NULL;
                if (berth_ref_parse_normalized(names[i], &ref, NULL) == 0 && ref->digest == NULL) {
                        berth_ref_with_default_tag(ref);
                        cleanup_free char *full = berth_ref_string(ref);
                        if (store_strv_contains(it->img->repo_tags, full) &&
                            !store_strv_contains(it->tags, full))
                                store_strv_push(&it->tags, full);
                }
        }
        if (r >= 0) {
                archive_write_set_format_pax_restricted(a);
                archive_write_set_bytes_per_block(a, 0);
                if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
                        r = berth_fail(err, EIO, "save: %s", archive_error_string(a));
        }
        if (r >= 0)
                r = fmt == BERTH_ARCHIVE_OCI ? save_oci(s, a, items, n, err)
                                             : save_docker(s, a, items, n, false, err);
        if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
                r = berth_fail(err, EIO, "save: %s", archive_error_string(a));
        for (size_t i = 0; i < n; i++) {
                berth_image_free(items[i].img);
                berth_strv_freep(&items[i].tags);
        }
        free(items);
        if (r < 0)
                return berth_error_prefix(err, r, "save");
        return 0;
}
