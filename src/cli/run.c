/* SPDX-License-Identifier: Apache-2.0 */
/* run, create, start, attach: Docker's container flags -> the create body,
 * and the attach / wait / start ordering of `docker run`. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

struct copts {
        bool detach, interactive, tty, rm, read_only, privileged, init, no_healthcheck, sig_proxy;
        bool oom_kill_disable;
        const char *name, *user, *workdir, *entrypoint, *memory, *memory_swap, *memory_reservation,
            *cpus, *cpuset_cpus, *cpuset_mems, *hostname, *stop_signal, *restart, *health_cmd,
            *health_interval, *health_timeout, *health_start_period, *health_start_interval,
            *network, *log_driver, *detach_keys, *shm_size, *platform, *pull, *domainname, *ipc,
            *pid, *uts, *cgroupns;
        int64_t cpu_shares, pids_limit, stop_timeout, health_retries, cpu_period, cpu_quota,
            oom_score_adj;
        bool entrypoint_set, stop_timeout_set, pids_limit_set, health_retries_set, sig_proxy_set;
        char **env, **env_file, **volume, **tmpfs, **cap_add, **cap_drop, **security_opt,
            **group_add, **ulimit, **label, **publish, **expose, **attach, **log_opt, **dns,
            **add_host, **device, **sysctl, **mount;
};

#define COMMON_FLAGS(o)                                                                              \
        {0, "add-host", F_LIST, &(o).add_host, "Add a custom host-to-IP mapping (host:ip)", NULL},   \
            {'a', "attach", F_LIST, &(o).attach, "Attach to STDIN, STDOUT or STDERR", NULL},         \
            {0, "cap-add", F_LIST, &(o).cap_add, "Add Linux capabilities", NULL},                    \
            {0, "cap-drop", F_LIST, &(o).cap_drop, "Drop Linux capabilities", NULL},                 \
            {0,   "cgroupns", F_STRING, &(o).cgroupns, "Cgroup namespace to use (host|private)",     \
             NULL},                                                                                  \
            {0,                                                                                      \
             "cpu-period",                                                                           \
             F_INT,                                                                                  \
             &(o).cpu_period,                                                                        \
             "Limit CPU CFS (Completely Fair Scheduler) period",                                     \
             NULL},                                                                                  \
            {0,                                                                                      \
             "cpu-quota",                                                                            \
             F_INT,                                                                                  \
             &(o).cpu_quota,                                                                         \
             "Limit CPU CFS (Completely Fair Scheduler) quota",                                      \
             NULL},                                                                                  \
            {'c', "cpu-shares", F_INT, &(o).cpu_shares, "CPU shares (relative weight)", NULL},       \
            {0, "cpus", F_STRING, &(o).cpus, "Number of CPUs", NULL},                                \
            {0,                                                                                      \
             "cpuset-cpus",                                                                          \
             F_STRING,                                                                               \
             &(o).cpuset_cpus,                                                                       \
             "CPUs in which to allow execution (0-3, 0,1)",                                          \
             NULL},                                                                                  \
            {0,                                                                                      \
             "cpuset-mems",                                                                          \
             F_STRING,                                                                               \
             &(o).cpuset_mems,                                                                       \
             "MEMs in which to allow execution (0-3, 0,1)",                                          \
             NULL},                                                                                  \
            {0, "device", F_LIST, &(o).device, "Add a host device to the container", NULL},          \
            {0, "dns", F_LIST, &(o).dns, "Set custom DNS servers", NULL},                            \
            {0, "domainname", F_STRING, &(o).domainname, "Container NIS domain name", NULL},         \
            {0,                                                                                      \
             "entrypoint",                                                                           \
             F_STRING,                                                                               \
             &(o).entrypoint,                                                                        \
             "Overwrite the default ENTRYPOINT of the image",                                        \
             &(o).entrypoint_set},                                                                   \
            {'e', "env", F_LIST, &(o).env, "Set environment variables", NULL},                       \
            {0, "env-file", F_LIST, &(o).env_file, "Read in a file of environment variables", NULL}, \
            {0, "expose", F_LIST, &(o).expose, "Expose a port or a range of ports", NULL},           \
            {0, "group-add", F_LIST, &(o).group_add, "Add additional groups to join", NULL},         \
            {0, "health-cmd", F_STRING, &(o).health_cmd, "Command to run to check health", NULL},    \
            {0,                                                                                      \
             "health-interval",                                                                      \
             F_STRING,                                                                               \
             &(o).health_interval,                                                                   \
             "Time between running the check (ms|s|m|h) (default 0s)",                               \
             NULL},                                                                                  \
            {0,                                                                                      \
             "health-retries",                                                                       \
             F_INT,                                                                                  \
             &(o).health_retries,                                                                    \
             "Consecutive failures needed to report unhealthy",                                      \
             &(o).health_retries_set},                                                               \
            {0,                                                                                      \
             "health-start-interval",                                                                \
             F_STRING,                                                                               \
             &(o).health_start_interval,                                                             \
             "Time between running the check during the start period (ms|s|m|h) (default 0s)",       \
             NULL},                                                                                  \
            {0,                                                                                      \
             "health-start-period",                                                                  \
             F_STRING,                                                                               \
             &(o).health_start_period,                                                               \
             "Start period for the container to initialize before starting health-retries "          \
             "countdown (ms|s|m|h) (default 0s)",                                                    \
             NULL},                                                                                  \
            {0,                                                                                      \
             "health-timeout",                                                                       \
             F_STRING,                                                                               \
             &(o).health_timeout,                                                                    \
             "Maximum time to allow one check to run (ms|s|m|h) (default 0s)",                       \
             NULL},                                                                                  \
            {'h', "hostname", F_STRING, &(o).hostname, "Container host name", NULL},                 \
            {0,                                                                                      \
             "init",                                                                                 \
             F_BOOL,                                                                                 \
             &(o).init,                                                                              \
             "Run an init inside the container that forwards signals and reaps processes",           \
             NULL},                                                                                  \
            {'i', "interactive", F_BOOL, &(o).interactive, "Keep STDIN open even if not attached",   \
             NULL},                                                                                  \
            {0, "ipc", F_STRING, &(o).ipc, "IPC mode to use", NULL},                                 \
            {'l', "label", F_LIST, &(o).label, "Set meta data on a container", NULL},                \
            {0, "log-driver", F_STRING, &(o).log_driver, "Logging driver for the container", NULL},  \
            {0, "log-opt", F_LIST, &(o).log_opt, "Log driver options", NULL},                        \
            {'m', "memory", F_STRING, &(o).memory, "Memory limit", NULL}, {0,                        \
                                                                           "memory-reservation",     \
                                                                           F_STRING,                 \
                                                                           &(o).memory_reservation,  \
                                                                           "Memory soft limit",      \
                                                                           NULL},                    \
            {0,                                                                                      \
             "memory-swap",                                                                          \
             F_STRING,                                                                               \
             &(o).memory_swap,                                                                       \
             "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",                  \
             NULL},                                                                                  \
            {0, "mount", F_LIST, &(o).mount, "Attach a filesystem mount to the container", NULL},    \
            {0, "name", F_STRING, &(o).name, "Assign a name to the container", NULL},                \
            {0,                                                                                      \
             "network",                                                                              \
             F_STRING,                                                                               \
             &(o).network,                                                                           \
             "Connect a container to a network (host|none|bridge)",                                  \
             NULL},                                                                                  \
            {0,                                                                                      \
             "net",                                                                                  \
             F_STRING,                                                                               \
             &(o).network,                                                                           \
             "Connect a container to a network (host|none|bridge)",                                  \
             NULL},                                                                                  \
            {0,                                                                                      \
             "no-healthcheck",                                                                       \
             F_BOOL,                                                                                 \
             &(o).no_healthcheck,                                                                    \
             "Disable any container-specified HEALTHCHECK",                                          \
             NULL},                                                                                  \
            {0, "oom-kill-disable", F_BOOL, &(o).oom_kill_disable, "Disable OOM Killer", NULL},      \
            {0,                                                                                      \
             "oom-score-adj",                                                                        \
             F_INT,                                                                                  \
             &(o).oom_score_adj,                                                                     \
             "Tune host's OOM preferences (-1000 to 1000)",                                          \
             NULL},                                                                                  \
            {0, "pid", F_STRING, &(o).pid, "PID namespace to use", NULL},                            \
            {0,                                                                                      \
             "pids-limit",                                                                           \
             F_INT,                                                                                  \
             &(o).pids_limit,                                                                        \
             "Tune container pids limit (set -1 for unlimited)",                                     \
             &(o).pids_limit_set},                                                                   \
            {0,                                                                                      \
             "platform",                                                                             \
             F_STRING,                                                                               \
             &(o).platform,                                                                          \
             "Set platform if server is multi-platform capable",                                     \
             NULL},                                                                                  \
            {0,                                                                                      \
             "privileged",                                                                           \
             F_BOOL,                                                                                 \
             &(o).privileged,                                                                        \
             "Give extended privileges to this container",                                           \
             NULL},                                                                                  \
            {'p', "publish", F_LIST, &(o).publish, "Publish a container's port(s) to the host",      \
             NULL},                                                                                  \
            {0,                                                                                      \
             "pull",                                                                                 \
             F_STRING,                                                                               \
             &(o).pull,                                                                              \
             "Pull image before running (\"always\", \"missing\", \"never\") (default "              \
             "\"missing\")",                                                                         \
             NULL},                                                                                  \
            {0,                                                                                      \
             "read-only",                                                                            \
             F_BOOL,                                                                                 \
             &(o).read_only,                                                                         \
             "Mount the container's root filesystem as read only",                                   \
             NULL},                                                                                  \
            {0,                                                                                      \
             "restart",                                                                              \
             F_STRING,                                                                               \
             &(o).restart,                                                                           \
             "Restart policy to apply when a container exits (default \"no\")",                      \
             NULL},                                                                                  \
            {0,                                                                                      \
             "rm",                                                                                   \
             F_BOOL,                                                                                 \
             &(o).rm,                                                                                \
             "Automatically remove the container and its associated anonymous volumes when it "      \
             "exits",                                                                                \
             NULL},                                                                                  \
            {0, "security-opt", F_LIST, &(o).security_opt, "Security Options", NULL},                \
            {0, "shm-size", F_STRING, &(o).shm_size, "Size of /dev/shm", NULL},                      \
            {0, "stop-signal", F_STRING, &(o).stop_signal, "Signal to stop the container", NULL},    \
            {0,                                                                                      \
             "stop-timeout",                                                                         \
             F_INT,                                                                                  \
             &(o).stop_timeout,                                                                      \
             "Timeout (in seconds) to stop a container",                                             \
             &(o).stop_timeout_set},                                                                 \
            {0, "sysctl", F_LIST, &(o).sysctl, "Sysctl options", NULL},                              \
            {0, "tmpfs", F_LIST, &(o).tmpfs, "Mount a tmpfs directory", NULL},                       \
            {'t', "tty", F_BOOL, &(o).tty, "Allocate a pseudo-TTY", NULL},                           \
            {0, "ulimit", F_LIST, &(o).ulimit, "Ulimit options", NULL},                              \
            {'u', "user", F_STRING, &(o).user, "Username or UID (format: <name|uid>[:<group|gid>])", \
             NULL},                                                                                  \
            {0, "uts", F_STRING, &(o).uts, "UTS namespace to use", NULL},                            \
            {'v', "volume", F_LIST, &(o).volume, "Bind mount a volume", NULL},                       \
        {                                                                                            \
                'w', "workdir", F_STRING, &(o).workdir, "Working directory inside the container",    \
                    NULL                                                                             \
        }

/* Docker's RAMInBytes: "64m", "1.5g", "512k", "100" (bytes), "-1". */
static int parse_bytes(const char *flag, const char *v, int64_t *ret, berth_error **err)
{
        char *end;
        double x = strtod(v, &end);
        if (end == v || x < -1)
                return berth_fail(err, 0,
                                  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v,
                                  flag, v);
        double mult = 1;
        switch (tolower((unsigned char)*end)) {
        case 'k':
                mult = 1024.0;
                end++;
                break;
        case 'm':
                mult = 1024.0 * 1024;
                end++;
                break;
        case 'g':
                mult = 1024.0 * 1024 * 1024;
                end++;
                break;
        case 't':
                mult = 1024.0 * 1024 * 1024 * 1024;
                end++;
                break;
        case 'b':
        case '\0':
                break;
        default:
                return berth_fail(err, 0,
                                  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v,
                                  flag, v);
        }
        if (tolower((unsigned char)*end) == 'b' &&
            (end[1] == '\0' || tolower((unsigned char)end[1]) == 'b'))
                end++;
        if (*end != '\0')
                return berth_fail(err, 0,
                                  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v,
                                  flag, v);
        if (!(x * mult < 9.2e18)) /* NaN, inf, past int64: the cast is undefined */
                return berth_fail(err, 0,
                                  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v,
                                  flag, v);
        *ret = (int64_t)(x * mult);
        return 0;
}

