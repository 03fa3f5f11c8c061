/* SPDX-License-Identifier: Apache-2.0 */
/* Cgroup managers (v1, including hybrid, and v2), internal to the runtime
 * module. A berth_cgroup is one container's cgroup: one directory per v1
 * hierarchy, or one directory in the v2 tree. The back-ends sit behind a
 * small table of function pointers (struct berth_cgroup_ops). */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

enum berth_cgroup_mode { BERTH_CGROUP_V1, BERTH_CGROUP_V2 }; /* V1 includes hybrid */

struct berth_cgroup; /* opaque */

struct berth_cgroup_opts {
        const char *root;       /* NULL => "/sys/fs/cgroup"; unit tests pass a temp dir */
        const char *id;         /* container id */
        const char *path;       /* linux.cgroupsPath, or NULL => "/berth/<id>" */
        json_object *resources; /* linux.resources (schema-validated), may be NULL */
        json_object *devices;   /* unused: the device rules are resources.devices */
        pid_t pid;              /* process to place in the cgroup (0 = none yet) */
        /* For tests: NULL => "/proc/self/mountinfo" (read once per process)
         * and "/proc/self/cgroup". */
        const char *mountinfo;
        const char *proc_cgroup;
};

/* Mode of the tree at ROOT (NULL => /sys/fs/cgroup): V2 when ROOT is a cgroup2
 * mount (or, for tests, a plain directory holding cgroup.controllers). */
int berth_cgroup_mode_detect(const char *root, enum berth_cgroup_mode *ret, berth_error **err);

/* mkdir in every hierarchy (intermediate directories too), apply the
 * resources, move o->pid in (when not 0). */
int berth_cgroup_create(const struct berth_cgroup_opts *o, struct berth_cgroup **ret,
                        berth_error **err);
/* Move PID into the cgroup (every hierarchy). */
int berth_cgroup_enter(struct berth_cgroup *cg, pid_t pid, berth_error **err);
/* Attaching a new process cheaply. Moving another process (cgroup.procs)
 * takes the kernel's global threadgroup lock, which waits for an RCU grace
 * period: milliseconds. Two ways avoid it:
 * - v1: the process moves itself, one thread at a time, by writing "0" to
 *   each hierarchy's `tasks` file (fds opened here, by the parent, written by
 *   the child: berth_cgroup_attach_self());
 * - v2: clone3(CLONE_INTO_CGROUP) with *ret_dirfd.
 * On return either ret_fds + ret_n (v1) or ret_dirfd (v2) is set; the other
 * is empty / -1. */
int berth_cgroup_attach_fds(const struct berth_cgroup *cg, int **ret_fds, size_t *ret_n,
                            int *ret_dirfd, berth_error **err);
/* In the child: write "0" to each fd (and close them). Async-signal-safe. */
int berth_cgroup_attach_self(const int *fds, size_t n);
/* Apply RESOURCES live; only the values present are written. */
int berth_cgroup_update(struct berth_cgroup *cg, json_object *resources, berth_error **err);
/* Freeze or thaw, and wait until the kernel reports the new state. */
int berth_cgroup_freeze(struct berth_cgroup *cg, bool frozen, berth_error **err);
int berth_cgroup_is_frozen(struct berth_cgroup *cg, bool *ret, berth_error **err);
/* Every process in the cgroup and below it. */
int berth_cgroup_pids(struct berth_cgroup *cg, pid_t **ret, size_t *ret_n, berth_error **err);
/* Signal every process (v2: cgroup.kill for SIGKILL when present). */
int berth_cgroup_kill(struct berth_cgroup *cg, int sig, berth_error **err);
/* rmdir in every hierarchy (sub-cgroups first); EBUSY is retried for a
 * short while; missing directories are fine. */
int berth_cgroup_destroy(struct berth_cgroup *cg, berth_error **err);
/* To persist in the container state, and back. ROOT (may be NULL) overrides
 * the saved root only when the saved document has none. */
/* One rmdir per hierarchy, no waiting: -EBUSY (nothing reported) as soon as
 * one still holds processes or sub-cgroups. The fast path after a
 * container's last process is gone. */
int berth_cgroup_destroy_if_empty(struct berth_cgroup *cg);
json_object *berth_cgroup_to_json(const struct berth_cgroup *cg);
int berth_cgroup_from_json(json_object *saved, const char *root, struct berth_cgroup **ret,
                           berth_error **err);
/* Statistics in the shape of runc's `events --stats` "data" object. */
int berth_cgroup_stats(struct berth_cgroup *cg, json_object **ret, berth_error **err);
/* The container's cgroup path relative to the hierarchy root, e.g.
 * "/berth/abc" (on v1 with a relative cgroupsPath: the path in the first
 * hierarchy). */
const char *berth_cgroup_relpath(const struct berth_cgroup *cg);
enum berth_cgroup_mode berth_cgroup_get_mode(const struct berth_cgroup *cg);
/* The absolute directory for CONTROLLER ("memory", "name=systemd"; on v2 any
 * controller gives the one directory), or NULL when it is not mounted. */
const char *berth_cgroup_dir(const struct berth_cgroup *cg, const char *controller);
void berth_cgroup_free(struct berth_cgroup *cg);

static inline void berth_cgroup_freep(struct berth_cgroup **cg)
{
        if (*cg != NULL)
                berth_cgroup_free(*cg);
        *cg = NULL;
}
#define cleanup_cgroup __attribute__((cleanup(berth_cgroup_freep)))

