/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon connection of `berth`: host resolution, version negotiation,
 * starting berthd when the default socket has no daemon, errors, and the
 * terminal (raw mode, size, SIGWINCH) for -t. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/strutil.h"
#include "util/xalloc.h"

int api_fail(berth_error **err, int code)
{
        if (err && *err)
                fprintf(stderr, "%s\n", (*err)->msg);
        berth_error_freep(err);
        return code;
}

/* berthd next to berth (installed), or in the build tree's src/daemon. */
static char *find_berthd(void)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                char *dir = dirname(self);
                char *c1 = xasprintf("%s/berthd", dir);
                if (access(c1, X_OK) == 0)
                        return c1;
                free(c1);
                c1 = xasprintf("%s/../daemon/berthd", dir);
                if (access(c1, X_OK) == 0)
                        return c1;
                free(c1);
        }
        return xstrdup("berthd");
}

static int start_daemon(struct api_cli *c, berth_error **err)
{
        cleanup_free char *berthd = find_berthd();
        const char *log = getenv("BERTHD_LOG");
        const char *flags = getenv("BERTHD_FLAGS");
        if (log == NULL || *log == '\0')
                log = "/var/log/berthd.log";
        pid_t pid = fork();
        if (pid < 0)
                return berth_fail_errno(err, "fork");
        if (pid == 0) {
                /* detach: a new session, and a grandchild reparented to init */
                (void)setsid();
                if (fork() != 0)
                        _exit(0);
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
                if (nul >= 0)
                        (void)dup2(nul, 0);
                if (lfd >= 0) {
                        (void)dup2(lfd, 1);
                        (void)dup2(lfd, 2);
                }
                char *argv[64];
                size_t n = 0;
                argv[n++] = berthd;
                argv[n++] = (char *)"-H";
                argv[n++] = (char *)c->host;
                cleanup_free char *copy = flags ? xstrdup(flags) : NULL;
                for (char *save = NULL, *t = copy ? strtok_r(copy, " \t", &save) : NULL;
                     t && n < 62; t = strtok_r(NULL, " \t", &save))
                        argv[n++] = t;
                argv[n] = NULL;
                execvp(berthd, argv);
                fprintf(stderr, "berth: cannot start `%s`: %s\n", berthd, strerror(errno));
                _exit(127);
        }
        int st;
        (void)TEMP_FAILURE_RETRY_INT(waitpid(pid, &st, 0));
        /* wait for the socket to answer */
        for (int i = 0; i < 3000; i++) {
                cleanup_error berth_error *e = NULL;
                if (berth_client_ping(c->client, &e) == 0)
                        return 0;
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        return berth_fail(err, ETIMEDOUT,
                          "started `%s` but it did not answer on %s within 30 s; see %s", berthd,
                          c->host, log);
}

struct berth_client *api_client(struct api_cli *c)
{
        cleanup_error berth_error *err = NULL;
        if (c->client != NULL)
                return c->client;
        if (berth_client_new(c->host, &c->client, &err) < 0) {
                api_fail(&err, 1);
                return NULL;
        }
        if (c->use_tls && !berth_str_has_prefix(c->host, "unix://") && c->host[0] != '/' &&
            berth_client_set_tls(c->client, &c->tls, &err) < 0) {
                api_fail(&err, 1);
                berth_client_free(c->client);
                c->client = NULL;
                return NULL;
        }
        const char *pin = getenv("DOCKER_API_VERSION");
        if (pin != NULL && *pin)
                berth_client_set_version(c->client, pin);
        if (berth_client_ping(c->client, &err) == 0)
                return c->client;
        int st = berth_error_status(err);
        if (c->host_is_default && (st == ENOENT || st == ECONNREFUSED) &&
            berth_str_has_prefix(c->host, "unix://")) {
                berth_error_freep(&err);
                if (start_daemon(c, &err) == 0)
                        return c->client;
        }
        api_fail(&err, 1);
        berth_client_free(c->client);
        c->client = NULL;
        return NULL;
}

int api_begin(struct api_cli *c, const struct command *cmd, int argc, char **argv, char ***ret_args,
              int *ret_exit)
{
        if (flags_parse(cmd, argc, argv, ret_args, ret_exit) < 0)
                return -1;
        if (api_client(c) == NULL) {
                flags_free_lists(cmd);
                *ret_exit = 1;
                return -1;
        }
        return 0;
}

/* ---- terminal ---- */

static struct termios saved_tio;
static bool tio_saved;

void tty_raw_end(void)
{
        if (tio_saved) {
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
                tio_saved = false;
        }
}

int tty_raw_begin(void)
{
        struct termios t;
        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t) < 0)
                return -1;
        saved_tio = t;
        tio_saved = true;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
                return -1;
        atexit(tty_raw_end);
        return 0;
}

