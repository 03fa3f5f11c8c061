/* SPDX-License-Identifier: Apache-2.0 */
/* Container endpoints over the engine (src/engine/engine.h): lifecycle,
 * inspect/list, wait (headers once the wait is armed), logs and stats
 * streams, attach (hijacked), export and the archive (cp) endpoints. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "api/body-check.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"
#ifdef BERTH_API_HAVE_ENGINE
#include "engine/engine.h"
#endif

#ifdef BERTH_API_HAVE_ENGINE

#define ENGINE(r) ((r)->api->cfg.engine)

static bool query_int_in(struct api_req *r, const char *key, long long dflt, long long lo,
                         long long hi, long long *ret)
{
        if (!api_query_int(r, key, dflt, ret))
                return false;
        if (*ret < lo || *ret > hi) {
                api_reply_error(r, 400, "invalid value for %s: %lld is out of range", key, *ret);
                return false;
        }
        return true;
}

/* Answer an engine call's outcome: 204 (or 304 for EALREADY) on success.
 * ERRP, not the error itself: the call that fills it is an argument of the
 * same call, and C leaves the order in which arguments are evaluated open. */
static void reply_simple(struct api_req *r, int ret, berth_error **errp, int ok_status)
{
        if (ret < 0)
                api_reply_berr(r, *errp);
        else
                api_reply_empty(r, ok_status);
}

