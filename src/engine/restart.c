/* SPDX-License-Identifier: Apache-2.0 */
/* Restart policies: no, always, unless-stopped, on-failure[:N], with
 * Docker's back-off (100 ms doubling on each consecutive restart, reset once
 * a container has run for 10 s). */
#include "core.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "util/jsonutil.h"
#include "util/xalloc.h"

const char *berth_restart_policy(struct berth_container *c, int *ret_max_retries)
{
        json_object *rp = berth_json_get(c->hostconfig, "RestartPolicy");
        const char *n = berth_json_str(rp, "Name");

        if (ret_max_retries)
                *ret_max_retries = (int)berth_json_int(rp, "MaximumRetryCount", 0);
        return n && *n ? n : "no";
}

struct restart_job {
        struct berth_container *c;
        int64_t delay_ms;
        uint64_t generation;
};

static void *restart_thread(void *arg)
{
        struct restart_job *j = arg;
        struct berth_container *c = j->c;
        struct timespec ts;
        bool go;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += j->delay_ms / 1000;
        ts.tv_nsec += (j->delay_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&c->lock);
        /* A stop, a remove or the daemon closing cancels the restart. */
        while (c->status == BERTH_STATUS_RESTARTING && !c->manual_stop && !c->removed &&
               !c->engine->closing && c->exit_generation == j->generation)
                if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0)
                        break;
        go = c->status == BERTH_STATUS_RESTARTING && !c->manual_stop && !c->removed &&
             !c->engine->closing && c->exit_generation == j->generation;
        if (go)
                c->restart_count++;
        pthread_mutex_unlock(&c->lock);
        if (go) {
                berth_error *err = NULL;
                if (berth_container_do_start(c, true, &err) < 0) {
                        /* do_start marked C exited with the cause (exit code
                         * 127/128); like dockerd, try again with the back-off
                         * unless a stop, remove or the policy says no. */
                        pthread_mutex_lock(&c->lock);
                        if ((c->status == BERTH_STATUS_RESTARTING ||
                             c->status == BERTH_STATUS_EXITED) &&
                            c->exit_generation == j->generation) {
                                c->status = BERTH_STATUS_EXITED;
                                (void)berth_restart_schedule(c, 0);
                        }
                        (void)berth_container_save(c, NULL);
                        pthread_cond_broadcast(&c->cond);
                        pthread_mutex_unlock(&c->lock);
                }
                berth_error_free(err);
        }
        berth_container_unref(c);
        free(j);
        return NULL;
}

/* Per-container back-off, kept in the container's JSON document so that it
 * needs no new field: "RestartDelayMs". */
bool berth_restart_schedule(struct berth_container *c, int64_t ran_ms)
{
        int max = 0;
        const char *p = berth_restart_policy(c, &max);
        int64_t delay;
        struct restart_job *j;
        pthread_t t;
        pthread_attr_t a;
        bool want;

        if (c->manual_stop || c->removed || c->engine->closing)
                return false;
        if (strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0)
                want = true;
        else if (strcmp(p, "on-failure") == 0)
                want = c->exit_code != 0 && (max == 0 || c->restart_count < max);
        else
                want = false;
        if (!want)
                return false;
        delay = berth_json_int(c->doc, "RestartDelayMs", 0);
        if (ran_ms >= 10000 || delay <= 0)
                delay = 100;
        else
                delay *= 2;
        if (delay > 60000)
                delay = 60000;
        json_object_object_add(c->doc, "RestartDelayMs", json_object_new_int64(delay));

        j = xmalloc0(sizeof(*j));
        j->c = berth_container_ref(c);
        j->delay_ms = delay;
        j->generation = c->exit_generation;
        c->status = BERTH_STATUS_RESTARTING;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, 256 * 1024);
        if (pthread_create(&t, &a, restart_thread, j) != 0) {
                c->status = BERTH_STATUS_EXITED;
                berth_container_unref(c);
                free(j);
                pthread_attr_destroy(&a);
                return false;
        }
        pthread_attr_destroy(&a);
        return true;
}
