/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots: every layer unpacked once into <data-root>/layers/<chain-id>/,
 * shared read-only by the images and containers that use it, and the
 * overlay mount of a chain of them. */
#include "image/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define TMP_PREFIX ".tmp-"

int berth_chain_id(const char *parent_chain, const char *diff_id, char out[BERTH_DIGEST_STR_LEN])
{
        if (!berth_digest_valid(diff_id))
                return -EINVAL;
        if (parent_chain == NULL) {
                memcpy(out, diff_id, BERTH_DIGEST_STR_LEN);
                return 0;
        }
        if (!berth_digest_valid(parent_chain))
                return -EINVAL;
        cleanup_free char *s = xasprintf("%s %s", parent_chain, diff_id);
        berth_sha256_digest(s, strlen(s), out);
        return 0;
}

char *berth_snapshot_path(const char *data_root, const char *chain_id)
{
        if (chain_id == NULL || !berth_digest_valid(chain_id))
                return NULL;
        return xasprintf("%s/layers/%s", data_root, chain_id + 7);
}

bool berth_snapshot_exists(const char *data_root, const char *chain_id)
{
        cleanup_free char *p = berth_snapshot_path(data_root, chain_id);
        struct stat st;
        return p != NULL && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int fsync_dir(const char *path, berth_error **err)
{
        cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return berth_fail_errno(err, "sync `%s`", path);
        return 0;
}

/* Mark the layers directory "top of a directory hierarchy" (ext4's
 * FS_TOPDIR_FL, `chattr +T`): the Orlov allocator then places each new
 * snapshot directory in a block group of its own choosing (few directories,
 * above-average free inodes and blocks) instead of next to its siblings.
 * Every snapshot is an unrelated tree, the case the flag is meant for, and
 * it matters on ext4 without a journal, where every inode allocation skips
 * the inodes of its group deleted in the last dirty_expire_centisecs
 * (find_inode_bit -> recently_deleted): unpacking next to a tree removed a
 * moment ago (an image removed, a previous load) cost up to 4 s of system
 * time for the 8,000 files of a Debian layer. Best effort: other file
 * systems ignore or refuse the flag. */
static void mark_topdir(const char *layers)
{
        cleanup_close int fd = open(layers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int flags = 0;
        if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL))
                return;
        flags |= FS_TOPDIR_FL;
        (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static ssize_t read_fd(void *ud, void *buf, size_t len)
{
        return TEMP_FAILURE_RETRY_INT(read(*(int *)ud, buf, len));
}

int berth_snapshot_prepare(const char *data_root, int tar_fd, enum berth_layer_compression c,
                           unsigned flags, struct berth_layer_apply_stats *ret_stats,
                           char **ret_tmp, berth_error **err)
{
        return berth_snapshot_prepare_stream(data_root, read_fd, &tar_fd, c, flags, ret_stats,
                                             ret_tmp, err);
}

int berth_snapshot_prepare_stream(const char *data_root, berth_layer_read_fn fn, void *ud,
                                  enum berth_layer_compression c, unsigned flags,
                                  struct berth_layer_apply_stats *ret_stats, char **ret_tmp,
                                  berth_error **err)
{
        cleanup_free char *layers = xasprintf("%s/layers", data_root);
        cleanup_free char *tmp = NULL;
        cleanup_close int dfd = -1;
        int ret = berth_mkdir_p(layers, 0700, err);
        if (ret < 0)
                return ret;
        mark_topdir(layers);
        tmp = xasprintf("%s/" TMP_PREFIX "XXXXXX", layers);
        if (mkdtemp(tmp) == NULL)
                return berth_fail_errno(err, "create a directory in `%s`", layers);
        (void)chmod(tmp, 0755);
        dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                ret = berth_fail_errno(err, "open `%s`", tmp);
                goto fail;
        }
        ret = berth_layer_apply_stream(dfd, fn, ud, c, BERTH_LAYER_APPLY_OVERLAY | flags, NULL,
                                       ret_stats, err);
        if (ret < 0)
                goto fail;
        *ret_tmp = steal_pointer(&tmp);
        return 0;
fail:
        (void)berth_rm_rf(tmp, NULL);
        return ret;
}

int berth_snapshot_sync(const char *data_root, berth_error **err)
{
        cleanup_free char *layers = xasprintf("%s/layers", data_root);
        cleanup_close int fd = open(layers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0)
                return berth_fail_errno(err, "sync `%s`", layers);
        return 0;
}

/* Durability: the files of TMP are not fsynced one by one. One syncfs()
 * of the file system, after every file of TMP is written and before the
 * rename that gives it its real name, puts them all on disk first: a crash
 * before the rename leaves a .tmp- directory that nobody uses (removed by
 * berth_snapshot_cleanup_tmp), and after it a complete snapshot. This is
 * as safe as an fsync per file, for one flush instead of thousands; the
 * fsync of the layers directory then makes the rename itself durable. */
/* A parent chain, when given, is a valid digest with a snapshot on disk. */
static int check_parent(const char *data_root, const char *parent_chain, berth_error **err)
{
        if (parent_chain == NULL)
                return 0;
        if (!berth_digest_valid(parent_chain))
                return berth_fail(err, EINVAL, "invalid parent chain ID `%s`", parent_chain);
        if (!berth_snapshot_exists(data_root, parent_chain))
                return berth_fail(err, ENOENT, "parent snapshot `%s` is missing", parent_chain);
        return 0;
}

int berth_snapshot_commit(const char *data_root, const char *tmp, const char *parent_chain,
                          const char *chain_id, bool synced, berth_error **err)
{
        cleanup_free char *layers = xasprintf("%s/layers", data_root);
        cleanup_free char *final = berth_snapshot_path(data_root, chain_id);
        int ret;

        if (final == NULL)
                return berth_fail(err, EINVAL, "invalid chain ID `%s`", chain_id ? chain_id : "");
        ret = check_parent(data_root, parent_chain, err);
        if (ret < 0)
                return ret;
        if (!synced) {
                ret = berth_snapshot_sync(data_root, err);
                if (ret < 0)
                        return ret;
        }
        if (rename(tmp, final) < 0) {
                if (errno != EEXIST && errno != ENOTEMPTY)
                        return berth_fail_errno(err, "rename `%s` to `%s`", tmp, final);
                /* Someone unpacked the same chain first: keep theirs. */
                return berth_rm_rf(tmp, err);
        }
        return fsync_dir(layers, err);
}

int berth_snapshot_unpack(const char *data_root, const char *parent_chain, int tar_fd,
                          enum berth_layer_compression c, struct berth_layer_apply_stats *ret_stats,
                          char ret_chain[BERTH_DIGEST_STR_LEN], berth_error **err)
{
        cleanup_free char *tmp = NULL;
        struct berth_layer_apply_stats stats;
        char chain[BERTH_DIGEST_STR_LEN];
        int ret;

        ret = check_parent(data_root, parent_chain, err);
        if (ret < 0)
                return ret;
        ret = berth_snapshot_prepare(data_root, tar_fd, c, 0, &stats, &tmp, err);
        if (ret < 0)
                return ret;
        ret = berth_chain_id(parent_chain, stats.diff_id, chain);
        if (ret < 0) {
                ret = berth_fail(err, EINVAL, "compute the chain ID");
                goto fail;
        }
        ret = berth_snapshot_commit(data_root, tmp, parent_chain, chain, false, err);
        if (ret < 0)
                goto fail;
        if (ret_stats != NULL)
                *ret_stats = stats;
        memcpy(ret_chain, chain, BERTH_DIGEST_STR_LEN);
        return 0;
fail:
        (void)berth_rm_rf(tmp, NULL);
        return ret;
}

int berth_snapshot_remove(const char *data_root, const char *chain_id, berth_error **err)
{
        cleanup_free char *p = berth_snapshot_path(data_root, chain_id);
        if (p == NULL)
                return berth_fail(err, EINVAL, "invalid chain ID `%s`", chain_id ? chain_id : "");
        /* Rename first, so that a crash never leaves a half-removed snapshot
         * under its real name. */
        cleanup_free char *layers = xasprintf("%s/layers", data_root);
        cleanup_free char *tmp = xasprintf("%s/" TMP_PREFIX "rm-%s", layers, chain_id + 7);
        if (rename(p, tmp) < 0) {
                if (errno == ENOENT)
                        return 0;
                return berth_fail_errno(err, "remove snapshot `%s`", chain_id);
        }
        int ret = berth_rm_rf(tmp, err);
        if (ret < 0)
                return berth_error_prefix(err, ret, "remove snapshot `%s`", chain_id);
        return fsync_dir(layers, err);
}

int berth_snapshot_cleanup_tmp(const char *data_root, berth_error **err)
{
        cleanup_free char *layers = xasprintf("%s/layers", data_root);
        cleanup_closedir DIR *d = opendir(layers);
        if (d == NULL) {
                if (errno == ENOENT)
                        return 0;
                return berth_fail_errno(err, "open `%s`", layers);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (!berth_str_has_prefix(de->d_name, TMP_PREFIX))
                        continue;
                cleanup_free char *p = xasprintf("%s/%s", layers, de->d_name);
                int ret = berth_rm_rf(p, err);
                if (ret < 0)
                        return ret;
        }
        return 0;
}

/* ---- Mounting. ---- */

static int mount_new_api(const char *layers, const char *const *chain_ids, size_t n,
                         const char *upper, const char *work, const char *target, berth_error **err)
{
        cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0) {
                if (errno == ENOSYS)
                        return -ENOSYS;
                return berth_fail_errno(err, "open an overlay file system");
        }
        /* Top first: lowerdir+ appends below the previous one. */
        for (size_t i = n; i-- > 0;) {
                cleanup_free char *p = xasprintf("%s/%s", layers, chain_ids[i] + 7);
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", p, 0) < 0) {
                        if (errno == EINVAL && i == n - 1)
                                return -ENOSYS; /* no lowerdir+ before 6.8 */
                        return berth_fail_errno(err, "overlay lower `%s`", p);
                }
        }
        if (upper != NULL) {
                if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
                        return berth_fail_errno(err, "overlay upper `%s`", upper);
                if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
                        return berth_fail_errno(err, "overlay work `%s`", work);
        }
        /* Diffs need plain copy-ups and whiteouts. */
        (void)fsconfig(fs, FSCONFIG_SET_STRING, "redirect_dir", "off", 0);
        (void)fsconfig(fs, FSCONFIG_SET_STRING, "metacopy", "off", 0);
        (void)fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return berth_fail_errno(err, "create the overlay for `%s`", target);
        cleanup_close int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0)
                return berth_fail_errno(err, "fsmount the overlay for `%s`", target);
        if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return berth_fail_errno(err, "mount the overlay on `%s`", target);
        return 0;
}

