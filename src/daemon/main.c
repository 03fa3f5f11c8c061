/* SPDX-License-Identifier: Apache-2.0 */
/* berthd: the daemon. dockerd's flags and daemon.json keys for the same
 * things; opens the engine (which re-adopts running containers), serves
 * the API on every -H, and stops on SIGTERM/SIGINT leaving containers
 * running. SIGHUP reloads the log level from the configuration file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "berth-version.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#ifdef BERTH_API_HAVE_ENGINE
#include "engine/engine.h"
#endif

#define DEFAULT_CONFIG "/etc/berth/daemon.json"

struct opts {
        char **hosts;
        size_t n_hosts;
        char *data_root, *exec_root, *pidfile, *config_file, *group, *shim_path;
        char *log_level;
        bool debug;
        bool tls, tlsverify;
        char *tlscacert, *tlscert, *tlskey;
        json_object *log_opts, *default_ulimits, *insecure_registries;
        /* what the command line set (a key also in daemon.json is an error) */
        char *flags_set[32];
        size_t n_flags_set;
};

static enum berth_api_log_level current_level = BERTH_API_LOG_INFO;

static void log_line(void *ctx, enum berth_api_log_level level, const char *msg)
{
        static const char *const names[] = {"error", "warning", "info", "debug"};
        cleanup_free char *ts = berth_time_now_rfc3339nano();
        fprintf(stderr, "time=\"%s\" level=%s msg=\"%s\"\n", ts, names[level], msg);
}

static void logf_(enum berth_api_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(enum berth_api_log_level level, const char *fmt, ...)
{
        if (level > current_level)
                return;
        va_list ap;
        va_start(ap, fmt);
        cleanup_free char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        log_line(NULL, level, msg);
}

static int parse_level(const char *s, enum berth_api_log_level *ret)
{
        if (strcmp(s, "debug") == 0 || strcmp(s, "trace") == 0)
                *ret = BERTH_API_LOG_DEBUG;
        else if (strcmp(s, "info") == 0)
                *ret = BERTH_API_LOG_INFO;
        else if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0)
                *ret = BERTH_API_LOG_WARN;
        else if (strcmp(s, "error") == 0 || strcmp(s, "fatal") == 0 || strcmp(s, "panic") == 0)
                *ret = BERTH_API_LOG_ERROR;
        else
                return -EINVAL;
        return 0;
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: berthd [OPTIONS]\n\n"
                "A self-sufficient runtime for containers (the Docker Engine API).\n\n"
                "Options:\n"
                "      --config-file string   Daemon configuration file (default \"" DEFAULT_CONFIG
                "\")\n"
                "      --data-root string     Root directory of persistent state (default "
                "\"/var/lib/berth\")\n"
                "  -D, --debug                Enable debug mode\n"
                "      --exec-root string     Root directory for execution state files (default "
                "\"/run/berth\")\n"
                "  -G, --group string         Group for the unix socket (default \"berth\")\n"
                "  -H, --host list            Daemon socket(s) to connect to (default "
                "unix:///run/berth.sock)\n"
                "  -l, --log-level string     Set the logging level "
                "(\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")\n"
                "  -p, --pidfile string       Path to use for daemon PID file (default "
                "\"/run/berthd.pid\")\n"
                "      --shim-path string     The berth-shim binary (default: next to berthd)\n"
                "      --tls                  Use TLS; implied by --tlsverify\n"
                "      --tlscacert string     Trust certs signed only by this CA\n"
                "      --tlscert string       Path to TLS certificate file\n"
                "      --tlskey string        Path to TLS key file\n"
                "      --tlsverify            Use TLS and verify the remote\n"
                "  -v, --version              Print version information and quit\n");
}

