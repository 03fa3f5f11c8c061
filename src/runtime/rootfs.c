/* SPDX-License-Identifier: Apache-2.0 */
/* Turn the bundle's rootfs into the container's "/": propagation, the
 * mounts (new mount API: fsopen/fsmount/open_tree/mount_setattr/move_mount,
 * every destination resolved inside the rootfs by the kernel), devices,
 * pivot_root, masked/readonly paths, sysctl and the read-only root. */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define MOVE_EMPTY (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)

/* The fs set-up context shared by the steps below. */
struct ctx {
        const struct berth_rootfs_opts *o;
        int rootfd; /* O_PATH of the rootfs (after its self-bind) */
};

static int set_attr(int fd, const char *path, unsigned flags, uint64_t set, uint64_t clr,
                    uint64_t propagation)
{
        struct mount_attr a = {
            .attr_set = set,
            .attr_clr = clr,
            .propagation = propagation,
        };
        if (set == 0 && clr == 0 && propagation == 0)
                return 0;
        return mount_setattr(fd, path, flags, &a, sizeof(a));
}

/* Append the fs context's own error text ("e tmpfs: Bad value for 'size'"). */
static int fs_fail(berth_error **err, int fsfd, int status, const char *what)
{
        char log[512];
        ssize_t n = fsfd >= 0 ? read(fsfd, log, sizeof(log) - 1) : -1;
        if (n > 2) {
                log[n] = '\0';
                log[strcspn(log, "\n")] = '\0';
                return berth_fail(err, status, "%s (%s)", what, log + 2);
        }
        return berth_fail(err, status, "%s", what);
}

/* Create a detached mount of a new TYPE file system with the
 * comma-separated DATA (key=value or flags) and the MS_* FLAGS. */
static int new_fs(const char *type, const char *source, const char *data, unsigned long flags,
                  berth_error **err)
{
        cleanup_close int fsfd = fsopen(type, FSOPEN_CLOEXEC);
        cleanup_free char *buf = data ? xstrdup(data) : NULL;
        char *save = NULL;
        int mnt;

        if (fsfd < 0)
                return berth_fail_errno(err, "fsopen");
        if (source != NULL && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
                return fs_fail(err, fsfd, errno, "source");
        for (char *opt = buf ? strtok_r(buf, ",", &save) : NULL; opt;
             opt = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(opt, '=');
                int r;
                if (eq != NULL) {
                        *eq = '\0';
                        r = fsconfig(fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
                        *eq = '=';
                } else {
                        r = fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
                }
                if (r < 0) {
                        cleanup_free char *what = xasprintf("option `%s`", opt);
                        return fs_fail(err, fsfd, errno, what);
                }
        }
        /* Superblock flags that have no mount attribute. */
        static const struct {
                unsigned long ms;
                const char *name;
        } sb_flags[] = {{MS_SYNCHRONOUS, "sync"},
                        {MS_DIRSYNC, "dirsync"},
                        {MS_LAZYTIME, "lazytime"},
                        {MS_MANDLOCK, "mand"},
                        {MS_SILENT, "silent"}};
        for (size_t i = 0; i < sizeof(sb_flags) / sizeof(sb_flags[0]); i++)
                if ((flags & sb_flags[i].ms) &&
                    fsconfig(fsfd, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0) < 0)
                        return fs_fail(err, fsfd, errno, sb_flags[i].name);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return fs_fail(err, fsfd, errno, "create");
        mnt = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)berth_ms_to_mount_attr(flags));
        if (mnt < 0)
                return fs_fail(err, fsfd, errno, "fsmount");
        return mnt;
}

/* A detached copy of the host's PATH (a bind), with FLAGS applied to its
 * top mount (or to all when RECURSIVE_ATTRS). */
