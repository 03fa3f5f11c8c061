/* SPDX-License-Identifier: Apache-2.0 */
/* docker stats: the runtime's cgroup statistics (v1 or v2) in Docker's
 * stats JSON shape (read, preread, cpu_stats, precpu_stats, memory_stats,
 * pids_stats, blkio_stats), one document or one per second. */
#include "core.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static uint64_t system_cpu_ns(void)
{
        cleanup_free char *s = NULL;
        size_t len;
        unsigned long long v[10] = {0};
        uint64_t sum = 0;
        long hz = sysconf(_SC_CLK_TCK);

        if (berth_read_file("/proc/stat", &s, &len, NULL) < 0)
                return 0;
        if (sscanf(s, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) < 4)
                return 0;
        for (int i = 0; i < 8; i++)
                sum += v[i];
        return sum * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

static json_object *u64(json_object *o, const char *k)
{
        json_object *v = berth_json_get(o, k);
        return json_object_new_uint64(v ? (uint64_t)json_object_get_int64(v) : 0);
}

static json_object *cpu_stats(json_object *rs, uint64_t sys)
{
        json_object *cpu = berth_json_get(rs, "cpu");
        json_object *usage = berth_json_get(cpu, "usage");
        json_object *thr = berth_json_get(cpu, "throttling");
        json_object *o = json_object_new_object();
        json_object *u = json_object_new_object();
        json_object *t = json_object_new_object();
        json_object *percpu = berth_json_get(usage, "percpu");
        long online = sysconf(_SC_NPROCESSORS_ONLN);

        json_object_object_add(u, "total_usage", u64(usage, "total"));
        if (percpu && json_object_array_length(percpu))
                json_object_object_add(u, "percpu_usage", json_object_get(percpu));
        json_object_object_add(u, "usage_in_kernelmode", u64(usage, "kernel"));
        json_object_object_add(u, "usage_in_usermode", u64(usage, "user"));
        json_object_object_add(o, "cpu_usage", u);
        json_object_object_add(o, "system_cpu_usage", json_object_new_uint64(sys));
        json_object_object_add(o, "online_cpus", json_object_new_int64(online));
        json_object_object_add(t, "periods", u64(thr, "periods"));
        json_object_object_add(t, "throttled_periods", u64(thr, "throttledPeriods"));
        json_object_object_add(t, "throttled_time", u64(thr, "throttledTime"));
        json_object_object_add(o, "throttling_data", t);
        return o;
}

static json_object *memory_stats(json_object *rs)
{
        json_object *mem = berth_json_get(rs, "memory");
        json_object *usage = berth_json_get(mem, "usage");
        json_object *raw = berth_json_get(mem, "raw");
        json_object *o = json_object_new_object();

        if (mem == NULL)
                return o;
        json_object_object_add(o, "usage", u64(usage, "usage"));
        if (berth_json_get(usage, "max"))
                json_object_object_add(o, "max_usage", u64(usage, "max"));
        if (berth_json_get(usage, "failcnt"))
                json_object_object_add(o, "failcnt", u64(usage, "failcnt"));
        json_object_object_add(o, "stats", raw ? json_object_get(raw) : json_object_new_object());
        {
                json_object *l = berth_json_get(usage, "limit");
                uint64_t lim = l ? (uint64_t)json_object_get_int64(l) : 0;
                long pages = sysconf(_SC_PHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
                uint64_t total = (uint64_t)pages * (uint64_t)ps;
                if (lim == 0 || lim > total)
                        lim = total;
                json_object_object_add(o, "limit", json_object_new_uint64(lim));
        }
        return o;
}

static json_object *blkio_stats(json_object *rs)
{
        json_object *b = berth_json_get(rs, "blkio");
        json_object *o = json_object_new_object();
        static const char *const keys[][2] = {
            {"ioServiceBytesRecursive", "io_service_bytes_recursive"},
            {"ioServicedRecursive", "io_serviced_recursive"},
        };

        for (size_t k = 0; k < 2; k++) {
                json_object *src = berth_json_get(b, keys[k][0]);
                json_object *a = json_object_new_array();
                for (size_t i = 0; src && i < json_object_array_length(src); i++) {
                        json_object *e = json_object_array_get_idx(src, i);
                        json_object *x = json_object_new_object();
                        json_object_object_add(x, "major", u64(e, "major"));
                        json_object_object_add(x, "minor", u64(e, "minor"));
                        json_object_object_add(
                            x, "op", json_object_new_string(berth_json_str(e, "op") ?: ""));
                        json_object_object_add(x, "value", u64(e, "value"));
                        json_object_array_add(a, x);
                }
                json_object_object_add(o, keys[k][1], a);
        }
        static const char *const empty[] = {"io_queue_recursive",     "io_service_time_recursive",
                                            "io_wait_time_recursive", "io_merged_recursive",
                                            "io_time_recursive",      "sectors_recursive"};
        for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
                json_object_object_add(o, empty[i], NULL);
        return o;
}

static json_object *empty_cpu(void)
{
        json_object *o = json_object_new_object();
        json_object *u = json_object_new_object();
        json_object *t = json_object_new_object();
        json_object_object_add(u, "total_usage", json_object_new_int(0));
        json_object_object_add(u, "usage_in_kernelmode", json_object_new_int(0));
        json_object_object_add(u, "usage_in_usermode", json_object_new_int(0));
        json_object_object_add(o, "cpu_usage", u);
        json_object_object_add(t, "periods", json_object_new_int(0));
        json_object_object_add(t, "throttled_periods", json_object_new_int(0));
        json_object_object_add(t, "throttled_time", json_object_new_int(0));
        json_object_object_add(o, "throttling_data", t);
        return o;
}

/* One sample: the Docker document, given the previous one (may be NULL). */
static json_object *sample(struct berth_container *c, json_object *prev)
{
        cleanup_json json_object *rs = NULL;
        json_object *o = json_object_new_object();
        json_object *pids = json_object_new_object();
        char *now = berth_time_now_rfc3339nano();
        bool running;

        pthread_mutex_lock(&c->lock);
        running = berth_container_is_running(c);
        json_object_object_add(o, "name", json_object_new_string(c->name));
        pthread_mutex_unlock(&c->lock);
        json_object_object_add(o, "id", json_object_new_string(c->id));
        json_object_object_add(o, "read", json_object_new_string(now));
        free(now);
        if (running)
                (void)berth_container_stats(&c->engine->rt, c->id, &rs, NULL);
        if (prev) {
                json_object_object_add(o, "preread", json_object_get(berth_json_get(prev, "read")));
                json_object_object_add(o, "precpu_stats",
                                       json_object_get(berth_json_get(prev, "cpu_stats")));
        } else {
                json_object_object_add(o, "preread",
                                       json_object_new_string("0001-01-01T00:00:00Z"));
                json_object_object_add(o, "precpu_stats", empty_cpu());
        }
        if (rs) {
                json_object *p = berth_json_get(rs, "pids");
                json_object_object_add(o, "cpu_stats", cpu_stats(rs, system_cpu_ns()));
                json_object_object_add(o, "memory_stats", memory_stats(rs));
                json_object_object_add(pids, "current", u64(p, "current"));
                if (berth_json_get(p, "limit") &&
                    json_object_get_int64(berth_json_get(p, "limit")) > 0)
                        json_object_object_add(pids, "limit", u64(p, "limit"));
                json_object_object_add(o, "blkio_stats", blkio_stats(rs));
        } else {
                json_object_object_add(o, "cpu_stats", empty_cpu());
                json_object_object_add(o, "memory_stats", json_object_new_object());
                json_object_object_add(o, "blkio_stats", blkio_stats(NULL));
        }
        json_object_object_add(o, "pids_stats", pids);
        json_object_object_add(o, "num_procs", json_object_new_int(0));
        json_object_object_add(o, "storage_stats", json_object_new_object());
        return o;
}

int berth_engine_container_stats(struct berth_engine *e, const char *ref, bool stream, int out_fd,
                                 berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_json json_object *prev = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        if (!stream) {
                /* One-shot: two samples a short moment apart, so that the
                 * CPU percentage can be computed (docker stats --no-stream). */
                cleanup_json json_object *first = sample(c, NULL);
                cleanup_json json_object *doc = NULL;
                struct timespec ts = {0, 100000000};
                nanosleep(&ts, NULL);
                doc = sample(c, first);
                r = berth_json_write_line(out_fd, doc);
                return r < 0 ? berth_fail(err, -r, "write stats") : 0;
        }
        for (;;) {
                json_object *doc = sample(c, prev);
                struct pollfd p = {.fd = out_fd, .events = 0};
                bool running;
                r = berth_json_write_line(out_fd, doc);
                if (prev)
                        json_object_put(prev);
                prev = doc;
                if (r < 0)
                        return 0; /* the peer went away */
                pthread_mutex_lock(&c->lock);
                running = !c->removed;
                pthread_mutex_unlock(&c->lock);
                if (!running || e->closing)
                        return 0;
                if (poll(&p, 1, 1000) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
                        return 0;
        }
}
