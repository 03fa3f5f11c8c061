/* SPDX-License-Identifier: Apache-2.0 */
/* Container lifecycle: create, start (through berth-shim), stop, kill,
 * restart, pause, remove, rename, wait, update, and the re-adoption of
 * running containers when the daemon starts. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "image/layer.h"
#include "shim-io.h"
#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on c->cond (c->lock held) until DEADLINE_MS (monotonic); false on timeout. */
static bool cond_wait_until(struct berth_container *c, int64_t deadline_ms)
{
        struct timespec ts;
        if (deadline_ms < 0) {
                pthread_cond_wait(&c->cond, &c->lock);
                return true;
        }
        ts.tv_sec = deadline_ms / 1000;
        ts.tv_nsec = (deadline_ms % 1000) * 1000000;
        return pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0;
}

static char *exit_path(struct berth_container *c)
{
        return xasprintf("%s/exit.json", c->run_dir);
}

static char *rootfs_path(struct berth_container *c)
{
        return xasprintf("%s/rootfs", c->bundle);
}

void berth_container_log_limits(struct berth_container *c, int64_t *ret_max_size, int *ret_max_file)
{
        json_object *lc = berth_json_get(berth_json_get(c->hostconfig, "LogConfig"), "Config");
        const char *ms = berth_json_str(lc, "max-size");
        const char *mf = berth_json_str(lc, "max-file");
        int64_t size = 10 * 1024 * 1024, files = 3;

        if (ms == NULL)
                ms = berth_json_str(c->engine->log_opts, "max-size");
        if (mf == NULL)
                mf = berth_json_str(c->engine->log_opts, "max-file");
        if (ms)
                (void)berth_engine_parse_bytes(ms, &size);
        if (mf && (berth_parse_int64(mf, &files) < 0 || files < 1))
                files = 3;
        *ret_max_size = size;
        *ret_max_file = (int)files;
}

/* ---- names ---- */

static const char *const adjectives[] = {
    "admiring", "brave",   "calm",       "clever",   "dazzling", "eager",    "elegant",
    "festive",  "focused", "gallant",    "happy",    "jolly",    "keen",     "loving",
    "modest",   "nifty",   "optimistic", "peaceful", "quirky",   "relaxed",  "serene",
    "sharp",    "tender",  "upbeat",     "vibrant",  "wizardly", "youthful", "zealous",
};
static const char *const nouns[] = {
    "albatross", "barge",  "buoy",     "cutter", "dinghy",  "dory",       "ferry",   "frigate",
    "galleon",   "harbor", "jetty",    "keel",   "ketch",   "lighthouse", "mooring", "pier",
    "quay",      "raft",   "schooner", "sloop",  "tugboat", "wharf",      "yawl",    "anchor",
};

static char *random_name(void)
{
        char id[BERTH_ID_LEN + 1];
        unsigned a, b;

        berth_engine_random_id(id);
        sscanf(id, "%4x%4x", &a, &b);
        return xasprintf("%s_%s", adjectives[a % (sizeof(adjectives) / sizeof(adjectives[0]))],
                         nouns[b % (sizeof(nouns) / sizeof(nouns[0]))]);
}

static bool valid_name(const char *n)
{
        if (n[0] == '/')
                n++;
        if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
              (n[0] >= '0' && n[0] <= '9')))
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

/* ---- create ---- */

static int image_config(struct berth_engine *e, struct berth_image *img, json_object **ret,
                        berth_error **err)
{
        cleanup_free char *data = NULL;
        size_t len;
        json_object *o = NULL;
        int r;

        r = berth_blob_read(e->images, img->id, BERTH_IMAGE_MAX_JSON, &data, &len, err);
        if (r < 0)
                return r;
        r = berth_json_parse(data, len, "image config", &o, err);
        if (r < 0)
                return r;
        *ret = o;
        return 0;
}

static int mount_rootfs(struct berth_container *c, berth_error **err);