static int new_bind(const char *path, bool recursive, unsigned long flags, bool recursive_attrs,
                    berth_error **err)
{
        cleanup_close int tree = open_tree(
            AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        uint64_t set = berth_ms_to_mount_attr(flags);
        uint64_t clr = 0;

        if (tree < 0)
                return berth_fail_errno(err, "open_tree `%s`", path);
        if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
                clr |= MOUNT_ATTR__ATIME;
        if (set_attr(tree, "", AT_EMPTY_PATH | (recursive_attrs ? AT_RECURSIVE : 0), set, clr, 0) <
            0)
                return berth_fail_errno(err, "set attributes of `%s`", path);
        return steal_fd(&tree);
}

/* Create the mount point DEST inside the rootfs (a directory, or an empty
 * file when IS_FILE) and return an O_PATH fd of it, resolved in the root. */
static int mountpoint(int rootfd, const char *dest, bool is_file, berth_error **err)
{
        if (!is_file)
                return berth_mkdir_in_root(rootfd, dest, 0755, err);

        int fd = berth_open_in_root(rootfd, dest, O_PATH, 0, NULL);
        if (fd >= 0)
                return fd;
        cleanup_free char *dir = xstrdup(dest);
        *strrchr(dir, '/') = '\0';
        cleanup_close int dirfd = berth_mkdir_in_root(rootfd, dir[0] ? dir : "/", 0755, err);
        if (dirfd < 0)
                return dirfd;
        cleanup_close int f = berth_open_in_root(rootfd, dest, O_CREAT | O_WRONLY, 0644, err);
        if (f < 0)
                return f;
        return berth_open_in_root(rootfd, dest, O_PATH, 0, err);
}

static int attach(int mnt, int destfd, berth_error **err)
{
        if (move_mount(mnt, "", destfd, "", MOVE_EMPTY) < 0)
                return berth_fail_errno(err, "move_mount");
        return 0;
}

/* --- tmpcopyup: copy the directory's former contents into the new tmpfs --- */

static int copy_data(int in, int out)
{
        char buf[65536];
        for (;;) {
                ssize_t c = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
                if (c == 0)
                        return 0;
                if (c > 0 || errno == EINTR)
                        continue;
                if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                        return -1;
                break;
        }
        for (;;) {
                ssize_t c = read(in, buf, sizeof(buf));
                if (c < 0 && errno == EINTR)
                        continue;
                if (c <= 0)
                        return (int)c;
                int r = berth_write_all(out, buf, (size_t)c);
                if (r < 0) {
                        errno = -r;
                        return -1;
                }
        }
}

static int copy_tree(int src, int dst, int depth, berth_error **err)
{
        int sfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return berth_fail_errno(err, "open");
        cleanup_closedir DIR *d = fdopendir(sfd);
        struct dirent *de;

        if (d == NULL) {
                close(sfd);
                return berth_fail_errno(err, "opendir");
        }
        if (depth > 64)
                return berth_fail(err, ELOOP, "tmpcopyup: too deep");
        while ((de = readdir(d)) != NULL) {
                struct stat st;
                const char *n = de->d_name;
                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
                        continue;
                if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "stat `%s`", n);
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST)
                                return berth_fail_errno(err, "mkdir `%s`", n);
                        cleanup_close int s2 =
                            openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        cleanup_close int d2 =
                            openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0)
                                return berth_fail_errno(err, "open `%s`", n);
                        int r = copy_tree(s2, d2, depth + 1, err);
                        if (r < 0)
                                return r;
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t len = readlinkat(sfd, n, target, sizeof(target) - 1);
                        if (len < 0)
                                return berth_fail_errno(err, "readlink `%s`", n);
                        target[len] = '\0';
                        if (symlinkat(target, dst, n) < 0)
                                return berth_fail_errno(err, "symlink `%s`", n);
                } else if (S_ISREG(st.st_mode)) {
                        cleanup_close int in = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        cleanup_close int out = openat(
                            dst, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
                        if (in < 0 || out < 0)
                                return berth_fail_errno(err, "copy `%s`", n);
                        if (copy_data(in, out) < 0)
                                return berth_fail_errno(err, "copy `%s`", n);
                } else {
                        if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0)
                                return berth_fail_errno(err, "mknod `%s`", n);
                }
                if (fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return berth_fail_errno(err, "chown `%s`", n);
                if (!S_ISLNK(st.st_mode) && fchmodat(dst, n, st.st_mode & 07777, 0) < 0)
                        return berth_fail_errno(err, "chmod `%s`", n);
        }
        return 0;
}

/* --- cgroup --- */

