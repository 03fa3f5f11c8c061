/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the API module: the request/response model the endpoint files
 * see (http.c implements it over libmicrohttpd), the route table and the
 * handlers of each endpoint group. */
#ifndef BERTH_API_INTERNAL_H
#define BERTH_API_INTERNAL_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"
#include "util/error.h"

struct MHD_Connection;
struct MHD_Daemon;
struct api_req;

typedef void (*api_handler)(struct api_req *r);
/* A streaming producer: writes the body to OUT_FD (the write end of a pipe,
 * closed by the caller when it returns) from its own thread. */
typedef void (*api_stream_fn)(void *ctx, int out_fd);
/* A hijacked connection: SOCK is the raw bidirectional socket; it must not
 * be closed (the server closes it when the function returns). */
typedef void (*api_upgrade_fn)(void *ctx, int sock);

enum {
        ROUTE_BODY_STREAM = 1 << 0, /* the body is read from r->body_fd, on a worker thread */
};

struct api_route {
        const char *method;
        /* "/containers/+/json": '+' is one path segment, '*' one or more
         * (image names contain '/'); captured into r->params in order. */
        const char *pattern;
        api_handler fn;
        unsigned flags;
};

struct api_listener {
        struct berth_api *api;
        struct MHD_Daemon *daemon;
        char *addr;
        char *unix_path; /* removed on free */
        bool tls, verify;
        char *tls_key, *tls_cert, *tls_ca; /* PEM, kept for the daemon's lifetime */
        struct api_tls *tls_term;          /* tcp+tls: the TLS relay (tls.c) */
};

/* tls.c: TLS in front of libmicrohttpd for tcp listeners. api_tls_start
 * takes LISTEN_FD (on success) and hands each verified connection to
 * DAEMON; api_tls_stop stops accepting and handing over (call it before
 * MHD_stop_daemon); api_tls_free drops the listener's reference. */
struct api_tls;
int api_tls_new(const char *cert_pem, const char *key_pem, const char *ca_pem, bool verify,
                struct api_tls **ret, berth_error **err);
int api_tls_start(struct api_tls *t, struct berth_api *api, int listen_fd,
                  struct MHD_Daemon *daemon, berth_error **err);
void api_tls_stop(struct api_tls *t);
void api_tls_free(struct api_tls *t);

struct berth_api {
        struct berth_api_config cfg;
        pthread_mutex_t lock;
        struct api_listener **listeners;
        size_t n_listeners;
        int shutdown_fd; /* an eventfd, readable once the server stops */
        atomic_int log_level;
        atomic_int active; /* streams and hijacked connections in flight */
};

#define API_MAX_PARAMS        3
#define API_MAX_EXTRA_HEADERS 4

struct api_resp {
        int status; /* 0: not answered yet */
        char *ctype;
        char *body;
        size_t len;
        bool chunked;
        int stream_fd;
        /* Called once when the stream of STREAM_FD ends (sent, failed, the
         * client went away, or never sent). */
        void (*stream_end)(void *ctx);
        void *stream_end_ctx;
        char *hdr_name[API_MAX_EXTRA_HEADERS], *hdr_value[API_MAX_EXTRA_HEADERS];
        size_t n_hdr;
        api_upgrade_fn upgrade_fn;
        void *upgrade_ctx;
        void (*upgrade_free)(void *ctx);
};

struct api_req {
        struct berth_api *api;
        struct api_listener *listener;
        struct MHD_Connection *conn;
        char *method;
        char *url;
        const char *path; /* url without the /vX.Y prefix */
        int version;      /* 141 for 1.41 */
        const struct api_route *route;
        char *params[API_MAX_PARAMS];
        /* a buffered body (NUL-terminated) */
        char *body;
        size_t body_len, body_cap;
        bool body_too_large;
        /* a streamed body: the handler runs on a worker and reads body_fd */
        int body_fd, body_wfd;
        pthread_t worker;
        bool worker_started;
        bool answered_early;
        struct api_resp resp;
};

