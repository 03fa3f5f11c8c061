/* SPDX-License-Identifier: Apache-2.0 */
/* Applying a tar layer onto a directory. libarchive only parses the tar
 * stream; every file is created by the code below with *at() calls relative
 * to directory fds, each parent resolved one component at a time with
 * O_NOFOLLOW, so that no entry can write outside the root. */
#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/tarpath.h"
#include "util/xalloc.h"

#define BUF_SIZE         (128 * 1024)
#define MAX_SYMLINK_HOPS 40
#define MAX_WALK_DEPTH   1024

#define WH_PREFIX        ".wh."
#define WH_OPAQUE        ".wh..wh..opq"
#define OVL_OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- The input stream: raw bytes hashed, decompressed, hashed again. ---- */

struct reader {
        int fd;
        berth_layer_read_fn read_fn; /* instead of read(fd) when set */
        void *read_ud;
        enum berth_layer_compression comp;
        /* raw_sha hashes the bytes as read, only for a compressed stream: for
         * a plain one they are the tar, hashed once into tar_sha. NULL when
         * not wanted (BERTH_LAYER_APPLY_NO_RAW_DIGEST). */
        struct berth_sha256 *raw_sha, *tar_sha;
        uint64_t raw_size, tar_size;
        unsigned char *in;
        size_t in_len; /* bytes valid in `in` */
        size_t in_pos; /* bytes consumed from `in` */
        bool in_eof;
        unsigned char *out;
        z_stream z;
        bool z_init, z_end;
        ZSTD_DStream *zs;
        size_t zs_hint; /* last ZSTD_decompressStream() result: 0 at a frame end */
        bool done;
        berth_error *err;
};

static ssize_t reader_raw(struct reader *r, void *buf, size_t len)
{
        if (r->read_fn != NULL)
                return r->read_fn(r->read_ud, buf, len);
        return TEMP_FAILURE_RETRY_INT(read(r->fd, buf, len));
}

static int reader_fill(struct reader *r)
{
        ssize_t n;

        if (r->in_pos < r->in_len || r->in_eof)
                return 0;
        n = reader_raw(r, r->in, BUF_SIZE);
        if (n < 0)
                return berth_fail_errno(&r->err, "read layer stream");
        if (n == 0) {
                r->in_eof = true;
                r->in_len = r->in_pos = 0;
                return 0;
        }
        if (r->raw_sha != NULL && r->comp != BERTH_LAYER_PLAIN)
                berth_sha256_update(r->raw_sha, r->in, (size_t)n);
        r->raw_size += (uint64_t)n;
        r->in_len = (size_t)n;
        r->in_pos = 0;
        return 0;
}

static int reader_init(struct reader *r, enum berth_layer_compression c, unsigned flags)
{
        if (!(flags & BERTH_LAYER_APPLY_NO_RAW_DIGEST))
                r->raw_sha = berth_sha256_new();
        r->tar_sha = berth_sha256_new();
        r->in = xmalloc(BUF_SIZE);
        r->out = xmalloc(BUF_SIZE);
        if (c == BERTH_LAYER_AUTO) {
                /* Sniff the magic: read until 4 bytes or the end. */
                while (!r->in_eof && r->in_len < 4) {
                        ssize_t n = reader_raw(r, r->in + r->in_len, BUF_SIZE - r->in_len);
                        if (n < 0)
                                return berth_fail_errno(&r->err, "read layer stream");
                        if (n == 0)
                                r->in_eof = true;
                        r->raw_size += (uint64_t)n;
                        r->in_len += (size_t)n;
                }
                if (r->in_len >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b)
                        c = BERTH_LAYER_GZIP;
                else if (r->in_len >= 4 && r->in[0] == 0x28 && r->in[1] == 0xb5 &&
                         r->in[2] == 0x2f && r->in[3] == 0xfd)
                        c = BERTH_LAYER_ZSTD;
                else
                        c = BERTH_LAYER_PLAIN;
                /* A stream that ended here is plain; no more reads needed. */
        }
        r->comp = c;
        /* The bytes read so far (the sniffed magic) are still in `in`. */
        if (r->raw_sha != NULL && c != BERTH_LAYER_PLAIN && r->in_len > 0)
                berth_sha256_update(r->raw_sha, r->in, r->in_len);
        if (c == BERTH_LAYER_PLAIN) {
                /* The raw digest is the diffID: hash the bytes once. */
                berth_sha256_free(r->raw_sha);
                r->raw_sha = NULL;
                if (flags & BERTH_LAYER_APPLY_NO_RAW_DIGEST) {
                        /* The caller hashes these very bytes already. */
                        berth_sha256_free(r->tar_sha);
                        r->tar_sha = NULL;
                }
        }
        switch (c) {
        case BERTH_LAYER_GZIP:
                if (inflateInit2(&r->z, 15 + 16) != Z_OK)
                        return berth_fail(&r->err, ENOMEM, "initialise gzip");
                r->z_init = true;
                break;
        case BERTH_LAYER_ZSTD:
                r->zs = ZSTD_createDStream();
                if (r->zs == NULL)
                        return berth_fail(&r->err, ENOMEM, "initialise zstd");
                /* Bound the window like zstd's CLI default. */
                (void)ZSTD_DCtx_setParameter(r->zs, ZSTD_d_windowLogMax, 27);
                break;
        case BERTH_LAYER_PLAIN:
        case BERTH_LAYER_AUTO:
                break;
        }
        return 0;
}

