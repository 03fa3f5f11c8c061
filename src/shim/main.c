/* SPDX-License-Identifier: Apache-2.0 */
/* berth-shim: the per-container monitor (protocol and files: shim.h).
 *
 * The shim stays small: every runtime call (create, start, exec, delete)
 * runs in a short-lived forked helper, so the JSON parsing and the runtime's
 * allocations never live in the shim's own heap. Being a child subreaper,
 * the shim inherits the container's init (and every exec'd process) when
 * the helper that spawned it exits. One epoll loop: signalfd (SIGCHLD), the
 * listening socket, the container's output, the clients, the helpers. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "shim/jsonlog.h"
#include "shim/proto.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* An attacher further behind than this is dropped. */
#define ATTACH_BUFFER_MAX (1024 * 1024)
/* After the init exits, how long its output may still drain (ms). */
#define DRAIN_MS 2000
/* After the exit record, how long attachers may take to read the tail (ms). */
#define LINGER_MS 5000

enum tag { T_LISTEN, T_SIGNAL, T_OUT, T_ERR, T_TIMER, T_CLIENT, T_HELPER };

struct ep {
        enum tag tag;
};

struct obuf {
        char *data;
        size_t len, cap;
};

/* C_BUSY: closed once its output is flushed; C_PENDING: waits for a helper. */
enum client_kind { C_REQ, C_ATTACH, C_WAIT, C_EXEC, C_BUSY, C_PENDING };

struct client {
        struct ep ep;
        struct client *next;
        int fd;
        enum client_kind kind;
        char line[BERTH_SHIM_LINE_MAX];
        size_t line_len;
        char *body;
        size_t body_len, body_need;
        int exec_tty, exec_stdin, rows, cols;
        bool want_out, want_err;
        struct obuf ob;
        bool dead;
        pid_t exec_pid;
};

enum helper_kind { H_START, H_EXEC };

struct helper {
        struct ep ep;
        struct helper *next;
        enum helper_kind kind;
        pid_t pid;
        int pipe;
        char res[BERTH_SHIM_LINE_MAX];
        size_t res_len;
        struct client *client; /* NULL once the client went away */
        int fds[3];            /* exec: the fds for the client */
        size_t nfds;
        int console; /* exec with tty: the console listening socket */
        char *console_path;
        int rows, cols;
};

struct unclaimed {
        pid_t pid;
        int status;
};

struct stream {
        struct ep ep;
        int fd;
        const char *name;
        struct berth_jsonlog_line *line;
};

struct shim {
        /* options */
        const char *id, *bundle, *root, *socket_path, *exit_path, *log_path;
        int64_t log_max_size;
        int log_max_file;
        bool tty, open_stdin, stdin_once;
        int rows, cols;
        char *rundir;
        int rundir_fd; /* O_PATH: short socket paths for the runtime */
        struct berth_runtime rt;

        int epfd, sigfd, lfd, timerfd;
        struct ep lep, sep, tep;
        struct stream out, err;
        int stdin_w; /* the container's stdin (pipe write end, or the pty) */
        int pty;

        pid_t init_pid;
        int init_pidfd;
        bool started, init_exited, finished;
        bool start_pending; /* a start helper has not reported yet */
        int init_status;
        char *start_error;
        int start_errno;

        struct berth_jsonlog log;
        bool logging;
        char oom_file[512];
        long oom_base;

        struct client *clients;
        struct helper *helpers;
        struct unclaimed unclaimed[32];
        size_t n_unclaimed;
        unsigned counter;
};