/* Resolve a linux.cgroupsPath: NULL => "/berth/<id>"; "slice:prefix:name"
 * => "/<expanded slice>/<prefix>-<name>.scope"; absolute paths are kept;
 * relative ones are returned as they are (the caller joins them to its own
 * cgroup). The result is normalised (no "//", no trailing "/"). */
int berth_cgroup_resolve_path(const char *path, const char *id, char **ret, berth_error **err);

/* ---- Internal to the cgroup area (cgroup*.c) ---- */

/* One v1 hierarchy as the container sees it. */
struct berth_cgroup_hier {
        char *controllers; /* "cpu,cpuacct", "name=systemd" */
        char *dir;         /* the container's directory in it */
};

struct berth_cgroup_ops {
        int (*create)(struct berth_cgroup *cg, json_object *resources, berth_error **err);
        int (*update)(struct berth_cgroup *cg, json_object *resources, berth_error **err);
        int (*freeze)(struct berth_cgroup *cg, bool frozen, berth_error **err);
        int (*is_frozen)(struct berth_cgroup *cg, bool *ret, berth_error **err);
        /* SIGKILL everything at once; -ENOTSUP when the back-end cannot. */
        int (*kill_all)(struct berth_cgroup *cg, berth_error **err);
        int (*stats)(struct berth_cgroup *cg, json_object *ret, berth_error **err);
};

struct berth_cgroup {
        enum berth_cgroup_mode mode;
        const struct berth_cgroup_ops *ops;
        char *root;                     /* e.g. /sys/fs/cgroup */
        char *relpath;                  /* e.g. /berth/abc */
        char *path;                     /* v2: the absolute directory */
        struct berth_cgroup_hier *hier; /* v1 */
        size_t n_hier;
};

extern const struct berth_cgroup_ops berth_cgroup_v1_ops;
/* Fill cg->hier (v1) or cg->path (v2) and cg->relpath for the resolved path
 * REL (absolute, or relative to the caller's own cgroup). */
int berth_cgroup_v1_setup(struct berth_cgroup *cg, const struct berth_cgroup_opts *o,
                          const char *rel, berth_error **err);
int berth_cgroup_v2_setup(struct berth_cgroup *cg, const struct berth_cgroup_opts *o,
                          const char *rel, berth_error **err);
/* The caller's own cgroup from PROC_CGROUP (NULL => /proc/self/cgroup) in the
 * v1 hierarchy holding CONTROLLERS ("cpu,cpuacct"), or the v2 one when
 * CONTROLLERS is NULL. */
int berth_cgroup_self_path(const char *proc_cgroup, const char *controllers, char **ret,
                           berth_error **err);
/* Helpers over resource objects: true when KEY is present (and not null). */
bool berth_cgroup_get_i64(json_object *o, const char *key, int64_t *ret);
bool berth_cgroup_get_u64(json_object *o, const char *key, uint64_t *ret);
extern const struct berth_cgroup_ops berth_cgroup_v2_ops;

/* Write VALUE to FILE in DIR: errors read "cgroup: write `FILE`=`VALUE`: ...". */
int berth_cgroup_write(const char *dir, const char *file, const char *value, berth_error **err);
int berth_cgroup_writef(const char *dir, const char *file, berth_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Read FILE in DIR (trailing newline stripped). */
int berth_cgroup_read(const char *dir, const char *file, char **ret, berth_error **err);
int berth_cgroup_read_u64(const char *dir, const char *file, uint64_t *ret, berth_error **err);
bool berth_cgroup_file_exists(const char *dir, const char *file);
/* mkdir -p DIR below BASE (BASE must exist); on each new directory call
 * HOOK(parent, child) when not NULL. */
int berth_cgroup_mkdirs(const char *base, const char *rel,
                        int (*hook)(const char *parent, const char *dir, void *data,
                                    berth_error **err),
                        void *data, berth_error **err);
/* Write V in decimal to FILE in DIR. */
int berth_cgroup_write_i64(const char *dir, const char *file, int64_t v, berth_error **err);
/* Write the non-empty ones of CPUS and MEMS to cpuset.cpus and cpuset.mems. */
int berth_cgroup_write_cpuset(const char *dir, const char *cpus, const char *mems,
                              berth_error **err);
/* The hugetlb file for a hugepageLimits ENTRY: "hugetlb.<pageSize>.<SUFFIX>";
 * a missing pageSize or one with a '/' is EINVAL. */
int berth_cgroup_hugetlb_file(json_object *entry, const char *suffix, char **ret,
                              berth_error **err);
/* Statistics: O[KEY] = V, and one {major, minor, op, value} blkio entry. */
void berth_cgroup_add_u64(json_object *o, const char *key, uint64_t v);
json_object *berth_cgroup_io_entry(unsigned major, unsigned minor, const char *op, uint64_t value);
/* Parse "key value" lines (cpu.stat, memory.stat) into a JSON object of ints. */
json_object *berth_cgroup_parse_kv(const char *text);
/* Move PID into DIR (cgroup.procs). */
int berth_cgroup_enter_dir(const char *dir, pid_t pid, berth_error **err);

/* v2 device filter (cgroup-bpf.c): build a BPF_PROG_TYPE_CGROUP_DEVICE
 * program from the OCI rules (last matching rule wins, default deny), load
 * it, attach it to DIRFD with BPF_F_ALLOW_MULTI and detach the programs
 * attached before (so that `update` replaces the filter). */
struct bpf_insn;
int berth_cgroup_bpf_build(json_object *rules, struct bpf_insn **ret, size_t *ret_n,
                           berth_error **err);
int berth_cgroup_bpf_apply(int dirfd, json_object *rules, berth_error **err);

#endif