static void reader_free(struct reader *r)
{
        berth_sha256_free(r->raw_sha);
        berth_sha256_free(r->tar_sha);
        free(r->in);
        free(r->out);
        if (r->z_init)
                inflateEnd(&r->z);
        ZSTD_freeDStream(r->zs);
        berth_error_free(r->err);
}

/* Produce the next chunk of the uncompressed stream: returns its length,
 * 0 at the end, or < 0 with r->err filled. */
static ssize_t reader_read(struct reader *r, const void **ret_buf)
{
        int ret;

        if (r->done)
                return 0;
        for (;;) {
                ret = reader_fill(r);
                if (ret < 0)
                        return ret;
                size_t avail = r->in_len - r->in_pos;
                switch (r->comp) {
                case BERTH_LAYER_PLAIN:
                case BERTH_LAYER_AUTO:
                        if (avail == 0) {
                                r->done = true;
                                return 0;
                        }
                        *ret_buf = r->in + r->in_pos;
                        r->in_pos = r->in_len;
                        if (r->tar_sha != NULL)
                                berth_sha256_update(r->tar_sha, *ret_buf, avail);
                        r->tar_size += avail;
                        return (ssize_t)avail;
                case BERTH_LAYER_GZIP: {
                        if (avail == 0) {
                                if (!r->z_end)
                                        return berth_fail(&r->err, 0,
                                                          "truncated gzip stream: the layer "
                                                          "ends before the gzip trailer");
                                r->done = true;
                                return 0;
                        }
                        if (r->z_end) {
                                /* Another gzip member follows. */
                                if (inflateReset(&r->z) != Z_OK)
                                        return berth_fail(&r->err, 0, "corrupt gzip stream");
                                r->z_end = false;
                        }
                        r->z.next_in = r->in + r->in_pos;
                        r->z.avail_in = (uInt)avail;
                        r->z.next_out = r->out;
                        r->z.avail_out = BUF_SIZE;
                        int zr = inflate(&r->z, Z_NO_FLUSH);
                        r->in_pos = r->in_len - r->z.avail_in;
                        if (zr == Z_STREAM_END)
                                r->z_end = true;
                        else if (zr != Z_OK && zr != Z_BUF_ERROR)
                                return berth_fail(&r->err, 0, "corrupt gzip stream: %s",
                                                  r->z.msg ? r->z.msg : "inflate failed");
                        size_t n = BUF_SIZE - r->z.avail_out;
                        if (n == 0)
                                continue;
                        *ret_buf = r->out;
                        berth_sha256_update(r->tar_sha, r->out, n);
                        r->tar_size += n;
                        return (ssize_t)n;
                }
                case BERTH_LAYER_ZSTD: {
                        if (avail == 0) {
                                if (r->zs_hint != 0)
                                        return berth_fail(&r->err, 0,
                                                          "truncated zstd stream: the layer "
                                                          "ends inside a frame");
                                r->done = true;
                                return 0;
                        }
                        ZSTD_inBuffer in = {r->in + r->in_pos, avail, 0};
                        ZSTD_outBuffer out = {r->out, BUF_SIZE, 0};
                        size_t zr = ZSTD_decompressStream(r->zs, &out, &in);
                        if (ZSTD_isError(zr))
                                return berth_fail(&r->err, 0, "corrupt zstd stream: %s",
                                                  ZSTD_getErrorName(zr));
                        r->zs_hint = zr;
                        r->in_pos += in.pos;
                        if (out.pos == 0)
                                continue;
                        *ret_buf = r->out;
                        berth_sha256_update(r->tar_sha, r->out, out.pos);
                        r->tar_size += out.pos;
                        return (ssize_t)out.pos;
                }
                }
        }
}

