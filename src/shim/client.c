/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's side of the shim protocol (see shim.h). */
#include "shim/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/proto.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

int berth_shim_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * 4)];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t w;

        if (n > 4)
                return -EINVAL;
        if (n > 0) {
                struct cmsghdr *c;
                memset(&u, 0, sizeof(u));
                msg.msg_control = u.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        w = TEMP_FAILURE_RETRY_INT(sendmsg(sock, &msg, MSG_NOSIGNAL));
        if (w < 0)
                return -errno;
        if ((size_t)w < len)
                return berth_write_all(sock, (const char *)data + w, len - (size_t)w);
        return 0;
}

ssize_t berth_shim_read_line(int sock, char *buf, size_t size, int *fds, size_t max_fds,
                             size_t *ret_nfds)
{
        size_t len = 0, nfds = 0;

        for (;;) {
                union {
                        char b[CMSG_SPACE(sizeof(int) * 4)];
                        struct cmsghdr align;
                } u;
                char ch;
                struct iovec iov = {.iov_base = &ch, .iov_len = 1};
                struct msghdr msg = {.msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = u.b,
                                     .msg_controllen = sizeof(u.b)};
                ssize_t n = TEMP_FAILURE_RETRY_INT(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC));

                if (n < 0)
                        goto fail;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                if (fds != NULL && nfds < max_fds)
                                        fds[nfds++] = fd;
                                else
                                        (void)close(fd);
                        }
                }
                if (n == 0) {
                        if (len == 0) {
                                buf[0] = '\0';
                                if (ret_nfds)
                                        *ret_nfds = nfds;
                                return 0;
                        }
                        errno = EPROTO;
                        goto fail;
                }
                if (ch == '\n')
                        break;
                if (len + 1 >= size) {
                        errno = E2BIG;
                        goto fail;
                }
                buf[len++] = ch;
        }
        buf[len] = '\0';
        if (ret_nfds)
                *ret_nfds = nfds;
        return (ssize_t)(len == 0 ? 1 : len);
fail : {
        int saved = errno;
        for (size_t i = 0; i < nfds; i++)
                (void)close(fds[i]);
        return -saved;
}
}

int berth_shim_sun_path(const char *path, char *out, size_t size, int *ret_dirfd)
{
        const char *slash = strrchr(path, '/');
        cleanup_free char *dir = NULL;
        int dfd;

        *ret_dirfd = -1;
        if (strlen(path) < size) {
                strcpy(out, path);
                return 0;
        }
        if (slash == NULL)
                return -ENAMETOOLONG;
        dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if ((size_t)snprintf(out, size, "/proc/self/fd/%d/%s", dfd, slash + 1) >= size) {
                close(dfd);
                return -ENAMETOOLONG;
        }
        *ret_dirfd = dfd;
        return 0;
}

static int shim_connect(const char *path, berth_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = -1;
        cleanup_close int dfd = -1;
        int r = berth_shim_sun_path(path, sa.sun_path, sizeof(sa.sun_path), &dfd);

        if (r < 0)
                return berth_fail(err, -r, "shim socket `%s`", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_fail_errno(err, "socket");
        if (TEMP_FAILURE_RETRY_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
                return berth_fail_errno(err, "connect to the shim `%s`", path);
        return steal_fd(&fd);
}

/* Parse "ERR <errno> <message>" into an error; "OK..." returns 0. */
static int parse_reply(const char *line, const char *what, berth_error **err)
{
        if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' '))
                return 0;
        if (strncmp(line, "ERR ", 4) == 0) {
                char *end;
                long e = strtol(line + 4, &end, 10);
                if (*end == ' ')
                        end++;
                if (e <= 0 || e > 4095)
                        e = EIO;
                (void)berth_fail(err, 0, "%s", *end ? end : strerror((int)e));
                if (err != NULL && *err != NULL && (*err)->status == 0)
                        (*err)->status = (int)e;
                return -(int)e;
        }
        return berth_fail(err, EPROTO, "%s: unexpected reply from the shim", what);
}

