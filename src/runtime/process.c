/* SPDX-License-Identifier: Apache-2.0 */
/* A container's init (and an exec'd process): cloned into its namespaces,
 * set up in the order runc and crun use, and exec'd. Everything that can be
 * parsed was parsed in the parent (berth_proc_cfg); the child only applies. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/lifecycle.h"
#include "runtime/rootfs.h"
#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void berth_proc_cfg_clear(struct berth_proc_cfg *c)
{
        free(c->rootfs);
        c->rootfs = NULL;
        berth_mounts_free(c->mounts);
        c->mounts = NULL;
        berth_caps_free(c->caps);
        c->caps = NULL;
        berth_rlimits_free(c->rlimits);
        c->rlimits = NULL;
        berth_seccomp_free(c->seccomp);
        c->seccomp = NULL;
        free(c->groups);
        c->groups = NULL;
        for (size_t i = 0; i < c->n_ns; i++)
                if (c->ns_fds[i] >= 0)
                        close(c->ns_fds[i]);
        c->n_ns = 0;
        for (size_t i = 0; i < c->n_cg_fds; i++)
                if (c->cg_fds[i] >= 0)
                        close(c->cg_fds[i]);
        free(c->cg_fds);
        c->cg_fds = NULL;
        c->n_cg_fds = 0;
        if (c->cg_dirfd >= 0)
                close(c->cg_dirfd);
        c->cg_dirfd = -1;
}

int berth_proc_cfg_parse_process(struct berth_proc_cfg *c, json_object *process, berth_error **err)
{
        struct berth_creds creds = {0};
        int r;

        c->process = process;
        r = berth_caps_parse(berth_json_get(process, "capabilities"), &c->caps, err);
        if (r < 0)
                return berth_error_prefix(err, r, "process.capabilities");
        r = berth_rlimits_parse(berth_json_get(process, "rlimits"), &c->rlimits, err);
        if (r < 0)
                return berth_error_prefix(err, r, "process.rlimits");
        r = berth_creds_parse(berth_json_get(process, "user"), &creds, err);
        if (r < 0)
                return berth_error_prefix(err, r, "process.user");
        c->uid = creds.uid;
        c->gid = creds.gid;
        c->groups = creds.groups;
        c->n_groups = creds.n_groups;
        c->no_new_privs = berth_json_bool(process, "noNewPrivileges", false);
        c->terminal = berth_json_bool(process, "terminal", false);
        {
                json_object *args = berth_json_get(process, "args");
                if (args == NULL || json_object_array_length(args) == 0)
                        return berth_fail(err, EINVAL, "process.args must not be empty");
        }
        return 0;
}

/* ---------------------------------------------------------------- child */

/* Report E to whoever waits for us (the parent on the sync socket, or
 * `start` on its connection) and exit. */
static _Noreturn void child_fail_cfg(struct berth_proc_cfg *c, berth_error *e)
{
        const char *msg = e ? e->msg : "container init failed";
        (void)berth_sync_send(c->sync_fd, BERTH_SYNC_ERROR, e ? e->status : EIO, msg, -1);
        if (c->start_conn >= 0)
                (void)send(c->start_conn, msg, strlen(msg), MSG_NOSIGNAL);
        _exit(1);
}
#define child_fail(fd, e) child_fail_cfg(c, e)

/* Look FILE up in PATH inside the container (we are already in its root). */
static int find_executable(const char *file, char **envp, char **ret, berth_error **err)
{
        const char *path = NULL;
        struct stat st;

        if (strchr(file, '/')) {
                if (stat(file, &st) < 0)
                        return berth_fail_errno(err, "exec: `%s`", file);
                if (S_ISDIR(st.st_mode))
                        return berth_fail(err, EISDIR, "exec: `%s`", file);
                *ret = xstrdup(file);
                return 0;
        }
        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        path = *e + 5;
        if (path == NULL)
                path = DEFAULT_PATH;
        cleanup_free char *copy = xstrdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                cleanup_free char *cand = xasprintf("%s/%s", *dir ? dir : ".", file);
                if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
                        *ret = steal_pointer(&cand);
                        return 0;
                }
        }
        return berth_fail(err, ENOENT, "exec: `%s`: executable file not found in $PATH", file);
}

/* The process env, plus HOME from the container's /etc/passwd when it
 * lacks one (as runc does). A fresh array of fresh strings. */