static la_ssize_t archive_read_cb(struct archive *a, void *data, const void **buf)
{
        struct reader *r = data;
        ssize_t n = reader_read(r, buf);
        if (n < 0) {
                archive_set_error(a, EIO, "%s", r->err ? r->err->msg : "read error");
                return -1;
        }
        return n;
}

/* ---- A set of strings: the paths this layer wrote (for opaque dirs). ---- */

struct strset {
        char **slots;
        size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static void strset_add(struct strset *s, const char *str)
{
        if ((s->n + 1) * 2 > s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 256;
                char **nslots = xcalloc(ncap, sizeof(char *));
                for (size_t i = 0; i < s->cap; i++) {
                        if (s->slots[i] == NULL)
                                continue;
                        size_t j = str_hash(s->slots[i]) & (ncap - 1);
                        while (nslots[j] != NULL)
                                j = (j + 1) & (ncap - 1);
                        nslots[j] = s->slots[i];
                }
                free(s->slots);
                s->slots = nslots;
                s->cap = ncap;
        }
        size_t j = str_hash(str) & (s->cap - 1);
        while (s->slots[j] != NULL) {
                if (strcmp(s->slots[j], str) == 0)
                        return;
                j = (j + 1) & (s->cap - 1);
        }
        s->slots[j] = xstrdup(str);
        s->n++;
}

static bool strset_has(const struct strset *s, const char *str)
{
        if (s->cap == 0)
                return false;
        size_t j = str_hash(str) & (s->cap - 1);
        while (s->slots[j] != NULL) {
                if (strcmp(s->slots[j], str) == 0)
                        return true;
                j = (j + 1) & (s->cap - 1);
        }
        return false;
}

static void strset_free(struct strset *s)
{
        for (size_t i = 0; i < s->cap; i++)
                free(s->slots[i]);
        free(s->slots);
}

/* ---- The applier. ---- */

struct dir_time {
        char *path; /* canonical, relative to the root ("" for the root) */
        struct timespec times[2];
};

struct applier {
        int root;
        unsigned flags;
        struct berth_layer_limits lim;
        /* Cache of the last resolved parent: the entry's parent as named in the
         * tar, its canonical path and an O_PATH fd. Dropped on any removal. */
        char *cache_name;
        char *cache_canon;
        int cache_fd;
        struct strset written;
        struct dir_time *dirs;
        size_t n_dirs, cap_dirs;
        uint64_t unpacked;
        const char *entry; /* the entry being applied, for messages */
};

static void cache_drop(struct applier *ap)
{
        free(ap->cache_name);
        free(ap->cache_canon);
        ap->cache_name = ap->cache_canon = NULL;
        berth_closep(&ap->cache_fd);
}

static int escape_fail(struct applier *ap, berth_error **err, const char *why)
{
        berth_fail(err, 0, "layer entry `%s`: %s", ap->entry, why);
        if (err != NULL && *err != NULL)
                (*err)->status = EPERM;
        return -EPERM;
}

static char *join(const char *a, const char *b)
{
        return a[0] ? xasprintf("%s/%s", a, b) : xstrdup(b);
}

/* Resolve the directory PATH (normalised, relative) inside the root, one
 * component at a time without following anything the kernel would follow:
 * symlinks are followed by us, and refused when they lead out of the root
 * (absolute targets, or more ".." than depth). Missing directories are
 * created when CREATE. Returns an O_PATH fd and the canonical path. */
static int walk_dir(struct applier *ap, const char *path, bool create, int *ret_fd,
                    char **ret_canon, berth_error **err)
{
        cleanup_free char *rest_buf = xstrdup(path);
        cleanup_close int cur = fcntl(ap->root, F_DUPFD_CLOEXEC, 3);
        char **stack = xcalloc(MAX_WALK_DEPTH, sizeof(char *));
        size_t depth = 0;
        int hops = 0, ret = 0;
        char *rest = rest_buf;

        if (cur < 0) {
                ret = berth_fail_errno(err, "dup");
                goto out;
        }
        for (;;) {
                while (*rest == '/')
                        rest++;
                if (*rest == '\0')
                        break;
                char *comp = rest;
                char *slash = strchr(rest, '/');
                if (slash != NULL) {
                        *slash = '\0';
                        rest = slash + 1;
                } else {
                        rest = comp + strlen(comp);
                }
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (depth == 0) {
                                ret = escape_fail(ap, err,
                                                  "a symlink on its path leads out of the "
                                                  "layer root");
                                goto out;
                        }
                        free(stack[--depth]);
                        stack[depth] = NULL;
                        int fd = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0) {
                                ret = berth_fail_errno(err, "layer entry `%s`: open parent",
                                                       ap->entry);
                                goto out;
                        }
                        close(cur);
                        cur = fd;
                        continue;
                }
                struct stat st;
                if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT || !create) {
                                ret = berth_fail_errno(err, "layer entry `%s`: `%s`", ap->entry,
                                                       comp);
                                goto out;
                        }
                        if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
                                ret = berth_fail_errno(err, "layer entry `%s`: mkdir `%s`",
                                                       ap->entry, comp);
                                goto out;
                        }
                        st.st_mode = S_IFDIR;
                }
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        if (++hops > MAX_SYMLINK_HOPS) {
                                ret = berth_fail(err, ELOOP, "layer entry `%s`", ap->entry);
                                goto out;
                        }
                        ssize_t len = readlinkat(cur, comp, target, sizeof(target) - 1);
                        if (len < 0) {
                                ret = berth_fail_errno(err, "layer entry `%s`: readlink `%s`",
                                                       ap->entry, comp);
                                goto out;
                        }
                        target[len] = '\0';
                        if (target[0] == '/') {
                                ret = escape_fail(ap, err,
                                                  "a write through an absolute symlink "
                                                  "leaves the layer root");
                                goto out;
                        }
                        char *nbuf = xasprintf("%s/%s", target, rest);
                        free(rest_buf);
                        rest_buf = nbuf;
                        rest = rest_buf;
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        ret = berth_fail(err, ENOTDIR, "layer entry `%s`: `%s`", ap->entry, comp);
                        goto out;
                }
                if (depth >= MAX_WALK_DEPTH) {
                        ret = berth_fail(err, ENAMETOOLONG, "layer entry `%s`", ap->entry);
                        goto out;
                }
                int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        ret = berth_fail_errno(err, "layer entry `%s`: open `%s`", ap->entry, comp);
                        goto out;
                }
                close(cur);
                cur = fd;
                stack[depth++] = xstrdup(comp);
        }
        {
                size_t len = 0;
                for (size_t i = 0; i < depth; i++)
                        len += strlen(stack[i]) + 1;
                char *canon = xmalloc(len + 1);
                canon[0] = '\0';
                for (size_t i = 0; i < depth; i++) {
                        if (i > 0)
                                strcat(canon, "/");
                        strcat(canon, stack[i]);
                }
                *ret_canon = canon;
                *ret_fd = steal_fd(&cur);
        }