/* Go durations -> nanoseconds. */
static int parse_go_duration(const char *flag, const char *v, int64_t *ret, berth_error **err)
{
        double total = 0;
        const char *p = v;
        if (strcmp(v, "0") == 0) {
                *ret = 0;
                return 0;
        }
        while (*p) {
                char *end;
                double x = strtod(p, &end);
                double mult;
                if (end == p)
                        goto bad;
                p = end;
                if (strncmp(p, "ms", 2) == 0) {
                        mult = 1e6;
                        p += 2;
                } else if (strncmp(p, "us", 2) == 0) {
                        mult = 1e3;
                        p += 2;
                } else if (strncmp(p, "ns", 2) == 0) {
                        mult = 1;
                        p += 2;
                } else if (*p == 'h') {
                        mult = 3600e9;
                        p++;
                } else if (*p == 'm') {
                        mult = 60e9;
                        p++;
                } else if (*p == 's') {
                        mult = 1e9;
                        p++;
                } else {
                        goto bad;
                }
                total += x * mult;
        }
        if (p == v)
                goto bad;
        if (!(total > -9.2e18 && total < 9.2e18))
                goto bad; /* NaN, inf, past int64: the cast is undefined */
        *ret = (int64_t)total;
        return 0;
bad:
        return berth_fail(
            err, 0, "invalid argument \"%s\" for \"--%s\" flag: time: invalid duration \"%s\"", v,
            flag, v);
}