/* mount(2) with lower paths relative to the layers directory, from a child
 * that chdir()s there (the caller's working directory is not touched). */
static int mount_legacy(const char *layers, const char *const *chain_ids, size_t n,
                        const char *upper, const char *work, const char *target, berth_error **err)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t len = 64;
        for (size_t i = 0; i < n; i++)
                len += BERTH_DIGEST_HEX_LEN + 1;
        cleanup_free char *opts = xmalloc(len + (upper ? strlen(upper) + strlen(work) : 0) + 64);
        strcpy(opts, "lowerdir=");
        for (size_t i = n; i-- > 0;) {
                strcat(opts, chain_ids[i] + 7);
                if (i > 0)
                        strcat(opts, ":");
        }
        if (upper != NULL) {
                strcat(opts, ",upperdir=");
                strcat(opts, upper);
                strcat(opts, ",workdir=");
                strcat(opts, work);
        }
        if (strlen(opts) >= page)
                return berth_fail(err, E2BIG,
                                  "%zu layers are too many for this kernel's overlay (needs "
                                  "Linux 6.8 for more)",
                                  n);
        if ((upper && upper[0] != '/') || (work && work[0] != '/') || target[0] != '/')
                return berth_fail(err, EINVAL, "mount paths must be absolute");

        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return berth_fail_errno(err, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return berth_fail_errno(err, "fork");
        }
        if (pid == 0) {
                int e = 0;
                if (chdir(layers) < 0 || mount("overlay", target, "overlay", 0, opts) < 0)
                        e = errno;
                (void)!write(pipefd[1], &e, sizeof(e));
                _exit(e ? 1 : 0);
        }
        close(pipefd[1]);
        int e = EIO, status;
        if (berth_read_all(pipefd[0], &e, sizeof(e)) != sizeof(e))
                e = EIO;
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (e != 0)
                return berth_fail(err, e, "mount the overlay on `%s`", target);
        return 0;
}