int berth_engine_container_create(struct berth_engine *e, const char *name, json_object *body,
                                  json_object **ret, berth_error **err)
{
        cleanup_image struct berth_image *img = NULL;
        cleanup_json json_object *icfg = NULL, *config = NULL, *hc = NULL;
        cleanup_container struct berth_container *c = NULL;
        cleanup_free char *auto_name = NULL;
        const char *image;
        json_object *warnings, *res;
        char id[BERTH_ID_LEN + 1];
        int r;

        if (body == NULL || !json_object_is_type(body, json_type_object))
                return berth_engine_fail(err, EINVAL,
                                         "config cannot be empty in order to create a container");
        image = berth_json_str(body, "Image");
        if (image == NULL || *image == '\0')
                return berth_engine_fail(err, EINVAL,
                                         "config cannot be empty in order to create a container");
        if (name && *name && !valid_name(name))
                return berth_engine_fail(
                    err, EINVAL,
                    "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                    "allowed",
                    name);
        hc = berth_json_get(body, "HostConfig")
                 ? json_object_get(berth_json_get(body, "HostConfig"))
                 : json_object_new_object();
        r = berth_spec_check_hostconfig(hc, err);
        if (r < 0)
                return r;
        r = berth_image_get(e->images, image, &img, err);
        if (r < 0) {
                if (r == -ENOENT) {
                        berth_error_freep(err);
                        return berth_engine_fail(err, ENOENT, "No such image: %s", image);
                }
                return r;
        }
        r = image_config(e, img, &icfg, err);
        if (r < 0)
                return r;
        r = berth_spec_merge_config(berth_json_get(icfg, "config"), body, &config, err);
        if (r < 0)
                return r;
        /* Reject bad stop signals and health options early (400). */
        {
                const char *sig = berth_json_str(config, "StopSignal");
                json_object *h = berth_json_get(config, "Healthcheck");
                if (sig && *sig && berth_engine_signal_parse(sig) < 0)
                        return berth_engine_fail(err, EINVAL, "Invalid signal: %s", sig);
                if (h &&
                    (berth_json_int(h, "Interval", 0) < 0 || berth_json_int(h, "Timeout", 0) < 0 ||
                     berth_json_int(h, "StartPeriod", 0) < 0 ||
                     berth_json_int(h, "Retries", 0) < 0))
                        return berth_engine_fail(err, EINVAL,
                                                 "Interval, Timeout, StartPeriod and Retries in "
                                                 "Healthcheck must not be negative");
                if (h && berth_json_int(h, "Interval", 0) > 0 &&
                    berth_json_int(h, "Interval", 0) < 1000000)
                        return berth_engine_fail(err, EINVAL,
                                                 "Interval in Healthcheck cannot be less than 1ms");
        }

        berth_engine_random_id(id);
        c = berth_container_alloc(e, id);
        if (!berth_json_str(config, "Hostname") || !*berth_json_str(config, "Hostname")) {
                char h[13];
                snprintf(h, sizeof(h), "%.12s", id);
                json_object_object_add(config, "Hostname", json_object_new_string(h));
        }
        json_object_object_add(config, "Image", json_object_new_string(image));
        c->config = steal_pointer(&config);
        c->hostconfig = steal_pointer(&hc);
        c->doc = json_object_new_object();
        c->image_id = xstrdup(img->id);
        c->image_name = xstrdup(image);
        c->created = berth_time_now_rfc3339nano();
        c->status = BERTH_STATUS_CREATED;
        c->tty = berth_json_bool(c->config, "Tty", false);
        c->open_stdin = berth_json_bool(c->config, "OpenStdin", false);
        c->stdin_once = berth_json_bool(c->config, "StdinOnce", false);

        if (name && *name) {
                r = berth_engine_name_reserve(e, c, name, err);
        } else {
                for (int i = 0; i < 20; i++) {
                        free(auto_name);
                        auto_name = random_name();
                        r = berth_engine_name_reserve(e, c, auto_name, NULL);
                        if (r == 0)
                                break;
                }
                if (r < 0) {
                        free(auto_name);
                        auto_name = xasprintf("berth_%.12s", id);
                        r = berth_engine_name_reserve(e, c, auto_name, err);
                }
        }
        if (r < 0)
                return r;
        /* Publish in the table now (so that a concurrent create with the
         * same name conflicts), re-checking the name under the lock. */
        berth_engine_table_add(e, c);
        r = berth_engine_name_reserve(e, c, c->name, err);
        if (r >= 0)
                r = berth_mkdir_p(c->dir, 0710, err);
        if (r >= 0)
                r = berth_image_hold(e->images, img, c->id, err);
        if (r >= 0) {
                pthread_mutex_lock(&c->lock);
                r = berth_container_save(c, err);
                /* The rootfs is mounted from create to remove, so that cp and
                 * export work on a container that never ran (Docker mounts
                 * it for them). Best effort: start mounts it again if this
                 * fails, and reports why. */
                if (r >= 0)
                        (void)mount_rootfs(c, NULL);
                pthread_mutex_unlock(&c->lock);
        }
        if (r < 0) {
                berth_engine_table_remove(e, c);
                (void)berth_image_release(e->images, img, c->id, NULL);
                (void)berth_rm_rf(c->dir, NULL);
                return berth_error_prefix(err, r, "create container");
        }
        berth_engine_emit_container(e, c, "create", NULL, false);

        res = json_object_new_object();
        warnings = json_object_new_array();
        json_object_object_add(res, "Id", json_object_new_string(c->id));
        json_object_object_add(res, "Warnings", warnings);
        *ret = res;
        return 0;
}

/* ---- start ---- */

