/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's verbs: create, start, run, state, kill, delete, pause,
 * resume, update, ps, list, exec. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/lifecycle.h"
#include "runtime/rootfs.h"
#include "runtime/runtime.h"
#include "runtime/security.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
        const char *name;
        const char *proc; /* /proc/PID/ns/<proc> */
        int flag;
} ns_table[] = {
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"ipc", "ipc", CLONE_NEWIPC},
    {"mount", "mnt", CLONE_NEWNS},         {"network", "net", CLONE_NEWNET},
    {"pid", "pid", CLONE_NEWPID},          {"time", "time", CLONE_NEWTIME},
    {"user", "user", CLONE_NEWUSER},       {"uts", "uts", CLONE_NEWUTS},
};

static int ns_flag(const char *type)
{
        for (size_t i = 0; i < sizeof(ns_table) / sizeof(ns_table[0]); i++)
                if (strcmp(ns_table[i].name, type) == 0)
                        return ns_table[i].flag;
        return 0;
}

/* Bind or connect a unix socket at DIR/NAME, whatever DIR's length. */
static int unix_socket_at(int dirfd, const char *name, bool do_bind, berth_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r;

        if (fd < 0)
                return berth_fail_errno(err, "socket");
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
        if (do_bind) {
                r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
                if (r == 0)
                        r = listen(fd, 1);
        } else {
                do
                        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
                while (r < 0 && errno == EINTR);
        }
        if (r < 0)
                return berth_fail_errno(err, "%s `%s`", do_bind ? "listen on" : "connect to", name);
        return steal_fd(&fd);
}

static int connect_console(const char *path, berth_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return berth_fail_errno(err, "socket");
        if (strlen(path) >= sizeof(sa.sun_path))
                return berth_fail(err, ENAMETOOLONG, "console socket `%s`", path);
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return berth_fail_errno(err, "connect to the console socket `%s`", path);
        return steal_fd(&fd);
}

static int write_pid_file(const char *path, pid_t pid, berth_error **err)
{
        char buf[32];
        int n;

        if (path == NULL)
                return 0;
        n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        return berth_write_file_atomic(path, buf, (size_t)n, 0644, err);
}

/* Namespaces from the config: new ones become clone flags, joined ones fds. */
static int parse_namespaces(json_object *config, struct berth_proc_cfg *c, berth_error **err)
{
        json_object *nss = berth_json_get(berth_json_get(config, "linux"), "namespaces");
        size_t n = nss ? json_object_array_length(nss) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *ns = json_object_array_get_idx(nss, i);
                const char *type = berth_json_str(ns, "type");
                const char *path = berth_json_str(ns, "path");
                int flag = ns_flag(type ? type : "");

                if (flag == 0)
                        return berth_fail(err, EINVAL, "linux.namespaces[%zu]: unknown type `%s`",
                                          i, type ? type : "");
                if (path == NULL || *path == '\0') {
                        c->clone_flags |= (unsigned long)flag;
                        continue;
                }
                if (c->n_ns >= sizeof(c->ns_fds) / sizeof(c->ns_fds[0]))
                        return berth_fail(err, EINVAL, "linux.namespaces: too many");
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "linux.namespaces[%zu] (%s): path `%s`", i,
                                                type, path);
                c->ns_fds[c->n_ns] = fd;
                c->ns_types[c->n_ns] = flag;
                c->n_ns++;
        }
        c->userns_new = (c->clone_flags & CLONE_NEWUSER) != 0;
        return 0;
}

/* A time namespace: unshare it here so our child is born in it. */
static int setup_time_ns(json_object *config, berth_error **err)
{
        json_object *offs = berth_json_get(berth_json_get(config, "linux"), "timeOffsets");
        cleanup_free char *buf = xstrdup("");

        if (unshare(CLONE_NEWTIME) < 0)
                return berth_fail_errno(err, "unshare the time namespace");
        if (offs == NULL)
                return 0;
        json_object_object_foreach(offs, clock, v)
        {
                char *next = xasprintf("%s%s %lld %lld\n", buf, clock,
                                       (long long)berth_json_int(v, "secs", 0),
                                       (long long)berth_json_int(v, "nanosecs", 0));
                free(buf);
                buf = next;
        }
        if (*buf && berth_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, strlen(buf),
                                        false, err) < 0)
                return berth_error_prefix(err, -EINVAL, "linux.timeOffsets");
        return 0;
}