static char **build_env(json_object *env, uid_t uid)
{
        char **v = berth_json_strv(env);
        size_t n = berth_strv_len(v);
        cleanup_fclose FILE *f = NULL;
        char line[1024];
        const char *home = "/";

        for (size_t i = 0; i < n; i++)
                if (strncmp(v[i], "HOME=", 5) == 0)
                        return v;
        f = fopen("/etc/passwd", "re");
        while (f && fgets(line, sizeof(line), f)) {
                char *fields[7] = {0};
                char *p = line;
                int i = 0;
                for (char *tok = strsep(&p, ":"); tok && i < 7; tok = strsep(&p, ":"))
                        fields[i++] = tok;
                if (i >= 6 && (uid_t)strtoul(fields[2], NULL, 10) == uid) {
                        home = fields[5];
                        break;
                }
        }
        v = xrealloc(v, (n + 2) * sizeof(char *));
        v[n] = xasprintf("HOME=%s", home);
        v[n + 1] = NULL;
        return v;
}

/* runc's console-socket protocol: one message whose payload is the pty's
 * name, with the master fd attached. */
static int send_console(int sock, const char *name, int fd)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c;

        memset(&u, 0, sizeof(u));
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return 0;
}

static int setup_console(struct berth_proc_cfg *c, berth_error **err)
{
        cleanup_close int master = -1;
        cleanup_close int slave = -1;
        char name[128];
        json_object *size = berth_json_get(c->process, "consoleSize");

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return berth_fail_errno(err, "open `/dev/ptmx` in the container");
        if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return berth_fail_errno(err, "unlock pty");
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return berth_fail_errno(err, "open pty `%s`", name);
        if (size) {
                struct winsize ws = {
                    .ws_row = (unsigned short)berth_json_int(size, "height", 0),
                    .ws_col = (unsigned short)berth_json_int(size, "width", 0),
                };
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return berth_fail_errno(err, "set console size");
        }
        /* /dev/console is the pty, as in runc. */
        {
                cleanup_close int cfd =
                    open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (cfd >= 0) {
                        if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
                                return berth_fail_errno(err, "bind `%s` on `/dev/console`", name);
                }
        }
        if (c->console_fd >= 0) {
                int r = send_console(c->console_fd, name, master);
                if (r < 0)
                        return berth_fail(err, -r, "send the pty to the console socket");
                close(c->console_fd);
                c->console_fd = -1;
        }
        if (setsid() < 0 && errno != EPERM)
                return berth_fail_errno(err, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return berth_fail_errno(err, "set the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return berth_fail_errno(err, "dup2 pty");
        return 0;
}

static int join_namespaces(struct berth_proc_cfg *c, bool user_pass, berth_error **err)
{
        for (size_t i = 0; i < c->n_ns; i++) {
                bool is_user = c->ns_types[i] == CLONE_NEWUSER;
                if (is_user != user_pass || c->ns_fds[i] < 0)
                        continue;
                if (c->ns_types[i] == CLONE_NEWPID)
                        continue; /* joined by the parent before clone */
                if (setns(c->ns_fds[i], c->ns_types[i]) < 0)
                        return berth_fail_errno(err, "join namespace (type %#x)", c->ns_types[i]);
                close(c->ns_fds[i]);
                c->ns_fds[i] = -1;
        }
        return 0;
}

static int write_oom_score_adj(json_object *process, berth_error **err)
{
        json_object *v = berth_json_get(process, "oomScoreAdj");
        char buf[32];
        int len;

        if (v == NULL)
                return 0;
        len = snprintf(buf, sizeof(buf), "%d", json_object_get_int(v));
        return berth_write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, (size_t)len, false,
                                   err) < 0
                   ? berth_error_prefix(err, -EPERM, "process.oomScoreAdj `%s`", buf)
                   : 0;
}

static int set_personality(json_object *linux_obj, berth_error **err)
{
        json_object *p = berth_json_get(linux_obj, "personality");
        const char *domain = berth_json_str(p, "domain");
        unsigned long persona;

        if (domain == NULL)
                return 0;
        if (strcmp(domain, "LINUX") == 0)
                persona = PER_LINUX;
        else if (strcmp(domain, "LINUX32") == 0)
                persona = PER_LINUX32;
        else
                return berth_fail(err, EINVAL, "linux.personality.domain: unknown `%s`", domain);
        if (personality(persona) < 0)
                return berth_fail_errno(err, "personality `%s`", domain);
        return 0;
}

/* Wait for `start`: a connection on the exec socket, or START on sync. */
static int wait_for_start(struct berth_proc_cfg *c, berth_error **err)
{
        if (c->exec_listen_fd >= 0) {
                int conn;
                do
                        conn = accept4(c->exec_listen_fd, NULL, NULL, SOCK_CLOEXEC);
                while (conn < 0 && errno == EINTR);
                if (conn < 0)
                        return berth_fail_errno(err, "wait for start");
                /* `start` reads this connection until it closes, at our
                 * execve (it is O_CLOEXEC), or gets our error message. */
                c->start_conn = conn;
                close(c->exec_listen_fd);
                c->exec_listen_fd = -1;
                return 0;
        }
        return berth_sync_expect(c->sync_fd, BERTH_SYNC_START, NULL, NULL, err);
}

static int prepare_fds(struct berth_proc_cfg *c, berth_error **err)
{
        unsigned int first = 3 + (unsigned int)(c->preserve_fds > 0 ? c->preserve_fds : 0);

        for (int fd = 3; fd < (int)first; fd++) {
                int flags = fcntl(fd, F_GETFD);
                if (flags >= 0 && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                        return berth_fail_errno(err, "preserve fd %d", fd);
        }
        /* Nothing else of ours crosses execve (CVE-2024-21626). */
        if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return berth_fail_errno(err, "close_range");
        return 0;
}

/* Load the filter; with SCMP_ACT_NOTIFY, hand the listener to the agent at
 * listenerPath (held open as LISTENER_AT) with the container process state
 * of the OCI spec. */
static int load_seccomp(struct berth_proc_cfg *c, const char *state_json, int listener_at,
                        berth_error **err)
{
        int listener = -1;
        int r;

        if (!berth_seccomp_uses_notify(c->seccomp))
                return berth_seccomp_apply(c->seccomp, err);
        r = berth_seccomp_apply_listener(c->seccomp, &listener, err);
        if (r < 0)
                return r;
        {
                cleanup_json json_object *msg = json_object_new_object();
                cleanup_json json_object *st = NULL;
                json_object *fds = json_object_new_array();
                const char *meta = berth_seccomp_listener_metadata(c->seccomp);
                char path[64];

                (void)berth_json_parse(state_json, strlen(state_json), "state", &st, NULL);
                json_object_array_add(fds, json_object_new_string("seccompFd"));
                json_object_object_add(msg, "ociVersion", json_object_new_string("1.3.0"));
                json_object_object_add(msg, "fds", fds);
                json_object_object_add(msg, "pid",
                                       json_object_new_int((int)berth_json_int(st, "pid", 0)));
                json_object_object_add(msg, "metadata", json_object_new_string(meta ? meta : ""));
                if (st)
                        json_object_object_add(msg, "state", json_object_get(st));
                snprintf(path, sizeof(path), "/proc/self/fd/%d", listener_at);
                r = berth_seccomp_send_listener(
                    path, listener, json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN),
                    err);
        }
        close(listener);
        return r;
}

static _Noreturn void run_child(struct berth_proc_cfg *c, int parent_fd)
{
        cleanup_error berth_error *e = NULL;
        cleanup_free char *state_json = NULL;
        cleanup_strv char **argv = NULL;
        cleanup_strv char **envp = NULL;
        cleanup_free char *exe = NULL;
        cleanup_close int cwd_fd = -1;
        cleanup_close int listener_at = -1;
        json_object *linux_obj = berth_json_get(c->config, "linux");
        const char *cwd = berth_json_str(c->process, "cwd");
        int sync_fd = c->sync_fd;

        close(parent_fd);
        /* Into the cgroup first, by ourselves: no global lock (see cgroup.h). */
        if (berth_cgroup_attach_self(c->cg_fds, c->n_cg_fds) < 0) {
                berth_fail_errno(&e, "join the container's cgroup");
                child_fail(sync_fd, e);
        }
        c->n_cg_fds = 0;
        /* Until execve, /proc/self/exe of this process is the runtime binary:
         * nothing in the container may open it (CVE-2019-5736). */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
                berth_fail_errno(&e, "prctl PR_SET_DUMPABLE");
                child_fail(sync_fd, e);
        }
        /* No PR_SET_PDEATHSIG: `create` and `exec --detach` exit while we go
         * on. A parent that dies mid-setup closes the sync socket instead,
         * and every wait below then fails and we exit. */

        if (berth_sync_expect(sync_fd, BERTH_SYNC_GO, &state_json, NULL, &e) < 0)
                _exit(1);

        if (join_namespaces(c, true, &e) < 0 || join_namespaces(c, false, &e) < 0)
                child_fail(sync_fd, e);
        if (c->userns_new || c->is_exec) {
                /* Become root in the (new or joined) user namespace. */
                if (c->userns_new && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
                        berth_fail_errno(&e, "become root in the user namespace");
                        child_fail(sync_fd, e);
                }
        }

        if (!c->is_exec) {
                /* A new cgroup namespace roots at the container's cgroup, which the
                 * parent has placed us in by now. */
                if (c->clone_flags & CLONE_NEWCGROUP) {
                        if (unshare(CLONE_NEWCGROUP) < 0) {
                                berth_fail_errno(&e, "unshare the cgroup namespace");
                                child_fail(sync_fd, e);
                        }
                }
                if (!c->no_new_keyring) {
                        cleanup_free char *name = xasprintf("_ses.%s", c->id);
                        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 &&
                            errno != ENOSYS && errno != EACCES && errno != EPERM) {
                                berth_fail_errno(&e, "join a session keyring");
                                child_fail(sync_fd, e);
                        }
                }
                if (write_oom_score_adj(c->process, &e) < 0)
                        child_fail(sync_fd, e);
                {
                        const char *hn = berth_json_str(c->config, "hostname");
                        const char *dn = berth_json_str(c->config, "domainname");
                        if (hn && sethostname(hn, strlen(hn)) < 0) {
                                berth_fail_errno(&e, "set hostname `%s`", hn);
                                child_fail(sync_fd, e);
                        }
                        if (dn && setdomainname(dn, strlen(dn)) < 0) {
                                berth_fail_errno(&e, "set domainname `%s`", dn);
                                child_fail(sync_fd, e);
                        }
                }
                /* prestart/createRuntime run in the parent, createContainer here:
                 * in the container's namespaces, before pivot_root. */
                if (berth_sync_send(sync_fd, BERTH_SYNC_HOOKS, 0, "", -1) < 0)
                        _exit(1);
                if (berth_sync_expect(sync_fd, BERTH_SYNC_HOOKS_DONE, NULL, NULL, &e) < 0)
                        _exit(1);
                if (berth_hooks_run(c->config, "createContainer", state_json, &e) < 0)
                        child_fail(sync_fd, e);

                struct berth_rootfs_opts ro = {
                    .config = c->config,
                    .mounts = c->mounts,
                    .rootfs = c->rootfs,
                    .userns = c->userns_new,
                    .cgroupns = (c->clone_flags & CLONE_NEWCGROUP) != 0,
                    .netns = (c->clone_flags & CLONE_NEWNET) != 0,
                };
                for (size_t i = 0; i < c->n_ns; i++) {
                        if (c->ns_types[i] == CLONE_NEWNET)
                                ro.netns = true;
                        if (c->ns_types[i] == CLONE_NEWUSER)
                                ro.userns = true;
                }
                /* The seccomp agent's socket is a host path: hold it across
                 * pivot_root. */
                if (berth_seccomp_uses_notify(c->seccomp)) {
                        const char *lp = berth_seccomp_listener_path(c->seccomp);
                        listener_at = lp ? open(lp, O_PATH | O_CLOEXEC) : -1;
                        if (listener_at < 0) {
                                berth_fail_errno(&e, "linux.seccomp.listenerPath `%s`",
                                                 lp ? lp : "");
                                child_fail(sync_fd, e);
                        }
                }
                if (berth_rootfs_setup(&ro, &e) < 0)
                        child_fail(sync_fd, e);
                if (set_personality(linux_obj, &e) < 0)
                        child_fail(sync_fd, e);
        } else {
                /* setns into the mount namespace put us at its root. */
                if (chdir("/") < 0) {
                        berth_fail_errno(&e, "chdir `/`");
                        child_fail(sync_fd, e);
                }
        }

        if (c->terminal) {
                if (setup_console(c, &e) < 0)
                        child_fail(sync_fd, e);
        } else if (setsid() < 0 && errno != EPERM) {
                berth_fail_errno(&e, "setsid");
                child_fail(sync_fd, e);
        }

        /* The working directory, resolved inside the new root by the kernel:
         * magic links such as /proc/self/fd/N are refused. */
        cwd_fd = berth_open_in_root(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0, &e);
        if (cwd_fd >= 0) {
                int root = cwd_fd;
                cwd_fd = berth_open_in_root(root, cwd ? cwd : "/", O_PATH | O_DIRECTORY, 0, &e);
                close(root);
        }
        if (cwd_fd < 0) {
                berth_error_prefix(&e, -1, "process.cwd `%s`", cwd ? cwd : "/");
                child_fail(sync_fd, e);
        }

        argv = berth_json_strv(berth_json_get(c->process, "args"));
        envp = build_env(berth_json_get(c->process, "env"), c->uid);
        if (find_executable(argv[0], envp, &exe, &e) < 0)
                child_fail(sync_fd, e);
        if (berth_rlimits_apply(c->rlimits, &e) < 0)
                child_fail(sync_fd, e);
        if (c->is_exec) {
                const char *ap = berth_json_str(c->process, "apparmorProfile");
                (void)ap; /* no LSM on this host: accepted, reported by `features` */
        }
        {
                mode_t um =
                    (mode_t)berth_json_int(berth_json_get(c->process, "user"), "umask", 022);
                umask(um);
        }

        if (berth_sync_send(sync_fd, BERTH_SYNC_READY, 0, "", -1) < 0)
                _exit(1);
        if (wait_for_start(c, &e) < 0)
                _exit(1);

        if (!c->is_exec && berth_json_get(berth_json_get(c->config, "hooks"), "startContainer")) {
                cleanup_json json_object *st = NULL;
                if (berth_json_parse(state_json, strlen(state_json), "state", &st, &e) < 0)
                        child_fail(sync_fd, e);
                json_object_object_add(st, "status", json_object_new_string("created"));
                if (berth_hooks_run(c->config, "startContainer",
                                    json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
                                    &e) < 0)
                        child_fail(sync_fd, e);
        }

        /* Before any filter: a profile need not allow close_range. */
        if (prepare_fds(c, &e) < 0)
                child_fail(sync_fd, e);
        /* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it now,
         * before the capabilities go (as runc does); with it, as late as
         * possible, so that it filters as little of our own work as can be. */
        if (!c->no_new_privs && load_seccomp(c, state_json, listener_at, &e) < 0)
                child_fail(sync_fd, e);
        if (berth_security_apply_creds_caps(
                &(struct berth_creds){.uid = c->uid,
                                      .gid = c->gid,
                                      .groups = c->groups,
                                      .n_groups = c->n_groups,
                                      .set_groups = !c->userns_new || c->n_groups > 0},
                c->caps, &e) < 0)
                child_fail(sync_fd, e);
        if (fchdir(cwd_fd) < 0) {
                berth_fail_errno(&e, "process.cwd `%s`", cwd ? cwd : "/");
                child_fail(sync_fd, e);
        }
        {
                char buf[8];
                /* A cwd outside our root reads as "(unreachable)...". */
                if (syscall(SYS_getcwd, buf, sizeof(buf)) > 0 && buf[0] != '/') {
                        berth_fail(&e, EPERM, "process.cwd `%s` is outside the container",
                                   cwd ? cwd : "/");
                        child_fail(sync_fd, e);
                }
        }
        if (c->no_new_privs && berth_no_new_privs(&e) < 0)
                child_fail(sync_fd, e);
        if (c->no_new_privs && load_seccomp(c, state_json, listener_at, &e) < 0)
                child_fail(sync_fd, e);
        execve(exe, argv, envp);
        berth_fail_errno(&e, "exec `%s`", exe);
        child_fail(sync_fd, e);
}

