/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP transport: libmicrohttpd in thread-per-connection mode behind
 * the small request/response model of api-internal.h. Listeners (unix,
 * tcp, tcp+tls), request bodies (buffered with a limit, or streamed to a
 * worker thread through a pipe), buffered / chunked / streamed answers and
 * hijacked (101 UPGRADED) connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "berth-version.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define STREAM_BLOCK (64u << 10)

/* ---- logging ---------------------------------------------------------- */

void api_log(struct berth_api *api, enum berth_api_log_level level, const char *fmt, ...)
{
        static const char *const names[] = {"error", "warning", "info", "debug"};
        if ((int)level > atomic_load(&api->log_level))
                return;
        va_list ap;
        va_start(ap, fmt);
        cleanup_free char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (api->cfg.log != NULL) {
                api->cfg.log(api->cfg.log_ctx, level, msg);
                return;
        }
        fprintf(stderr, "level=%s msg=\"%s\"\n", names[level], msg);
}

/* ---- threads ---------------------------------------------------------- */

struct spawned {
        struct berth_api *api;
        void (*fn)(void *);
        void *ctx;
};

static void *spawned_main(void *p)
{
        struct spawned *s = p;
        s->fn(s->ctx);
        atomic_fetch_sub(&s->api->active, 1);
        free(s);
        return NULL;
}

int api_spawn(struct berth_api *api, void (*fn)(void *), void *ctx)
{
        pthread_t t;
        pthread_attr_t attr;
        struct spawned *s = xmalloc(sizeof(*s));
        int r;

        *s = (struct spawned){api, fn, ctx};
        atomic_fetch_add(&api->active, 1);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&t, &attr, spawned_main, s);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                atomic_fetch_sub(&api->active, 1);
                free(s);
                return -r;
        }
        return 0;
}

/* ---- the request ---------------------------------------------------- */

const char *api_query(struct api_req *r, const char *key)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool api_query_bool(struct api_req *r, const char *key, bool dflt)
{
        const char *v = api_query(r, key);
        if (v == NULL)
                return dflt;
        if (*v == '\0')
                /* "?force" without a value: Go's r.Form has "" -> false,
                 * but dockerd's BoolValue treats only "", "0", "no",
                 * "false", "none" as false. */
                return false;
        return !(strcasecmp(v, "0") == 0 || strcasecmp(v, "no") == 0 ||
                 strcasecmp(v, "false") == 0 || strcasecmp(v, "none") == 0);
}

bool api_query_int(struct api_req *r, const char *key, long long dflt, long long *ret)
{
        const char *v = api_query(r, key);
        int64_t n;
        if (v == NULL || *v == '\0') {
                *ret = dflt;
                return true;
        }
        if (berth_parse_int64(v, &n) < 0) {
                api_reply_error(r, 400, "invalid value for %s: `%s` is not an integer", key, v);
                return false;
        }
        *ret = n;
        return true;
}

const char *api_header(struct api_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

json_object *api_body_json(struct api_req *r, bool allow_empty)
{
        cleanup_error berth_error *err = NULL;
        json_object *o = NULL;
        size_t i;

        for (i = 0; i < r->body_len; i++)
                if (!strchr(" \t\r\n", r->body[i]))
                        break;
        if (i == r->body_len) {
                if (allow_empty)
                        return json_object_new_object();
                api_reply_error(r, 400,
                                "bad parameter: the request body is empty, expected a JSON object");
                return NULL;
        }
        if (berth_json_parse(r->body, r->body_len, "the request body", &o, &err) < 0) {
                api_reply_error(r, 400, "%s", err->msg);
                return NULL;
        }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                api_reply_error(r, 400, "the request body must be a JSON object");
                return NULL;
        }
        return o;
}