static int mount_rootfs(struct berth_container *c, berth_error **err)
{
        struct berth_engine *e = c->engine;
        cleanup_image struct berth_image *img = NULL;
        cleanup_free char *rootfs = rootfs_path(c);
        cleanup_free char *upper = xasprintf("%s/diff", c->dir);
        cleanup_free char *work = xasprintf("%s/work", c->dir);
        cleanup_free const char **chains = NULL;
        struct stat st1, st2;
        cleanup_free char *parent = NULL;
        int r;

        r = berth_mkdir_p(rootfs, 0755, err);
        if (r < 0)
                return r;
        /* Already mounted (a restart): the mount point differs from its parent. */
        parent = xasprintf("%s", c->bundle);
        if (stat(rootfs, &st1) == 0 && stat(parent, &st2) == 0 && st1.st_dev != st2.st_dev)
                return 0;
        r = berth_mkdir_p(upper, 0755, err);
        if (r >= 0)
                r = berth_mkdir_p(work, 0700, err);
        if (r >= 0)
                r = berth_image_get_by_id(e->images, c->image_id, &img, err);
        if (r < 0)
                return r;
        chains = xcalloc(img->n_layers + 1, sizeof(char *));
        for (size_t i = 0; i < img->n_layers; i++)
                chains[i] = img->layers[i].chain_id;
        if (img->n_layers == 0) {
                /* An empty image (FROM scratch + nothing): a plain directory. */
                return 0;
        }
        return berth_snapshot_mount(e->data_root, chains, img->n_layers, upper, work, rootfs, err);
}

static void umount_rootfs(struct berth_container *c)
{
        cleanup_free char *rootfs = rootfs_path(c);
        (void)umount2(rootfs, MNT_DETACH);
}

static void *monitor_thread(void *arg);

static void start_monitor(struct berth_container *c)
{
        pthread_t t;
        pthread_attr_t a;

        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 128 * 1024);
        if (pthread_create(&t, &a, monitor_thread, berth_container_ref(c)) != 0)
                berth_container_unref(c);
        pthread_attr_destroy(&a);
}

/* Bring up `lo` in the network namespace of PID, as Docker does for every
 * container with a namespace of its own (even --network none): programs
 * that talk to 127.0.0.1 inside the container need it. setns() changes only
 * the calling thread, so this runs on a short-lived thread. Best effort. */
static void *loopback_up_thread(void *arg)
{
        pid_t pid = *(pid_t *)arg;
        cleanup_free char *path = xasprintf("/proc/%d/ns/net", (int)pid);
        cleanup_close int ns = open(path, O_RDONLY | O_CLOEXEC);
        cleanup_close int sk = -1;
        struct ifreq ifr = {0};

        if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
                return NULL;
        sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sk < 0)
                return NULL;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags & IFF_UP))
                return NULL;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        (void)ioctl(sk, SIOCSIFFLAGS, &ifr);
        return NULL;
}

static void loopback_up(pid_t pid)
{
        pthread_t t;
        if (pthread_create(&t, NULL, loopback_up_thread, &pid) == 0)
                (void)pthread_join(t, NULL);
}

