/* SPDX-License-Identifier: Apache-2.0 */
/* The engine: Docker's container semantics on top of the runtime, the image
 * store and one shim per container. The public interface of src/engine,
 * used by the API layer (src/api). JSON in, JSON out, in the Docker Engine
 * API's own shapes (../shared/specs/docker-engine-api-v1.41.yaml), so that
 * the API layer stays a thin transport.
 *
 * Errors follow docs/error-handling.md; their status (errno) maps to HTTP:
 *   ENOENT -> 404, EEXIST / EBUSY -> 409, EINVAL / E2BIG -> 400,
 *   EALREADY -> 304 (start of a running / stop of a stopped container),
 *   EPERM / EACCES -> 403, ENOTSUP -> 501, anything else -> 500.
 * (berth_engine_http_status() does the mapping, by berth_errno_http_status()
 * of util/error.h, which the API layer uses too.)
 *
 * Threads: the API serves each connection on its own thread and calls these
 * concurrently; the engine locks per container, never across I/O on a whole
 * daemon lock. Streaming calls block the calling thread and write to the fd
 * they are given until the stream ends or the peer goes away (EPIPE). */
#ifndef BERTH_ENGINE_ENGINE_H
#define BERTH_ENGINE_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct berth_image_store;
struct berth_engine;
struct berth_cancel;

struct berth_engine_config {
        const char *data_root;        /* /var/lib/berth */
        const char *exec_root;        /* /run/berth */
        const char *shim_path;        /* the berth-shim binary */
        const char *init_path;        /* the berth-init binary, mounted for `run --init` */
        json_object *log_opts;        /* daemon.json "log-opts" (max-size, max-file), may be NULL */
        json_object *default_ulimits; /* daemon.json "default-ulimits", may be NULL */
};

int berth_engine_open(const struct berth_engine_config *cfg, struct berth_engine **ret,
                      berth_error **err);
/* Re-adopt the containers whose shims still run; restart those with a
 * restart policy that asks for it. Called once after open. */
int berth_engine_restore(struct berth_engine *e, berth_error **err);
void berth_engine_close(struct berth_engine *e);
struct berth_image_store *berth_engine_images(struct berth_engine *e);
int berth_engine_http_status(const berth_error *err);

/* ---- containers ---- */
/* BODY is the POST /containers/create body (ContainerConfig + HostConfig +
 * NetworkingConfig). Returns {"Id": ..., "Warnings": [...]}. */
int berth_engine_container_create(struct berth_engine *e, const char *name, json_object *body,
                                  json_object **ret, berth_error **err);
int berth_engine_container_start(struct berth_engine *e, const char *ref, berth_error **err);
/* timeout < 0: the container's StopTimeout (default 10 s). */
int berth_engine_container_stop(struct berth_engine *e, const char *ref, int timeout,
                                const char *signal, berth_error **err);
int berth_engine_container_restart(struct berth_engine *e, const char *ref, int timeout,
                                   berth_error **err);
int berth_engine_container_kill(struct berth_engine *e, const char *ref, const char *signal,
                                berth_error **err);
int berth_engine_container_pause(struct berth_engine *e, const char *ref, bool pause,
                                 berth_error **err);
/* force: kill a running one; volumes: remove its anonymous volumes. */
int berth_engine_container_remove(struct berth_engine *e, const char *ref, bool force, bool volumes,
                                  berth_error **err);
int berth_engine_container_rename(struct berth_engine *e, const char *ref, const char *name,
                                  berth_error **err);
/* GET /containers/json: all, limit, size, filters (the decoded JSON map). */
int berth_engine_container_list(struct berth_engine *e, bool all, int limit, bool size,
                                json_object *filters, json_object **ret, berth_error **err);
/* GET /containers/{id}/json (ContainerInspectResponse). */
int berth_engine_container_inspect(struct berth_engine *e, const char *ref, bool size,
                                   json_object **ret, berth_error **err);
/* POST /containers/{id}/wait: condition "not-running" | "next-exit" |
 * "removed". Blocks; *ret = {"StatusCode": n, "Error": null}.
 * READY_FD, when >= 0, gets one byte once the wait is armed (the API
 * sends its response headers then, as dockerd does). CANCEL (may be NULL)
 * ends the wait early with -ECANCELED. */
int berth_engine_container_wait(struct berth_engine *e, const char *ref, const char *condition,
                                int ready_fd, struct berth_cancel *cancel, json_object **ret,
                                berth_error **err);
/* A way to end a blocking wait early (its client went away): the wait given
 * CANCEL returns -ECANCELED once berth_cancel_fire() is called, from any
 * thread, before or during the wait. Reference counted. */
