/* SPDX-License-Identifier: Apache-2.0 */
/* libberth's OCI runtime: the public interface of src/runtime.
 *
 * A container's state lives in STATE_ROOT/<id>/ (default /run/berth-oci):
 * state.json (written atomically) and, while the container is created but not
 * started, exec.sock on which its init waits for `start`. */
#ifndef BERTH_RUNTIME_RUNTIME_H
#define BERTH_RUNTIME_RUNTIME_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

#define BERTH_OCI_DEFAULT_ROOT "/run/berth-oci"

struct berth_runtime {
        const char *state_root; /* --root */
        bool systemd_cgroup;    /* --systemd-cgroup: accepted; cgroupfs is used */
};

struct berth_create_opts {
        const char *id;
        const char *bundle;         /* NULL => cwd */
        const char *console_socket; /* path of a unix socket to receive the pty master */
        const char *pid_file;
        int preserve_fds; /* fds 3 .. 3+N-1 are passed into the container */
        int listen_fds;   /* socket activation: sets LISTEN_FDS and LISTEN_PID=1 */
        bool no_new_keyring;
        bool no_pivot;
        /* Filled for `run`: after the container starts, wait for it. */
        bool detach;
};

/* create: everything but the user process; its init waits for start. */
int berth_container_create(const struct berth_runtime *rt, const struct berth_create_opts *o,
                           berth_error **err);
int berth_container_start(const struct berth_runtime *rt, const char *id, berth_error **err);
/* create + start; unless detached, wait and return the exit status
 * (0..255, 128+signal) in *ret_status and delete the container. */
int berth_container_run(const struct berth_runtime *rt, const struct berth_create_opts *o,
                        int *ret_status, berth_error **err);

/* The state document of the OCI spec (plus rootfs, created, owner). */
int berth_container_state(const struct berth_runtime *rt, const char *id, json_object **ret,
                          berth_error **err);
int berth_container_kill(const struct berth_runtime *rt, const char *id, int sig, bool all,
                         berth_error **err);
int berth_container_delete(const struct berth_runtime *rt, const char *id, bool force,
                           berth_error **err);
int berth_container_pause(const struct berth_runtime *rt, const char *id, berth_error **err);
int berth_container_resume(const struct berth_runtime *rt, const char *id, berth_error **err);
/* RESOURCES in the shape of linux.resources. */
int berth_container_update(const struct berth_runtime *rt, const char *id, json_object *resources,
                           berth_error **err);
int berth_container_pids(const struct berth_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
                         berth_error **err);
/* An array of state documents of every container under the root. */
int berth_container_list(const struct berth_runtime *rt, json_object **ret, berth_error **err);
/* `events --stats`: cgroup statistics. */
int berth_container_stats(const struct berth_runtime *rt, const char *id, json_object **ret,
                          berth_error **err);

struct berth_exec_opts {
        const char *id;
        json_object *process; /* an OCI "process" object */
        const char *console_socket;
        const char *pid_file;
        int preserve_fds;
        bool detach;
};
/* Run a process inside a running container; unless detached, wait and
 * return its exit status. */
int berth_container_exec(const struct berth_runtime *rt, const struct berth_exec_opts *o,
                         int *ret_status, berth_error **err);

/* `spec` and `features`. */
json_object *berth_runtime_spec_example(bool rootless);
json_object *berth_runtime_features(void);

/* Validate a config without running it (for tools and the daemon). */
int berth_runtime_validate_config(json_object *config, berth_error **err);

#endif
