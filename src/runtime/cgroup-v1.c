/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v1 manager (also used on hybrid hosts, where the unified mount
 * is ignored for resources). One directory per mounted hierarchy. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_HIERARCHIES   32
#define FREEZE_TIMEOUT_NS (10LL * 1000000000LL)

/* /proc/self/mountinfo is read once per process: mounts of cgroup
 * hierarchies do not change under a running engine. */
static pthread_mutex_t mountinfo_lock = PTHREAD_MUTEX_INITIALIZER;
static char *mountinfo_cache;

static int read_mountinfo(const char *file, char **ret, berth_error **err)
{
        int r = 0;

        if (file != NULL) {
                r = berth_read_file(file, ret, NULL, err);
                return r < 0 ? berth_error_prefix(err, r, "cgroup") : 0;
        }
        pthread_mutex_lock(&mountinfo_lock);
        if (mountinfo_cache == NULL)
                r = berth_read_file("/proc/self/mountinfo", &mountinfo_cache, NULL, err);
        if (r == 0)
                *ret = xstrdup(mountinfo_cache);
        pthread_mutex_unlock(&mountinfo_lock);
        return r < 0 ? berth_error_prefix(err, r, "cgroup") : 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *w++ = *p;
                }
        }
        *w = '\0';
}

/* Mount options of a v1 cgroup mount that are not controllers. */
static bool is_controller_opt(const char *o)
{
        static const char *const not_ctrl[] = {
            "rw",   "ro",  "noprefix",    "clone_children", "xattr", "cpuset_v2_mode",
            "none", "all", "favordynmods"};
        for (size_t i = 0; i < sizeof(not_ctrl) / sizeof(not_ctrl[0]); i++)
                if (strcmp(o, not_ctrl[i]) == 0)
                        return false;
        return !berth_str_has_prefix(o, "release_agent=");
}

struct v1_mount {
        char *controllers;
        char *mountpoint;
        char *mroot; /* the mount's root inside the hierarchy */
};

static void free_mounts(struct v1_mount *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].controllers);
                free(m[i].mountpoint);
                free(m[i].mroot);
        }
}

/* The v1 hierarchies mounted under ROOT. */
static int list_mounts(const char *file, const char *root, struct v1_mount *out, size_t *ret_n,
                       berth_error **err)
{
        cleanup_free char *text = NULL;
        size_t n = 0, rootlen = strlen(root);
        char *save = NULL;
        int r = read_mountinfo(file, &text, err);

        if (r < 0)
                return r;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *f[5], *s2 = NULL, *sep = strstr(l, " - ");
                char *fs, *src, *super;
                int i = 0;
                if (sep == NULL)
                        continue;
                *sep = '\0';
                for (char *t = strtok_r(l, " ", &s2); t && i < 5; t = strtok_r(NULL, " ", &s2))
                        f[i++] = t;
                if (i < 5)
                        continue;
                fs = strtok_r(sep + 3, " ", &s2);
                src = fs ? strtok_r(NULL, " ", &s2) : NULL;
                super = src ? strtok_r(NULL, " ", &s2) : NULL;
                if (super == NULL || strcmp(fs, "cgroup") != 0)
                        continue;
                unescape(f[3]);
                unescape(f[4]);
                if (strncmp(f[4], root, rootlen) != 0 || f[4][rootlen] != '/')
                        continue;
                /* Controllers, in the order of the super options. */
                cleanup_free char *ctrls = xstrdup("");
                char *s3 = NULL;
                for (char *o = strtok_r(super, ",", &s3); o; o = strtok_r(NULL, ",", &s3)) {
                        if (!is_controller_opt(o))
                                continue;
                        char *next = xasprintf("%s%s%s", ctrls, ctrls[0] ? "," : "", o);
                        free(ctrls);
                        ctrls = next;
                }
                if (ctrls[0] == '\0')
                        continue;
                bool dup = false;
                for (size_t j = 0; j < n; j++)
                        dup = dup || strcmp(out[j].controllers, ctrls) == 0;
                if (dup || n == MAX_HIERARCHIES)
                        continue;
                out[n].controllers = steal_pointer(&ctrls);
                out[n].mountpoint = xstrdup(f[4]);
                out[n].mroot = xstrdup(f[3]);
                n++;
        }
        *ret_n = n;
        return 0;
}

