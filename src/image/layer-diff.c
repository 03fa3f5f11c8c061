/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a tree as a tar layer: the diff of an overlay upper dir (commit,
 * build) and the plain export of a container's filesystem. The output is
 * deterministic, and compressed while both digests are computed. */
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
#include "util/strutil.h"
#include "util/xalloc.h"

#define BUF_SIZE           (128 * 1024)
#define MAX_DEPTH          1024
#define XATTR_LIST_MAX_LEN 65536

/* ---- Output: tar bytes hashed, compressed, hashed again, written. ---- */

struct writer {
        int fd;
        enum berth_layer_compression comp;
        struct berth_sha256 *tar_sha, *out_sha;
        uint64_t tar_size, out_size;
        z_stream z;
        bool z_init;
        ZSTD_CCtx *zc;
        unsigned char *buf;
        bool aborted; /* after a failure: swallow libarchive's final flush */
        berth_error *err;
};

static int emit(struct writer *w, const void *data, size_t len)
{
        if (len == 0)
                return 0;
        int r = berth_write_all(w->fd, data, len);
        if (r < 0)
                return berth_fail(&w->err, -r, "write layer");
        berth_sha256_update(w->out_sha, data, len);
        w->out_size += len;
        return 0;
}

static int writer_push(struct writer *w, const void *data, size_t len, bool finish)
{
        int ret;

        berth_sha256_update(w->tar_sha, data, len);
        w->tar_size += len;
        switch (w->comp) {
        case BERTH_LAYER_PLAIN:
        case BERTH_LAYER_AUTO:
                return emit(w, data, len);
        case BERTH_LAYER_GZIP:
                w->z.next_in = (unsigned char *)(uintptr_t)data;
                w->z.avail_in = (uInt)len;
                for (;;) {
                        w->z.next_out = w->buf;
                        w->z.avail_out = BUF_SIZE;
                        int zr = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
                        if (zr == Z_STREAM_ERROR)
                                return berth_fail(&w->err, 0, "gzip compression failed");
                        ret = emit(w, w->buf, BUF_SIZE - w->z.avail_out);
                        if (ret < 0)
                                return ret;
                        if (finish ? zr == Z_STREAM_END
                                   : (w->z.avail_in == 0 && w->z.avail_out != 0))
                                return 0;
                }
        case BERTH_LAYER_ZSTD: {
                ZSTD_inBuffer in = {data, len, 0};
                for (;;) {
                        ZSTD_outBuffer out = {w->buf, BUF_SIZE, 0};
                        size_t zr = ZSTD_compressStream2(w->zc, &out, &in,
                                                         finish ? ZSTD_e_end : ZSTD_e_continue);
                        if (ZSTD_isError(zr))
                                return berth_fail(&w->err, 0, "zstd compression failed: %s",
                                                  ZSTD_getErrorName(zr));
                        ret = emit(w, w->buf, out.pos);
                        if (ret < 0)
                                return ret;
                        if (finish ? zr == 0 : in.pos == in.size)
                                return 0;
                }
        }
        }
        return 0;
}

static la_ssize_t archive_write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
        struct writer *w = data;
        if (w->aborted)
                return (la_ssize_t)len;
        if (writer_push(w, buf, len, false) < 0) {
                archive_set_error(a, EIO, "%s", w->err->msg);
                return -1;
        }
        return (la_ssize_t)len;
}

/* ---- The walk. ---- */

struct link_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct differ {
        struct archive *a;
        bool overlay; /* convert overlay whiteouts; refuse metacopy/redirect */
        bool clamp;
        int64_t epoch;
        struct link_seen *links;
        size_t n_links, cap_links;
        char *iobuf;
};

