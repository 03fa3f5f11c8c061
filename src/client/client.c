/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 client of the Docker Engine API: connections, requests, response
 * parsing (status line, headers, Content-Length / chunked / until-EOF
 * bodies), version negotiation and JSON helpers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "transport.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_HEADERS      100
#define MAX_ERROR_BODY   (1024 * 1024)
#define MAX_JSON_BODY    (256 * 1024 * 1024)

struct berth_client {
        char *host;
        char *unix_path; /* unix socket, or NULL for tcp */
        char *tcp_host;
        char *tcp_port;
        char *version;                /* negotiated, NULL before */
        struct berth_tls_config *tls; /* tcp:// with TLS, or NULL */
};

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

struct berth_response {
        struct berth_conn conn;
        int status;
        char **headers; /* "name: value" with the name lowercased */
        enum body_mode mode;
        uint64_t left;          /* BODY_LENGTH: bytes left; BODY_CHUNKED: bytes left in chunk */
        bool chunk_trailer_due; /* a CRLF follows the current chunk */
        bool done;
        char buf[16384];
        size_t pos, end;
        char *method;
        json_tokener *tok;
        char *tok_pending; /* unparsed tail of a JSON stream */
        size_t tok_pending_len;
};

int berth_client_new(const char *host, struct berth_client **ret, berth_error **err)
{
        struct berth_client *c;
        if (host == NULL || *host == '\0')
                return berth_fail(err, EINVAL, "empty daemon host");
        c = xmalloc0(sizeof(*c));
        c->host = xstrdup(host);
        if (berth_str_has_prefix(host, "unix://")) {
                c->unix_path = xstrdup(host + 7);
        } else if (host[0] == '/') {
                c->unix_path = xstrdup(host);
        } else if (berth_str_has_prefix(host, "tcp://") || berth_str_has_prefix(host, "http://")) {
                const char *h = strstr(host, "://") + 3;
                const char *end = h + strcspn(h, "/");
                const char *colon = NULL;
                if (*h == '[') {
                        const char *rb = memchr(h, ']', (size_t)(end - h));
                        if (rb != NULL && rb + 1 < end && rb[1] == ':')
                                colon = rb + 1;
                        c->tcp_host =
                            xstrndup(h + 1, rb ? (size_t)(rb - h - 1) : (size_t)(end - h - 1));
                } else {
                        colon = memchr(h, ':', (size_t)(end - h));
                        c->tcp_host = xstrndup(h, colon ? (size_t)(colon - h) : (size_t)(end - h));
                }
                c->tcp_port =
                    colon ? xstrndup(colon + 1, (size_t)(end - colon - 1)) : xstrdup("2375");
                if (*c->tcp_host == '\0') {
                        free(c->tcp_host);
                        c->tcp_host = xstrdup("localhost");
                }
        } else {
                berth_client_free(c);
                return berth_fail(err, EINVAL,
                                  "invalid daemon host `%s`: use unix:///path or tcp://host:port",
                                  host);
        }
        if (c->unix_path != NULL &&
            strlen(c->unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                berth_client_free(c);
                return berth_fail(err, ENAMETOOLONG, "socket path `%s`", host);
        }
        *ret = c;
        return 0;
}

void berth_client_free(struct berth_client *c)
{
        if (c == NULL)
                return;
        free(c->host);
        free(c->unix_path);
        free(c->tcp_host);
        free(c->tcp_port);
        free(c->version);
        berth_tls_config_free(c->tls);
        free(c);
}

int berth_client_set_tls(struct berth_client *c, const struct berth_client_tls *tls,
                         berth_error **err)
{
        struct berth_tls_config *t = NULL;
        if (c->unix_path != NULL)
                return berth_fail(err, EINVAL, "TLS is for tcp:// hosts, not `%s`", c->host);
        int r = berth_tls_config_new(tls, &t, err);
        if (r < 0)
                return r;
        berth_tls_config_free(c->tls);
        c->tls = t;
        return 0;
}

const char *berth_client_host(const struct berth_client *c)
{
        return c->host;
}

const char *berth_client_version(const struct berth_client *c)
{
        return c->version;
}

void berth_client_set_version(struct berth_client *c, const char *version)
{
        free(c->version);
        c->version = version ? xstrdup(version) : NULL;
}

static int connect_fail(struct berth_client *c, int e, berth_error **err)
{
        return berth_fail(err, e,
                          "Cannot connect to the Berth daemon at %s. Is the berthd daemon running?",
                          c->host);
}

int berth_client_connect(struct berth_client *c, berth_error **err)
{
        cleanup_close int fd = -1;
        if (c->unix_path != NULL) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                memcpy(sa.sun_path, c->unix_path, strlen(c->unix_path) + 1);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return berth_fail_errno(err, "socket");
                if (TEMP_FAILURE_RETRY_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
                        return connect_fail(c, errno, err);
                return steal_fd(&fd);
        }
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        int r = getaddrinfo(c->tcp_host, c->tcp_port, &hints, &ai);
        if (r != 0)
                return berth_fail(err, EHOSTUNREACH, "resolving `%s`: %s", c->tcp_host,
                                  gai_strerror(r));
        int last = ECONNREFUSED;
        for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0) {
                        last = errno;
                        continue;
                }
                if (TEMP_FAILURE_RETRY_INT(connect(fd, a->ai_addr, a->ai_addrlen)) == 0)
                        break;
                last = errno;
                berth_closep(&fd);
        }
        freeaddrinfo(ai);
        if (fd < 0)
                return connect_fail(c, last, err);
        return steal_fd(&fd);
}

