/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 manager: one directory in the unified tree; controllers are
 * enabled in every ancestor's cgroup.subtree_control; devices are filtered
 * by an eBPF program (cgroup-bpf.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#define FREEZE_TIMEOUT_MS 10000

int berth_cgroup_v2_setup(struct berth_cgroup *cg, const struct berth_cgroup_opts *o,
                          const char *rel, berth_error **err)
{
        cleanup_free char *inh = NULL;

        if (rel[0] == '/') {
                inh = xstrdup(rel);
        } else {
                cleanup_free char *self = NULL;
                int r = berth_cgroup_self_path(o->proc_cgroup, NULL, &self, err);
                if (r < 0)
                        return r;
                inh = xasprintf("%s/%s", strcmp(self, "/") == 0 ? "" : self, rel);
        }
        cg->path = xasprintf("%s%s", cg->root, inh);
        cg->relpath = steal_pointer(&inh);
        return 0;
}

/* Enable in PARENT's subtree_control every controller it has that is not
 * enabled yet (as runc does), so that `update` can set any of them later. */
static int enable_controllers(const char *parent, const char *dir, void *data, berth_error **err)
{
        cleanup_free char *avail = NULL;
        cleanup_free char *enabled = NULL;
        cleanup_free char *want = xstrdup("");
        char *save = NULL;

        (void)dir;
        (void)data;
        if (berth_cgroup_read(parent, "cgroup.controllers", &avail, NULL) < 0 ||
            berth_cgroup_read(parent, "cgroup.subtree_control", &enabled, NULL) < 0)
                return 0;
        for (char *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
                bool on = false;
                size_t cl = strlen(c);
                for (const char *p = enabled; (p = strstr(p, c)) != NULL; p += cl)
                        if ((p == enabled || p[-1] == ' ') && (p[cl] == ' ' || p[cl] == '\0'))
                                on = true;
                if (on)
                        continue;
                char *next = xasprintf("%s%s+%s", want, want[0] ? " " : "", c);
                free(want);
                want = next;
        }
        if (want[0] == '\0' ||
            berth_cgroup_write(parent, "cgroup.subtree_control", want, NULL) == 0)
                return 0;
        /* One refused controller fails the whole write: enable one by one,
         * leaving out those the kernel refuses (a resource that needs one
         * then fails with the file's name). */
        save = NULL;
        for (char *c = strtok_r(want, " ", &save); c; c = strtok_r(NULL, " ", &save))
                (void)berth_cgroup_write(parent, "cgroup.subtree_control", c, NULL);
        (void)err;
        return 0;
}

static int v2_apply(struct berth_cgroup *cg, json_object *res, berth_error **err);

static int v2_create(struct berth_cgroup *cg, json_object *resources, berth_error **err)
{
        int r = berth_cgroup_mkdirs(cg->root, cg->relpath, enable_controllers, NULL, err);
        if (r < 0)
                return r;
        return v2_apply(cg, resources, err);
}

/* -1 (or any negative) is "max". */
static int write_max(const char *dir, const char *file, int64_t v, berth_error **err)
{
        if (v < 0)
                return berth_cgroup_write(dir, file, "max", err);
        return berth_cgroup_write_i64(dir, file, v, err);
}

static int v2_memory(const char *d, json_object *mem, berth_error **err)
{
        int64_t limit = 0, swap = 0, reservation = 0;
        bool has_limit = berth_cgroup_get_i64(mem, "limit", &limit);
        bool has_swap = berth_cgroup_get_i64(mem, "swap", &swap);
        int r;

        /* The spec's swap is memory+swap; memory.swap.max is swap alone
         * (runc's conversion). */
        int64_t v2swap = 0;
        if (has_limit && limit == -1 && !has_swap) {
                v2swap = -1;
        } else if (swap == -1 || swap == 0) {
                v2swap = swap;
        } else if (!has_limit || limit == 0 || limit == -1) {
                return berth_fail(err, EINVAL,
                                  "cgroup: memory.swap `%lld` needs a memory limit on cgroup v2",
                                  (long long)swap);
        } else if (swap < limit) {
                return berth_fail(err, EINVAL,
                                  "cgroup: memory.swap `%lld` (memory+swap) is below "
                                  "memory.limit `%lld`",
                                  (long long)swap, (long long)limit);
        } else {
                v2swap = swap - limit;
        }
        /* Swap first: memory.max may fail while swap is already set, and
         * a failed swap write leaves the limit untouched. */
        if (v2swap != 0) {
                r = write_max(d, "memory.swap.max", v2swap, err);
                if (r < 0)
                        return r;
        }
        if (has_limit && limit != 0) {
                r = write_max(d, "memory.max", limit, err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_i64(mem, "reservation", &reservation) && reservation != 0) {
                r = write_max(d, "memory.low", reservation, err);
                if (r < 0)
                        return r;
        }
        /* swappiness, disableOOMKiller and the kernel limits do not exist on
         * v2: ignored, as runc does. */
        return 0;
}

static int v2_cpu(const char *d, json_object *cpu, berth_error **err)
{
        int64_t quota = 0, idle = 0, rt = 0;
        uint64_t shares = 0, period = 0, burst = 0, rtp = 0;
        bool has_quota = berth_cgroup_get_i64(cpu, "quota", &quota) && quota != 0;
        bool has_period = berth_cgroup_get_u64(cpu, "period", &period) && period != 0;
        const char *cpus = berth_json_str(cpu, "cpus");
        const char *mems = berth_json_str(cpu, "mems");
        int r;

        if ((berth_cgroup_get_i64(cpu, "realtimeRuntime", &rt) && rt != 0) ||
            (berth_cgroup_get_u64(cpu, "realtimePeriod", &rtp) && rtp != 0))
                return berth_fail(err, ENOTSUP,
                                  "cgroup: cpu.realtimeRuntime/realtimePeriod need cgroup v1");
        if (berth_cgroup_get_u64(cpu, "shares", &shares) && shares != 0) {
                /* runc's conversion of [2, 262144] to [1, 10000]. */
                if (shares < 2)
                        shares = 2;
                if (shares > 262144)
                        shares = 262144;
                uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
                r = berth_cgroup_writef(d, "cpu.weight", err, "%llu", (unsigned long long)weight);
                if (r < 0)
                        return r;
        }
        if (has_quota || has_period) {
                char q[32] = "max";
                if (has_quota && quota > 0)
                        snprintf(q, sizeof(q), "%lld", (long long)quota);
                if (has_period)
                        r = berth_cgroup_writef(d, "cpu.max", err, "%s %llu", q,
                                                (unsigned long long)period);
                else
                        r = berth_cgroup_write(d, "cpu.max", q, err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_u64(cpu, "burst", &burst)) {
                /* cpu.max.burst is in microseconds, like the spec. */
                r = berth_cgroup_writef(d, "cpu.max.burst", err, "%llu", (unsigned long long)burst);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_get_i64(cpu, "idle", &idle) &&
            (r = berth_cgroup_write_i64(d, "cpu.idle", idle, err)) < 0)
                return r;
        return berth_cgroup_write_cpuset(d, cpus, mems, err);
}

/* blkio weight [10, 1000] to io.weight [1, 10000], as runc. */
static uint64_t io_weight(int64_t w)
{
        if (w < 10)
                w = 10;
        if (w > 1000)
                w = 1000;
        return 1 + ((uint64_t)w - 10) * 9999 / 990;
}

static int v2_io(const char *d, json_object *b, berth_error **err)
{
        static const struct {
                const char *key, *name;
        } throttles[] = {
            {"throttleReadBpsDevice", "rbps"},
            {"throttleWriteBpsDevice", "wbps"},
            {"throttleReadIOPSDevice", "riops"},
            {"throttleWriteIOPSDevice", "wiops"},
        };
        json_object *wd = berth_json_get(b, "weightDevice");
        int64_t weight, leaf;
        int r;

        if (berth_cgroup_get_i64(b, "leafWeight", &leaf) && leaf != 0)
                return berth_fail(err, ENOTSUP, "cgroup: blockIO.leafWeight needs cgroup v1");
        if (berth_cgroup_get_i64(b, "weight", &weight) && weight != 0) {
                r = berth_cgroup_writef(d, "io.weight", err, "%llu",
                                        (unsigned long long)io_weight(weight));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; wd && i < json_object_array_length(wd); i++) {
                json_object *e = json_object_array_get_idx(wd, i);
                if (!berth_cgroup_get_i64(e, "weight", &weight))
                        continue;
                r = berth_cgroup_writef(d, "io.weight", err, "%lld:%lld %llu",
                                        (long long)berth_json_int(e, "major", 0),
                                        (long long)berth_json_int(e, "minor", 0),
                                        (unsigned long long)io_weight(weight));
                if (r < 0)
                        return r;
        }
        for (size_t t = 0; t < sizeof(throttles) / sizeof(throttles[0]); t++) {
                json_object *arr = berth_json_get(b, throttles[t].key);
                for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
                        json_object *e = json_object_array_get_idx(arr, i);
                        int64_t rate = berth_json_int(e, "rate", 0);
                        char v[32] = "max";
                        if (rate > 0)
                                snprintf(v, sizeof(v), "%lld", (long long)rate);
                        r = berth_cgroup_writef(d, "io.max", err, "%lld:%lld %s=%s",
                                                (long long)berth_json_int(e, "major", 0),
                                                (long long)berth_json_int(e, "minor", 0),
                                                throttles[t].name, v);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int v2_apply(struct berth_cgroup *cg, json_object *res, berth_error **err)
{
        const char *d = cg->path;
        json_object *o;
        int64_t v;
        int r;

        if (res == NULL)
                return 0;
        if ((o = berth_json_get(res, "memory")) && (r = v2_memory(d, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "cpu")) && (r = v2_cpu(d, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "pids")) && berth_cgroup_get_i64(o, "limit", &v) && v != 0 &&
            (r = write_max(d, "pids.max", v, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "blockIO")) && (r = v2_io(d, o, err)) < 0)
                return r;
        if ((o = berth_json_get(res, "hugepageLimits"))) {
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        json_object *e = json_object_array_get_idx(o, i);
                        cleanup_free char *file = NULL;
                        r = berth_cgroup_hugetlb_file(e, "max", &file, err);
                        if (r < 0)
                                return r;
                        r = write_max(d, file, berth_json_int(e, "limit", 0), err);
                        if (r < 0)
                                return r;
                }
        }
        if ((o = berth_json_get(res, "unified"))) {
                json_object_object_foreach(o, key, val)
                {
                        if (strchr(key, '/') != NULL || key[0] == '.' || key[0] == '\0')
                                return berth_fail(err, EINVAL, "cgroup: bad unified key `%s`", key);
                        if (!json_object_is_type(val, json_type_string))
                                return berth_fail(err, EINVAL,
                                                  "cgroup: unified `%s` is not a string", key);
                        r = berth_cgroup_write(d, key, json_object_get_string(val), err);
                        if (r < 0)
                                return r;
                }
        }
        /* network (net_cls/net_prio) has no v2 equivalent: ignored. */
        if ((o = berth_json_get(res, "devices"))) {
                cleanup_close int fd = open(d, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "cgroup: open `%s`", d);
                r = berth_cgroup_bpf_apply(fd, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int v2_update(struct berth_cgroup *cg, json_object *resources, berth_error **err)
{
        return v2_apply(cg, resources, err);
}

/* The value of KEY in cgroup.events (read from FD at offset 0). */
static int events_value(int fd, const char *key, int *ret, berth_error **err)
{
        char buf[512];
        ssize_t n = TEMP_FAILURE_RETRY_INT(pread(fd, buf, sizeof(buf) - 1, 0));
        size_t kl = strlen(key);

        if (n < 0)
                return berth_fail_errno(err, "cgroup: read `cgroup.events`");
        buf[n] = '\0';
        for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
                        *ret = atoi(l + kl + 1);
                        return 0;
                }
        }
        return berth_fail(err, ENOENT, "cgroup: `cgroup.events` has no `%s`", key);
}

static int open_events(const char *d, berth_error **err)
{
        cleanup_free char *p = xasprintf("%s/cgroup.events", d);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "cgroup: open `%s`", p);
        return fd;
}

static int v2_is_frozen(struct berth_cgroup *cg, bool *ret, berth_error **err)
{
        cleanup_close int fd = open_events(cg->path, err);
        int v = 0, r;

        if (fd < 0)
                return fd;
        r = events_value(fd, "frozen", &v, err);
        if (r < 0)
                return r;
        *ret = v == 1;
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write cgroup.freeze, then wait for cgroup.events to report it: the
 * kernel signals a change with POLLPRI. */
static int v2_freeze(struct berth_cgroup *cg, bool frozen, berth_error **err)
{
        cleanup_close int fd = open_events(cg->path, err);
        int64_t deadline = now_ms() + FREEZE_TIMEOUT_MS;
        int r, v;

        if (fd < 0)
                return fd;
        r = berth_cgroup_write(cg->path, "cgroup.freeze", frozen ? "1" : "0", err);
        if (r < 0)
                return r;
        for (;;) {
                r = events_value(fd, "frozen", &v, err);
                if (r < 0)
                        return r;
                if ((v == 1) == frozen)
                        return 0;
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return berth_fail(err, ETIMEDOUT, "cgroup: `%s` did not %s in time",
                                          cg->path, frozen ? "freeze" : "thaw");
                struct pollfd p = {.fd = fd, .events = POLLPRI};
                if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
                        return berth_fail_errno(err, "cgroup: poll `cgroup.events`");
        }
}

static int v2_kill_all(struct berth_cgroup *cg, berth_error **err)
{
        if (!berth_cgroup_file_exists(cg->path, "cgroup.kill"))
                return -ENOTSUP;
        return berth_cgroup_write(cg->path, "cgroup.kill", "1", err);
}

static void stat_u64(json_object *o, const char *key, const char *dir, const char *file)
{
        uint64_t v;
        if (berth_cgroup_read_u64(dir, file, &v, NULL) == 0)
                berth_cgroup_add_u64(o, key, v);
}

static json_object *io_entries(const char *text, const char *k1, const char *op1, const char *k2,
                               const char *op2)
{
        json_object *a = json_object_new_array();
        cleanup_free char *copy = xstrdup(text ? text : "");
        char *save = NULL;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                if (sscanf(l, "%u:%u", &maj, &min) != 2)
                        continue;
                const char *keys[2] = {k1, k2}, *ops[2] = {op1, op2};
                for (int i = 0; i < 2; i++) {
                        cleanup_free char *pat = xasprintf(" %s=", keys[i]);
                        const char *p = strstr(l, pat);
                        if (p == NULL)
                                continue;
                        uint64_t v = strtoull(p + strlen(pat), NULL, 10);
                        json_object_array_add(a, berth_cgroup_io_entry(maj, min, ops[i], v));
                }
        }
        return a;
}

static int v2_stats(struct berth_cgroup *cg, json_object *out, berth_error **err)
{
        const char *d = cg->path;
        cleanup_free char *text = NULL;
        int r = berth_cgroup_read(d, "cpu.stat", &text, err);

        if (r < 0)
                return r;
        {
                cleanup_json json_object *kv = berth_cgroup_parse_kv(text);
                json_object *cpu = json_object_new_object();
                json_object *usage = json_object_new_object();
                json_object *thr = json_object_new_object();
                berth_cgroup_add_u64(usage, "total", berth_json_int(kv, "usage_usec", 0) * 1000);
                berth_cgroup_add_u64(usage, "kernel", berth_json_int(kv, "system_usec", 0) * 1000);
                berth_cgroup_add_u64(usage, "user", berth_json_int(kv, "user_usec", 0) * 1000);
                berth_cgroup_add_u64(thr, "periods", berth_json_int(kv, "nr_periods", 0));
                berth_cgroup_add_u64(thr, "throttledPeriods",
                                     berth_json_int(kv, "nr_throttled", 0));
                berth_cgroup_add_u64(thr, "throttledTime",
                                     berth_json_int(kv, "throttled_usec", 0) * 1000);
                json_object_object_add(cpu, "usage", usage);
                json_object_object_add(cpu, "throttling", thr);
                json_object_object_add(out, "cpu", cpu);
        }
        free(text);
        text = NULL;
        if (berth_cgroup_file_exists(d, "memory.current")) {
                json_object *mem = json_object_new_object();
                json_object *u = json_object_new_object();
                stat_u64(u, "usage", d, "memory.current");
                stat_u64(u, "limit", d, "memory.max");
                stat_u64(u, "max", d, "memory.peak");
                if (berth_cgroup_read(d, "memory.events", &text, NULL) == 0) {
                        cleanup_json json_object *ev = berth_cgroup_parse_kv(text);
                        berth_cgroup_add_u64(u, "failcnt", berth_json_int(ev, "max", 0));
                }
                json_object_object_add(mem, "usage", u);
                if (berth_cgroup_file_exists(d, "memory.swap.current")) {
                        json_object *s = json_object_new_object();
                        stat_u64(s, "usage", d, "memory.swap.current");
                        stat_u64(s, "limit", d, "memory.swap.max");
                        stat_u64(s, "max", d, "memory.swap.peak");
                        json_object_object_add(mem, "swap", s);
                }
                free(text);
                text = NULL;
                if (berth_cgroup_read(d, "memory.stat", &text, NULL) == 0) {
                        json_object *raw = berth_cgroup_parse_kv(text);
                        berth_cgroup_add_u64(mem, "cache", berth_json_int(raw, "file", 0));
                        json_object_object_add(mem, "raw", raw);
                }
                json_object_object_add(out, "memory", mem);
        }
        if (berth_cgroup_file_exists(d, "pids.current")) {
                json_object *p = json_object_new_object();
                uint64_t lim;
                stat_u64(p, "current", d, "pids.current");
                if (berth_cgroup_read_u64(d, "pids.max", &lim, NULL) == 0)
                        berth_cgroup_add_u64(p, "limit", lim == UINT64_MAX ? 0 : lim);
                json_object_object_add(out, "pids", p);
        }
        free(text);
        text = NULL;
        if (berth_cgroup_read(d, "io.stat", &text, NULL) == 0) {
                json_object *b = json_object_new_object();
                json_object_object_add(b, "ioServiceBytesRecursive",
                                       io_entries(text, "rbytes", "Read", "wbytes", "Write"));
                json_object_object_add(b, "ioServicedRecursive",
                                       io_entries(text, "rios", "Read", "wios", "Write"));
                json_object_object_add(out, "blkio", b);
        }
        return 0;
}

const struct berth_cgroup_ops berth_cgroup_v2_ops = {
    .create = v2_create,
    .update = v2_update,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .kill_all = v2_kill_all,
    .stats = v2_stats,
};