out:
        for (size_t i = 0; i < depth; i++)
                free(stack[i]);
        free(stack);
        return ret;
}

/* The parent of an entry, through the cache. Returns a borrowed fd. */
static int parent_of(struct applier *ap, const char *parent, const char **ret_canon,
                     berth_error **err)
{
        if (ap->cache_name != NULL && strcmp(ap->cache_name, parent) == 0) {
                *ret_canon = ap->cache_canon;
                return ap->cache_fd;
        }
        cache_drop(ap);
        int fd;
        char *canon;
        int ret = walk_dir(ap, parent, true, &fd, &canon, err);
        if (ret < 0)
                return ret;
        ap->cache_name = xstrdup(parent);
        ap->cache_canon = canon;
        ap->cache_fd = fd;
        *ret_canon = canon;
        return fd;
}

/* Opaque directory on a flat tree: remove everything below DIRFD that this
 * layer did not write. */
static int clear_lower(struct applier *ap, int dfd, const char *canon, berth_error **err)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", canon);
        cleanup_closedir DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return berth_fail_errno(err, "opendir `%s`", canon);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                cleanup_free char *p = join(canon, de->d_name);
                int ret;
                if (!strset_has(&ap->written, p)) {
                        ret = berth_rm_rf_at(dirfd(d), de->d_name, err);
                } else {
                        struct stat st;
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                            !S_ISDIR(st.st_mode))
                                continue;
                        cleanup_close int sub = openat(
                            dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                return berth_fail_errno(err, "open `%s`", p);
                        ret = clear_lower(ap, sub, p, err);
                }
                if (ret < 0)
                        return ret;
        }
        return 0;
}

static int apply_xattrs(struct applier *ap, int fd, struct archive_entry *e, berth_error **err)
{
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                /* Overlay's own attributes are never taken from a tar. */
                if (strncmp(name, "trusted.overlay.", 16) == 0)
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        if (errno == EOPNOTSUPP)
                                continue;
                        return berth_fail_errno(err, "layer entry `%s`: set xattr `%s`", ap->entry,
                                                name);
                }
        }
        return 0;
}