int berth_container_do_start(struct berth_container *c, bool from_restart, berth_error **err)
{
        struct berth_engine *e = c->engine;
        cleanup_json json_object *spec = NULL;
        cleanup_free char *rootfs = rootfs_path(c);
        cleanup_free char *cfg_path = xasprintf("%s/config.json", c->bundle);
        cleanup_free char *xpath = exit_path(c);
        struct berth_shim_config sc = {0};
        pid_t shim_pid = 0, init_pid = 0;
        json_object *cs;
        bool own_netns;
        int r;

        pthread_mutex_lock(&c->lock);
        if (c->status == BERTH_STATUS_REMOVING || c->removed) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY,
                                         "container is marked for removal and cannot be "
                                         "started");
        }
        if (c->status == BERTH_STATUS_PAUSED) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY,
                                         "cannot start a paused container, try unpause "
                                         "instead");
        }
        if (berth_container_is_running(c) ||
            (c->status == BERTH_STATUS_RESTARTING && !from_restart)) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EALREADY, "container %s is already running", c->id);
        }
        r = berth_mkdir_p(c->bundle, 0700, err);
        if (r >= 0)
                r = mount_rootfs(c, err);
        if (r >= 0)
                r = berth_spec_build(c, rootfs, &spec, err);
        if (r >= 0) {
                cs = berth_json_get(c->hostconfig, "ConsoleSize");
                if (c->tty && cs && json_object_array_length(cs) == 2 &&
                    json_object_get_int(json_object_array_get_idx(cs, 0)) > 0) {
                        json_object *sz = json_object_new_object();
                        json_object_object_add(sz, "height",
                                               json_object_get(json_object_array_get_idx(cs, 0)));
                        json_object_object_add(sz, "width",
                                               json_object_get(json_object_array_get_idx(cs, 1)));
                        json_object_object_add(berth_json_get(spec, "process"), "consoleSize", sz);
                }
                r = berth_json_write_file_replace(cfg_path, spec, err);
        }
        if (r < 0) {
                free(c->error);
                c->error = xstrdup((*err)->msg);
                c->exit_code = 128;
                c->status = from_restart ? BERTH_STATUS_EXITED : c->status;
                (void)berth_container_save(c, NULL);
                pthread_mutex_unlock(&c->lock);
                return r;
        }
        (void)unlink(xpath);
        sc.shim_path = e->shim_path;
        sc.id = c->id;
        sc.bundle = c->bundle;
        sc.runtime_root = e->runtime_root;
        sc.socket_path = c->shim_socket;
        sc.exit_path = xpath;
        sc.log_path = c->log_path;
        berth_container_log_limits(c, &sc.log_max_size, &sc.log_max_file);
        sc.tty = c->tty;
        sc.open_stdin = c->open_stdin;
        sc.stdin_once = c->stdin_once;
        cs = berth_json_get(c->hostconfig, "ConsoleSize");
        if (cs && json_object_array_length(cs) == 2) {
                sc.rows = json_object_get_int(json_object_array_get_idx(cs, 0));
                sc.cols = json_object_get_int(json_object_array_get_idx(cs, 1));
        }
        {
                const char *nm = berth_json_str(c->hostconfig, "NetworkMode");
                own_netns = nm == NULL ||
                            (strcmp(nm, "host") != 0 && !berth_str_has_prefix(nm, "container:"));
        }
        pthread_mutex_unlock(&c->lock);

        r = berth_shim_spawn(&sc, &shim_pid, &init_pid, err);
        if (r >= 0 && own_netns)
                loopback_up(init_pid);
        if (r >= 0) {
                berth_engine_attach_prestart(c);
                r = berth_shim_start(c->shim_socket, err);
                if (r < 0)
                        (void)berth_shim_kill(c->shim_socket, SIGKILL, NULL);
        }
        pthread_mutex_lock(&c->lock);
        if (r < 0) {
                free(c->error);
                c->error = xstrdup(*err && (*err)->msg ? (*err)->msg : "start failed");
                c->exit_code = 127;
                if (from_restart)
                        c->status = BERTH_STATUS_EXITED;
                (void)berth_container_save(c, NULL);
                pthread_mutex_unlock(&c->lock);
                /* Docker's status for a process that cannot be run. */
                if (berth_error_status(*err) == ENOENT || berth_error_status(*err) == EACCES) {
                        cleanup_free char *m = xstrdup((*err)->msg);
                        berth_error_freep(err);
                        return berth_engine_fail(err, EINVAL,
                                                 "failed to create task for container: %s", m);
                }
                return berth_error_prefix(err, r, "start container %.12s", c->id);
        }
        c->status = BERTH_STATUS_RUNNING;
        c->pid = init_pid;
        c->shim_pid = shim_pid;
        c->has_been_started = true;
        c->manual_stop = false;
        c->oom_killed = false;
        c->exit_code = 0;
        free(c->error);
        c->error = NULL;
        free(c->started_at);
        c->started_at = berth_time_now_rfc3339nano();
        if (!from_restart) {
                free(c->finished_at);
                c->finished_at = xstrdup("0001-01-01T00:00:00Z");
        }
        (void)berth_container_save(c, NULL);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        start_monitor(c);
        berth_health_start(c);
        berth_engine_emit_container(e, c, "start", NULL, false);
        return 0;
}

static int do_remove(struct berth_container *c, bool force, berth_error **err);

int berth_engine_container_start(struct berth_engine *e, const char *ref, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        bool autorm;
        int r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = berth_container_do_start(c, false, err);
        if (r < 0 && r != -EALREADY) {
                /* Docker removes an --rm container whose start failed (the
                 * client's wait?condition=removed then returns). */
                pthread_mutex_lock(&c->lock);
                autorm = berth_json_bool(c->hostconfig, "AutoRemove", false) &&
                         !berth_container_is_running(c);
                pthread_mutex_unlock(&c->lock);
                if (autorm)
                        (void)do_remove(c, true, NULL);
        }
        return r;
}

/* ---- exit ---- */

static void autoremove(struct berth_container *c);