static json_object *strv_json(char *const *v)
{
        json_object *a = json_object_new_array();
        for (; v && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static int read_env_file(const char *path, json_object *env, berth_error **err)
{
        cleanup_free char *data = NULL;
        int r = berth_read_file(path, &data, NULL, err);
        if (r < 0)
                return berth_fail(err, 0, "open %s: no such file or directory", path);
        for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                while (isspace((unsigned char)*line))
                        line++;
                size_t l = strlen(line);
                while (l > 0 && (line[l - 1] == '\r'))
                        line[--l] = '\0';
                if (*line == '\0' || *line == '#')
                        continue;
                if (strchr(line, '=') != NULL) {
                        json_object_array_add(env, json_object_new_string(line));
                } else if (getenv(line) != NULL) {
                        cleanup_free char *kv = xasprintf("%s=%s", line, getenv(line));
                        json_object_array_add(env, json_object_new_string(kv));
                }
        }
        return 0;
}

static int add_port(json_object *exposed, json_object *bindings, const char *spec,
                    berth_error **err)
{
        cleanup_free char *s = xstrdup(spec);
        char *proto = strrchr(s, '/');
        const char *pr = "tcp";
        if (proto) {
                *proto = '\0';
                pr = proto + 1;
        }
        /* [ip:][hostPort:]containerPort */
        char *parts[3] = {NULL, NULL, NULL};
        size_t n = 0;
        char *last = strrchr(s, ':');
        if (last == NULL) {
                parts[0] = s;
                n = 1;
        } else {
                *last = '\0';
                parts[0] = last + 1;
                char *ip_end = strrchr(s, ':');
                if (ip_end) {
                        *ip_end = '\0';
                        parts[1] = ip_end + 1;
                        parts[2] = s;
                        n = 3;
                } else {
                        parts[1] = s;
                        n = 2;
                }
        }
        if (*parts[0] == '\0' || strspn(parts[0], "0123456789-") != strlen(parts[0]))
                return berth_fail(err, 0, "invalid containerPort: %s", parts[0]);
        cleanup_free char *key = xasprintf("%s/%s", parts[0], pr);
        json_object_object_add(exposed, key, json_object_new_object());
        if (bindings == NULL)
                return 0;
        json_object *arr = NULL;
        if (!json_object_object_get_ex(bindings, key, &arr)) {
                arr = json_object_new_array();
                json_object_object_add(bindings, key, arr);
        }
        json_object *b = json_object_new_object();
        json_object_object_add(b, "HostIp", json_object_new_string(n == 3 ? parts[2] : ""));
        json_object_object_add(b, "HostPort", json_object_new_string(n >= 2 ? parts[1] : ""));
        json_object_array_add(arr, b);
        return 0;
}

/* Build the body of POST /containers/create from the flags and the
 * positionals IMAGE [COMMAND...]. */
static int build_create(struct copts *o, char **args, json_object **ret, berth_error **err)
{
        cleanup_json json_object *cfg = json_object_new_object();
        json_object *hc = json_object_new_object();
        json_object *env = json_object_new_array();
        bool att_in = o->interactive, att_out = true, att_err = true;
        int64_t v;
        int r;

        if (o->attach) {
                att_in = att_out = att_err = false;
                for (char **a = o->attach; *a; a++) {
                        if (strcasecmp(*a, "stdin") == 0)
                                att_in = true;
                        else if (strcasecmp(*a, "stdout") == 0)
                                att_out = true;
                        else if (strcasecmp(*a, "stderr") == 0)
                                att_err = true;
                        else {
                                json_object_put(hc);
                                json_object_put(env);
                                return berth_fail(
                                    err, 0,
                                    "invalid argument \"%s\" for \"-a, --attach\" flag: valid "
                                    "streams are STDIN, STDOUT and STDERR",
                                    *a);
                        }
                }
        }
        if (o->detach)
                att_in = att_out = att_err = false;
        json_object_object_add(cfg, "Hostname",
                               json_object_new_string(o->hostname ? o->hostname : ""));
        json_object_object_add(cfg, "Domainname",
                               json_object_new_string(o->domainname ? o->domainname : ""));
        json_object_object_add(cfg, "User", json_object_new_string(o->user ? o->user : ""));
        json_object_object_add(cfg, "AttachStdin", json_object_new_boolean(att_in));
        json_object_object_add(cfg, "AttachStdout", json_object_new_boolean(att_out));
        json_object_object_add(cfg, "AttachStderr", json_object_new_boolean(att_err));
        json_object_object_add(cfg, "Tty", json_object_new_boolean(o->tty));
        json_object_object_add(cfg, "OpenStdin", json_object_new_boolean(o->interactive));
        json_object_object_add(cfg, "StdinOnce",
                               json_object_new_boolean(o->interactive && !o->detach));
        json_object_object_add(cfg, "HostConfig", hc);
        for (char **f = o->env_file; f && *f; f++)
                if ((r = read_env_file(*f, env, err)) < 0) {
                        json_object_put(env);
                        return r;
                }
        for (char **e = o->env; e && *e; e++) {
                if (strchr(*e, '=') != NULL) {
                        json_object_array_add(env, json_object_new_string(*e));
                } else if (getenv(*e) != NULL) {
                        cleanup_free char *kv = xasprintf("%s=%s", *e, getenv(*e));
                        json_object_array_add(env, json_object_new_string(kv));
                }
        }
        json_object_object_add(cfg, "Env", env);
        if (args[1] != NULL)
                json_object_object_add(cfg, "Cmd", strv_json(args + 1));
        json_object_object_add(cfg, "Image", json_object_new_string(args[0]));
        if (o->workdir)
                json_object_object_add(cfg, "WorkingDir", json_object_new_string(o->workdir));
        if (o->entrypoint_set) {
                json_object *ep = json_object_new_array();
                json_object_array_add(ep, json_object_new_string(o->entrypoint));
                json_object_object_add(cfg, "Entrypoint", ep);
        }
        json_object *labels = json_object_new_object();
        for (char **l = o->label; l && *l; l++) {
                char *eq = strchr(*l, '=');
                cleanup_free char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
                json_object_object_add(labels, k, json_object_new_string(eq ? eq + 1 : ""));
        }
        json_object_object_add(cfg, "Labels", labels);
        if (o->stop_signal)
                json_object_object_add(cfg, "StopSignal", json_object_new_string(o->stop_signal));
        if (o->stop_timeout_set)
                json_object_object_add(cfg, "StopTimeout", json_object_new_int64(o->stop_timeout));
        /* health check */
        if (o->no_healthcheck || o->health_cmd || o->health_interval || o->health_timeout ||
            o->health_start_period || o->health_retries_set || o->health_start_interval) {
                json_object *h = json_object_new_object();
                json_object_object_add(cfg, "Healthcheck", h);
                if (o->no_healthcheck) {
                        if (o->health_cmd || o->health_interval || o->health_timeout ||
                            o->health_retries_set)
                                return berth_fail(
                                    err, 0, "--no-healthcheck conflicts with --health-* options");
                        json_object *t = json_object_new_array();
                        json_object_array_add(t, json_object_new_string("NONE"));
                        json_object_object_add(h, "Test", t);
                } else {
                        if (o->health_cmd) {
                                json_object *t = json_object_new_array();
                                json_object_array_add(t, json_object_new_string("CMD-SHELL"));
                                json_object_array_add(t, json_object_new_string(o->health_cmd));
                                json_object_object_add(h, "Test", t);
                        }
                        struct {
                                const char *flag, *val, *key;
                        } durs[] = {
                            {"health-interval", o->health_interval, "Interval"},
                            {"health-timeout", o->health_timeout, "Timeout"},
                            {"health-start-period", o->health_start_period, "StartPeriod"},
                            {"health-start-interval", o->health_start_interval, "StartInterval"}};
                        for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
                                if (durs[i].val == NULL)
                                        continue;
                                if ((r = parse_go_duration(durs[i].flag, durs[i].val, &v, err)) < 0)
                                        return r;
                                if (v < 0)
                                        return berth_fail(err, 0, "--%s cannot be negative",
                                                          durs[i].flag);
                                json_object_object_add(h, durs[i].key, json_object_new_int64(v));
                        }
                        if (o->health_retries_set) {
                                if (o->health_retries < 0)
                                        return berth_fail(err, 0,
                                                          "--health-retries cannot be negative");
                                json_object_object_add(h, "Retries",
                                                       json_object_new_int64(o->health_retries));
                        }
                }
        }
        /* ports */
        json_object *exposed = json_object_new_object();
        json_object *bindings = json_object_new_object();
        json_object_object_add(cfg, "ExposedPorts", exposed);
        json_object_object_add(hc, "PortBindings", bindings);
        for (char **p = o->publish; p && *p; p++)
                if ((r = add_port(exposed, bindings, *p, err)) < 0)
                        return r;
        for (char **p = o->expose; p && *p; p++)
                if ((r = add_port(exposed, NULL, *p, err)) < 0)
                        return r;
        /* volumes: anonymous ones into Config.Volumes, the rest as Binds */
        json_object *vols = json_object_new_object();
        json_object *binds = json_object_new_array();
        json_object_object_add(cfg, "Volumes", vols);
        json_object_object_add(hc, "Binds", binds);
        for (char **b = o->volume; b && *b; b++) {
                if (strchr(*b, ':') == NULL)
                        json_object_object_add(vols, *b, json_object_new_object());
                else
                        json_object_array_add(binds, json_object_new_string(*b));
        }
        if (o->tmpfs) {
                json_object *t = json_object_new_object();
                for (char **p = o->tmpfs; *p; p++) {
                        char *colon = strchr(*p, ':');
                        cleanup_free char *dst =
                            colon ? xstrndup(*p, (size_t)(colon - *p)) : xstrdup(*p);
                        json_object_object_add(t, dst,
                                               json_object_new_string(colon ? colon + 1 : ""));
                }
                json_object_object_add(hc, "Tmpfs", t);
        }
        /* resources */
        if (o->memory) {
                if ((r = parse_bytes("-m, --memory", o->memory, &v, err)) < 0)
                        return r;
                json_object_object_add(hc, "Memory", json_object_new_int64(v));
        }
        if (o->memory_swap) {
                if (strcmp(o->memory_swap, "-1") == 0)
                        v = -1;
                else if ((r = parse_bytes("--memory-swap", o->memory_swap, &v, err)) < 0)
                        return r;
                json_object_object_add(hc, "MemorySwap", json_object_new_int64(v));
        }
        if (o->memory_reservation) {
                if ((r = parse_bytes("--memory-reservation", o->memory_reservation, &v, err)) < 0)
                        return r;
                json_object_object_add(hc, "MemoryReservation", json_object_new_int64(v));
        }
        if (o->shm_size) {
                if ((r = parse_bytes("--shm-size", o->shm_size, &v, err)) < 0)
                        return r;
                json_object_object_add(hc, "ShmSize", json_object_new_int64(v));
        }
        json_object_object_add(hc, "MemorySwappiness", json_object_new_int64(-1));
        if (o->cpus) {
                char *end;
                double c = strtod(o->cpus, &end);
                if (end == o->cpus || *end != '\0' || !(c >= 0 && c < 9.2e9))
                        return berth_fail(err, 0,
                                          "invalid argument \"%s\" for \"--cpus\" flag: failed to "
                                          "parse %s as a rational number",
                                          o->cpus, o->cpus);
                json_object_object_add(hc, "NanoCpus",
                                       json_object_new_int64((int64_t)(c * 1e9 + 0.5)));
        }
        if (o->cpu_shares)
                json_object_object_add(hc, "CpuShares", json_object_new_int64(o->cpu_shares));
        if (o->cpu_period)
                json_object_object_add(hc, "CpuPeriod", json_object_new_int64(o->cpu_period));
        if (o->cpu_quota)
                json_object_object_add(hc, "CpuQuota", json_object_new_int64(o->cpu_quota));
        if (o->cpuset_cpus)
                json_object_object_add(hc, "CpusetCpus", json_object_new_string(o->cpuset_cpus));
        if (o->cpuset_mems)
                json_object_object_add(hc, "CpusetMems", json_object_new_string(o->cpuset_mems));
        if (o->pids_limit_set)
                json_object_object_add(hc, "PidsLimit", json_object_new_int64(o->pids_limit));
        if (o->oom_kill_disable)
                json_object_object_add(hc, "OomKillDisable", json_object_new_boolean(true));
        if (o->oom_score_adj)
                json_object_object_add(hc, "OomScoreAdj", json_object_new_int64(o->oom_score_adj));
        if (o->ulimit) {
                json_object *ul = json_object_new_array();
                json_object_object_add(hc, "Ulimits", ul);
                for (char **u = o->ulimit; *u; u++) {
                        char *eq = strchr(*u, '=');
                        long long soft, hard;
                        char *end;
                        if (eq == NULL)
                                return berth_fail(err, 0,
                                                  "invalid argument \"%s\" for \"--ulimit\" flag: "
                                                  "invalid ulimit argument: %s",
                                                  *u, *u);
                        soft = strtoll(eq + 1, &end, 10);
                        hard = soft;
                        if (*end == ':')
                                hard = strtoll(end + 1, &end, 10);
                        if (*end != '\0')
                                return berth_fail(err, 0,
                                                  "invalid argument \"%s\" for \"--ulimit\" flag: "
                                                  "invalid ulimit argument: %s",
                                                  *u, *u);
                        json_object *e = json_object_new_object();
                        cleanup_free char *name = xstrndup(*u, (size_t)(eq - *u));
                        json_object_object_add(e, "Name", json_object_new_string(name));
                        json_object_object_add(e, "Soft", json_object_new_int64(soft));
                        json_object_object_add(e, "Hard", json_object_new_int64(hard));
                        json_object_array_add(ul, e);
                }
        }
        /* security */
        if (o->cap_add)
                json_object_object_add(hc, "CapAdd", strv_json(o->cap_add));
        if (o->cap_drop)
                json_object_object_add(hc, "CapDrop", strv_json(o->cap_drop));
        if (o->security_opt)
                json_object_object_add(hc, "SecurityOpt", strv_json(o->security_opt));
        if (o->group_add)
                json_object_object_add(hc, "GroupAdd", strv_json(o->group_add));
        if (o->dns)
                json_object_object_add(hc, "Dns", strv_json(o->dns));
        if (o->add_host)
                json_object_object_add(hc, "ExtraHosts", strv_json(o->add_host));
        if (o->sysctl) {
                json_object *s = json_object_new_object();
                for (char **p = o->sysctl; *p; p++) {
                        char *eq = strchr(*p, '=');
                        cleanup_free char *k = eq ? xstrndup(*p, (size_t)(eq - *p)) : xstrdup(*p);
                        json_object_object_add(s, k, json_object_new_string(eq ? eq + 1 : ""));
                }
                json_object_object_add(hc, "Sysctls", s);
        }
        if (o->privileged)
                json_object_object_add(hc, "Privileged", json_object_new_boolean(true));
        if (o->read_only)
                json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(true));
        if (o->init)
                json_object_object_add(hc, "Init", json_object_new_boolean(true));
        if (o->ipc)
                json_object_object_add(hc, "IpcMode", json_object_new_string(o->ipc));
        if (o->pid)
                json_object_object_add(hc, "PidMode", json_object_new_string(o->pid));
        if (o->uts)
                json_object_object_add(hc, "UTSMode", json_object_new_string(o->uts));
        if (o->cgroupns)
                json_object_object_add(hc, "CgroupnsMode", json_object_new_string(o->cgroupns));
        json_object_object_add(hc, "NetworkMode",
                               json_object_new_string(o->network ? o->network : "default"));
        json_object_object_add(hc, "AutoRemove", json_object_new_boolean(o->rm));
        /* restart policy */
        json_object *rp = json_object_new_object();
        json_object_object_add(hc, "RestartPolicy", rp);
        {
                const char *pol = o->restart ? o->restart : "no";
                const char *colon = strchr(pol, ':');
                cleanup_free char *name =
                    colon ? xstrndup(pol, (size_t)(colon - pol)) : xstrdup(pol);
                int64_t max = 0;
                if (strcmp(name, "no") != 0 && strcmp(name, "always") != 0 &&
                    strcmp(name, "unless-stopped") != 0 && strcmp(name, "on-failure") != 0)
                        return berth_fail(err, 0,
                                          "invalid restart policy: unknown policy '%s'; use one of "
                                          "'no', 'always', 'on-failure', or 'unless-stopped'",
                                          name);
                if (colon && (strcmp(name, "on-failure") != 0 ||
                              berth_parse_int64(colon + 1, &max) < 0 || max < 0))
                        return berth_fail(err, 0,
                                          "invalid restart policy format: maximum retry count must "
                                          "be a positive integer");
                if (o->rm && strcmp(name, "no") != 0)
                        return berth_fail(err, 0, "Conflicting options: --restart and --rm");
                json_object_object_add(rp, "Name", json_object_new_string(name));
                json_object_object_add(rp, "MaximumRetryCount", json_object_new_int64(max));
        }
        /* logging */
        json_object *lc = json_object_new_object();
        json_object_object_add(hc, "LogConfig", lc);
        json_object_object_add(lc, "Type",
                               json_object_new_string(o->log_driver ? o->log_driver : ""));
        json_object *lopts = json_object_new_object();
        json_object_object_add(lc, "Config", lopts);
        for (char **p = o->log_opt; p && *p; p++) {
                char *eq = strchr(*p, '=');
                if (eq == NULL)
                        return berth_fail(err, 0,
                                          "invalid argument \"%s\" for \"--log-opt\" flag: invalid "
                                          "key value pair format",
                                          *p);
                cleanup_free char *k = xstrndup(*p, (size_t)(eq - *p));
                json_object_object_add(lopts, k, json_object_new_string(eq + 1));
        }
        unsigned rows = 0, cols = 0;
        if (o->tty && tty_size(&rows, &cols)) { /* (docker sends [0,0] when unknown) */
                json_object *cs = json_object_new_array();
                json_object_array_add(cs, json_object_new_int64(rows));
                json_object_array_add(cs, json_object_new_int64(cols));
                json_object_object_add(hc, "ConsoleSize", cs);
        }
        json_object *nc = json_object_new_object(), *eps = json_object_new_object();
        json_object_object_add(eps, o->network ? o->network : "default", json_object_new_object());
        json_object_object_add(nc, "EndpointsConfig", eps);
        json_object_object_add(cfg, "NetworkingConfig", nc);
        *ret = steal_pointer(&cfg);
        return 0;
}