bool api_query_filters(struct api_req *r, json_object **ret)
{
        cleanup_error berth_error *err = NULL;
        const char *v = api_query(r, "filters");
        json_object *o = NULL;

        *ret = NULL;
        if (v == NULL || *v == '\0')
                return true;
        if (berth_json_parse(v, strlen(v), "filters", &o, &err) < 0) {
                api_reply_error(r, 400, "invalid filter: %s", err->msg);
                return false;
        }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                api_reply_error(r, 400, "invalid filter: `%s` is not a JSON object", v);
                return false;
        }
        *ret = o;
        return true;
}

/* ---- answers ---------------------------------------------------------- */

static void resp_clear(struct api_resp *p)
{
        free(p->ctype);
        free(p->body);
        if (p->stream_fd >= 0)
                close(p->stream_fd);
        if (p->stream_end != NULL)
                p->stream_end(p->stream_end_ctx);
        for (size_t i = 0; i < p->n_hdr; i++) {
                free(p->hdr_name[i]);
                free(p->hdr_value[i]);
        }
        if (p->upgrade_free != NULL && p->upgrade_ctx != NULL)
                p->upgrade_free(p->upgrade_ctx);
        *p = (struct api_resp){.stream_fd = -1};
}

void api_reply(struct api_req *r, int status, const char *ctype, char *body, size_t len)
{
        if (r->resp.status != 0) {
                /* The first answer wins; a later one is a bug in the caller. */
                free(body);
                return;
        }
        r->resp.status = status;
        r->resp.ctype = ctype ? xstrdup(ctype) : NULL;
        r->resp.body = body;
        r->resp.len = len;
}

char *api_json_string(json_object *o, size_t *ret_len)
{
        size_t len;
        const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        char *out = xmalloc(len + 2);
        memcpy(out, s, len);
        out[len++] = '\n';
        out[len] = '\0';
        *ret_len = len;
        return out;
}

void api_reply_json(struct api_req *r, int status, json_object *o)
{
        size_t len;
        char *s = api_json_string(o, &len);
        api_reply(r, status, "application/json", s, len);
}

void api_reply_json_chunked(struct api_req *r, int status, json_object *o)
{
        api_reply_json(r, status, o);
        r->resp.chunked = true;
}

void api_reply_empty(struct api_req *r, int status)
{
        api_reply(r, status, NULL, NULL, 0);
}

void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
{
        va_list ap;
        cleanup_free char *msg = NULL;
        cleanup_json json_object *o = json_object_new_object();

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        json_object_object_add(o, "message", json_object_new_string(msg));
        api_log(r->api, status >= 500 ? BERTH_API_LOG_ERROR : BERTH_API_LOG_DEBUG, "%s %s: %d %s",
                r->method, r->url, status, msg);
        api_reply_json(r, status, o);
}

void api_reply_berr(struct api_req *r, const berth_error *err)
{
        int status = berth_errno_http_status(berth_error_status(err));
        if (status == 304) {
                api_reply_empty(r, 304);
                return;
        }
        api_reply_error(r, status, "%s", err && err->msg ? err->msg : "internal error");
}

void api_add_header(struct api_req *r, const char *name, const char *value)
{
        if (r->resp.n_hdr >= API_MAX_EXTRA_HEADERS)
                return;
        r->resp.hdr_name[r->resp.n_hdr] = xstrdup(name);
        r->resp.hdr_value[r->resp.n_hdr] = xstrdup(value);
        r->resp.n_hdr++;
}

void api_reply_fd(struct api_req *r, int status, const char *ctype, int fd)
{
        if (r->resp.status != 0) {
                close(fd);
                return;
        }
        r->resp.status = status;
        r->resp.ctype = ctype ? xstrdup(ctype) : NULL;
        r->resp.stream_fd = fd;
}

void api_reply_fd_end(struct api_req *r, int status, const char *ctype, int fd,
                      void (*end)(void *ctx), void *ctx)
{
        if (r->resp.status != 0) {
                close(fd);
                end(ctx);
                return;
        }
        api_reply_fd(r, status, ctype, fd);
        r->resp.stream_end = end;
        r->resp.stream_end_ctx = ctx;
}

