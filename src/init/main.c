/* SPDX-License-Identifier: Apache-2.0 */
/* berth-init: the container's pid 1 for `run --init` (mounted read-only at
 * /sbin/docker-init). It runs the command as its child, forwards the
 * signals it gets to it, reaps every orphan, and exits with the command's
 * status (128+N when a signal N ended it). Static, no allocation, no
 * library beyond libc: it must run in any image. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "berth-init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
                strerror(errno));
        _exit(127);
}

int main(int argc, char **argv)
{
        sigset_t all, old;
        int first = 1;
        pid_t child;

        if (argc > 1 && strcmp(argv[1], "--") == 0)
                first = 2;
        if (first >= argc) {
                fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
                return 2;
        }
        /* Not pid 1 (a shared pid namespace): still adopt our orphans. */
        if (getpid() != 1)
                (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        sigfillset(&all);
        if (sigprocmask(SIG_BLOCK, &all, &old) < 0)
                die("sigprocmask", NULL);
        child = fork();
        if (child < 0)
                die("fork", NULL);
        if (child == 0) {
                /* The command gets the signal mask we were given. */
                (void)sigprocmask(SIG_SETMASK, &old, NULL);
                (void)setpgid(0, 0);
                /* Keep the terminal's foreground group on the command. */
                if (isatty(STDIN_FILENO)) {
                        signal(SIGTTOU, SIG_IGN);
                        (void)tcsetpgrp(STDIN_FILENO, getpid());
                        signal(SIGTTOU, SIG_DFL);
                }
                execvp(argv[first], argv + first);
                die("exec", argv[first]);
        }

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);

                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        die("sigwaitinfo", NULL);
                }
                if (sig != SIGCHLD) {
                        /* Everything else is for the command. */
                        (void)kill(child, sig);
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t p = waitpid(-1, &status, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p != child)
                                continue;
                        if (WIFEXITED(status))
                                return WEXITSTATUS(status);
                        if (WIFSIGNALED(status))
                                return 128 + WTERMSIG(status);
                }
        }
}
