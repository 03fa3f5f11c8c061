/* SPDX-License-Identifier: Apache-2.0 */
/* The content store: blobs/sha256/<hex>, written through a verifying writer
 * (digest and size are checked before the atomic rename into place). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "store-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int berth_image_store_open(const char *data_root, struct berth_image_store **ret, berth_error **err)
{
        static const char *const dirs[] = {"blobs/sha256", "blobs/.tmp", "images/records",
                                           "images/holds", "layers"};
        struct berth_image_store *s;
        int r;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                cleanup_free char *p = xasprintf("%s/%s", data_root, dirs[i]);
                r = berth_mkdir_p(p, 0700, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "open image store in `%s`", data_root);
        }
        s = xmalloc0(sizeof(*s));
        s->root = xstrdup(data_root);
        s->lock_fd = -1;
        {
                pthread_mutexattr_t a;
                pthread_mutexattr_init(&a);
                pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
                pthread_mutex_init(&s->mutex, &a);
                pthread_mutexattr_destroy(&a);
        }
        s->blobs_dir = xasprintf("%s/blobs/sha256", data_root);
        s->tmp_dir = xasprintf("%s/blobs/.tmp", data_root);
        s->images_dir = xasprintf("%s/images", data_root);
        s->layers_dir = xasprintf("%s/layers", data_root);
        *ret = s;
        return 0;
}

void berth_image_store_free(struct berth_image_store *s)
{
        if (s == NULL)
                return;
        store_prepared_clear(s);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        pthread_mutex_destroy(&s->mutex);
        free(s->root);
        free(s->blobs_dir);
        free(s->tmp_dir);
        free(s->images_dir);
        free(s->layers_dir);
        free(s);
}

const char *berth_image_store_root(const struct berth_image_store *s)
{
        return s->root;
}

int berth_image_store_lock(struct berth_image_store *s, berth_error **err)
{
        pthread_mutex_lock(&s->mutex);
        if (s->lock_depth > 0) {
                s->lock_depth++;
                return 0;
        }
        if (s->lock_fd < 0) {
                cleanup_free char *p = xasprintf("%s/.lock", s->images_dir);
                s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (s->lock_fd < 0) {
                        int r = berth_fail_errno(err, "open `%s`", p);
                        pthread_mutex_unlock(&s->mutex);
                        return r;
                }
        }
        if (TEMP_FAILURE_RETRY_INT(flock(s->lock_fd, LOCK_EX)) < 0) {
                int r = berth_fail_errno(err, "lock the image store");
                pthread_mutex_unlock(&s->mutex);
                return r;
        }
        s->lock_depth = 1;
        return 0;
}

/* Only the thread holding the lock may unlock it: an unlock from another
 * thread (or one too many) finds the mutex not its own and does nothing. */
void berth_image_store_unlock(struct berth_image_store *s)
{
        if (pthread_mutex_trylock(&s->mutex) != 0)
                return; /* another thread holds it: not ours to release */
        if (s->lock_depth == 0) {
                pthread_mutex_unlock(&s->mutex);
                return;
        }
        if (--s->lock_depth == 0)
                (void)flock(s->lock_fd, LOCK_UN);
        pthread_mutex_unlock(&s->mutex); /* the trylock */
        pthread_mutex_unlock(&s->mutex); /* the lock being released */
}

char *berth_blob_path(const struct berth_image_store *s, const char *digest)
{
        const char *hex = strchr(digest, ':');
        return xasprintf("%s/%s", s->blobs_dir, hex ? hex + 1 : digest);
}

struct berth_blob_writer {
        struct berth_image_store *store;
        int fd;
        char *tmp_path;
        struct berth_sha256 *sha;
        int64_t size;
        int64_t expected_size;
        char *expected;
        bool failed;
        /* O_DIRECT staging (store_blob_writer_direct): whole aligned
         * blocks go to the disk without passing through the page cache. */
        char *dbuf;
        size_t dlen;
};

#define DIRECT_ALIGN 4096
#define DIRECT_BUF   (1 << 20)

void store_blob_writer_direct(struct berth_blob_writer *w)
{
        int fl = fcntl(w->fd, F_GETFL);
        if (w->dbuf != NULL || fl < 0 || fcntl(w->fd, F_SETFL, fl | O_DIRECT) < 0)
                return;
        if (posix_memalign((void **)&w->dbuf, DIRECT_ALIGN, DIRECT_BUF) != 0) {
                w->dbuf = NULL;
                (void)fcntl(w->fd, F_SETFL, fl);
        }
}

/* Write the staged bytes: the whole blocks with O_DIRECT, and with FINAL
 * the tail too, after O_DIRECT is cleared. A file system that refuses
 * O_DIRECT writes gets buffered ones. */
