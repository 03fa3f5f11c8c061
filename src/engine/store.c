/* SPDX-License-Identifier: Apache-2.0 */
/* The engine object, the container table and its on-disk records
 * (<data_root>/containers/<id>/config.v2.json + hostconfig.json, written
 * atomically), lookup by id / name / prefix, the exec table. */
#include "engine-internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

const char *berth_container_status_name(enum berth_container_status s)
{
        switch (s) {
        case BERTH_STATUS_CREATED:
                return "created";
        case BERTH_STATUS_RUNNING:
                return "running";
        case BERTH_STATUS_PAUSED:
                return "paused";
        case BERTH_STATUS_RESTARTING:
                return "restarting";
        case BERTH_STATUS_REMOVING:
                return "removing";
        case BERTH_STATUS_EXITED:
                return "exited";
        case BERTH_STATUS_DEAD:
                return "dead";
        }
        return "unknown";
}

static int status_from_name(const char *s)
{
        static const char *const names[] = {"created",  "running", "paused", "restarting",
                                            "removing", "exited",  "dead"};
        for (size_t i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int)i;
        return BERTH_STATUS_EXITED;
}

int berth_engine_http_status(const berth_error *err)
{
        return berth_errno_http_status(berth_error_status(err));
}

int berth_engine_fail(berth_error **err, int status, const char *fmt, ...)
{
        va_list ap;
        bool fresh = err != NULL && *err == NULL;
        int r;

        va_start(ap, fmt);
        r = berth_failv(err, 0, fmt, ap);
        va_end(ap);
        if (fresh && *err != NULL)
                (*err)->status = status;
        return status > 0 ? -status : r;
}

void berth_engine_random_id(char out[BERTH_ID_LEN + 1])
{
        unsigned char b[32];
        size_t got = 0;

        while (got < sizeof(b)) {
                ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        abort();
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
        /* Docker never hands out an id that is all digits (it would be
         * taken for a number); nor do we. */
        if (strspn(out, "0123456789") == BERTH_ID_LEN)
                out[0] = 'a';
}

bool berth_container_is_running(const struct berth_container *c)
{
        return c->status == BERTH_STATUS_RUNNING || c->status == BERTH_STATUS_PAUSED ||
               (c->status == BERTH_STATUS_RESTARTING && c->pid > 0);
}

/* ---- objects ---- */

struct berth_container *berth_container_ref(struct berth_container *c)
{
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_SEQ_CST);
        return c;
}

void berth_container_unref(struct berth_container *c)
{
        if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0)
                return;
        if (c->priv_free != NULL && c->priv != NULL)
                c->priv_free(c->priv);
        if (c->health != NULL)
                berth_health_free(c->health);
        free(c->dir);
        free(c->run_dir);
        free(c->log_path);
        free(c->shim_socket);
        free(c->bundle);
        free(c->name);
        if (c->config)
                json_object_put(c->config);
        if (c->hostconfig)
                json_object_put(c->hostconfig);
        if (c->doc)
                json_object_put(c->doc);
        free(c->image_id);
        free(c->image_name);
        free(c->error);
        free(c->created);
        free(c->started_at);
        free(c->finished_at);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
}

struct berth_container *berth_container_alloc(struct berth_engine *e, const char *id)
{
        struct berth_container *c = xmalloc0(sizeof(*c));
        pthread_condattr_t ca;

        snprintf(c->id, sizeof(c->id), "%s", id);
        c->engine = e;
        c->refs = 1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        c->dir = xasprintf("%s/containers/%s", e->data_root, id);
        c->run_dir = xasprintf("%s/containers/%s", e->exec_root, id);
        c->log_path = xasprintf("%s/%s-json.log", c->dir, id);
        /* sun_path holds 108 bytes: a short name in <exec_root>/s/. */
        c->shim_socket = xasprintf("%s/s/%.24s.sock", e->exec_root, id);
        c->bundle = xasprintf("%s/bundle", c->run_dir);
        c->started_at = xstrdup("0001-01-01T00:00:00Z");
        c->finished_at = xstrdup("0001-01-01T00:00:00Z");
        return c;
}

