/* SPDX-License-Identifier: Apache-2.0 */
/* The event bus: a bounded in-memory ring of Docker events, replayed for
 * since/until, and live subscribers that stream JSON lines. */
#include "core.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define EVENTS_RING 1024

struct berth_events {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        json_object *ring[EVENTS_RING];
        int64_t ring_ns[EVENTS_RING];
        uint64_t next; /* sequence number of the next event */
};

int berth_events_new(struct berth_events **ret)
{
        struct berth_events *ev = xmalloc0(sizeof(*ev));
        pthread_condattr_t ca;

        pthread_mutex_init(&ev->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&ev->cond, &ca);
        pthread_condattr_destroy(&ca);
        *ret = ev;
        return 0;
}

void berth_events_free(struct berth_events *ev)
{
        for (size_t i = 0; i < EVENTS_RING; i++)
                if (ev->ring[i])
                        json_object_put(ev->ring[i]);
        pthread_mutex_destroy(&ev->lock);
        pthread_cond_destroy(&ev->cond);
        free(ev);
}

void berth_engine_emit(struct berth_engine *e, const char *type, const char *action, const char *id,
                       json_object *attributes)
{
        struct berth_events *ev = e->events;
        json_object *o = json_object_new_object();
        json_object *actor = json_object_new_object();
        struct timespec ts;
        int64_t ns;
        size_t slot;

        clock_gettime(CLOCK_REALTIME, &ts);
        ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (attributes == NULL)
                attributes = json_object_new_object();
        if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
                json_object_object_add(o, "status", json_object_new_string(action));
                if (id)
                        json_object_object_add(o, "id", json_object_new_string(id));
                if (strcmp(type, "container") == 0 && berth_json_str(attributes, "image"))
                        json_object_object_add(
                            o, "from", json_object_new_string(berth_json_str(attributes, "image")));
        }
        json_object_object_add(o, "Type", json_object_new_string(type));
        json_object_object_add(o, "Action", json_object_new_string(action));
        json_object_object_add(actor, "ID", json_object_new_string(id ? id : ""));
        json_object_object_add(actor, "Attributes", attributes);
        json_object_object_add(o, "Actor", actor);
        json_object_object_add(o, "scope", json_object_new_string("local"));
        json_object_object_add(o, "time", json_object_new_int64(ts.tv_sec));
        json_object_object_add(o, "timeNano", json_object_new_int64(ns));

        pthread_mutex_lock(&ev->lock);
        slot = ev->next % EVENTS_RING;
        if (ev->ring[slot])
                json_object_put(ev->ring[slot]);
        ev->ring[slot] = o;
        ev->ring_ns[slot] = ns;
        ev->next++;
        pthread_cond_broadcast(&ev->cond);
        pthread_mutex_unlock(&ev->lock);
}

void berth_engine_emit_container(struct berth_engine *e, struct berth_container *c,
                                 const char *action, json_object *extra, bool locked)
{
        json_object *attrs = json_object_new_object();
        json_object *labels;

        if (!locked)
                pthread_mutex_lock(&c->lock);
        json_object_object_add(attrs, "image",
                               json_object_new_string(c->image_name ? c->image_name : ""));
        json_object_object_add(attrs, "name", json_object_new_string(c->name ? c->name + 1 : ""));
        labels = berth_json_get(c->config, "Labels");
        if (labels) {
                json_object_object_foreach(labels, k, v)
                    json_object_object_add(attrs, k, json_object_get(v));
        }
        if (!locked)
                pthread_mutex_unlock(&c->lock);
        if (extra) {
                json_object_object_foreach(extra, k, v)
                    json_object_object_add(attrs, k, json_object_get(v));
                json_object_put(extra);
        }
        berth_engine_emit(e, "container", action, c->id, attrs);
}

/* Does the filter KEY accept VALUE? Filters come as {"k":{"v":true}} or
 * {"k":["v"]}; an absent key accepts everything. */
static bool filter_has(json_object *filters, const char *key)
{
        json_object *f = berth_json_get(filters, key);
        if (f == NULL)
                return false;
        if (json_object_is_type(f, json_type_array))
                return json_object_array_length(f) > 0;
        return json_object_is_type(f, json_type_object) && json_object_object_length(f) > 0;
}

/* Call FN for every value of the filter KEY; true when one returns true. */
static bool filter_any(json_object *filters, const char *key,
                       bool (*fn)(const char *want, void *ctx), void *ctx)
{
        json_object *f = berth_json_get(filters, key);
        if (f == NULL)
                return true;
        if (json_object_is_type(f, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(f); i++)
                        if (fn(json_object_get_string(json_object_array_get_idx(f, i)), ctx))
                                return true;
                return json_object_array_length(f) == 0;
        }
        if (json_object_is_type(f, json_type_object)) {
                json_object_object_foreach(f, k, v)
                {
                        (void)v;
                        if (fn(k, ctx))
                                return true;
                }
                return json_object_object_length(f) == 0;
        }
        return true;
}

