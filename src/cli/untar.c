/* SPDX-License-Identifier: Apache-2.0 */
/* The tar of `berth cp CONTAINER:PATH DEST` written under DEST by our own
 * code: libarchive parses, every file is created with *at() calls on a
 * directory fd whose path has been checked to stay inside DEST (the kernel's
 * plain resolution must land where berth_open_in_root() lands). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/layer.h"
#include "untar.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/tarpath.h"
#include "util/xalloc.h"

#define DEFAULT_MAX_ENTRIES 1000000UL

struct dir_time {
        char *path;
        struct timespec ts[2];
};

struct untar {
        int root;
        const struct cli_untar_opts *o;
        const char *entry; /* the entry being written, for messages */
        /* the last parent resolved: its name and an O_PATH fd */
        char *cache_name;
        int cache_fd;
        struct dir_time *dirs;
        size_t n_dirs, cap_dirs;
        /* the source */
        cli_untar_read_fn fn;
        void *ud;
        berth_error *read_err;
        char buf[65536];
};

static int escape_fail(struct untar *u, const char *why, berth_error **err)
{
        berth_fail(err, 0, "entry `%s`: %s", u->entry, why);
        if (err != NULL && *err != NULL)
                (*err)->status = EPERM;
        return -EPERM;
}

/* docker's RebaseArchiveEntries on one name; "./" prefixes dropped. */
static char *rebase(const struct cli_untar_opts *o, const char *name)
{
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (o->rebase_from == NULL || o->rebase_to == NULL)
                return xstrdup(name);
        size_t fl = strlen(o->rebase_from);
        if (strncmp(name, o->rebase_from, fl) == 0 && (name[fl] == '\0' || name[fl] == '/'))
                return xasprintf("%s%s", o->rebase_to, name + fl);
        return xstrdup(name);
}

/* "." and empty components dropped; NULL for an absolute name or a "..". */
static char *normalise(const char *name)
{
        if (name[0] == '/')
                return NULL;
        return berth_tar_name_normalise(name);
}

static bool same_file(int a, int b)
{
        struct stat sa, sb;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

/* An O_PATH fd of the directory PATH (normalised, relative; "" is the
 * root), created (0755) with its missing parents when CREATE. The kernel's
 * ordinary resolution is used, and checked against the resolution inside
 * the root: a symlink on the way that leads out of it fails with EPERM. */
static int resolve_dir(struct untar *u, const char *path, bool create, berth_error **err)
{
        if (*path == '\0') {
                int fd = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? berth_fail_errno(err, "dup") : fd;
        }
        cleanup_close int fd = openat(u->root, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                cleanup_free char *parent = xstrdup(path);
                char *slash = strrchr(parent, '/');
                const char *base = slash ? slash + 1 : path;
                if (slash)
                        *slash = '\0';
                else
                        parent[0] = '\0';
                cleanup_close int pfd = resolve_dir(u, parent, true, err);
                if (pfd < 0)
                        return pfd;
                if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
                        return berth_fail_errno(err, "entry `%s`: mkdir `%s`", u->entry, path);
                fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;
                        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                return escape_fail(
                                    u, "a symlink on its path leads out of the destination", err);
                        return berth_fail_errno(err, "entry `%s`: `%s`", u->entry, path);
                }
        } else if (fd < 0) {
                return berth_fail_errno(err, "entry `%s`: `%s`", u->entry, path);
        }
        cleanup_close int in_root =
            berth_open_in_root(u->root, path, O_PATH | O_DIRECTORY, 0, NULL);
        if (in_root < 0 || !same_file(fd, in_root))
                return escape_fail(u, "a symlink on its path leads out of the destination", err);
        return steal_fd(&fd);
}

/* The parent directory of an entry, through the one-entry cache (a borrowed fd). */
static int parent_of(struct untar *u, const char *parent, berth_error **err)
{
        if (u->cache_name != NULL && strcmp(u->cache_name, parent) == 0)
                return u->cache_fd;
        int fd = resolve_dir(u, parent, true, err);
        if (fd < 0)
                return fd;
        free(u->cache_name);
        berth_closep(&u->cache_fd);
        u->cache_name = xstrdup(parent);
        u->cache_fd = fd;
        return fd;
}

/* Split NAME (normalised, not empty) at its last '/'. */
static void split(const char *name, char **ret_parent, const char **ret_base)
{
        const char *slash = strrchr(name, '/');
        *ret_parent = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
        *ret_base = slash ? slash + 1 : name;
}

/* docker's NoOverwriteDirNonDir, then whatever is in the way goes unless
 * both are directories. Sets *ret_dir_exists. */