int berth_cgroup_v1_setup(struct berth_cgroup *cg, const struct berth_cgroup_opts *o,
                          const char *rel, berth_error **err)
{
        struct v1_mount m[MAX_HIERARCHIES];
        size_t n = 0;
        int r;

        r = list_mounts(o->mountinfo, cg->root, m, &n, err);
        if (r < 0)
                return r;
        if (n == 0)
                return berth_fail(err, ENOENT, "cgroup: no v1 hierarchy is mounted under `%s`",
                                  cg->root);
        cg->hier = xcalloc(n, sizeof(*cg->hier));
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *inh = NULL; /* path inside the hierarchy */
                if (rel[0] == '/') {
                        inh = xstrdup(rel);
                } else {
                        cleanup_free char *self = NULL;
                        r = berth_cgroup_self_path(o->proc_cgroup, m[i].controllers, &self, err);
                        if (r < 0)
                                break;
                        /* Our own path is relative to the hierarchy's root;
                         * the mount shows it from m.mroot down. */
                        const char *s = self;
                        size_t ml = strlen(m[i].mroot);
                        if (strcmp(m[i].mroot, "/") != 0 && strncmp(s, m[i].mroot, ml) == 0)
                                s += ml;
                        inh = xasprintf("%s/%s", strcmp(s, "/") == 0 ? "" : s, rel);
                }
                cg->hier[i].controllers = xstrdup(m[i].controllers);
                cg->hier[i].dir = xasprintf("%s%s", m[i].mountpoint, inh);
                cg->n_hier++;
                if (cg->relpath == NULL)
                        cg->relpath = steal_pointer(&inh);
        }
        free_mounts(m, n);
        return r < 0 ? r : 0;
}

/* ---- Creation ---- */

/* A new cpuset directory starts with empty cpus and mems, where no task can
 * run: copy the parent's values first. */