void berth_tar_entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
                ts[0].tv_sec = archive_entry_atime(e);
                ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
                ts[0] = ts[1];
        }
}

/* Owner, mode (after the owner: chown clears setuid), xattrs (after the
 * owner: chown clears security.capability) of an opened file or dir. */
static int apply_meta_fd(struct applier *ap, int fd, struct archive_entry *e, berth_error **err)
{
        if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
                return berth_fail_errno(err, "layer entry `%s`: chown", ap->entry);
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return berth_fail_errno(err, "layer entry `%s`: chmod", ap->entry);
        return apply_xattrs(ap, fd, e, err);
}

static void defer_dir_time(struct applier *ap, const char *canon, struct archive_entry *e)
{
        if (ap->n_dirs == ap->cap_dirs) {
                ap->cap_dirs = ap->cap_dirs ? ap->cap_dirs * 2 : 64;
                ap->dirs = xrealloc(ap->dirs, ap->cap_dirs * sizeof(*ap->dirs));
        }
        struct dir_time *d = &ap->dirs[ap->n_dirs++];
        d->path = xstrdup(canon);
        berth_tar_entry_times(e, d->times);
}

static int write_data(struct applier *ap, struct archive *a, int fd, struct archive_entry *e,
                      berth_error **err)
{
        const void *buf;
        size_t len;
        la_int64_t off;
        int64_t size = archive_entry_size(e);

        if (size < 0 || (uint64_t)size > ap->lim.max_entry_size)
                return berth_fail(err, EFBIG, "layer entry `%s`: %lld bytes is over the limit",
                                  ap->entry, (long long)size);
        if (ap->unpacked + (uint64_t)size > ap->lim.max_total_size)
                return berth_fail(err, EFBIG, "layer entry `%s`: the layer is over the size limit",
                                  ap->entry);
        uint64_t end = 0; /* where the data written so far ends */
        for (;;) {
                int r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return berth_fail(err, 0, "layer entry `%s`: %s", ap->entry,
                                          archive_error_string(a));
                if ((uint64_t)off + len > (uint64_t)size)
                        return berth_fail(err, 0, "layer entry `%s`: data past its size",
                                          ap->entry);
                const char *p = buf;
                while (len > 0) {
                        ssize_t n = TEMP_FAILURE_RETRY_INT(pwrite(fd, p, len, off));
                        if (n < 0)
                                return berth_fail_errno(err, "layer entry `%s`: write", ap->entry);
                        p += n;
                        off += n;
                        len -= (size_t)n;
                }
                if ((uint64_t)off > end)
                        end = (uint64_t)off;
        }
        /* Sparse files: holes at the end. The file is new (O_EXCL), so
         * when the data reached SIZE there is nothing to do. */
        if (end != (uint64_t)size && ftruncate(fd, size) < 0)
                return berth_fail_errno(err, "layer entry `%s`: truncate", ap->entry);
        ap->unpacked += (uint64_t)size;
        return 0;
}

