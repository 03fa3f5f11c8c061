/* SPDX-License-Identifier: Apache-2.0 */
/* Health checks: the image's HEALTHCHECK or the --health-* options, run by
 * the daemon through the container's shim (an exec), with Docker's states
 * (starting, healthy, unhealthy), the last 5 results and
 * "health_status: ..." events. */
#include "core.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define HEALTH_LOG_MAX    5
#define HEALTH_OUTPUT_MAX 4096

struct berth_health {
        /* Under c->lock. */
        char *status; /* "starting", "healthy", "unhealthy" */
        int failing_streak;
        json_object *log; /* array of {Start, End, ExitCode, Output} */
        bool running;     /* a checker thread is active */
        uint64_t generation;
};

void berth_health_free(struct berth_health *h)
{
        if (h == NULL)
                return;
        free(h->status);
        if (h->log)
                json_object_put(h->log);
        free(h);
}

static json_object *healthcheck(struct berth_container *c)
{
        json_object *h = berth_json_get(c->config, "Healthcheck");
        json_object *t = berth_json_get(h, "Test");
        const char *first;

        if (t == NULL || !json_object_is_type(t, json_type_array) ||
            json_object_array_length(t) == 0)
                return NULL;
        first = json_object_get_string(json_object_array_get_idx(t, 0));
        if (first == NULL || strcmp(first, "NONE") == 0)
                return NULL;
        return h;
}

json_object *berth_health_json(struct berth_container *c)
{
        json_object *o;
        if (c->health == NULL)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "Status", json_object_new_string(c->health->status));
        json_object_object_add(o, "FailingStreak", json_object_new_int(c->health->failing_streak));
        json_object_object_add(o, "Log", json_object_get(c->health->log));
        return o;
}

const char *berth_health_status(struct berth_container *c)
{
        if (c->health == NULL || !berth_container_is_running(c))
                return NULL;
        return c->health->status;
}

static int64_t ns_field(json_object *h, const char *k, int64_t dflt)
{
        int64_t v = berth_json_int(h, k, 0);
        return v > 0 ? v : dflt;
}

