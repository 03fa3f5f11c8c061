/* SPDX-License-Identifier: Apache-2.0 */
/* Device nodes in the container's /dev: the default set, linux.devices and
 * the standard symlinks. mknod, or in a user namespace a bind of the host's
 * node onto an empty file. */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

struct device {
        const char *path;
        mode_t type; /* S_IFCHR, S_IFBLK, S_IFIFO */
        unsigned major, minor;
        mode_t mode;
        uid_t uid;
        gid_t gid;
};

static const struct device default_devices[] = {
    {"/dev/null", S_IFCHR, 1, 3, 0666, 0, 0},    {"/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0},
    {"/dev/full", S_IFCHR, 1, 7, 0666, 0, 0},    {"/dev/random", S_IFCHR, 1, 8, 0666, 0, 0},
    {"/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0}, {"/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0},
};

static const struct {
        const char *target, *name;
} dev_symlinks[] = {
    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
};

/* Split PATH into its resolved parent directory (created inside ROOTFD) and
 * its last component. */
static int open_parent(int rootfd, const char *path, int *ret_dirfd, const char **ret_name,
                       berth_error **err)
{
        cleanup_free char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        const char *name = strrchr(path, '/') + 1;

        if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return berth_fail(err, EINVAL, "device path `%s` is not a file name", path);
        *slash = '\0';
        int fd = berth_mkdir_in_root(rootfd, dir[0] ? dir : "/", 0755, err);
        if (fd < 0)
                return fd;
        *ret_dirfd = fd;
        *ret_name = name;
        return 0;
}

static int bind_host_node(int dirfd, const char *name, const char *path, berth_error **err)
{
        cleanup_close int file = -1, tree = -1;

        file = openat(dirfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
        if (file < 0)
                return berth_fail_errno(err, "create `%s`", path);
        tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return berth_fail_errno(err, "bind host device `%s`", path);
        if (move_mount(tree, "", file, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return berth_fail_errno(err, "bind host device `%s`", path);
        return 0;
}

static int create_device(int rootfd, const struct device *d, bool userns, berth_error **err)
{
        cleanup_close int dirfd = -1;
        const char *name = NULL;
        int r = open_parent(rootfd, d->path, &dirfd, &name, err);
        if (r < 0)
                return r;

        /* O_PATH dir fds are fine for the *at() calls below. */
        if (userns && d->type != S_IFIFO)
                return bind_host_node(dirfd, name, d->path, err);

        dev_t dev = makedev(d->major, d->minor);
        if (mknodat(dirfd, name, d->type | (d->mode & 07777), dev) < 0) {
                if (errno != EEXIST)
                        return berth_fail_errno(err, "mknod `%s`", d->path);
                /* Whatever the image had there is replaced. */
                if (unlinkat(dirfd, name, 0) < 0)
                        return berth_fail_errno(err, "replace `%s`", d->path);
                if (mknodat(dirfd, name, d->type | (d->mode & 07777), dev) < 0)
                        return berth_fail_errno(err, "mknod `%s`", d->path);
        }
        /* mknod honours the umask: set the mode explicitly. */
        if (fchmodat(dirfd, name, d->mode & 07777, 0) < 0)
                return berth_fail_errno(err, "chmod `%s`", d->path);
        if ((d->uid != 0 || d->gid != 0) &&
            fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return berth_fail_errno(err, "chown `%s`", d->path);
        return 0;
}

static int parse_device(json_object *j, size_t i, struct device *d, berth_error **err)
{
        const char *type = berth_json_str(j, "type");
        d->path = berth_json_str(j, "path");
        if (d->path == NULL || type == NULL)
                return berth_fail(err, EINVAL, "linux.devices[%zu]: `path` and `type` are required",
                                  i);
        switch (type[0]) {
        case 'c':
        case 'u':
                d->type = S_IFCHR;
                break;
        case 'b':
                d->type = S_IFBLK;
                break;
        case 'p':
                d->type = S_IFIFO;
                break;
        default:
                return berth_fail(err, EINVAL, "linux.devices[%zu]: type `%s`", i, type);
        }
        d->major = (unsigned)berth_json_int(j, "major", 0);
        d->minor = (unsigned)berth_json_int(j, "minor", 0);
        d->mode = (mode_t)berth_json_int(j, "fileMode", 0666);
        d->uid = (uid_t)berth_json_int(j, "uid", 0);
        d->gid = (gid_t)berth_json_int(j, "gid", 0);
        return 0;
}

static bool listed(json_object *devices, const char *path)
{
        for (size_t i = 0; devices && i < json_object_array_length(devices); i++) {
                const char *p = berth_json_str(json_object_array_get_idx(devices, i), "path");
                if (p != NULL && strcmp(p, path) == 0)
                        return true;
        }
        return false;
}

int berth_devices_setup(int rootfd, json_object *config, bool userns, bool with_defaults,
                        berth_error **err)
{
        json_object *devices = berth_json_get(berth_json_get(config, "linux"), "devices");
        int r;

        if (with_defaults) {
                for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
                        if (listed(devices, default_devices[i].path))
                                continue;
                        r = create_device(rootfd, &default_devices[i], userns, err);
                        if (r < 0)
                                return r;
                }
                cleanup_close int devfd = berth_mkdir_in_root(rootfd, "/dev", 0755, err);
                if (devfd < 0)
                        return devfd;
                for (size_t i = 0; i < sizeof(dev_symlinks) / sizeof(dev_symlinks[0]); i++) {
                        const char *name = dev_symlinks[i].name;
                        if (strcmp(name, "ptmx") == 0)
                                (void)unlinkat(devfd, name, 0);
                        if (symlinkat(dev_symlinks[i].target, devfd, name) < 0 && errno != EEXIST)
                                return berth_fail_errno(err, "symlink `/dev/%s`", name);
                }
        }
        for (size_t i = 0; devices && i < json_object_array_length(devices); i++) {
                struct device d;
                r = parse_device(json_object_array_get_idx(devices, i), i, &d, err);
                if (r < 0)
                        return r;
                r = create_device(rootfd, &d, userns, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