/* ---------------------------------------------------------------- parent */

int berth_proc_spawn(struct berth_proc_cfg *c, int parent_sync_fd, pid_t *ret_pid, int *ret_pidfd,
                     berth_error **err)
{
        int pidfd = -1;
        unsigned long flags = (c->clone_flags & ~(unsigned long)CLONE_NEWCGROUP) | CLONE_PIDFD;
        struct clone_args args = {
            .flags = flags,
            .pidfd = (uint64_t)(uintptr_t)&pidfd,
            .exit_signal = SIGCHLD,
        };
        long pid;

        /* Join a pid namespace by path: it applies to our children only, and
         * only to this one: we step back right after the clone, so that no
         * later child of ours (a hook, a sanitizer's helper thread, the next
         * container of a daemon) is born inside the container. */
        cleanup_close int own_pidns = -1;
        for (size_t i = 0; i < c->n_ns; i++) {
                if (c->ns_types[i] != CLONE_NEWPID || c->ns_fds[i] < 0)
                        continue;
                if (own_pidns < 0) {
                        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                        if (own_pidns < 0)
                                return berth_fail_errno(err, "open `/proc/self/ns/pid`");
                }
                if (setns(c->ns_fds[i], CLONE_NEWPID) < 0)
                        return berth_fail_errno(err, "join the pid namespace");
        }

        c->cg_need_enter = false;
        if (c->cg_dirfd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t)c->cg_dirfd;
        }
        pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0 && c->cg_dirfd >= 0 && errno != ENOMEM && errno != EAGAIN) {
                /* Not a cgroup we can be born into: join it the slow way. */
                args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
                args.cgroup = 0;
                c->cg_need_enter = true;
                pid = syscall(SYS_clone3, &args, sizeof(args));
        }
        if (pid < 0 && errno == ENOSYS) {
                pid = syscall(SYS_clone, (flags & ~(unsigned long)CLONE_PIDFD) | SIGCHLD, NULL,
                              NULL, NULL, 0);
                if (pid > 0)
                        pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
                c->cg_need_enter = c->cg_dirfd >= 0;
        }
        if (pid == 0)
                run_child(c, parent_sync_fd);
        if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0) {
                int e = errno;
                if (pid > 0) {
                        (void)kill((pid_t)pid, SIGKILL);
                        (void)waitpid((pid_t)pid, NULL, 0);
                }
                return berth_fail(err, e, "return to our own pid namespace");
        }
        if (pid < 0)
                return berth_fail_errno(err, "clone the container init");
        if (pidfd >= 0)
                (void)fcntl(pidfd, F_SETFD, FD_CLOEXEC);
        *ret_pid = (pid_t)pid;
        *ret_pidfd = pidfd;
        return 0;
}