static int apply_whiteout(struct applier *ap, int pfd, const char *pcanon, const char *base,
                          struct archive_entry *e, berth_error **err)
{
        if (strcmp(base, WH_OPAQUE) == 0) {
                if (ap->flags & BERTH_LAYER_APPLY_OVERLAY) {
                        cleanup_close int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0 || fsetxattr(fd, OVL_OPAQUE_XATTR, "y", 1, 0) < 0)
                                return berth_fail_errno(err, "layer entry `%s`: mark opaque",
                                                        ap->entry);
                        return 0;
                }
                /* Only children of the parent go: the cached parent stays valid. */
                return clear_lower(ap, pfd, pcanon, err);
        }
        if (strncmp(base, WH_PREFIX WH_PREFIX, 8) == 0)
                return 0; /* other aufs metadata (.wh..wh.plnk ...) is ignored */
        const char *victim = base + strlen(WH_PREFIX);
        if (victim[0] == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
                return escape_fail(ap, err, "invalid whiteout");
        int ret = berth_rm_rf_at(pfd, victim, err);
        if (ret < 0)
                return berth_error_prefix(err, ret, "layer entry `%s`", ap->entry);
        if (ap->flags & BERTH_LAYER_APPLY_OVERLAY) {
                struct timespec ts[2];
                berth_tar_entry_times(e, ts);
                if (mknodat(pfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0 ||
                    fchownat(pfd, victim, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                             AT_SYMLINK_NOFOLLOW) < 0 ||
                    fchmodat(pfd, victim, archive_entry_perm(e) & 0777, 0) < 0 ||
                    utimensat(pfd, victim, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: create whiteout",
                                                ap->entry);
        }
        return 0;
}

/* BASE is in the way of a new entry: remove it, unless KEEP_DIR and it is a
 * directory (*ret_kept is then true). A child of the cached parent: the
 * cache stays valid. */
static int make_way(struct applier *ap, int pfd, const char *base, bool keep_dir, bool *ret_kept,
                    berth_error **err)
{
        struct stat st;
        *ret_kept = false;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return berth_fail_errno(err, "layer entry `%s`: stat", ap->entry);
        }
        if (keep_dir && S_ISDIR(st.st_mode)) {
                *ret_kept = true;
                return 0;
        }
        int ret = berth_rm_rf_at(pfd, base, err);
        if (ret < 0)
                return berth_error_prefix(err, ret, "layer entry `%s`", ap->entry);
        return 0;
}

static int apply_entry(struct applier *ap, struct archive *a, struct archive_entry *e,
                       berth_error **err)
{
        const char *raw = archive_entry_pathname(e);
        if (raw == NULL)
                return berth_fail(err, 0, "layer entry without a name");
        ap->entry = raw;
        if (strlen(raw) > ap->lim.max_path)
                return berth_fail(err, ENAMETOOLONG, "layer entry `%.64s...`", raw);

        cleanup_free char *name = berth_tar_name_normalise(raw);
        if (name == NULL)
                return escape_fail(ap, err, "path escapes the layer root");

        mode_t type = archive_entry_filetype(e);
        const char *hardlink = archive_entry_hardlink(e);

        if (name[0] == '\0') {
                /* The root itself ("./"): only its metadata. */
                if (hardlink != NULL || type != AE_IFDIR)
                        return berth_fail(err, EINVAL, "layer entry `%s`: not a directory", raw);
                cleanup_close int fd = openat(ap->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "open the layer root");
                int ret = apply_meta_fd(ap, fd, e, err);
                if (ret < 0)
                        return ret;
                defer_dir_time(ap, "", e);
                return 0;
        }

        char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        cleanup_free char *parent = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
        const char *pcanon;
        int pfd = parent_of(ap, parent, &pcanon, err);
        if (pfd < 0)
                return pfd;

        if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
                return apply_whiteout(ap, pfd, pcanon, base, e, err);

        cleanup_free char *canon = join(pcanon, base);
        if (!(ap->flags & BERTH_LAYER_APPLY_OVERLAY))
                strset_add(&ap->written, canon);

        /* Whatever is there goes, unless both are directories. A hardlink
         * clears the way before its target is resolved; the other types
         * try their create first and look only on EEXIST (make_way), which
         * spares a stat per entry when, as usual, nothing is in the way. */
        bool exists = false;
        if (hardlink != NULL) {
                int ret = make_way(ap, pfd, base, false, &exists, err);
                if (ret < 0)
                        return ret;
        }

        if (hardlink != NULL) {
                cleanup_free char *tname = berth_tar_name_normalise(hardlink);
                if (tname == NULL || tname[0] == '\0')
                        return escape_fail(ap, err, "hardlink target escapes the layer root");
                char *tslash = strrchr(tname, '/');
                const char *tbase = tslash ? tslash + 1 : tname;
                cleanup_free char *tparent =
                    tslash ? xstrndup(tname, (size_t)(tslash - tname)) : xstrdup("");
                cleanup_close int tfd = -1;
                cleanup_free char *tcanon = NULL;
                int ret = walk_dir(ap, tparent, false, &tfd, &tcanon, err);
                if (ret < 0)
                        return ret;
                struct stat tst;
                if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: hardlink target `%s`", raw,
                                                hardlink);
                if (S_ISDIR(tst.st_mode))
                        return berth_fail(err, EPERM,
                                          "layer entry `%s`: hardlink to directory `%s`", raw,
                                          hardlink);
                if (linkat(tfd, tbase, pfd, base, 0) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: link to `%s`", raw,
                                                hardlink);
                return 0;
        }

        struct timespec ts[2];
        berth_tar_entry_times(e, ts);
        switch (type) {
        case AE_IFDIR: {
                if (mkdirat(pfd, base, 0700) < 0) {
                        int ret = errno == EEXIST
                                      ? make_way(ap, pfd, base, true, &exists, err)
                                      : berth_fail_errno(err, "layer entry `%s`: mkdir", raw);
                        if (ret < 0)
                                return ret;
                        if (!exists && mkdirat(pfd, base, 0700) < 0)
                                return berth_fail_errno(err, "layer entry `%s`: mkdir", raw);
                }
                cleanup_close int fd =
                    openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "layer entry `%s`: open", raw);
                int ret = apply_meta_fd(ap, fd, e, err);
                if (ret < 0)
                        return ret;
                defer_dir_time(ap, canon, e);
                return 0;
        }
        case AE_IFREG: {
                const int oflags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
                cleanup_close int fd = openat(pfd, base, oflags, 0600);
                if (fd < 0 && errno == EEXIST) {
                        int ret = make_way(ap, pfd, base, false, &exists, err);
                        if (ret < 0)
                                return ret;
                        fd = openat(pfd, base, oflags, 0600);
                }
                if (fd < 0)
                        return berth_fail_errno(err, "layer entry `%s`: create", raw);
                int ret = write_data(ap, a, fd, e, err);
                if (ret < 0)
                        return ret;
                ret = apply_meta_fd(ap, fd, e, err);
                if (ret < 0)
                        return ret;
                if (futimens(fd, ts) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: set times", raw);
                return 0;
        }
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                if (target == NULL || target[0] == '\0')
                        return berth_fail(err, EINVAL, "layer entry `%s`: empty symlink", raw);
                if (symlinkat(target, pfd, base) < 0) {
                        int ret = errno == EEXIST
                                      ? make_way(ap, pfd, base, false, &exists, err)
                                      : berth_fail_errno(err, "layer entry `%s`: symlink", raw);
                        if (ret < 0)
                                return ret;
                        if (symlinkat(target, pfd, base) < 0)
                                return berth_fail_errno(err, "layer entry `%s`: symlink", raw);
                }
                if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                             AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: chown", raw);
                if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: set times", raw);
                return 0;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
                dev_t dev = type == AE_IFIFO
                                ? 0
                                : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
                if (mknodat(pfd, base, type | 0600, dev) < 0) {
                        int ret = errno == EEXIST
                                      ? make_way(ap, pfd, base, false, &exists, err)
                                      : berth_fail_errno(err, "layer entry `%s`: mknod", raw);
                        if (ret < 0)
                                return ret;
                        if (mknodat(pfd, base, type | 0600, dev) < 0)
                                return berth_fail_errno(err, "layer entry `%s`: mknod", raw);
                }
                if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                             AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: chown", raw);
                /* A node just made by us, not a symlink: fchmodat is safe. */
                if (fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: chmod", raw);
                if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "layer entry `%s`: set times", raw);
                return 0;
        }
        case AE_IFSOCK:
                return 0; /* sockets are not carried by layers */
        default:
                return berth_fail(err, EINVAL, "layer entry `%s`: unsupported type %o", raw,
                                  (unsigned)type);
        }
}