static void opts_clear(struct opts *o)
{
        for (size_t i = 0; i < o->n_hosts; i++)
                free(o->hosts[i]);
        free(o->hosts);
        free(o->data_root);
        free(o->exec_root);
        free(o->pidfile);
        free(o->config_file);
        free(o->group);
        free(o->shim_path);
        free(o->log_level);
        free(o->tlscacert);
        free(o->tlscert);
        free(o->tlskey);
        if (o->log_opts)
                json_object_put(o->log_opts);
        if (o->default_ulimits)
                json_object_put(o->default_ulimits);
        if (o->insecure_registries)
                json_object_put(o->insecure_registries);
        for (size_t i = 0; i < o->n_flags_set; i++)
                free(o->flags_set[i]);
        memset(o, 0, sizeof(*o));
}

static void set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = xstrdup(v);
}

static void mark_flag(struct opts *o, const char *key)
{
        if (o->n_flags_set < sizeof(o->flags_set) / sizeof(o->flags_set[0]))
                o->flags_set[o->n_flags_set++] = xstrdup(key);
}

static bool flag_set(const struct opts *o, const char *key)
{
        for (size_t i = 0; i < o->n_flags_set; i++)
                if (strcmp(o->flags_set[i], key) == 0)
                        return true;
        return false;
}

/* Boolean flags accept --flag, --flag=true, --flag=false as Go's do. */
static bool bool_arg(const char *arg)
{
        return arg == NULL || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0;
}

enum {
        OPT_DATA_ROOT = 1000,
        OPT_EXEC_ROOT,
        OPT_CONFIG,
        OPT_TLS,
        OPT_TLSVERIFY,
        OPT_TLSCACERT,
        OPT_TLSCERT,
        OPT_TLSKEY,
        OPT_SHIM,
};