static int cmp_str(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The xattrs of an opened file, sorted by name; trusted.overlay.* left out
 * but reported through the flags. */
struct xattrs {
        char **names;
        char **values;
        size_t *lens;
        size_t n;
        bool opaque, redirect, metacopy;
};

static void xattrs_free(struct xattrs *x)
{
        for (size_t i = 0; i < x->n; i++) {
                free(x->names[i]);
                free(x->values[i]);
        }
        free(x->names);
        free(x->values);
        free(x->lens);
}

static int read_xattrs(int fd, const char *path, bool is_link, struct xattrs *x, berth_error **err)
{
        char list[XATTR_LIST_MAX_LEN];
        ssize_t len;

        memset(x, 0, sizeof(*x));
        if (is_link) {
                /* fgetxattr does not work on O_PATH fds; symlinks carry no
                 * xattrs that layers need. */
                return 0;
        }
        len = flistxattr(fd, list, sizeof(list));
        if (len < 0) {
                if (errno == EOPNOTSUPP)
                        return 0;
                return berth_fail_errno(err, "list xattrs of `%s`", path);
        }
        size_t n = 0;
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
                n++;
        x->names = xcalloc(n + 1, sizeof(char *));
        x->values = xcalloc(n + 1, sizeof(char *));
        x->lens = xcalloc(n + 1, sizeof(size_t));
        for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1) {
                const char *name = list + i;
                char value[XATTR_LIST_MAX_LEN];
                ssize_t vl = fgetxattr(fd, name, value, sizeof(value));
                if (vl < 0) {
                        if (errno == ENODATA)
                                continue;
                        return berth_fail_errno(err, "read xattr `%s` of `%s`", name, path);
                }
                if (strncmp(name, "trusted.overlay.", 16) == 0) {
                        const char *k = name + 16;
                        if (strcmp(k, "opaque") == 0 && vl == 1 && value[0] == 'y')
                                x->opaque = true;
                        else if (strcmp(k, "redirect") == 0)
                                x->redirect = true;
                        else if (strcmp(k, "metacopy") == 0)
                                x->metacopy = true;
                        continue;
                }
                x->names[x->n] = xstrdup(name);
                x->values[x->n] = xmalloc((size_t)vl + 1);
                memcpy(x->values[x->n], value, (size_t)vl);
                x->lens[x->n] = (size_t)vl;
                x->n++;
        }
        /* Sort by name, carrying values along (n is small). */
        for (size_t i = 1; i < x->n; i++)
                for (size_t j = i; j > 0 && strcmp(x->names[j - 1], x->names[j]) > 0; j--) {
                        char *tn = x->names[j], *tv = x->values[j];
                        size_t tl = x->lens[j];
                        x->names[j] = x->names[j - 1];
                        x->values[j] = x->values[j - 1];
                        x->lens[j] = x->lens[j - 1];
                        x->names[j - 1] = tn;
                        x->values[j - 1] = tv;
                        x->lens[j - 1] = tl;
                }
        return 0;
}

static time_t clamp(struct differ *d, time_t t)
{
        if (d->clamp && t > d->epoch)
                return (time_t)d->epoch;
        return t;
}

static void entry_freep(struct archive_entry **e)
{
        if (*e != NULL)
                archive_entry_free(*e);
}

static int write_header(struct differ *d, struct archive_entry *e, const char *path,
                        berth_error **err)
{
        if (archive_write_header(d->a, e) < ARCHIVE_WARN)
                return berth_fail(err, 0, "write tar header of `%s`: %s", path,
                                  archive_error_string(d->a));
        return 0;
}

/* A marker file (.wh.<name> or .wh..wh..opq). */
static int write_marker(struct differ *d, const char *path, const struct stat *st,
                        berth_error **err)
{
        __attribute__((cleanup(entry_freep))) struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, st ? st->st_mode & 0777 : 0);
        archive_entry_set_uid(e, st ? st->st_uid : 0);
        archive_entry_set_gid(e, st ? st->st_gid : 0);
        archive_entry_set_mtime(e, st ? clamp(d, st->st_mtim.tv_sec) : clamp(d, 0), 0);
        archive_entry_set_size(e, 0);
        return write_header(d, e, path, err);
}

static int write_file_data(struct differ *d, int fd, const char *path, off_t size,
                           berth_error **err)
{
        off_t done = 0;
        for (;;) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(read(fd, d->iobuf, BUF_SIZE));
                if (n < 0)
                        return berth_fail_errno(err, "read `%s`", path);
                if (n == 0)
                        break;
                if (done + n > size)
                        return berth_fail(err, EAGAIN, "`%s` grew while it was archived", path);
                if (archive_write_data(d->a, d->iobuf, (size_t)n) < 0)
                        return berth_fail(err, 0, "write `%s`: %s", path,
                                          archive_error_string(d->a));
                done += n;
        }
        if (done != size)
                return berth_fail(err, EAGAIN, "`%s` shrank while it was archived", path);
        return 0;
}

static int walk(struct differ *d, int dfd, const char *rel, unsigned depth, berth_error **err);

