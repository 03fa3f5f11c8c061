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

/* One datagram carries at most SYNC_CHUNK bytes of payload; a longer
 * payload (a state with big annotations) goes as several, all but the last
 * marked `more`. SYNC_PAYLOAD_MAX bounds what a receiver accumulates. */
#define SYNC_CHUNK       32768
#define SYNC_PAYLOAD_MAX (64u * 1024 * 1024)

struct sync_hdr {
        int32_t type;
        int32_t status;
        int32_t more; /* 1: the payload goes on in the next datagram */
};

static int send_one(int fd, const struct sync_hdr *h, const char *data, size_t len, int pass_fd)
{
        struct iovec iov[2] = {
            {.iov_base = (void *)h, .iov_len = sizeof(*h)},
            {.iov_base = (void *)data, .iov_len = len},
        };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

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

int berth_sync_send(int fd, enum berth_sync_type type, int status, const char *payload, int pass_fd)
{
        struct sync_hdr h = {.type = (int32_t)type, .status = status};
        const char *p = payload ? payload : "";
        size_t len = strlen(p);

        if (len > SYNC_PAYLOAD_MAX)
                return -E2BIG;
        for (;;) {
                size_t n = len > SYNC_CHUNK ? SYNC_CHUNK : len;
                int r;

                h.more = len > n;
                r = send_one(fd, &h, p, n, pass_fd);
                if (r < 0)
                        return r;
                pass_fd = -1;
                p += n;
                len -= n;
                if (!h.more)
                        return 0;
        }
}

/* One datagram into CHUNK (header, then payload); a passed fd goes to
 * *PASSED. Returns the payload's length or a negative errno. */
static int recv_one(int fd, struct sync_hdr *h, char *chunk, int *passed)
{
        union {
                char cbuf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = chunk, .iov_len = sizeof(*h) + SYNC_CHUNK};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.cbuf,
                             .msg_controllen = sizeof(u.cbuf)};
        ssize_t n;

        do
                n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        int got;
                        memcpy(&got, CMSG_DATA(c), sizeof(int));
                        if (*passed >= 0)
                                close(*passed);
                        *passed = got;
                }
        }
        if (n == 0)
                return -EPIPE;
        if ((size_t)n < sizeof(*h) || (msg.msg_flags & MSG_TRUNC))
                return -EPROTO;
        memcpy(h, chunk, sizeof(*h));
        return (int)((size_t)n - sizeof(*h));
}

int berth_sync_recv(int fd, enum berth_sync_type *ret_type, int *ret_status, char **ret_payload,
                    int *ret_fd)
{
        cleanup_free char *chunk = xmalloc(sizeof(struct sync_hdr) + SYNC_CHUNK);
        cleanup_free char *payload = NULL;
        size_t len = 0;
        struct sync_hdr h;
        int passed = -1;

        for (;;) {
                int n = recv_one(fd, &h, chunk, &passed);
                if (n < 0 || len + (size_t)n > SYNC_PAYLOAD_MAX) {
                        if (passed >= 0)
                                close(passed);
                        return n < 0 ? n : -E2BIG;
                }
                payload = xrealloc(payload, len + (size_t)n + 1);
                memcpy(payload + len, chunk + sizeof(h), (size_t)n);
                len += (size_t)n;
                payload[len] = '\0';
                if (!h.more)
                        break;
        }
        *ret_type = (enum berth_sync_type)h.type;
        if (ret_status)
                *ret_status = h.status;
        if (ret_payload)
                *ret_payload = steal_pointer(&payload);
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