static int write_map(pid_t pid, const char *file, json_object *mappings, berth_error **err)
{
        size_t n = mappings ? json_object_array_length(mappings) : 0;
        cleanup_free char *buf = xstrdup("");
        cleanup_free char *path = xasprintf("/proc/%d/%s", (int)pid, file);

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(mappings, i);
                char *next = xasprintf("%s%lld %lld %lld\n", buf,
                                       (long long)berth_json_int(m, "containerID", 0),
                                       (long long)berth_json_int(m, "hostID", 0),
                                       (long long)berth_json_int(m, "size", 0));
                free(buf);
                buf = next;
        }
        return berth_write_file_at(AT_FDCWD, path, buf, strlen(buf), false, err);
}

int berth_userns_write_maps(pid_t pid, json_object *linux_obj, berth_error **err)
{
        int r = write_map(pid, "uid_map", berth_json_get(linux_obj, "uidMappings"), err);
        if (r < 0)
                return berth_error_prefix(err, r, "linux.uidMappings");
        r = write_map(pid, "gid_map", berth_json_get(linux_obj, "gidMappings"), err);
        if (r < 0)
                return berth_error_prefix(err, r, "linux.gidMappings");
        return 0;
}

int berth_proc_wait(pid_t pid, int pidfd, int *ret_status, berth_error **err)
{
        sigset_t mask, old;
        cleanup_close int sfd = -1;
        int status;
        static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

        sigemptyset(&mask);
        for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
                sigaddset(&mask, fwd[i]);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return berth_fail_errno(err, "sigprocmask");
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        for (;;) {
                struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                int n = poll(p, pidfd >= 0 ? 2 : 0, pidfd >= 0 ? -1 : 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (pidfd < 0 || (p[0].revents & (POLLIN | POLLHUP)))
                        break;
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                                (void)syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL,
                                              0);
                }
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        sigprocmask(SIG_SETMASK, &old, NULL);
                        return berth_fail_errno(err, "wait for pid %d", (int)pid);
                }
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (WIFEXITED(status))
                *ret_status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                *ret_status = 128 + WTERMSIG(status);
        else
                *ret_status = 255;
        return 0;
}