/* Run one probe: returns the exit code (-1 on timeout / failure to run). */
static int probe(struct berth_container *c, json_object *h, char **ret_output)
{
        json_object *t = berth_json_get(h, "Test");
        const char *kind = json_object_get_string(json_object_array_get_idx(t, 0));
        size_t n = json_object_array_length(t);
        cleanup_strv char **argv = xcalloc(n + 3, sizeof(char *));
        cleanup_json json_object *proc = NULL;
        struct berth_shim_exec x = {
            .conn = -1, .pty = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
        int64_t timeout_ms = ns_field(h, "Timeout", 30000000000LL) / 1000000;
        char *out = xmalloc(HEALTH_OUTPUT_MAX + 1);
        size_t out_len = 0;
        struct timespec t0, now;
        int status = -1, r;
        berth_error *err = NULL;

        out[0] = '\0';
        if (strcmp(kind, "CMD-SHELL") == 0) {
                argv[0] = xstrdup("/bin/sh");
                argv[1] = xstrdup("-c");
                argv[2] =
                    xstrdup(n > 1 ? json_object_get_string(json_object_array_get_idx(t, 1)) : "");
        } else {
                size_t k = 0;
                for (size_t i = strcmp(kind, "CMD") == 0 ? 1 : 0; i < n; i++)
                        argv[k++] =
                            xstrdup(json_object_get_string(json_object_array_get_idx(t, i)));
        }
        pthread_mutex_lock(&c->lock);
        r = berth_container_exec_process(c, argv, NULL, NULL, NULL, false, false, &proc, &err);
        pthread_mutex_unlock(&c->lock);
        if (r >= 0)
                r = berth_shim_exec(c->shim_socket, json_object_to_json_string(proc), false, false,
                                    0, 0, &x, &err);
        if (r < 0) {
                snprintf(out, HEALTH_OUTPUT_MAX, "%s", err && err->msg ? err->msg : "exec failed");
                berth_error_free(err);
                *ret_output = out;
                return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                struct pollfd p[2] = {{.fd = x.stdout_fd, .events = POLLIN},
                                      {.fd = x.stderr_fd, .events = POLLIN}};
                int64_t left;
                clock_gettime(CLOCK_MONOTONIC, &now);
                left = timeout_ms -
                       ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
                if (p[0].fd < 0 && p[1].fd < 0)
                        break;
                if (left <= 0)
                        goto timed_out;
                if (poll(p, 2, (int)left) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        char buf[1024];
                        ssize_t m;
                        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        m = read(p[i].fd, buf, sizeof(buf));
                        if (m <= 0) {
                                close(p[i].fd);
                                if (i == 0)
                                        x.stdout_fd = -1;
                                else
                                        x.stderr_fd = -1;
                                continue;
                        }
                        if (out_len < HEALTH_OUTPUT_MAX) {
                                size_t k = (size_t)m < HEALTH_OUTPUT_MAX - out_len
                                               ? (size_t)m
                                               : HEALTH_OUTPUT_MAX - out_len;
                                memcpy(out + out_len, buf, k);
                                out_len += k;
                                out[out_len] = '\0';
                        }
                }
        }
        /* Its output is closed, but the check may still run: the wait for
         * its exit counts against the timeout too. */
        for (;;) {
                struct pollfd q = {.fd = x.conn, .events = POLLIN};
                int64_t left;
                clock_gettime(CLOCK_MONOTONIC, &now);
                left = timeout_ms -
                       ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
                if (left <= 0)
                        goto timed_out;
                int pr = poll(&q, 1, (int)left);
                if (pr == 0 || (pr < 0 && errno == EINTR))
                        continue; /* the time left is checked again */
                break;
        }
        if (berth_shim_exec_wait(&x, &status, NULL) < 0)
                status = -1;
        berth_shim_exec_clear(&x);
        *ret_output = out;
        return status;

timed_out:
        (void)kill(x.pid, SIGKILL);
        snprintf(out, HEALTH_OUTPUT_MAX, "Health check exceeded timeout (%llds)",
                 (long long)(timeout_ms / 1000));
        berth_shim_exec_clear(&x);
        *ret_output = out;
        return -1;
}

struct health_job {
        struct berth_container *c;
        uint64_t generation;
};

static bool sleep_ms(struct berth_container *c, uint64_t gen, int64_t ms)
{
        struct timespec ts;
        bool alive;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&c->lock);
        while (c->health && c->health->generation == gen && berth_container_is_running(c) &&
               !c->engine->closing)
                if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0)
                        break;
        alive = c->health && c->health->generation == gen && berth_container_is_running(c) &&
                !c->engine->closing;
        pthread_mutex_unlock(&c->lock);
        return alive;
}