static void add_dev_rule(json_object *rules, const char *type, int64_t major, int64_t minor,
                         const char *access)
{
        json_object *r = json_object_new_object();
        json_object_object_add(r, "allow", json_object_new_boolean(true));
        json_object_object_add(r, "type", json_object_new_string(type));
        if (major >= 0)
                json_object_object_add(r, "major", json_object_new_int64(major));
        if (minor >= 0)
                json_object_object_add(r, "minor", json_object_new_int64(minor));
        json_object_object_add(r, "access", json_object_new_string(access));
        json_object_array_add(rules, r);
}

/* The device cgroup allows what the container's /dev holds, as runc does:
 * after the config's own rules come mknod of anything, the default devices
 * and every linux.devices entry. */
static void add_default_device_rules(json_object *config)
{
        static const struct {
                int64_t major, minor;
        } defaults[] = {
            {1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}, {136, -1},
        };
        json_object *lx = berth_json_get(config, "linux");
        json_object *res, *rules, *devs;

        if (lx == NULL)
                return;
        res = berth_json_get(lx, "resources");
        if (res == NULL) {
                res = json_object_new_object();
                json_object_object_add(lx, "resources", res);
        }
        rules = berth_json_get(res, "devices");
        if (rules == NULL) {
                /* Without rules the cgroup is left open, as the config asks. */
                return;
        }
        add_dev_rule(rules, "c", -1, -1, "m");
        add_dev_rule(rules, "b", -1, -1, "m");
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
                add_dev_rule(rules, "c", defaults[i].major, defaults[i].minor, "rwm");
        devs = berth_json_get(lx, "devices");
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
                json_object *d = json_object_array_get_idx(devs, i);
                const char *type = berth_json_str(d, "type");
                if (type == NULL || strcmp(type, "p") == 0)
                        continue;
                add_dev_rule(rules, strcmp(type, "u") == 0 ? "c" : type,
                             berth_json_int(d, "major", -1), berth_json_int(d, "minor", -1), "rwm");
        }
}

/* What create leaves behind if it fails half-way, undone. */
struct create_undo {
        char *state_dir;
        struct berth_cgroup *cg;
        pid_t pid;
        int pidfd;
        bool armed;
};

static void create_undo_run(struct create_undo *u)
{
        if (!u->armed)
                return;
        if (u->pid > 0) {
                if (u->pidfd >= 0)
                        (void)syscall(SYS_pidfd_send_signal, u->pidfd, SIGKILL, NULL, 0);
                else
                        (void)kill(u->pid, SIGKILL);
                (void)waitpid(u->pid, NULL, 0);
        }
        if (u->cg) {
                (void)berth_cgroup_kill(u->cg, SIGKILL, NULL);
                (void)berth_cgroup_destroy(u->cg, NULL);
        }
        if (u->state_dir)
                (void)berth_rm_rf(u->state_dir, NULL);
}

static void create_undo_clear(struct create_undo *u)
{
        create_undo_run(u);
        free(u->state_dir);
        berth_cgroup_free(u->cg);
        if (u->pidfd >= 0)
                close(u->pidfd);
}

static char *resolve_rootfs(const char *bundle, json_object *config)
{
        const char *root = berth_json_str(berth_json_get(config, "root"), "path");
        char *joined, *real;

        if (root == NULL)
                root = "rootfs";
        joined = root[0] == '/' ? xstrdup(root) : xasprintf("%s/%s", bundle, root);
        real = realpath(joined, NULL);
        if (real == NULL)
                return joined;
        free(joined);
        return real;
}

/* Send TYPE (with PAYLOAD) over the sync socket; a failure reads "WHAT: ...". */
static int sync_send(int fd, enum berth_sync_type type, const char *payload, const char *what,
                     berth_error **err)
{
        int r = berth_sync_send(fd, type, 0, payload, -1);
        return r < 0 ? berth_fail(err, -r, "%s", what) : r;
}

/* Make the sync socketpair and spawn C's process; *RET_SYNC gets the
 * parent's end (set even when the spawn fails, for the caller to close). */
static int spawn_synced(struct berth_proc_cfg *c, int *ret_sync, pid_t *ret_pid, int *ret_pidfd,
                        berth_error **err)
{
        int sv[2];
        int r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return berth_fail_errno(err, "socketpair");
        c->sync_fd = sv[1];
        *ret_sync = sv[0];
        r = berth_proc_spawn(c, sv[0], ret_pid, ret_pidfd, err);
        close(sv[1]);
        return r;
}