static int direct_flush(struct berth_blob_writer *w, bool final)
{
        size_t whole = w->dlen & ~(size_t)(DIRECT_ALIGN - 1);
        int fl = fcntl(w->fd, F_GETFL);
        if (fl < 0)
                return -1;
        if (whole > 0 && (fl & O_DIRECT)) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(write(w->fd, w->dbuf, whole));
                if (n < 0 && errno != EINVAL)
                        return -1;
                if (n < 0) {
                        whole = 0; /* no O_DIRECT here: write them buffered */
                } else if ((size_t)n != whole) {
                        errno = EIO;
                        return -1;
                }
        }
        if (whole > 0) {
                memmove(w->dbuf, w->dbuf + whole, w->dlen - whole);
                w->dlen -= whole;
        }
        if (!final && w->dlen < DIRECT_ALIGN)
                return 0;
        if ((fl & O_DIRECT) && fcntl(w->fd, F_SETFL, fl & ~O_DIRECT) < 0)
                return -1;
        if (berth_write_all(w->fd, w->dbuf, w->dlen) < 0)
                return -1;
        w->dlen = 0;
        free(w->dbuf);
        w->dbuf = NULL;
        return 0;
}

int berth_blob_writer_new(struct berth_image_store *s, const char *expected_digest,
                          int64_t expected_size, struct berth_blob_writer **ret, berth_error **err)
{
        struct berth_blob_writer *w;
        cleanup_free char *tmpl = NULL;
        int fd;

        if (expected_digest != NULL) {
                int r = berth_digest_check(expected_digest, "expected blob digest", err);
                if (r < 0)
                        return r;
        }
        tmpl = xasprintf("%s/blob-XXXXXX", s->tmp_dir);
        fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "create a temporary blob in `%s`", s->tmp_dir);
        w = xmalloc0(sizeof(*w));
        w->store = s;
        w->fd = fd;
        w->tmp_path = steal_pointer(&tmpl);
        w->sha = berth_sha256_new();
        w->expected_size = expected_size;
        w->expected = expected_digest ? xstrdup(expected_digest) : NULL;
        *ret = w;
        return 0;
}

int berth_blob_writer_write(struct berth_blob_writer *w, const void *buf, size_t len,
                            berth_error **err)
{
        if (w->failed)
                return berth_fail(err, EIO, "write blob: an earlier write failed");
        if (w->expected_size >= 0 && w->size + (int64_t)len > w->expected_size) {
                w->failed = true;
                return berth_fail(err, EINVAL, "blob %s is larger than its announced size %lld",
                                  w->expected ? w->expected : "", (long long)w->expected_size);
        }
        berth_sha256_update(w->sha, buf, len);
        w->size += (int64_t)len;
        const char *p = buf;
        while (w->dbuf != NULL && len > 0) {
                size_t n = DIRECT_BUF - w->dlen < len ? DIRECT_BUF - w->dlen : len;
                memcpy(w->dbuf + w->dlen, p, n);
                w->dlen += n;
                p += n;
                len -= n;
                if (w->dlen == DIRECT_BUF && direct_flush(w, false) < 0) {
                        w->failed = true;
                        return berth_fail_errno(err, "write `%s`", w->tmp_path);
                }
        }
        if (len > 0 && berth_write_all(w->fd, p, len) < 0) {
                w->failed = true;
                return berth_fail_errno(err, "write `%s`", w->tmp_path);
        }
        return 0;
}

int64_t berth_blob_writer_size(const struct berth_blob_writer *w)
{
        return w->size;
}

int berth_blob_writer_commit(struct berth_blob_writer *w, char ret_digest[BERTH_DIGEST_STR_LEN],
                             bool *ret_created, berth_error **err)
{
        char digest[BERTH_DIGEST_STR_LEN];
        cleanup_free char *path = NULL;
        struct stat st;
        bool created = false;

        if (w->failed)
                return berth_fail(err, EIO, "commit blob: an earlier write failed");
        if (w->dbuf != NULL && direct_flush(w, true) < 0) {
                w->failed = true;
                return berth_fail_errno(err, "write `%s`", w->tmp_path);
        }
        berth_sha256_final(w->sha, digest);
        berth_sha256_free(w->sha);
        w->sha = NULL;
        w->failed = true; /* the writer is spent from here on */
        if (w->expected != NULL && strcmp(digest, w->expected) != 0)
                return berth_fail(err, EINVAL,
                                  "blob digest mismatch: expected %s, got %s (the content is "
                                  "corrupt or truncated)",
                                  w->expected, digest);
        if (w->expected_size >= 0 && w->size != w->expected_size)
                return berth_fail(err, EINVAL, "blob %s has %lld bytes, expected %lld", digest,
                                  (long long)w->size, (long long)w->expected_size);
        path = berth_blob_path(w->store, digest);
        if (stat(path, &st) < 0) {
                if (fsync(w->fd) < 0)
                        return berth_fail_errno(err, "fsync `%s`", w->tmp_path);
                if (fchmod(w->fd, 0444) < 0)
                        return berth_fail_errno(err, "chmod `%s`", w->tmp_path);
                if (rename(w->tmp_path, path) < 0)
                        return berth_fail_errno(err, "rename blob into `%s`", path);
                free(w->tmp_path);
                w->tmp_path = NULL;
                int dfd = open(w->store->blobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0) {
                        (void)fsync(dfd);
                        close(dfd);
                }
                created = true;
        }
        if (ret_digest != NULL)
                memcpy(ret_digest, digest, BERTH_DIGEST_STR_LEN);
        if (ret_created != NULL)
                *ret_created = created;
        return 0;
}