static int emit_one(struct differ *d, int dfd, const char *name, const char *rel, unsigned depth,
                    berth_error **err)
{
        cleanup_free char *path = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        struct stat st;
        int ret;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return berth_fail_errno(err, "stat `%s`", path);

        if (d->overlay && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                cleanup_free char *wh =
                    rel[0] ? xasprintf("%s/.wh.%s", rel, name) : xasprintf(".wh.%s", name);
                return write_marker(d, wh, &st, err);
        }
        if (S_ISSOCK(st.st_mode))
                return 0;

        bool is_link = S_ISLNK(st.st_mode);
        int oflags = S_ISREG(st.st_mode)   ? O_RDONLY
                     : S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY
                                           : O_PATH;
        cleanup_close int fd = openat(dfd, name, oflags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
        if (fd < 0 && errno == EPERM)
                fd = openat(dfd, name, oflags | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", path);

        struct xattrs x;
        bool no_xattrs = is_link || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
        ret = read_xattrs(fd, path, no_xattrs, &x, err);
        if (ret < 0) {
                xattrs_free(&x);
                return ret;
        }
        if (d->overlay && (x.metacopy || x.redirect)) {
                xattrs_free(&x);
                return berth_fail(err, ENOTSUP,
                                  "`%s` is an overlay %s entry, which a layer cannot carry; "
                                  "mount the container with metacopy=off,redirect_dir=off",
                                  path, x.metacopy ? "metacopy" : "redirect_dir");
        }

        __attribute__((cleanup(entry_freep))) struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_perm(e, st.st_mode & 07777);
        archive_entry_set_uid(e, st.st_uid);
        archive_entry_set_gid(e, st.st_gid);
        archive_entry_set_mtime(e, clamp(d, st.st_mtim.tv_sec), 0);
        for (size_t i = 0; i < x.n; i++)
                archive_entry_xattr_add_entry(e, x.names[i], x.values[i], x.lens[i]);
        bool opaque = x.opaque;
        xattrs_free(&x);

        const char *first = NULL;
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < d->n_links; i++)
                        if (d->links[i].dev == st.st_dev && d->links[i].ino == st.st_ino) {
                                first = d->links[i].path;
                                break;
                        }
                if (first == NULL) {
                        if (d->n_links == d->cap_links) {
                                d->cap_links = d->cap_links ? d->cap_links * 2 : 16;
                                d->links = xrealloc(d->links, d->cap_links * sizeof(*d->links));
                        }
                        d->links[d->n_links++] =
                            (struct link_seen){st.st_dev, st.st_ino, xstrdup(path)};
                }
        }

        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                archive_entry_set_filetype(e, AE_IFREG);
                if (first != NULL) {
                        archive_entry_set_hardlink(e, first);
                        archive_entry_set_size(e, 0);
                        return write_header(d, e, path, err);
                }
                archive_entry_set_size(e, st.st_size);
                ret = write_header(d, e, path, err);
                if (ret < 0)
                        return ret;
                return write_file_data(d, fd, path, st.st_size, err);
        case S_IFDIR:
                archive_entry_set_filetype(e, AE_IFDIR);
                ret = write_header(d, e, path, err);
                if (ret < 0)
                        return ret;
                if (d->overlay && opaque) {
                        cleanup_free char *wh = xasprintf("%s/.wh..wh..opq", path);
                        ret = write_marker(d, wh, &st, err);
                        if (ret < 0)
                                return ret;
                }
                return walk(d, fd, path, depth + 1, err);
        case S_IFLNK: {
                char target[PATH_MAX];
                ssize_t len = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (len < 0)
                        return berth_fail_errno(err, "readlink `%s`", path);
                target[len] = '\0';
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, target);
                return write_header(d, e, path, err);
        }
        case S_IFCHR:
        case S_IFBLK:
                archive_entry_set_filetype(e, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
                archive_entry_set_rdevmajor(e, major(st.st_rdev));
                archive_entry_set_rdevminor(e, minor(st.st_rdev));
                return write_header(d, e, path, err);
        case S_IFIFO:
                archive_entry_set_filetype(e, AE_IFIFO);
                return write_header(d, e, path, err);
        default:
                return 0;
        }
}

static int walk(struct differ *d, int dfd, const char *rel, unsigned depth, berth_error **err)
{
        if (depth > MAX_DEPTH)
                return berth_fail(err, ELOOP, "`%s`: directories nested too deep", rel);
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", rel[0] ? rel : ".");
        cleanup_closedir DIR *dir = fdopendir(fd);
        if (dir == NULL) {
                close(fd);
                return berth_fail_errno(err, "opendir `%s`", rel);
        }
        cleanup_strv char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(dir)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n + 1 >= cap) {
                        cap = cap ? cap * 2 : 32;
                        names = xrealloc(names, cap * sizeof(char *));
                }
                names[n++] = xstrdup(de->d_name);
                names[n] = NULL;
        }
        if (n == 0)
                return 0;
        qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
                int ret = emit_one(d, dirfd(dir), names[i], rel, depth, err);
                if (ret < 0)
                        return ret;
        }
        return 0;
}