/* create (and, with FOR_RUN, keep the init waiting on the sync socket
 * instead of the exec socket). On success the state is saved as created. */
static int do_create(const struct berth_runtime *rt, const struct berth_create_opts *o,
                     bool for_run, struct berth_state **ret_st, int *ret_sync, int *ret_pidfd,
                     int *ret_console, berth_error **err)
{
        cleanup_free char *bundle = NULL;
        cleanup_json json_object *config = NULL;
        struct berth_proc_cfg c = {.exec_listen_fd = -1,
                                   .console_fd = -1,
                                   .sync_fd = -1,
                                   .start_conn = -1,
                                   .cg_dirfd = -1};
        struct create_undo undo = {.pidfd = -1};
        cleanup_close int dirfd = -1;
        cleanup_free char *state_json = NULL;
        struct berth_state *st = NULL;
        int sync_sock = -1;
        int console_ours = -1;
        int r;

        r = berth_id_check(o->id, err);
        if (r < 0)
                return r;
        bundle = realpath(o->bundle ? o->bundle : ".", NULL);
        if (bundle == NULL)
                return berth_fail_errno(err, "bundle `%s`", o->bundle ? o->bundle : ".");
        r = berth_spec_load(bundle, &config, err);
        if (r < 0)
                goto out;
        if (berth_json_get(config, "process") == NULL) {
                r = berth_fail(err, EINVAL,
                               "config.json: `process` is required to create a container");
                goto out;
        }

        if (o->listen_fds > 0) {
                json_object *proc = berth_json_get(config, "process");
                json_object *env = berth_json_get(proc, "env");
                if (env == NULL) {
                        env = json_object_new_array();
                        json_object_object_add(proc, "env", env);
                }
                json_object_array_add(env, json_object_new_string_len("LISTEN_PID=1", 12));
                {
                        cleanup_free char *lf = xasprintf("LISTEN_FDS=%d", o->listen_fds);
                        json_object_array_add(env, json_object_new_string(lf));
                }
        }
        c.config = config;
        c.id = o->id;
        c.bundle = bundle;
        c.no_new_keyring = o->no_new_keyring;
        c.preserve_fds = o->preserve_fds;
        c.rootfs = resolve_rootfs(bundle, config);
        r = berth_proc_cfg_parse_process(&c, berth_json_get(config, "process"), err);
        if (r < 0)
                goto out;
        r = berth_mounts_parse(config, &c.mounts, err);
        if (r < 0)
                goto out;
        r = berth_seccomp_parse(berth_json_get(berth_json_get(config, "linux"), "seccomp"),
                                &c.seccomp, err);
        if (r < 0) {
                berth_error_prefix(err, r, "linux.seccomp");
                goto out;
        }
        r = parse_namespaces(config, &c, err);
        if (r < 0)
                goto out;
        if (c.terminal && o->console_socket == NULL && !(for_run && !o->detach)) {
                r = berth_fail(err, EINVAL,
                               "process.terminal is set: pass --console-socket to receive the "
                               "terminal");
                goto out;
        }
        if (c.terminal && o->console_socket == NULL) {
                /* run in the foreground: the terminal comes back to us. */
                int pair[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
                        r = berth_fail_errno(err, "socketpair");
                        goto out;
                }
                c.console_fd = pair[1];
                console_ours = pair[0];
        }

        /* Claim the id: mkdir is atomic. */
        {
                const char *root = rt->state_root ? rt->state_root : BERTH_OCI_DEFAULT_ROOT;
                r = berth_mkdir_p(root, 0700, err);
                if (r < 0)
                        goto out;
        }
        undo.state_dir = berth_state_dir(rt, o->id);
        if (mkdir(undo.state_dir, 0700) < 0) {
                int e = errno;
                free(undo.state_dir);
                undo.state_dir = NULL;
                r = e == EEXIST ? berth_fail(err, EEXIST, "container `%s` already exists", o->id)
                                : berth_fail(err, e, "mkdir `%s`", o->id);
                goto out;
        }
        undo.armed = true;
        dirfd = open(undo.state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = berth_fail_errno(err, "open `%s`", undo.state_dir);
                goto out;
        }
        if (!for_run) {
                c.exec_listen_fd = unix_socket_at(dirfd, "exec.sock", true, err);
                if (c.exec_listen_fd < 0) {
                        r = c.exec_listen_fd;
                        goto out;
                }
        }
        if (o->console_socket) {
                c.console_fd = connect_console(o->console_socket, err);
                if (c.console_fd < 0) {
                        r = c.console_fd;
                        goto out;
                }
        }
        if (c.clone_flags & CLONE_NEWTIME) {
                r = setup_time_ns(config, err);
                if (r < 0)
                        goto out;
                c.clone_flags &= ~(unsigned long)CLONE_NEWTIME;
        }
        /* The cgroup exists, with its limits, before the init is born. */
        add_default_device_rules(config);
        {
                json_object *lx = berth_json_get(config, "linux");
                struct berth_cgroup_opts co = {
                    .id = o->id,
                    .path = berth_json_str(lx, "cgroupsPath"),
                    .resources = berth_json_get(lx, "resources"),
                };
                r = berth_cgroup_create(&co, &undo.cg, err);
                if (r < 0)
                        goto out;
                r = berth_cgroup_attach_fds(undo.cg, &c.cg_fds, &c.n_cg_fds, &c.cg_dirfd, err);
                if (r < 0)
                        goto out;
        }
        r = spawn_synced(&c, &sync_sock, &undo.pid, &undo.pidfd, err);
        if (r < 0)
                goto out;

        if (c.userns_new) {
                r = berth_userns_write_maps(undo.pid, berth_json_get(config, "linux"), err);
                if (r < 0)
                        goto out;
        }
        if (c.cg_need_enter) {
                r = berth_cgroup_enter(undo.cg, undo.pid, err);
                if (r < 0)
                        goto out;
        }

        st = xmalloc0(sizeof(*st));
        st->id = xstrdup(o->id);
        st->dir = xstrdup(undo.state_dir);
        st->pid = undo.pid;
        st->pid_start = berth_pid_start_time(undo.pid);
        st->bundle = xstrdup(bundle);
        st->rootfs = xstrdup(c.rootfs);
        st->created = berth_time_now_rfc3339nano();
        st->owner = xstrdup("");
        st->config = json_object_get(config);
        st->cgroup = berth_cgroup_to_json(undo.cg);
        /* run starts it right away: one state write instead of two. */
        st->started = for_run;
        {
                cleanup_json json_object *s = berth_state_to_oci(st, BERTH_STATUS_CREATING);
                state_json = xstrdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
        }
        r = sync_send(sync_sock, BERTH_SYNC_GO, state_json, "start the container init", err);
        if (r < 0)
                goto out;
        r = berth_sync_expect(sync_sock, BERTH_SYNC_HOOKS, NULL, NULL, err);
        if (r < 0)
                goto out;
        r = berth_hooks_run(config, "prestart", state_json, err);
        if (r == 0)
                r = berth_hooks_run(config, "createRuntime", state_json, err);
        if (r < 0)
                goto out;
        r = sync_send(sync_sock, BERTH_SYNC_HOOKS_DONE, "", "resume the container init", err);
        if (r < 0)
                goto out;
        r = berth_sync_expect(sync_sock, BERTH_SYNC_READY, NULL, NULL, err);
        if (r < 0)
                goto out;
        r = write_pid_file(o->pid_file, undo.pid, err);
        if (r < 0)
                goto out;
        r = berth_state_save(st, err);
        if (r < 0)
                goto out;

        undo.armed = false;
        *ret_st = steal_pointer(&st);
        if (ret_sync)
                *ret_sync = steal_fd(&sync_sock);
        if (ret_pidfd)
                *ret_pidfd = steal_fd(&undo.pidfd);
        if (ret_console)
                *ret_console = steal_fd(&console_ours);
        r = 0;
out:
        if (console_ours >= 0)
                close(console_ours);
        if (r < 0)
                berth_error_prefix(err, r, "create container `%s`", o->id);
        berth_state_free(st);
        if (sync_sock >= 0)
                close(sync_sock);
        if (c.exec_listen_fd >= 0)
                close(c.exec_listen_fd);
        if (c.console_fd >= 0)
                close(c.console_fd);
        create_undo_clear(&undo);
        berth_proc_cfg_clear(&c);
        return r;
}