int berth_snapshot_mount(const char *data_root, const char *const *chain_ids, size_t n,
                         const char *upper, const char *work, const char *target, berth_error **err)
{
        cleanup_free char *layers = xasprintf("%s/layers", data_root);

        if (n == 0)
                return berth_fail(err, EINVAL, "mount `%s`: no layers", target);
        if (n > BERTH_SNAPSHOT_MAX_LAYERS)
                return berth_fail(err, E2BIG, "mount `%s`: %zu layers, at most %d are supported",
                                  target, n, BERTH_SNAPSHOT_MAX_LAYERS);
        if ((upper == NULL) != (work == NULL))
                return berth_fail(err, EINVAL, "mount `%s`: upper and work go together", target);
        for (size_t i = 0; i < n; i++)
                if (!berth_snapshot_exists(data_root, chain_ids[i]))
                        return berth_fail(err, ENOENT, "mount `%s`: snapshot `%s` is missing",
                                          target, chain_ids[i] ? chain_ids[i] : "");
        if (n == 1 && upper == NULL) {
                /* overlay wants two lowers without an upper: a read-only bind. */
                cleanup_free char *p = berth_snapshot_path(data_root, chain_ids[0]);
                if (mount(p, target, NULL, MS_BIND, NULL) < 0 ||
                    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        return berth_fail_errno(err, "bind `%s` on `%s`", p, target);
                return 0;
        }
        const char *no = getenv("BERTH_NO_FSOPEN");
        if (no == NULL || strcmp(no, "1") != 0) {
                int ret = mount_new_api(layers, chain_ids, n, upper, work, target, err);
                if (ret != -ENOSYS)
                        return ret;
        }
        return mount_legacy(layers, chain_ids, n, upper, work, target, err);
}