void api_containers_list(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *filters = NULL;
        cleanup_json json_object *out = NULL;
        long long limit;

        if (!api_need_engine(r) || !api_query_filters(r, &filters) ||
            !query_int_in(r, "limit", -1, -1, 1 << 30, &limit))
                return;
        if (berth_engine_container_list(ENGINE(r), api_query_bool(r, "all", false), (int)limit,
                                        api_query_bool(r, "size", false), filters, &out,
                                        &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 200, out);
}

void api_container_create(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *body = NULL;
        cleanup_json json_object *out = NULL;
        cleanup_free char *why = NULL;
        const char *name = api_query(r, "name");

        if ((body = api_body_json(r, false)) == NULL)
                return;
        if ((why = api_check_container_config(body)) != NULL) {
                api_reply_error(r, 400, "%s", why);
                return;
        }
        if (!api_need_engine(r))
                return;
        if (berth_engine_container_create(ENGINE(r), name && *name ? name : NULL, body, &out,
                                          &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 201, out);
}

void api_container_inspect(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *out = NULL;

        if (!api_need_engine(r))
                return;
        if (berth_engine_container_inspect(ENGINE(r), r->params[0],
                                           api_query_bool(r, "size", false), &out, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json_chunked(r, 200, out);
}

void api_container_start(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        if (!api_need_engine(r))
                return;
        reply_simple(r, berth_engine_container_start(ENGINE(r), r->params[0], &err), &err, 204);
}

static bool stop_timeout(struct api_req *r, long long *t)
{
        /* "t" up to 1.41, "timeout" from 1.42 on; -1: the container's own. */
        if (api_query(r, "timeout") != NULL)
                return query_int_in(r, "timeout", -1, -1, 1 << 30, t);
        return query_int_in(r, "t", -1, -1, 1 << 30, t);
}

void api_container_stop(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        long long t;
        if (!api_need_engine(r) || !stop_timeout(r, &t))
                return;
        const char *sig = api_query(r, "signal");
        reply_simple(r,
                     berth_engine_container_stop(ENGINE(r), r->params[0], (int)t,
                                                 sig && *sig ? sig : NULL, &err),
                     &err, 204);
}

void api_container_restart(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        long long t;
        if (!api_need_engine(r) || !stop_timeout(r, &t))
                return;
        reply_simple(r, berth_engine_container_restart(ENGINE(r), r->params[0], (int)t, &err), &err,
                     204);
}

void api_container_kill(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        if (!api_need_engine(r))
                return;
        const char *sig = api_query(r, "signal");
        reply_simple(
            r,
            berth_engine_container_kill(ENGINE(r), r->params[0], sig && *sig ? sig : "KILL", &err),
            &err, 204);
}

void api_container_pause(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        if (!api_need_engine(r))
                return;
        reply_simple(r, berth_engine_container_pause(ENGINE(r), r->params[0], true, &err), &err,
                     204);
}

void api_container_unpause(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        if (!api_need_engine(r))
                return;
        reply_simple(r, berth_engine_container_pause(ENGINE(r), r->params[0], false, &err), &err,
                     204);
}

void api_container_delete(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        if (!api_need_engine(r))
                return;
        reply_simple(r,
                     berth_engine_container_remove(ENGINE(r), r->params[0],
                                                   api_query_bool(r, "force", false),
                                                   api_query_bool(r, "v", false), &err),
                     &err, 204);
}

void api_container_rename(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        const char *name = api_query(r, "name");
        if (!api_need_engine(r))
                return;
        if (name == NULL || *name == '\0') {
                api_reply_error(r, 400, "Neither old nor new names may be empty");
                return;
        }
        reply_simple(r, berth_engine_container_rename(ENGINE(r), r->params[0], name, &err), &err,
                     204);
}

void api_container_top(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *out = NULL;
        if (!api_need_engine(r))
                return;
        const char *ps = api_query(r, "ps_args");
        if (berth_engine_container_top(ENGINE(r), r->params[0], ps && *ps ? ps : NULL, &out, &err) <
            0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 200, out);
}

void api_container_update(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *body = NULL;
        cleanup_json json_object *out = NULL;
        cleanup_free char *why = NULL;

        if ((body = api_body_json(r, false)) == NULL)
                return;
        if ((why = api_check_host_config(body)) != NULL) {
                api_reply_error(r, 400, "%s", why);
                return;
        }
        if (!api_need_engine(r))
                return;
        if (berth_engine_container_update(ENGINE(r), r->params[0], body, &out, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        if (out == NULL) {
                out = json_object_new_object();
                json_object_object_add(out, "Warnings", NULL);
        }
        api_reply_json(r, 200, out);
}

void api_container_resize(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        long long h, w;
        if (!api_need_engine(r) || !query_int_in(r, "h", 0, 0, 65535, &h) ||
            !query_int_in(r, "w", 0, 0, 65535, &w))
                return;
        reply_simple(r,
                     berth_engine_container_resize(ENGINE(r), r->params[0], (int)h, (int)w, &err),
                     &err, 200);
}

void api_containers_prune(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *filters = NULL;
        cleanup_json json_object *out = NULL;
        if (!api_need_engine(r) || !api_query_filters(r, &filters))
                return;
        if (berth_engine_container_prune(ENGINE(r), filters, &out, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 200, out);
}

/* ---- wait: headers once armed, the body when it ends ---------------- */

struct wait_job {
        atomic_int refs;
        struct berth_engine *e;
        char *ref, *condition;
        int ready_w, data_w;
        int ret;
        berth_error *err;
        json_object *out;
        struct berth_cancel *cancel;
};

static void wait_unref(struct wait_job *j)
{
        if (atomic_fetch_sub(&j->refs, 1) != 1)
                return;
        berth_closep(&j->ready_w);
        berth_closep(&j->data_w);
        berth_error_free(j->err);
        if (j->out)
                json_object_put(j->out);
        berth_cancel_unref(j->cancel);
        free(j->ref);
        free(j->condition);
        free(j);
}

static void wait_run(void *p)
{
        struct wait_job *j = p;
        json_object *o;
        size_t len;

        j->ret = berth_engine_container_wait(j->e, j->ref, j->condition, j->ready_w, j->cancel,
                                             &j->out, &j->err);
        if (j->ret < 0) {
                json_object *e = json_object_new_object();
                o = json_object_new_object();
                json_object_object_add(
                    e, "Message",
                    json_object_new_string(j->err && j->err->msg ? j->err->msg : "wait failed"));
                json_object_object_add(o, "Error", e);
                json_object_object_add(o, "StatusCode", json_object_new_int(-1));
        } else {
                o = json_object_get(j->out);
        }
        cleanup_free char *s = api_json_string(o, &len);
        json_object_put(o);
        (void)berth_write_all(j->data_w, s, len);
        berth_closep(&j->data_w);
        berth_closep(&j->ready_w);
        wait_unref(j);
}

/* The response stream is over (sent, or the client went away): end the
 * wait if it still runs. */
static void wait_stream_end(void *p)
{
        struct berth_cancel *k = p;
        berth_cancel_fire(k);
        berth_cancel_unref(k);
}

void api_container_wait(struct api_req *r)
{
        int rp[2], dp[2];
        const char *cond = api_query(r, "condition");
        struct wait_job *j;
        char c;
        ssize_t n;

        if (!api_need_engine(r))
                return;
        if (cond == NULL || *cond == '\0')
                cond = "not-running";
        if (strcmp(cond, "not-running") != 0 && strcmp(cond, "next-exit") != 0 &&
            strcmp(cond, "removed") != 0) {
                api_reply_error(r, 400, "invalid condition: `%s`", cond);
                return;
        }
        if (pipe2(rp, O_CLOEXEC) < 0) {
                api_reply_error(r, 500, "pipe: %s", strerror(errno));
                return;
        }
        if (pipe2(dp, O_CLOEXEC) < 0) {
                close(rp[0]);
                close(rp[1]);
                api_reply_error(r, 500, "pipe: %s", strerror(errno));
                return;
        }
        j = xmalloc0(sizeof(*j));
        atomic_init(&j->refs, 2);
        j->e = ENGINE(r);
        j->ref = xstrdup(r->params[0]);
        j->condition = xstrdup(cond);
        j->ready_w = rp[1];
        j->data_w = dp[1];
        j->cancel = berth_cancel_new();
        if (api_spawn(r->api, wait_run, j) < 0) {
                close(rp[0]);
                close(dp[0]);
                atomic_store(&j->refs, 1);
                wait_unref(j);
                api_reply_error(r, 500, "cannot start a thread");
                return;
        }
        /* Wait for "armed" (one byte) or the end of the wait. */
        do
                n = read(rp[0], &c, 1);
        while (n < 0 && errno == EINTR);
        close(rp[0]);
        if (n == 1) {
                api_reply_fd_end(r, 200, "application/json", dp[0], wait_stream_end,
                                 berth_cancel_ref(j->cancel));
        } else {
                /* It ended before it was armed: the outcome is in J. */
                close(dp[0]);
                if (j->ret < 0)
                        api_reply_berr(r, j->err);
                else
                        api_reply_json_chunked(r, 200, j->out);
        }
        wait_unref(j);
}

/* ---- logs, stats, export: streams after a check ----------------------- */

struct stream_job {
        struct berth_engine *e;
        char *ref;
        struct berth_logs_opts logs;
        bool stream;
        int kind; /* 0 logs, 1 stats, 2 export, 3 archive */
        char *path;
};

static void stream_job_run(void *p, int fd)
{
        struct stream_job *j = p;
        cleanup_error berth_error *err = NULL;
        switch (j->kind) {
        case 0:
                (void)berth_engine_container_logs(j->e, j->ref, &j->logs, fd, &err);
                break;
        case 1:
                (void)berth_engine_container_stats(j->e, j->ref, j->stream, fd, &err);
                break;
        case 2:
                (void)berth_engine_container_export(j->e, j->ref, fd, &err);
                break;
        default:
                (void)berth_engine_container_archive_get(j->e, j->ref, j->path, fd, &err);
                break;
        }
}

static void stream_job_free(void *p)
{
        struct stream_job *j = p;
        free(j->ref);
        free(j->path);
        free(j);
}

static struct stream_job *stream_job_new(struct api_req *r, int kind)
{
        struct stream_job *j = xmalloc0(sizeof(*j));
        j->e = ENGINE(r);
        j->ref = xstrdup(r->params[0]);
        j->kind = kind;
        return j;
}

/* Does the container exist (and is its TTY on)? Answers 404 otherwise. */
static bool container_tty(struct api_req *r, bool *tty)
{
        cleanup_error berth_error *err = NULL;
        if (berth_engine_container_tty(ENGINE(r), r->params[0], tty, &err) < 0) {
                api_reply_berr(r, err);
                return false;
        }
        return true;
}

static bool parse_time_ns(struct api_req *r, const char *key, int64_t *ret)
{
        const char *v = api_query(r, key);
        char *end;
        *ret = 0;
        if (v == NULL || *v == '\0' || strcmp(v, "0") == 0)
                return true;
        long double d = strtold(v, &end);
        if (*end != '\0' || d < 0) {
                api_reply_error(r, 400, "invalid value for %s: `%s` is not a unix timestamp", key,
                                v);
                return false;
        }
        *ret = (int64_t)(d * 1e9L);
        return true;
}

void api_container_logs(struct api_req *r)
{
        struct stream_job *j;
        bool tty;
        long long tail = -1;
        const char *t = api_query(r, "tail");

        if (!api_need_engine(r))
                return;
        j = stream_job_new(r, 0);
        j->logs.follow = api_query_bool(r, "follow", false);
        j->logs.out = api_query_bool(r, "stdout", false);
        j->logs.err = api_query_bool(r, "stderr", false);
        j->logs.timestamps = api_query_bool(r, "timestamps", false);
        if (t != NULL && *t != '\0' && strcmp(t, "all") != 0) {
                char *end;
                tail = strtoll(t, &end, 10);
                if (*end != '\0' || tail < 0)
                        tail = -1;
        }
        j->logs.tail = tail;
        if (!j->logs.out && !j->logs.err) {
                stream_job_free(j);
                api_reply_error(r, 400, "Bad parameters: you must choose at least one stream");
                return;
        }
        if (!parse_time_ns(r, "since", &j->logs.since_ns) ||
            !parse_time_ns(r, "until", &j->logs.until_ns) || !container_tty(r, &tty)) {
                stream_job_free(j);
                return;
        }
        j->logs.tty = tty;
        /* dockerd sends no Content-Type with logs. */
        api_reply_stream(r, 200, NULL, stream_job_run, j, stream_job_free);
}

void api_container_stats(struct api_req *r)
{
        struct stream_job *j;
        bool tty;
        if (!api_need_engine(r) || !container_tty(r, &tty))
                return;
        j = stream_job_new(r, 1);
        j->stream = api_query_bool(r, "stream", true) && !api_query_bool(r, "one-shot", false);
        api_reply_stream(r, 200, "application/json", stream_job_run, j, stream_job_free);
}

void api_container_export(struct api_req *r)
{
        bool tty;
        if (!api_need_engine(r) || !container_tty(r, &tty))
                return;
        api_reply_stream(r, 200, "application/x-tar", stream_job_run, stream_job_new(r, 2),
                         stream_job_free);
}

/* ---- archive (docker cp) --------------------------------------------- */

static char *base64(const char *in, size_t len)
{
        static const char tbl[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out = xmalloc(((len + 2) / 3) * 4 + 1), *o = out;
        size_t i;
        for (i = 0; i + 2 < len; i += 3) {
                unsigned v = ((unsigned char)in[i] << 16) | ((unsigned char)in[i + 1] << 8) |
                             (unsigned char)in[i + 2];
                *o++ = tbl[(v >> 18) & 63];
                *o++ = tbl[(v >> 12) & 63];
                *o++ = tbl[(v >> 6) & 63];
                *o++ = tbl[v & 63];
        }
        if (i < len) {
                unsigned v = (unsigned char)in[i] << 16;
                if (i + 1 < len)
                        v |= (unsigned char)in[i + 1] << 8;
                *o++ = tbl[(v >> 18) & 63];
                *o++ = tbl[(v >> 12) & 63];
                *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
                *o++ = '=';
        }
        *o = '\0';
        return out;
}

static bool path_stat(struct api_req *r, const char *path)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *st = NULL;
        size_t len;

        if (berth_engine_container_path_stat(ENGINE(r), r->params[0], path, &st, &err) < 0) {
                api_reply_berr(r, err);
                return false;
        }
        cleanup_free char *js = api_json_string(st, &len);
        cleanup_free char *b64 = base64(js, len - 1);
        api_add_header(r, "X-Docker-Container-Path-Stat", b64);
        return true;
}

static const char *archive_path(struct api_req *r)
{
        const char *path = api_query(r, "path");
        if (path == NULL || *path == '\0') {
                api_reply_error(r, 400, "Bad parameters: the path is required");
                return NULL;
        }
        return path;
}

void api_container_archive_head(struct api_req *r)
{
        const char *path;
        if (!api_need_engine(r) || (path = archive_path(r)) == NULL || !path_stat(r, path))
                return;
        /* dockerd answers a found path with the stat header only, no Content-Type. */
        api_reply(r, 200, NULL, NULL, 0);
}

void api_container_archive_get(struct api_req *r)
{
        const char *path;
        struct stream_job *j;
        if (!api_need_engine(r) || (path = archive_path(r)) == NULL || !path_stat(r, path))
                return;
        j = stream_job_new(r, 3);
        j->path = xstrdup(path);
        api_reply_stream(r, 200, "application/x-tar", stream_job_run, j, stream_job_free);
}

/* Runs on the body worker: the tar is read from r->body_fd. */
void api_container_archive_put(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        const char *path;
        if (!api_need_engine(r) || (path = archive_path(r)) == NULL)
                return;
        reply_simple(
            r,
            berth_engine_container_archive_put(ENGINE(r), r->params[0], path, r->body_fd,
                                               api_query_bool(r, "noOverwriteDirNonDir", false),
                                               api_query_bool(r, "copyUIDGID", false), &err),
            &err, 200);
}

/* ---- attach ------------------------------------------------------------ */

struct attach_job {
        struct berth_engine *e;
        char *ref;
        char *detach_keys;
        struct berth_attach_opts o;
};

static void attach_run(void *p, int sock)
{
        struct attach_job *j = p;
        cleanup_error berth_error *err = NULL;
        j->o.detach_keys = j->detach_keys;
        (void)berth_engine_container_attach(j->e, j->ref, &j->o, sock, &err);
}

static void attach_free(void *p)
{
        struct attach_job *j = p;
        free(j->ref);
        free(j->detach_keys);
        free(j);
}

/* Without "Upgrade: tcp" the output comes back as the body of a 200
 * answer (read from one end of a socketpair) and stdin is closed at once. */
struct sockstream {
        api_upgrade_fn fn;
        void *ctx;
        void (*free_ctx)(void *);
        int sock;
};

static void sockstream_run(void *p)
{
        struct sockstream *s = p;
        s->fn(s->ctx, s->sock);
        berth_closep(&s->sock);
        if (s->free_ctx)
                s->free_ctx(s->ctx);
        free(s);
}

void api_hijack(struct api_req *r, bool tty, api_upgrade_fn fn, void *ctx, void (*free_ctx)(void *))
{
        const char *ctype = (!tty && r->version >= 142)
                                ? "application/vnd.docker.multiplexed-stream"
                                : "application/vnd.docker.raw-stream";
        const char *up = api_header(r, "Upgrade");
        struct sockstream *s;
        int sp[2];

        if (up != NULL && *up != '\0') {
                api_reply_upgrade(r, ctype, fn, ctx, free_ctx);
                return;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                if (free_ctx)
                        free_ctx(ctx);
                api_reply_error(r, 500, "socketpair: %s", strerror(errno));
                return;
        }
        (void)shutdown(sp[0], SHUT_WR); /* no stdin */
        s = xmalloc(sizeof(*s));
        *s = (struct sockstream){fn, ctx, free_ctx, sp[1]};
        if (api_spawn(r->api, sockstream_run, s) < 0) {
                close(sp[0]);
                close(sp[1]);
                if (free_ctx)
                        free_ctx(ctx);
                free(s);
                api_reply_error(r, 500, "cannot start a thread");
                return;
        }
        api_reply_fd(r, 200, ctype, sp[0]);
}

void api_container_attach(struct api_req *r)
{
        struct attach_job *j;
        bool tty;
        if (!api_need_engine(r) || !container_tty(r, &tty))
                return;
        j = xmalloc0(sizeof(*j));
        j->e = ENGINE(r);
        j->ref = xstrdup(r->params[0]);
        const char *dk = api_query(r, "detachKeys");
        j->detach_keys = dk && *dk ? xstrdup(dk) : NULL;
        j->o.in = api_query_bool(r, "stdin", false);
        j->o.out = api_query_bool(r, "stdout", false);
        j->o.err = api_query_bool(r, "stderr", false);
        j->o.logs = api_query_bool(r, "logs", false);
        j->o.stream = api_query_bool(r, "stream", false);
        api_hijack(r, tty, attach_run, j, attach_free);
}

#else /* !BERTH_API_HAVE_ENGINE */

#define NO_ENGINE(fn)                                                                              \
        void fn(struct api_req *r)                                                                 \
        {                                                                                          \
                api_need_engine(r);                                                                \
        }
NO_ENGINE(api_containers_list)
void api_container_create(struct api_req *r)
{
        cleanup_json json_object *body = api_body_json(r, false);
        cleanup_free char *why = body ? api_check_container_config(body) : NULL;
        if (body == NULL)
                return;
        if (why != NULL)
                api_reply_error(r, 400, "%s", why);
        else
                api_need_engine(r);
}
NO_ENGINE(api_container_inspect)
NO_ENGINE(api_container_start)
NO_ENGINE(api_container_stop)
NO_ENGINE(api_container_restart)
NO_ENGINE(api_container_kill)
NO_ENGINE(api_container_pause)
NO_ENGINE(api_container_unpause)
NO_ENGINE(api_container_delete)
NO_ENGINE(api_container_rename)
NO_ENGINE(api_container_wait)
NO_ENGINE(api_container_top)
NO_ENGINE(api_container_update)
NO_ENGINE(api_container_resize)
NO_ENGINE(api_container_export)
NO_ENGINE(api_container_archive_head)
NO_ENGINE(api_container_archive_get)
NO_ENGINE(api_container_archive_put)
NO_ENGINE(api_containers_prune)
NO_ENGINE(api_container_logs)
NO_ENGINE(api_container_attach)
NO_ENGINE(api_container_stats)

#endif