int berth_container_create(const struct berth_runtime *rt, const struct berth_create_opts *o,
                           berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        return do_create(rt, o, false, &st, NULL, NULL, NULL, err);
}

static void run_poststart(const struct berth_state *st)
{
        cleanup_json json_object *s = berth_state_to_oci(st, BERTH_STATUS_RUNNING);
        /* poststart failures are warnings in the spec: the container runs on. */
        (void)berth_hooks_run(st->config, "poststart",
                              json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN), NULL);
}

int berth_container_start(const struct berth_runtime *rt, const char *id, berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        cleanup_close int dirfd = -1;
        cleanup_close int sock = -1;
        enum berth_status status;
        ssize_t n;
        int r;

        r = berth_state_load(rt, id, &st, err);
        if (r < 0)
                return r;
        status = berth_state_status(st);
        if (status != BERTH_STATUS_CREATED)
                return berth_fail(err, EINVAL, "cannot start container `%s`: it is %s, not created",
                                  id, berth_status_name(status));
        dirfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return berth_fail_errno(err, "open `%s`", st->dir);
        sock = unix_socket_at(dirfd, "exec.sock", false, err);
        if (sock < 0)
                return berth_error_prefix(err, sock, "start container `%s`", id);
        /* The init closes the connection at execve, or sends its error. */
        {
                char msg[4096];
                size_t len = 0;
                for (;;) {
                        n = read(sock, msg + len, sizeof(msg) - 1 - len);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0 || (len += (size_t)n) >= sizeof(msg) - 1)
                                break;
                }
                (void)unlinkat(dirfd, "exec.sock", 0);
                if (len > 0) {
                        msg[len] = '\0';
                        return berth_fail(err, 0, "start container `%s`: %s", id, msg);
                }
        }
        st->started = true;
        r = berth_state_save(st, err);
        if (r < 0)
                return r;
        run_poststart(st);
        return 0;
}