struct berth_cancel *berth_cancel_new(void);
struct berth_cancel *berth_cancel_ref(struct berth_cancel *k);
void berth_cancel_unref(struct berth_cancel *k);
void berth_cancel_fire(struct berth_cancel *k);
int berth_engine_container_top(struct berth_engine *e, const char *ref, const char *ps_args,
                               json_object **ret, berth_error **err);
int berth_engine_container_update(struct berth_engine *e, const char *ref, json_object *body,
                                  json_object **ret, berth_error **err);
int berth_engine_container_resize(struct berth_engine *e, const char *ref, int height, int width,
                                  berth_error **err);
/* A tar of the container's filesystem written to OUT_FD. */
int berth_engine_container_export(struct berth_engine *e, const char *ref, int out_fd,
                                  berth_error **err);
/* Archive endpoints (docker cp): stat as X-Docker-Container-Path-Stat JSON,
 * get writes a tar to OUT_FD, put extracts a tar read from IN_FD; every path
 * is resolved inside the container's root (symlink-safe). */
int berth_engine_container_path_stat(struct berth_engine *e, const char *ref, const char *path,
                                     json_object **ret, berth_error **err);
int berth_engine_container_archive_get(struct berth_engine *e, const char *ref, const char *path,
                                       int out_fd, berth_error **err);
/* PUT /containers/{id}/archive: extract the tar read from IN_FD into PATH.
 * COPY_UIDGID (docker cp -a): like dockerd, everything extracted is owned by
 * the container's Config.User (resolved in its /etc/passwd and /etc/group)
 * when it has one; otherwise, and without it, the tar's owners are kept. */
int berth_engine_container_archive_put(struct berth_engine *e, const char *ref, const char *path,
                                       int in_fd, bool no_overwrite_dir_non_dir, bool copy_uidgid,
                                       berth_error **err);
int berth_engine_container_prune(struct berth_engine *e, json_object *filters, json_object **ret,
                                 berth_error **err);

/* ---- logs, attach, exec, stats, events: streaming ---- */
struct berth_logs_opts {
        bool follow, out, err, timestamps;
        int64_t since_ns, until_ns; /* 0 = unbounded */
        long tail;                  /* -1 = all */
        bool tty;                   /* output raw (the container has a TTY) */
};
/* Writes Docker's multiplexed frames (or raw bytes for a TTY container). */
int berth_engine_container_logs(struct berth_engine *e, const char *ref,
                                const struct berth_logs_opts *o, int out_fd, berth_error **err);
/* Is the container's TTY on (decides framing before the stream starts)? */
int berth_engine_container_tty(struct berth_engine *e, const char *ref, bool *ret,
                               berth_error **err);
struct berth_attach_opts {
        bool in, out, err, logs, stream;
        const char *detach_keys;
};
/* SOCK_FD is the hijacked connection: stdin is read from it, output
 * written to it (multiplexed unless TTY). Returns when the stream ends. */
int berth_engine_container_attach(struct berth_engine *e, const char *ref,
                                  const struct berth_attach_opts *o, int sock_fd,
                                  berth_error **err);
/* POST /containers/{id}/exec -> {"Id"}; POST /exec/{id}/start with
 * SOCK_FD (hijacked) or -1 when Detach; /exec/{id}/json; /exec/{id}/resize. */
int berth_engine_exec_create(struct berth_engine *e, const char *ref, json_object *body,
                             json_object **ret, berth_error **err);
int berth_engine_exec_start(struct berth_engine *e, const char *exec_id, json_object *body,
                            int sock_fd, berth_error **err);
int berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, json_object **ret,
                              berth_error **err);
int berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, int height, int width,
                             berth_error **err);
/* One stats document, or a stream of them (one per second) as JSON lines. */
int berth_engine_container_stats(struct berth_engine *e, const char *ref, bool stream, int out_fd,
                                 berth_error **err);
/* Events as JSON lines: since/until in unix seconds (0 = none); filters as
 * the decoded JSON map. Without until, streams until the peer goes away. */
int berth_engine_events(struct berth_engine *e, int64_t since, int64_t until, json_object *filters,
                        int out_fd, berth_error **err);
/* Publish an event (the API publishes image events through this). It takes
 * over ATTRIBUTES (may be NULL): the caller must not put it afterwards. */
void berth_engine_emit(struct berth_engine *e, const char *type, const char *action, const char *id,
                       json_object *attributes);

/* ---- system ---- */
int berth_engine_info(struct berth_engine *e, json_object **ret, berth_error **err);
int berth_engine_df(struct berth_engine *e, json_object **ret, berth_error **err);

#endif