/* Connect, send REQ, read the reply line into LINE. */
static int request(const char *path, const char *req, char *line, size_t size, int *fds,
                   size_t max_fds, size_t *ret_nfds, int *ret_conn, berth_error **err)
{
        cleanup_close int fd = shim_connect(path, err);
        ssize_t n;
        int r;

        if (fd < 0)
                return fd;
        r = berth_write_all(fd, req, strlen(req));
        if (r < 0)
                return berth_fail(err, -r, "write to the shim `%s`", path);
        n = berth_shim_read_line(fd, line, size, fds, max_fds, ret_nfds);
        if (n < 0)
                return berth_fail(err, (int)-n, "read from the shim `%s`", path);
        if (n == 0)
                return berth_fail(err, ECONNRESET, "the shim `%s` closed the connection", path);
        r = parse_reply(line, path, err);
        if (r < 0) {
                if (ret_nfds)
                        for (size_t i = 0; i < *ret_nfds; i++)
                                (void)close(fds[i]);
                return r;
        }
        if (ret_conn)
                *ret_conn = steal_fd(&fd);
        return 0;
}

int berth_shim_spawn(const struct berth_shim_config *cfg, pid_t *ret_shim_pid, pid_t *ret_init_pid,
                     berth_error **err)
{
        cleanup_free char *max_size = xasprintf("%lld", (long long)cfg->log_max_size);
        cleanup_free char *max_file = xasprintf("%d", cfg->log_max_file);
        cleanup_free char *rows = xasprintf("%d", cfg->rows);
        cleanup_free char *cols = xasprintf("%d", cfg->cols);
        const char *argv[40];
        size_t n = 0;
        int ready[2];
        cleanup_close int devnull = -1;
        char buf[BERTH_SHIM_LINE_MAX];
        size_t len = 0;
        pid_t pid;
        int status;

        argv[n++] = "berth-shim";
        argv[n++] = "--id";
        argv[n++] = cfg->id;
        argv[n++] = "--bundle";
        argv[n++] = cfg->bundle;
        argv[n++] = "--root";
        argv[n++] = cfg->runtime_root;
        argv[n++] = "--socket";
        argv[n++] = cfg->socket_path;
        argv[n++] = "--exit-file";
        argv[n++] = cfg->exit_path;
        if (cfg->log_path) {
                argv[n++] = "--log";
                argv[n++] = cfg->log_path;
                argv[n++] = "--log-max-size";
                argv[n++] = max_size;
                argv[n++] = "--log-max-file";
                argv[n++] = max_file;
        }
        if (cfg->tty)
                argv[n++] = "--tty";
        if (cfg->open_stdin)
                argv[n++] = "--stdin";
        if (cfg->stdin_once)
                argv[n++] = "--stdin-once";
        if (cfg->rows > 0 && cfg->cols > 0) {
                argv[n++] = "--rows";
                argv[n++] = rows;
                argv[n++] = "--cols";
                argv[n++] = cols;
        }
        argv[n] = NULL;

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return berth_fail_errno(err, "open `/dev/null`");
        if (pipe2(ready, O_CLOEXEC) < 0)
                return berth_fail_errno(err, "pipe");
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(ready[0]);
                close(ready[1]);
                return berth_fail(err, e, "fork the shim");
        }
        if (pid == 0) {
                /* Only async-signal-safe calls from here: the caller has threads. */
                sigset_t all;
                sigemptyset(&all);
                (void)sigprocmask(SIG_SETMASK, &all, NULL);
                if (setsid() < 0)
                        _exit(127);
                pid = fork();
                if (pid != 0)
                        _exit(pid < 0 ? 127 : 0);
                if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0 ||
                    dup2(ready[1], 3) < 0)
                        _exit(127);
                (void)syscall(SYS_close_range, 4U, ~0U, 0U);
                execv(cfg->shim_path, (char *const *)argv);
                (void)!write(3, "ERR 2 cannot execute the shim\n", 30);
                _exit(127);
        }
        close(ready[1]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        for (;;) {
                ssize_t r = read(ready[0], buf + len, sizeof(buf) - 1 - len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                len += (size_t)r;
                if (len == sizeof(buf) - 1 || buf[len - 1] == '\n')
                        break;
        }
        close(ready[0]);
        buf[len] = '\0';
        if (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        if (len == 0)
                return berth_fail(err, EIO, "the shim `%s` exited without a word", cfg->shim_path);
        if (strncmp(buf, "OK ", 3) == 0) {
                int spid, ipid;
                if (sscanf(buf + 3, "%d %d", &spid, &ipid) != 2)
                        return berth_fail(err, EPROTO, "the shim said `%s`", buf);
                *ret_shim_pid = spid;
                *ret_init_pid = ipid;
                return 0;
        }
        return parse_reply(buf, "spawn the shim", err);
}

int berth_shim_start(const char *socket_path, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX];
        return request(socket_path, "START\n", line, sizeof(line), NULL, 0, NULL, NULL, err);
}

int berth_shim_state(const char *socket_path, enum berth_shim_status *ret_status,
                     pid_t *ret_init_pid, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX], word[16];
        int pid, code;
        int r = request(socket_path, "STATE\n", line, sizeof(line), NULL, 0, NULL, NULL, err);

        if (r < 0)
                return r;
        if (sscanf(line, "OK %15s %d %d", word, &pid, &code) != 3)
                return berth_fail(err, EPROTO, "the shim `%s` said `%s`", socket_path, line);
        if (strcmp(word, "created") == 0)
                *ret_status = BERTH_SHIM_CREATED;
        else if (strcmp(word, "running") == 0)
                *ret_status = BERTH_SHIM_RUNNING;
        else
                *ret_status = BERTH_SHIM_EXITED;
        if (ret_init_pid)
                *ret_init_pid = pid;
        return 0;
}