static void set_str(json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Write OBJ durably to PATH unless PATH already holds exactly that: the
 * host config is saved with every state change but changes only on create
 * and update, and each durable write costs two fsyncs on the hot path of
 * `docker run`. */
static int write_if_changed(const char *path, json_object *obj, berth_error **err)
{
        size_t len, old_len = 0;
        const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
        cleanup_free char *old = NULL;

        if (berth_read_file(path, &old, &old_len, NULL) >= 0 && old_len == len &&
            memcmp(old, s, len) == 0)
                return 0;
        return berth_write_file_atomic(path, s, len, 0600, err);
}

int berth_container_save(struct berth_container *c, berth_error **err)
{
        cleanup_free char *cfg_path = xasprintf("%s/config.v2.json", c->dir);
        cleanup_free char *hc_path = xasprintf("%s/hostconfig.json", c->dir);
        json_object *doc = c->doc;
        json_object *st = json_object_new_object();
        int r;

        json_object_object_add(doc, "Id", json_object_new_string(c->id));
        set_str(doc, "Name", c->name);
        set_str(doc, "Created", c->created);
        set_str(doc, "Image", c->image_id);
        set_str(doc, "ImageName", c->image_name);
        json_object_object_add(doc, "Config", json_object_get(c->config));
        json_object_object_add(doc, "RestartCount", json_object_new_int(c->restart_count));
        json_object_object_add(doc, "HasBeenStarted", json_object_new_boolean(c->has_been_started));
        json_object_object_add(doc, "ManualStop", json_object_new_boolean(c->manual_stop));
        json_object_object_add(doc, "ShimPid", json_object_new_int(c->shim_pid));

        set_str(st, "Status", berth_container_status_name(c->status));
        json_object_object_add(st, "Pid", json_object_new_int(c->pid));
        json_object_object_add(st, "ExitCode", json_object_new_int(c->exit_code));
        json_object_object_add(st, "OOMKilled", json_object_new_boolean(c->oom_killed));
        set_str(st, "Error", c->error ? c->error : "");
        set_str(st, "StartedAt", c->started_at);
        set_str(st, "FinishedAt", c->finished_at);
        json_object_object_add(doc, "State", st);

        r = write_if_changed(hc_path, c->hostconfig, err);
        if (r < 0)
                return r;
        return berth_json_write_file_atomic(cfg_path, doc, err);
}

static int container_load(struct berth_engine *e, const char *id, struct berth_container **ret,
                          berth_error **err)
{
        struct berth_container *c = berth_container_alloc(e, id);
        cleanup_free char *cfg_path = xasprintf("%s/config.v2.json", c->dir);
        cleanup_free char *hc_path = xasprintf("%s/hostconfig.json", c->dir);
        json_object *st;
        int r;

        r = berth_json_parse_file(cfg_path, &c->doc, err);
        if (r >= 0)
                r = berth_json_parse_file(hc_path, &c->hostconfig, err);
        if (r < 0) {
                berth_container_unref(c);
                return r;
        }
        c->name = xstrdup(berth_json_str(c->doc, "Name") ?: "/");
        c->created = xstrdup(berth_json_str(c->doc, "Created") ?: "");
        c->image_id = xstrdup(berth_json_str(c->doc, "Image") ?: "");
        c->image_name = xstrdup(berth_json_str(c->doc, "ImageName") ?: "");
        c->config = json_object_get(berth_json_get(c->doc, "Config"));
        if (c->config == NULL)
                c->config = json_object_new_object();
        c->restart_count = (int)berth_json_int(c->doc, "RestartCount", 0);
        c->has_been_started = berth_json_bool(c->doc, "HasBeenStarted", false);
        c->manual_stop = berth_json_bool(c->doc, "ManualStop", false);
        c->shim_pid = (pid_t)berth_json_int(c->doc, "ShimPid", 0);
        c->tty = berth_json_bool(c->config, "Tty", false);
        c->open_stdin = berth_json_bool(c->config, "OpenStdin", false);
        c->stdin_once = berth_json_bool(c->config, "StdinOnce", false);
        st = berth_json_get(c->doc, "State");
        c->status = (enum berth_container_status)status_from_name(berth_json_str(st, "Status"));
        c->pid = (pid_t)berth_json_int(st, "Pid", 0);
        c->exit_code = (int)berth_json_int(st, "ExitCode", 0);
        c->oom_killed = berth_json_bool(st, "OOMKilled", false);
        if (berth_json_str(st, "Error") && *berth_json_str(st, "Error"))
                c->error = xstrdup(berth_json_str(st, "Error"));
        if (berth_json_str(st, "StartedAt")) {
                free(c->started_at);
                c->started_at = xstrdup(berth_json_str(st, "StartedAt"));
        }
        if (berth_json_str(st, "FinishedAt")) {
                free(c->finished_at);
                c->finished_at = xstrdup(berth_json_str(st, "FinishedAt"));
        }
        *ret = c;
        return 0;
}

/* ---- the table ---- */

void berth_engine_table_add(struct berth_engine *e, struct berth_container *c)
{
        pthread_mutex_lock(&e->lock);
        if (e->n_containers == e->cap_containers) {
                e->cap_containers = e->cap_containers ? e->cap_containers * 2 : 16;
                e->containers = xrealloc(e->containers, e->cap_containers * sizeof(*e->containers));
        }
        e->containers[e->n_containers++] = berth_container_ref(c);
        pthread_mutex_unlock(&e->lock);
}

void berth_engine_table_remove(struct berth_engine *e, struct berth_container *c)
{
        bool found = false;

        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < e->n_containers; i++)
                if (e->containers[i] == c) {
                        e->containers[i] = e->containers[--e->n_containers];
                        found = true;
                        break;
                }
        pthread_mutex_unlock(&e->lock);
        if (found)
                berth_container_unref(c);
}

