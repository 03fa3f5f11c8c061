/* SPDX-License-Identifier: Apache-2.0 */
/* docker cp and export: every path is resolved inside the container's root
 * by the kernel (berth_open_in_root), never by string checks. */
#include "core.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

/* The container's root directory: its mounted rootfs (mounting it when the
 * container is not running, as Docker does for cp on a stopped container). */
static int open_root(struct berth_container *c, berth_error **err)
{
        cleanup_free char *rootfs = xasprintf("%s/rootfs", c->bundle);
        struct stat a, b;
        int fd;

        if (stat(rootfs, &a) < 0 || stat(c->bundle, &b) < 0 || a.st_dev == b.st_dev)
                return berth_engine_fail(
                    err, EBUSY,
                    "the filesystem of container %.12s is not mounted; start it "
                    "first",
                    c->id);
        fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "open `%s`", rootfs);
        return fd;
}

/* PATH in the container's root (resolved there by the kernel), with Docker's
 * message when it does not exist. Returns an fd or < 0. */
static int open_in_container(struct berth_container *c, const char *ref, const char *path,
                             int flags, berth_error **err)
{
        cleanup_close int root = open_root(c, err);
        int fd;

        if (root < 0)
                return root;
        fd = berth_open_in_root(root, path, flags, 0, err);
        if (fd == -ENOENT) {
                berth_error_freep(err);
                return berth_engine_fail(err, ENOENT, "Could not find the file %s in container %s",
                                         path, ref);
        }
        return fd;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        if (s == NULL)
                return path;
        if (s[1] == '\0') {
                /* "dir/" */
                while (s > path && s[-1] != '/')
                        s--;
                return s;
        }
        return s + 1;
}

int berth_engine_container_path_stat(struct berth_engine *e, const char *ref, const char *path,
                                     json_object **ret, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_close int fd = -1;
        cleanup_free char *name = NULL;
        struct stat st;
        char target[PATH_MAX] = "";
        int r = berth_engine_container_get(e, ref, &c, err);
        json_object *o;
        struct tm tm;
        char tbuf[64];

        if (r < 0)
                return r;
        fd = open_in_container(c, ref, path, O_PATH | O_NOFOLLOW, err);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return berth_fail_errno(err, "stat `%s`", path);
        if (S_ISLNK(st.st_mode)) {
                ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
                if (n > 0)
                        target[n] = '\0';
        }
        name = xstrdup(base_name(path));
        name[strcspn(name, "/")] = '\0';
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(*name ? name : "/"));
        json_object_object_add(o, "size", json_object_new_int64(st.st_size));
        /* Go's os.FileMode bits: dir 1<<31, symlink 1<<27. */
        {
                uint64_t mode = st.st_mode & 07777;
                if (S_ISDIR(st.st_mode))
                        mode |= 1ull << 31;
                if (S_ISLNK(st.st_mode))
                        mode |= 1ull << 27;
                json_object_object_add(o, "mode", json_object_new_int64((int64_t)mode));
        }
        gmtime_r(&st.st_mtim.tv_sec, &tm);
        strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(o, "mtime", json_object_new_string(tbuf));
        json_object_object_add(o, "linkTarget", json_object_new_string(target));
        *ret = o;
        return 0;
}

static ssize_t fd_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
        int fd = *(int *)ctx;
        (void)a;
        return berth_write_all(fd, buf, len) < 0 ? -1 : (ssize_t)len;
}

