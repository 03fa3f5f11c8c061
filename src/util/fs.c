/* SPDX-License-Identifier: Apache-2.0 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

bool berth_fs_no_openat2 = false;

#define MAX_SYMLINKS 40
#define MAX_DEPTH    256

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
        return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* A stack of O_PATH directory fds from the root down to the current
 * directory: ".." pops, so it can never climb above the root. */
struct walk {
        int fds[MAX_DEPTH];
        int n;
};

static void walk_reset(struct walk *w)
{
        while (w->n > 1)
                close(w->fds[--w->n]);
}

static void walk_free(struct walk *w)
{
        while (w->n > 1)
                close(w->fds[--w->n]);
        w->n = 0;
}

/* Resolve every component of PATH but the last one inside ROOTFD, without
 * openat2. On success *ret_dirfd is an O_PATH fd of the parent directory and
 * *ret_name is the last component ("." when the path names the root). When
 * FOLLOW_LAST is set, a symlink as the last component is followed too. */
static int resolve_fallback(int rootfd, const char *path, bool follow_last, int *ret_dirfd,
                            char **ret_name, berth_error **err)
{
        struct walk w = {.n = 1};
        cleanup_free char *buf = xstrdup(path);
        cleanup_free char *name = NULL;
        int symlinks = 0, ret;

        w.fds[0] = rootfd;
        /* The pending path: components not yet resolved. */
        char *rest = buf;

        for (;;) {
                char *slash, *comp;

                while (*rest == '/')
                        rest++;
                if (*rest == '\0') {
                        free(name);
                        name = NULL;
                        break;
                }
                comp = rest;
                slash = strchr(rest, '/');
                if (slash != NULL) {
                        *slash = '\0';
                        rest = slash + 1;
                } else {
                        rest = comp + strlen(comp);
                }

                bool last = true;
                for (const char *p = rest; *p; p++)
                        if (*p != '/') {
                                last = false;
                                break;
                        }

                if (strcmp(comp, ".") == 0) {
                        if (last)
                                break;
                        continue;
                }
                if (strcmp(comp, "..") == 0) {
                        if (w.n > 1)
                                close(w.fds[--w.n]);
                        if (last)
                                break;
                        continue;
                }

                int cur = w.fds[w.n - 1];
                struct stat st;
                cleanup_close int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT && last) {
                                name = xstrdup(comp);
                                goto done;
                        }
                        ret = berth_fail_errno(err, "open `%s` in `%s`", comp, path);
                        goto fail;
                }
                if (fstat(fd, &st) < 0) {
                        ret = berth_fail_errno(err, "stat `%s`", comp);
                        goto fail;
                }
                if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
                        char target[4096];
                        ssize_t len;

                        if (++symlinks > MAX_SYMLINKS) {
                                ret = berth_fail(err, ELOOP, "resolve `%s`", path);
                                goto fail;
                        }
                        len = readlinkat(fd, "", target, sizeof(target) - 1);
                        if (len < 0) {
                                ret = berth_fail_errno(err, "readlink `%s`", comp);
                                goto fail;
                        }
                        target[len] = '\0';
                        if (target[0] == '/')
                                walk_reset(&w);
                        /* Splice the target in front of the rest. */
                        char *nbuf = xasprintf("%s/%s", target, rest);
                        free(buf);
                        buf = nbuf;
                        rest = buf;
                        continue;
                }
                if (last) {
                        name = xstrdup(comp);
                        goto done;
                }
                if (!S_ISDIR(st.st_mode)) {
                        ret = berth_fail(err, ENOTDIR, "resolve `%s`: `%s`", path, comp);
                        goto fail;
                }
                if (w.n >= MAX_DEPTH) {
                        ret = berth_fail(err, ENAMETOOLONG, "resolve `%s`", path);
                        goto fail;
                }
                w.fds[w.n++] = steal_fd(&fd);
        }
        name = xstrdup(".");
done : {
        int top = w.fds[w.n - 1];
        int dfd = top == rootfd ? fcntl(rootfd, F_DUPFD_CLOEXEC, 3) : top;
        if (dfd < 0) {
                ret = berth_fail_errno(err, "dup");
                goto fail;
        }
        if (top != rootfd)
                w.n--;
        walk_free(&w);
        *ret_dirfd = dfd;
        *ret_name = steal_pointer(&name);
        return 0;
}
fail:
        walk_free(&w);
        return ret;
}

