/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the runtime's lifecycle area: container state on disk, hooks,
 * the sync protocol with a container's init, and the init itself. */
#ifndef BERTH_RUNTIME_LIFECYCLE_H
#define BERTH_RUNTIME_LIFECYCLE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"
#include "util/error.h"

struct berth_caps;
struct berth_rlimits;
struct berth_seccomp;
struct berth_mounts;

/* ---- state.c ---- */

enum berth_status {
        BERTH_STATUS_CREATING,
        BERTH_STATUS_CREATED,
        BERTH_STATUS_RUNNING,
        BERTH_STATUS_PAUSED,
        BERTH_STATUS_STOPPED,
};

struct berth_state {
        char *id;
        char *dir;          /* STATE_ROOT/<id> */
        pid_t pid;          /* the init's pid in the runtime's pid namespace */
        uint64_t pid_start; /* its start time (field 22 of /proc/PID/stat) */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339 */
        char *owner;
        json_object *config; /* the validated config.json */
        json_object *cgroup; /* berth_cgroup_to_json(), or NULL */
        bool started;
};

const char *berth_status_name(enum berth_status s);
int berth_id_check(const char *id, berth_error **err);
char *berth_state_dir(const struct berth_runtime *rt, const char *id);
int berth_state_load(const struct berth_runtime *rt, const char *id, struct berth_state **ret,
                     berth_error **err);
int berth_state_save(const struct berth_state *st, berth_error **err);
/* The status, from the process, the exec socket and the freezer. */
enum berth_status berth_state_status(const struct berth_state *st);
/* The OCI state document for ST with STATUS. */
json_object *berth_state_to_oci(const struct berth_state *st, enum berth_status status);
void berth_state_free(struct berth_state *st);
static inline void berth_state_freep(struct berth_state **st)
{
        berth_state_free(*st);
        *st = NULL;
}
#define cleanup_state __attribute__((cleanup(berth_state_freep)))

/* Start time of PID (0 when it does not exist). */
uint64_t berth_pid_start_time(pid_t pid);
/* A pidfd for PID if it is still the process started at START, else -1. */
int berth_pidfd_checked(pid_t pid, uint64_t start);

/* ---- hooks.c ---- */

/* Run the hooks listed under config.hooks.NAME, each with STATE_JSON on
 * stdin and its timeout; the first failure stops and is returned. */
int berth_hooks_run(json_object *config, const char *name, const char *state_json,
                    berth_error **err);

/* ---- process.c: the sync protocol ---- */

enum berth_sync_type {
        BERTH_SYNC_GO = 1,     /* parent -> child: setup done; payload: state JSON */
        BERTH_SYNC_HOOKS,      /* child -> parent: run prestart/createRuntime now */
        BERTH_SYNC_HOOKS_DONE, /* parent -> child */
        BERTH_SYNC_READY,      /* child -> parent: waiting for start */
        BERTH_SYNC_START,      /* parent -> child (run, exec): go on to exec */
        BERTH_SYNC_ERROR,      /* child -> parent: payload: message; status: errno */
};

int berth_sync_send(int fd, enum berth_sync_type type, int status, const char *payload,
                    int pass_fd);
/* Receive a message; *ret_payload is allocated (may be empty); *ret_fd gets
 * a passed fd or -1. A closed peer is -EPIPE. */
int berth_sync_recv(int fd, enum berth_sync_type *ret_type, int *ret_status, char **ret_payload,
                    int *ret_fd);
/* Receive, expecting TYPE; an ERROR from the child becomes the error. */
int berth_sync_expect(int fd, enum berth_sync_type type, char **ret_payload, int *ret_fd,
                      berth_error **err);

/* Everything a container's init (or an exec'd process) needs, prepared in
 * the parent so that bad input fails before anything exists. */
struct berth_proc_cfg {
        json_object *config;  /* whole config (for exec: the container's) */
        json_object *process; /* the process to run */
        const char *id;
        const char *bundle;
        char *rootfs; /* absolute */
        struct berth_mounts *mounts;
        struct berth_caps *caps;
        struct berth_rlimits *rlimits;
        struct berth_seccomp *seccomp;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        bool no_new_privs;
        bool terminal;
        bool userns_new;
        bool no_new_keyring;
        bool is_exec;              /* joining a running container */
        unsigned long clone_flags; /* namespaces to create */
        int ns_fds[8];             /* namespaces to join (by path / of the container) */
        int ns_types[8];
        size_t n_ns;
        int sync_fd;        /* the child's end */
        int exec_listen_fd; /* create: the start socket; -1 when released by sync */
        int start_conn;     /* child: `start`'s connection, or -1 */
        int console_fd;     /* connected console socket, or -1 */
        int *cg_fds;        /* v1: `tasks` fds the child writes "0" to */
        size_t n_cg_fds;
        int cg_dirfd;       /* v2: clone3(CLONE_INTO_CGROUP) target, or -1 */
        bool cg_need_enter; /* set by spawn: the parent must move the child */
        int preserve_fds;
};
void berth_proc_cfg_clear(struct berth_proc_cfg *c);

/* Parse what a process needs (caps, rlimits, user) from PROCESS into C. */
int berth_proc_cfg_parse_process(struct berth_proc_cfg *c, json_object *process, berth_error **err);

/* Clone the child with C->clone_flags; the child runs the init (or exec)
 * sequence and never returns. Returns the child pid and a pidfd. */
int berth_proc_spawn(struct berth_proc_cfg *c, int parent_sync_fd, pid_t *ret_pid, int *ret_pidfd,
                     berth_error **err);

/* Write uid_map / gid_map of PID from the config's mappings. */
int berth_userns_write_maps(pid_t pid, json_object *linux_obj, berth_error **err);

/* After START: wait until the process has exec'd (the sync socket closes)
 * or has reported an error. */
int berth_sync_wait_exec(int sync_fd, berth_error **err);

/* console.c: receive the pty master sent on SOCK; relay it to our own
 * stdin/stdout until PID exits. */
int berth_console_recv_master(int sock, int *ret_fd, berth_error **err);
int berth_console_proxy_wait(pid_t pid, int pidfd, int master, int *ret_status, berth_error **err);

/* Wait for PIDFD's process to exit; return its status as a shell would
 * (0..255, 128+signal). Forwards the usual signals to PID meanwhile. */
int berth_proc_wait(pid_t pid, int pidfd, int *ret_status, berth_error **err);

#endif