static int make_way(struct untar *u, int pfd, const char *base, bool is_dir, bool *ret_dir_exists,
                    berth_error **err)
{
        struct stat st;
        *ret_dir_exists = false;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return berth_fail_errno(err, "entry `%s`: stat", u->entry);
        }
        if (S_ISDIR(st.st_mode) && !is_dir)
                return berth_fail(err, EISDIR, "cannot overwrite directory `%s` with non-directory",
                                  u->entry);
        if (!S_ISDIR(st.st_mode) && is_dir)
                return berth_fail(err, ENOTDIR,
                                  "cannot overwrite non-directory `%s` with directory", u->entry);
        if (is_dir) {
                *ret_dir_exists = true;
                return 0;
        }
        if (unlinkat(pfd, base, 0) < 0)
                return berth_fail_errno(err, "entry `%s`: remove the existing file", u->entry);
        return 0;
}

static int write_data(struct untar *u, struct archive *a, int fd, struct archive_entry *e,
                      berth_error **err)
{
        const void *buf;
        size_t len;
        la_int64_t off;
        for (;;) {
                int r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return berth_fail(err, EIO, "entry `%s`: %s", u->entry,
                                          archive_error_string(a));
                const char *p = buf;
                while (len > 0) {
                        ssize_t n = TEMP_FAILURE_RETRY_INT(pwrite(fd, p, len, (off_t)off));
                        if (n < 0)
                                return berth_fail_errno(err, "entry `%s`: write", u->entry);
                        p += n;
                        off += n;
                        len -= (size_t)n;
                }
        }
        /* a sparse file may end in a hole */
        if (archive_entry_size(e) > 0 && ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
                return berth_fail_errno(err, "entry `%s`: truncate", u->entry);
        return 0;
}

static int write_hardlink(struct untar *u, int pfd, const char *base, const char *link,
                          berth_error **err)
{
        cleanup_free char *rebased = rebase(u->o, link);
        cleanup_free char *target = normalise(rebased);
        if (target == NULL || *target == '\0')
                return escape_fail(u, "its hardlink target is outside the destination", err);
        cleanup_free char *tparent = NULL;
        const char *tbase;
        split(target, &tparent, &tbase);
        cleanup_close int tfd = resolve_dir(u, tparent, false, err);
        if (tfd < 0)
                return tfd;
        struct stat st;
        if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return berth_fail_errno(err, "entry `%s`: hardlink target `%s`", u->entry, link);
        if (S_ISDIR(st.st_mode))
                return berth_fail(err, EPERM, "entry `%s`: hardlink to the directory `%s`",
                                  u->entry, link);
        if (linkat(tfd, tbase, pfd, base, 0) < 0)
                return berth_fail_errno(err, "entry `%s`: link to `%s`", u->entry, link);
        return 0;
}

static int write_entry(struct untar *u, struct archive *a, struct archive_entry *e,
                       berth_error **err)
{
        cleanup_free char *rebased = rebase(u->o, archive_entry_pathname(e));
        cleanup_free char *name = normalise(rebased);
        if (name == NULL)
                return escape_fail(u, "the name leaves the destination (`..` or absolute)", err);
        if (*name == '\0')
                return 0; /* "./": the destination itself */
        if (strlen(name) >= PATH_MAX)
                return berth_fail(err, ENAMETOOLONG, "entry `%.64s...`", name);
        cleanup_free char *parent = NULL;
        const char *base;
        split(name, &parent, &base);
        int pfd = parent_of(u, parent, err);
        if (pfd < 0)
                return pfd;

        const char *link = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        mode_t perm = archive_entry_perm(e) & 07777;
        bool dir_exists;
        int r = make_way(u, pfd, base, link == NULL && type == AE_IFDIR, &dir_exists, err);
        if (r < 0)
                return r;
        if (link != NULL)
                return write_hardlink(u, pfd, base, link, err);

        struct timespec ts[2];
        berth_tar_entry_times(e, ts);
        switch (type) {
        case AE_IFDIR: {
                if (!dir_exists && mkdirat(pfd, base, 0700) < 0)
                        return berth_fail_errno(err, "entry `%s`: mkdir", u->entry);
                cleanup_close int fd =
                    openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "entry `%s`: open", u->entry);
                if (fchmod(fd, perm) < 0)
                        return berth_fail_errno(err, "entry `%s`: chmod", u->entry);
                /* directory times are set at the end, after their children */
                if (u->n_dirs == u->cap_dirs) {
                        u->cap_dirs = u->cap_dirs ? u->cap_dirs * 2 : 32;
                        u->dirs = xrealloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
                }
                u->dirs[u->n_dirs].path = xstrdup(name);
                memcpy(u->dirs[u->n_dirs++].ts, ts, sizeof(ts));
                return 0;
        }
        case AE_IFREG: {
                cleanup_close int fd =
                    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return berth_fail_errno(err, "entry `%s`: create", u->entry);
                r = write_data(u, a, fd, e, err);
                if (r < 0)
                        return r;
                if (fchmod(fd, perm) < 0)
                        return berth_fail_errno(err, "entry `%s`: chmod", u->entry);
                if (futimens(fd, ts) < 0)
                        return berth_fail_errno(err, "entry `%s`: set times", u->entry);
                return 0;
        }
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                if (target == NULL || *target == '\0')
                        return berth_fail(err, EINVAL, "entry `%s`: empty symlink", u->entry);
                if (symlinkat(target, pfd, base) < 0)
                        return berth_fail_errno(err, "entry `%s`: symlink", u->entry);
                (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
                dev_t dev = type == AE_IFIFO
                                ? 0
                                : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
                if (mknodat(pfd, base, type | 0600, dev) < 0)
                        return berth_fail_errno(err, "entry `%s`: mknod", u->entry);
                /* a node just made by us, not a symlink */
                if (fchmodat(pfd, base, perm, 0) < 0)
                        return berth_fail_errno(err, "entry `%s`: chmod", u->entry);
                (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        case AE_IFSOCK:
                return 0;
        default:
                return berth_fail(err, EINVAL, "entry `%s`: unsupported type %o", u->entry,
                                  (unsigned)type);
        }
}

static int finish_dir_times(struct untar *u, berth_error **err)
{
        for (size_t i = u->n_dirs; i-- > 0;) {
                cleanup_close int fd = berth_open_in_root(
                    u->root, u->dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, err);
                if (fd < 0)
                        return fd;
                if (futimens(fd, u->dirs[i].ts) < 0)
                        return berth_fail_errno(err, "set the times of `%s`", u->dirs[i].path);
        }
        return 0;
}

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buf)
{
        struct untar *u = ud;
        ssize_t n = u->fn(u->ud, u->buf, sizeof(u->buf), &u->read_err);
        *buf = u->buf;
        if (n < 0) {
                archive_set_error(a, EIO, "%s", u->read_err ? u->read_err->msg : "read error");
                return -1;
        }
        return n;
}

static void archive_read_freep(struct archive **a)
{
        if (*a != NULL)
                archive_read_free(*a);
}

int cli_untar(int dirfd, cli_untar_read_fn fn, void *ud, const struct cli_untar_opts *opts,
              berth_error **err)
{
        static const struct cli_untar_opts none = {0};
        struct untar *u = xmalloc0(sizeof(*u));
        __attribute__((cleanup(archive_read_freep))) struct archive *a = archive_read_new();
        unsigned long max = opts && opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES;
        unsigned long entries = 0;
        int r = 0;

        u->root = dirfd;
        u->o = opts ? opts : &none;
        u->cache_fd = -1;
        u->fn = fn;
        u->ud = ud;
        archive_read_support_format_tar(a);
        if (archive_read_open(a, u, NULL, read_cb, NULL) != ARCHIVE_OK) {
                r = berth_fail(err, EIO, "reading the archive: %s", archive_error_string(a));
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int k = archive_read_next_header(a, &e);
                if (k == ARCHIVE_EOF)
                        break;
                if (k < ARCHIVE_WARN) {
                        r = berth_fail(err, EIO, "reading the archive: %s",
                                       archive_error_string(a));
                        goto out;
                }
                if (++entries > max) {
                        r = berth_fail(err, E2BIG, "the archive has more than %lu entries", max);
                        goto out;
                }
                u->entry = archive_entry_pathname(e);
                if (u->entry == NULL)
                        u->entry = "";
                r = write_entry(u, a, e, err);
                if (r < 0)
                        goto out;
        }
        r = finish_dir_times(u, err);
out:
        if (u->read_err != NULL) {
                /* the stream's own error says more than libarchive's */
                if (err != NULL && *err != NULL)
                        berth_error_freep(err);
                r = berth_fail(err, 0, "%s", u->read_err->msg);
                r = -berth_error_status(u->read_err);
                if (err != NULL && *err != NULL)
                        (*err)->status = berth_error_status(u->read_err);
                berth_error_free(u->read_err);
        }
        free(u->cache_name);
        berth_closep(&u->cache_fd);
        for (size_t i = 0; i < u->n_dirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
        free(u);
        return r;
}