int berth_open_in_root(int rootfd, const char *path, int flags, mode_t mode, berth_error **err)
{
        if (!berth_fs_no_openat2) {
                struct open_how how = {
                    .flags = (unsigned long long)(flags | O_CLOEXEC),
                    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                int fd = sys_openat2(rootfd, path, &how);
                if (fd >= 0)
                        return fd;
                if (errno != ENOSYS && errno != EPERM && errno != EAGAIN)
                        return berth_fail_errno(err, "open `%s`", path);
                if (errno == EAGAIN) {
                        /* A rename raced with us: retry once, then fall back. */
                        fd = sys_openat2(rootfd, path, &how);
                        if (fd >= 0)
                                return fd;
                }
        }

        cleanup_close int dirfd = -1;
        cleanup_free char *name = NULL;
        bool follow = !(flags & O_NOFOLLOW);
        int ret = resolve_fallback(rootfd, path, follow, &dirfd, &name, err);
        if (ret < 0)
                return ret;
        int fd;
        if (strcmp(name, ".") == 0)
                fd = openat(dirfd, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
        else
                fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0) {
                /* O_PATH|O_NOFOLLOW on a symlink asked not to be followed is fine;
                 * any other ELOOP means the last component changed under us. */
                return berth_fail_errno(err, "open `%s`", path);
        }
        return fd;
}

int berth_mkdir_in_root(int rootfd, const char *path, mode_t mode, berth_error **err)
{
        /* Most of the time the whole path exists already: one lookup. */
        int fast = berth_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0, NULL);
        if (fast >= 0)
                return fast;

        cleanup_free char *buf = xstrdup(path);
        cleanup_close int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        char *save = NULL;
        cleanup_free char *sofar = xstrdup("");

        if (cur < 0)
                return berth_fail_errno(err, "dup");
        for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                char *next = xasprintf("%s/%s", sofar, comp);
                free(sofar);
                sofar = next;
                int fd = berth_open_in_root(rootfd, sofar, O_PATH | O_DIRECTORY, 0, NULL);
                if (fd < 0) {
                        /* Create it in the resolved parent, then resolve again. */
                        cleanup_close int parent = -1;
                        cleanup_free char *name = NULL;
                        cleanup_free char *dir = xstrdup(sofar);
                        char *slash = strrchr(dir, '/');
                        *slash = '\0';
                        parent = berth_open_in_root(rootfd, dir[0] ? dir : "/",
                                                    O_PATH | O_DIRECTORY, 0, err);
                        if (parent < 0)
                                return parent;
                        name = xstrdup(slash + 1);
                        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
                                return berth_fail_errno(err, "mkdir `%s`", sofar);
                        fd = berth_open_in_root(rootfd, sofar, O_PATH | O_DIRECTORY, 0, err);
                        if (fd < 0)
                                return fd;
                }
                close(cur);
                cur = fd;
        }
        return steal_fd(&cur);
}

int berth_mkdir_p(const char *path, mode_t mode, berth_error **err)
{
        cleanup_free char *p = xstrdup(path);
        size_t len = strlen(p);

        while (len > 1 && p[len - 1] == '/')
                p[--len] = '\0';
        if (mkdir(p, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return berth_fail_errno(err, "mkdir `%s`", path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return berth_fail_errno(err, "mkdir `%s`", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return berth_fail_errno(err, "mkdir `%s`", p);
        return 0;
}

int berth_rm_rf_at(int parent, const char *name, berth_error **err)
{
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return berth_fail_errno(err, "unlink `%s`", name);

        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", name);
        cleanup_closedir DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return berth_fail_errno(err, "opendir `%s`", name);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int ret = berth_rm_rf_at(dirfd(d), de->d_name, err);
                if (ret < 0)
                        return ret;
        }
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return berth_fail_errno(err, "rmdir `%s`", name);
        return 0;
}

int berth_rm_rf(const char *path, berth_error **err)
{
        return berth_rm_rf_at(AT_FDCWD, path, err);
}

int berth_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t berth_read_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, p + got, len - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

static int write_file_renamed(const char *path, const void *data, size_t len, mode_t mode,
                              bool durable, berth_error **err)
{
        cleanup_free char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        cleanup_free char *tmp = NULL;
        cleanup_close int fd = -1;
        cleanup_close int dfd = -1;
        int r;

        if (slash == NULL) {
                free(dir);
                dir = xstrdup(".");
        } else if (slash == dir) {
                dir[1] = '\0';
        } else {
                *slash = '\0';
        }
        tmp = xasprintf("%s.tmp-XXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "create `%s`", tmp);
        r = berth_write_all(fd, data, len);
        if (r < 0) {
                (void)unlink(tmp);
                return berth_fail(err, -r, "write `%s`", tmp);
        }
        if (fchmod(fd, mode) < 0 || (durable && fsync(fd) < 0)) {
                r = errno;
                (void)unlink(tmp);
                return berth_fail(err, r, "sync `%s`", tmp);
        }
        if (rename(tmp, path) < 0) {
                r = errno;
                (void)unlink(tmp);
                return berth_fail(err, r, "rename `%s` to `%s`", tmp, path);
        }
        if (!durable)
                return 0;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return berth_fail_errno(err, "sync directory `%s`", dir);
        return 0;
}

int berth_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            berth_error **err)
{
        return write_file_renamed(path, data, len, mode, true, err);
}

int berth_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                             berth_error **err)
{
        return write_file_renamed(path, data, len, mode, false, err);
}

int berth_write_file_at(int dirfd, const char *path, const void *data, size_t len, bool create,
                        berth_error **err)
{
        int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
        cleanup_close int fd = openat(dirfd, path, flags, 0644);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", path);
        /* Kernel files want the value in one write(). */
        ssize_t n = TEMP_FAILURE_RETRY_INT(write(fd, data, len));
        if (n < 0)
                return berth_fail_errno(err, "write `%.*s` to `%s`", (int)(len > 64 ? 64 : len),
                                        (const char *)data, path);
        if ((size_t)n != len)
                return berth_fail(err, EIO, "short write to `%s`", path);
        return 0;
}

int berth_write_file(const char *path, const void *data, size_t len, berth_error **err)
{
        return berth_write_file_at(AT_FDCWD, path, data, len, true, err);
}

int berth_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, berth_error **err)
{
        cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        cleanup_free char *buf = NULL;
        size_t cap = 4096, len = 0;

        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", path);
        buf = xmalloc(cap);
        for (;;) {
                if (len + 1 >= cap) {
                        cap *= 2;
                        buf = xrealloc(buf, cap);
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return berth_fail_errno(err, "read `%s`", path);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = steal_pointer(&buf);
        return 0;
}

int berth_read_file(const char *path, char **ret, size_t *ret_len, berth_error **err)
{
        return berth_read_file_at(AT_FDCWD, path, ret, ret_len, err);
}