struct stream_job {
        api_stream_fn fn;
        void *ctx;
        void (*free_ctx)(void *);
        int fd;
};

static void stream_job_main(void *p)
{
        struct stream_job *j = p;
        j->fn(j->ctx, j->fd);
        close(j->fd);
        if (j->free_ctx)
                j->free_ctx(j->ctx);
        free(j);
}

int api_reply_stream(struct api_req *r, int status, const char *ctype, api_stream_fn fn, void *ctx,
                     void (*free_ctx)(void *))
{
        int p[2];
        struct stream_job *j;

        if (pipe2(p, O_CLOEXEC) < 0) {
                api_reply_error(r, 500, "pipe: %s", strerror(errno));
                if (free_ctx)
                        free_ctx(ctx);
                return -1;
        }
        (void)fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
        j = xmalloc(sizeof(*j));
        *j = (struct stream_job){fn, ctx, free_ctx, p[1]};
        if (api_spawn(r->api, stream_job_main, j) < 0) {
                close(p[0]);
                close(p[1]);
                if (free_ctx)
                        free_ctx(ctx);
                free(j);
                api_reply_error(r, 500, "cannot start a thread");
                return -1;
        }
        api_reply_fd(r, status, ctype, p[0]);
        return 0;
}

void api_reply_upgrade(struct api_req *r, const char *ctype, api_upgrade_fn fn, void *ctx,
                       void (*free_ctx)(void *))
{
        if (r->resp.status != 0) {
                if (free_ctx)
                        free_ctx(ctx);
                return;
        }
        r->resp.status = 101;
        r->resp.ctype = xstrdup(ctype);
        r->resp.upgrade_fn = fn;
        r->resp.upgrade_ctx = ctx;
        r->resp.upgrade_free = free_ctx;
}

/* ---- MHD glue --------------------------------------------------------- */

struct stream_src {
        struct berth_api *api;
        int fd;
        int sock;
        /* a buffered body sent chunked */
        char *buf;
        size_t len;
        void (*end)(void *ctx);
        void *end_ctx;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct stream_src *s = cls;

        if (s->buf != NULL) {
                if (pos >= s->len)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                size_t n = s->len - pos < max ? s->len - pos : max;
                memcpy(buf, s->buf + pos, n);
                return (ssize_t)n;
        }
        for (;;) {
                struct pollfd p[3] = {
                    {.fd = s->fd, .events = POLLIN},
                    {.fd = s->api->shutdown_fd, .events = POLLIN},
                    {.fd = s->sock, .events = POLLRDHUP},
                };
                int n = poll(p, s->sock >= 0 ? 3 : 2, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                if (p[1].revents)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                if (s->sock >= 0 && (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR)))
                        return MHD_CONTENT_READER_END_WITH_ERROR; /* the client went away */
                if (p[0].revents == 0)
                        continue;
                ssize_t got = read(s->fd, buf, max);
                if (got < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (got == 0)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                if (got < 0)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                return got;
        }
}

static void stream_free(void *cls)
{
        struct stream_src *s = cls;
        if (s->fd >= 0)
                close(s->fd);
        if (s->end != NULL)
                s->end(s->end_ctx);
        free(s->buf);
        atomic_fetch_sub(&s->api->active, 1);
        free(s);
}

struct upgrade_job {
        struct berth_api *api;
        api_upgrade_fn fn;
        void *ctx;
        void (*free_ctx)(void *);
        int sock;
        struct MHD_UpgradeResponseHandle *urh;
};

static void upgrade_job_main(void *p)
{
        struct upgrade_job *j = p;
        j->fn(j->ctx, j->sock);
        (void)MHD_upgrade_action(j->urh, MHD_UPGRADE_ACTION_CLOSE);
        if (j->free_ctx)
                j->free_ctx(j->ctx);
        free(j);
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
        struct upgrade_job *j = cls;
        j->sock = sock;
        j->urh = urh;
        if (extra_in_size > 0)
                api_log(j->api, BERTH_API_LOG_WARN,
                        "hijacked connection: %zu bytes sent before the 101 were dropped",
                        extra_in_size);
        if (api_spawn(j->api, upgrade_job_main, j) < 0) {
                (void)MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
                if (j->free_ctx)
                        j->free_ctx(j->ctx);
                free(j);
        }
}

static void add_common_headers(struct MHD_Response *resp)
{
        MHD_add_response_header(resp, "Api-Version", BERTH_API_VERSION);
        MHD_add_response_header(resp, "Docker-Experimental", "false");
        MHD_add_response_header(resp, "Ostype", "linux");
        MHD_add_response_header(resp, "Server", "Berth/" BERTH_VERSION " (linux)");
}

static enum MHD_Result queue(struct api_req *r)
{
        struct api_resp *p = &r->resp;
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (p->status == 0)
                api_reply_error(r, 500, "internal error: the handler gave no answer");

