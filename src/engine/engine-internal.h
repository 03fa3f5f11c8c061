/* SPDX-License-Identifier: Apache-2.0 */
/* Engine-internal state shared by the engine's files (store, lifecycle,
 * spec, restart, health, events, stats, archive) and the shim-facing files
 * (logs.c, attach.c). Not a public interface: src/api uses engine.h only.
 *
 * Locking:
 *  - e->lock protects the container table (the array, names, ids) and the
 *    exec table. It is a leaf lock: nothing else is taken while it is held,
 *    and it is never held across I/O. (c->lock, then e->lock briefly, is
 *    allowed; the reverse is not.)
 *  - c->lock protects every mutable field of a container. It may be held
 *    across short file writes (saving the container's JSON), never across a
 *    blocking wait on a process or a stream.
 *  - c->cond is broadcast (with c->lock held) on every state change, so that
 *    waiters (wait, attach, exec, health) can sleep on it.
 * Objects are reference counted: lookups return a new reference that the
 * caller drops with berth_container_unref() (cleanup_container). */
#ifndef BERTH_ENGINE_INTERNAL_H
#define BERTH_ENGINE_INTERNAL_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "runtime/runtime.h"
#include "util/error.h"

#define BERTH_ID_LEN 64

struct berth_events;
struct berth_health;

enum berth_container_status {
        BERTH_STATUS_CREATED,
        BERTH_STATUS_RUNNING,
        BERTH_STATUS_PAUSED,
        BERTH_STATUS_RESTARTING,
        BERTH_STATUS_REMOVING,
        BERTH_STATUS_EXITED,
        BERTH_STATUS_DEAD,
};
/* "created", "running", ... (Docker's State.Status words). */
const char *berth_container_status_name(enum berth_container_status s);

struct berth_container {
        /* Immutable after creation. */
        char id[BERTH_ID_LEN + 1];
        char *dir;         /* <data_root>/containers/<id> */
        char *run_dir;     /* <exec_root>/containers/<id>: bundle, shim socket */
        char *log_path;    /* <dir>/<id>-json.log */
        char *shim_socket; /* <exec_root>/s/<id[:24]>.sock (sun_path is short) */
        char *bundle;      /* <run_dir>/bundle (config.json, rootfs/) */
        bool tty, open_stdin, stdin_once;
        struct berth_engine *engine;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        int refs; /* atomic */

        /* Under c->lock. */
        char *name;              /* "/web" (with the leading slash, as Docker) */
        json_object *config;     /* "Config" (ContainerConfig, image defaults merged) */
        json_object *hostconfig; /* "HostConfig" as given, normalised */
        json_object *doc;        /* the whole config.v2.json document (Id, Created,
                                    Path, Args, Image, Name, ...); the fields below
                                    are written into it by berth_container_save */
        char *image_id;          /* sha256:... */
        char *image_name;        /* as the user wrote it ("busybox") */
        enum berth_container_status status;
        pid_t pid; /* the container's init on the host, 0 when not running */
        pid_t shim_pid;
        int exit_code;
        bool oom_killed;
        bool restarting_policy; /* a restart is scheduled by the policy */
        bool manual_stop;       /* stopped by the user: no policy restart */
        bool has_been_started;
        bool removed; /* gone from the table; waiters on "removed" wake */
        int restart_count;
        uint64_t exit_generation; /* increments on every exit (wait next-exit) */
        char *error;              /* State.Error */
        char *created;            /* RFC 3339 nano */
        char *started_at;         /* "0001-01-01T00:00:00Z" when never */
        char *finished_at;
        struct berth_health *health; /* NULL when the container has no health check */
        /* Set by the shim helper's files as needed (attach/exec state);
         * freed with priv_free when the container goes. */
        void *priv;
        void (*priv_free)(void *);
};

/* An exec instance (POST /containers/{id}/exec). */
struct berth_exec {
        char id[BERTH_ID_LEN + 1];
        char container_id[BERTH_ID_LEN + 1];
        json_object *config; /* the create body (Cmd, Env, User, Tty, ...) */
        /* Under e->lock. */
        bool running;
        bool started;
        bool has_exit_code;
        int exit_code;
        pid_t pid;
        int refs;
};

struct berth_engine {
        char *data_root;
        char *exec_root;
        char *shim_path;
        char *init_path;
        json_object *log_opts;        /* owned reference, may be NULL */
        json_object *default_ulimits; /* owned reference, may be NULL */
        struct berth_image_store *images;
        struct berth_runtime rt; /* state_root = <exec_root>/runtime */
        char *runtime_root;