void berth_shim_exit_clear(struct berth_shim_exit *x)
{
        free(x->finished_at);
        free(x->error);
        x->finished_at = x->error = NULL;
}

int berth_shim_read_exit(const char *exit_path, struct berth_shim_exit *ret, berth_error **err)
{
        cleanup_json json_object *o = NULL;
        const char *s;
        int r = berth_json_parse_file(exit_path, &o, err);

        if (r < 0)
                return r;
        ret->exit_code = (int)berth_json_int(o, "ExitCode", 255);
        ret->oom_killed = berth_json_bool(o, "OOMKilled", false);
        ret->pid = (pid_t)berth_json_int(o, "Pid", 0);
        s = berth_json_str(o, "FinishedAt");
        ret->finished_at = xstrdup(s ? s : "0001-01-01T00:00:00Z");
        s = berth_json_str(o, "Error");
        ret->error = xstrdup(s ? s : "");
        return 0;
}

int berth_shim_wait_open(const char *socket_path, berth_error **err)
{
        cleanup_close int fd = shim_connect(socket_path, err);
        int r;

        if (fd < 0)
                return fd;
        r = berth_write_all(fd, "WAIT\n", 5);
        if (r < 0)
                return berth_fail(err, -r, "write to the shim `%s`", socket_path);
        return steal_fd(&fd);
}

int berth_shim_wait_finish(int fd, const char *exit_path, struct berth_shim_exit *ret,
                           berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX];
        ssize_t n = berth_shim_read_line(fd, line, sizeof(line), NULL, 0, NULL);
        int r;

        (void)n; /* a dead shim (EOF) leaves its record, or none */
        r = berth_shim_read_exit(exit_path, ret, NULL);
        if (r < 0)
                return berth_fail(err, ESRCH, "the shim exited without an exit record `%s`",
                                  exit_path);
        return 0;
}

int berth_shim_wait(const char *socket_path, const char *exit_path, struct berth_shim_exit *ret,
                    berth_error **err)
{
        cleanup_close int fd = berth_shim_wait_open(socket_path, NULL);

        if (fd < 0) {
                /* No shim: it is done, or died. */
                if (berth_shim_read_exit(exit_path, ret, NULL) == 0)
                        return 0;
                return berth_fail(err, ESRCH, "no shim at `%s` and no exit record", socket_path);
        }
        return berth_shim_wait_finish(fd, exit_path, ret, err);
}

int berth_shim_kill(const char *socket_path, int sig, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX], req[64];
        snprintf(req, sizeof(req), "KILL %d\n", sig);
        return request(socket_path, req, line, sizeof(line), NULL, 0, NULL, NULL, err);
}

int berth_shim_resize(const char *socket_path, int rows, int cols, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX], req[64];
        snprintf(req, sizeof(req), "RESIZE %d %d\n", rows, cols);
        return request(socket_path, req, line, sizeof(line), NULL, 0, NULL, NULL, err);
}