/* ---- logging (http.c) ---- */
void api_log(struct berth_api *api, enum berth_api_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the request (http.c) ---- */
const char *api_query(struct api_req *r, const char *key);
/* "1", "true", "True", "yes" are true; absent: DFLT. */
bool api_query_bool(struct api_req *r, const char *key, bool dflt);
/* Integer query parameter; an unparsable one answers 400 and returns false. */
bool api_query_int(struct api_req *r, const char *key, long long dflt, long long *ret);
const char *api_header(struct api_req *r, const char *name);
/* Parse the body as a JSON object (NULL body -> empty object when ALLOW_EMPTY).
 * On failure answers 400 and returns NULL. */
json_object *api_body_json(struct api_req *r, bool allow_empty);
/* The "filters" query parameter as a JSON object (map or list form are
 * both kept as they are); NULL when absent. Answers 400 on bad JSON. */
bool api_query_filters(struct api_req *r, json_object **ret);

/* ---- answers (http.c) ---- */
void api_reply(struct api_req *r, int status, const char *ctype, char *body, size_t len);
void api_reply_json(struct api_req *r, int status, json_object *o);
/* The same, sent chunked (dockerd does so for inspect, info, ...). */
void api_reply_json_chunked(struct api_req *r, int status, json_object *o);
void api_reply_empty(struct api_req *r, int status);
void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Status from the error's errno, by berth_errno_http_status(). */
void api_reply_berr(struct api_req *r, const berth_error *err);
void api_add_header(struct api_req *r, const char *name, const char *value);
/* Start a chunked stream: FN runs on a new thread with the write end of a
 * pipe whose read end is the body; FREE_CTX (may be NULL) frees CTX after. */
int api_reply_stream(struct api_req *r, int status, const char *ctype, api_stream_fn fn, void *ctx,
                     void (*free_ctx)(void *));
/* A stream whose body comes from FD (owned from now on). */
void api_reply_fd(struct api_req *r, int status, const char *ctype, int fd);
/* api_reply_fd(), and END(CTX) is called once the stream is over for any
 * reason (its client went away included), from an MHD thread. */
void api_reply_fd_end(struct api_req *r, int status, const char *ctype, int fd,
                      void (*end)(void *ctx), void *ctx);
/* Hijack: 101 UPGRADED with Content-Type CTYPE, then FN on its own thread. */
void api_reply_upgrade(struct api_req *r, const char *ctype, api_upgrade_fn fn, void *ctx,
                       void (*free_ctx)(void *));
/* Run FN on a detached thread (counted in api->active). */
int api_spawn(struct berth_api *api, void (*fn)(void *), void *ctx);

char *api_json_string(json_object *o, size_t *ret_len);

/* ---- routing (router.c) ---- */
/* Strip and check the version prefix, find the route; on failure the
 * request is answered (400/404). */
void api_route(struct api_req *r);

/* ---- endpoints ---- */
void api_ping(struct api_req *r);
void api_version(struct api_req *r);
void api_info(struct api_req *r);
void api_system_df(struct api_req *r);
void api_events(struct api_req *r);
void api_build_prune(struct api_req *r);
void api_networks_prune(struct api_req *r);
void api_volumes_prune(struct api_req *r);

void api_images_list(struct api_req *r);
void api_image_inspect(struct api_req *r);
void api_image_history(struct api_req *r);
void api_image_tag(struct api_req *r);
void api_image_delete(struct api_req *r);
void api_images_get(struct api_req *r);
void api_image_get(struct api_req *r);
void api_images_load(struct api_req *r);
void api_images_create(struct api_req *r);
void api_images_prune(struct api_req *r);
void api_images_search(struct api_req *r);
void api_image_push(struct api_req *r);

void api_containers_list(struct api_req *r);
void api_container_create(struct api_req *r);
void api_container_inspect(struct api_req *r);
void api_container_start(struct api_req *r);
void api_container_stop(struct api_req *r);
void api_container_restart(struct api_req *r);
void api_container_kill(struct api_req *r);
void api_container_pause(struct api_req *r);
void api_container_unpause(struct api_req *r);
void api_container_delete(struct api_req *r);
void api_container_rename(struct api_req *r);
void api_container_wait(struct api_req *r);
void api_container_top(struct api_req *r);
void api_container_update(struct api_req *r);
void api_container_resize(struct api_req *r);
void api_container_export(struct api_req *r);
void api_container_archive_head(struct api_req *r);
void api_container_archive_get(struct api_req *r);
void api_container_archive_put(struct api_req *r);
void api_containers_prune(struct api_req *r);
void api_container_logs(struct api_req *r);
void api_container_attach(struct api_req *r);
void api_container_stats(struct api_req *r);

void api_exec_create(struct api_req *r);
void api_exec_start(struct api_req *r);
void api_exec_inspect(struct api_req *r);
void api_exec_resize(struct api_req *r);

/* Answer with a hijacked connection (101 when the client asked for the
 * upgrade, else a 200 stream without stdin); the content type follows the
 * API version and TTY as dockerd's. */
void api_hijack(struct api_req *r, bool tty, api_upgrade_fn fn, void *ctx,
                void (*free_ctx)(void *));

/* Is the engine compiled in and open? Otherwise answers 501 and returns false. */
bool api_need_engine(struct api_req *r);

#endif