/* Is NAME ("/x") used by a container other than SELF? Under e->lock. */
static bool name_taken_locked(struct berth_engine *e, const char *name,
                              struct berth_container *self, char ret_id[BERTH_ID_LEN + 1])
{
        for (size_t i = 0; i < e->n_containers; i++) {
                struct berth_container *c = e->containers[i];
                if (c == self)
                        continue;
                /* Names are immutable except through rename, which holds
                 * e->lock while swapping the pointer. */
                if (c->name != NULL && strcmp(c->name, name) == 0) {
                        if (ret_id)
                                snprintf(ret_id, BERTH_ID_LEN + 1, "%s", c->id);
                        return true;
                }
        }
        return false;
}

int berth_engine_name_reserve(struct berth_engine *e, struct berth_container *c, const char *name,
                              berth_error **err)
{
        char other[BERTH_ID_LEN + 1];
        cleanup_free char *full = xasprintf("%s%s", name[0] == '/' ? "" : "/", name);
        char *old;

        pthread_mutex_lock(&e->lock);
        if (name_taken_locked(e, full, c, other)) {
                pthread_mutex_unlock(&e->lock);
                return berth_engine_fail(err, EEXIST,
                                         "Conflict. The container name \"%s\" is already in use by "
                                         "container \"%s\". You have to remove (or rename) that "
                                         "container to be able to reuse that name.",
                                         full, other);
        }
        old = c->name;
        c->name = steal_pointer(&full);
        pthread_mutex_unlock(&e->lock);
        free(old);
        return 0;
}

int berth_engine_container_get(struct berth_engine *e, const char *ref,
                               struct berth_container **ret, berth_error **err)
{
        struct berth_container *found = NULL;
        size_t n_prefix = 0, len;
        const char *name = ref;