int berth_shim_attach(const char *socket_path, bool in, bool out, bool err_stream,
                      int *ret_stdin_fd, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX], req[32];
        int fds[1] = {-1};
        size_t nfds = 0;
        int conn = -1;
        int r;

        snprintf(req, sizeof(req), "ATTACH %s%s%s%s\n", in ? "i" : "", out ? "o" : "",
                 err_stream ? "e" : "", (in || out || err_stream) ? "" : "-");
        r = request(socket_path, req, line, sizeof(line), fds, 1, &nfds, &conn, err);
        if (r < 0)
                return r;
        if (ret_stdin_fd)
                *ret_stdin_fd = nfds > 0 ? fds[0] : -1;
        else if (nfds > 0)
                close(fds[0]);
        return conn;
}

int berth_shim_read_frame_header(int fd, int *ret_stream, uint32_t *ret_len)
{
        unsigned char h[5];
        ssize_t n = berth_read_all(fd, h, sizeof(h));

        if (n < 0)
                return (int)n;
        if (n == 0)
                return 0;
        if (n != (ssize_t)sizeof(h))
                return -EPROTO;
        *ret_stream = h[0];
        *ret_len = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
        return 1;
}

void berth_shim_exec_clear(struct berth_shim_exec *x)
{
        int *fds[] = {&x->conn, &x->pty, &x->stdin_fd, &x->stdout_fd, &x->stderr_fd};
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
                if (*fds[i] >= 0)
                        (void)close(*fds[i]);
                *fds[i] = -1;
        }
}

int berth_shim_exec(const char *socket_path, const char *process_json, bool tty, bool in, int rows,
                    int cols, struct berth_shim_exec *ret, berth_error **err)
{
        cleanup_close int fd = shim_connect(socket_path, err);
        char line[BERTH_SHIM_LINE_MAX];
        size_t len = strlen(process_json), nfds = 0, want = tty ? 1 : (in ? 3 : 2);
        int fds[3] = {-1, -1, -1};
        cleanup_free char *hdr = NULL;
        ssize_t n;
        int r, pid;

        if (fd < 0)
                return fd;
        hdr = xasprintf("EXEC %d %d %d %d %zu\n", tty, in, rows, cols, len);
        r = berth_write_all(fd, hdr, strlen(hdr));
        if (r == 0)
                r = berth_write_all(fd, process_json, len);
        if (r < 0)
                return berth_fail(err, -r, "write to the shim `%s`", socket_path);
        n = berth_shim_read_line(fd, line, sizeof(line), fds, 3, &nfds);
        if (n < 0)
                return berth_fail(err, (int)-n, "read from the shim `%s`", socket_path);
        if (n == 0)
                return berth_fail(err, ECONNRESET, "the shim `%s` closed the connection",
                                  socket_path);
        r = parse_reply(line, socket_path, err);
        if (r == 0 && (sscanf(line, "OK %d", &pid) != 1 || nfds != want))
                r = berth_fail(err, EPROTO, "the shim `%s` said `%s` with %zu fds", socket_path,
                               line, nfds);
        if (r < 0) {
                for (size_t i = 0; i < nfds; i++)
                        close(fds[i]);
                return r;
        }
        ret->pid = pid;
        ret->conn = steal_fd(&fd);
        ret->pty = tty ? fds[0] : -1;
        ret->stdout_fd = tty ? -1 : fds[0];
        ret->stderr_fd = tty ? -1 : fds[1];
        ret->stdin_fd = (!tty && in) ? fds[2] : -1;
        return 0;
}

int berth_shim_exec_wait(struct berth_shim_exec *x, int *ret_status, berth_error **err)
{
        char line[BERTH_SHIM_LINE_MAX];
        ssize_t n = berth_shim_read_line(x->conn, line, sizeof(line), NULL, 0, NULL);
        int st;

        if (n < 0)
                return berth_fail(err, (int)-n, "read the exec's exit from the shim");
        if (n == 0 || sscanf(line, "EXIT %d", &st) != 1)
                return berth_fail(err, ECONNRESET, "the shim went away before the exec's exit");
        *ret_status = st;
        return 0;
}