        if (p->upgrade_fn != NULL) {
                struct upgrade_job *j = xmalloc(sizeof(*j));
                *j = (struct upgrade_job){r->api, p->upgrade_fn, p->upgrade_ctx, p->upgrade_free,
                                          -1,     NULL};
                resp = MHD_create_response_for_upgrade(on_upgrade, j);
                p->upgrade_fn = NULL;
                p->upgrade_ctx = NULL;
                p->upgrade_free = NULL;
                if (resp == NULL) {
                        if (j->free_ctx)
                                j->free_ctx(j->ctx);
                        free(j);
                        return MHD_NO;
                }
                MHD_add_response_header(resp, "Upgrade", "tcp");
        } else if (p->stream_fd >= 0 || p->chunked) {
                struct stream_src *s = xmalloc0(sizeof(*s));
                const union MHD_ConnectionInfo *ci =
                    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                s->api = r->api;
                s->fd = steal_fd(&p->stream_fd);
                s->sock = ci ? ci->connect_fd : -1;
                s->buf = steal_pointer(&p->body);
                s->len = p->len;
                s->end = p->stream_end;
                s->end_ctx = p->stream_end_ctx;
                p->stream_end = NULL;
                p->stream_end_ctx = NULL;
                atomic_fetch_add(&r->api->active, 1);
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                         stream_read, s, stream_free);
                if (resp == NULL) {
                        stream_free(s);
                        return MHD_NO;
                }
        } else {
                resp = MHD_create_response_from_buffer(p->len, p->body, MHD_RESPMEM_MUST_FREE);
                if (resp == NULL)
                        return MHD_NO;
                p->body = NULL;
        }
        add_common_headers(resp);
        if (p->ctype != NULL)
                MHD_add_response_header(resp, "Content-Type", p->ctype);
        for (size_t i = 0; i < p->n_hdr; i++)
                MHD_add_response_header(resp, p->hdr_name[i], p->hdr_value[i]);
        api_log(r->api, BERTH_API_LOG_DEBUG, "%s %s -> %d", r->method, r->url, p->status);
        ret = MHD_queue_response(r->conn, (unsigned)p->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
        (*(size_t *)cls)++;
        return MHD_YES;
}

static void *worker_main(void *p)
{
        struct api_req *r = p;
        r->route->fn(r);
        /* Whatever the handler did not read is discarded from now on. */
        berth_closep(&r->body_fd);
        return NULL;
}

static bool start_worker(struct api_req *r)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                api_reply_error(r, 500, "pipe: %s", strerror(errno));
                return false;
        }
        (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        r->body_fd = p[0];
        r->body_wfd = p[1];
        if (pthread_create(&r->worker, NULL, worker_main, r) != 0) {
                berth_closep(&r->body_fd);
                berth_closep(&r->body_wfd);
                api_reply_error(r, 500, "cannot start a thread");
                return false;
        }
        r->worker_started = true;
        return true;
}

