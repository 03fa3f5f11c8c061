/* SPDX-License-Identifier: Apache-2.0 */
/* attach, resize and exec: the engine's side of the hijacked streams. The
 * container's output comes from its shim (shim.h) in the shim's frames and
 * goes to the client in Docker's 8-byte-header frames (raw for a TTY);
 * stdin goes straight to the fd the shim hands over. Attachers that come
 * before the start wait until the lifecycle calls
 * berth_engine_attach_prestart() and are connected before the process runs. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "engine-internal.h"
#include "shim-io.h"
#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

struct pending {
        struct pending *next;
        bool in, out, err;
        int wake[2];
        int conn, stdin_fd;
        bool cancelled, connected;
};

struct exec_pty {
        struct exec_pty *next;
        char id[BERTH_ID_LEN + 1];
        int fd;         /* dup of the exec's pty master, -1 until known */
        int rows, cols; /* asked for before the pty existed */
};

struct io_priv {
        pthread_mutex_t lock;
        struct pending *pending;
        struct exec_pty *ptys;
        bool prestarted; /* a shim has been started: attach to it directly */
};

static void io_priv_free(void *p)
{
        struct io_priv *io = p;
        struct exec_pty *x = io->ptys;

        while (x) {
                struct exec_pty *next = x->next;
                if (x->fd >= 0)
                        (void)close(x->fd);
                free(x);
                x = next;
        }
        pthread_mutex_destroy(&io->lock);
        free(io);
}

/* The container's io state (created on first use). */
static struct io_priv *io_get(struct berth_container *c)
{
        struct io_priv *io;

        pthread_mutex_lock(&c->lock);
        if (c->priv == NULL) {
                io = xmalloc0(sizeof(*io));
                pthread_mutex_init(&io->lock, NULL);
                c->priv = io;
                c->priv_free = io_priv_free;
        }
        io = c->priv;
        pthread_mutex_unlock(&c->lock);
        return io;
}

void berth_engine_attach_prestart(struct berth_container *c)
{
        struct io_priv *io = io_get(c);

        pthread_mutex_lock(&io->lock);
        io->prestarted = true;
        for (struct pending *p = io->pending; p; p = p->next) {
                if (p->connected || p->cancelled)
                        continue;
                p->conn =
                    berth_shim_attach(c->shim_socket, p->in, p->out, p->err, &p->stdin_fd, NULL);
                p->connected = true;
                (void)!write(p->wake[1], "x", 1);
        }
        pthread_mutex_unlock(&io->lock);
}

void berth_engine_attach_cancel(struct berth_container *c)
{
        struct io_priv *io = io_get(c);

        pthread_mutex_lock(&io->lock);
        io->prestarted = false;
        for (struct pending *p = io->pending; p; p = p->next) {
                if (p->connected)
                        continue;
                p->cancelled = true;
                (void)!write(p->wake[1], "x", 1);
        }
        pthread_mutex_unlock(&io->lock);
}

static void pending_remove(struct io_priv *io, struct pending *p)
{
        for (struct pending **pp = &io->pending; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
}

/* ---- detach keys ---- */

static int parse_detach_keys(const char *s, unsigned char *keys, size_t max, size_t *ret_n,
                             berth_error **err)
{
        cleanup_free char *copy = xstrdup(s);
        size_t n = 0;
        char *save = NULL;

        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                unsigned char k;
                if (n == max)
                        return berth_fail(err, EINVAL, "Invalid detach keys (%s) provided", s);
                if (strncmp(tok, "ctrl-", 5) == 0 && strlen(tok) == 6) {
                        char ch = tok[5];
                        if (ch >= 'a' && ch <= 'z')
                                k = (unsigned char)(ch - 'a' + 1);
                        else if (ch == '@')
                                k = 0;
                        else if (ch >= '[' && ch <= '_')
                                k = (unsigned char)(ch - '[' + 27);
                        else
                                return berth_fail(err, EINVAL, "Invalid detach keys (%s) provided",
                                                  s);
                } else if (strlen(tok) == 1) {
                        k = (unsigned char)tok[0];
                } else {
                        return berth_fail(err, EINVAL, "Invalid detach keys (%s) provided", s);
                }
                keys[n++] = k;
        }
        *ret_n = n;
        return 0;
}

