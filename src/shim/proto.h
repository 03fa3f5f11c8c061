/* SPDX-License-Identifier: Apache-2.0 */
/* Wire helpers shared by berth-shim and its client (see shim.h for the
 * protocol). Internal to src/shim. */
#ifndef BERTH_SHIM_PROTO_H
#define BERTH_SHIM_PROTO_H

#include <stddef.h>
#include <sys/types.h>

/* The longest request or reply line. */
#define BERTH_SHIM_LINE_MAX 4096
/* The largest EXEC process document. */
#define BERTH_SHIM_EXEC_MAX (1024 * 1024)

/* Send LEN bytes of DATA with N fds attached (SCM_RIGHTS). Returns 0 or
 * -errno. */
int berth_shim_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n);
/* Read one line (up to and without '\n') into BUF, one byte at a time so
 * that nothing after the line is consumed; fds that arrive with it (up to
 * MAX_FDS) are stored in FDS and counted in *RET_NFDS (may be NULL when none
 * are expected: they are closed). Returns the length, 0 at EOF before any
 * byte, or -errno. */
ssize_t berth_shim_read_line(int sock, char *buf, size_t size, int *fds, size_t max_fds,
                             size_t *ret_nfds);

/* A sockaddr_un path for PATH: PATH itself when it fits in sun_path, else
 * "/proc/self/fd/N/<name>" through an O_PATH fd of its directory, returned
 * in *ret_dirfd (close it after bind/connect; -1 when not needed). Returns
 * 0 or -errno. */
int berth_shim_sun_path(const char *path, char *out, size_t size, int *ret_dirfd);

#endif
