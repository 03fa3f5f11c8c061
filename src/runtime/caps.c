/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials and capabilities: parsed in the parent, applied in the
 * container's init just before execve. The capability system calls are made
 * directly (capget/capset/prctl), so applying allocates nothing. */
#include "runtime/security.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* More additional groups than this is certainly a mistake (NGROUPS_MAX). */
#define BERTH_MAX_GROUPS 65536

#define CAP_BIT(c) (UINT64_C(1) << (c))

static int read_last_cap(void)
{
        cleanup_free char *buf = NULL;
        int64_t v;

        if (berth_read_file("/proc/sys/kernel/cap_last_cap", &buf, NULL, NULL) < 0)
                return CAP_LAST_CAP;
        buf[strcspn(buf, "\n")] = '\0';
        if (berth_parse_int64(buf, &v) < 0 || v < 0 || v > 63)
                return CAP_LAST_CAP;
        return (int)v;
}

static int parse_cap_set(json_object *capabilities, const char *field, int last_cap, uint64_t *ret,
                         berth_error **err)
{
        json_object *arr = berth_json_get(capabilities, field);
        uint64_t set = 0;
        size_t n;

        if (arr == NULL) {
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(arr, json_type_array))
                return berth_fail(err, EINVAL,
                                  "process.capabilities.%s: must be an array of strings", field);
        n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                const char *name;
                int cap;

                if (!json_object_is_type(e, json_type_string))
                        return berth_fail(err, EINVAL,
                                          "process.capabilities.%s[%zu]: must be a string", field,
                                          i);
                name = json_object_get_string(e);
                cap = berth_cap_from_name(name);
                if (cap < 0)
                        return berth_fail(err, EINVAL,
                                          "process.capabilities.%s: unknown capability `%s`", field,
                                          name);
                if (cap > last_cap)
                        continue; /* the running kernel lacks it: skip, like runc */
                set |= CAP_BIT(cap);
        }
        *ret = set;
        return 0;
}

static const char *cap_name(int cap)
{
        size_t n;
        const char *const *names = berth_cap_names(&n);

        return cap >= 0 && (size_t)cap < n ? names[cap] : "CAP_?";
}

/* The first capability in SET, for messages. */
static const char *first_cap_name(uint64_t set)
{
        size_t n;
        const char *const *names = berth_cap_names(&n);

        for (size_t i = 0; i < n; i++)
                if (set & CAP_BIT(i))
                        return names[i];
        return "?";
}

int berth_caps_parse(json_object *capabilities, struct berth_caps **ret, berth_error **err)
{
        cleanup_caps struct berth_caps *caps = xmalloc0(sizeof(*caps));
        int r;

        caps->last_cap = read_last_cap();
        if (capabilities != NULL && !json_object_is_type(capabilities, json_type_object))
                return berth_fail(err, EINVAL, "process.capabilities: must be an object");

        if ((r = parse_cap_set(capabilities, "bounding", caps->last_cap, &caps->bounding, err)) <
                0 ||
            (r = parse_cap_set(capabilities, "effective", caps->last_cap, &caps->effective, err)) <
                0 ||
            (r = parse_cap_set(capabilities, "inheritable", caps->last_cap, &caps->inheritable,
                               err)) < 0 ||
            (r = parse_cap_set(capabilities, "permitted", caps->last_cap, &caps->permitted, err)) <
                0 ||
            (r = parse_cap_set(capabilities, "ambient", caps->last_cap, &caps->ambient, err)) < 0)
                return r;

        /* The kernel refuses an effective set that is not within the
         * permitted one (capset: EPERM); say which capability, now. */
        if (caps->effective & ~caps->permitted)
                return berth_fail(err, EINVAL,
                                  "process.capabilities.effective: `%s` is not in the "
                                  "permitted set; add it to permitted too",
                                  first_cap_name(caps->effective & ~caps->permitted));

        *ret = steal_pointer(&caps);
        return 0;
}

void berth_caps_free(struct berth_caps *caps)
{
        free(caps);
}

void berth_caps_freep(struct berth_caps **caps)
{
        berth_caps_free(*caps);
        *caps = NULL;
}

/* ---- credentials -------------------------------------------------------- */

static int parse_id(json_object *obj, const char *field, uint32_t *ret, berth_error **err)
{
        int64_t v;

        if (!json_object_is_type(obj, json_type_int))
                return berth_fail(err, EINVAL, "process.user.%s: `%s` is not an integer", field,
                                  json_object_to_json_string(obj));
        v = json_object_get_int64(obj);
        /* (uid_t)-1 means "unchanged" to the set*id calls: refuse it. */
        if (v < 0 || v >= (int64_t)UINT32_MAX)
                return berth_fail(err, EINVAL, "process.user.%s: `%s` is out of range", field,
                                  json_object_to_json_string(obj));
        *ret = (uint32_t)v;
        return 0;
}