        if (ref == NULL || *ref == '\0')
                return berth_engine_fail(err, ENOENT, "No such container: ");
        len = strlen(ref);
        pthread_mutex_lock(&e->lock);
        /* Full id, then name, then a unique id prefix (Docker's order). */
        for (size_t i = 0; i < e->n_containers && !found; i++)
                if (strcmp(e->containers[i]->id, ref) == 0)
                        found = e->containers[i];
        if (name[0] == '/')
                name++;
        for (size_t i = 0; i < e->n_containers && !found; i++) {
                const char *cn = e->containers[i]->name;
                if (cn && strcmp(cn + (cn[0] == '/'), name) == 0)
                        found = e->containers[i];
        }
        if (!found && len <= BERTH_ID_LEN && strspn(ref, "0123456789abcdef") == len) {
                for (size_t i = 0; i < e->n_containers; i++)
                        if (strncmp(e->containers[i]->id, ref, len) == 0) {
                                if (n_prefix++ == 0)
                                        found = e->containers[i];
                        }
                if (n_prefix > 1) {
                        pthread_mutex_unlock(&e->lock);
                        return berth_engine_fail(
                            err, EINVAL, "multiple IDs found with provided prefix: %s", ref);
                }
        }
        if (found)
                berth_container_ref(found);
        pthread_mutex_unlock(&e->lock);
        if (!found)
                return berth_engine_fail(err, ENOENT, "No such container: %s", ref);
        *ret = found;
        return 0;
}

void berth_engine_container_snapshot(struct berth_engine *e, struct berth_container ***ret,
                                     size_t *ret_n)
{
        struct berth_container **v;

        pthread_mutex_lock(&e->lock);
        v = xcalloc(e->n_containers + 1, sizeof(*v));
        for (size_t i = 0; i < e->n_containers; i++)
                v[i] = berth_container_ref(e->containers[i]);
        *ret_n = e->n_containers;
        pthread_mutex_unlock(&e->lock);
        *ret = v;
}

void berth_container_list_free(struct berth_container **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                berth_container_unref(v[i]);
        free(v);
}

/* ---- exec table ---- */

void berth_engine_exec_add(struct berth_engine *e, struct berth_exec *x)
{
        pthread_mutex_lock(&e->lock);
        if (e->n_execs == e->cap_execs) {
                e->cap_execs = e->cap_execs ? e->cap_execs * 2 : 16;
                e->execs = xrealloc(e->execs, e->cap_execs * sizeof(*e->execs));
        }
        e->execs[e->n_execs++] = x;
        pthread_mutex_unlock(&e->lock);
}

int berth_engine_exec_get(struct berth_engine *e, const char *id, struct berth_exec **ret,
                          berth_error **err)
{
        struct berth_exec *found = NULL;

        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < e->n_execs && !found; i++)
                if (strcmp(e->execs[i]->id, id) == 0)
                        found = e->execs[i];
        if (found)
                found->refs++;
        pthread_mutex_unlock(&e->lock);
        if (!found)
                return berth_engine_fail(err, ENOENT, "No such exec instance: %s", id);
        *ret = found;
        return 0;
}

static void exec_free(struct berth_exec *x)
{
        if (x->config)
                json_object_put(x->config);
        free(x);
}

void berth_exec_unref(struct berth_engine *e, struct berth_exec *x)
{
        bool last;

        if (x == NULL)
                return;
        pthread_mutex_lock(&e->lock);
        last = --x->refs == 0;
        pthread_mutex_unlock(&e->lock);
        if (last)
                exec_free(x);
}

void berth_engine_exec_drop_container(struct berth_engine *e, const char *container_id)
{
        struct berth_exec **drop;
        size_t n_drop = 0;

        pthread_mutex_lock(&e->lock);
        drop = xcalloc(e->n_execs + 1, sizeof(*drop));
        for (size_t i = 0; i < e->n_execs;) {
                if (strcmp(e->execs[i]->container_id, container_id) == 0) {
                        struct berth_exec *x = e->execs[i];
                        e->execs[i] = e->execs[--e->n_execs];
                        if (--x->refs == 0)
                                drop[n_drop++] = x;
                } else {
                        i++;
                }
        }
        pthread_mutex_unlock(&e->lock);
        for (size_t i = 0; i < n_drop; i++)
                exec_free(drop[i]);
        free(drop);
}

