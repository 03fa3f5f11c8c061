/* SPDX-License-Identifier: Apache-2.0 */
/* `run` in the foreground with process.terminal and no --console-socket:
 * the runtime receives the pty master itself and relays it to its own
 * terminal, as runc does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/fs.h"

int berth_console_recv_master(int sock, int *ret_fd, berth_error **err)
{
        char name[256];
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        int fd = -1;
        ssize_t n;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return berth_fail_errno(err, "receive the container's terminal");
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (fd < 0)
                return berth_fail(err, EPROTO, "the container sent no terminal");
        *ret_fd = fd;
        return 0;
}

static void copy_winsize(int from, int to)
{
        struct winsize ws;
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(to, TIOCSWINSZ, &ws);
}

/* Relay IN -> MASTER and MASTER -> OUT until the process exits; returns
 * its status as a shell would. */
int berth_console_proxy_wait(pid_t pid, int pidfd, int master, int *ret_status, berth_error **err)
{
        struct termios saved, raw;
        bool restore = false;
        sigset_t mask, old;
        cleanup_close int sfd = -1;
        char buf[16384];
        bool in_open = true;
        bool master_open = true;
        int status;

        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                raw.c_oflag = saved.c_oflag; /* keep output processing */
                if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
                        restore = true;
        }
        if (isatty(STDOUT_FILENO))
                copy_winsize(STDOUT_FILENO, master);
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);

        for (;;) {
                struct pollfd p[4] = {
                    {.fd = pidfd, .events = POLLIN},
                    /* Once hung up, the master polls ready for ever. */
                    {.fd = master_open ? master : -1, .events = POLLIN},
                    {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
                    {.fd = sfd, .events = POLLIN},
                };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(master, buf, sizeof(buf));
                        if (n > 0)
                                (void)berth_write_all(STDOUT_FILENO, buf, (size_t)n);
                        else if (!(p[0].revents & POLLIN) &&
                                 (n == 0 || (errno != EINTR && errno != EAGAIN)))
                                master_open = false; /* EIO once the last writer is gone */
                }
                if (p[2].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0)
                                (void)berth_write_all(master, buf, (size_t)n);
                        else
                                in_open = false;
                }
                if (p[3].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                                if (si.ssi_signo == SIGWINCH)
                                        copy_winsize(STDOUT_FILENO, master);
                                else
                                        (void)syscall(SYS_pidfd_send_signal, pidfd,
                                                      (int)si.ssi_signo, NULL, 0);
                        }
                }
                if (p[0].revents & POLLIN) {
                        /* Drain what the process wrote before it exited. */
                        ssize_t n;
                        (void)fcntl(master, F_SETFL, O_NONBLOCK);
                        while ((n = read(master, buf, sizeof(buf))) > 0)
                                (void)berth_write_all(STDOUT_FILENO, buf, (size_t)n);
                        break;
                }
        }
        if (restore)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        sigprocmask(SIG_SETMASK, &old, NULL);
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return berth_fail_errno(err, "wait for pid %d", (int)pid);
        }
        *ret_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                      : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                            : 255;
        return 0;
}