int berth_creds_parse(json_object *user, struct berth_creds *ret, berth_error **err)
{
        struct berth_creds c = {.set_groups = true};
        cleanup_free gid_t *groups = NULL;
        json_object *o;
        uint32_t id = 0;
        int r;

        if (user != NULL && !json_object_is_type(user, json_type_object))
                return berth_fail(err, EINVAL, "process.user: must be an object");

        if ((o = berth_json_get(user, "uid")) != NULL) {
                if ((r = parse_id(o, "uid", &id, err)) < 0)
                        return r;
                c.uid = id;
        }
        if ((o = berth_json_get(user, "gid")) != NULL) {
                if ((r = parse_id(o, "gid", &id, err)) < 0)
                        return r;
                c.gid = id;
        }
        if ((o = berth_json_get(user, "additionalGids")) != NULL) {
                size_t n;

                if (!json_object_is_type(o, json_type_array))
                        return berth_fail(
                            err, EINVAL,
                            "process.user.additionalGids: must be an array of integers");
                n = json_object_array_length(o);
                if (n > BERTH_MAX_GROUPS)
                        return berth_fail(err, E2BIG,
                                          "process.user.additionalGids: %zu groups, at most %d", n,
                                          BERTH_MAX_GROUPS);
                groups = xcalloc(n ? n : 1, sizeof(*groups));
                for (size_t i = 0; i < n; i++) {
                        if ((r = parse_id(json_object_array_get_idx(o, i), "additionalGids", &id,
                                          err)) < 0)
                                return r;
                        groups[i] = id;
                }
                c.n_groups = n;
        }
        c.groups = steal_pointer(&groups);
        *ret = c;
        return 0;
}

void berth_creds_clear(struct berth_creds *c)
{
        free(c->groups);
        c->groups = NULL;
        c->n_groups = 0;
}

/* ---- applying ----------------------------------------------------------- */

struct capsets {
        uint64_t effective, permitted, inheritable;
};

static int do_capget(struct capsets *ret)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

        if (syscall(SYS_capget, &hdr, data) < 0)
                return -errno;
        ret->effective = data[0].effective | ((uint64_t)data[1].effective << 32);
        ret->permitted = data[0].permitted | ((uint64_t)data[1].permitted << 32);
        ret->inheritable = data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
        return 0;
}

static int do_capset(const struct capsets *s)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
            {(uint32_t)s->effective, (uint32_t)s->permitted, (uint32_t)s->inheritable},
            {(uint32_t)(s->effective >> 32), (uint32_t)(s->permitted >> 32),
             (uint32_t)(s->inheritable >> 32)},
        };

        if (syscall(SYS_capset, &hdr, data) < 0)
                return -errno;
        return 0;
}

static int apply_ids(const struct berth_creds *c, berth_error **err)
{
        if (c->set_groups) {
                if (setgroups(c->n_groups, c->groups) < 0)
                        return berth_fail_errno(err, "setgroups (process.user.additionalGids)");
        } else if (c->n_groups > 0) {
                return berth_fail(err, EPERM,
                                  "process.user.additionalGids: setgroups is denied in this "
                                  "user namespace");
        }
        if (setresgid(c->gid, c->gid, c->gid) < 0)
                return berth_fail_errno(err, "setresgid to %u", (unsigned)c->gid);
        if (setresuid(c->uid, c->uid, c->uid) < 0)
                return berth_fail_errno(err, "setresuid to %u", (unsigned)c->uid);
        return 0;
}

static int apply_caps(const struct berth_caps *caps, berth_error **err)
{
        struct capsets cur = {0}, want;
        int r;

        /* After setresuid to a non-zero uid the effective set is empty even
         * with KEEPCAPS: raise it back to the permitted set so that we hold
         * CAP_SETPCAP for the bounding-set drop. */
        if ((r = do_capget(&cur)) < 0)
                return berth_fail(err, -r, "capget");
        cur.effective = cur.permitted;
        if ((r = do_capset(&cur)) < 0)
                return berth_fail(err, -r, "capset (raising the effective set)");

        for (int cap = 0; cap <= caps->last_cap; cap++) {
                if (caps->bounding & CAP_BIT(cap))
                        continue;
                r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (r < 0) {
                        if (errno == EINVAL)
                                break; /* beyond what the kernel has */
                        return berth_fail_errno(err, "reading the bounding set");
                }
                if (r == 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
                        return berth_fail_errno(err, "dropping `%s` from the bounding set",
                                                cap_name(cap));
        }

        want.effective = caps->effective;
        want.permitted = caps->permitted;
        want.inheritable = caps->inheritable;
        if ((r = do_capset(&want)) < 0) {
                if (r == -EPERM && (want.permitted & ~cur.permitted))
                        return berth_fail(err, EPERM,
                                          "setting capabilities: `%s` is not held by the "
                                          "runtime, it cannot be permitted",
                                          first_cap_name(want.permitted & ~cur.permitted));
                if (r == -EPERM && (want.inheritable & ~caps->bounding))
                        return berth_fail(err, EPERM,
                                          "setting capabilities: inheritable `%s` is not in "
                                          "the bounding set",
                                          first_cap_name(want.inheritable & ~caps->bounding));
                return berth_fail(err, -r,
                                  "capset (effective %#" PRIx64 ", permitted %#" PRIx64
                                  ", inheritable %#" PRIx64 ")",
                                  want.effective, want.permitted, want.inheritable);
        }

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return berth_fail_errno(err, "clearing the ambient set");
        for (int cap = 0; cap <= caps->last_cap; cap++) {
                if (!(caps->ambient & CAP_BIT(cap)))
                        continue;
                /* Like runc and crun, an ambient capability that is not both
                 * permitted and inheritable is left out (never an escalation). */
                if (!(want.permitted & want.inheritable & CAP_BIT(cap)))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
                        return berth_fail_errno(err, "raising ambient capability `%s`",
                                                cap_name(cap));
        }
        return 0;
}

int berth_security_apply_creds_caps(const struct berth_creds *c, const struct berth_caps *caps,
                                    berth_error **err)
{
        int r;

        if (caps != NULL && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return berth_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
        if (c != NULL && (r = apply_ids(c, err)) < 0)
                return r;
        if (caps == NULL)
                return 0;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return berth_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
        return apply_caps(caps, err);
}

int berth_no_new_privs(berth_error **err)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return berth_fail_errno(err, "prctl(PR_SET_NO_NEW_PRIVS)");
        return 0;
}
