/* SPDX-License-Identifier: Apache-2.0 */
/* OCI hooks: each runs with the container state on stdin, within its timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all_nosignal(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                buf += w;
                len -= (size_t)w;
        }
        return 0;
}

static int run_hook(json_object *hook, const char *name, size_t idx, const char *state_json,
                    berth_error **err)
{
        const char *path = berth_json_str(hook, "path");
        cleanup_strv char **args = berth_json_strv(berth_json_get(hook, "args"));
        cleanup_strv char **env = berth_json_strv(berth_json_get(hook, "env"));
        int64_t timeout = berth_json_int(hook, "timeout", 0);
        int sv[2];
        cleanup_close int in = -1;
        cleanup_close int pidfd = -1;
        pid_t pid;
        int status;

        if (path == NULL)
                return berth_fail(err, EINVAL, "hooks.%s[%zu]: no `path`", name, idx);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return berth_fail_errno(err, "socketpair");
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return berth_fail_errno(err, "fork hook `%s`", path);
        }
        if (pid == 0) {
                char *argv0[] = {(char *)path, NULL};
                if (dup2(sv[1], STDIN_FILENO) < 0)
                        _exit(127);
                execve(path, args[0] ? args : argv0, env);
                _exit(127);
        }
        close(sv[1]);
        in = sv[0];
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                /* No pidfd (old kernel): no timeout either; a blocking write
                 * ends when the hook reads all or exits (EPIPE). */
                (void)send_all_nosignal(in, state_json, strlen(state_json));
                (void)shutdown(in, SHUT_WR);
        } else {
                int64_t deadline = timeout > 0 ? now_ms() + timeout * 1000 : 0;
                const char *left_data = state_json;
                size_t left = strlen(state_json);

                if (left == 0)
                        (void)shutdown(in, SHUT_WR);
                /* Feed the state as the hook reads it, however big; a hook
                 * that does not read its stdin at all never blocks us. */
                for (;;) {
                        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                                              {.fd = in, .events = POLLOUT}};
                        int wait_ms = -1;
                        if (deadline) {
                                int64_t ms = deadline - now_ms();
                                wait_ms = ms > 0 ? (int)ms : 0;
                        }
                        int n = poll(p, left > 0 ? 2 : 1, wait_ms);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                int e = errno;
                                (void)kill(pid, SIGKILL);
                                (void)waitpid(pid, NULL, 0);
                                return berth_fail(err, e, "poll for %s hook `%s`", name, path);
                        }
                        if (n == 0) {
                                (void)kill(pid, SIGKILL);
                                (void)waitpid(pid, NULL, 0);
                                return berth_fail(err, ETIMEDOUT,
                                                  "%s hook `%s` timed out after %lld seconds", name,
                                                  path, (long long)timeout);
                        }
                        if (p[0].revents)
                                break;
                        if (left > 0 && p[1].revents) {
                                ssize_t w = send(in, left_data, left, MSG_NOSIGNAL | MSG_DONTWAIT);
                                if (w < 0 && (errno == EINTR || errno == EAGAIN))
                                        continue;
                                /* EPIPE: the hook closed its stdin; it is its choice. */
                                if (w < 0)
                                        left = 0;
                                else {
                                        left_data += w;
                                        left -= (size_t)w;
                                }
                                if (left == 0)
                                        (void)shutdown(in, SHUT_WR);
                        }
                }
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return berth_fail_errno(err, "wait for %s hook `%s`", name, path);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(path, X_OK) < 0)
                return berth_fail(err, errno, "%s hook `%s`", name, path);
        if (WIFEXITED(status))
                return berth_fail(err, 0, "%s hook `%s` exited with status %d", name, path,
                                  WEXITSTATUS(status));
        return berth_fail(err, 0, "%s hook `%s` killed by signal %d", name, path, WTERMSIG(status));
}

int berth_hooks_run(json_object *config, const char *name, const char *state_json,
                    berth_error **err)
{
        json_object *hooks = berth_json_get(berth_json_get(config, "hooks"), name);
        size_t n = hooks ? json_object_array_length(hooks) : 0;

        for (size_t i = 0; i < n; i++) {
                int r = run_hook(json_object_array_get_idx(hooks, i), name, i, state_json, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
