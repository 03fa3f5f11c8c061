/* SPDX-License-Identifier: Apache-2.0 */
/* The sync protocol between the runtime and a container's init: one
 * SOCK_SEQPACKET datagram per message, an fd may ride along. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define SYNC_MAX 65536

struct sync_hdr {
        int32_t type;
        int32_t status;
};

int berth_sync_send(int fd, enum berth_sync_type type, int status, const char *payload,
                    int pass_fd)
{
        struct sync_hdr h = { .type = (int32_t)type, .status = status };
        size_t len = payload ? strlen(payload) : 0;
        struct iovec iov[2] = {
                { .iov_base = &h, .iov_len = sizeof(h) },
                { .iov_base = (void *)(payload ? payload : ""), .iov_len = len > SYNC_MAX ? SYNC_MAX : len },
        };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

        if (pass_fd >= 0) {
                memset(&u, 0, sizeof(u));
                msg.msg_control = u.buf;
                msg.msg_controllen = sizeof(u.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        for (;;) {
                ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int berth_sync_recv(int fd, enum berth_sync_type *ret_type, int *ret_status,
                    char **ret_payload, int *ret_fd)
{
        cleanup_free char *buf = xmalloc(sizeof(struct sync_hdr) + SYNC_MAX + 1);
        union {
                char cbuf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(struct sync_hdr) + SYNC_MAX };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.cbuf,
                              .msg_controllen = sizeof(u.cbuf) };
        struct sync_hdr h;
        ssize_t n;
        int passed = -1;

        do
                n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&passed, CMSG_DATA(c), sizeof(int));
        if (n == 0)
                return -EPIPE;
        if ((size_t)n < sizeof(h)) {
                if (passed >= 0)
                        close(passed);
                return -EPROTO;
        }
        memcpy(&h, buf, sizeof(h));
        buf[n] = '\0';
        *ret_type = (enum berth_sync_type)h.type;
        if (ret_status)
                *ret_status = h.status;
        if (ret_payload)
                *ret_payload = xstrdup(buf + sizeof(h));
        if (ret_fd)
                *ret_fd = passed;
        else if (passed >= 0)
                close(passed);
        return 0;
}

int berth_sync_expect(int fd, enum berth_sync_type type, char **ret_payload, int *ret_fd,
                      berth_error **err)
{
        enum berth_sync_type got;
        int status = 0;
        cleanup_free char *payload = NULL;
        int r = berth_sync_recv(fd, &got, &status, &payload, ret_fd);

        if (r == -EPIPE)
                return berth_fail(err, EPIPE, "container init exited unexpectedly");
        if (r < 0)
                return berth_fail(err, -r, "read from container init");
        if (got == BERTH_SYNC_ERROR) {
                if (ret_fd && *ret_fd >= 0) {
                        close(*ret_fd);
                        *ret_fd = -1;
                }
                /* The child's message already names its cause; keep its status. */
                berth_fail(err, 0, "%s", payload);
                if (err && *err)
                        (*err)->status = status;
                return status > 0 ? -status : -1;
        }
        if (got != type)
                return berth_fail(err, EPROTO, "unexpected message %d from container init",
                                  (int)got);
        if (ret_payload)
                *ret_payload = steal_pointer(&payload);
        return 0;
}

int berth_sync_wait_exec(int sync_fd, berth_error **err)
{
        cleanup_free char *payload = NULL;
        enum berth_sync_type type;
        int status = 0;
        int fd = -1;

        for (;;) {
                int r = berth_sync_recv(sync_fd, &type, &status, &payload, &fd);
                if (r == -EPIPE || r == -ECONNRESET)
                        return 0;
                if (r < 0)
                        return berth_fail(err, -r, "read from the container process");
                if (fd >= 0)
                        close(fd);
                if (type == BERTH_SYNC_ERROR) {
                        berth_fail(err, 0, "%s", payload);
                        if (err && *err)
                                (*err)->status = status;
                        return status > 0 ? -status : -1;
                }
                free(steal_pointer(&payload));
        }
}