static void archive_wfreep(struct archive **a)
{
        if (*a != NULL)
                archive_write_free(*a);
}

static int tree_to_tar(int dirfd, int out_fd, enum berth_layer_compression c, bool overlay,
                       const struct berth_layer_diff_opts *opts,
                       struct berth_layer_diff_result *ret, berth_error **err)
{
        struct writer w = {.fd = out_fd, .comp = c == BERTH_LAYER_AUTO ? BERTH_LAYER_GZIP : c};
        struct differ d = {.overlay = overlay};
        __attribute__((cleanup(archive_wfreep))) struct archive *a = NULL;
        int level = opts ? opts->level : 0;
        int res;

        if (opts != NULL && opts->has_source_date_epoch) {
                d.clamp = true;
                d.epoch = opts->source_date_epoch;
        } else if (overlay) {
                const char *env = getenv("SOURCE_DATE_EPOCH");
                if (env != NULL && env[0] != '\0') {
                        if (berth_parse_int64(env, &d.epoch) < 0 || d.epoch < 0)
                                return berth_fail(err, EINVAL,
                                                  "SOURCE_DATE_EPOCH `%s` is not a number of "
                                                  "seconds",
                                                  env);
                        d.clamp = true;
                }
        }

        w.tar_sha = berth_sha256_new();
        w.out_sha = berth_sha256_new();
        w.buf = xmalloc(BUF_SIZE);
        d.iobuf = xmalloc(BUF_SIZE);
        switch (w.comp) {
        case BERTH_LAYER_GZIP:
                if (deflateInit2(&w.z, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                                 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                        res = berth_fail(err, ENOMEM, "initialise gzip");
                        goto out;
                }
                w.z_init = true;
                break;
        case BERTH_LAYER_ZSTD:
                w.zc = ZSTD_createCCtx();
                if (w.zc == NULL) {
                        res = berth_fail(err, ENOMEM, "initialise zstd");
                        goto out;
                }
                (void)ZSTD_CCtx_setParameter(w.zc, ZSTD_c_compressionLevel, level > 0 ? level : 3);
                (void)ZSTD_CCtx_setParameter(w.zc, ZSTD_c_checksumFlag, 1);
                break;
        case BERTH_LAYER_PLAIN:
        case BERTH_LAYER_AUTO:
                break;
        }

        a = archive_write_new();
        d.a = a;
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
            archive_write_open(a, &w, NULL, archive_write_cb, NULL) != ARCHIVE_OK) {
                res = berth_fail(err, 0, "set up the tar writer: %s", archive_error_string(a));
                goto out;
        }
        res = walk(&d, dirfd, "", 0, err);
        if (res < 0)
                goto out;
        if (archive_write_close(a) != ARCHIVE_OK) {
                res = berth_fail(err, 0, "finish the tar stream: %s",
                                 w.err ? w.err->msg : archive_error_string(a));
                goto out;
        }
        res = writer_push(&w, "", 0, true);
        if (res < 0) {
                res = berth_fail(err, 0, "%s", w.err->msg);
                goto out;
        }
        if (ret != NULL) {
                berth_sha256_final(w.tar_sha, ret->diff_id);
                berth_sha256_final(w.out_sha, ret->digest);
                ret->size = w.out_size;
                ret->uncompressed_size = w.tar_size;
        }
        res = 0;
out:
        if (res < 0 && w.err != NULL && err != NULL && *err != NULL &&
            strstr((*err)->msg, w.err->msg) == NULL)
                berth_error_prefix(err, res, "%s", w.err->msg);
        w.aborted = true;
        archive_wfreep(&a);
        a = NULL;
        berth_sha256_free(w.tar_sha);
        berth_sha256_free(w.out_sha);
        free(w.buf);
        free(d.iobuf);
        if (w.z_init)
                deflateEnd(&w.z);
        ZSTD_freeCCtx(w.zc);
        berth_error_free(w.err);
        for (size_t i = 0; i < d.n_links; i++)
                free(d.links[i].path);
        free(d.links);
        return res == -1 ? -EIO : res;
}

int berth_layer_diff(int upper_dirfd, int out_fd, enum berth_layer_compression c,
                     const struct berth_layer_diff_opts *opts, struct berth_layer_diff_result *ret,
                     berth_error **err)
{
        return tree_to_tar(upper_dirfd, out_fd, c, true, opts, ret, err);
}

int berth_tree_export(int dirfd, int out_fd, berth_error **err)
{
        return tree_to_tar(dirfd, out_fd, BERTH_LAYER_PLAIN, false, NULL, NULL, err);
}