void berth_container_on_exit(struct berth_container *c)
{
        cleanup_free char *xpath = exit_path(c);
        struct berth_shim_exit x = {0};
        bool restart, rm;
        json_object *attrs;
        int64_t ran_ms = 0;
        int code;

        if (berth_shim_read_exit(xpath, &x, NULL) < 0) {
                x.exit_code = 255;
                x.finished_at = berth_time_now_rfc3339nano();
                x.error = xstrdup("the container's shim exited without recording an exit status");
        }
        berth_health_stop(c);
        pthread_mutex_lock(&c->lock);
        if (c->status != BERTH_STATUS_RUNNING && c->status != BERTH_STATUS_PAUSED &&
            c->status != BERTH_STATUS_RESTARTING) {
                pthread_mutex_unlock(&c->lock);
                berth_shim_exit_clear(&x);
                return;
        }
        {
                struct tm tm = {0};
                char *rest =
                    c->started_at ? strptime(c->started_at, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
                if (rest) {
                        time_t st = timegm(&tm);
                        ran_ms = ((int64_t)time(NULL) - (int64_t)st) * 1000;
                }
        }
        c->status = BERTH_STATUS_EXITED;
        c->exit_code = x.exit_code;
        code = x.exit_code;
        c->oom_killed = x.oom_killed;
        c->pid = 0;
        free(c->finished_at);
        c->finished_at = x.finished_at ? xstrdup(x.finished_at) : berth_time_now_rfc3339nano();
        if (x.error && *x.error) {
                free(c->error);
                c->error = xstrdup(x.error);
        }
        c->exit_generation++;
        restart = berth_restart_schedule(c, ran_ms);
        rm = !restart && berth_json_bool(c->hostconfig, "AutoRemove", false);
        (void)berth_container_save(c, NULL);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        berth_shim_exit_clear(&x);

        if (c->oom_killed)
                berth_engine_emit_container(c->engine, c, "oom", NULL, false);
        attrs = json_object_new_object();
        {
                char buf[16];
                snprintf(buf, sizeof(buf), "%d", code);
                json_object_object_add(attrs, "exitCode", json_object_new_string(buf));
        }
        berth_engine_emit_container(c->engine, c, "die", attrs, false);
        if (rm)
                autoremove(c);
}

static void *monitor_thread(void *arg)
{
        struct berth_container *c = arg;
        cleanup_free char *xpath = exit_path(c);
        struct berth_shim_exit x = {0};

        (void)berth_shim_wait(c->shim_socket, xpath, &x, NULL);
        berth_shim_exit_clear(&x);
        if (!c->engine->closing)
                berth_container_on_exit(c);
        berth_container_unref(c);
        return NULL;
}

/* ---- stop / kill ---- */

static int signal_of(struct berth_container *c, const char *s, berth_error **err)
{
        int sig;
        if (s == NULL || *s == '\0')
                s = berth_json_str(c->config, "StopSignal");
        if (s == NULL || *s == '\0')
                return SIGTERM;
        sig = berth_engine_signal_parse(s);
        if (sig < 0)
                return berth_engine_fail(err, EINVAL, "Invalid signal: %s", s);
        return sig;
}

/* Wait (c->lock held) until C is not running or TIMEOUT_MS passes. */
static bool wait_stopped(struct berth_container *c, int64_t timeout_ms)
{
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        while (berth_container_is_running(c) && !c->engine->closing) {
                if (!cond_wait_until(c, deadline) && deadline >= 0 && now_ms() >= deadline)
                        break;
        }
        return !berth_container_is_running(c);
}

static int do_stop(struct berth_container *c, int timeout, const char *signal, berth_error **err)
{
        int sig, r;

        pthread_mutex_lock(&c->lock);
        if (c->status == BERTH_STATUS_RESTARTING && c->pid == 0) {
                /* A scheduled policy restart: cancel it. */
                c->manual_stop = true;
                c->status = BERTH_STATUS_EXITED;
                (void)berth_container_save(c, NULL);
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&c->lock);
                return 0;
        }
        if (!berth_container_is_running(c)) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EALREADY, "container %s is not running", c->id);
        }
        sig = signal_of(c, signal, err);
        if (sig < 0) {
                pthread_mutex_unlock(&c->lock);
                return sig;
        }
        if (timeout < 0)
                timeout = (int)berth_json_int(c->config, "StopTimeout", 10);
        c->manual_stop = true;
        (void)berth_container_save(c, NULL);
        if (c->status == BERTH_STATUS_PAUSED) {
                pthread_mutex_unlock(&c->lock);
                (void)berth_shim_kill(c->shim_socket, sig, NULL);
                (void)berth_container_resume(&c->engine->rt, c->id, NULL);
                pthread_mutex_lock(&c->lock);
        } else {
                pthread_mutex_unlock(&c->lock);
                (void)berth_shim_kill(c->shim_socket, sig, NULL);
                pthread_mutex_lock(&c->lock);
        }
        if (!wait_stopped(c, (int64_t)timeout * 1000)) {
                pthread_mutex_unlock(&c->lock);
                r = berth_shim_kill(c->shim_socket, SIGKILL, NULL);
                pthread_mutex_lock(&c->lock);
                if (!wait_stopped(c, r < 0 ? 2000 : 30000)) {
                        pthread_mutex_unlock(&c->lock);
                        return berth_engine_fail(err, EIO,
                                                 "cannot stop container %.12s: it did not "
                                                 "exit after SIGKILL",
                                                 c->id);
                }
        }
        pthread_mutex_unlock(&c->lock);
        return 0;
}

int berth_engine_container_stop(struct berth_engine *e, const char *ref, int timeout,
                                const char *signal, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = do_stop(c, timeout, signal, err);
        if (r >= 0)
                berth_engine_emit_container(e, c, "stop", NULL, false);
        return r;
}

int berth_engine_container_restart(struct berth_engine *e, const char *ref, int timeout,
                                   berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        r = do_stop(c, timeout, NULL, err);
        if (r < 0 && r != -EALREADY)
                return r;
        berth_error_freep(err);
        r = berth_container_do_start(c, false, err);
        if (r >= 0)
                berth_engine_emit_container(e, c, "restart", NULL, false);
        return r;
}