static int parse_args(int argc, char **argv, struct opts *o)
{
        static const struct option longopts[] = {
            {"host", required_argument, NULL, 'H'},
            {"data-root", required_argument, NULL, OPT_DATA_ROOT},
            {"exec-root", required_argument, NULL, OPT_EXEC_ROOT},
            {"pidfile", required_argument, NULL, 'p'},
            {"log-level", required_argument, NULL, 'l'},
            {"debug", optional_argument, NULL, 'D'},
            {"config-file", required_argument, NULL, OPT_CONFIG},
            {"group", required_argument, NULL, 'G'},
            {"tls", optional_argument, NULL, OPT_TLS},
            {"tlsverify", optional_argument, NULL, OPT_TLSVERIFY},
            {"tlscacert", required_argument, NULL, OPT_TLSCACERT},
            {"tlscert", required_argument, NULL, OPT_TLSCERT},
            {"tlskey", required_argument, NULL, OPT_TLSKEY},
            {"shim-path", required_argument, NULL, OPT_SHIM},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int c;
        while ((c = getopt_long(argc, argv, "H:p:l:DG:vh", longopts, NULL)) != -1) {
                switch (c) {
                case 'H':
                        o->hosts = xrealloc(o->hosts, (o->n_hosts + 1) * sizeof(char *));
                        o->hosts[o->n_hosts++] = xstrdup(optarg);
                        mark_flag(o, "hosts");
                        break;
                case OPT_DATA_ROOT:
                        set_str(&o->data_root, optarg);
                        mark_flag(o, "data-root");
                        break;
                case OPT_EXEC_ROOT:
                        set_str(&o->exec_root, optarg);
                        mark_flag(o, "exec-root");
                        break;
                case 'p':
                        set_str(&o->pidfile, optarg);
                        mark_flag(o, "pidfile");
                        break;
                case 'l':
                        set_str(&o->log_level, optarg);
                        mark_flag(o, "log-level");
                        break;
                case 'D':
                        o->debug = bool_arg(optarg);
                        mark_flag(o, "debug");
                        break;
                case OPT_CONFIG:
                        set_str(&o->config_file, optarg);
                        break;
                case 'G':
                        set_str(&o->group, optarg);
                        mark_flag(o, "group");
                        break;
                case OPT_TLS:
                        o->tls = bool_arg(optarg);
                        mark_flag(o, "tls");
                        break;
                case OPT_TLSVERIFY:
                        o->tlsverify = bool_arg(optarg);
                        mark_flag(o, "tlsverify");
                        break;
                case OPT_TLSCACERT:
                        set_str(&o->tlscacert, optarg);
                        mark_flag(o, "tlscacert");
                        break;
                case OPT_TLSCERT:
                        set_str(&o->tlscert, optarg);
                        mark_flag(o, "tlscert");
                        break;
                case OPT_TLSKEY:
                        set_str(&o->tlskey, optarg);
                        mark_flag(o, "tlskey");
                        break;
                case OPT_SHIM:
                        set_str(&o->shim_path, optarg);
                        break;
                case 'v':
                        printf("Berth version %s\n", BERTH_VERSION);
                        exit(0);
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "berthd: unexpected argument `%s`\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* Read daemon.json into O; RELOAD only takes what can change live. */
static int load_config(struct opts *o, const char *path, bool must_exist, bool reload,
                       berth_error **err)
{
        static const char *const known[] = {
            "hosts",      "data-root",       "exec-root",
            "pidfile",    "log-level",       "debug",
            "log-opts",   "default-ulimits", "insecure-registries",
            "tls",        "tlsverify",       "tlscacert",
            "tlscert",    "tlskey",          "group",
            "log-driver", "live-restore",    NULL,
        };
        cleanup_json json_object *cfg = NULL;
        cleanup_free char *unknown = NULL, *both = NULL;

        if (!must_exist && access(path, F_OK) < 0)
                return 0;
        if (berth_json_parse_file(path, &cfg, err) < 0)
                return berth_error_prefix(err, -EINVAL, "configuration file");
        if (!json_object_is_type(cfg, json_type_object))
                return berth_fail(err, EINVAL, "configuration file `%s` is not a JSON object",
                                  path);
        json_object_object_foreach(cfg, key, val)
        {
                bool ok = false;
                (void)val;
                for (size_t i = 0; known[i]; i++)
                        ok |= strcmp(known[i], key) == 0;
                if (!ok) {
                        char *s =
                            xasprintf("%s%s%s", unknown ? unknown : "", unknown ? ", " : "", key);
                        free(unknown);
                        unknown = s;
                }
                if (!reload && flag_set(o, key)) {
                        char *s = xasprintf("%s%s%s", both ? both : "", both ? ", " : "", key);
                        free(both);
                        both = s;
                }
        }
        if (unknown)
                return berth_fail(
                    err, EINVAL,
                    "the following directives don't match any configuration option: %s", unknown);
        if (both)
                return berth_fail(err, EINVAL,
                                  "the following directives are specified both as a flag and in "
                                  "the configuration file: %s (from flag and from file `%s`)",
                                  both, path);

        const char *s;
        if ((s = berth_json_str(cfg, "log-level")) != NULL) {
                enum berth_api_log_level l;
                if (parse_level(s, &l) < 0)
                        return berth_fail(err, EINVAL, "unable to parse logging level: `%s`", s);
                set_str(&o->log_level, s);
        }
        o->debug = berth_json_bool(cfg, "debug", reload ? false : o->debug);
        if (reload)
                return 0;
        json_object *hosts = berth_json_get(cfg, "hosts");
        if (hosts != NULL) {
                if (!json_object_is_type(hosts, json_type_array))
                        return berth_fail(err, EINVAL,
                                          "configuration file: \"hosts\" must be a list");
                for (size_t i = 0; i < json_object_array_length(hosts); i++) {
                        const char *h = json_object_get_string(json_object_array_get_idx(hosts, i));
                        o->hosts = xrealloc(o->hosts, (o->n_hosts + 1) * sizeof(char *));
                        o->hosts[o->n_hosts++] = xstrdup(h);
                }
        }
        static const struct {
                const char *key;
                size_t off;
        } strs[] = {
            {"data-root", offsetof(struct opts, data_root)},
            {"exec-root", offsetof(struct opts, exec_root)},
            {"pidfile", offsetof(struct opts, pidfile)},
            {"group", offsetof(struct opts, group)},
            {"tlscacert", offsetof(struct opts, tlscacert)},
            {"tlscert", offsetof(struct opts, tlscert)},
            {"tlskey", offsetof(struct opts, tlskey)},
        };
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                if ((s = berth_json_str(cfg, strs[i].key)) != NULL)
                        set_str((char **)((char *)o + strs[i].off), s);
        o->tls = berth_json_bool(cfg, "tls", o->tls);
        o->tlsverify = berth_json_bool(cfg, "tlsverify", o->tlsverify);
        json_object *v;
        if ((v = berth_json_get(cfg, "log-opts")) != NULL) {
                if (!json_object_is_type(v, json_type_object))
                        return berth_fail(err, EINVAL,
                                          "configuration file: \"log-opts\" must be an object");
                o->log_opts = json_object_get(v);
        }
        if ((v = berth_json_get(cfg, "default-ulimits")) != NULL) {
                if (!json_object_is_type(v, json_type_object))
                        return berth_fail(
                            err, EINVAL,
                            "configuration file: \"default-ulimits\" must be an object");
                o->default_ulimits = json_object_get(v);
        }
        if ((v = berth_json_get(cfg, "insecure-registries")) != NULL) {
                if (!json_object_is_type(v, json_type_array))
                        return berth_fail(
                            err, EINVAL,
                            "configuration file: \"insecure-registries\" must be a list");
                o->insecure_registries = json_object_get(v);
        }
        return 0;
}

static enum berth_api_log_level effective_level(const struct opts *o)
{
        enum berth_api_log_level l = BERTH_API_LOG_INFO;
        if (o->log_level != NULL)
                (void)parse_level(o->log_level, &l);
        if (o->debug)
                l = BERTH_API_LOG_DEBUG;
        return l;
}

static int write_pidfile(const char *path, berth_error **err)
{
        cleanup_free char *old = NULL;
        size_t len;
        if (berth_read_file(path, &old, &len, NULL) == 0) {
                long pid = strtol(old, NULL, 10);
                if (pid > 0 && pid != getpid() && kill((pid_t)pid, 0) == 0) {
                        cleanup_free char *comm = NULL;
                        cleanup_free char *p = xasprintf("/proc/%ld/comm", pid);
                        if (berth_read_file(p, &comm, &len, NULL) == 0 &&
                            berth_str_has_prefix(comm, "berthd"))
                                return berth_fail(
                                    err, EEXIST,
                                    "pid file found, ensure berthd is not running or delete `%s`",
                                    path);
                }
        }
        cleanup_free char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
                *slash = '\0';
                if (berth_mkdir_p(dir, 0755, err) < 0)
                        return -1;
        }
        cleanup_free char *s = xasprintf("%d", (int)getpid());
        return berth_write_file_atomic(path, s, strlen(s), 0644, err);
}

/* A helper program: FLAG, else $ENV_NAME, else next to berthd (installed)
 * or where the build tree puts it (BUILD_REL, relative to berthd's dir). */
static char *find_program(const char *flag, const char *env_name, const char *name,
                          const char *build_rel)
{
        char self[PATH_MAX];
        ssize_t n;
        const char *env = getenv(env_name);
        if (flag)
                return xstrdup(flag);
        if (env && *env)
                return xstrdup(env);
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                char *slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        const char *cands[] = {"/", build_rel};
                        for (size_t i = 0; i < 2; i++) {
                                char *p = xasprintf("%s%s%s", self, cands[i], i == 0 ? name : "");
                                if (access(p, X_OK) == 0) {
                                        char *real = realpath(p, NULL);
                                        free(p);
                                        return real;
                                }
                                free(p);
                        }
                }
        }
        return xstrdup(name);
}

static void *watchdog(void *p)
{
        /* A stop that hangs on some connection must not keep the daemon. */
        sleep(10);
        _exit(0);
        return p;
}

int main(int argc, char **argv)
{
        __attribute__((cleanup(opts_clear))) struct opts o = {0};
        cleanup_error berth_error *err = NULL;
        struct berth_api *api = NULL;
        struct berth_image_store *own_store = NULL;
        struct berth_image_store *images = NULL;
        sigset_t mask;
        int sfd, rc = 0;
        cleanup_free char *shim = NULL;
        cleanup_free char *init = NULL;
#ifdef BERTH_API_HAVE_ENGINE
        struct berth_engine *engine = NULL;
#endif

        /* One malloc arena: every API request runs on its own short-lived
         * thread, and glibc would give each concurrent one an arena of its
         * own that stays resident (~140 kB each) after the thread is gone.
         * The daemon allocates little; the shared lock costs nothing here. */
        (void)mallopt(M_ARENA_MAX, 1);
        if (parse_args(argc, argv, &o) < 0)
                return 2;
        bool cfg_given = o.config_file != NULL;
        if (!cfg_given)
                o.config_file = xstrdup(DEFAULT_CONFIG);
        if (load_config(&o, o.config_file, cfg_given, false, &err) < 0) {
                fprintf(stderr, "berthd: %s\n", err->msg);
                return 1;
        }
        if (o.log_level != NULL) {
                enum berth_api_log_level l;
                if (parse_level(o.log_level, &l) < 0) {
                        fprintf(stderr, "berthd: unable to parse logging level: `%s`\n",
                                o.log_level);
                        return 1;
                }
        }
        current_level = effective_level(&o);
        if (o.data_root == NULL)
                o.data_root = xstrdup("/var/lib/berth");
        if (o.exec_root == NULL)
                o.exec_root = xstrdup("/run/berth");
        if (o.pidfile == NULL)
                o.pidfile = xstrdup("/run/berthd.pid");
        if (o.group == NULL)
                o.group = xstrdup("berth");
        if (o.n_hosts == 0) {
                o.hosts = xmalloc(sizeof(char *));
                o.hosts[o.n_hosts++] = xstrdup("unix:///run/berth.sock");
        }
        if (o.tlsverify)
                o.tls = true;
        for (size_t i = 0; i < o.n_hosts; i++)
                if (berth_str_has_prefix(o.hosts[i], "tcp://") && o.tls &&
                    (o.tlscert == NULL || o.tlskey == NULL)) {
                        fprintf(stderr, "berthd: TLS on `%s` needs --tlscert and --tlskey\n",
                                o.hosts[i]);
                        return 1;
                }

        /* Every thread inherits this mask; signals are read from a signalfd. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                perror("berthd: signalfd");
                return 1;
        }

        if (berth_mkdir_p(o.data_root, 0710, &err) < 0 ||
            berth_mkdir_p(o.exec_root, 0700, &err) < 0 || write_pidfile(o.pidfile, &err) < 0) {
                logf_(BERTH_API_LOG_ERROR, "%s", err->msg);
                return 1;
        }
        shim = find_program(o.shim_path, "BERTH_SHIM", "berth-shim", "/../shim/prog/berth-shim");
        init = find_program(NULL, "BERTH_INIT", "berth-init", "/../init/berth-init");
        logf_(BERTH_API_LOG_INFO, "Starting up berthd %s (data root `%s`, exec root `%s`)",
              BERTH_VERSION, o.data_root, o.exec_root);

#ifdef BERTH_API_HAVE_ENGINE
        {
                struct berth_engine_config ec = {
                    .data_root = o.data_root,
                    .exec_root = o.exec_root,
                    .shim_path = shim,
                    .init_path = init,
                    .log_opts = o.log_opts,
                    .default_ulimits = o.default_ulimits,
                };
                if (berth_engine_open(&ec, &engine, &err) < 0) {
                        logf_(BERTH_API_LOG_ERROR, "open the engine: %s", err->msg);
                        (void)unlink(o.pidfile);
                        return 1;
                }
                if (berth_engine_restore(engine, &err) < 0) {
                        /* Some containers could not be re-adopted: say so, serve the rest. */
                        logf_(BERTH_API_LOG_ERROR, "restore containers: %s", err->msg);
                        berth_error_freep(&err);
                }
                images = berth_engine_images(engine);
        }