void berth_blob_writer_free(struct berth_blob_writer *w)
{
        if (w == NULL)
                return;
        if (w->fd >= 0)
                close(w->fd);
        if (w->tmp_path != NULL)
                (void)unlink(w->tmp_path);
        free(w->tmp_path);
        berth_sha256_free(w->sha);
        free(w->expected);
        free(w->dbuf);
        free(w);
}

int berth_blob_put(struct berth_image_store *s, const void *data, size_t len,
                   const char *expected_digest, char ret_digest[BERTH_DIGEST_STR_LEN],
                   berth_error **err)
{
        cleanup_blob_writer struct berth_blob_writer *w = NULL;
        int r = berth_blob_writer_new(s, expected_digest, -1, &w, err);
        if (r < 0)
                return r;
        r = berth_blob_writer_write(w, data, len, err);
        if (r < 0)
                return r;
        return berth_blob_writer_commit(w, ret_digest, NULL, err);
}

int berth_blob_put_fd(struct berth_image_store *s, int fd, const char *expected_digest,
                      int64_t expected_size, char ret_digest[BERTH_DIGEST_STR_LEN],
                      berth_error **err)
{
        cleanup_blob_writer struct berth_blob_writer *w = NULL;
        cleanup_free char *buf = xmalloc(1 << 20);
        int r = berth_blob_writer_new(s, expected_digest, expected_size, &w, err);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(read(fd, buf, 1 << 20));
                if (n < 0)
                        return berth_fail_errno(err, "read blob content");
                if (n == 0)
                        break;
                r = berth_blob_writer_write(w, buf, (size_t)n, err);
                if (r < 0)
                        return r;
        }
        return berth_blob_writer_commit(w, ret_digest, NULL, err);
}

bool berth_blob_exists(struct berth_image_store *s, const char *digest)
{
        cleanup_free char *p = NULL;
        if (!berth_digest_valid(digest))
                return false;
        p = berth_blob_path(s, digest);
        return access(p, F_OK) == 0;
}

int berth_blob_open(struct berth_image_store *s, const char *digest, berth_error **err)
{
        cleanup_free char *p = NULL;
        int r = berth_digest_check(digest, "blob digest", err);
        if (r < 0)
                return r;
        p = berth_blob_path(s, digest);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "blob %s is missing from the store", digest);
        return fd;
}

int berth_blob_size(struct berth_image_store *s, const char *digest, int64_t *ret,
                    berth_error **err)
{
        cleanup_free char *p = NULL;
        struct stat st;
        int r = berth_digest_check(digest, "blob digest", err);
        if (r < 0)
                return r;
        p = berth_blob_path(s, digest);
        if (stat(p, &st) < 0)
                return berth_fail_errno(err, "blob %s is missing from the store", digest);
        *ret = st.st_size;
        return 0;
}

int berth_blob_read(struct berth_image_store *s, const char *digest, size_t max, char **ret,
                    size_t *ret_len, berth_error **err)
{
        cleanup_close int fd = berth_blob_open(s, digest, err);
        cleanup_free char *buf = NULL;
        char actual[BERTH_DIGEST_STR_LEN];
        struct stat st;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return berth_fail_errno(err, "stat blob %s", digest);
        if ((uint64_t)st.st_size > max)
                return berth_fail(err, EFBIG, "blob %s is %lld bytes, more than the %zu allowed",
                                  digest, (long long)st.st_size, max);
        buf = xmalloc((size_t)st.st_size + 1);
        ssize_t n = berth_read_all(fd, buf, (size_t)st.st_size);
        if (n != st.st_size)
                return berth_fail(err, n < 0 ? errno : EIO, "read blob %s", digest);
        buf[n] = '\0';
        berth_sha256_digest(buf, (size_t)n, actual);
        if (strcmp(actual, digest) != 0)
                return berth_fail(err, EIO,
                                  "blob %s is corrupt on disk (its content has digest %s); run "
                                  "`berth image check`",
                                  digest, actual);
        *ret = steal_pointer(&buf);
        *ret_len = (size_t)n;
        return 0;
}

int berth_blob_delete(struct berth_image_store *s, const char *digest, berth_error **err)
{
        cleanup_free char *p = NULL;
        int r = berth_digest_check(digest, "blob digest", err);
        if (r < 0)
                return r;
        p = berth_blob_path(s, digest);
        if (unlink(p) < 0 && errno != ENOENT)
                return berth_fail_errno(err, "remove blob `%s`", p);
        return 0;
}