int berth_engine_container_kill(struct berth_engine *e, const char *ref, const char *signal,
                                berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        json_object *attrs;
        char buf[16];
        int sig, r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        sig = signal && *signal ? berth_engine_signal_parse(signal) : SIGKILL;
        if (sig < 0) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EINVAL, "Invalid signal: %s", signal);
        }
        if (!berth_container_is_running(c)) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY,
                                         "Cannot kill container: %s: Container %s is not "
                                         "running",
                                         ref, c->id);
        }
        {
                /* As dockerd: a kill counts as a manual stop, which only the
                 * unless-stopped policy honours (always restarts, on-failure
                 * restarts on the non-zero status). */
                int max = 0;
                if (strcmp(berth_restart_policy(c, &max), "unless-stopped") == 0) {
                        c->manual_stop = true;
                        (void)berth_container_save(c, NULL);
                }
        }
        pthread_mutex_unlock(&c->lock);
        r = berth_shim_kill(c->shim_socket, sig, err);
        if (r < 0)
                return berth_error_prefix(err, r, "Cannot kill container: %s", ref);
        attrs = json_object_new_object();
        snprintf(buf, sizeof(buf), "%d", sig);
        json_object_object_add(attrs, "signal", json_object_new_string(buf));
        berth_engine_emit_container(e, c, "kill", attrs, false);
        return 0;
}

int berth_engine_container_pause(struct berth_engine *e, const char *ref, bool pause,
                                 berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        if (!berth_container_is_running(c)) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY, "Container %s is not running", c->id);
        }
        if (pause && c->status == BERTH_STATUS_PAUSED) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY, "Container %s is already paused", c->id);
        }
        if (!pause && c->status != BERTH_STATUS_PAUSED) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EBUSY, "Container %s is not paused", c->id);
        }
        r = pause ? berth_container_pause(&e->rt, c->id, err)
                  : berth_container_resume(&e->rt, c->id, err);
        if (r >= 0) {
                c->status = pause ? BERTH_STATUS_PAUSED : BERTH_STATUS_RUNNING;
                (void)berth_container_save(c, NULL);
                pthread_cond_broadcast(&c->cond);
        }
        pthread_mutex_unlock(&c->lock);
        if (r >= 0)
                berth_engine_emit_container(e, c, pause ? "pause" : "unpause", NULL, false);
        return r;
}

/* ---- remove ---- */

static int do_remove(struct berth_container *c, bool force, berth_error **err)
{
        struct berth_engine *e = c->engine;
        cleanup_image struct berth_image *img = NULL;
        int r;

        pthread_mutex_lock(&c->lock);
        if (c->removed || c->status == BERTH_STATUS_REMOVING) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(
                    err, EBUSY, "removal of container %.12s is already in progress", c->id);
        }
        if (berth_container_is_running(c) && !force) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(
                    err, EBUSY,
                    "You cannot remove a running container %s. Stop the container "
                    "before attempting removal or force remove",
                    c->id);
        }
        c->manual_stop = true;
        if (c->status == BERTH_STATUS_RESTARTING && c->pid == 0)
                c->status = BERTH_STATUS_EXITED;
        if (berth_container_is_running(c)) {
                if (c->status == BERTH_STATUS_PAUSED) {
                        pthread_mutex_unlock(&c->lock);
                        (void)berth_shim_kill(c->shim_socket, SIGKILL, NULL);
                        (void)berth_container_resume(&e->rt, c->id, NULL);
                } else {
                        pthread_mutex_unlock(&c->lock);
                        (void)berth_shim_kill(c->shim_socket, SIGKILL, NULL);
                }
                pthread_mutex_lock(&c->lock);
                if (!wait_stopped(c, 30000)) {
                        pthread_mutex_unlock(&c->lock);
                        return berth_engine_fail(err, EIO,
                                                 "could not kill running container %.12s, "
                                                 "cannot remove",
                                                 c->id);
                }
        }
        c->status = BERTH_STATUS_REMOVING;
        pthread_mutex_unlock(&c->lock);

        berth_health_stop(c);
        berth_engine_attach_cancel(c);
        umount_rootfs(c);
        berth_engine_table_remove(e, c);
        berth_engine_exec_drop_container(e, c->id);
        if (berth_image_get_by_id(e->images, c->image_id, &img, NULL) >= 0)
                (void)berth_image_release(e->images, img, c->id, NULL);
        (void)unlink(c->shim_socket);
        r = berth_rm_rf(c->run_dir, err);
        if (r >= 0)
                r = berth_rm_rf(c->dir, err);
        pthread_mutex_lock(&c->lock);
        c->removed = true;
        c->status = BERTH_STATUS_DEAD;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        berth_engine_emit_container(e, c, "destroy", NULL, false);
        return r;
}

static void autoremove(struct berth_container *c)
{
        (void)do_remove(c, true, NULL);
}

int berth_engine_container_remove(struct berth_engine *e, const char *ref, bool force, bool volumes,
                                  berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);

        (void)volumes; /* no anonymous volumes yet */
        if (r < 0)
                return r;
        return do_remove(c, force, err);
}