/* ---- the relay ---- */

struct relay {
        int sock;  /* the client's hijacked connection */
        int in_fd; /* where the client's stdin goes (-1: nowhere) */
        bool tty;
        bool own_in;          /* in_fd is ours to close */
        bool close_in_with_c; /* on client EOF, also tell the shim ('c') */
        int shim_conn;        /* attach: the shim connection (frames) */
        int out_fd, err_fd;   /* exec: the process's stdout / stderr (or pty) */
        unsigned char keys[16];
        size_t n_keys, matched;
        bool client_gone;
};

static int send_frame(struct relay *r, int stream, const char *data, size_t len)
{
        if (r->client_gone)
                return 0;
        if (!r->tty) {
                unsigned char h[8] = {(unsigned char)stream,
                                      0,
                                      0,
                                      0,
                                      (unsigned char)(len >> 24),
                                      (unsigned char)(len >> 16),
                                      (unsigned char)(len >> 8),
                                      (unsigned char)len};
                if (berth_write_all(r->sock, h, 8) < 0) {
                        r->client_gone = true;
                        return 0;
                }
        }
        if (berth_write_all(r->sock, data, len) < 0)
                r->client_gone = true;
        return 0;
}

static void stdin_close(struct relay *r)
{
        if (r->in_fd >= 0 && r->own_in)
                (void)close(r->in_fd);
        r->in_fd = -1;
        if (r->close_in_with_c && r->shim_conn >= 0)
                (void)berth_write_all(r->shim_conn, "c", 1);
}

/* Client bytes -> stdin, watching for the detach keys. Returns true when
 * the client detached. */
static bool stdin_bytes(struct relay *r, const unsigned char *buf, size_t n)
{
        size_t start = 0;

        for (size_t i = 0; i < n && r->n_keys > 0; i++) {
                if (buf[i] == r->keys[r->matched]) {
                        if (++r->matched == r->n_keys)
                                return true;
                        continue;
                }
                if (r->matched > 0) {
                        /* A partial match that was not one: those bytes were
                         * held back; pass them on. */
                        if (r->in_fd >= 0 && i >= start)
                                (void)berth_write_all(r->in_fd, buf + start, i - start);
                        if (r->in_fd >= 0)
                                (void)berth_write_all(r->in_fd, r->keys, r->matched);
                        start = i;
                        r->matched = 0;
                        i--; /* re-examine this byte as a possible first key */
                }
        }
        if (r->in_fd >= 0) {
                size_t end = n - (r->n_keys > 0 ? r->matched : 0);
                /* Bytes of a partial match at the end are held back. */
                if (r->matched > 0 && end < start)
                        end = start;
                if (end > start && berth_write_all(r->in_fd, buf + start, end - start) < 0) {
                        bool c = r->close_in_with_c;
                        r->close_in_with_c = false;
                        stdin_close(r);
                        r->close_in_with_c = c;
                }
        }
        return false;
}