        pthread_mutex_t lock;
        struct berth_container **containers; /* under lock */
        size_t n_containers, cap_containers;
        struct berth_exec **execs; /* under lock */
        size_t n_execs, cap_execs;

        struct berth_events *events;
        bool closing;
};

/* ---- container objects (store.c) ---- */

/* Look up by full id, name (with or without the leading "/") or a unique id
 * prefix. ENOENT: `No such container: REF`; EINVAL for an ambiguous prefix
 * (Docker answers 400... its message: "multiple IDs found with provided prefix"). */
int berth_engine_container_get(struct berth_engine *e, const char *ref,
                               struct berth_container **ret, berth_error **err);
struct berth_container *berth_container_ref(struct berth_container *c);
void berth_container_unref(struct berth_container *c);
static inline void berth_container_unrefp(struct berth_container **c)
{
        if (*c != NULL)
                berth_container_unref(*c);
        *c = NULL;
}
#define cleanup_container __attribute__((cleanup(berth_container_unrefp)))

/* Persist the container (config.v2.json + hostconfig.json, atomically).
 * Call with c->lock held. */
int berth_container_save(struct berth_container *c, berth_error **err);

/* Every container, each with a new reference (free with
 * berth_container_list_free). */
void berth_engine_container_snapshot(struct berth_engine *e, struct berth_container ***ret,
                                     size_t *ret_n);
void berth_container_list_free(struct berth_container **v, size_t n);

/* Table internals (store.c). */
struct berth_container *berth_container_alloc(struct berth_engine *e, const char *id);
void berth_engine_table_add(struct berth_engine *e, struct berth_container *c);
void berth_engine_table_remove(struct berth_engine *e, struct berth_container *c);
/* Reserve NAME ("x" or "/x") for C: sets c->name. EEXIST (Docker's
 * "Conflict. The container name ..." message) when another container has it. */
int berth_engine_name_reserve(struct berth_engine *e, struct berth_container *c, const char *name,
                              berth_error **err);

/* Like berth_fail() but the message is used as is (no strerror() text):
 * for Docker's own user-facing wording ("No such container: x"). */
int berth_engine_fail(berth_error **err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 64 random hex digits. */
void berth_engine_random_id(char out[BERTH_ID_LEN + 1]);

/* Is the container running (status running, paused or restarting with a
 * live init)? Call with c->lock held. */
bool berth_container_is_running(const struct berth_container *c);

/* ---- exec table (store.c) ---- */
/* Adds X (taking the reference) to the table. */
void berth_engine_exec_add(struct berth_engine *e, struct berth_exec *x);
/* ENOENT "No such exec instance: ID". Returns a new reference. */
int berth_engine_exec_get(struct berth_engine *e, const char *id, struct berth_exec **ret,
                          berth_error **err);
void berth_exec_unref(struct berth_engine *e, struct berth_exec *x);
/* Drop the execs of a container (on remove). */
void berth_engine_exec_drop_container(struct berth_engine *e, const char *container_id);

/* ---- the OCI process of a container, for exec and health (spec.c) ---- */
/* An OCI "process" object for running ARGV in the running container C with
 * the container's defaults (env, user, cwd, capabilities...), overridden by
 * USER / ENV / WORKDIR when not NULL. Call with c->lock held. */
int berth_container_exec_process(struct berth_container *c, char *const *argv, const char *user,
                                 char *const *env, const char *workdir, bool tty, bool privileged,
                                 json_object **ret, berth_error **err);

/* ---- lifecycle hooks used by the shim-facing files (lifecycle.c) ---- */
/* Engine-wide log options for a container (max-size bytes, max-file), from
 * the container's HostConfig.LogConfig, else daemon.json, else 10m / 3. */
void berth_container_log_limits(struct berth_container *c, int64_t *ret_max_size,
                                int *ret_max_file);

/* ---- events (events.c) ---- */
int berth_events_new(struct berth_events **ret);
void berth_events_free(struct berth_events *ev);
/* A container event with the container's name, image and labels as
 * attributes (EXTRA merged in, may be NULL; reference taken). Call WITHOUT
 * c->lock held... or with it: it only reads under the lock it is given. */
void berth_engine_emit_container(struct berth_engine *e, struct berth_container *c,
                                 const char *action, json_object *extra, bool locked);

/* ---- health (health.c) ---- */
/* Start / stop the health checker of a running container. */
void berth_health_start(struct berth_container *c);
void berth_health_stop(struct berth_container *c);
/* State.Health object or NULL (call with c->lock held). */
json_object *berth_health_json(struct berth_container *c);
/* "healthy", "unhealthy", "starting" or NULL. Call with c->lock held. */
const char *berth_health_status(struct berth_container *c);
void berth_health_free(struct berth_health *h);

#endif