int berth_response_status(const struct berth_response *r)
{
        return r->status;
}

int berth_response_fd(const struct berth_response *r)
{
        return r->conn.fd;
}

size_t berth_response_buffered(const struct berth_response *r)
{
        struct berth_conn *conn = (struct berth_conn *)&r->conn;
        return r->end - r->pos + conn->ops->pending(conn);
}

int berth_response_write(struct berth_response *r, const void *buf, size_t len, berth_error **err)
{
        return r->conn.ops->write_all(&r->conn, buf, len, err);
}

void berth_response_close_write(struct berth_response *r)
{
        r->conn.ops->shutdown_write(&r->conn);
}

const char *berth_response_header(const struct berth_response *r, const char *name)
{
        size_t n = strlen(name);
        for (char **h = r->headers; h && *h; h++)
                if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
                        const char *v = *h + n + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        return v;
                }
        return NULL;
}

void berth_response_free(struct berth_response *r)
{
        if (r == NULL)
                return;
        berth_conn_close(&r->conn);
        berth_strv_freep(&r->headers);
        free(r->method);
        if (r->tok != NULL)
                json_tokener_free(r->tok);
        free(r->tok_pending);
        free(r);
}

/* Fill the buffer with more bytes from the socket; 0 at EOF. */
static ssize_t fill(struct berth_response *r, berth_error **err)
{
        if (r->pos == r->end)
                r->pos = r->end = 0;
        if (r->end == sizeof(r->buf)) {
                memmove(r->buf, r->buf + r->pos, r->end - r->pos);
                r->end -= r->pos;
                r->pos = 0;
                if (r->end == sizeof(r->buf))
                        return berth_fail(err, E2BIG, "response line too long");
        }
        ssize_t n = r->conn.ops->read(&r->conn, r->buf + r->end, sizeof(r->buf) - r->end, err);
        if (n < 0)
                return n;
        r->end += (size_t)n;
        return n;
}

/* A CRLF- (or LF-) terminated line from the buffer; NULL at EOF. */
static int read_line(struct berth_response *r, char **ret, berth_error **err)
{
        for (;;) {
                char *nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
                if (nl != NULL) {
                        size_t len = (size_t)(nl - (r->buf + r->pos));
                        /* No NUL may hide in a protocol line: it would cut
                         * the string short of the length we index with. */
                        if (memchr(r->buf + r->pos, '\0', len) != NULL)
                                return berth_fail(err, EPROTO,
                                                  "malformed response from the daemon (NUL byte)");
                        char *line = xstrndup(r->buf + r->pos, len);
                        if (len > 0 && line[len - 1] == '\r')
                                line[len - 1] = '\0';
                        r->pos += len + 1;
                        *ret = line;
                        return 1;
                }
                ssize_t n = fill(r, err);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        return 0;
        }
}