/* Attach: shim frames -> client; client -> stdin. */
static int relay_attach(struct relay *r)
{
        bool in_open = r->in_fd >= 0;
        bool client_eof = false;
        char buf[65536];

        for (;;) {
                struct pollfd p[2] = {
                    {.fd = r->shim_conn, .events = POLLIN},
                    {.fd = r->sock, .events = (in_open && !client_eof) ? POLLIN : 0}};
                int n = poll(p, 2, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t k = read(r->sock, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                client_eof = true;
                                stdin_close(r);
                                if (!(p[1].revents & POLLIN) || k < 0)
                                        return 0; /* hung up entirely */
                        } else if (stdin_bytes(r, (unsigned char *)buf, (size_t)k)) {
                                return 0; /* detached */
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        int stream;
                        uint32_t len;
                        int h = berth_shim_read_frame_header(r->shim_conn, &stream, &len);
                        if (h <= 0)
                                return 0; /* the output ended */
                        while (len > 0) {
                                size_t want = len > sizeof(buf) ? sizeof(buf) : len;
                                ssize_t k = berth_read_all(r->shim_conn, buf, want);
                                if (k <= 0)
                                        return 0;
                                send_frame(r, stream, buf, (size_t)k);
                                len -= (uint32_t)k;
                        }
                        if (r->client_gone)
                                return 0;
                }
        }
}

/* Exec: process output fds -> client; client -> stdin. Returns when the
 * process's output ended (even if the client went away first). Output fds
 * are left open (set to -1 here) for the caller to close. */
static void relay_exec(struct relay *r)
{
        bool client_eof = r->in_fd < 0;
        char buf[65536];

        while (r->out_fd >= 0 || r->err_fd >= 0) {
                struct pollfd p[3] = {
                    {.fd = r->out_fd, .events = POLLIN},
                    {.fd = r->err_fd, .events = POLLIN},
                    {.fd = r->client_gone ? -1 : r->sock, .events = client_eof ? 0 : POLLIN},
                };
                int n = poll(p, 3, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &r->out_fd : &r->err_fd;
                        ssize_t k;
                        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = read(*fd, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) { /* EOF, or EIO on a pty whose slave closed */
                                *fd = -1;
                                continue;
                        }
                        send_frame(r, i + 1, buf, (size_t)k);
                }
                if (p[2].fd >= 0 && p[2].revents) {
                        if (!client_eof && (p[2].revents & POLLIN)) {
                                ssize_t k = read(r->sock, buf, sizeof(buf));
                                if (k < 0 && errno == EINTR)
                                        continue;
                                if (k > 0) {
                                        if (stdin_bytes(r, (unsigned char *)buf, (size_t)k))
                                                r->client_gone = true; /* detached */
                                        continue;
                                }
                                client_eof = true;
                                stdin_close(r);
                                if (k < 0)
                                        r->client_gone = true;
                        } else if (p[2].revents & (POLLHUP | POLLERR)) {
                                r->client_gone = true;
                        }
                }
        }
}

/* ---- attach ---- */

int berth_engine_container_tty(struct berth_engine *e, const char *ref, bool *ret,
                               berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        *ret = c->tty;
        return 0;
}

int berth_engine_container_attach(struct berth_engine *e, const char *ref,
                                  const struct berth_attach_opts *o, int sock_fd, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        struct relay rl = {.sock = sock_fd,
                           .in_fd = -1,
                           .shim_conn = -1,
                           .out_fd = -1,
                           .err_fd = -1,
                           .own_in = true};
        struct io_priv *io;
        bool running, in;
        int r;

        r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = parse_detach_keys(o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q",
                              rl.keys, sizeof(rl.keys), &rl.n_keys, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        running = berth_container_is_running(c);
        if (c->status == BERTH_STATUS_PAUSED) {
                pthread_mutex_unlock(&c->lock);
                return berth_fail(err, EBUSY,
                                  "You cannot attach to a paused container, unpause it first");
        }
        pthread_mutex_unlock(&c->lock);
        rl.tty = c->tty;
        in = o->in && c->open_stdin;
        rl.close_in_with_c = c->stdin_once;
        if (!in)
                rl.n_keys = 0;

        if (o->logs) {
                struct berth_logs_opts lo = {
                    .out = o->out, .err = o->err, .tail = -1, .tty = c->tty};
                r = berth_logs_write(c->log_path, &lo, sock_fd, -1, NULL);
                if (r == -EPIPE)
                        return 0;
        }
        if (!o->stream)
                return 0;

        io = io_get(c);
        pthread_mutex_lock(&io->lock);
        if (running || io->prestarted) {
                pthread_mutex_unlock(&io->lock);
                rl.shim_conn =
                    berth_shim_attach(c->shim_socket, in, o->out, o->err, &rl.in_fd, NULL);
                if (rl.shim_conn < 0 && !running) {
                        pthread_mutex_lock(&io->lock);
                        io->prestarted = false;
                        pthread_mutex_unlock(&io->lock);
                }
        } else {
                pthread_mutex_unlock(&io->lock);
        }
        if (rl.shim_conn < 0) {
                /* Wait for the next start. */
                struct pending p = {
                    .in = in, .out = o->out, .err = o->err, .conn = -1, .stdin_fd = -1};
                if (pipe2(p.wake, O_CLOEXEC) < 0)
                        return berth_fail_errno(err, "pipe");
                pthread_mutex_lock(&io->lock);
                p.next = io->pending;
                io->pending = &p;
                pthread_mutex_unlock(&io->lock);
                for (;;) {
                        struct pollfd pf[2] = {{.fd = p.wake[0], .events = POLLIN},
                                               {.fd = sock_fd, .events = POLLRDHUP}};
                        int n = poll(pf, 2, -1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 || (pf[0].revents & POLLIN))
                                break;
                        if (pf[1].revents & (POLLHUP | POLLERR))
                                break;
                        if (pf[1].revents & POLLRDHUP) {
                                /* Half-closed (no stdin): only a full close
                                 * ends the wait; keep waiting on the pipe. */
                                struct pollfd q[2] = {{.fd = p.wake[0], .events = POLLIN},
                                                      {.fd = sock_fd, .events = 0}};
                                n = poll(q, 2, -1);
                                if (n > 0 && (q[1].revents & (POLLHUP | POLLERR)) &&
                                    !(q[0].revents & POLLIN))
                                        break;
                                if (n > 0)
                                        break;
                        }
                }
                pthread_mutex_lock(&io->lock);
                pending_remove(io, &p);
                rl.shim_conn = p.connected ? p.conn : -1;
                rl.in_fd = p.connected ? p.stdin_fd : -1;
                if (!p.connected && p.conn >= 0)
                        (void)close(p.conn);
                pthread_mutex_unlock(&io->lock);
                (void)close(p.wake[0]);
                (void)close(p.wake[1]);
                if (rl.shim_conn < 0)
                        return 0;
        }
        berth_engine_emit_container(e, c, "attach", NULL, false);
        r = relay_attach(&rl);
        if (rl.in_fd >= 0)
                (void)close(rl.in_fd);
        (void)close(rl.shim_conn);
        return r < 0 ? berth_fail(err, -r, "attach to `%s`", ref) : 0;
}

int berth_engine_container_resize(struct berth_engine *e, const char *ref, int height, int width,
                                  berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        bool running;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        running = berth_container_is_running(c);
        pthread_mutex_unlock(&c->lock);
        if (!running)
                return berth_fail(err, EBUSY, "Container %s is not running", c->id);
        if (!c->tty)
                return 0; /* dockerd ignores the size of a container without a TTY */
        if (height <= 0 || width <= 0 || height > 65535 || width > 65535)
                return berth_fail(err, EINVAL, "bad size %dx%d", height, width);
        return berth_shim_resize(c->shim_socket, height, width, err);
}

/* ---- exec ---- */

static char *join_cmd(json_object *cmd)
{
        size_t n = cmd ? json_object_array_length(cmd) : 0;
        char *s = xstrdup("");

        for (size_t i = 0; i < n; i++) {
                const char *a = json_object_get_string(json_object_array_get_idx(cmd, i));
                char *t = xasprintf("%s%s%s", s, i ? " " : "", a ? a : "");
                free(s);
                s = t;
        }
        return s;
}

int berth_engine_exec_create(struct berth_engine *e, const char *ref, json_object *body,
                             json_object **ret, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        json_object *cmd = berth_json_get(body, "Cmd");
        struct berth_exec *x;
        enum berth_container_status st;
        bool running;
        int r;

        r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        if (cmd == NULL || !json_object_is_type(cmd, json_type_array) ||
            json_object_array_length(cmd) == 0)
                return berth_fail(err, EINVAL, "No exec command specified");
        for (size_t i = 0; i < json_object_array_length(cmd); i++)
                if (!json_object_is_type(json_object_array_get_idx(cmd, i), json_type_string))
                        return berth_fail(err, EINVAL, "Cmd must be an array of strings");
        pthread_mutex_lock(&c->lock);
        st = c->status;
        running = berth_container_is_running(c);
        pthread_mutex_unlock(&c->lock);
        if (st == BERTH_STATUS_PAUSED)
                return berth_fail(
                    err, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
        if (!running || st == BERTH_STATUS_RESTARTING)
                return berth_fail(err, EBUSY, "Container %s is not running", c->id);
        x = xmalloc0(sizeof(*x));
        berth_engine_random_id(x->id);
        memcpy(x->container_id, c->id, sizeof(x->container_id));
        x->config = json_object_get(body);
        x->refs = 1;
        berth_engine_exec_add(e, x);
        {
                cleanup_free char *action_cmd = join_cmd(cmd);
                cleanup_free char *action = xasprintf("exec_create: %s", action_cmd);
                json_object *extra = json_object_new_object();
                json_object_object_add(extra, "execID", json_object_new_string(x->id));
                berth_engine_emit_container(e, c, action, extra, false);
        }
        *ret = json_object_new_object();
        json_object_object_add(*ret, "Id", json_object_new_string(x->id));
        return 0;
}

static struct exec_pty *pty_find(struct io_priv *io, const char *id)
{
        for (struct exec_pty *p = io->ptys; p; p = p->next)
                if (strcmp(p->id, id) == 0)
                        return p;
        return NULL;
}

static struct exec_pty *pty_get(struct io_priv *io, const char *id)
{
        struct exec_pty *p = pty_find(io, id);
        if (p == NULL) {
                p = xmalloc0(sizeof(*p));
                snprintf(p->id, sizeof(p->id), "%s", id);
                p->fd = -1;
                p->next = io->ptys;
                io->ptys = p;
        }
        return p;
}

static void pty_drop(struct io_priv *io, const char *id)
{
        for (struct exec_pty **pp = &io->ptys; *pp; pp = &(*pp)->next) {
                if (strcmp((*pp)->id, id) == 0) {
                        struct exec_pty *p = *pp;
                        *pp = p->next;
                        if (p->fd >= 0)
                                (void)close(p->fd);
                        free(p);
                        return;
                }
        }
}

static void exec_finish(struct berth_engine *e, struct berth_container *c, struct berth_exec *x,
                        int status)
{
        struct io_priv *io = io_get(c);
        json_object *extra = json_object_new_object();

        pthread_mutex_lock(&io->lock);
        pty_drop(io, x->id);
        pthread_mutex_unlock(&io->lock);
        pthread_mutex_lock(&e->lock);
        x->running = false;
        x->has_exit_code = true;
        x->exit_code = status;
        pthread_mutex_unlock(&e->lock);
        json_object_object_add(extra, "execID", json_object_new_string(x->id));
        {
                char code[16];
                snprintf(code, sizeof(code), "%d", status);
                json_object_object_add(extra, "exitCode", json_object_new_string(code));
        }
        berth_engine_emit_container(e, c, "exec_die", extra, false);
}

struct detached {
        struct berth_engine *e;
        struct berth_container *c;
        struct berth_exec *x;
        struct berth_shim_exec sx;
};

static void *detached_exec(void *arg)
{
        struct detached *d = arg;
        struct relay rl = {.sock = -1,
                           .in_fd = -1,
                           .shim_conn = -1,
                           .out_fd = d->sx.stdout_fd,
                           .err_fd = d->sx.stderr_fd,
                           .tty = d->sx.pty >= 0,
                           .client_gone = true};
        int status = 255;

        if (d->sx.pty >= 0)
                rl.out_fd = d->sx.pty;
        relay_exec(&rl);
        if (berth_shim_exec_wait(&d->sx, &status, NULL) < 0)
                status = 255;
        exec_finish(d->e, d->c, d->x, status);
        berth_shim_exec_clear(&d->sx);
        berth_exec_unref(d->e, d->x);
        berth_container_unref(d->c);
        free(d);
        return NULL;
}

/* Docker's words for a process that could not start, and its exit code. */
static char *exec_start_error(const berth_error *ex, int *ret_code)
{
        const char *msg = ex && ex->msg ? ex->msg : "unknown error";
        int st = berth_error_status(ex);
        const char *nf = strstr(msg, "executable file not found");
        cleanup_free char *clean = NULL;

        *ret_code = st == ENOENT ? 127 : 126;
        if (nf) {
                /* "exec: `x`: executable file not found in $PATH" -> Go's quoting */
                const char *a = strstr(msg, "exec: `");
                const char *b = a ? strchr(a + 7, '`') : NULL;
                if (a && b) {
                        clean = xasprintf("exec: \"%.*s\": executable file not found in $PATH",
                                          (int)(b - (a + 7)), a + 7);
                        msg = clean;
                }
                *ret_code = 127;
        }
        return xasprintf("OCI runtime exec failed: exec failed: unable to start container "
                         "process: %s: unknown",
                         msg);
}

int berth_engine_exec_start(struct berth_engine *e, const char *exec_id, json_object *body,
                            int sock_fd, berth_error **err)
{
        struct berth_exec *x = NULL;
        cleanup_container struct berth_container *c = NULL;
        cleanup_json json_object *proc = NULL;
        cleanup_strv char **argv = NULL;
        cleanup_strv char **env = NULL;
        cleanup_error berth_error *ex = NULL;
        struct berth_shim_exec sx = {
            .conn = -1, .pty = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
        json_object *cfg;
        bool tty, detach, in, privileged;
        int rows = 0, cols = 0, r, status = 255;
        struct io_priv *io;

        r = berth_engine_exec_get(e, exec_id, &x, err);
        if (r < 0)
                return r;
        cfg = x->config;
        r = berth_engine_container_get(e, x->container_id, &c, err);
        if (r < 0)
                goto out;
        pthread_mutex_lock(&e->lock);
        if (x->started) {
                pthread_mutex_unlock(&e->lock);
                r = berth_fail(err, EBUSY, "Error: Exec command %s is already running", x->id);
                goto out;
        }
        x->started = true;
        x->running = true;
        pthread_mutex_unlock(&e->lock);

        tty = berth_json_bool(cfg, "Tty", false);
        detach = body ? berth_json_bool(body, "Detach", false) : false;
        if (sock_fd < 0)
                detach = true;
        in = berth_json_bool(cfg, "AttachStdin", false) && !detach;
        privileged = berth_json_bool(cfg, "Privileged", false);
        {
                json_object *cs = body ? berth_json_get(body, "ConsoleSize") : NULL;
                if (cs == NULL)
                        cs = berth_json_get(cfg, "ConsoleSize");
                if (cs && json_object_is_type(cs, json_type_array) &&
                    json_object_array_length(cs) == 2) {
                        rows = json_object_get_int(json_object_array_get_idx(cs, 0));
                        cols = json_object_get_int(json_object_array_get_idx(cs, 1));
                }
        }
        argv = berth_json_strv(berth_json_get(cfg, "Cmd"));
        if (berth_json_get(cfg, "Env"))
                env = berth_json_strv(berth_json_get(cfg, "Env"));
        pthread_mutex_lock(&c->lock);
        if (!berth_container_is_running(c)) {
                pthread_mutex_unlock(&c->lock);
                r = berth_fail(err, EBUSY, "Container %s is not running", c->id);
                goto fail_start;
        }
        r = berth_container_exec_process(c, argv, berth_json_str(cfg, "User"), env,
                                         berth_json_str(cfg, "WorkingDir"), tty, privileged, &proc,
                                         err);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                goto fail_start;
        if (tty && rows > 0 && cols > 0) {
                json_object *size = json_object_new_object();
                json_object_object_add(size, "height", json_object_new_int(rows));
                json_object_object_add(size, "width", json_object_new_int(cols));
                json_object_object_add(proc, "consoleSize", size);
        }
        {
                cleanup_free char *action_cmd = join_cmd(berth_json_get(cfg, "Cmd"));
                cleanup_free char *action = xasprintf("exec_start: %s", action_cmd);
                json_object *extra = json_object_new_object();
                json_object_object_add(extra, "execID", json_object_new_string(x->id));
                berth_engine_emit_container(e, c, action, extra, false);
        }
        r = berth_shim_exec(c->shim_socket,
                            json_object_to_json_string_ext(proc, JSON_C_TO_STRING_PLAIN), tty, in,
                            rows, cols, &sx, &ex);
        if (r < 0) {
                int code;
                cleanup_free char *msg = exec_start_error(ex, &code);
                exec_finish(e, c, x, code);
                if (sock_fd >= 0) {
                        /* The stream is hijacked already: the error goes into it,
                         * as dockerd writes it. */
                        struct relay rl = {.sock = sock_fd, .tty = tty};
                        cleanup_free char *line = xasprintf("%s\r\n", msg);
                        send_frame(&rl, 1, line, strlen(line));
                        r = 0;
                } else {
                        r = berth_fail(err, code == 127 ? ENOENT : EACCES, "%s", msg);
                }
                goto out;
        }
        pthread_mutex_lock(&e->lock);
        x->pid = sx.pid;
        pthread_mutex_unlock(&e->lock);
        io = io_get(c);
        if (sx.pty >= 0) {
                struct exec_pty *p;
                pthread_mutex_lock(&io->lock);
                p = pty_get(io, x->id);
                p->fd = fcntl(sx.pty, F_DUPFD_CLOEXEC, 0);
                if (p->rows > 0 && p->cols > 0) {
                        struct winsize ws = {.ws_row = (unsigned short)p->rows,
                                             .ws_col = (unsigned short)p->cols};
                        (void)ioctl(p->fd, TIOCSWINSZ, &ws);
                }
                pthread_mutex_unlock(&io->lock);
        }
        if (detach) {
                struct detached *d = xmalloc0(sizeof(*d));
                pthread_t th;
                pthread_attr_t attr;
                d->e = e;
                d->c = berth_container_ref(c);
                d->x = x;
                d->sx = sx;
                /* The thread owns the fds and the reference now. */
                sx.conn = sx.pty = sx.stdin_fd = sx.stdout_fd = sx.stderr_fd = -1;
                x = NULL;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                if (pthread_create(&th, &attr, detached_exec, d) != 0)
                        detached_exec(d);
                pthread_attr_destroy(&attr);
                r = 0;
                goto out;
        }
        {
                struct relay rl = {.sock = sock_fd, .tty = tty, .shim_conn = -1};
                if (tty) {
                        rl.out_fd = sx.pty;
                        rl.err_fd = -1;
                        rl.in_fd = in ? sx.pty : -1;
                        rl.own_in = false;
                } else {
                        rl.out_fd = sx.stdout_fd;
                        rl.err_fd = sx.stderr_fd;
                        rl.in_fd = steal_fd(&sx.stdin_fd);
                        rl.own_in = true;
                }
                (void)parse_detach_keys(berth_json_str(cfg, "DetachKeys") &&
                                                *berth_json_str(cfg, "DetachKeys")
                                            ? berth_json_str(cfg, "DetachKeys")
                                            : "ctrl-p,ctrl-q",
                                        rl.keys, sizeof(rl.keys), &rl.n_keys, NULL);
                if (!in)
                        rl.n_keys = 0;
                relay_exec(&rl);
                if (rl.own_in && rl.in_fd >= 0)
                        (void)close(rl.in_fd);
        }
        if (berth_shim_exec_wait(&sx, &status, NULL) < 0)
                status = 255;
        exec_finish(e, c, x, status);
        r = 0;
        goto out;
fail_start:
        pthread_mutex_lock(&e->lock);
        x->running = false;
        x->started = false;
        pthread_mutex_unlock(&e->lock);
out:
        berth_shim_exec_clear(&sx);
        if (x)
                berth_exec_unref(e, x);
        return r;
}

int berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, json_object **ret,
                              berth_error **err)
{
        struct berth_exec *x = NULL;
        json_object *o, *pc, *cfg;
        cleanup_strv char **argv = NULL;
        int r = berth_engine_exec_get(e, exec_id, &x, err);

        if (r < 0)
                return r;
        cfg = x->config;
        argv = berth_json_strv(berth_json_get(cfg, "Cmd"));
        o = json_object_new_object();
        json_object_object_add(o, "CanRemove", json_object_new_boolean(false));
        json_object_object_add(o, "ContainerID", json_object_new_string(x->container_id));
        json_object_object_add(o, "DetachKeys",
                               json_object_new_string(berth_json_str(cfg, "DetachKeys")
                                                          ? berth_json_str(cfg, "DetachKeys")
                                                          : ""));
        pthread_mutex_lock(&e->lock);
        json_object_object_add(o, "ExitCode",
                               x->has_exit_code ? json_object_new_int(x->exit_code) : NULL);
        json_object_object_add(o, "ID", json_object_new_string(x->id));
        json_object_object_add(
            o, "OpenStderr", json_object_new_boolean(berth_json_bool(cfg, "AttachStderr", false)));
        json_object_object_add(o, "OpenStdin",
                               json_object_new_boolean(berth_json_bool(cfg, "AttachStdin", false)));
        json_object_object_add(
            o, "OpenStdout", json_object_new_boolean(berth_json_bool(cfg, "AttachStdout", false)));
        json_object_object_add(o, "Running", json_object_new_boolean(x->running));
        json_object_object_add(o, "Pid", json_object_new_int(x->running ? x->pid : 0));
        pthread_mutex_unlock(&e->lock);
        pc = json_object_new_object();
        {
                json_object *args = json_object_new_array();
                for (size_t i = 1; argv && argv[i]; i++)
                        json_object_array_add(args, json_object_new_string(argv[i]));
                json_object_object_add(pc, "arguments", args);
                json_object_object_add(pc, "entrypoint",
                                       json_object_new_string(argv && argv[0] ? argv[0] : ""));
        }
        json_object_object_add(pc, "privileged",
                               json_object_new_boolean(berth_json_bool(cfg, "Privileged", false)));
        json_object_object_add(pc, "tty",
                               json_object_new_boolean(berth_json_bool(cfg, "Tty", false)));
        json_object_object_add(
            pc, "user",
            json_object_new_string(berth_json_str(cfg, "User") ? berth_json_str(cfg, "User") : ""));
        json_object_object_add(o, "ProcessConfig", pc);
        berth_exec_unref(e, x);
        *ret = o;
        return 0;
}

int berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, int height, int width,
                             berth_error **err)
{
        struct berth_exec *x = NULL;
        cleanup_container struct berth_container *c = NULL;
        struct io_priv *io;
        struct exec_pty *p;
        int r = berth_engine_exec_get(e, exec_id, &x, err);

        if (r < 0)
                return r;
        r = berth_engine_container_get(e, x->container_id, &c, err);
        berth_exec_unref(e, x);
        if (r < 0)
                return r;
        if (height <= 0 || width <= 0 || height > 65535 || width > 65535)
                return berth_fail(err, EINVAL, "bad size %dx%d", height, width);
        io = io_get(c);
        pthread_mutex_lock(&io->lock);
        p = pty_get(io, exec_id);
        p->rows = height;
        p->cols = width;
        if (p->fd >= 0) {
                struct winsize ws = {.ws_row = (unsigned short)height,
                                     .ws_col = (unsigned short)width};
                (void)ioctl(p->fd, TIOCSWINSZ, &ws);
        }
        pthread_mutex_unlock(&io->lock);
        return 0;
}