static void ep_add(struct shim *s, int fd, uint32_t events, struct ep *p)
{
        struct epoll_event ev = {.events = events, .data.ptr = p};
        (void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_mod(struct shim *s, int fd, uint32_t events, struct ep *p)
{
        struct epoll_event ev = {.events = events, .data.ptr = p};
        (void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void ep_del(struct shim *s, int fd)
{
        (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void obuf_add(struct obuf *b, const void *data, size_t len)
{
        if (b->len + len > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap < b->len + len)
                        cap *= 2;
                b->data = xrealloc(b->data, cap);
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
}

static void client_send(struct shim *s, struct client *c, const void *data, size_t len);

static void client_flush(struct shim *s, struct client *c)
{
        while (c->ob.len > 0 && !c->dead) {
                ssize_t n = send(c->fd, c->ob.data, c->ob.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        c->dead = true;
                        return;
                }
                memmove(c->ob.data, c->ob.data + n, c->ob.len - (size_t)n);
                c->ob.len -= (size_t)n;
        }
        if (c->ob.len == 0 && c->ob.cap > 65536) {
                free(c->ob.data);
                c->ob.data = NULL;
                c->ob.cap = 0;
        }
        if (!c->dead)
                ep_mod(s, c->fd, EPOLLIN | EPOLLRDHUP | (c->ob.len ? EPOLLOUT : 0), &c->ep);
}

static void client_send(struct shim *s, struct client *c, const void *data, size_t len)
{
        if (c->dead)
                return;
        if (c->ob.len + len > ATTACH_BUFFER_MAX) {
                c->dead = true;
                return;
        }
        obuf_add(&c->ob, data, len);
        client_flush(s, c);
}

static void client_reply(struct shim *s, struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void client_reply(struct shim *s, struct client *c, const char *fmt, ...)
{
        char buf[BERTH_SHIM_LINE_MAX];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(buf) - 2)
                n = (int)sizeof(buf) - 2;
        /* No newline inside a reply line. */
        for (int i = 0; i < n; i++)
                if (buf[i] == '\n' || buf[i] == '\r')
                        buf[i] = ' ';
        buf[n++] = '\n';
        client_send(s, c, buf, (size_t)n);
}

static void client_free(struct shim *s, struct client *c)
{
        for (struct client **pp = &s->clients; *pp; pp = &(*pp)->next) {
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        }
        for (struct helper *h = s->helpers; h; h = h->next)
                if (h->client == c)
                        h->client = NULL;
        ep_del(s, c->fd);
        (void)close(c->fd);
        free(c->body);
        free(c->ob.data);
        free(c);
}

/* ---- output ---- */

static void fan_out(struct shim *s, int stream, const char *data, size_t len)
{
        unsigned char h[5] = {(unsigned char)stream, (unsigned char)(len >> 24),
                              (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                              (unsigned char)len};

        for (struct client *c = s->clients; c; c = c->next) {
                if (c->kind != C_ATTACH || c->dead)
                        continue;
                if ((stream == 1 && !c->want_out) || (stream == 2 && !c->want_err))
                        continue;
                if (c->ob.len + len + sizeof(h) > ATTACH_BUFFER_MAX) {
                        c->dead = true;
                        continue;
                }
                obuf_add(&c->ob, h, sizeof(h));
                obuf_add(&c->ob, data, len);
                client_flush(s, c);
        }
}

static void stream_close(struct shim *s, struct stream *st)
{
        if (st->fd < 0)
                return;
        if (s->logging && st->line)
                (void)berth_jsonlog_flush(&s->log, st->line, st->name, NULL);
        ep_del(s, st->fd);
        (void)close(st->fd);
        st->fd = -1;
}

static void stream_read(struct shim *s, struct stream *st, int id)
{
        char buf[16384];

        for (;;) {
                ssize_t n = read(st->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) { /* EOF, or EIO on a pty whose last slave closed */
                        stream_close(s, st);
                        return;
                }
                if (s->logging)
                        (void)berth_jsonlog_feed(&s->log, st->line, st->name, buf, (size_t)n, NULL);
                fan_out(s, id, buf, (size_t)n);
                if ((size_t)n < sizeof(buf))
                        return;
        }
}

/* ---- exit ---- */

static long read_oom_kills(const char *path)
{
        char buf[1024];
        int fd;
        ssize_t n;
        char *p;

        if (path[0] == '\0')
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        (void)close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        p = strstr(buf, "oom_kill ");
        return p ? strtol(p + 9, NULL, 10) : 0;
}

/* The memory cgroup's OOM counter of the init: v1 memory.oom_control, else
 * v2 memory.events. */
static void find_oom_file(struct shim *s)
{
        char path[64], buf[4096];
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)s->init_pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, buf, sizeof(buf) - 1);
        (void)close(fd);
        if (n <= 0)
                return;
        buf[n] = '\0';
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
                if (b == NULL)
                        continue;
                *b = '\0';
                if (strcmp(a + 1, "memory") == 0) {
                        snprintf(s->oom_file, sizeof(s->oom_file),
                                 "/sys/fs/cgroup/memory%s/memory.oom_control", b + 1);
                        break;
                }
                if (a[1] == '\0' && s->oom_file[0] == '\0') {
                        char p2[512];
                        snprintf(p2, sizeof(p2), "/sys/fs/cgroup%s/memory.events", b + 1);
                        if (access(p2, R_OK) == 0)
                                snprintf(s->oom_file, sizeof(s->oom_file), "%s", p2);
                }
        }
        s->oom_base = read_oom_kills(s->oom_file);
}

static void run_delete(struct shim *s)
{
        pid_t pid = fork();

        if (pid == 0) {
                sigset_t all;
                sigemptyset(&all);
                (void)sigprocmask(SIG_SETMASK, &all, NULL);
                (void)berth_container_delete(&s->rt, s->id, true, NULL);
                _exit(0);
        }
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

static int exit_code_of(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

static void finish(struct shim *s)
{
        char rec[8192], when[48], esc[3 * 1024 * 6 + 1];
        struct timespec now;
        int code = exit_code_of(s->init_status);
        bool oom;
        size_t elen = 0;
        int n;

        if (s->finished)
                return;
        s->finished = true;
        stream_close(s, &s->out);
        stream_close(s, &s->err);
        if (s->pty >= 0) {
                (void)close(s->pty);
                s->pty = -1;
        }
        if (s->stdin_w >= 0) {
                (void)close(s->stdin_w);
                s->stdin_w = -1;
        }
        oom = read_oom_kills(s->oom_file) > s->oom_base;
        if (s->start_error) {
                size_t l = strlen(s->start_error);
                if (l > 3 * 1024)
                        l = 3 * 1024;
                elen = berth_jsonlog_escape(esc, s->start_error, l);
                code = s->start_errno == ENOENT ? 127 : s->start_errno == EACCES ? 126 : 128;
        }
        esc[elen] = '\0';
        clock_gettime(CLOCK_REALTIME, &now);
        berth_jsonlog_format_time(when, &now);
        run_delete(s);
        n = snprintf(rec, sizeof(rec),
                     "{\"ExitCode\":%d,\"OOMKilled\":%s,\"FinishedAt\":\"%s\",\"Pid\":%d,"
                     "\"Error\":\"%s\"}\n",
                     code, oom ? "true" : "false", when, (int)s->init_pid, esc);
        (void)berth_write_file_atomic(s->exit_path, rec, (size_t)n, 0644, NULL);
        if (s->logging)
                berth_jsonlog_close(&s->log);
        s->logging = false;
        for (struct client *c = s->clients; c; c = c->next) {
                if (c->kind == C_WAIT) {
                        client_reply(s, c, "OK %d %d", code, oom ? 1 : 0);
                        c->kind = C_BUSY; /* closed once flushed */
                } else if (c->kind == C_ATTACH) {
                        c->kind = C_BUSY;
                }
        }
        {
                struct itimerspec its = {.it_value = {LINGER_MS / 1000, 0}};
                (void)timerfd_settime(s->timerfd, 0, &its, NULL);
        }
}

static void maybe_finish(struct shim *s)
{
        /* A start helper still writing the runtime state must finish before
         * finish() deletes it (an init that exits at once races with it). */
        if (s->init_exited && !s->start_pending && s->out.fd < 0 && s->err.fd < 0)
                finish(s);
}

static void init_exited(struct shim *s, int status)
{
        struct itimerspec its = {.it_value = {DRAIN_MS / 1000, (DRAIN_MS % 1000) * 1000000L}};

        s->init_exited = true;
        s->init_status = status;
        if (s->init_pidfd >= 0) {
                (void)close(s->init_pidfd);
                s->init_pidfd = -1;
        }
        (void)timerfd_settime(s->timerfd, 0, &its, NULL);
        /* A pty has no EOF of its own while we hold the master: drain what
         * is there and let finish() close it. */
        if (s->tty && s->out.fd >= 0)
                stream_read(s, &s->out, 1);
        maybe_finish(s);
}

static void reap(struct shim *s)
{
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                bool claimed = false;

                if (pid <= 0)
                        return;
                if (pid == s->init_pid) {
                        init_exited(s, status);
                        continue;
                }
                for (struct helper *h = s->helpers; h; h = h->next)
                        if (h->pid == pid) {
                                h->pid = 0; /* its result comes on its pipe */
                                claimed = true;
                        }
                for (struct client *c = s->clients; c && !claimed; c = c->next) {
                        if (c->kind == C_EXEC && c->exec_pid == pid) {
                                char line[32];
                                int k =
                                    snprintf(line, sizeof(line), "EXIT %d\n", exit_code_of(status));
                                client_send(s, c, line, (size_t)k);
                                c->kind = C_BUSY;
                                claimed = true;
                        }
                }
                if (!claimed) {
                        /* An exec whose helper has not reported yet (or an
                         * orphan of the container). Keep the latest few. */
                        size_t i = s->n_unclaimed < 32 ? s->n_unclaimed++ : (size_t)(pid % 32);
                        s->unclaimed[i].pid = pid;
                        s->unclaimed[i].status = status;
                }
        }
}

/* ---- helpers (forked children running the runtime) ---- */

static void helper_child_prepare(void)
{
        sigset_t all;
        sigemptyset(&all);
        (void)sigprocmask(SIG_SETMASK, &all, NULL);
        (void)signal(SIGPIPE, SIG_DFL);
}

static void helper_report(int fd, int r, berth_error *e, const char *ok)
{
        char buf[BERTH_SHIM_LINE_MAX];
        int n;

        if (r >= 0)
                n = snprintf(buf, sizeof(buf), "OK %s\n", ok);
        else
                n = snprintf(buf, sizeof(buf), "ERR %d %s\n", e && e->status ? e->status : -r,
                             e && e->msg ? e->msg : "failed");
        if (n >= (int)sizeof(buf))
                n = (int)sizeof(buf) - 1;
        for (int i = 0; i < n - 1; i++)
                if (buf[i] == '\n')
                        buf[i] = ' ';
        (void)berth_write_all(fd, buf, (size_t)n);
}

static struct helper *helper_new(struct shim *s, enum helper_kind kind, struct client *c)
{
        struct helper *h = xmalloc0(sizeof(*h));
        h->ep.tag = T_HELPER;
        h->kind = kind;
        h->client = c;
        h->pipe = -1;
        h->console = -1;
        for (int i = 0; i < 3; i++)
                h->fds[i] = -1;
        h->next = s->helpers;
        s->helpers = h;
        return h;
}

static void helper_free(struct shim *s, struct helper *h)
{
        for (struct helper **pp = &s->helpers; *pp; pp = &(*pp)->next)
                if (*pp == h) {
                        *pp = h->next;
                        break;
                }
        if (h->pipe >= 0) {
                ep_del(s, h->pipe);
                (void)close(h->pipe);
        }
        for (size_t i = 0; i < 3; i++)
                if (h->fds[i] >= 0)
                        (void)close(h->fds[i]);
        if (h->console >= 0)
                (void)close(h->console);
        if (h->console_path) {
                (void)unlink(h->console_path);
                free(h->console_path);
        }
        free(h);
}

static int listen_unix(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int dfd = -1;
        int fd, r = berth_shim_sun_path(path, sa.sun_path, sizeof(sa.sun_path), &dfd);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                int e = errno;
                (void)close(fd);
                return -e;
        }
        (void)chmod(path, 0600);
        return fd;
}

/* Receive the pty master that the runtime sent to a console socket. */
static int recv_console(int lfd)
{
        int conn = TEMP_FAILURE_RETRY_INT(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
        union {
                char b[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        char name[256];
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
        int fd = -1;

        if (conn < 0)
                return -errno;
        if (TEMP_FAILURE_RETRY_INT(recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) >= 0) {
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                if (c && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        }
        (void)close(conn);
        return fd >= 0 ? fd : -EPROTO;
}

static void set_winsize(int fd, int rows, int cols)
{
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        if (fd >= 0 && rows > 0 && cols > 0)
                (void)ioctl(fd, TIOCSWINSZ, &ws);
}

static void start_container(struct shim *s, struct client *c)
{
        int p[2];
        struct helper *h;

        if (s->started || s->init_exited) {
                client_reply(s, c, "ERR %d the container is not in the created state", EINVAL);
                return;
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                client_reply(s, c, "ERR %d pipe: %s", errno, strerror(errno));
                return;
        }
        h = helper_new(s, H_START, c);
        h->pid = fork();
        if (h->pid == 0) {
                cleanup_error berth_error *e = NULL;
                int r;
                helper_child_prepare();
                r = berth_container_start(&s->rt, s->id, &e);
                helper_report(p[1], r, e, "");
                _exit(0);
        }
        (void)close(p[1]);
        h->pipe = p[0];
        if (h->pid < 0) {
                client_reply(s, c, "ERR %d fork: %s", errno, strerror(errno));
                helper_free(s, h);
                return;
        }
        s->started = true;
        s->start_pending = true;
        c->kind = C_PENDING;
        ep_add(s, h->pipe, EPOLLIN, &h->ep);
}

static void exec_process(struct shim *s, struct client *c)
{
        int p[2], in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
        struct helper *h;
        cleanup_free char *pid_file = NULL;

        if (s->init_exited || !s->started) {
                client_reply(s, c, "ERR %d the container is not running", EINVAL);
                return;
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                client_reply(s, c, "ERR %d pipe: %s", errno, strerror(errno));
                return;
        }
        h = helper_new(s, H_EXEC, c);
        h->rows = c->rows;
        h->cols = c->cols;
        s->counter++;
        pid_file = xasprintf("%s/exec-%d-%u.pid", s->rundir, (int)getpid(), s->counter);
        if (c->exec_tty) {
                h->console_path =
                    xasprintf("%s/exec-%d-%u.sock", s->rundir, (int)getpid(), s->counter);
                h->console = listen_unix(h->console_path);
                if (h->console < 0) {
                        client_reply(s, c, "ERR %d console socket: %s", -h->console,
                                     strerror(-h->console));
                        goto fail;
                }
        } else {
                if ((c->exec_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
                    pipe2(errp, O_CLOEXEC) < 0) {
                        client_reply(s, c, "ERR %d pipe: %s", errno, strerror(errno));
                        goto fail;
                }
        }
        h->pid = fork();
        if (h->pid == 0) {
                cleanup_error berth_error *e = NULL;
                json_object *proc;
                cleanup_free char *short_path = h->console_path
                                                    ? xasprintf("/proc/self/fd/%d/%s", s->rundir_fd,
                                                                strrchr(h->console_path, '/') + 1)
                                                    : NULL;
                struct berth_exec_opts o = {.id = s->id,
                                            .console_socket = short_path,
                                            .pid_file = pid_file,
                                            .detach = true};
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                int st = 0, r;
                char ok[32] = "";

                helper_child_prepare();
                (void)dup2(in[0] >= 0 ? in[0] : devnull, 0);
                (void)dup2(out[1] >= 0 ? out[1] : devnull, 1);
                (void)dup2(errp[1] >= 0 ? errp[1] : devnull, 2);
                proc = json_tokener_parse(c->body);
                if (proc == NULL) {
                        helper_report(p[1], berth_fail(&e, EINVAL, "bad process document"), e, "");
                        _exit(0);
                }
                o.process = proc;
                r = berth_container_exec(&s->rt, &o, &st, &e);
                if (r >= 0) {
                        cleanup_free char *pid = NULL;
                        if (berth_read_file(pid_file, &pid, NULL, &e) < 0)
                                r = -EIO;
                        else
                                snprintf(ok, sizeof(ok), "%s", pid);
                }
                (void)unlink(pid_file);
                helper_report(p[1], r, e, ok);
                _exit(0);
        }
        if (h->pid < 0) {
                client_reply(s, c, "ERR %d fork: %s", errno, strerror(errno));
                goto fail;
        }
        /* Keep the client's ends; the process has its own. */
        if (!c->exec_tty) {
                h->fds[0] = out[0];
                h->fds[1] = errp[0];
                h->fds[2] = in[1];
                h->nfds = c->exec_stdin ? 3 : 2;
                (void)close(out[1]);
                (void)close(errp[1]);
                if (in[0] >= 0)
                        (void)close(in[0]);
        }
        (void)close(p[1]);
        h->pipe = p[0];
        c->kind = C_PENDING;
        ep_add(s, h->pipe, EPOLLIN, &h->ep);
        return;
fail:
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0)
                        (void)close(in[i]);
                if (out[i] >= 0)
                        (void)close(out[i]);
                if (errp[i] >= 0)
                        (void)close(errp[i]);
        }
        (void)close(p[0]);
        (void)close(p[1]);
        helper_free(s, h);
}

static void helper_done(struct shim *s, struct helper *h)
{
        struct client *c = h->client;
        char *line = h->res;
        bool ok;

        h->res[h->res_len] = '\0';
        if (h->res_len > 0 && line[h->res_len - 1] == '\n')
                line[h->res_len - 1] = '\0';
        ok = strncmp(line, "OK", 2) == 0;
        if (h->res_len == 0)
                line = "ERR 5 the runtime helper died";
        if (h->kind == H_START) {
                if (!ok && s->start_error == NULL) {
                        const char *msg = line;
                        int e = (int)strtol(line + 4, (char **)&msg, 10);
                        s->start_errno = e > 0 ? e : EIO;
                        s->start_error = xstrdup(*msg == ' ' ? msg + 1 : msg);
                }
                if (c) {
                        client_reply(s, c, "%s", line);
                        c->kind = C_BUSY;
                }
                s->start_pending = false;
                maybe_finish(s);
        } else if (ok) {
                pid_t pid = (pid_t)strtol(line + 2, NULL, 10);
                if (h->console >= 0) {
                        int pty = recv_console(h->console);
                        if (pty >= 0) {
                                set_winsize(pty, h->rows, h->cols);
                                h->fds[0] = pty;
                                h->nfds = 1;
                        }
                }
                if (c && h->nfds > 0) {
                        char buf[64];
                        int k = snprintf(buf, sizeof(buf), "OK %d\n", (int)pid);
                        client_flush(s, c);
                        if (berth_shim_send_fds(c->fd, buf, (size_t)k, h->fds, h->nfds) < 0)
                                c->dead = true;
                        c->kind = C_EXEC;
                        c->exec_pid = pid;
                        for (size_t i = 0; i < s->n_unclaimed; i++) {
                                if (s->unclaimed[i].pid == pid) {
                                        k = snprintf(buf, sizeof(buf), "EXIT %d\n",
                                                     exit_code_of(s->unclaimed[i].status));
                                        client_send(s, c, buf, (size_t)k);
                                        s->unclaimed[i].pid = 0;
                                        c->kind = C_BUSY;
                                }
                        }
                } else if (c) {
                        client_reply(s, c, "ERR %d no pty from the exec", EIO);
                        c->kind = C_BUSY;
                }
        } else if (c) {
                client_reply(s, c, "%s", line);
                c->kind = C_BUSY;
        }
        if (h->pid > 0)
                while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        h->pid = 0;
        helper_free(s, h);
}

static void helper_readable(struct shim *s, struct helper *h)
{
        for (;;) {
                ssize_t n = read(h->pipe, h->res + h->res_len, sizeof(h->res) - 1 - h->res_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0 || (h->res_len += (size_t)n) >= sizeof(h->res) - 1 ||
                    h->res[h->res_len - 1] == '\n') {
                        helper_done(s, h);
                        return;
                }
        }
}

/* ---- requests ---- */

static const char *status_word(struct shim *s)
{
        if (s->init_exited)
                return "exited";
        return s->started ? "running" : "created";
}

static void handle_request(struct shim *s, struct client *c)
{
        char *line = c->line;

        if (strcmp(line, "STATE") == 0) {
                client_reply(s, c, "OK %s %d %d", status_word(s), (int)s->init_pid,
                             s->init_exited ? exit_code_of(s->init_status) : -1);
                c->kind = C_BUSY;
        } else if (strcmp(line, "START") == 0) {
                start_container(s, c);
        } else if (strncmp(line, "KILL ", 5) == 0) {
                int sig = atoi(line + 5);
                if (s->init_exited || s->init_pidfd < 0)
                        client_reply(s, c, "ERR %d the container is not running", ESRCH);
                else if (syscall(SYS_pidfd_send_signal, s->init_pidfd, sig, NULL, 0) < 0)
                        client_reply(s, c, "ERR %d kill: %s", errno, strerror(errno));
                else
                        client_reply(s, c, "OK");
                c->kind = C_BUSY;
        } else if (strncmp(line, "RESIZE ", 7) == 0) {
                int rows = 0, cols = 0;
                if (sscanf(line + 7, "%d %d", &rows, &cols) != 2 || rows <= 0 || cols <= 0 ||
                    rows > 65535 || cols > 65535)
                        client_reply(s, c, "ERR %d bad size", EINVAL);
                else if (s->pty < 0)
                        client_reply(s, c, "ERR %d the container has no TTY", EINVAL);
                else {
                        set_winsize(s->pty, rows, cols);
                        client_reply(s, c, "OK");
                }
                c->kind = C_BUSY;
        } else if (strcmp(line, "WAIT") == 0) {
                if (s->finished) {
                        client_reply(s, c, "OK %d 0", exit_code_of(s->init_status));
                        c->kind = C_BUSY;
                } else {
                        c->kind = C_WAIT;
                }
        } else if (strncmp(line, "ATTACH ", 7) == 0) {
                bool in = strchr(line + 7, 'i') != NULL;
                int fd = s->tty ? s->pty : s->stdin_w;
                c->want_out = strchr(line + 7, 'o') != NULL;
                c->want_err = strchr(line + 7, 'e') != NULL;
                if (s->finished) {
                        c->kind = C_BUSY;
                        return;
                }
                if (in && fd >= 0 && (s->open_stdin || s->tty)) {
                        if (berth_shim_send_fds(c->fd, "OK\n", 3, &fd, 1) < 0)
                                c->dead = true;
                } else {
                        client_reply(s, c, "OK");
                }
                c->kind = C_ATTACH;
        } else if (strncmp(line, "EXEC ", 5) == 0) {
                size_t len = 0;
                if (sscanf(line + 5, "%d %d %d %d %zu", &c->exec_tty, &c->exec_stdin, &c->rows,
                           &c->cols, &len) != 5 ||
                    len == 0 || len > BERTH_SHIM_EXEC_MAX) {
                        client_reply(s, c, "ERR %d bad EXEC request", EINVAL);
                        c->kind = C_BUSY;
                        return;
                }
                c->body = xmalloc(len + 1);
                c->body_need = len;
                c->body_len = 0;
        } else {
                client_reply(s, c, "ERR %d unknown request", EINVAL);
                c->kind = C_BUSY;
        }
}

static void client_readable(struct shim *s, struct client *c)
{
        char buf[4096];

        for (;;) {
                ssize_t n;
                size_t off = 0;

                if (c->body && c->body_len < c->body_need) {
                        n = read(c->fd, c->body + c->body_len, c->body_need - c->body_len);
                        if (n > 0) {
                                c->body_len += (size_t)n;
                                if (c->body_len == c->body_need) {
                                        c->body[c->body_len] = '\0';
                                        exec_process(s, c);
                                }
                                continue;
                        }
                } else {
                        n = read(c->fd, buf, sizeof(buf));
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        /* The client went away (or half-closed). */
                        if (c->kind == C_REQ || c->kind == C_ATTACH || c->kind == C_WAIT ||
                            c->kind == C_EXEC || c->kind == C_PENDING ||
                            (c->kind == C_BUSY && c->ob.len == 0))
                                c->dead = true;
                        else
                                ep_mod(s, c->fd, EPOLLOUT, &c->ep);
                        return;
                }
                while (off < (size_t)n) {
                        if (c->kind == C_ATTACH) {
                                /* 'c': close the container's stdin. */
                                if (buf[off] == 'c' && s->stdin_w >= 0 && !s->tty) {
                                        (void)close(s->stdin_w);
                                        s->stdin_w = -1;
                                }
                                off++;
                                continue;
                        }
                        if (c->kind != C_REQ || c->body) {
                                off = (size_t)n; /* nothing more is expected */
                                continue;
                        }
                        if (buf[off] == '\n') {
                                c->line[c->line_len] = '\0';
                                c->line_len = 0;
                                off++;
                                handle_request(s, c);
                                if (c->body && off < (size_t)n) {
                                        size_t k = (size_t)n - off;
                                        if (k > c->body_need)
                                                k = c->body_need;
                                        memcpy(c->body, buf + off, k);
                                        c->body_len = k;
                                        off += k;
                                        if (c->body_len == c->body_need) {
                                                c->body[c->body_len] = '\0';
                                                exec_process(s, c);
                                        }
                                }
                                continue;
                        }
                        if (c->line_len + 1 >= sizeof(c->line)) {
                                c->dead = true;
                                return;
                        }
                        c->line[c->line_len++] = buf[off++];
                }
        }
}

static void accept_clients(struct shim *s)
{
        for (;;) {
                int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                struct client *c;

                if (fd < 0)
                        return;
                c = xmalloc0(sizeof(*c));
                c->ep.tag = T_CLIENT;
                c->fd = fd;
                c->kind = C_REQ;
                c->next = s->clients;
                s->clients = c;
                ep_add(s, fd, EPOLLIN | EPOLLRDHUP, &c->ep);
        }
}

/* Drop dead clients and those done with their reply. */
static void sweep(struct shim *s)
{
        struct client *c = s->clients;

        while (c) {
                struct client *next = c->next;
                if (c->dead || (c->kind == C_BUSY && c->ob.len == 0))
                        client_free(s, c);
                c = next;
        }
}

/* ---- start-up ---- */

static int create_container(struct shim *s, int ready_fd)
{
        int p[2], in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
        cleanup_free char *console_path = NULL;
        /* RUNDIR (the parent of the socket) is shared by every container's
         * shim: name the files after this shim. */
        cleanup_free char *pid_file = xasprintf("%s/init-%d.pid", s->rundir, (int)getpid());
        cleanup_close int console = -1;
        char res[BERTH_SHIM_LINE_MAX];
        size_t len = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        if (s->tty) {
                console_path = xasprintf("%s/console-%d.sock", s->rundir, (int)getpid());
                console = listen_unix(console_path);
                if (console < 0)
                        return console;
        } else if ((s->open_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
                   pipe2(errp, O_CLOEXEC) < 0) {
                return -errno;
        }
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                cleanup_error berth_error *e = NULL;
                cleanup_free char *short_path = console_path
                                                    ? xasprintf("/proc/self/fd/%d/%s", s->rundir_fd,
                                                                strrchr(console_path, '/') + 1)
                                                    : NULL;
                struct berth_create_opts o = {.id = s->id,
                                              .bundle = s->bundle,
                                              .console_socket = short_path,
                                              .pid_file = pid_file};
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                char ok[32] = "";
                int r;

                helper_child_prepare();
                (void)close(ready_fd);
                (void)dup2(in[0] >= 0 ? in[0] : devnull, 0);
                (void)dup2(out[1] >= 0 ? out[1] : devnull, 1);
                (void)dup2(errp[1] >= 0 ? errp[1] : devnull, 2);
                r = berth_container_create(&s->rt, &o, &e);
                if (r >= 0) {
                        cleanup_free char *pidstr = NULL;
                        if (berth_read_file(pid_file, &pidstr, NULL, &e) < 0)
                                r = -EIO;
                        else
                                snprintf(ok, sizeof(ok), "%s", pidstr);
                }
                helper_report(p[1], r, e, ok);
                _exit(0);
        }
        (void)close(p[1]);
        if (!s->tty) {
                s->out.fd = out[0];
                s->err.fd = errp[0];
                s->stdin_w = in[1];
                (void)close(out[1]);
                (void)close(errp[1]);
                if (in[0] >= 0)
                        (void)close(in[0]);
        }
        for (;;) {
                ssize_t n = read(p[0], res + len, sizeof(res) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                /* One line: the init (still waiting for start) holds a
                 * copy of the pipe, so there is no EOF to wait for. */
                if (len == sizeof(res) - 1 || res[len - 1] == '\n')
                        break;
        }
        (void)close(p[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        res[len] = '\0';
        if (strncmp(res, "OK ", 3) != 0) {
                if (len == 0)
                        snprintf(res, sizeof(res), "ERR 5 the runtime helper died\n");
                (void)berth_write_all(ready_fd, res, strlen(res));
                (void)unlink(pid_file);
                if (console_path)
                        (void)unlink(console_path);
                return -1;
        }
        s->init_pid = (pid_t)strtol(res + 3, NULL, 10);
        (void)unlink(pid_file);
        if (s->tty) {
                s->pty = recv_console(console);
                (void)unlink(console_path);
                if (s->pty < 0) {
                        char msg[128];
                        int k = snprintf(msg, sizeof(msg), "ERR %d no pty from the container\n",
                                         EPROTO);
                        (void)kill(s->init_pid, SIGKILL);
                        (void)berth_write_all(ready_fd, msg, (size_t)k);
                        run_delete(s);
                        return -1;
                }
                set_winsize(s->pty, s->rows, s->cols);
                s->out.fd = fcntl(s->pty, F_DUPFD_CLOEXEC, 0);
        }
        s->init_pidfd = (int)syscall(SYS_pidfd_open, s->init_pid, 0);
        return 0;
}

static int parse_args(struct shim *s, int argc, char **argv)
{
        static const struct option opts[] = {
            {"id", required_argument, NULL, 'i'},
            {"bundle", required_argument, NULL, 'b'},
            {"root", required_argument, NULL, 'r'},
            {"socket", required_argument, NULL, 's'},
            {"exit-file", required_argument, NULL, 'x'},
            {"log", required_argument, NULL, 'l'},
            {"log-max-size", required_argument, NULL, 'S'},
            {"log-max-file", required_argument, NULL, 'F'},
            {"tty", no_argument, NULL, 't'},
            {"stdin", no_argument, NULL, 'I'},
            {"stdin-once", no_argument, NULL, 'O'},
            {"rows", required_argument, NULL, 'R'},
            {"cols", required_argument, NULL, 'C'},
            {NULL, 0, NULL, 0},
        };
        int ch;

        while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (ch) {
                case 'i':
                        s->id = optarg;
                        break;
                case 'b':
                        s->bundle = optarg;
                        break;
                case 'r':
                        s->root = optarg;
                        break;
                case 's':
                        s->socket_path = optarg;
                        break;
                case 'x':
                        s->exit_path = optarg;
                        break;
                case 'l':
                        s->log_path = optarg;
                        break;
                case 'S':
                        s->log_max_size = strtoll(optarg, NULL, 10);
                        break;
                case 'F':
                        s->log_max_file = atoi(optarg);
                        break;
                case 't':
                        s->tty = true;
                        break;
                case 'I':
                        s->open_stdin = true;
                        break;
                case 'O':
                        s->stdin_once = true;
                        break;
                case 'R':
                        s->rows = atoi(optarg);
                        break;
                case 'C':
                        s->cols = atoi(optarg);
                        break;
                default:
                        return -1;
                }
        }
        if (!s->id || !s->bundle || !s->root || !s->socket_path || !s->exit_path)
                return -1;
        return 0;
}

/* Start-up touched code the steady state never runs again (argument
 * parsing, the runtime's helpers' setup): drop those pages from our mapping
 * of the (private, unmodified) program text, so that they no longer count
 * in the shim's resident size. Pages the loop needs fault back in. */
extern char __executable_start, etext;
static void trim_resident(void)
{
        long ps = sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t)&__executable_start + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
        uintptr_t b = (uintptr_t)&etext & ~((uintptr_t)ps - 1);

        if (b > a)
                (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

int main(int argc, char **argv)
{
        static struct shim shim;
        static struct berth_jsonlog_line out_line, err_line;
        struct shim *s = &shim;
        int ready_fd = 3;
        sigset_t mask;
        char *slash;

        s->stdin_w = s->pty = s->init_pidfd = s->lfd = -1;
        s->out = (struct stream){.ep = {T_OUT}, .fd = -1, .name = "stdout", .line = &out_line};
        s->err = (struct stream){.ep = {T_ERR}, .fd = -1, .name = "stderr", .line = &err_line};
        s->log.fd = -1;
        if (fcntl(ready_fd, F_GETFD) < 0)
                ready_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        else
                (void)fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
        if (parse_args(s, argc, argv) < 0) {
                static const char usage[] =
                    "ERR 22 usage: berth-shim --id ID --bundle DIR --root DIR --socket PATH "
                    "--exit-file PATH [--log PATH --log-max-size N --log-max-file N] [--tty] "
                    "[--stdin] [--stdin-once] [--rows N --cols N]\n";
                (void)berth_write_all(ready_fd, usage, sizeof(usage) - 1);
                (void)berth_write_all(2, usage + 7, sizeof(usage) - 8);
                return 2;
        }
        s->rt.state_root = s->root;
        s->rundir = xstrdup(s->socket_path);
        slash = strrchr(s->rundir, '/');
        if (slash == NULL) {
                free(s->rundir);
                s->rundir = xstrdup(".");
        } else if (slash == s->rundir)
                slash[1] = '\0';
        else
                *slash = '\0';

        s->rundir_fd = open(s->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        (void)sigprocmask(SIG_BLOCK, &mask, NULL);
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        (void)prctl(PR_SET_NAME, "berth-shim", 0, 0, 0);
        (void)unlink(s->exit_path);

        if (s->log_path) {
                cleanup_error berth_error *e = NULL;
                if (berth_jsonlog_open(&s->log, s->log_path, s->log_max_size, s->log_max_file, &e) <
                    0) {
                        char msg[BERTH_SHIM_LINE_MAX];
                        int k = snprintf(msg, sizeof(msg), "ERR %d %s\n", e->status, e->msg);
                        (void)berth_write_all(ready_fd, msg, (size_t)k);
                        return 1;
                }
                s->logging = true;
        }
        if (create_container(s, ready_fd) < 0)
                return 1;
        find_oom_file(s);

        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        s->lfd = listen_unix(s->socket_path);
        if (s->epfd < 0 || s->sigfd < 0 || s->timerfd < 0 || s->lfd < 0) {
                char msg[128];
                int k = snprintf(msg, sizeof(msg), "ERR %d cannot listen on the shim socket\n",
                                 s->lfd < 0 ? -s->lfd : EIO);
                (void)kill(s->init_pid, SIGKILL);
                (void)berth_write_all(ready_fd, msg, (size_t)k);
                run_delete(s);
                return 1;
        }
        (void)fcntl(s->lfd, F_SETFL, O_NONBLOCK);
        s->lep.tag = T_LISTEN;
        s->sep.tag = T_SIGNAL;
        s->tep.tag = T_TIMER;
        ep_add(s, s->lfd, EPOLLIN, &s->lep);
        ep_add(s, s->sigfd, EPOLLIN, &s->sep);
        ep_add(s, s->timerfd, EPOLLIN, &s->tep);
        if (s->out.fd >= 0) {
                (void)fcntl(s->out.fd, F_SETFL, O_NONBLOCK);
                ep_add(s, s->out.fd, EPOLLIN, &s->out.ep);
        }
        if (s->err.fd >= 0) {
                (void)fcntl(s->err.fd, F_SETFL, O_NONBLOCK);
                ep_add(s, s->err.fd, EPOLLIN, &s->err.ep);
        }
        {
                char msg[64];
                int k = snprintf(msg, sizeof(msg), "OK %d %d\n", (int)getpid(), (int)s->init_pid);
                (void)berth_write_all(ready_fd, msg, (size_t)k);
                (void)close(ready_fd);
        }
        /* The init may already be gone. */
        reap(s);
        trim_resident();

        for (;;) {
                struct epoll_event evs[16];
                int n = epoll_wait(s->epfd, evs, 16, -1);

                if (n < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < n; i++) {
                        struct ep *p = evs[i].data.ptr;
                        switch (p->tag) {
                        case T_LISTEN:
                                accept_clients(s);
                                break;
                        case T_SIGNAL: {
                                struct signalfd_siginfo si;
                                while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                                        ;
                                reap(s);
                                break;
                        }
                        case T_OUT:
                                if (s->out.fd >= 0)
                                        stream_read(s, &s->out, 1);
                                maybe_finish(s);
                                break;
                        case T_ERR:
                                if (s->err.fd >= 0)
                                        stream_read(s, &s->err, 2);
                                maybe_finish(s);
                                break;
                        case T_TIMER: {
                                uint64_t x;
                                (void)!read(s->timerfd, &x, sizeof(x));
                                if (s->finished)
                                        goto out;
                                /* Drain time is over; a pending start still
                                 * reports (or dies) and finishes then. */
                                if (s->init_exited && !s->start_pending)
                                        finish(s);
                                break;
                        }
                        case T_CLIENT: {
                                struct client *c = (struct client *)p;
                                if (evs[i].events & EPOLLOUT)
                                        client_flush(s, c);
                                if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                                        client_readable(s, c);
                                break;
                        }
                        case T_HELPER:
                                helper_readable(s, (struct helper *)p);
                                break;
                        }
                }
                sweep(s);
                if (s->finished) {
                        bool pending = false;
                        for (struct client *c = s->clients; c; c = c->next)
                                if (c->ob.len > 0 || c->kind == C_EXEC)
                                        pending = true;
                        if (!pending && s->helpers == NULL)
                                break;
                }
        }
out:
        return 0;
}