/* Add the tree at DIRFD/NAME (already opened as FD) under ARCNAME. */
static int add_tree(struct archive *ar, int fd, const char *arcname, int depth, berth_error **err)
{
        struct stat st;
        struct archive_entry *en;
        int r = 0;

        if (depth > 256)
                return berth_engine_fail(err, ELOOP, "`%s`: too deep", arcname);
        if (fstat(fd, &st) < 0)
                return berth_fail_errno(err, "stat `%s`", arcname);
        en = archive_entry_new();
        archive_entry_copy_pathname(en, arcname);
        archive_entry_copy_stat(en, &st);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = '\0';
                archive_entry_copy_symlink(en, target);
        }
        if (!S_ISREG(st.st_mode))
                archive_entry_set_size(en, 0);
        if (archive_write_header(ar, en) != ARCHIVE_OK) {
                r = berth_engine_fail(err, EIO, "tar `%s`: %s", arcname, archive_error_string(ar));
                archive_entry_free(en);
                return r;
        }
        archive_entry_free(en);
        if (S_ISREG(st.st_mode)) {
                char path[64];
                cleanup_close int rfd = -1;
                char buf[65536];
                ssize_t n;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                rfd = open(path, O_RDONLY | O_CLOEXEC);
                if (rfd < 0)
                        return berth_fail_errno(err, "open `%s`", arcname);
                while ((n = read(rfd, buf, sizeof(buf))) > 0)
                        if (archive_write_data(ar, buf, (size_t)n) < 0)
                                return berth_engine_fail(err, EIO, "tar `%s`: %s", arcname,
                                                         archive_error_string(ar));
        } else if (S_ISDIR(st.st_mode)) {
                cleanup_close int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                cleanup_closedir DIR *d = NULL;
                struct dirent *de;
                if (dfd < 0)
                        return berth_fail_errno(err, "open `%s`", arcname);
                d = fdopendir(dfd);
                if (d == NULL)
                        return berth_fail_errno(err, "open `%s`", arcname);
                dfd = -1;
                while ((de = readdir(d)) != NULL) {
                        cleanup_close int cfd = -1;
                        cleanup_free char *child = NULL;
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        cfd = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0)
                                continue;
                        child = xasprintf("%s/%s", arcname, de->d_name);
                        r = add_tree(ar, cfd, child, depth + 1, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int berth_engine_container_archive_get(struct berth_engine *e, const char *ref, const char *path,
                                       int out_fd, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_close int root = -1, fd = -1;
        cleanup_free char *name = NULL;
        struct archive *ar;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        root = open_root(c, err);
        if (root < 0)
                return root;
        fd = berth_open_in_root(root, path, O_PATH | O_NOFOLLOW, 0, err);
        if (fd < 0)
                return fd;
        name = xstrdup(base_name(path));
        name[strcspn(name, "/")] = '\0';
        if (*name == '\0') {
                free(name);
                name = xstrdup(".");
        }
        ar = archive_write_new();
        archive_write_set_format_pax_restricted(ar);
        archive_write_set_bytes_in_last_block(ar, 1);
        if (archive_write_open2(ar, &out_fd, NULL, fd_write_cb, NULL, NULL) != ARCHIVE_OK) {
                archive_write_free(ar);
                return berth_engine_fail(err, EIO, "tar: %s", archive_error_string(ar));
        }
        r = add_tree(ar, fd, name, 0, err);
        if (archive_write_close(ar) != ARCHIVE_OK && r >= 0)
                r = berth_engine_fail(err, EIO, "tar: %s", archive_error_string(ar));
        archive_write_free(ar);
        return r;
}

int berth_engine_container_archive_put(struct berth_engine *e, const char *ref, const char *path,
                                       int in_fd, bool no_overwrite_dir_non_dir, bool copy_uidgid,
                                       berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_close int dfd = -1, dirfd_ = -1;
        struct berth_layer_limits lim = {0};
        struct stat st;
        int r = berth_engine_container_get(e, ref, &c, err);

        (void)no_overwrite_dir_non_dir;
        if (r < 0)
                return r;
        if (copy_uidgid) {
                cleanup_free char *user = NULL;
                cleanup_free char *rootfs = xasprintf("%s/rootfs", c->bundle);
                pthread_mutex_lock(&c->lock);
                user = xstrdup(berth_json_str(c->config, "User") ?: "");
                pthread_mutex_unlock(&c->lock);
                if (*user != '\0') {
                        cleanup_close int root = open_root(c, err);
                        if (root < 0)
                                return root;
                        r = berth_spec_resolve_user(rootfs, user, NULL, &lim.uid, &lim.gid, NULL,
                                                    NULL, err);
                        if (r < 0)
                                return berth_error_prefix(err, r, "copy to container %.12s", c->id);
                        lim.set_owner = true;
                }
        }
        dfd = open_in_container(c, ref, path, O_PATH, err);
        if (dfd < 0)
                return dfd;
        if (fstat(dfd, &st) < 0)
                return berth_fail_errno(err, "stat `%s`", path);
        if (!S_ISDIR(st.st_mode))
                return berth_engine_fail(err, EINVAL, "extraction point is not a directory");
        dirfd_ = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd_ < 0)
                return berth_fail_errno(err, "open `%s`", path);
        /* The layer applier resolves every entry inside DIRFD. */
        r = berth_layer_apply_limits(dirfd_, in_fd, BERTH_LAYER_AUTO, 0, &lim, NULL, err);
        if (r < 0)
                return berth_error_prefix(err, r, "extract into `%s`", path);
        return 0;
}

int berth_engine_container_export(struct berth_engine *e, const char *ref, int out_fd,
                                  berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_close int root = -1, dfd = -1;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        root = open_root(c, err);
        if (root < 0)
                return root;
        dfd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berth_fail_errno(err, "open the container's root");
        r = berth_tree_export(dfd, out_fd, err);
        if (r >= 0)
                berth_engine_emit_container(e, c, "export", NULL, false);
        return r;
}