/* ---- the engine ---- */

static int load_containers(struct berth_engine *e, berth_error **err)
{
        cleanup_free char *dir = xasprintf("%s/containers", e->data_root);
        cleanup_closedir DIR *d = opendir(dir);
        struct dirent *de;

        if (d == NULL)
                return berth_fail(err, errno, "open `%s`", dir);
        while ((de = readdir(d)) != NULL) {
                struct berth_container *c = NULL;
                if (strlen(de->d_name) != BERTH_ID_LEN)
                        continue;
                if (container_load(e, de->d_name, &c, NULL) < 0)
                        continue; /* a half-created container: the record is written last */
                berth_engine_table_add(e, c);
                berth_container_unref(c);
        }
        return 0;
}

int berth_engine_open(const struct berth_engine_config *cfg, struct berth_engine **ret,
                      berth_error **err)
{
        struct berth_engine *e = xmalloc0(sizeof(*e));
        cleanup_free char *cdir = NULL, *rdir = NULL;
        int r;

        e->data_root = xstrdup(cfg->data_root ? cfg->data_root : "/var/lib/berth");
        e->exec_root = xstrdup(cfg->exec_root ? cfg->exec_root : "/run/berth");
        e->shim_path = xstrdup(cfg->shim_path ? cfg->shim_path : "berth-shim");
        e->init_path = xstrdup(cfg->init_path ? cfg->init_path : "berth-init");
        e->log_opts = cfg->log_opts ? json_object_get(cfg->log_opts) : NULL;
        e->default_ulimits = cfg->default_ulimits ? json_object_get(cfg->default_ulimits) : NULL;
        e->runtime_root = xasprintf("%s/runtime", e->exec_root);
        e->rt.state_root = e->runtime_root;
        pthread_mutex_init(&e->lock, NULL);

        cdir = xasprintf("%s/containers", e->data_root);
        rdir = xasprintf("%s/containers", e->exec_root);
        r = berth_mkdir_p(cdir, 0710, err);
        if (r >= 0)
                r = berth_mkdir_p(rdir, 0710, err);
        if (r >= 0)
                r = berth_mkdir_p(e->runtime_root, 0700, err);
        if (r >= 0) {
                cleanup_free char *sdir = xasprintf("%s/s", e->exec_root);
                r = berth_mkdir_p(sdir, 0700, err);
        }
        if (r >= 0)
                r = berth_image_store_open(e->data_root, &e->images, err);
        if (r >= 0)
                r = berth_events_new(&e->events);
        if (r >= 0)
                r = load_containers(e, err);
        if (r < 0) {
                berth_engine_close(e);
                return berth_error_prefix(err, r, "open the engine");
        }
        *ret = e;
        return 0;
}

void berth_engine_close(struct berth_engine *e)
{
        if (e == NULL)
                return;
        e->closing = true;
        for (size_t i = 0; i < e->n_containers; i++) {
                struct berth_container *c = e->containers[i];
                pthread_mutex_lock(&c->lock);
                pthread_cond_broadcast(&c->cond);
                pthread_mutex_unlock(&c->lock);
                berth_container_unref(c);
        }
        free(e->containers);
        for (size_t i = 0; i < e->n_execs; i++)
                exec_free(e->execs[i]);
        free(e->execs);
        if (e->events)
                berth_events_free(e->events);
        if (e->images)
                berth_image_store_free(e->images);
        if (e->log_opts)
                json_object_put(e->log_opts);
        if (e->default_ulimits)
                json_object_put(e->default_ulimits);
        free(e->data_root);
        free(e->exec_root);
        free(e->shim_path);
        free(e->init_path);
        free(e->runtime_root);
        pthread_mutex_destroy(&e->lock);
        free(e);
}

struct berth_image_store *berth_engine_images(struct berth_engine *e)
{
        return e->images;
}