static void finish_worker(struct api_req *r)
{
        berth_closep(&r->body_wfd);
        if (r->worker_started) {
                pthread_join(r->worker, NULL);
                r->worker_started = false;
        }
}

static void req_free(struct api_req *r)
{
        finish_worker(r);
        berth_closep(&r->body_fd);
        resp_clear(&r->resp);
        for (size_t i = 0; i < API_MAX_PARAMS; i++)
                free(r->params[i]);
        free(r->body);
        free(r->method);
        free(r->url);
        free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct api_req *r = *con_cls;
        if (r == NULL)
                return;
        *con_cls = NULL;
        req_free(r);
}

static void body_append(struct api_req *r, const char *data, size_t len)
{
        if (r->body_too_large)
                return;
        if (r->body_len + len > BERTH_API_MAX_JSON_BODY) {
                r->body_too_large = true;
                return;
        }
        if (r->body_len + len + 1 > r->body_cap) {
                size_t cap = r->body_cap ? r->body_cap : 4096;
                while (cap < r->body_len + len + 1)
                        cap *= 2;
                r->body = xrealloc(r->body, cap);
                r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct api_listener *l = cls;
        struct api_req *r = *con_cls;

        if (r == NULL) {
                size_t n_headers = 0;
                r = xmalloc0(sizeof(*r));
                r->api = l->api;
                r->listener = l;
                r->conn = conn;
                r->method = xstrdup(method);
                r->url = xstrdup(url);
                r->body_fd = r->body_wfd = -1;
                r->resp.stream_fd = -1;
                *con_cls = r;
                MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &n_headers);
                /* Client certificates are checked by the TLS relay (tls.c). */
                if (n_headers > BERTH_API_MAX_HEADERS)
                        api_reply_error(r, 431, "too many request headers (%zu, at most %d)",
                                        n_headers, BERTH_API_MAX_HEADERS);
                else
                        api_route(r);
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t len = *upload_data_size;
                *upload_data_size = 0;
                if (r->resp.status != 0 && !r->worker_started)
                        return MHD_YES; /* answered already: discard the body */
                if (r->route != NULL && (r->route->flags & ROUTE_BODY_STREAM)) {
                        if (!r->worker_started && !start_worker(r))
                                return MHD_YES;
                        if (r->body_wfd >= 0 && berth_write_all(r->body_wfd, upload_data, len) < 0)
                                berth_closep(&r->body_wfd); /* the handler stopped reading */
                        return MHD_YES;
                }
                body_append(r, upload_data, len);
                return MHD_YES;
        }

        /* The whole request is in. */
        if (r->resp.status == 0 && r->route != NULL) {
                if (r->route->flags & ROUTE_BODY_STREAM) {
                        if (!r->worker_started)
                                (void)start_worker(r);
                        finish_worker(r);
                } else if (r->body_too_large) {
                        api_reply_error(r, 413, "request body too large (more than %u bytes)",
                                        BERTH_API_MAX_JSON_BODY);
                } else {
                        r->route->fn(r);
                }
        }
        return queue(r);
}

/* ---- listeners ------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        struct berth_api *api = cls;
        cleanup_free char *msg = xvasprintf(fmt, ap);
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                msg[--n] = '\0';
        api_log(api, BERTH_API_LOG_DEBUG, "http: %s", msg);
}

/* The gid of GROUP in /etc/group, 0 when it has none. Parsed directly, as
 * dockerd does (moby/sys/user), rather than through getgrnam(): NSS would
 * load its modules (libnss_systemd, ...) into the daemon for good. */
static gid_t group_gid(const char *group)
{
        cleanup_fclose FILE *f = fopen("/etc/group", "re");
        struct group *g;

        if (f == NULL)
                return 0;
        while ((g = fgetgrent(f)) != NULL) {
                if (strcmp(g->gr_name, group) == 0)
                        return g->gr_gid;
        }
        return 0;
}

