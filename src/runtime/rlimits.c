/* SPDX-License-Identifier: Apache-2.0 */
/* process.rlimits: parsed in the parent, setrlimit() in the child. */
#include "runtime/security.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

struct berth_rlimit_item {
        int resource;
        struct rlimit lim;
};

struct berth_rlimits {
        size_t n;
        struct berth_rlimit_item items[];
};

int berth_json_get_u64(json_object *o, uint64_t *ret)
{
        if (o == NULL || !json_object_is_type(o, json_type_int))
                return -EINVAL;
        /* json-c keeps values above INT64_MAX as uint64; get_int64 then
         * saturates at INT64_MAX, so a negative result is really negative. */
        if (json_object_get_int64(o) < 0)
                return -EINVAL;
        *ret = json_object_get_uint64(o);
        return 0;
}

static int parse_limit(json_object *item, size_t i, const char *key, rlim_t *ret, berth_error **err)
{
        json_object *o = berth_json_get(item, key);
        uint64_t v;

        if (o == NULL)
                return berth_fail(err, EINVAL, "process.rlimits[%zu].%s: missing", i, key);
        if (berth_json_get_u64(o, &v) < 0)
                return berth_fail(err, EINVAL,
                                  "process.rlimits[%zu].%s: `%s` is not a non-negative integer", i,
                                  key, json_object_to_json_string(o));
        *ret = (rlim_t)v;
        return 0;
}

int berth_rlimits_parse(json_object *rlimits, struct berth_rlimits **ret, berth_error **err)
{
        cleanup_rlimits struct berth_rlimits *r = NULL;
        size_t n = 0;
        uint32_t seen = 0;

        if (rlimits != NULL) {
                if (!json_object_is_type(rlimits, json_type_array))
                        return berth_fail(err, EINVAL, "process.rlimits: must be an array");
                n = json_object_array_length(rlimits);
        }
        r = xmalloc0(sizeof(*r) + n * sizeof(r->items[0]));
        for (size_t i = 0; i < n; i++) {
                json_object *item = json_object_array_get_idx(rlimits, i);
                struct berth_rlimit_item *it = &r->items[i];
                const char *type;
                int res, k;

                if (!json_object_is_type(item, json_type_object))
                        return berth_fail(err, EINVAL, "process.rlimits[%zu]: must be an object",
                                          i);
                type = berth_json_str(item, "type");
                if (type == NULL)
                        return berth_fail(err, EINVAL,
                                          "process.rlimits[%zu].type: missing or not a string", i);
                res = berth_rlimit_from_name(type);
                if (res < 0)
                        return berth_fail(
                            err, EINVAL, "process.rlimits[%zu].type: unknown rlimit `%s`", i, type);
                if (seen & (UINT32_C(1) << res))
                        return berth_fail(err, EINVAL,
                                          "process.rlimits[%zu].type: duplicate rlimit `%s`", i,
                                          type);
                seen |= UINT32_C(1) << res;
                it->resource = res;
                if ((k = parse_limit(item, i, "soft", &it->lim.rlim_cur, err)) < 0 ||
                    (k = parse_limit(item, i, "hard", &it->lim.rlim_max, err)) < 0)
                        return k;
                if (it->lim.rlim_cur > it->lim.rlim_max)
                        return berth_fail(err, EINVAL,
                                          "process.rlimits[%zu]: `%s` soft limit %" PRIu64
                                          " is above its hard limit %" PRIu64,
                                          i, type, (uint64_t)it->lim.rlim_cur,
                                          (uint64_t)it->lim.rlim_max);
                r->n++;
        }
        *ret = steal_pointer(&r);
        return 0;
}

int berth_rlimits_apply(const struct berth_rlimits *r, berth_error **err)
{
        if (r == NULL)
                return 0;
        for (size_t i = 0; i < r->n; i++) {
                const struct berth_rlimit_item *it = &r->items[i];
                struct rlimit cur;

                if (setrlimit((__rlimit_resource_t)it->resource, &it->lim) == 0)
                        continue;
                if (errno == EPERM && getrlimit((__rlimit_resource_t)it->resource, &cur) == 0 &&
                    it->lim.rlim_max > cur.rlim_max)
                        return berth_fail(err, EPERM,
                                          "setting `%s` to soft %" PRIu64 " hard %" PRIu64
                                          ": raising the hard limit above %" PRIu64
                                          " needs CAP_SYS_RESOURCE, which the runtime lacks; "
                                          "lower the hard limit",
                                          berth_rlimit_name(it->resource),
                                          (uint64_t)it->lim.rlim_cur, (uint64_t)it->lim.rlim_max,
                                          (uint64_t)cur.rlim_max);
                return berth_fail_errno(err, "setting `%s` to soft %" PRIu64 " hard %" PRIu64,
                                        berth_rlimit_name(it->resource), (uint64_t)it->lim.rlim_cur,
                                        (uint64_t)it->lim.rlim_max);
        }
        return 0;
}

size_t berth_rlimits_count(const struct berth_rlimits *r)
{
        return r ? r->n : 0;
}

void berth_rlimits_free(struct berth_rlimits *r)
{
        free(r);
}

void berth_rlimits_freep(struct berth_rlimits **r)
{
        berth_rlimits_free(*r);
        *r = NULL;
}