static bool eq(const char *want, void *ctx)
{
        return ctx && strcmp(want, (const char *)ctx) == 0;
}

static bool match_actor(const char *want, void *ctx)
{
        json_object *o = ctx;
        json_object *actor = berth_json_get(o, "Actor");
        const char *id = berth_json_str(actor, "ID");
        const char *name = berth_json_str(berth_json_get(actor, "Attributes"), "name");
        return (id && strncmp(id, want, strlen(want)) == 0) || (name && strcmp(name, want) == 0);
}

static bool match_image(const char *want, void *ctx)
{
        json_object *o = ctx;
        const char *img =
            berth_json_str(berth_json_get(berth_json_get(o, "Actor"), "Attributes"), "image");
        const char *id = berth_json_str(berth_json_get(o, "Actor"), "ID");
        return (img && strcmp(img, want) == 0) ||
               (strcmp(berth_json_str(o, "Type"), "image") == 0 && id && strcmp(id, want) == 0);
}

static bool match_label(const char *want, void *ctx)
{
        json_object *attrs =
            berth_json_get(berth_json_get((json_object *)ctx, "Actor"), "Attributes");
        const char *eqs = strchr(want, '=');
        cleanup_free char *k = eqs ? xstrndup(want, (size_t)(eqs - want)) : xstrdup(want);
        const char *v = berth_json_str(attrs, k);
        if (v == NULL)
                return false;
        return eqs == NULL || strcmp(v, eqs + 1) == 0;
}

static bool match_action(const char *want, void *ctx)
{
        const char *a = ctx;
        size_t l = strlen(want);
        /* "health_status" matches "health_status: healthy". */
        return strcmp(a, want) == 0 || (strncmp(a, want, l) == 0 && a[l] == ':');
}

static bool event_matches(json_object *o, json_object *filters)
{
        const char *type = berth_json_str(o, "Type");
        const char *action = berth_json_str(o, "Action");

        if (!filter_any(filters, "type", eq, (void *)type))
                return false;
        if (!filter_any(filters, "event", match_action, (void *)action))
                return false;
        if (filter_has(filters, "container") &&
            (strcmp(type, "container") != 0 || !filter_any(filters, "container", match_actor, o)))
                return false;
        if (!filter_any(filters, "image", match_image, o))
                return false;
        if (!filter_any(filters, "label", match_label, o))
                return false;
        return true;
}

static bool peer_gone(int fd)
{
        struct pollfd p = {.fd = fd, .events = 0};
        return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

int berth_engine_events(struct berth_engine *e, int64_t since, int64_t until, json_object *filters,
                        int out_fd, berth_error **err)
{
        struct berth_events *ev = e->events;
        int64_t since_ns = since > 0 ? since * 1000000000 : 0;
        int64_t until_ns = until > 0 ? until * 1000000000 : 0;
        uint64_t seq;
        struct timespec now;

        pthread_mutex_lock(&ev->lock);
        seq = ev->next > EVENTS_RING ? ev->next - EVENTS_RING : 0;
        if (since_ns == 0)
                seq = ev->next; /* live only */
        for (;;) {
                while (seq < ev->next) {
                        size_t slot = seq % EVENTS_RING;
                        json_object *o = json_object_get(ev->ring[slot]);
                        int64_t ns = ev->ring_ns[slot];
                        seq++;
                        if ((since_ns && ns < since_ns) || (until_ns && ns > until_ns) ||
                            !event_matches(o, filters)) {
                                json_object_put(o);
                                continue;
                        }
                        pthread_mutex_unlock(&ev->lock);
                        int r = berth_json_write_line(out_fd, o);
                        json_object_put(o);
                        if (r < 0)
                                return berth_fail(err, -r, "write events");
                        pthread_mutex_lock(&ev->lock);
                        if (seq + EVENTS_RING < ev->next)
                                seq = ev->next - EVENTS_RING; /* we fell behind */
                }
                clock_gettime(CLOCK_REALTIME, &now);
                if (until_ns && (int64_t)now.tv_sec * 1000000000 + now.tv_nsec >= until_ns)
                        break;
                if (e->closing)
                        break;
                pthread_mutex_unlock(&ev->lock);
                if (peer_gone(out_fd))
                        return 0;
                pthread_mutex_lock(&ev->lock);
                if (seq == ev->next) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        ts.tv_nsec += 500000000;
                        if (ts.tv_nsec >= 1000000000) {
                                ts.tv_sec++;
                                ts.tv_nsec -= 1000000000;
                        }
                        (void)pthread_cond_timedwait(&ev->cond, &ev->lock, &ts);
                }
        }
        pthread_mutex_unlock(&ev->lock);
        return 0;
}