/* Docker's exit status for a failed start: 126/127 for exec problems. */
static int start_error_code(const berth_error *err)
{
        if (err == NULL)
                return EXIT_DAEMON;
        if (strstr(err->msg, "executable file not found") ||
            strstr(err->msg, "no such file or directory") ||
            strstr(err->msg, "No such file or directory"))
                return EXIT_NOT_FOUND;
        if (strstr(err->msg, "permission denied") || strstr(err->msg, "Permission denied"))
                return EXIT_CANNOT_EXEC;
        return EXIT_DAEMON;
}

static int create_container(struct api_cli *c, struct copts *o, char **args, char **ret_id,
                            berth_error **err)
{
        cleanup_json json_object *body = NULL, *resp = NULL;
        cleanup_free char *path = NULL;
        int r = build_create(o, args, &body, err);
        if (r < 0)
                return r;
        if (o->name) {
                cleanup_free char *n = berth_url_escape(o->name);
                path = xasprintf("/containers/create?name=%s", n);
        } else {
                path = xstrdup("/containers/create");
        }
        r = berth_client_call(c->client, "POST", path, body, &resp, err);
        if (r < 0) {
                if (err && *err && strstr((*err)->msg, "No such image") != NULL)
                        fprintf(stderr, "Unable to find image '%s' locally\n", args[0]);
                return r;
        }
        const char *id = berth_json_str(resp, "Id");
        if (id == NULL)
                return berth_fail(err, EPROTO, "the daemon did not return an Id");
        json_object *warn = berth_json_get(resp, "Warnings");
        for (size_t i = 0; warn && json_object_is_type(warn, json_type_array) &&
                           i < json_object_array_length(warn);
             i++)
                fprintf(stderr, "WARNING: %s\n",
                        json_object_get_string(json_object_array_get_idx(warn, i)));
        *ret_id = xstrdup(id);
        return 0;
}

