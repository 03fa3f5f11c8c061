/* SPDX-License-Identifier: Apache-2.0 */
/* The Docker Engine API client of `berth` (and later compose): HTTP/1.1 over
 * a unix socket, plain TCP or TLS, one connection per request, API version
 * negotiation through /_ping, chunked and streamed responses, JSON-stream
 * bodies, and hijacked (101 UPGRADED) connections for attach and exec with
 * Docker's 8-byte multiplexed framing. */
#ifndef BERTH_CLIENT_CLIENT_H
#define BERTH_CLIENT_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* The newest API version the client speaks; it downgrades to the daemon's. */
#define BERTH_CLIENT_API_VERSION "1.45"

struct berth_client;
struct berth_response;

/* HOST is "unix:///path", "tcp://host:port" or a bare "/path". */
int berth_client_new(const char *host, struct berth_client **ret, berth_error **err);
void berth_client_free(struct berth_client *c);
static inline void berth_client_freep(struct berth_client **c)
{
        berth_client_free(*c);
        *c = NULL;
}
#define cleanup_client __attribute__((cleanup(berth_client_freep)))

const char *berth_client_host(const struct berth_client *c);
/* The negotiated version ("1.41"), or NULL before berth_client_ping(). */
const char *berth_client_version(const struct berth_client *c);
/* Pin the version (no negotiation) — DOCKER_API_VERSION. */
void berth_client_set_version(struct berth_client *c, const char *version);

/* TLS for a tcp:// host (docker's --tls / --tlsverify): the daemon's
 * certificate is checked against CA_FILE (the system's CAs when NULL) and
 * the host name when VERIFY; CERT_FILE and KEY_FILE (PEM) are the client's
 * certificate, both or neither. */
struct berth_client_tls {
        const char *ca_file;
        const char *cert_file;
        const char *key_file;
        bool verify;
};
int berth_client_set_tls(struct berth_client *c, const struct berth_client_tls *tls,
                         berth_error **err);

/* HEAD /_ping: negotiates the version (min of ours and the daemon's
 * Api-Version). Fails with ECONNREFUSED / ENOENT when no daemon answers. */
int berth_client_ping(struct berth_client *c, berth_error **err);

/* A new connected socket to the daemon (O_CLOEXEC). */
int berth_client_connect(struct berth_client *c, berth_error **err);

struct berth_request {
        const char *content_type; /* NULL: none (and no body unless given) */
        const void *body;         /* a body in memory ... */
        size_t body_len;
        int body_fd;          /* ... or streamed from an fd (chunked); -1: none */
        char *const *headers; /* extra "Name: value" lines, NULL-terminated */
        bool upgrade;         /* Connection: Upgrade, Upgrade: tcp (hijack) */
        bool no_version;      /* do not prefix the path with /vX.Y */
};

/* Send METHOD PATH (PATH starts with '/', may carry a query string; the
 * /vX.Y prefix is added) and read the status line and headers. Any HTTP
 * status is a success here: check berth_response_status() or use
 * berth_response_check(). REQ may be NULL. */
int berth_client_request(struct berth_client *c, const char *method, const char *path,
                         const struct berth_request *req, struct berth_response **ret,
                         berth_error **err);

/* Send the request but do not wait for the answer: for requests whose
 * answer comes later (POST /containers/{id}/wait before start); read the
 * head with berth_response_head() before using the response. */
int berth_client_send(struct berth_client *c, const char *method, const char *path,
                      const struct berth_request *req, struct berth_response **ret,
                      berth_error **err);
int berth_response_head(struct berth_response *r, berth_error **err);

int berth_response_status(const struct berth_response *r);
/* A response header (case-insensitive name), or NULL. */
const char *berth_response_header(const struct berth_response *r, const char *name);
/* The socket: after a 101 it is the raw stream (read through
 * berth_response_read() first: it may hold buffered bytes). */
int berth_response_fd(const struct berth_response *r);
/* Bytes already buffered beyond the headers / the decoded body (including
 * what the TLS layer has decoded): readable without waiting on the fd. */
size_t berth_response_buffered(const struct berth_response *r);
/* On a hijacked stream: write all of BUF to the daemon, or half-close
 * (through TLS when in use). */
int berth_response_write(struct berth_response *r, const void *buf, size_t len, berth_error **err);
void berth_response_close_write(struct berth_response *r);

/* Read the decoded body (Content-Length, chunked, or up to EOF for
 * responses without length and for hijacked streams). 0 at the end. */
ssize_t berth_response_read(struct berth_response *r, void *buf, size_t len, berth_error **err);
/* The whole body, NUL-terminated; at most MAX bytes (E2BIG beyond). */
int berth_response_read_all(struct berth_response *r, size_t max, char **ret, size_t *ret_len,
                            berth_error **err);
/* The body as one JSON document. */
int berth_response_json(struct berth_response *r, json_object **ret, berth_error **err);
/* The next value of a JSON stream body (objects one after another, any
 * whitespace between them); returns 1 with *ret set, 0 at the end. */
int berth_response_next_json(struct berth_response *r, json_object **ret, berth_error **err);

/* When the status is >= 400: read {"message"} and fail with
 * "Error response from daemon: <message>" (no strerror suffix; the error's
 * status maps 404 -> ENOENT, 409 -> EEXIST, 400 -> EINVAL, else EIO).
 * Returns 0 for a 1xx/2xx/3xx status. */
int berth_response_check(struct berth_response *r, berth_error **err);

void berth_response_free(struct berth_response *r);
static inline void berth_response_freep(struct berth_response **r)
{
        berth_response_free(*r);
        *r = NULL;
}
#define cleanup_response __attribute__((cleanup(berth_response_freep)))

/* A request with an optional JSON body whose JSON answer (NULL for an empty
 * body) is returned; errors as berth_response_check(). RET may be NULL. */
int berth_client_call(struct berth_client *c, const char *method, const char *path,
                      json_object *body, json_object **ret, berth_error **err);

/* Percent-encode a query-string component. */
char *berth_url_escape(const char *s);

/* Docker's multiplexed stream framing ([stream,0,0,0,size_be32] + payload):
 * an incremental decoder writing payloads to out_fd (stream 1) / err_fd
 * (stream 2; 0 goes to out_fd). */
struct berth_demux {
        uint8_t hdr[8];
        size_t have;
        uint32_t left;
        int stream;
};
int berth_demux_feed(struct berth_demux *d, const void *buf, size_t len, int out_fd, int err_fd,
                     berth_error **err);

/* Copy a response body to out/err fds: demultiplexed unless TTY. */
int berth_response_copy_stream(struct berth_response *r, bool tty, int out_fd, int err_fd,
                               berth_error **err);

/* Pump a hijacked connection: IN_FD (or -1) up to the daemon, with a
 * half-close (shutdown SHUT_WR) at its EOF; the daemon's output down to
 * out/err fds (demultiplexed unless TTY) until the daemon closes. When
 * DETACH_KEYS is not NULL and TTY input contains that sequence (raw bytes,
 * e.g. "\x10\x11" for ctrl-p,ctrl-q), the pump stops and returns 1. */
int berth_hijack_pump(struct berth_response *r, int in_fd, bool tty, int out_fd, int err_fd,
                      const char *detach_keys, berth_error **err);

#endif