bool tty_size(unsigned *rows, unsigned *cols)
{
        struct winsize ws;
        int fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDIN_FILENO;
        if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return false;
        *rows = ws.ws_row;
        *cols = ws.ws_col;
        return true;
}

struct resize_ctx {
        struct berth_client *client;
        char *path;
        sigset_t set;
};

static void send_resize(struct berth_client *client, const char *path)
{
        unsigned rows, cols;
        if (!tty_size(&rows, &cols))
                return;
        cleanup_free char *p = xasprintf("%s?h=%u&w=%u", path, rows, cols);
        cleanup_error berth_error *e = NULL;
        (void)berth_client_call(client, "POST", p, NULL, NULL, &e);
}

static void *resize_thread(void *arg)
{
        struct resize_ctx *r = arg;
        for (;;) {
                int sig;
                if (sigwait(&r->set, &sig) == 0 && sig == SIGWINCH)
                        send_resize(r->client, r->path);
        }
        return NULL;
}

void tty_resize_follow(struct api_cli *c, const char *path)
{
        struct resize_ctx *r = xmalloc0(sizeof(*r));
        pthread_t th;
        r->client = c->client;
        r->path = xstrdup(path);
        sigemptyset(&r->set);
        sigaddset(&r->set, SIGWINCH);
        /* block SIGWINCH everywhere; the thread takes it with sigwait */
        (void)pthread_sigmask(SIG_BLOCK, &r->set, NULL);
        send_resize(c->client, path);
        if (pthread_create(&th, NULL, resize_thread, r) == 0)
                (void)pthread_detach(th);
}

/* ---- --sig-proxy ---- */

/* The signals `berth` forwards: the asynchronous ones docker's
 * ForwardAllSignals passes on (not SIGCHLD, SIGPIPE, SIGURG, SIGWINCH, nor
 * the synchronous faults). Sorted by number. */
static const struct {
        int sig;
        const char *name;
} proxied[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGUSR1, "USR1"},
    {SIGUSR2, "USR2"}, {SIGALRM, "ALRM"},     {SIGTERM, "TERM"}, {SIGCONT, "CONT"},
    {SIGTSTP, "TSTP"}, {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"}, {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGIO, "IO"},
    {SIGPWR, "PWR"},
};

struct proxy_ctx {
        struct berth_client *client;
        char *kill_path; /* "/containers/<id>/kill" */
        sigset_t set;
};

static void *proxy_thread(void *arg)
{
        struct proxy_ctx *p = arg;
        for (;;) {
                int sig;
                if (sigwait(&p->set, &sig) != 0)
                        continue;
                for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++) {
                        if (proxied[i].sig != sig)
                                continue;
                        cleanup_free char *path =
                            xasprintf("%s?signal=%s", p->kill_path, proxied[i].name);
                        cleanup_error berth_error *e = NULL;
                        /* a container that has just exited: nothing to tell */
                        (void)berth_client_call(p->client, "POST", path, NULL, NULL, &e);
                }
        }
        return NULL;
}

void sig_proxy_start(struct api_cli *c, const char *id)
{
        struct proxy_ctx *p = xmalloc0(sizeof(*p));
        cleanup_free char *n = berth_url_escape(id);
        pthread_t th;
        p->client = c->client;
        p->kill_path = xasprintf("/containers/%s/kill", n);
        sigemptyset(&p->set);
        for (size_t i = 0; i < sizeof(proxied) / sizeof(proxied[0]); i++)
                sigaddset(&p->set, proxied[i].sig);
        /* blocked in every thread; the proxy takes them with sigwait */
        (void)pthread_sigmask(SIG_BLOCK, &p->set, NULL);
        if (pthread_create(&th, NULL, proxy_thread, p) == 0)
                (void)pthread_detach(th);
}