static int listen_unix(const char *path, const char *group, berth_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return berth_fail(err, ENAMETOOLONG, "socket path `%s` is too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_fail_errno(err, "socket");
        if (unlink(path) < 0 && errno != ENOENT)
                return berth_fail_errno(err, "remove the old socket `%s`", path);
        {
                cleanup_free char *dir = xstrdup(path);
                char *slash = strrchr(dir, '/');
                if (slash != NULL && slash != dir) {
                        *slash = '\0';
                        if (berth_mkdir_p(dir, 0755, err) < 0)
                                return -1;
                }
        }
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return berth_fail_errno(err, "bind `%s`", path);
        gid_t gid = 0;
        if (group != NULL)
                gid = group_gid(group);
        if (chown(path, 0, gid) < 0 && errno != EPERM)
                return berth_fail_errno(err, "chown `%s`", path);
        if (chmod(path, 0660) < 0)
                return berth_fail_errno(err, "chmod `%s`", path);
        if (listen(fd, 512) < 0)
                return berth_fail_errno(err, "listen on `%s`", path);
        return steal_fd(&fd);
}

static int listen_tcp(const char *hostport, berth_error **err)
{
        cleanup_free char *host = NULL;
        const char *port;
        const char *colon = strrchr(hostport, ':');
        struct addrinfo hints = {
            .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
        struct addrinfo *res = NULL;
        int one = 1, rc;
        cleanup_close int fd = -1;

        if (colon == NULL)
                return berth_fail(err, EINVAL, "invalid tcp address `%s`: expected tcp://host:port",
                                  hostport);
        host = xstrndup(hostport, (size_t)(colon - hostport));
        port = colon + 1;
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = '\0';
        }
        rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
        if (rc != 0)
                return berth_fail(err, EINVAL, "resolve `%s`: %s", hostport, gai_strerror(rc));
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                freeaddrinfo(res);
                return berth_fail_errno(err, "socket");
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
                int e = errno;
                freeaddrinfo(res);
                return berth_fail(err, e, "bind `%s`", hostport);
        }
        freeaddrinfo(res);
        if (listen(fd, 512) < 0)
                return berth_fail_errno(err, "listen on `%s`", hostport);
        return steal_fd(&fd);
}

static void listener_free(struct api_listener *l)
{
        if (l == NULL)
                return;
        /* No new TLS connections, then end those of the HTTP server. */
        api_tls_stop(l->tls_term);
        if (l->daemon != NULL)
                MHD_stop_daemon(l->daemon);
        api_tls_free(l->tls_term);
        if (l->unix_path != NULL)
                (void)unlink(l->unix_path);
        free(l->unix_path);
        free(l->addr);
        free(l->tls_key);
        free(l->tls_cert);
        free(l->tls_ca);
        free(l);
}