static int read_head(struct berth_response *r, const char *method, berth_error **err)
{
        cleanup_free char *status = NULL;
        size_t total = 0, nh = 0;
        int k = read_line(r, &status, err);
        if (k < 0)
                return k;
        if (k == 0)
                return berth_fail(err, EPROTO,
                                  "the daemon closed the connection without answering");
        if (strncmp(status, "HTTP/1.", 7) != 0 || strlen(status) < 12)
                return berth_fail(err, EPROTO, "malformed status line from the daemon: `%.80s`",
                                  status);
        r->status = atoi(status + 9);
        r->headers = xmalloc0(sizeof(char *));
        for (;;) {
                char *line = NULL;
                k = read_line(r, &line, err);
                if (k < 0)
                        return k;
                if (k == 0)
                        return berth_fail(err, EPROTO,
                                          "the daemon closed the connection in the headers");
                if (*line == '\0') {
                        free(line);
                        break;
                }
                total += strlen(line);
                if (total > MAX_HEADER_BYTES || nh >= MAX_HEADERS) {
                        free(line);
                        return berth_fail(err, E2BIG, "response headers too large");
                }
                for (char *p = line; *p && *p != ':'; p++)
                        *p = (char)tolower((unsigned char)*p);
                r->headers = xrealloc(r->headers, (nh + 2) * sizeof(char *));
                r->headers[nh++] = line;
                r->headers[nh] = NULL;
        }
        const char *te = berth_response_header(r, "transfer-encoding");
        const char *cl = berth_response_header(r, "content-length");
        if (r->status == 101) {
                r->mode = BODY_EOF;
        } else if (strcmp(method, "HEAD") == 0 || r->status == 204 || r->status == 304 ||
                   r->status / 100 == 1) {
                r->mode = BODY_NONE;
        } else if (te != NULL && strcasestr(te, "chunked") != NULL) {
                r->mode = BODY_CHUNKED;
                r->left = 0;
        } else if (cl != NULL) {
                uint64_t v;
                if (berth_parse_uint64(cl, &v) < 0)
                        return berth_fail(err, EPROTO, "bad Content-Length `%s` from the daemon",
                                          cl);
                r->mode = BODY_LENGTH;
                r->left = v;
        } else {
                r->mode = BODY_EOF;
        }
        r->done = r->mode == BODY_NONE || (r->mode == BODY_LENGTH && r->left == 0);
        return 0;
}

static int send_all(struct berth_conn *conn, const void *buf, size_t len, berth_error **err)
{
        return conn->ops->write_all(conn, buf, len, err);
}

static int send_fd_chunked(struct berth_conn *sock, int in, berth_error **err)
{
        cleanup_free char *buf = xmalloc(65536 + 32);
        for (;;) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(read(in, buf + 16, 65536));
                if (n < 0)
                        return berth_fail_errno(err, "reading the request body");
                if (n == 0)
                        break;
                char hdr[17];
                int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)n);
                memcpy(buf + 16 - hl, hdr, (size_t)hl);
                memcpy(buf + 16 + n, "\r\n", 2);
                int r = send_all(sock, buf + 16 - hl, (size_t)hl + (size_t)n + 2, err);
                if (r < 0)
                        return r;
        }
        return send_all(sock, "0\r\n\r\n", 5, err);
}

