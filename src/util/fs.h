/* SPDX-License-Identifier: Apache-2.0 */
/* File-system helpers. Every path under a container root, a layer or the
 * image store is resolved by the kernel (openat2 RESOLVE_IN_ROOT), with an
 * fd-relative fallback that walks one component at a time. */
#ifndef BERTH_UTIL_FS_H
#define BERTH_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Configuration: when true, never use openat2 (the tests force the fallback
 * this way; BERTH_NO_OPENAT2=1 in the environment sets it at start-up). */
extern bool berth_fs_no_openat2;

/* Open PATH resolved inside ROOTFD as if ROOTFD were "/": "..", absolute
 * paths and symlinks never leave it. FLAGS as for openat(2); with O_CREAT the
 * last component is created with MODE. Returns an fd (O_CLOEXEC) or < 0. */
int berth_open_in_root(int rootfd, const char *path, int flags, mode_t mode, berth_error **err);

/* mkdir -p of PATH inside ROOTFD (resolved as above). Returns an O_PATH
 * directory fd of the last component, or < 0. */
int berth_mkdir_in_root(int rootfd, const char *path, mode_t mode, berth_error **err);

/* mkdir -p on the host. */
int berth_mkdir_p(const char *path, mode_t mode, berth_error **err);

/* Remove PATH and everything below it; a missing path is not an error. */
int berth_rm_rf(const char *path, berth_error **err);
/* The same for NAME relative to the directory fd PARENT (AT_FDCWD allowed);
 * symlinks are removed, never followed. */
int berth_rm_rf_at(int parent, const char *name, berth_error **err);

/* Write the file atomically: a temporary file in the same directory,
 * fsync, rename over PATH, fsync of the directory. */
int berth_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            berth_error **err);

/* Atomic but not durable: temporary file + rename, no fsync. For state that
 * does not outlive a reboot anyway (the runtime's files under /run): a crash
 * of the process still never leaves a partial file. */
int berth_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                             berth_error **err);

/* Plain write (O_WRONLY|O_TRUNC, no create unless CREATE): for kernel files
 * such as cgroup controls, where one write() is the whole update. */
int berth_write_file_at(int dirfd, const char *path, const void *data, size_t len, bool create,
                        berth_error **err);
int berth_write_file(const char *path, const void *data, size_t len, berth_error **err);

/* Read a whole file (NUL-terminated; *ret_len excludes the NUL). */
int berth_read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, berth_error **err);
int berth_read_file(const char *path, char **ret, size_t *ret_len, berth_error **err);

/* write()/read() the whole buffer, retrying EINTR and short counts. */
int berth_write_all(int fd, const void *buf, size_t len);
ssize_t berth_read_all(int fd, void *buf, size_t len);

#endif