int berth_api_listen(struct berth_api *api, const char *addr, const char *group,
                     const struct berth_api_tls *tls, berth_error **err)
{
        struct api_listener *l = xmalloc0(sizeof(*l));
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | MHD_USE_ITC;
        int fd;
        size_t len;

        l->api = api;
        l->addr = xstrdup(addr);
        if (berth_str_has_prefix(addr, "unix://")) {
                l->unix_path = xstrdup(addr + strlen("unix://"));
                fd = listen_unix(l->unix_path, group, err);
                if (fd < 0) {
                        free(l->unix_path);
                        l->unix_path = NULL;
                }
        } else if (berth_str_has_prefix(addr, "tcp://")) {
                fd = listen_tcp(addr + strlen("tcp://"), err);
        } else if (addr[0] == '/') {
                cleanup_free char *u = xasprintf("unix://%s", addr);
                listener_free(l);
                return berth_api_listen(api, u, group, tls, err);
        } else {
                fd =
                    berth_fail(err, EINVAL,
                               "invalid host `%s`: expected unix:///path or tcp://host:port", addr);
        }
        if (fd < 0) {
                listener_free(l);
                return berth_error_prefix(err, fd, "listen on `%s`", addr);
        }
        if (tls != NULL && tls->cert_file != NULL && l->unix_path == NULL) {
                if (berth_read_file(tls->cert_file, &l->tls_cert, &len, err) < 0 ||
                    berth_read_file(tls->key_file, &l->tls_key, &len, err) < 0 ||
                    (tls->verify && tls->ca_file != NULL &&
                     berth_read_file(tls->ca_file, &l->tls_ca, &len, err) < 0)) {
                        close(fd);
                        listener_free(l);
                        return berth_error_prefix(err, -EINVAL, "TLS for `%s`", addr);
                }
                l->tls = true;
                l->verify = tls->verify;
                if (l->verify && l->tls_ca == NULL) {
                        close(fd);
                        listener_free(l);
                        return berth_fail(err, EINVAL, "--tlsverify needs --tlscacert");
                }
                if (api_tls_new(l->tls_cert, l->tls_key, l->tls_ca, l->verify, &l->tls_term, err) <
                    0) {
                        close(fd);
                        listener_free(l);
                        return berth_error_prefix(err, -EINVAL, "TLS for `%s`", addr);
                }
                /* TLS is terminated in tls.c, which hands the plaintext
                 * connections to the HTTP server (MHD_add_connection). */
                flags |= MHD_USE_NO_LISTEN_SOCKET;
        }
        struct MHD_OptionItem opts[] = {
            {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, api},
            {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
            {MHD_OPTION_CONNECTION_MEMORY_LIMIT, BERTH_API_MAX_HEADER_BYTES * 2, NULL},
            {MHD_OPTION_CONNECTION_TIMEOUT, 0, NULL},
            /* last: with TLS, tls.c owns the listening socket */
            {l->tls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, fd, NULL},
            {MHD_OPTION_END, 0, NULL},
        };
        l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_ARRAY, opts,
                                     MHD_OPTION_END);
        if (l->daemon == NULL) {
                close(fd);
                listener_free(l);
                return berth_fail(err, EIO, "start the HTTP server on `%s`", addr);
        }
        if (l->tls_term != NULL && api_tls_start(l->tls_term, api, fd, l->daemon, err) < 0) {
                close(fd);
                listener_free(l);
                return berth_error_prefix(err, -EIO, "listen on `%s`", addr);
        }
        pthread_mutex_lock(&api->lock);
        api->listeners = xrealloc(api->listeners, (api->n_listeners + 1) * sizeof(*api->listeners));
        api->listeners[api->n_listeners++] = l;
        pthread_mutex_unlock(&api->lock);
        api_log(api, BERTH_API_LOG_INFO, "API listen on %s", addr);
        return 0;
}

int berth_api_new(const struct berth_api_config *cfg, struct berth_api **ret, berth_error **err)
{
        struct berth_api *api = xmalloc0(sizeof(*api));
        api->cfg = *cfg;
        pthread_mutex_init(&api->lock, NULL);
        atomic_init(&api->log_level, (int)cfg->log_level);
        atomic_init(&api->active, 0);
        api->shutdown_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (api->shutdown_fd < 0) {
                int e = errno;
                free(api);
                return berth_fail(err, e, "eventfd");
        }
        *ret = api;
        return 0;
}

void berth_api_set_log_level(struct berth_api *api, enum berth_api_log_level level)
{
        atomic_store(&api->log_level, (int)level);
}

void berth_api_free(struct berth_api *api)
{
        uint64_t one = 1;
        if (api == NULL)
                return;
        /* Stop accepting first, then end the streams so that the
         * connection threads can be joined. */
        for (size_t i = 0; i < api->n_listeners; i++)
                if (api->listeners[i]->daemon != NULL)
                        (void)MHD_quiesce_daemon(api->listeners[i]->daemon);
        (void)!write(api->shutdown_fd, &one, sizeof(one));
        for (size_t i = 0; i < api->n_listeners; i++)
                listener_free(api->listeners[i]);
        free(api->listeners);
        close(api->shutdown_fd);
        pthread_mutex_destroy(&api->lock);
        free(api);
}