int berth_engine_container_rename(struct berth_engine *e, const char *ref, const char *name,
                                  berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_free char *old = NULL;
        json_object *attrs;
        int r;

        if (name == NULL || *name == '\0' || !valid_name(name))
                return berth_engine_fail(
                    err, EINVAL,
                    "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                    "allowed",
                    name ? name : "");
        r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        old = xstrdup(c->name);
        if (strcmp(old + 1, name[0] == '/' ? name + 1 : name) == 0) {
                pthread_mutex_unlock(&c->lock);
                return berth_engine_fail(err, EINVAL,
                                         "Renaming a container with the same name as its "
                                         "current name");
        }
        r = berth_engine_name_reserve(e, c, name, err);
        if (r >= 0)
                (void)berth_container_save(c, NULL);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        attrs = json_object_new_object();
        json_object_object_add(attrs, "oldName", json_object_new_string(old));
        berth_engine_emit_container(e, c, "rename", attrs, false);
        return 0;
}

/* ---- wait ---- */

struct berth_cancel {
        atomic_int refs;
        atomic_bool fired;
        pthread_mutex_t lock;
        /* The container a wait is blocked on, under lock (referenced). */
        struct berth_container *c;
};

struct berth_cancel *berth_cancel_new(void)
{
        struct berth_cancel *k = xmalloc0(sizeof(*k));
        atomic_init(&k->refs, 1);
        atomic_init(&k->fired, false);
        pthread_mutex_init(&k->lock, NULL);
        return k;
}

struct berth_cancel *berth_cancel_ref(struct berth_cancel *k)
{
        if (k)
                atomic_fetch_add(&k->refs, 1);
        return k;
}

void berth_cancel_unref(struct berth_cancel *k)
{
        if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
                return;
        pthread_mutex_destroy(&k->lock);
        free(k);
}

/* Lock order: k->lock, then c->lock (a wait takes c->lock only with k->lock
 * released), so the broadcast below cannot be lost: the waiter checks FIRED
 * under c->lock before each sleep. */
void berth_cancel_fire(struct berth_cancel *k)
{
        if (k == NULL)
                return;
        atomic_store(&k->fired, true);
        pthread_mutex_lock(&k->lock);
        if (k->c) {
                pthread_mutex_lock(&k->c->lock);
                pthread_cond_broadcast(&k->c->cond);
                pthread_mutex_unlock(&k->c->lock);
        }
        pthread_mutex_unlock(&k->lock);
}

static bool cancelled(struct berth_cancel *k)
{
        return k != NULL && atomic_load(&k->fired);
}

static void cancel_attach(struct berth_cancel *k, struct berth_container *c)
{
        if (k == NULL)
                return;
        pthread_mutex_lock(&k->lock);
        k->c = c ? berth_container_ref(c) : NULL;
        pthread_mutex_unlock(&k->lock);
}

static void cancel_detach(struct berth_cancel *k)
{
        struct berth_container *c;

        if (k == NULL)
                return;
        pthread_mutex_lock(&k->lock);
        c = steal_pointer(&k->c);
        pthread_mutex_unlock(&k->lock);
        if (c)
                berth_container_unref(c);
}

int berth_engine_container_wait(struct berth_engine *e, const char *ref, const char *condition,
                                int ready_fd, struct berth_cancel *cancel, json_object **ret,
                                berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        json_object *res;
        bool gone;
        int code;
        int r;

        if (condition == NULL || *condition == '\0')
                condition = "not-running";
        if (strcmp(condition, "not-running") != 0 && strcmp(condition, "next-exit") != 0 &&
            strcmp(condition, "removed") != 0)
                return berth_engine_fail(err, EINVAL, "invalid condition: \"%s\"", condition);
        r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        cancel_attach(cancel, c);
        pthread_mutex_lock(&c->lock);
        if (ready_fd >= 0)
                (void)TEMP_FAILURE_RETRY_INT(write(ready_fd, "", 1));
        if (strcmp(condition, "removed") == 0) {
                while (!c->removed && !e->closing && !cancelled(cancel))
                        cond_wait_until(c, -1);
        } else if (strcmp(condition, "next-exit") == 0) {
                uint64_t gen = c->exit_generation;
                while (c->exit_generation == gen && !c->removed && !e->closing &&
                       !cancelled(cancel))
                        cond_wait_until(c, -1);
        } else {
                while (berth_container_is_running(c) && !c->removed && !e->closing &&
                       !cancelled(cancel))
                        cond_wait_until(c, -1);
        }
        gone = cancelled(cancel);
        code = c->exit_code;
        if (!gone) {
                res = json_object_new_object();
                json_object_object_add(res, "StatusCode", json_object_new_int(code));
                if (c->error && *c->error) {
                        json_object *eo = json_object_new_object();
                        json_object_object_add(eo, "Message", json_object_new_string(c->error));
                        json_object_object_add(res, "Error", eo);
                } else {
                        json_object_object_add(res, "Error", NULL);
                }
        }
        pthread_mutex_unlock(&c->lock);
        cancel_detach(cancel);
        if (gone)
                return berth_fail(err, ECANCELED, "wait for `%s`: the client went away", ref);
        *ret = res;
        return 0;
}

/* ---- update ---- */