static void destroy_container(struct berth_state *st)
{
        cleanup_json json_object *s = berth_state_to_oci(st, BERTH_STATUS_STOPPED);

        if (st->cgroup) {
                cleanup_cgroup struct berth_cgroup *cg = NULL;
                /* Usually empty by now: remove it; kill what is left only if
                 * that fails. */
                if (berth_cgroup_from_json(st->cgroup, NULL, &cg, NULL) == 0 &&
                    berth_cgroup_destroy_if_empty(cg) < 0) {
                        (void)berth_cgroup_kill(cg, SIGKILL, NULL);
                        (void)berth_cgroup_destroy(cg, NULL);
                }
        }
        /* poststop failures are warnings: the container is gone either way. */
        (void)berth_hooks_run(st->config, "poststop",
                              json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN), NULL);
        (void)berth_rm_rf(st->dir, NULL);
}

int berth_container_run(const struct berth_runtime *rt, const struct berth_create_opts *o,
                        int *ret_status, berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        cleanup_close int sync_fd = -1;
        cleanup_close int pidfd = -1;
        cleanup_close int console = -1;
        cleanup_close int master = -1;
        int r;

        r = do_create(rt, o, true, &st, &sync_fd, &pidfd, &console, err);
        if (r < 0)
                return r;
        r = sync_send(sync_fd, BERTH_SYNC_START, "", "resume the container init", err);
        if (r >= 0)
                r = berth_sync_wait_exec(sync_fd, err);
        if (r >= 0 && console >= 0)
                r = berth_console_recv_master(console, &master, err);
        if (r < 0) {
                (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                (void)waitpid(st->pid, NULL, 0);
                destroy_container(st);
                return berth_error_prefix(err, r, "start container `%s`", o->id);
        }
        run_poststart(st);
        if (o->detach) {
                *ret_status = 0;
                return 0;
        }
        if (master >= 0)
                r = berth_console_proxy_wait(st->pid, pidfd, master, ret_status, err);
        else
                r = berth_proc_wait(st->pid, pidfd, ret_status, err);
        destroy_container(st);
        return r;
}

int berth_container_state(const struct berth_runtime *rt, const char *id, json_object **ret,
                          berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        int r = berth_state_load(rt, id, &st, err);

        if (r < 0)
                return r;
        *ret = berth_state_to_oci(st, berth_state_status(st));
        return 0;
}

static int load_cgroup(const struct berth_state *st, struct berth_cgroup **ret, berth_error **err)
{
        if (st->cgroup == NULL)
                return berth_fail(err, ENOENT, "container `%s` has no cgroup", st->id);
        return berth_cgroup_from_json(st->cgroup, NULL, ret, err);
}

int berth_container_kill(const struct berth_runtime *rt, const char *id, int sig, bool all,
                         berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        cleanup_close int pidfd = -1;
        enum berth_status status;
        int r = berth_state_load(rt, id, &st, err);

        if (r < 0)
                return r;
        status = berth_state_status(st);
        if (status == BERTH_STATUS_STOPPED && !all)
                return berth_fail(err, ESRCH, "container `%s` is not running", id);
        if (all) {
                cleanup_cgroup struct berth_cgroup *cg = NULL;
                r = load_cgroup(st, &cg, err);
                if (r < 0)
                        return r;
                r = berth_cgroup_kill(cg, sig, err);
                if (r < 0)
                        return r;
                if (status == BERTH_STATUS_PAUSED && sig == SIGKILL)
                        (void)berth_cgroup_freeze(cg, false, NULL);
                return 0;
        }
        pidfd = berth_pidfd_checked(st->pid, st->pid_start);
        if (pidfd < 0)
                return berth_fail(err, ESRCH, "container `%s` is not running", id);
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return berth_fail_errno(err, "kill container `%s`", id);
        return 0;
}

/* Wait up to TIMEOUT_MS for the init to be gone. */
static bool wait_gone(const struct berth_state *st, int timeout_ms)
{
        cleanup_close int pidfd = berth_pidfd_checked(st->pid, st->pid_start);
        struct pollfd p = {.fd = pidfd, .events = POLLIN};

        if (pidfd < 0)
                return true;
        if (poll(&p, 1, timeout_ms) > 0) {
                /* Reap it if it is ours (run); otherwise its parent does. */
                (void)waitpid(st->pid, NULL, WNOHANG);
                return true;
        }
        return false;
}

int berth_container_delete(const struct berth_runtime *rt, const char *id, bool force,
                           berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        enum berth_status status;
        int r = berth_state_load(rt, id, &st, NULL);

        if (r < 0) {
                /* A create that died before saving its state leaves only a dir. */
                cleanup_free char *dir = NULL;
                if (berth_id_check(id, err) < 0)
                        return -EINVAL;
                dir = berth_state_dir(rt, id);
                if (access(dir, F_OK) == 0) {
                        if (force)
                                return berth_rm_rf(dir, err);
                        return berth_fail(err, EBUSY,
                                          "container `%s` is being created; use --force to "
                                          "remove it",
                                          id);
                }
                if (force)
                        return 0;
                return berth_state_load(rt, id, &st, err);
        }
        status = berth_state_status(st);
        if (status == BERTH_STATUS_RUNNING || status == BERTH_STATUS_PAUSED) {
                if (!force)
                        return berth_fail(err, EBUSY,
                                          "cannot delete container `%s` that is not stopped: %s "
                                          "(use --force, or kill it first)",
                                          id, berth_status_name(status));
        }
        if (status != BERTH_STATUS_STOPPED) {
                cleanup_cgroup struct berth_cgroup *cg = NULL;
                cleanup_close int pidfd = berth_pidfd_checked(st->pid, st->pid_start);
                if (pidfd >= 0)
                        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                if (st->cgroup && berth_cgroup_from_json(st->cgroup, NULL, &cg, NULL) == 0) {
                        (void)berth_cgroup_kill(cg, SIGKILL, NULL);
                        if (status == BERTH_STATUS_PAUSED)
                                (void)berth_cgroup_freeze(cg, false, NULL);
                }
                if (!wait_gone(st, 10000))
                        return berth_fail(err, EBUSY, "container `%s` did not exit after SIGKILL",
                                          id);
        }
        destroy_container(st);
        return 0;
}

static int freeze(const struct berth_runtime *rt, const char *id, bool frozen, berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        enum berth_status status;
        int r = berth_state_load(rt, id, &st, err);

        if (r < 0)
                return r;
        status = berth_state_status(st);
        if (frozen && status != BERTH_STATUS_RUNNING)
                return berth_fail(err, EINVAL, "cannot pause container `%s`: it is %s", id,
                                  berth_status_name(status));
        if (!frozen && status != BERTH_STATUS_PAUSED)
                return berth_fail(err, EINVAL, "cannot resume container `%s`: it is %s, not paused",
                                  id, berth_status_name(status));
        r = load_cgroup(st, &cg, err);
        if (r < 0)
                return r;
        return berth_cgroup_freeze(cg, frozen, err);
}

int berth_container_pause(const struct berth_runtime *rt, const char *id, berth_error **err)
{
        return freeze(rt, id, true, err);
}

int berth_container_resume(const struct berth_runtime *rt, const char *id, berth_error **err)
{
        return freeze(rt, id, false, err);
}

int berth_container_update(const struct berth_runtime *rt, const char *id, json_object *resources,
                           berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        int r = berth_state_load(rt, id, &st, err);

        if (r < 0)
                return r;
        if (berth_state_status(st) == BERTH_STATUS_STOPPED)
                return berth_fail(err, EINVAL, "cannot update container `%s`: it is stopped", id);
        r = load_cgroup(st, &cg, err);
        if (r < 0)
                return r;
        r = berth_cgroup_update(cg, resources, err);
        if (r < 0)
                return berth_error_prefix(err, r, "update container `%s`", id);
        /* Keep the config in step, so that the state says what is applied. */
        if (st->config) {
                json_object *lx = berth_json_get(st->config, "linux");
                json_object *res = berth_json_get(lx, "resources");
                if (lx && res == NULL) {
                        res = json_object_new_object();
                        json_object_object_add(lx, "resources", res);
                }
                if (res) {
                        json_object_object_foreach(resources, k, v)
                        {
                                json_object *cur = berth_json_get(res, k);
                                if (cur && json_object_is_type(cur, json_type_object) &&
                                    json_object_is_type(v, json_type_object)) {
                                        json_object_object_foreach(v, k2, v2)
                                            json_object_object_add(cur, k2, json_object_get(v2));
                                } else {
                                        json_object_object_add(res, k, json_object_get(v));
                                }
                        }
                }
        }
        return berth_state_save(st, err);
}

/* The cgroup of container ID, whatever its status. */
static int container_cgroup(const struct berth_runtime *rt, const char *id,
                            struct berth_cgroup **ret, berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        int r = berth_state_load(rt, id, &st, err);

        if (r < 0)
                return r;
        return load_cgroup(st, ret, err);
}

int berth_container_pids(const struct berth_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
                         berth_error **err)
{
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        int r = container_cgroup(rt, id, &cg, err);

        if (r < 0)
                return r;
        return berth_cgroup_pids(cg, ret, ret_n, err);
}

int berth_container_stats(const struct berth_runtime *rt, const char *id, json_object **ret,
                          berth_error **err)
{
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        int r = container_cgroup(rt, id, &cg, err);

        if (r < 0)
                return r;
        return berth_cgroup_stats(cg, ret, err);
}

int berth_container_list(const struct berth_runtime *rt, json_object **ret, berth_error **err)
{
        const char *root = rt->state_root ? rt->state_root : BERTH_OCI_DEFAULT_ROOT;
        cleanup_closedir DIR *d = opendir(root);
        json_object *arr = json_object_new_array();
        struct dirent *de;

        if (d == NULL) {
                if (errno == ENOENT) {
                        *ret = arr;
                        return 0;
                }
                json_object_put(arr);
                return berth_fail_errno(err, "open `%s`", root);
        }
        while ((de = readdir(d)) != NULL) {
                cleanup_state struct berth_state *st = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (berth_state_load(rt, de->d_name, &st, NULL) < 0)
                        continue;
                json_object_array_add(arr, berth_state_to_oci(st, berth_state_status(st)));
        }
        *ret = arr;
        return 0;
}

int berth_container_exec(const struct berth_runtime *rt, const struct berth_exec_opts *o,
                         int *ret_status, berth_error **err)
{
        cleanup_state struct berth_state *st = NULL;
        struct berth_proc_cfg c = {.exec_listen_fd = -1,
                                   .console_fd = -1,
                                   .sync_fd = -1,
                                   .start_conn = -1,
                                   .cg_dirfd = -1,
                                   .is_exec = true};
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_close int pidfd = -1;
        cleanup_close int init_pidfd = -1;
        pid_t pid = 0;
        int sync_sock = -1;
        enum berth_status status;
        int r;

        r = berth_state_load(rt, o->id, &st, err);
        if (r < 0)
                return r;
        status = berth_state_status(st);
        if (status != BERTH_STATUS_RUNNING && status != BERTH_STATUS_CREATED)
                return berth_fail(err, EINVAL, "cannot exec in container `%s`: it is %s", o->id,
                                  berth_status_name(status));
        /* Pin the init while we open its namespaces. */
        init_pidfd = berth_pidfd_checked(st->pid, st->pid_start);
        if (init_pidfd < 0)
                return berth_fail(err, ESRCH, "container `%s` is not running", o->id);

        c.config = st->config;
        c.id = o->id;
        c.bundle = st->bundle;
        c.preserve_fds = o->preserve_fds;
        r = berth_proc_cfg_parse_process(&c, o->process, err);
        if (r < 0)
                goto out;
        if (c.terminal && o->console_socket == NULL) {
                r = berth_fail(err, EINVAL, "process.terminal is set: pass --console-socket");
                goto out;
        }
        r = berth_seccomp_parse(berth_json_get(berth_json_get(st->config, "linux"), "seccomp"),
                                &c.seccomp, err);
        if (r < 0)
                goto out;
        {
                json_object *nss =
                    berth_json_get(berth_json_get(st->config, "linux"), "namespaces");
                size_t n = nss ? json_object_array_length(nss) : 0;
                /* user first: joining it decides what we may join after. */
                for (int pass = 0; pass < 2; pass++) {
                        for (size_t i = 0; i < n; i++) {
                                const char *type =
                                    berth_json_str(json_object_array_get_idx(nss, i), "type");
                                int flag = ns_flag(type ? type : "");
                                if (flag == 0 || flag == CLONE_NEWTIME ||
                                    (pass == 0) != (flag == CLONE_NEWUSER))
                                        continue;
                                for (size_t k = 0; k < sizeof(ns_table) / sizeof(ns_table[0]);
                                     k++) {
                                        if (ns_table[k].flag != flag)
                                                continue;
                                        cleanup_free char *p = xasprintf(
                                            "/proc/%d/ns/%s", (int)st->pid, ns_table[k].proc);
                                        int fd = open(p, O_RDONLY | O_CLOEXEC);
                                        if (fd < 0) {
                                                r = berth_fail_errno(err, "open `%s`", p);
                                                goto out;
                                        }
                                        c.ns_fds[c.n_ns] = fd;
                                        c.ns_types[c.n_ns] = flag;
                                        c.n_ns++;
                                }
                        }
                }
        }
        if (o->console_socket) {
                c.console_fd = connect_console(o->console_socket, err);
                if (c.console_fd < 0) {
                        r = c.console_fd;
                        goto out;
                }
        }
        if (st->cgroup) {
                r = berth_cgroup_from_json(st->cgroup, NULL, &cg, err);
                if (r < 0)
                        goto out;
                r = berth_cgroup_attach_fds(cg, &c.cg_fds, &c.n_cg_fds, &c.cg_dirfd, err);
                if (r < 0)
                        goto out;
        }
        r = spawn_synced(&c, &sync_sock, &pid, &pidfd, err);
        if (r < 0)
                goto out;
        if (cg && c.cg_need_enter) {
                r = berth_cgroup_enter(cg, pid, err);
                if (r < 0)
                        goto kill_out;
        }
        r = sync_send(sync_sock, BERTH_SYNC_GO, "", "start the process", err);
        if (r < 0)
                goto kill_out;
        r = berth_sync_expect(sync_sock, BERTH_SYNC_READY, NULL, NULL, err);
        if (r < 0)
                goto kill_out;
        r = write_pid_file(o->pid_file, pid, err);
        if (r < 0)
                goto kill_out;
        r = sync_send(sync_sock, BERTH_SYNC_START, "", "start the process", err);
        if (r < 0)
                goto kill_out;
        r = berth_sync_wait_exec(sync_sock, err);
        if (r < 0) {
                (void)waitpid(pid, NULL, 0);
                goto out;
        }
        if (o->detach) {
                *ret_status = 0;
                r = 0;
                goto out;
        }
        close(sync_sock);
        sync_sock = -1;
        r = berth_proc_wait(pid, pidfd, ret_status, err);
        goto out;
kill_out:
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        (void)waitpid(pid, NULL, 0);
out:
        if (r < 0)
                berth_error_prefix(err, r, "exec in container `%s`", o->id);
        if (sync_sock >= 0)
                close(sync_sock);
        if (c.console_fd >= 0)
                close(c.console_fd);
        c.config = NULL;
        berth_proc_cfg_clear(&c);
        return r;
}