static int mount_cgroup_v1(struct ctx *c, const struct berth_mount_entry *e, int destfd,
                           berth_error **err)
{
        cleanup_free char *self = NULL;
        cleanup_close int tmpfs = -1;
        unsigned long ro = e->flags & MS_RDONLY;
        unsigned long sub =
            MS_NOSUID | MS_NODEV | MS_NOEXEC | ro | (e->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
        char *save = NULL;
        int r;

        r = berth_read_file("/proc/self/cgroup", &self, NULL, err);
        if (r < 0)
                return r;
        tmpfs = new_fs("tmpfs", "tmpfs", "mode=755", e->flags & ~MS_RDONLY, err);
        if (tmpfs < 0)
                return tmpfs;
        if ((r = attach(tmpfs, destfd, err)) < 0)
                return r;
        for (char *line = strtok_r(self, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *ctrls = strchr(line, ':'), *path;
                if (ctrls == NULL || (path = strchr(++ctrls, ':')) == NULL)
                        continue;
                *path++ = '\0';
                bool unified = *ctrls == '\0';
                const char *dir = unified                                ? "unified"
                                  : berth_str_has_prefix(ctrls, "name=") ? ctrls + 5
                                                                         : ctrls;
                cleanup_free char *host = xasprintf("/sys/fs/cgroup/%s", dir);
                cleanup_free char *in = xasprintf("%s/%s", e->destination, dir);
                cleanup_close int mnt = -1, sub_fd = -1;

                if (unified && access(host, F_OK) < 0)
                        continue;
                if (c->o->cgroupns) {
                        cleanup_free char *opts = unified ? NULL
                                                  : berth_str_has_prefix(ctrls, "name=")
                                                      ? xasprintf("none,%s", ctrls)
                                                      : xstrdup(ctrls);
                        mnt = new_fs(unified ? "cgroup2" : "cgroup", "cgroup", opts, sub, err);
                } else {
                        cleanup_free char *src = xasprintf("%s%s", host, path);
                        mnt = new_bind(src, false, sub, false, err);
                }
                if (mnt < 0)
                        return berth_error_prefix(err, mnt, "cgroup `%s`", dir);
                sub_fd = berth_mkdir_in_root(c->rootfd, in, 0755, err);
                if (sub_fd < 0)
                        return sub_fd;
                if ((r = attach(mnt, sub_fd, err)) < 0)
                        return berth_error_prefix(err, r, "cgroup `%s`", dir);
                /* cpu,cpuacct also answers to cpu and cpuacct. */
                if (strchr(dir, ',') != NULL) {
                        cleanup_close int top = berth_open_in_root(c->rootfd, e->destination,
                                                                   O_PATH | O_DIRECTORY, 0, err);
                        cleanup_free char *names = xstrdup(dir);
                        char *s2 = NULL;
                        if (top < 0)
                                return top;
                        for (char *n = strtok_r(names, ",", &s2); n; n = strtok_r(NULL, ",", &s2))
                                if (symlinkat(dir, top, n) < 0 && errno != EEXIST)
                                        return berth_fail_errno(err, "symlink `%s`", n);
                }
        }
        if (ro && set_attr(tmpfs, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0, 0) < 0)
                return berth_fail_errno(err, "remount read-only");
        return 0;
}

static int mount_cgroup(struct ctx *c, const struct berth_mount_entry *e, int destfd,
                        berth_error **err)
{
        struct statfs sfs;
        unsigned long flags = e->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC;

        if (statfs("/sys/fs/cgroup", &sfs) < 0)
                return berth_fail_errno(err, "statfs `/sys/fs/cgroup`");
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return mount_cgroup_v1(c, e, destfd, err);

        cleanup_close int mnt = new_fs("cgroup2", "cgroup2", e->data, flags, NULL);
        if (mnt < 0) {
                /* Not allowed here (no cgroupns in a user namespace): bind the
                 * container's own cgroup instead, like runc. */
                cleanup_free char *self = NULL;
                int r = berth_read_file("/proc/self/cgroup", &self, NULL, err);
                if (r < 0)
                        return r;
                char *p = strstr(self, "0::");
                if (p == NULL)
                        return berth_fail(err, ENOENT, "no cgroup v2 entry in /proc/self/cgroup");
                p += 3;
                p[strcspn(p, "\n")] = '\0';
                cleanup_free char *src = xasprintf("/sys/fs/cgroup%s", p);
                mnt = new_bind(src, true, flags, false, err);
                if (mnt < 0)
                        return mnt;
        }
        return attach(mnt, destfd, err);
}

/* --- one mount --- */

static int do_mount(struct ctx *c, const struct berth_mount_entry *e, berth_error **err)
{
        const struct berth_rootfs_opts *o = c->o;
        cleanup_close int destfd = -1, mnt = -1;
        bool rec_attrs = e->rec_attr_set != 0 || e->rec_attr_clr != 0;
        int r;

        destfd = mountpoint(c->rootfd, e->destination, e->bind && e->source_is_file, err);
        if (destfd < 0)
                return destfd;

        if (e->bind) {
                mnt = new_bind(e->source, e->recursive, e->flags, false, err);
        } else if (strcmp(e->type, "cgroup") == 0 || strcmp(e->type, "cgroup2") == 0) {
                r = mount_cgroup(c, e, destfd, err);
                if (r < 0)
                        return r;
                goto propagation;
        } else if (strcmp(e->type, "sysfs") == 0 && o->userns && !o->netns) {
                /* sysfs belongs to the host's net namespace: bind it. */
                mnt = new_bind("/sys", true, e->flags, true, err);
        } else {
                mnt = new_fs(e->type, e->source, e->data, e->flags,
                             strcmp(e->type, "mqueue") == 0 && o->userns ? NULL : err);
                if (mnt == -EPERM && strcmp(e->type, "mqueue") == 0 && o->userns)
                        /* No ipc namespace of our own: bind the host's. */
                        mnt = new_bind("/dev/mqueue", false, e->flags, false, err);
        }
        if (mnt < 0)
                return mnt;
        if (rec_attrs && set_attr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, e->rec_attr_set,
                                  e->rec_attr_clr, 0) < 0)
                return berth_fail_errno(err, "set recursive attributes");
        if (e->tmpcopyup) {
                cleanup_close int src =
                    berth_open_in_root(c->rootfd, e->destination, O_RDONLY | O_DIRECTORY, 0, err);
                if (src < 0)
                        return src;
                r = copy_tree(src, mnt, 0, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "tmpcopyup");
        }
        r = attach(mnt, destfd, err);
        if (r < 0)
                return r;
propagation:
        if (e->propagation != 0) {
                /* destfd still names the mount point below: reopen the new mount. */
                cleanup_close int top =
                    berth_open_in_root(c->rootfd, e->destination, O_PATH, 0, err);
                if (top < 0)
                        return top;
                if (set_attr(top, "", AT_EMPTY_PATH | (e->propagation & MS_REC ? AT_RECURSIVE : 0),
                             0, 0, e->propagation & ~MS_REC) < 0)
                        return berth_fail_errno(err, "set propagation");
        }
        return 0;
}

/* --- after pivot_root --- */

static int masked_paths(int root, json_object *paths, berth_error **err)
{
        for (size_t i = 0; paths && i < json_object_array_length(paths); i++) {
                const char *p = json_object_get_string(json_object_array_get_idx(paths, i));
                cleanup_close int fd = berth_open_in_root(root, p, O_PATH, 0, NULL);
                cleanup_close int mnt = -1;
                struct stat st;

                if (fd < 0)
                        continue; /* a missing path is fine */
                if (fstat(fd, &st) < 0)
                        return berth_fail_errno(err, "mask `%s`: stat", p);
                if (S_ISDIR(st.st_mode))
                        mnt = new_fs("tmpfs", "tmpfs", NULL,
                                     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
                else
                        mnt = new_bind("/dev/null", false, 0, false, err);
                int r = mnt < 0 ? mnt : attach(mnt, fd, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "mask `%s`", p);
        }
        return 0;
}

static int readonly_paths(int root, json_object *paths, berth_error **err)
{
        for (size_t i = 0; paths && i < json_object_array_length(paths); i++) {
                const char *p = json_object_get_string(json_object_array_get_idx(paths, i));
                cleanup_close int fd = berth_open_in_root(root, p, O_PATH, 0, NULL);
                cleanup_close int mnt = -1;

                if (fd < 0)
                        continue;
                mnt = open_tree(fd, "",
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (mnt < 0)
                        return berth_fail_errno(err, "readonly `%s`: open_tree", p);
                if (set_attr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0, 0) < 0)
                        return berth_fail_errno(err, "readonly `%s`: mount_setattr", p);
                int r = attach(mnt, fd, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "readonly `%s`", p);
        }
        return 0;
}

static int sysctls(int root, json_object *config, berth_error **err)
{
        json_object *s = berth_json_get(berth_json_get(config, "linux"), "sysctl");
        if (s == NULL)
                return 0;
        json_object_object_foreach(s, key, val)
        {
                cleanup_free char *path = xasprintf("/proc/sys/%s", key);
                const char *v = json_object_get_string(val);
                if (strchr(key, '/') == NULL)
                        for (char *q = path + strlen("/proc/sys/"); *q; q++)
                                if (*q == '.')
                                        *q = '/';
                cleanup_close int fd = berth_open_in_root(root, path, O_WRONLY | O_TRUNC, 0, err);
                if (fd < 0)
                        return berth_error_prefix(err, fd, "sysctl `%s`", key);
                int r = berth_write_all(fd, v, strlen(v));
                if (r < 0)
                        return berth_fail(err, -r, "sysctl `%s`: write `%s`", key, v);
        }
        return 0;
}

static int pivot(int rootfd, berth_error **err)
{
        cleanup_close int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (oldroot < 0)
                return berth_fail_errno(err, "open the old root");
        if (fchdir(rootfd) < 0)
                return berth_fail_errno(err, "chdir to the rootfs");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return berth_fail_errno(err, "pivot_root");
        /* The old root is now stacked on top of the new one. "." is still the
         * new root's own directory, so step onto the old root's before making
         * it slave: the container's mounts keep the propagation they asked for,
         * and the old root's unmount never propagates to the host. */
        if (fchdir(oldroot) < 0)
                return berth_fail_errno(err, "chdir to the old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return berth_fail_errno(err, "make the old root slave");
        if (umount2(".", MNT_DETACH) < 0)
                return berth_fail_errno(err, "unmount the old root");
        if (chdir("/") < 0)
                return berth_fail_errno(err, "chdir `/`");
        return 0;
}

int berth_rootfs_setup(const struct berth_rootfs_opts *o, berth_error **err)
{
        json_object *lnx = berth_json_get(o->config, "linux");
        const char *prop = berth_json_str(lnx, "rootfsPropagation");
        unsigned long first = MS_SLAVE | MS_REC, after = 0;
        cleanup_close int rootfd = -1, newroot = -1;
        struct ctx c = {.o = o, .rootfd = -1};
        bool dev_bound = false;
        int r;

        if (prop != NULL) {
                struct berth_mount_entry pe = {0};
                (void)berth_mount_option_apply(&pe, prop);
                /* Nothing may propagate to the host while we mount: "/" is
                 * rslave (or rprivate) until pivot_root, which also refuses
                 * shared mounts; the requested mode is applied after. */
                if (pe.propagation == (MS_PRIVATE | MS_REC))
                        first = pe.propagation;
                else
                        after = pe.propagation;
        }
        if (mount(NULL, "/", NULL, first, NULL) < 0)
                return berth_fail_errno(err, "make `/` %s", prop ? prop : "rslave");
        if (mount(o->rootfs, o->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return berth_fail_errno(err, "bind the rootfs `%s` onto itself", o->rootfs);
        rootfd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berth_fail_errno(err, "open the rootfs `%s`", o->rootfs);
        c.rootfd = rootfd;

        for (size_t i = 0; o->mounts && i < o->mounts->n; i++) {
                const struct berth_mount_entry *e = &o->mounts->v[i];
                r = do_mount(&c, e, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "mount `%s` on `%s`", e->source,
                                                  e->destination);
                if (e->bind && strcmp(e->destination, "/dev") == 0)
                        dev_bound = true;
        }
        r = berth_devices_setup(rootfd, o->config, o->userns, !dev_bound, err);
        if (r < 0)
                return berth_error_prefix(err, r, "devices");

        r = pivot(rootfd, err);
        if (r < 0)
                return r;
        if (after != 0 && mount(NULL, "/", NULL, after, NULL) < 0)
                return berth_fail_errno(err, "make `/` %s", prop);

        newroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (newroot < 0)
                return berth_fail_errno(err, "open `/`");
        /* sysctl first: /proc/sys is usually among the read-only paths. */
        r = sysctls(newroot, o->config, err);
        if (r < 0)
                return r;
        r = readonly_paths(newroot, berth_json_get(lnx, "readonlyPaths"), err);
        if (r < 0)
                return r;
        r = masked_paths(newroot, berth_json_get(lnx, "maskedPaths"), err);
        if (r < 0)
                return r;
        if (berth_json_bool(berth_json_get(o->config, "root"), "readonly", false) &&
            set_attr(AT_FDCWD, "/", 0, MOUNT_ATTR_RDONLY, 0, 0) < 0)
                return berth_fail_errno(err, "make `/` read-only");
        return 0;
}
