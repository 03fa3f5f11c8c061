/* SPDX-License-Identifier: Apache-2.0 */
/* `berth cp` out of a container: the tar from the daemon written under a
 * destination directory by our own code (libarchive only reads). */
#ifndef BERTH_CLI_UNTAR_H
#define BERTH_CLI_UNTAR_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* A source of tar bytes: up to LEN bytes into BUF, 0 at the end, < 0 with
 * *err filled on failure. */
typedef ssize_t (*cli_untar_read_fn)(void *ud, void *buf, size_t len, berth_error **err);

struct cli_untar_opts {
        /* docker's RebaseArchiveEntries: a first path component REBASE_FROM
         * (of entry names and hardlink targets) becomes REBASE_TO. */
        const char *rebase_from;
        const char *rebase_to;
        unsigned long max_entries; /* 0: 1,000,000 */
};

/* Write the tar read from FN under the directory DIRFD, as docker's
 * archive.CopyTo does: no chown (files belong to the caller), modes and
 * mtimes from the tar, directories merged, other files replaced, and a
 * directory never replaced by a non-directory nor the reverse. Every path is
 * resolved inside DIRFD: an entry named with `..` or an absolute name, or
 * whose path (or hardlink target) leads out of DIRFD through a symlink, fails
 * the copy with EPERM naming the entry. */
int cli_untar(int dirfd, cli_untar_read_fn fn, void *ud, const struct cli_untar_opts *opts,
              berth_error **err);

#endif