static int cpuset_hook(const char *parent, const char *dir, void *data, berth_error **err)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

        for (size_t i = 0; i < 2; i++) {
                cleanup_free char *cur = NULL;
                cleanup_free char *pv = NULL;
                int r = berth_cgroup_read(dir, files[i], &cur, err);
                if (r < 0)
                        return r;
                if (cur[0] != '\0')
                        continue;
                r = berth_cgroup_read(parent, files[i], &pv, err);
                if (r < 0)
                        return r;
                if (pv[0] == '\0')
                        continue;
                r = berth_cgroup_write(dir, files[i], pv, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_apply(struct berth_cgroup *cg, json_object *res, bool creating, berth_error **err);

static int v1_create(struct berth_cgroup *cg, json_object *resources, berth_error **err)
{
        size_t rootlen = strlen(cg->root);
        int r;

        for (size_t i = 0; i < cg->n_hier; i++) {
                const struct berth_cgroup_hier *h = &cg->hier[i];
                /* dir = <root>/<mount name><relpath-in-hierarchy>. */
                const char *after_root = h->dir + rootlen + 1;
                const char *slash = strchr(after_root, '/');
                if (slash == NULL)
                        return berth_fail(err, EINVAL, "cgroup: bad directory `%s`", h->dir);
                cleanup_free char *base = xstrndup(h->dir, (size_t)(slash - h->dir));
                bool cpuset = strcmp(h->controllers, "cpuset") == 0 ||
                              strstr(h->controllers, "cpuset") != NULL;
                r = berth_cgroup_mkdirs(base, slash, cpuset ? cpuset_hook : NULL, NULL, err);
                if (r < 0)
                        return r;
        }
        return v1_apply(cg, resources, true, err);
}

/* ---- Resources ---- */

static int need_dir(struct berth_cgroup *cg, const char *ctrl, const char *what, const char **ret,
                    berth_error **err)
{
        const char *d = berth_cgroup_dir(cg, ctrl);
        if (d == NULL)
                return berth_fail(err, ENOTSUP,
                                  "cgroup: `%s` is set but the `%s` controller is not mounted",
                                  what, ctrl);
        *ret = d;
        return 0;
}

static int v1_memory(struct berth_cgroup *cg, json_object *mem, berth_error **err)
{
        int64_t limit = 0, swap = 0, reservation, swappiness;
        bool has_limit = berth_cgroup_get_i64(mem, "limit", &limit);
        bool has_swap = berth_cgroup_get_i64(mem, "swap", &swap);
        const char *d = NULL;
        int r;

        if (json_object_object_length(mem) == 0)
                return 0;
        r = need_dir(cg, "memory", "memory", &d, err);
        if (r < 0)
                return r;
        if (has_limit && limit == 0)
                has_limit = false;
        if (has_swap && swap == 0)
                has_swap = false;
        if (has_swap && !berth_cgroup_file_exists(d, "memory.memsw.limit_in_bytes"))
                return berth_fail(err, ENOTSUP,
                                  "cgroup: memory.swap is set but `memory.memsw.limit_in_bytes` "
                                  "does not exist (is swap accounting enabled?)");
        if (has_limit && has_swap) {
                /* The spec's swap is memory+swap, as memsw: order the writes
                 * so that memsw >= memory holds at every step. */
                uint64_t cur = 0;
                r = berth_cgroup_read_u64(d, "memory.limit_in_bytes", &cur, err);
                if (r < 0)
                        return r;
                if (swap == -1 || (uint64_t)swap > cur) {
                        if ((r = berth_cgroup_write_i64(d, "memory.memsw.limit_in_bytes", swap,
                                                        err)) < 0 ||
                            (r = berth_cgroup_write_i64(d, "memory.limit_in_bytes", limit, err)) <
                                0)
                                return r;
                } else {
                        if ((r = berth_cgroup_write_i64(d, "memory.limit_in_bytes", limit, err)) <
                                0 ||
                            (r = berth_cgroup_write_i64(d, "memory.memsw.limit_in_bytes", swap,
                                                        err)) < 0)
                                return r;
                }
        } else if (has_limit) {
                r = berth_cgroup_write_i64(d, "memory.limit_in_bytes", limit, err);
                if (r < 0)
                        return r;
        } else if (has_swap) {
                r = berth_cgroup_write_i64(d, "memory.memsw.limit_in_bytes", swap, err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_i64(mem, "reservation", &reservation) && reservation != 0) {
                r = berth_cgroup_write_i64(d, "memory.soft_limit_in_bytes", reservation, err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_i64(mem, "swappiness", &swappiness) && swappiness >= 0 &&
            swappiness <= 100) {
                r = berth_cgroup_write_i64(d, "memory.swappiness", swappiness, err);
                if (r < 0)
                        return r;
        }
        if (berth_json_bool(mem, "disableOOMKiller", false)) {
                r = berth_cgroup_write(d, "memory.oom_control", "1", err);
                if (r < 0)
                        return r;
        }
        /* kernel and kernelTCP are deprecated: ignored, as runc does. */
        return 0;
}

static int v1_cpu(struct berth_cgroup *cg, json_object *cpu, berth_error **err)
{
        int64_t quota = 0, rt_runtime = 0, idle = 0;
        uint64_t shares = 0, period = 0, rt_period = 0, burst = 0;
        bool has_shares = berth_cgroup_get_u64(cpu, "shares", &shares) && shares != 0;
        bool has_quota = berth_cgroup_get_i64(cpu, "quota", &quota) && quota != 0;
        bool has_period = berth_cgroup_get_u64(cpu, "period", &period) && period != 0;
        bool has_rtr = berth_cgroup_get_i64(cpu, "realtimeRuntime", &rt_runtime) && rt_runtime != 0;
        bool has_rtp = berth_cgroup_get_u64(cpu, "realtimePeriod", &rt_period) && rt_period != 0;
        bool has_idle = berth_cgroup_get_i64(cpu, "idle", &idle);
        bool has_burst = berth_cgroup_get_u64(cpu, "burst", &burst);
        const char *cpus = berth_json_str(cpu, "cpus");
        const char *mems = berth_json_str(cpu, "mems");
        const char *d = NULL;
        int r;

        if (has_shares || has_quota || has_period || has_rtr || has_rtp || has_idle || has_burst) {
                r = need_dir(cg, "cpu", "cpu", &d, err);
                if (r < 0)
                        return r;
                if (has_shares && (r = berth_cgroup_writef(d, "cpu.shares", err, "%llu",
                                                           (unsigned long long)shares)) < 0)
                        return r;
                if (has_period) {
                        r = berth_cgroup_writef(d, "cpu.cfs_period_us", NULL, "%llu",
                                                (unsigned long long)period);
                        /* A new period may conflict with the current quota:
                         * write the quota first then. */
                        if (r < 0 && has_quota) {
                                if ((r = berth_cgroup_write_i64(d, "cpu.cfs_quota_us", quota,
                                                                err)) < 0)
                                        return r;
                        }
                        if (r < 0 && (r = berth_cgroup_writef(d, "cpu.cfs_period_us", err, "%llu",
                                                              (unsigned long long)period)) < 0)
                                return r;
                }
                if (has_quota &&
                    (r = berth_cgroup_write_i64(d, "cpu.cfs_quota_us", quota, err)) < 0)
                        return r;
                if (has_burst && (r = berth_cgroup_writef(d, "cpu.cfs_burst_us", err, "%llu",
                                                          (unsigned long long)burst)) < 0)
                        return r;
                if (has_rtp && (r = berth_cgroup_writef(d, "cpu.rt_period_us", err, "%llu",
                                                        (unsigned long long)rt_period)) < 0)
                        return r;
                if (has_rtr &&
                    (r = berth_cgroup_write_i64(d, "cpu.rt_runtime_us", rt_runtime, err)) < 0)
                        return r;
                if (has_idle && (r = berth_cgroup_write_i64(d, "cpu.idle", idle, err)) < 0)
                        return r;
        }
        if ((cpus && cpus[0]) || (mems && mems[0])) {
                r = need_dir(cg, "cpuset", "cpu.cpus", &d, err);
                if (r < 0)
                        return r;
                return berth_cgroup_write_cpuset(d, cpus, mems, err);
        }
        return 0;
}

/* Write "major:minor value" for each entry of ARR to FILE. */
static int write_devices(const char *d, const char *file, json_object *arr, const char *key,
                         berth_error **err)
{
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                int64_t v;
                if (!berth_cgroup_get_i64(e, key, &v))
                        continue;
                int r = berth_cgroup_writef(d, file, err, "%lld:%lld %lld",
                                            (long long)berth_json_int(e, "major", 0),
                                            (long long)berth_json_int(e, "minor", 0), (long long)v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_blkio(struct berth_cgroup *cg, json_object *b, berth_error **err)
{
        static const struct {
                const char *key, *file;
        } throttles[] = {
            {"throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
            {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
            {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
            {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"},
        };
        int64_t weight, leaf;
        json_object *wd = berth_json_get(b, "weightDevice");
        const char *d = NULL;
        int r;

        if (json_object_object_length(b) == 0)
                return 0;
        r = need_dir(cg, "blkio", "blockIO", &d, err);
        if (r < 0)
                return r;
        /* Kernels with only BFQ have blkio.bfq.weight instead. */
        bool cfq = berth_cgroup_file_exists(d, "blkio.weight");
        if (berth_cgroup_get_i64(b, "weight", &weight) && weight != 0) {
                r = berth_cgroup_write_i64(d, cfq ? "blkio.weight" : "blkio.bfq.weight", weight,
                                           err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_i64(b, "leafWeight", &leaf) && leaf != 0) {
                r = berth_cgroup_write_i64(d, "blkio.leaf_weight", leaf, err);
                if (r < 0)
                        return r;
        }
        if (wd) {
                r = write_devices(d, cfq ? "blkio.weight_device" : "blkio.bfq.weight_device", wd,
                                  "weight", err);
                if (r < 0)
                        return r;
                r = write_devices(d, "blkio.leaf_weight_device", wd, "leafWeight", err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < sizeof(throttles) / sizeof(throttles[0]); i++) {
                r = write_devices(d, throttles[i].file, berth_json_get(b, throttles[i].key), "rate",
                                  err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_hugetlb(struct berth_cgroup *cg, json_object *arr, berth_error **err)
{
        size_t n = json_object_array_length(arr);
        const char *d = NULL;
        int r;

        if (n == 0)
                return 0;
        r = need_dir(cg, "hugetlb", "hugepageLimits", &d, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                cleanup_free char *file = NULL;
                r = berth_cgroup_hugetlb_file(e, "limit_in_bytes", &file, err);
                if (r < 0)
                        return r;
                r = berth_cgroup_write_i64(d, file, berth_json_int(e, "limit", 0), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_network(struct berth_cgroup *cg, json_object *net, berth_error **err)
{
        json_object *prio = berth_json_get(net, "priorities");
        const char *d = NULL;
        int64_t classid;
        int r;

        /* Only when those hierarchies are mounted, as runc. */
        if (berth_cgroup_get_i64(net, "classID", &classid) &&
            (d = berth_cgroup_dir(cg, "net_cls")) != NULL) {
                r = berth_cgroup_write_i64(d, "net_cls.classid", classid, err);
                if (r < 0)
                        return r;
        }
        if (prio && (d = berth_cgroup_dir(cg, "net_prio")) != NULL) {
                for (size_t i = 0; i < json_object_array_length(prio); i++) {
                        json_object *e = json_object_array_get_idx(prio, i);
                        const char *name = berth_json_str(e, "name");
                        r = berth_cgroup_writef(d, "net_prio.ifpriomap", err, "%s %lld",
                                                name ? name : "",
                                                (long long)berth_json_int(e, "priority", 0));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* "c 1:3 rwm" from an OCI device rule. */
static char *device_rule(json_object *rule)
{
        const char *type = berth_json_str(rule, "type");
        const char *access = berth_json_str(rule, "access");
        int64_t major = berth_json_int(rule, "major", -1);
        int64_t minor = berth_json_int(rule, "minor", -1);
        char maj[24], min[24];

        if (type == NULL || type[0] == '\0')
                type = "a";
        if (access == NULL || access[0] == '\0')
                access = "rwm";
        if (major < 0)
                snprintf(maj, sizeof(maj), "*");
        else
                snprintf(maj, sizeof(maj), "%lld", (long long)major);
        if (minor < 0)
                snprintf(min, sizeof(min), "*");
        else
                snprintf(min, sizeof(min), "%lld", (long long)minor);
        return xasprintf("%s %s:%s %s", type, maj, min, access);
}

static int v1_devices(struct berth_cgroup *cg, json_object *rules, berth_error **err)
{
        const char *d = NULL;
        int r;

        r = need_dir(cg, "devices", "devices", &d, err);
        if (r < 0)
                return r;
        /* Deny everything, then the rules in order. */
        r = berth_cgroup_write(d, "devices.deny", "a", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                json_object *rule = json_object_array_get_idx(rules, i);
                cleanup_free char *s = device_rule(rule);
                bool allow = berth_json_bool(rule, "allow", false);
                /* "a *:* rwm" is written "a" (the kernel's whole-list form). */
                const char *v = strcmp(s, "a *:* rwm") == 0 ? "a" : s;
                r = berth_cgroup_write(d, allow ? "devices.allow" : "devices.deny", v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v1_pids(struct berth_cgroup *cg, json_object *pids, berth_error **err)
{
        int64_t limit;
        const char *d = NULL;
        int r;

        if (!berth_cgroup_get_i64(pids, "limit", &limit) || limit == 0)
                return 0;
        r = need_dir(cg, "pids", "pids.limit", &d, err);
        if (r < 0)
                return r;
        if (limit < 0)
                return berth_cgroup_write(d, "pids.max", "max", err);
        return berth_cgroup_write_i64(d, "pids.max", limit, err);
}

static int v1_apply(struct berth_cgroup *cg, json_object *res, bool creating, berth_error **err)
{
        json_object *o;
        int r = 0;

        (void)creating;
        if (res == NULL)
                return 0;
        o = berth_json_get(res, "unified");
        if (o && json_object_object_length(o) > 0)
                return berth_fail(err, EINVAL,
                                  "cgroup: `unified` resources need cgroup v2; this host uses v1");
        if ((o = berth_json_get(res, "memory")) && (r = v1_memory(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "cpu")) && (r = v1_cpu(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "pids")) && (r = v1_pids(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "blockIO")) && (r = v1_blkio(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "hugepageLimits")) && (r = v1_hugetlb(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "network")) && (r = v1_network(cg, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "devices")) && (r = v1_devices(cg, o, err)) < 0)
                return r;
        return 0;
}

static int v1_update(struct berth_cgroup *cg, json_object *resources, berth_error **err)
{
        return v1_apply(cg, resources, false, err);
}

/* ---- Freezer ---- */

static int v1_is_frozen(struct berth_cgroup *cg, bool *ret, berth_error **err)
{
        cleanup_free char *state = NULL;
        const char *d = berth_cgroup_dir(cg, "freezer");
        int r;

        if (d == NULL)
                return berth_fail(err, ENOTSUP, "cgroup: the freezer hierarchy is not mounted");
        r = berth_cgroup_read(d, "freezer.state", &state, err);
        if (r < 0)
                return r;
        *ret = strcmp(state, "FROZEN") == 0;
        return 0;
}

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* v1 has no notification for FREEZING -> FROZEN: re-read with a short
 * backoff (10us doubling to 10ms). */
static int v1_freeze(struct berth_cgroup *cg, bool frozen, berth_error **err)
{
        const char *d = berth_cgroup_dir(cg, "freezer");
        const char *want = frozen ? "FROZEN" : "THAWED";
        int64_t deadline = now_ns() + FREEZE_TIMEOUT_NS;
        long delay = 10000;
        int r;

        if (d == NULL)
                return berth_fail(err, ENOTSUP, "cgroup: the freezer hierarchy is not mounted");
        for (int i = 0;; i++) {
                cleanup_free char *state = NULL;
                if (i == 0 || (frozen && i % 50 == 0)) {
                        r = berth_cgroup_write(d, "freezer.state", want, err);
                        if (r < 0)
                                return r;
                }
                r = berth_cgroup_read(d, "freezer.state", &state, err);
                if (r < 0)
                        return r;
                if (strcmp(state, want) == 0)
                        return 0;
                if (now_ns() > deadline) {
                        if (frozen)
                                (void)berth_cgroup_write(d, "freezer.state", "THAWED", NULL);
                        return berth_fail(err, EBUSY, "cgroup: `%s` stays `%s`", d, state);
                }
                struct timespec ts = {0, delay};
                (void)nanosleep(&ts, NULL);
                if (delay < 10000000)
                        delay *= 2;
        }
}

/* ---- Statistics ---- */

/* Read FILE as a number into O[KEY]; missing files leave it out. */
static void stat_u64(json_object *o, const char *key, const char *dir, const char *file)
{
        uint64_t v;
        if (dir && berth_cgroup_read_u64(dir, file, &v, NULL) == 0)
                berth_cgroup_add_u64(o, key, v == UINT64_MAX ? 0 : v);
}

static json_object *mem_entry(const char *d, const char *prefix)
{
        json_object *e = json_object_new_object();
        cleanup_free char *u = xasprintf("%susage_in_bytes", prefix);
        cleanup_free char *l = xasprintf("%slimit_in_bytes", prefix);
        cleanup_free char *m = xasprintf("%smax_usage_in_bytes", prefix);
        cleanup_free char *f = xasprintf("%sfailcnt", prefix);
        uint64_t v;
        stat_u64(e, "usage", d, u);
        if (berth_cgroup_read_u64(d, l, &v, NULL) == 0)
                berth_cgroup_add_u64(e, "limit", v);
        stat_u64(e, "max", d, m);
        stat_u64(e, "failcnt", d, f);
        return e;
}

/* "8:0 Read 4096" lines into [{major, minor, op, value}]. */
static json_object *blkio_entries(const char *d, const char *file)
{
        json_object *a = json_object_new_array();
        cleanup_free char *text = NULL;
        char *save = NULL;

        if (berth_cgroup_read(d, file, &text, NULL) < 0)
                return a;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                char op[16];
                unsigned long long v;
                if (sscanf(l, "%u:%u %15s %llu", &maj, &min, op, &v) != 4)
                        continue;
                json_object_array_add(a, berth_cgroup_io_entry(maj, min, op, v));
        }
        return a;
}

static json_object *percpu(const char *d, const char *file)
{
        json_object *a = json_object_new_array();
        cleanup_free char *text = NULL;
        char *save = NULL;

        if (berth_cgroup_read(d, file, &text, NULL) < 0)
                return a;
        for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                uint64_t v;
                if (berth_parse_uint64(t, &v) == 0)
                        json_object_array_add(a, json_object_new_uint64(v));
        }
        return a;
}

static int v1_stats(struct berth_cgroup *cg, json_object *out, berth_error **err)
{
        const char *d = NULL;

        if ((d = berth_cgroup_dir(cg, "cpuacct")) != NULL || berth_cgroup_dir(cg, "cpu")) {
                json_object *cpu = json_object_new_object();
                json_object *usage = json_object_new_object();
                json_object *thr = json_object_new_object();
                if (d) {
                        cleanup_free char *st = NULL;
                        stat_u64(usage, "total", d, "cpuacct.usage");
                        json_object_object_add(usage, "percpu", percpu(d, "cpuacct.usage_percpu"));
                        json_object_object_add(usage, "percpu_kernel",
                                               percpu(d, "cpuacct.usage_percpu_sys"));
                        json_object_object_add(usage, "percpu_user",
                                               percpu(d, "cpuacct.usage_percpu_user"));
                        if (berth_cgroup_read(d, "cpuacct.stat", &st, NULL) == 0) {
                                /* USER_HZ ticks to nanoseconds. */
                                cleanup_json json_object *kv = berth_cgroup_parse_kv(st);
                                long hz = sysconf(_SC_CLK_TCK);
                                uint64_t k = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
                                berth_cgroup_add_u64(usage, "kernel",
                                                     berth_json_int(kv, "system", 0) * k);
                                berth_cgroup_add_u64(usage, "user",
                                                     berth_json_int(kv, "user", 0) * k);
                        }
                }
                const char *cd = berth_cgroup_dir(cg, "cpu");
                cleanup_free char *cs = NULL;
                if (cd && berth_cgroup_read(cd, "cpu.stat", &cs, NULL) == 0) {
                        cleanup_json json_object *kv = berth_cgroup_parse_kv(cs);
                        berth_cgroup_add_u64(thr, "periods", berth_json_int(kv, "nr_periods", 0));
                        berth_cgroup_add_u64(thr, "throttledPeriods",
                                             berth_json_int(kv, "nr_throttled", 0));
                        berth_cgroup_add_u64(thr, "throttledTime",
                                             berth_json_int(kv, "throttled_time", 0));
                }
                json_object_object_add(cpu, "usage", usage);
                json_object_object_add(cpu, "throttling", thr);
                json_object_object_add(out, "cpu", cpu);
        }
        if ((d = berth_cgroup_dir(cg, "memory")) != NULL) {
                json_object *mem = json_object_new_object();
                cleanup_free char *st = NULL;
                json_object_object_add(mem, "usage", mem_entry(d, "memory."));
                if (berth_cgroup_file_exists(d, "memory.memsw.usage_in_bytes"))
                        json_object_object_add(mem, "swap", mem_entry(d, "memory.memsw."));
                if (berth_cgroup_file_exists(d, "memory.kmem.usage_in_bytes"))
                        json_object_object_add(mem, "kernel", mem_entry(d, "memory.kmem."));
                if (berth_cgroup_file_exists(d, "memory.kmem.tcp.usage_in_bytes"))
                        json_object_object_add(mem, "kernelTCP", mem_entry(d, "memory.kmem.tcp."));
                if (berth_cgroup_read(d, "memory.stat", &st, NULL) == 0) {
                        json_object *raw = berth_cgroup_parse_kv(st);
                        berth_cgroup_add_u64(mem, "cache", berth_json_int(raw, "cache", 0));
                        json_object_object_add(mem, "raw", raw);
                }
                json_object_object_add(out, "memory", mem);
        }
        if ((d = berth_cgroup_dir(cg, "pids")) != NULL) {
                json_object *p = json_object_new_object();
                stat_u64(p, "current", d, "pids.current");
                stat_u64(p, "limit", d, "pids.max");
                json_object_object_add(out, "pids", p);
        }
        if ((d = berth_cgroup_dir(cg, "blkio")) != NULL) {
                json_object *b = json_object_new_object();
                json_object_object_add(
                    b, "ioServiceBytesRecursive",
                    blkio_entries(d, "blkio.throttle.io_service_bytes_recursive"));
                json_object_object_add(b, "ioServicedRecursive",
                                       blkio_entries(d, "blkio.throttle.io_serviced_recursive"));
                json_object_object_add(out, "blkio", b);
        }
        (void)err;
        return 0;
}

const struct berth_cgroup_ops berth_cgroup_v1_ops = {
    .create = v1_create,
    .update = v1_update,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .kill_all = NULL,
    .stats = v1_stats,
};