int attach_container(struct api_cli *c, const char *id, bool with_stdin, bool logs,
                     struct berth_response **ret, berth_error **err)
{
        cleanup_free char *path =
            xasprintf("/containers/%s/attach?%sstderr=1%s&stdout=1&stream=1", id,
                      logs ? "logs=1&" : "", with_stdin ? "&stdin=1" : "");
        struct berth_request req = {.body_fd = -1, .upgrade = true, .content_type = "text/plain"};
        struct berth_response *r = NULL;
        int k = berth_client_request(c->client, "POST", path, &req, &r, err);
        if (k < 0)
                return k;
        if (berth_response_status(r) != 101 && berth_response_status(r) != 200) {
                k = berth_response_check(r, err);
                berth_response_free(r);
                return k < 0 ? k
                             : berth_fail(err, EPROTO, "attach: unexpected status from the daemon");
        }
        *ret = r;
        return 0;
}

/* "ctrl-p,ctrl-q" -> "\x10\x11". */
static char *detach_sequence(const char *spec)
{
        cleanup_free char *s = xstrdup(spec ? spec : "ctrl-p,ctrl-q");
        char *out = xmalloc(strlen(s) + 1), *o = out;
        for (char *save = NULL, *k = strtok_r(s, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
                if (strncmp(k, "ctrl-", 5) == 0 && k[5] && !k[6]) {
                        char ch = k[5];
                        if (ch >= 'a' && ch <= 'z')
                                *o++ = (char)(ch - 'a' + 1);
                        else if (ch == '@')
                                *o++ = 0;
                        else if (ch >= '[' && ch <= '_')
                                *o++ = (char)(ch - '[' + 27);
                } else if (strlen(k) == 1) {
                        *o++ = k[0];
                }
        }
        *o = '\0';
        return out;
}

/* Exit status from a wait response ({"StatusCode":N,"Error":...}). */
static int wait_result(struct berth_response *w, int *ret_code, berth_error **err)
{
        cleanup_json json_object *o = NULL;
        int k = berth_response_head(w, err);
        if (k < 0)
                return k;
        if ((k = berth_response_check(w, err)) < 0)
                return k;
        if ((k = berth_response_json(w, &o, err)) < 0)
                return k;
        json_object *e = berth_json_get(o, "Error");
        if (e != NULL && berth_json_str(e, "Message") && *berth_json_str(e, "Message"))
                return berth_fail(err, 0, "%s", berth_json_str(e, "Message"));
        *ret_code = (int)berth_json_int(o, "StatusCode", 0);
        return 0;
}

static int run_or_create(struct api_cli *c, int argc, char **argv, bool run)
{
        struct copts o = {.sig_proxy = true};
        const struct flag run_flags[] = {
            COMMON_FLAGS(o),
            {'d', "detach", F_BOOL, &o.detach, "Run container in background and print container ID",
             NULL},
            {0, "detach-keys", F_STRING, &o.detach_keys,
             "Override the key sequence for detaching a container", NULL},
            {0, "sig-proxy", F_BOOL, &o.sig_proxy,
             "Proxy received signals to the process (default true)", NULL},
        };
        const struct command cmd = {
            .name = run ? "run" : "create",
            .usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
            .desc = run ? "Create and run a new container from an image" : "Create a new container",
            .min_args = 1,
            .max_args = -1,
            .stop_at_first_arg = true,
            .aliases =
                run ? "berth container run, berth run" : "berth container create, berth create",
            .flags = run_flags,
            .nflags = sizeof(run_flags) / sizeof(run_flags[0]) - (run ? 0 : 3),
        };
        cleanup_free char **args = NULL;
        cleanup_free char *id = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *att = NULL, *wait = NULL;
        int ex = 0, code = 0;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        int rc = 0;
        if (o.detach && o.rm && false)
                rc = 0;
        if (api_client(c) == NULL) {
                flags_free_lists(&cmd);
                return EXIT_DAEMON;
        }
        if (create_container(c, &o, args, &id, &err) < 0) {
                flags_free_lists(&cmd);
                return api_fail(&err, EXIT_DAEMON);
        }
        if (!run) {
                printf("%s\n", id);
                flags_free_lists(&cmd);
                return 0;
        }
        bool attach = !o.detach;
        bool att_in = o.interactive && !o.detach;
        if (o.attach) {
                att_in = false;
                for (char **a = o.attach; *a; a++)
                        att_in = att_in || strcasecmp(*a, "stdin") == 0;
        }
        if (attach && attach_container(c, id, att_in, false, &att, &err) < 0) {
                flags_free_lists(&cmd);
                return api_fail(&err, EXIT_DAEMON);
        }
        if (attach && o.sig_proxy && !o.tty)
                sig_proxy_start(c, id);
        {
                cleanup_free char *wp = xasprintf("/containers/%s/wait?condition=%s", id,
                                                  o.rm ? "removed" : "next-exit");
                if (berth_client_send(c->client, "POST", wp, NULL, &wait, &err) < 0) {
                        flags_free_lists(&cmd);
                        return api_fail(&err, EXIT_DAEMON);
                }
        }
        cleanup_free char *sp = xasprintf("/containers/%s/start", id);
        if (berth_client_call(c->client, "POST", sp, NULL, NULL, &err) < 0) {
                int st = start_error_code(err);
                flags_free_lists(&cmd);
                if (o.rm) {
                        cleanup_free char *dp = xasprintf("/containers/%s?force=1", id);
                        cleanup_error berth_error *e2 = NULL;
                        (void)berth_client_call(c->client, "DELETE", dp, NULL, NULL, &e2);
                }
                return api_fail(&err, st);
        }
        if (o.detach) {
                printf("%s\n", id);
                flags_free_lists(&cmd);
                return 0;
        }
        bool raw = o.tty && att_in && tty_raw_begin() == 0;
        if (o.tty) {
                cleanup_free char *rp = xasprintf("/containers/%s/resize", id);
                tty_resize_follow(c, rp);
        }
        cleanup_free char *keys = detach_sequence(o.detach_keys);
        rc = berth_hijack_pump(att, att_in ? STDIN_FILENO : -1, o.tty, STDOUT_FILENO, STDERR_FILENO,
                               raw ? keys : NULL, &err);
        if (raw)
                tty_raw_end();
        flags_free_lists(&cmd);
        if (rc == 1)
                return 0; /* detached */
        if (rc < 0 && berth_error_status(err) != EPIPE)
                return api_fail(&err, EXIT_DAEMON);
        berth_error_freep(&err);
        if (wait_result(wait, &code, &err) < 0)
                return api_fail(&err, EXIT_DAEMON);
        return code;
}

int cmd_run(struct api_cli *c, int argc, char **argv)
{
        return run_or_create(c, argc, argv, true);
}

int cmd_create(struct api_cli *c, int argc, char **argv)
{
        return run_or_create(c, argc, argv, false);
}

int inspect_container(struct api_cli *c, const char *name, json_object **ret, berth_error **err)
{
        cleanup_free char *n = berth_url_escape(name);
        cleanup_free char *p = xasprintf("/containers/%s/json", n);
        return berth_client_call(c->client, "GET", p, NULL, ret, err);
}

int cmd_start(struct api_cli *c, int argc, char **argv)
{
        bool att = false, in = false;
        const char *keys = NULL;
        const struct flag flags[] = {
            {'a', "attach", F_BOOL, &att, "Attach STDOUT/STDERR and forward signals", NULL},
            {0, "detach-keys", F_STRING, &keys,
             "Override the key sequence for detaching a container", NULL},
            {'i', "interactive", F_BOOL, &in, "Attach container's STDIN", NULL},
        };
        const struct command cmd = {"start",
                                    "[OPTIONS] CONTAINER [CONTAINER...]",
                                    "Start one or more stopped containers",
                                    1,
                                    -1,
                                    false,
                                    "berth container start, berth start",
                                    flags,
                                    3};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        int ex = 0, rc = 0;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (att || in) {
                cleanup_json json_object *info = NULL;
                cleanup_response struct berth_response *r = NULL, *w = NULL;
                if (args[1] != NULL) {
                        fprintf(stderr,
                                "you cannot start and attach multiple containers at once\n");
                        return 1;
                }
                if (inspect_container(c, args[0], &info, &err) < 0)
                        return api_fail(&err, 1);
                const char *id = berth_json_str(info, "Id");
                json_object *cfg = berth_json_get(info, "Config");
                bool tty = berth_json_bool(cfg, "Tty", false);
                bool open_stdin = in && berth_json_bool(cfg, "OpenStdin", false);
                if (attach_container(c, id, open_stdin, false, &r, &err) < 0)
                        return api_fail(&err, 1);
                if (!tty)
                        sig_proxy_start(c, id);
                cleanup_free char *wp = xasprintf("/containers/%s/wait?condition=next-exit", id);
                if (berth_client_send(c->client, "POST", wp, NULL, &w, &err) < 0)
                        return api_fail(&err, 1);
                cleanup_free char *sp = xasprintf("/containers/%s/start", id);
                if (berth_client_call(c->client, "POST", sp, NULL, NULL, &err) < 0)
                        return api_fail(&err, 1);
                bool raw = tty && open_stdin && tty_raw_begin() == 0;
                if (tty) {
                        cleanup_free char *rp = xasprintf("/containers/%s/resize", id);
                        tty_resize_follow(c, rp);
                }
                cleanup_free char *seq = detach_sequence(keys);
                rc = berth_hijack_pump(r, open_stdin ? STDIN_FILENO : -1, tty, STDOUT_FILENO,
                                       STDERR_FILENO, raw ? seq : NULL, &err);
                if (raw)
                        tty_raw_end();
                if (rc == 1)
                        return 0;
                berth_error_freep(&err);
                int code = 0;
                if (wait_result(w, &code, &err) < 0)
                        return api_fail(&err, 1);
                return code;
        }
        for (char **a = args; *a; a++) {
                cleanup_free char *n = berth_url_escape(*a);
                cleanup_free char *p = xasprintf("/containers/%s/start", n);
                if (berth_client_call(c->client, "POST", p, NULL, NULL, &err) < 0) {
                        fprintf(stderr, "%s\n", err->msg);
                        berth_error_freep(&err);
                        rc = 1;
                        continue;
                }
                printf("%s\n", *a);
        }
        if (rc)
                fprintf(stderr, "Error: failed to start containers: ");
        if (rc) {
                for (char **a = args; *a; a++)
                        fprintf(stderr, "%s%s", *a, a[1] ? ", " : "\n");
        }
        return rc;
}

int cmd_attach(struct api_cli *c, int argc, char **argv)
{
        bool no_stdin = false, sig_proxy = true;
        const char *keys = NULL;
        const struct flag flags[] = {
            {0, "detach-keys", F_STRING, &keys,
             "Override the key sequence for detaching a container", NULL},
            {0, "no-stdin", F_BOOL, &no_stdin, "Do not attach STDIN", NULL},
            {0, "sig-proxy", F_BOOL, &sig_proxy,
             "Proxy all received signals to the process (default true)", NULL},
        };
        const struct command cmd = {
            "attach",
            "[OPTIONS] CONTAINER",
            "Attach local standard input, output, and error streams to a running container",
            1,
            1,
            false,
            "berth container attach, berth attach",
            flags,
            3};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *info = NULL, *after = NULL;
        cleanup_response struct berth_response *r = NULL;
        int ex = 0;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (inspect_container(c, args[0], &info, &err) < 0)
                return api_fail(&err, 1);
        json_object *state = berth_json_get(info, "State");
        if (!berth_json_bool(state, "Running", false)) {
                fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
                return 1;
        }
        if (berth_json_bool(state, "Paused", false)) {
                fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
                return 1;
        }
        const char *id = berth_json_str(info, "Id");
        json_object *cfg = berth_json_get(info, "Config");
        bool tty = berth_json_bool(cfg, "Tty", false);
        bool in = !no_stdin && berth_json_bool(cfg, "OpenStdin", false);
        if (attach_container(c, id, in, false, &r, &err) < 0)
                return api_fail(&err, 1);
        if (sig_proxy && !tty)
                sig_proxy_start(c, id);
        bool raw = tty && in && tty_raw_begin() == 0;
        if (tty) {
                cleanup_free char *rp = xasprintf("/containers/%s/resize", id);
                tty_resize_follow(c, rp);
        }
        cleanup_free char *seq = detach_sequence(keys);
        int rc = berth_hijack_pump(r, in ? STDIN_FILENO : -1, tty, STDOUT_FILENO, STDERR_FILENO,
                                   raw ? seq : NULL, &err);
        if (raw)
                tty_raw_end();
        if (rc == 1) {
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        berth_error_freep(&err);
        if (inspect_container(c, id, &after, &err) < 0)
                return 0;
        return (int)berth_json_int(berth_json_get(after, "State"), "ExitCode", 0);
}