int berth_engine_container_update(struct berth_engine *e, const char *ref, json_object *body,
                                  json_object **ret, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_json json_object *hc = NULL;
        static const char *const keys[] = {"Memory",    "MemorySwap",  "MemoryReservation",
                                           "NanoCpus",  "CpuShares",   "CpuQuota",
                                           "CpuPeriod", "CpusetCpus",  "CpusetMems",
                                           "PidsLimit", "BlkioWeight", "RestartPolicy"};
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        if (body == NULL || !json_object_is_type(body, json_type_object))
                return berth_engine_fail(err, EINVAL, "update: the body must be a JSON object");
        pthread_mutex_lock(&c->lock);
        hc = json_tokener_parse(json_object_to_json_string(c->hostconfig));
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_object *v = berth_json_get(body, keys[i]);
                if (v == NULL)
                        continue;
                if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 0 &&
                    strcmp(keys[i], "PidsLimit") != 0)
                        continue;
                json_object_object_add(hc, keys[i], json_object_get(v));
        }
        r = berth_spec_check_hostconfig(hc, err);
        if (r >= 0 && berth_container_is_running(c)) {
                /* Build the new resources through the spec builder and hand
                 * them to the runtime. */
                json_object *saved = c->hostconfig;
                cleanup_json json_object *spec = NULL;
                cleanup_free char *rootfs = rootfs_path(c);
                c->hostconfig = hc;
                r = berth_spec_build(c, rootfs, &spec, err);
                c->hostconfig = saved;
                if (r >= 0) {
                        json_object *res =
                            berth_json_get(berth_json_get(spec, "linux"), "resources");
                        r = berth_container_update(&e->rt, c->id, res, err);
                }
        }
        if (r >= 0) {
                json_object_put(c->hostconfig);
                c->hostconfig = steal_pointer(&hc);
                r = berth_container_save(c, err);
        }
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        *ret = json_object_new_object();
        json_object_object_add(*ret, "Warnings", json_object_new_array());
        berth_engine_emit_container(e, c, "update", NULL, false);
        return 0;
}

/* ---- restore ---- */

int berth_engine_restore(struct berth_engine *e, berth_error **err)
{
        struct berth_container **v;
        size_t n;

        berth_engine_container_snapshot(e, &v, &n);
        for (size_t i = 0; i < n; i++) {
                struct berth_container *c = v[i];
                enum berth_shim_status st;
                pid_t pid = 0;
                bool was_running;

                pthread_mutex_lock(&c->lock);
                was_running = c->status == BERTH_STATUS_RUNNING ||
                              c->status == BERTH_STATUS_PAUSED ||
                              c->status == BERTH_STATUS_RESTARTING;
                pthread_mutex_unlock(&c->lock);
                if (!was_running)
                        continue;
                int sr = berth_shim_state(c->shim_socket, &st, &pid, NULL);
                if (sr >= 0 && st != BERTH_SHIM_EXITED) {
                        pthread_mutex_lock(&c->lock);
                        if (c->status == BERTH_STATUS_RESTARTING)
                                c->status = BERTH_STATUS_RUNNING;
                        c->pid = pid;
                        (void)berth_container_save(c, NULL);
                        pthread_mutex_unlock(&c->lock);
                        start_monitor(c);
                        berth_health_start(c);
                        continue;
                }
                if (sr >= 0) {
                        /* The shim still answers but the init is gone:
                         * the monitor collects the exit record. */
                        start_monitor(c);
                        continue;
                }
                /* No shim (a reboot, or the shim was killed): whatever the
                 * runtime still holds for the container (state directory,
                 * cgroup, a process left behind) is stale and would make the
                 * next start fail with "already exists". */
                (void)berth_container_delete(&e->rt, c->id, true, NULL);
                pthread_mutex_lock(&c->lock);
                if (c->status == BERTH_STATUS_RESTARTING && c->pid == 0)
                        c->status = BERTH_STATUS_RUNNING; /* let on_exit settle it */
                pthread_mutex_unlock(&c->lock);
                berth_container_on_exit(c);
        }
        /* After a reboot the rootfs mounts are gone: mount them again for the
         * containers that stay down (cp and export need them); the ones
         * started below mount their own. */
        for (size_t i = 0; i < n; i++) {
                struct berth_container *c = v[i];
                pthread_mutex_lock(&c->lock);
                if (!berth_container_is_running(c) && c->status != BERTH_STATUS_RESTARTING &&
                    !c->removed)
                        (void)mount_rootfs(c, NULL);
                pthread_mutex_unlock(&c->lock);
        }
        /* Policies that bring containers back with the daemon. */
        for (size_t i = 0; i < n; i++) {
                struct berth_container *c = v[i];
                int max;
                const char *p;
                bool start;

                pthread_mutex_lock(&c->lock);
                p = berth_restart_policy(c, &max);
                start = !berth_container_is_running(c) && c->status != BERTH_STATUS_RESTARTING &&
                        c->status != BERTH_STATUS_CREATED && c->has_been_started &&
                        (strcmp(p, "always") == 0 ||
                         (strcmp(p, "unless-stopped") == 0 && !c->manual_stop));
                pthread_mutex_unlock(&c->lock);
                if (start)
                        (void)berth_container_do_start(c, false, NULL);
        }
        berth_container_list_free(v, n);
        (void)err;
        return 0;
}
