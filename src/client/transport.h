/* SPDX-License-Identifier: Apache-2.0 */
/* Module-internal: the byte stream under the API client, plain (unix or
 * TCP socket) or TLS (GnuTLS), behind a small table of functions. */
#ifndef BERTH_CLIENT_TRANSPORT_H
#define BERTH_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "client.h"

struct berth_conn;

struct berth_transport {
        const char *name;
        /* Up to LEN bytes; 0 at the end of the stream; < 0 with *err filled. */
        ssize_t (*read)(struct berth_conn *c, void *buf, size_t len, berth_error **err);
        /* All of BUF, or < 0 with *err filled (EPIPE when the peer is gone). */
        int (*write_all)(struct berth_conn *c, const void *buf, size_t len, berth_error **err);
        /* Half-close: the peer reads the end of the stream; reading goes on. */
        void (*shutdown_write)(struct berth_conn *c);
        /* Bytes decoded and waiting inside the transport (poll cannot see them). */
        size_t (*pending)(struct berth_conn *c);
        void (*close)(struct berth_conn *c);
};

struct berth_conn {
        const struct berth_transport *ops;
        int fd;
        void *tls; /* gnutls_session_t for the TLS transport */
};

/* The TLS settings of a client: credentials loaded once. */
struct berth_tls_config;
int berth_tls_config_new(const struct berth_client_tls *o, struct berth_tls_config **ret,
                         berth_error **err);
void berth_tls_config_free(struct berth_tls_config *t);

/* Take over the connected socket FD (closed on failure too): plain, or a
 * TLS session with HOST (a name or an address) as the server's identity. */
void berth_conn_plain(struct berth_conn *c, int fd);
int berth_conn_tls(struct berth_conn *c, int fd, struct berth_tls_config *t, const char *host,
                   berth_error **err);
void berth_conn_close(struct berth_conn *c);

#endif
