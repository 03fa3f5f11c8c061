/* SPDX-License-Identifier: Apache-2.0 */
/* Streams over the API: Docker's multiplexed framing and the pump of a
 * hijacked (101 UPGRADED) connection for attach and exec. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int write_out(int fd, const void *buf, size_t len, berth_error **err)
{
        if (fd < 0 || len == 0)
                return 0;
        if (berth_write_all(fd, buf, len) < 0) {
                if (errno == EPIPE)
                        return berth_fail(err, EPIPE, "writing the output");
                return berth_fail_errno(err, "writing the output");
        }
        return 0;
}

int berth_demux_feed(struct berth_demux *d, const void *buf, size_t len, int out_fd, int err_fd,
                     berth_error **err)
{
        const uint8_t *p = buf;
        while (len > 0) {
                if (d->left == 0) {
                        size_t n = 8 - d->have;
                        if (n > len)
                                n = len;
                        memcpy(d->hdr + d->have, p, n);
                        d->have += n;
                        p += n;
                        len -= n;
                        if (d->have < 8)
                                return 0;
                        d->have = 0;
                        d->stream = d->hdr[0];
                        if (d->stream > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
                                return berth_fail(err, EPROTO,
                                                  "malformed multiplexed stream header");
                        d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                                  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
                        continue;
                }
                size_t n = d->left < len ? d->left : len;
                int r = write_out(d->stream == 2 ? err_fd : out_fd, p, n, err);
                if (r < 0)
                        return r;
                d->left -= (uint32_t)n;
                p += n;
                len -= n;
        }
        return 0;
}

/* The daemon's bytes to out/err: demultiplexed unless TTY. */
static int emit(struct berth_demux *d, bool tty, const char *buf, size_t n, int out_fd, int err_fd,
                berth_error **err)
{
        return tty ? write_out(out_fd, buf, n, err)
                   : berth_demux_feed(d, buf, n, out_fd, err_fd, err);
}

int berth_response_copy_stream(struct berth_response *r, bool tty, int out_fd, int err_fd,
                               berth_error **err)
{
        struct berth_demux d = {0};
        char buf[32768];
        for (;;) {
                ssize_t n = berth_response_read(r, buf, sizeof(buf), err);
                if (n <= 0)
                        return (int)n;
                int k = emit(&d, tty, buf, (size_t)n, out_fd, err_fd, err);
                if (k < 0)
                        return k;
        }
}

/* Where in KEYS the input BUF advances a partial match; returns true when
 * the whole sequence has been seen. */
static bool match_detach(const char *keys, size_t *matched, const char *buf, size_t len,
                         size_t *ret_pos)
{
        size_t klen = strlen(keys);
        for (size_t i = 0; i < len; i++) {
                if (buf[i] == keys[*matched]) {
                        if (++*matched == klen) {
                                *ret_pos = i;
                                return true;
                        }
                } else {
                        *matched = buf[i] == keys[0] ? 1 : 0;
                }
        }
        return false;
}

int berth_hijack_pump(struct berth_response *r, int in_fd, bool tty, int out_fd, int err_fd,
                      const char *detach_keys, berth_error **err)
{
        struct berth_demux d = {0};
        int sock = berth_response_fd(r);
        size_t matched = 0;
        bool in_open = in_fd >= 0;
        char buf[32768];
        int k;

        if (detach_keys != NULL && *detach_keys == '\0')
                detach_keys = NULL;
        if (!in_open)
                berth_response_close_write(r);
        for (;;) {
                /* Bytes already read from the socket (with the 101 response,
                 * or decoded by TLS) are not seen by poll. */
                bool buffered = berth_response_buffered(r) > 0;
                struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                                      {.fd = in_open ? in_fd : -1, .events = POLLIN}};
                if (TEMP_FAILURE_RETRY_INT(poll(p, 2, buffered ? 0 : -1)) < 0)
                        return berth_fail_errno(err, "poll");
                if (buffered)
                        p[0].revents |= POLLIN;
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = TEMP_FAILURE_RETRY_INT(read(in_fd, buf, sizeof(buf)));
                        if (n <= 0) {
                                in_open = false;
                                berth_response_close_write(r);
                        } else {
                                size_t len = (size_t)n, pos = 0;
                                bool detach = detach_keys != NULL && tty &&
                                              match_detach(detach_keys, &matched, buf, len, &pos);
                                if (detach) {
                                        /* Send what came before the sequence, minus its own bytes.
                                         */
                                        size_t klen = strlen(detach_keys);
                                        size_t send_len = pos + 1 >= klen ? pos + 1 - klen : 0;
                                        if (send_len > 0)
                                                (void)berth_response_write(r, buf, send_len, NULL);
                                        return 1;
                                }
                                if (berth_response_write(r, buf, len, NULL) < 0) {
                                        in_open = false;
                                        berth_response_close_write(r);
                                }
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = berth_response_read(r, buf, sizeof(buf), err);
                        if (n < 0) {
                                if (err && *err && (*err)->status == ECONNRESET) {
                                        berth_error_freep(err);
                                        return 0;
                                }
                                return (int)n;
                        }
                        if (n == 0)
                                return 0;
                        k = emit(&d, tty, buf, (size_t)n, out_fd, err_fd, err);
                        if (k < 0)
                                return k;
                }
        }
}