#else
        if (berth_image_store_open(o.data_root, &own_store, &err) < 0) {
                logf_(BERTH_API_LOG_ERROR, "open the image store: %s", err->msg);
                (void)unlink(o.pidfile);
                return 1;
        }
        images = own_store;
#endif

        struct berth_api_config ac = {
#ifdef BERTH_API_HAVE_ENGINE
            .engine = engine,
#endif
            .images = images,
            .data_root = o.data_root,
            .exec_root = o.exec_root,
            .log_level = current_level,
            .log = log_line,
        };
        struct berth_api_tls tls = {
            .ca_file = o.tlscacert,
            .cert_file = o.tlscert,
            .key_file = o.tlskey,
            .verify = o.tlsverify,
        };
        if (berth_api_new(&ac, &api, &err) < 0) {
                logf_(BERTH_API_LOG_ERROR, "%s", err->msg);
                rc = 1;
                goto out;
        }
        for (size_t i = 0; i < o.n_hosts; i++) {
                if (berth_api_listen(api, o.hosts[i], o.group, o.tls ? &tls : NULL, &err) < 0) {
                        logf_(BERTH_API_LOG_ERROR, "%s", err->msg);
                        rc = 1;
                        goto out;
                }
                if (berth_str_has_prefix(o.hosts[i], "tcp://") && !o.tls)
                        logf_(BERTH_API_LOG_WARN,
                              "API listening on `%s` without TLS: anyone who can reach it is root "
                              "on this machine",
                              o.hosts[i]);
        }
        logf_(BERTH_API_LOG_INFO, "Daemon has completed initialization");

        for (;;) {
                struct signalfd_siginfo si;
                ssize_t n = read(sfd, &si, sizeof(si));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n != sizeof(si))
                        break;
                if (si.ssi_signo == SIGHUP) {
                        struct opts fresh = {0};
                        cleanup_error berth_error *rerr = NULL;
                        fresh.log_level = o.log_level ? xstrdup(o.log_level) : NULL;
                        fresh.debug = o.debug;
                        if (load_config(&fresh, o.config_file, cfg_given, true, &rerr) < 0) {
                                logf_(BERTH_API_LOG_ERROR, "reload the configuration: %s",
                                      rerr->msg);
                        } else {
                                current_level = effective_level(&fresh);
                                berth_api_set_log_level(api, current_level);
                                logf_(BERTH_API_LOG_INFO,
                                      "Reloaded configuration from `%s` (log level %s)",
                                      o.config_file, fresh.log_level ? fresh.log_level : "info");
                        }
                        opts_clear(&fresh);
                        continue;
                }
                logf_(BERTH_API_LOG_INFO, "Processing signal '%s'", strsignal((int)si.ssi_signo));
                break;
        }

out : {
        pthread_t t;
        if (pthread_create(&t, NULL, watchdog, NULL) == 0)
                pthread_detach(t);
}
        berth_api_free(api);
#ifdef BERTH_API_HAVE_ENGINE
        if (engine != NULL)
                berth_engine_close(engine);
#endif
        if (own_store != NULL)
                berth_image_store_free(own_store);
        (void)unlink(o.pidfile);
        logf_(BERTH_API_LOG_INFO, "Daemon shutdown complete");
        return rc;
}