static int request(struct berth_client *c, const char *method, const char *path,
                   const struct berth_request *req, bool defer_head, struct berth_response **ret,
                   berth_error **err)
{
        static const struct berth_request none = {.body_fd = -1};
        struct berth_response *resp = NULL;
        cleanup_free char *head = NULL;
        size_t head_len = 0;
        FILE *f;
        int r;

        if (req == NULL)
                req = &none;
        int fd = berth_client_connect(c, err);
        if (fd < 0)
                return fd;
        resp = xmalloc0(sizeof(*resp));
        resp->method = xstrdup(method);
        if (c->tls != NULL) {
                r = berth_conn_tls(&resp->conn, fd, c->tls, c->tcp_host, err);
                if (r < 0) {
                        berth_response_free(resp);
                        return r;
                }
        } else {
                berth_conn_plain(&resp->conn, fd);
        }
        f = open_memstream(&head, &head_len);
        if (c->version != NULL && !req->no_version)
                fprintf(f, "%s /v%s%s HTTP/1.1\r\n", method, c->version, path);
        else
                fprintf(f, "%s %s HTTP/1.1\r\n", method, path);
        fprintf(f, "Host: %s\r\nUser-Agent: Berth-Client/0.1 (linux)\r\n",
                c->unix_path ? "api.moby.localhost" : c->tcp_host);
        if (req->upgrade)
                fputs("Connection: Upgrade\r\nUpgrade: tcp\r\n", f);
        else
                fputs("Connection: close\r\n", f);
        if (req->content_type != NULL)
                fprintf(f, "Content-Type: %s\r\n", req->content_type);
        if (req->body_fd >= 0)
                fputs("Transfer-Encoding: chunked\r\n", f);
        else if (req->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
                fprintf(f, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
        for (char *const *h = req->headers; h && *h; h++)
                fprintf(f, "%s\r\n", *h);
        fputs("\r\n", f);
        if (fclose(f) != 0) {
                berth_response_free(resp);
                return berth_fail_errno(err, "building the request");
        }
        r = send_all(&resp->conn, head, head_len, err);
        if (r == 0 && req->body != NULL && req->body_len > 0)
                r = send_all(&resp->conn, req->body, req->body_len, err);
        if (r == 0 && req->body_fd >= 0)
                r = send_fd_chunked(&resp->conn, req->body_fd, err);
        if (r < 0 && !(err && *err && (*err)->status == EPIPE)) {
                berth_response_free(resp);
                return r;
        }
        /* On EPIPE the daemon may still have answered (e.g. 413): read it. */
        if (r < 0 && err)
                berth_error_freep(err);

        if (!defer_head) {
                r = read_head(resp, method, err);
                if (r < 0) {
                        berth_response_free(resp);
                        return r;
                }
        }
        *ret = resp;
        return 0;
}

int berth_client_request(struct berth_client *c, const char *method, const char *path,
                         const struct berth_request *req, struct berth_response **ret,
                         berth_error **err)
{
        return request(c, method, path, req, false, ret, err);
}

int berth_client_send(struct berth_client *c, const char *method, const char *path,
                      const struct berth_request *req, struct berth_response **ret,
                      berth_error **err)
{
        return request(c, method, path, req, true, ret, err);
}

int berth_response_head(struct berth_response *r, berth_error **err)
{
        if (r->headers != NULL)
                return 0;
        return read_head(r, r->method, err);
}

static ssize_t take(struct berth_response *r, void *buf, size_t len)
{
        size_t n = r->end - r->pos;
        if (n > len)
                n = len;
        memcpy(buf, r->buf + r->pos, n);
        r->pos += n;
        return (ssize_t)n;
}

ssize_t berth_response_read(struct berth_response *r, void *buf, size_t len, berth_error **err)
{
        ssize_t n;
        if (r->done || len == 0)
                return 0;
        switch (r->mode) {
        case BODY_NONE:
                return 0;
        case BODY_EOF:
                if (r->pos == r->end) {
                        n = fill(r, err);
                        if (n <= 0) {
                                r->done = n == 0;
                                return n;
                        }
                }
                return take(r, buf, len);
        case BODY_LENGTH:
                if (r->pos == r->end) {
                        n = fill(r, err);
                        if (n < 0)
                                return n;
                        if (n == 0)
                                return berth_fail(err, EPROTO,
                                                  "the daemon closed the connection mid-body");
                }
                if ((uint64_t)len > r->left)
                        len = (size_t)r->left;
                n = take(r, buf, len);
                r->left -= (uint64_t)n;
                r->done = r->left == 0;
                return n;
        case BODY_CHUNKED:
                while (r->left == 0) {
                        cleanup_free char *line = NULL;
                        int k;
                        if (r->chunk_trailer_due) {
                                k = read_line(r, &line, err);
                                if (k <= 0)
                                        return k < 0 ? k
                                                     : berth_fail(err, EPROTO, "truncated chunk");
                                free(steal_pointer(&line));
                                r->chunk_trailer_due = false;
                        }
                        k = read_line(r, &line, err);
                        if (k < 0)
                                return k;
                        if (k == 0) /* a daemon killed mid-stream: treat as the end */
                                return berth_fail(err, EPROTO,
                                                  "the daemon closed the stream unexpectedly");
                        char *end = NULL;
                        errno = 0;
                        unsigned long long v = strtoull(line, &end, 16);
                        if (end == line || errno != 0)
                                return berth_fail(err, EPROTO, "bad chunk size `%.40s`", line);
                        if (v == 0) {
                                /* trailers up to the empty line */
                                for (;;) {
                                        cleanup_free char *t = NULL;
                                        k = read_line(r, &t, err);
                                        if (k < 0)
                                                return k;
                                        if (k == 0 || *t == '\0')
                                                break;
                                }
                                r->done = true;
                                return 0;
                        }
                        r->left = v;
                        r->chunk_trailer_due = true;
                }
                if (r->pos == r->end) {
                        n = fill(r, err);
                        if (n < 0)
                                return n;
                        if (n == 0)
                                return berth_fail(err, EPROTO,
                                                  "the daemon closed the stream unexpectedly");
                }
                if ((uint64_t)len > r->left)
                        len = (size_t)r->left;
                n = take(r, buf, len);
                r->left -= (uint64_t)n;
                return n;
        }
        return 0;
}

int berth_response_read_all(struct berth_response *r, size_t max, char **ret, size_t *ret_len,
                            berth_error **err)
{
        cleanup_free char *out = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (cap - len < 4097) {
                        cap = cap ? cap * 2 : 8192;
                        out = xrealloc(out, cap);
                }
                ssize_t n = berth_response_read(r, out + len, cap - len - 1, err);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return berth_fail(err, E2BIG, "response body larger than %zu bytes", max);
        }
        if (out == NULL)
                out = xmalloc(1);
        out[len] = '\0';
        *ret = steal_pointer(&out);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int berth_response_json(struct berth_response *r, json_object **ret, berth_error **err)
{
        cleanup_free char *body = NULL;
        size_t len = 0;
        int k = berth_response_read_all(r, MAX_JSON_BODY, &body, &len, err);
        if (k < 0)
                return k;
        const char *p = body;
        while (*p && isspace((unsigned char)*p))
                p++;
        if (*p == '\0') {
                *ret = NULL;
                return 0;
        }
        return berth_json_parse(body, len, "the daemon's response", ret, err);
}

int berth_response_next_json(struct berth_response *r, json_object **ret, berth_error **err)
{
        if (r->tok == NULL) {
                r->tok = json_tokener_new_ex(64);
                json_tokener_set_flags(r->tok, 0);
        }
        for (;;) {
                /* Parse what is pending first. */
                while (r->tok_pending_len > 0) {
                        json_object *o =
                            json_tokener_parse_ex(r->tok, r->tok_pending, (int)r->tok_pending_len);
                        enum json_tokener_error e = json_tokener_get_error(r->tok);
                        if (o != NULL) {
                                size_t used = json_tokener_get_parse_end(r->tok);
                                memmove(r->tok_pending, r->tok_pending + used,
                                        r->tok_pending_len - used);
                                r->tok_pending_len -= used;
                                json_tokener_reset(r->tok);
                                *ret = o;
                                return 1;
                        }
                        r->tok_pending_len = 0;
                        if (e == json_tokener_continue)
                                break;
                        json_tokener_reset(r->tok);
                        return berth_fail(err, EPROTO, "malformed JSON in the daemon's stream: %s",
                                          json_tokener_error_desc(e));
                }
                char buf[8192];
                ssize_t n = berth_response_read(r, buf, sizeof(buf), err);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        return 0;
                r->tok_pending = xrealloc(r->tok_pending, r->tok_pending_len + (size_t)n);
                memcpy(r->tok_pending + r->tok_pending_len, buf, (size_t)n);
                r->tok_pending_len += (size_t)n;
        }
}

static int status_errno(int status)
{
        switch (status) {
        case 404:
                return ENOENT;
        case 409:
                return EEXIST;
        case 400:
                return EINVAL;
        case 401:
        case 403:
                return EPERM;
        case 304:
                return EALREADY;
        default:
                return EIO;
        }
}

int berth_response_check(struct berth_response *r, berth_error **err)
{
        if (r->status < 400)
                return 0;
        cleanup_free char *body = NULL;
        cleanup_json json_object *o = NULL;
        cleanup_error berth_error *e2 = NULL;
        const char *msg = NULL;
        if (berth_response_read_all(r, MAX_ERROR_BODY, &body, NULL, &e2) == 0) {
                if (berth_json_parse(body, strlen(body), "error", &o, &e2) == 0 &&
                    json_object_is_type(o, json_type_object))
                        msg = berth_json_str(o, "message");
                if (msg == NULL) {
                        size_t l = strlen(body);
                        while (l > 0 && isspace((unsigned char)body[l - 1]))
                                body[--l] = '\0';
                        msg = *body ? body : NULL;
                }
        }
        if (msg == NULL)
                msg = "(no message)";
        int ret = berth_fail(err, 0, "Error response from daemon: %s", msg);
        if (err && *err)
                (*err)->status = status_errno(r->status);
        return ret;
}

int berth_client_call(struct berth_client *c, const char *method, const char *path,
                      json_object *body, json_object **ret, berth_error **err)
{
        cleanup_response struct berth_response *r = NULL;
        struct berth_request req = {.body_fd = -1};
        if (body != NULL) {
                req.content_type = "application/json";
                req.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
                req.body_len = strlen(req.body);
        }
        int k = berth_client_request(c, method, path, &req, &r, err);
        if (k < 0)
                return k;
        k = berth_response_check(r, err);
        if (k < 0)
                return k;
        if (ret == NULL)
                return 0;
        return berth_response_json(r, ret, err);
}

static int version_cmp(const char *a, const char *b)
{
        int am = 0, an = 0, bm = 0, bn = 0;
        (void)sscanf(a, "%d.%d", &am, &an);
        (void)sscanf(b, "%d.%d", &bm, &bn);
        if (am != bm)
                return am < bm ? -1 : 1;
        return an < bn ? -1 : an > bn;
}

int berth_client_ping(struct berth_client *c, berth_error **err)
{
        cleanup_response struct berth_response *r = NULL;
        struct berth_request req = {.body_fd = -1, .no_version = true};
        int k = berth_client_request(c, "HEAD", "/_ping", &req, &r, err);
        if (k < 0)
                return k;
        if (r->status == 405 || r->status == 404) {
                berth_response_free(steal_pointer(&r));
                k = berth_client_request(c, "GET", "/_ping", &req, &r, err);
                if (k < 0)
                        return k;
        }
        k = berth_response_check(r, err);
        if (k < 0)
                return k;
        if (c->version != NULL)
                return 0;
        const char *v = berth_response_header(r, "api-version");
        if (v == NULL || version_cmp(v, "1.24") < 0)
                v = "1.24";
        if (version_cmp(v, BERTH_CLIENT_API_VERSION) > 0)
                v = BERTH_CLIENT_API_VERSION;
        c->version = xstrdup(v);
        return 0;
}

char *berth_url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
                        *o++ = (char)*p;
                } else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
        return out;
}