static int finish_dir_times(struct applier *ap, berth_error **err)
{
        /* Last entries first, so that a parent named before its children
         * gets its time after theirs. */
        for (size_t i = ap->n_dirs; i-- > 0;) {
                struct dir_time *d = &ap->dirs[i];
                cleanup_close int fd =
                    d->path[0] ? berth_open_in_root(ap->root, d->path,
                                                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, NULL)
                               : openat(ap->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue; /* removed by a later whiteout */
                if (futimens(fd, d->times) < 0)
                        return berth_fail_errno(err, "set times of `%s`", d->path);
        }
        return 0;
}

static void archive_freep(struct archive **a)
{
        if (*a != NULL)
                archive_read_free(*a);
}

static int apply_reader(int dirfd, struct reader *rp, enum berth_layer_compression c,
                        unsigned flags, const struct berth_layer_limits *limits,
                        struct berth_layer_apply_stats *ret, berth_error **err);

int berth_layer_apply_limits(int dirfd, int tar_fd, enum berth_layer_compression c, unsigned flags,
                             const struct berth_layer_limits *limits,
                             struct berth_layer_apply_stats *ret, berth_error **err)
{
        struct reader r = {.fd = tar_fd};
        return apply_reader(dirfd, &r, c, flags, limits, ret, err);
}

int berth_layer_apply_stream(int dirfd, berth_layer_read_fn fn, void *ud,
                             enum berth_layer_compression c, unsigned flags,
                             const struct berth_layer_limits *limits,
                             struct berth_layer_apply_stats *ret, berth_error **err)
{
        struct reader r = {.fd = -1, .read_fn = fn, .read_ud = ud};
        return apply_reader(dirfd, &r, c, flags, limits, ret, err);
}

static int apply_reader(int dirfd, struct reader *rp, enum berth_layer_compression c,
                        unsigned flags, const struct berth_layer_limits *limits,
                        struct berth_layer_apply_stats *ret, berth_error **err)
{
        struct reader r = *rp;
        struct applier ap = {.root = dirfd, .flags = flags, .cache_fd = -1};
        __attribute__((cleanup(archive_freep))) struct archive *a = NULL;
        uint64_t entries = 0;
        int res;

        if (limits != NULL)
                ap.lim = *limits;
        if (ap.lim.max_entries == 0)
                ap.lim.max_entries = 1000000;
        if (ap.lim.max_path == 0)
                ap.lim.max_path = 4096;
        if (ap.lim.max_entry_size == 0)
                ap.lim.max_entry_size = 64ULL << 30;
        if (ap.lim.max_total_size == 0)
                ap.lim.max_total_size = 256ULL << 30;

        res = reader_init(&r, c, flags);
        if (res < 0)
                goto out_reader;

        a = archive_read_new();
        archive_read_support_format_tar(a);
        if (archive_read_open(a, &r, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
                if (r.err == NULL && r.tar_size == 0)
                        berth_fail(err, 0, "layer: empty stream");
                else if (r.err == NULL)
                        berth_fail(err, 0, "layer: not a tar stream: %s", archive_error_string(a));
                res = -EIO;
                goto out_reader;
        }
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        if (r.err != NULL)
                                goto out_reader;
                        berth_fail(err, 0, "layer: corrupt tar stream after %llu entries: %s",
                                   (unsigned long long)entries, archive_error_string(a));
                        res = -EIO;
                        goto out;
                }
                if (++entries > ap.lim.max_entries) {
                        res = berth_fail(err, E2BIG, "layer: more than %llu entries",
                                         (unsigned long long)ap.lim.max_entries);
                        goto out;
                }
                if (ap.lim.set_owner) {
                        archive_entry_set_uid(e, ap.lim.uid);
                        archive_entry_set_gid(e, ap.lim.gid);
                }
                res = apply_entry(&ap, a, e, err);
                if (res < 0) {
                        if (r.err != NULL) {
                                /* The stream failed while reading file data. */
                                if (err != NULL && *err != NULL) {
                                        berth_error_free(*err);
                                        *err = NULL;
                                }
                                goto out_reader;
                        }
                        goto out;
                }
        }
        /* Read what follows the end-of-archive blocks, so that the digests
         * cover the whole stream and the compressed trailer is checked. */
        for (;;) {
                const void *buf;
                ssize_t n = reader_read(&r, &buf);
                if (n < 0)
                        goto out_reader;
                if (n == 0)
                        break;
        }
        if (entries == 0 && r.tar_size == 0) {
                berth_fail(err, 0, "layer: empty stream");
                res = -EIO;
                goto out;
        }
        res = finish_dir_times(&ap, err);
        if (res < 0)
                goto out;
        if (ret != NULL) {
                ret->diff_id[0] = ret->digest[0] = '\0';
                if (r.tar_sha != NULL)
                        berth_sha256_final(r.tar_sha, ret->diff_id);
                if (r.raw_sha != NULL)
                        berth_sha256_final(r.raw_sha, ret->digest);
                else if (r.comp == BERTH_LAYER_PLAIN && !(flags & BERTH_LAYER_APPLY_NO_RAW_DIGEST))
                        memcpy(ret->digest, ret->diff_id, BERTH_DIGEST_STR_LEN);
                ret->size = r.raw_size;
                ret->unpacked_size = ap.unpacked;
                ret->entries = entries;
        }
        res = 0;
        goto out;
out_reader:
        if (r.err != NULL) {
                res = berth_fail(err, 0, "layer: %s", r.err->msg);
                if (err != NULL && *err != NULL)
                        (*err)->status = r.err->status > 0 ? r.err->status : EIO;
                res = r.err->status > 0 ? -r.err->status : -EIO;
        } else {
                res = berth_fail(err, EIO, "layer: %s",
                                 a != NULL ? archive_error_string(a) : "read error");
        }
out:
        cache_drop(&ap);
        strset_free(&ap.written);
        for (size_t i = 0; i < ap.n_dirs; i++)
                free(ap.dirs[i].path);
        free(ap.dirs);
        reader_free(&r);
        return res;
}

int berth_layer_apply(int dirfd, int tar_fd, enum berth_layer_compression c, unsigned flags,
                      struct berth_layer_apply_stats *ret, berth_error **err)
{
        return berth_layer_apply_limits(dirfd, tar_fd, c, flags, NULL, ret, err);
}