static void *health_thread(void *arg)
{
        struct health_job *j = arg;
        struct berth_container *c = j->c;
        uint64_t gen = j->generation;
        struct timespec started;

        clock_gettime(CLOCK_MONOTONIC, &started);
        for (;;) {
                json_object *h, *entry;
                int64_t interval, start_period, start_interval, retries, since_start_ms;
                cleanup_free char *output = NULL;
                char *t0, *t1;
                const char *old;
                cleanup_free char *new_status = NULL;
                struct timespec now;
                bool in_start;
                int code;

                pthread_mutex_lock(&c->lock);
                h = json_object_get(healthcheck(c));
                pthread_mutex_unlock(&c->lock);
                if (h == NULL)
                        break;
                interval = ns_field(h, "Interval", 30000000000LL) / 1000000;
                start_period = berth_json_int(h, "StartPeriod", 0) / 1000000;
                start_interval = ns_field(h, "StartInterval", 5000000000LL) / 1000000;
                retries = ns_field(h, "Retries", 3);
                clock_gettime(CLOCK_MONOTONIC, &now);
                since_start_ms = (now.tv_sec - started.tv_sec) * 1000 +
                                 (now.tv_nsec - started.tv_nsec) / 1000000;
                in_start = since_start_ms < start_period;
                if (!sleep_ms(c, gen, in_start ? start_interval : interval)) {
                        json_object_put(h);
                        break;
                }
                t0 = berth_time_now_rfc3339nano();
                code = probe(c, h, &output);
                t1 = berth_time_now_rfc3339nano();
                clock_gettime(CLOCK_MONOTONIC, &now);
                since_start_ms = (now.tv_sec - started.tv_sec) * 1000 +
                                 (now.tv_nsec - started.tv_nsec) / 1000000;
                in_start = since_start_ms < start_period;
                json_object_put(h);

                pthread_mutex_lock(&c->lock);
                if (c->health == NULL || c->health->generation != gen ||
                    !berth_container_is_running(c)) {
                        pthread_mutex_unlock(&c->lock);
                        free(t0);
                        free(t1);
                        break;
                }
                entry = json_object_new_object();
                json_object_object_add(entry, "Start", json_object_new_string(t0));
                json_object_object_add(entry, "End", json_object_new_string(t1));
                json_object_object_add(entry, "ExitCode", json_object_new_int(code));
                json_object_object_add(entry, "Output", json_object_new_string(output));
                free(t0);
                free(t1);
                json_object_array_add(c->health->log, entry);
                while (json_object_array_length(c->health->log) > HEALTH_LOG_MAX)
                        json_object_array_del_idx(c->health->log, 0, 1);
                old = c->health->status;
                if (code == 0) {
                        c->health->failing_streak = 0;
                        new_status = xstrdup("healthy");
                } else if (in_start) {
                        /* Failures in the start period do not count. */
                        new_status = xstrdup(old);
                } else {
                        c->health->failing_streak++;
                        new_status =
                            xstrdup(c->health->failing_streak >= retries ? "unhealthy" : old);
                }
                if (strcmp(new_status, old) != 0) {
                        json_object *attrs = json_object_new_object();
                        cleanup_free char *action = xasprintf("health_status: %s", new_status);
                        free(c->health->status);
                        c->health->status = xstrdup(new_status);
                        pthread_cond_broadcast(&c->cond);
                        json_object_object_add(attrs, "healthStatus",
                                               json_object_new_string(new_status));
                        pthread_mutex_unlock(&c->lock);
                        berth_engine_emit_container(c->engine, c, action, attrs, false);
                } else {
                        pthread_mutex_unlock(&c->lock);
                }
        }
        pthread_mutex_lock(&c->lock);
        if (c->health && c->health->generation == gen)
                c->health->running = false;
        pthread_mutex_unlock(&c->lock);
        berth_container_unref(c);
        free(j);
        return NULL;
}

void berth_health_start(struct berth_container *c)
{
        struct health_job *j;
        pthread_t t;
        pthread_attr_t a;

        pthread_mutex_lock(&c->lock);
        if (healthcheck(c) == NULL) {
                pthread_mutex_unlock(&c->lock);
                return;
        }
        if (c->health == NULL) {
                c->health = xmalloc0(sizeof(*c->health));
                c->health->log = json_object_new_array();
                c->health->status = xstrdup("starting");
        }
        c->health->generation++;
        free(c->health->status);
        c->health->status = xstrdup("starting");
        c->health->failing_streak = 0;
        c->health->running = true;
        j = xmalloc0(sizeof(*j));
        j->c = berth_container_ref(c);
        j->generation = c->health->generation;
        pthread_mutex_unlock(&c->lock);

        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 256 * 1024);
        if (pthread_create(&t, &a, health_thread, j) != 0) {
                berth_container_unref(c);
                free(j);
        }
        pthread_attr_destroy(&a);
}

void berth_health_stop(struct berth_container *c)
{
        pthread_mutex_lock(&c->lock);
        if (c->health) {
                c->health->generation++;
                c->health->running = false;
                pthread_cond_broadcast(&c->cond);
        }
        pthread_mutex_unlock(&c->lock);
}
