/* SPDX-License-Identifier: Apache-2.0 */
/* Docker's create semantics: the image config merged with the create body,
 * HostConfig validation, and the OCI config.json of a container. */
#include "core.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* ---- names ---- */

/* Every capability comes from the runtime's table (berth_cap_names()). */

/* Docker's default set. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

int berth_spec_cap_canonical(const char *name, char **ret, berth_error **err)
{
        cleanup_free char *up = NULL;

        if (strcasecmp(name, "ALL") == 0) {
                *ret = xstrdup("ALL");
                return 0;
        }
        up = strncasecmp(name, "CAP_", 4) == 0 ? xstrdup(name) : xasprintf("CAP_%s", name);
        for (char *p = up; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        if (berth_cap_from_name(up) >= 0) {
                *ret = steal_pointer(&up);
                return 0;
        }
        return berth_engine_fail(err, EINVAL, "invalid capability: `%s`", name);
}

static bool strv_has(char **v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

/* "All capabilities" (--privileged, --cap-add ALL) means those the daemon
 * itself may hand on: its bounding set. A capability the kernel knows but
 * the host withheld (a daemon in a restricted sandbox) cannot be given to a
 * container, and asking for it would fail the start. */
static bool cap_held(size_t cap)
{
        return prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) == 1;
}

int berth_spec_caps(json_object *hc, char ***ret, berth_error **err)
{
        json_object *add = berth_json_get(hc, "CapAdd");
        json_object *drop = berth_json_get(hc, "CapDrop");
        size_t n_all;
        const char *const *all_caps = berth_cap_names(&n_all);
        char **set = xcalloc(n_all + 1, sizeof(char *));
        size_t n = 0;
        bool drop_all = false, add_all = false;
        int r;

        if (berth_json_bool(hc, "Privileged", false)) {
                for (size_t i = 0; i < n_all; i++)
                        if (cap_held(i))
                                set[n++] = xstrdup(all_caps[i]);
                *ret = set;
                return 0;
        }
        for (size_t i = 0; drop && i < json_object_array_length(drop); i++) {
                cleanup_free char *c = NULL;
                r = berth_spec_cap_canonical(
                    json_object_get_string(json_object_array_get_idx(drop, i)), &c, err);
                if (r < 0)
                        goto fail;
                if (strcmp(c, "ALL") == 0)
                        drop_all = true;
        }
        for (size_t i = 0; add && i < json_object_array_length(add); i++) {
                cleanup_free char *c = NULL;
                r = berth_spec_cap_canonical(
                    json_object_get_string(json_object_array_get_idx(add, i)), &c, err);
                if (r < 0)
                        goto fail;
                if (strcmp(c, "ALL") == 0)
                        add_all = true;
        }
        if (add_all) {
                for (size_t i = 0; i < n_all; i++)
                        if (cap_held(i))
                                set[n++] = xstrdup(all_caps[i]);
        } else if (!drop_all) {
                for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
                        set[n++] = xstrdup(default_caps[i]);
        }
        /* Drops apply to the defaults; explicit adds win over drops (Docker). */
        for (size_t i = 0; drop && i < json_object_array_length(drop); i++) {
                cleanup_free char *c = NULL;
                (void)berth_spec_cap_canonical(
                    json_object_get_string(json_object_array_get_idx(drop, i)), &c, NULL);
                for (size_t k = 0; k < n; k++)
                        if (strcmp(set[k], c) == 0) {
                                free(set[k]);
                                set[k] = set[--n];
                                set[n] = NULL;
                                break;
                        }
        }
        for (size_t i = 0; !add_all && add && i < json_object_array_length(add); i++) {
                char *c = NULL;
                (void)berth_spec_cap_canonical(
                    json_object_get_string(json_object_array_get_idx(add, i)), &c, NULL);
                if (strv_has(set, n, c))
                        free(c);
                else
                        set[n++] = c;
        }
        *ret = set;
        return 0;
fail:
        berth_strv_freep(&set);
        return r;
}

int berth_engine_signal_parse(const char *s)
{
        int sig;
        int r = berth_signal_parse(s, &sig);

        return r < 0 ? r : sig;
}

int berth_engine_parse_bytes(const char *s, int64_t *ret)
{
        char *end;
        double v;
        int64_t mult = 1;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -EINVAL;
        switch (tolower((unsigned char)*end)) {
        case '\0':
                break;
        case 'b':
                break;
        case 'k':
                mult = 1024;
                break;
        case 'm':
                mult = 1024 * 1024;
                break;
        case 'g':
                mult = 1024LL * 1024 * 1024;
                break;
        case 't':
                mult = 1024LL * 1024 * 1024 * 1024;
                break;
        default:
                return -EINVAL;
        }
        if (*end) {
                end++;
                if (tolower((unsigned char)*end) == 'i')
                        end++;
                if (tolower((unsigned char)*end) == 'b')
                        end++;
                if (*end)
                        return -EINVAL;
        }
        /* NaN, infinities and anything past int64 are not sizes. */
        if (!(v >= 0 && v * (double)mult < 9.2e18))
                return -ERANGE;
        *ret = (int64_t)(v * (double)mult);
        return 0;
}

/* ---- config merge ---- */

static bool is_empty(json_object *o)
{
        if (o == NULL)
                return true;
        if (json_object_is_type(o, json_type_array))
                return json_object_array_length(o) == 0;
        if (json_object_is_type(o, json_type_string))
                return json_object_get_string_len(o) == 0;
        if (json_object_is_type(o, json_type_object))
                return json_object_object_length(o) == 0;
        return false;
}

static int check_strv(json_object *o, const char *what, berth_error **err)
{
        if (o == NULL)
                return 0;
        if (!json_object_is_type(o, json_type_array))
                return berth_engine_fail(err, EINVAL, "%s: must be an array of strings", what);
        for (size_t i = 0; i < json_object_array_length(o); i++)
                if (!json_object_is_type(json_object_array_get_idx(o, i), json_type_string))
                        return berth_engine_fail(err, EINVAL, "%s[%zu]: must be a string", what, i);
        return 0;
}

/* Docker accepts a string for Cmd/Entrypoint too (strslice). */
static json_object *as_strv(json_object *o)
{
        if (o && json_object_is_type(o, json_type_string)) {
                json_object *a = json_object_new_array();
                json_object_array_add(a, json_object_get(o));
                return a;
        }
        return o ? json_object_get(o) : NULL;
}

static void env_set(json_object *env, const char *kv)
{
        const char *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

        for (size_t i = 0; i < json_object_array_length(env); i++) {
                const char *cur = json_object_get_string(json_object_array_get_idx(env, i));
                if (strncmp(cur, kv, klen) == 0 && (cur[klen] == '=' || cur[klen] == '\0')) {
                        json_object_array_put_idx(env, i, json_object_new_string(kv));
                        return;
                }
        }
        json_object_array_add(env, json_object_new_string(kv));
}

int berth_spec_merge_config(json_object *image_config, json_object *body, json_object **ret_config,
                            berth_error **err)
{
        cleanup_json json_object *cfg = json_object_new_object();
        cleanup_json json_object *cmd = NULL, *entrypoint = NULL;
        json_object *env = json_object_new_array();
        json_object *labels = json_object_new_object();
        json_object *v;
        static const char *const copied[] = {"Hostname",        "Domainname",   "AttachStdin",
                                             "AttachStdout",    "AttachStderr", "Tty",
                                             "OpenStdin",       "StdinOnce",    "Image",
                                             "NetworkDisabled", "MacAddress",   "StopTimeout"};
        static const char *const inherited[] = {
            "User", "WorkingDir", "StopSignal", "ExposedPorts", "Volumes", "OnBuild", "Shell"};
        int r;

        json_object_object_add(cfg, "Env", env);
        json_object_object_add(cfg, "Labels", labels);
        if ((r = check_strv(berth_json_get(body, "Env"), "Env", err)) < 0)
                return r;
        if ((v = berth_json_get(body, "Cmd")) && !json_object_is_type(v, json_type_string) &&
            (r = check_strv(v, "Cmd", err)) < 0)
                return r;
        if ((v = berth_json_get(body, "Entrypoint")) && !json_object_is_type(v, json_type_string) &&
            (r = check_strv(v, "Entrypoint", err)) < 0)
                return r;
        if ((v = berth_json_get(body, "Labels")) && !json_object_is_type(v, json_type_object))
                return berth_engine_fail(err, EINVAL, "Labels: must be an object");

        for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
                if ((v = berth_json_get(body, copied[i])))
                        json_object_object_add(cfg, copied[i], json_object_get(v));
        for (size_t i = 0; i < sizeof(inherited) / sizeof(inherited[0]); i++) {
                v = berth_json_get(body, inherited[i]);
                if (is_empty(v))
                        v = berth_json_get(image_config, inherited[i]);
                if (v)
                        json_object_object_add(cfg, inherited[i], json_object_get(v));
        }
        if ((v = berth_json_get(image_config, "Env")))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        env_set(env, json_object_get_string(json_object_array_get_idx(v, i)));
        if ((v = berth_json_get(body, "Env")))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        env_set(env, json_object_get_string(json_object_array_get_idx(v, i)));
        if ((v = berth_json_get(image_config, "Labels"))) {
                json_object_object_foreach(v, k1, v1)
                    json_object_object_add(labels, k1, json_object_get(v1));
        }
        if ((v = berth_json_get(body, "Labels"))) {
                json_object_object_foreach(v, k2, v2)
                    json_object_object_add(labels, k2, json_object_get(v2));
        }

        /* Entrypoint and Cmd as Docker combines them: an Entrypoint in the
         * request drops the image's Cmd; otherwise the request's Cmd (when
         * not empty) replaces the image's. */
        if (berth_json_get(body, "Entrypoint") != NULL) {
                entrypoint = as_strv(berth_json_get(body, "Entrypoint"));
                cmd = as_strv(berth_json_get(body, "Cmd"));
                if (entrypoint && json_object_array_length(entrypoint) == 1 &&
                    json_object_get_string_len(json_object_array_get_idx(entrypoint, 0)) == 0) {
                        /* --entrypoint "": reset to none. */
                        json_object_put(entrypoint);
                        entrypoint = NULL;
                        if (is_empty(cmd)) {
                                json_object_put(cmd);
                                cmd = as_strv(berth_json_get(image_config, "Cmd"));
                        }
                }
        } else {
                entrypoint = as_strv(berth_json_get(image_config, "Entrypoint"));
                cmd = as_strv(berth_json_get(body, "Cmd"));
                if (is_empty(cmd)) {
                        if (cmd)
                                json_object_put(cmd);
                        cmd = as_strv(berth_json_get(image_config, "Cmd"));
                }
        }
        if (is_empty(entrypoint) && is_empty(cmd))
                return berth_engine_fail(err, EINVAL, "no command specified");
        json_object_object_add(cfg, "Cmd", steal_pointer(&cmd));
        json_object_object_add(cfg, "Entrypoint", steal_pointer(&entrypoint));

        /* Healthcheck: the request's, with the image's fields it leaves empty. */
        {
                json_object *bh = berth_json_get(body, "Healthcheck");
                json_object *ih = berth_json_get(image_config, "Healthcheck");
                if (bh && !json_object_is_type(bh, json_type_object))
                        return berth_engine_fail(err, EINVAL, "Healthcheck: must be an object");
                if (bh || ih) {
                        json_object *h = json_object_new_object();
                        static const char *const hk[] = {"Test",        "Interval",      "Timeout",
                                                         "StartPeriod", "StartInterval", "Retries"};
                        for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++) {
                                json_object *x = berth_json_get(bh, hk[i]);
                                if (x == NULL ||
                                    (json_object_is_type(x, json_type_int) &&
                                     json_object_get_int64(x) == 0) ||
                                    is_empty(x))
                                        x = berth_json_get(ih, hk[i]);
                                if (x)
                                        json_object_object_add(h, hk[i], json_object_get(x));
                        }
                        json_object_object_add(cfg, "Healthcheck", h);
                }
        }
        if (!berth_json_get(cfg, "WorkingDir"))
                json_object_object_add(cfg, "WorkingDir", json_object_new_string(""));
        if (!berth_json_get(cfg, "User"))
                json_object_object_add(cfg, "User", json_object_new_string(""));
        *ret_config = steal_pointer(&cfg);
        return 0;
}

/* ---- HostConfig validation ---- */

static int check_type(json_object *hc, const char *key, json_type t, berth_error **err)
{
        json_object *v = berth_json_get(hc, key);
        if (v == NULL)
                return 0;
        if (t == json_type_int && json_object_is_type(v, json_type_double))
                return 0;
        if (!json_object_is_type(v, t))
                return berth_engine_fail(err, EINVAL,
                                         "json: cannot unmarshal %s into Go struct field "
                                         "HostConfig.%s of type %s",
                                         json_type_to_name(json_object_get_type(v)), key,
                                         t == json_type_int       ? "int64"
                                         : t == json_type_string  ? "string"
                                         : t == json_type_array   ? "[]string"
                                         : t == json_type_boolean ? "bool"
                                                                  : "object");
        return 0;
}

int berth_spec_check_hostconfig(json_object *hc, berth_error **err)
{
        static const char *const ints[] = {"Memory",    "MemorySwap",  "MemoryReservation",
                                           "NanoCpus",  "CpuShares",   "CpuQuota",
                                           "CpuPeriod", "PidsLimit",   "BlkioWeight",
                                           "ShmSize",   "OomScoreAdj", "MemorySwappiness"};
        static const char *const strs[] = {"NetworkMode", "CpusetCpus", "CpusetMems",  "PidMode",
                                           "IpcMode",     "UTSMode",    "CgroupnsMode"};
        static const char *const arrs[] = {"Binds",       "CapAdd",   "CapDrop",
                                           "SecurityOpt", "GroupAdd", "Ulimits",
                                           "Mounts",      "Dns",      "ExtraHosts"};
        static const char *const bools[] = {"Privileged", "ReadonlyRootfs", "AutoRemove",
                                            "Init",       "OomKillDisable", "PublishAllPorts"};
        int64_t mem, swap;
        json_object *v;
        cleanup_strv char **caps = NULL;
        const char *nm;
        int r;

        if (!json_object_is_type(hc, json_type_object))
                return berth_engine_fail(err, EINVAL, "HostConfig: must be an object");
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
                if ((r = check_type(hc, ints[i], json_type_int, err)) < 0)
                        return r;
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                if ((r = check_type(hc, strs[i], json_type_string, err)) < 0)
                        return r;
        for (size_t i = 0; i < sizeof(arrs) / sizeof(arrs[0]); i++)
                if ((r = check_type(hc, arrs[i], json_type_array, err)) < 0)
                        return r;
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                if ((r = check_type(hc, bools[i], json_type_boolean, err)) < 0)
                        return r;
        if ((r = check_type(hc, "Tmpfs", json_type_object, err)) < 0 ||
            (r = check_type(hc, "RestartPolicy", json_type_object, err)) < 0 ||
            (r = check_type(hc, "LogConfig", json_type_object, err)) < 0 ||
            (r = check_type(hc, "Sysctls", json_type_object, err)) < 0)
                return r;

        mem = berth_json_int(hc, "Memory", 0);
        swap = berth_json_int(hc, "MemorySwap", 0);
        if (mem < 0)
                return berth_engine_fail(
                    err, EINVAL, "invalid Memory value %lld: must not be negative", (long long)mem);
        if (mem > 0 && mem < 6 * 1024 * 1024)
                return berth_engine_fail(err, EINVAL, "Minimum memory limit allowed is 6MB");
        if (swap > 0 && mem == 0)
                return berth_engine_fail(
                    err, EINVAL,
                    "You should always set the Memory limit when using Memoryswap "
                    "limit, see usage.");
        if (swap > 0 && swap < mem)
                return berth_engine_fail(
                    err, EINVAL,
                    "Minimum memoryswap limit should be larger than memory limit, "
                    "see usage.");
        if (berth_json_int(hc, "NanoCpus", 0) < 0)
                return berth_engine_fail(err, EINVAL,
                                         "Range of CPUs is from 0.01 to the number of CPUs");
        if (berth_json_int(hc, "NanoCpus", 0) > 0 &&
            (berth_json_int(hc, "CpuQuota", 0) > 0 || berth_json_int(hc, "CpuPeriod", 0) > 0))
                return berth_engine_fail(
                    err, EINVAL,
                    "Conflicting options: Nano CPUs and CPU Period cannot both be "
                    "set");
        if (berth_json_int(hc, "NanoCpus", 0) > 0 && berth_json_int(hc, "NanoCpus", 0) < 10000000)
                return berth_engine_fail(err, EINVAL,
                                         "Range of CPUs is from 0.01 to the number of CPUs");
        if (berth_json_int(hc, "CpuShares", 0) < 0)
                return berth_engine_fail(err, EINVAL, "invalid CPU shares: must not be negative");
        {
                int64_t sw = berth_json_int(hc, "MemorySwappiness", -1);
                if (sw != -1 && (sw < 0 || sw > 100))
                        return berth_engine_fail(
                            err, EINVAL,
                            "Invalid value: %lld, valid memory swappiness range "
                            "is 0-100",
                            (long long)sw);
        }
        nm = berth_json_str(hc, "NetworkMode");
        if (nm == NULL || *nm == '\0')
                json_object_object_add(hc, "NetworkMode", json_object_new_string("default"));
        else if (strcmp(nm, "default") != 0 && strcmp(nm, "bridge") != 0 &&
                 strcmp(nm, "host") != 0 && strcmp(nm, "none") != 0 &&
                 !berth_str_has_prefix(nm, "container:"))
                return berth_engine_fail(err, ENOENT, "network %s not found", nm);
        v = berth_json_get(hc, "RestartPolicy");
        if (v) {
                const char *pn = berth_json_str(v, "Name");
                int64_t mr = berth_json_int(v, "MaximumRetryCount", 0);
                if (pn && *pn && strcmp(pn, "no") != 0 && strcmp(pn, "always") != 0 &&
                    strcmp(pn, "unless-stopped") != 0 && strcmp(pn, "on-failure") != 0)
                        return berth_engine_fail(
                            err, EINVAL,
                            "invalid restart policy: unknown policy "
                            "'%s'; use one of 'no', 'always', 'on-failure', or "
                            "'unless-stopped'",
                            pn);
                if (mr < 0)
                        return berth_engine_fail(err, EINVAL,
                                                 "invalid restart policy: maximum retry "
                                                 "count cannot be negative");
                if (mr > 0 && (pn == NULL || strcmp(pn, "on-failure") != 0))
                        return berth_engine_fail(err, EINVAL,
                                                 "invalid restart policy: maximum retry "
                                                 "count can only be used with 'on-failure'");
                if (pn && (strcmp(pn, "always") == 0 || strcmp(pn, "unless-stopped") == 0) &&
                    berth_json_bool(hc, "AutoRemove", false))
                        return berth_engine_fail(
                            err, EINVAL,
                            "conflicting options: cannot specify both --restart "
                            "and --rm");
        }
        r = berth_spec_caps(hc, &caps, err);
        if (r < 0)
                return r;
        v = berth_json_get(hc, "Ulimits");
        for (size_t i = 0; v && i < json_object_array_length(v); i++) {
                json_object *u = json_object_array_get_idx(v, i);
                const char *n = berth_json_str(u, "Name");
                static const char *const ok[] = {
                    "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
                    "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
                bool found = false;
                for (size_t k = 0; n && k < sizeof(ok) / sizeof(ok[0]); k++)
                        found |= strcmp(ok[k], n) == 0;
                if (!found)
                        return berth_engine_fail(err, EINVAL, "invalid ulimit type: `%s`",
                                                 n ? n : "");
                if (berth_json_int(u, "Soft", 0) > berth_json_int(u, "Hard", 0))
                        return berth_engine_fail(
                            err, EINVAL,
                            "ulimit soft limit must be less than or equal to hard "
                            "limit: %lld > %lld",
                            (long long)berth_json_int(u, "Soft", 0),
                            (long long)berth_json_int(u, "Hard", 0));
        }
        v = berth_json_get(hc, "Binds");
        for (size_t i = 0; v && i < json_object_array_length(v); i++) {
                const char *b = json_object_get_string(json_object_array_get_idx(v, i));
                const char *colon = b ? strchr(b, ':') : NULL;
                if (b == NULL || colon == NULL || colon == b || colon[1] != '/')
                        return berth_engine_fail(err, EINVAL, "invalid volume specification: '%s'",
                                                 b ? b : "");
                if (b[0] != '/')
                        return berth_engine_fail(
                            err, ENOTSUP,
                            "named volume `%.*s`: volumes are not supported yet; "
                            "bind an absolute host path instead",
                            (int)(colon - b), b);
        }
        v = berth_json_get(hc, "Tmpfs");
        if (v) {
                json_object_object_foreach(v, dst, opts)
                {
                        if (dst[0] != '/')
                                return berth_engine_fail(
                                    err, EINVAL,
                                    "invalid mount path for tmpfs: `%s` must be "
                                    "absolute",
                                    dst);
                        if (opts && !json_object_is_type(opts, json_type_string))
                                return berth_engine_fail(err, EINVAL,
                                                         "Tmpfs `%s`: options must be "
                                                         "a string",
                                                         dst);
                }
        }
        v = berth_json_get(hc, "SecurityOpt");
        for (size_t i = 0; v && i < json_object_array_length(v); i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(v, i));
                if (o == NULL)
                        return berth_engine_fail(err, EINVAL, "SecurityOpt: must be strings");
                if (strcmp(o, "no-new-privileges") == 0 ||
                    strcmp(o, "no-new-privileges=true") == 0 ||
                    strcmp(o, "no-new-privileges:true") == 0 ||
                    strcmp(o, "no-new-privileges=false") == 0 ||
                    berth_str_has_prefix(o, "seccomp=") || berth_str_has_prefix(o, "seccomp:") ||
                    berth_str_has_prefix(o, "apparmor=") || berth_str_has_prefix(o, "label=") ||
                    berth_str_has_prefix(o, "label:"))
                        continue;
                return berth_engine_fail(err, EINVAL, "invalid --security-opt 2: \"%s\"", o);
        }
        return 0;
}

/* ---- users ---- */

/* Find NAME (or numeric ID when NAME is NULL) in a passwd/group-style
 * file: returns the fields split on ':' (NULL when not found). */
static char **db_lookup(int rootfd, const char *file, const char *name, int64_t id)
{
        cleanup_close int fd = berth_open_in_root(rootfd, file, O_RDONLY, 0, NULL);
        cleanup_fclose FILE *f = NULL;
        cleanup_free char *line = NULL;
        size_t cap = 0;

        if (fd < 0)
                return NULL;
        f = fdopen(steal_fd(&fd), "r");
        if (f == NULL)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                char **fields = xcalloc(8, sizeof(char *));
                size_t n = 0;
                char *save = NULL, *p = line;
                line[strcspn(line, "\n")] = '\0';
                for (char *tok = strsep(&p, ":"); tok && n < 7; tok = strsep(&p, ":"))
                        fields[n++] = xstrdup(tok);
                (void)save;
                if (n >= 3) {
                        int64_t v;
                        if ((name && strcmp(fields[0], name) == 0) ||
                            (!name && berth_parse_int64(fields[2], &v) == 0 && v == id))
                                return fields;
                }
                berth_strv_freep(&fields);
        }
        return NULL;
}

int berth_spec_resolve_user(const char *rootfs, const char *user, char *const *group_add,
                            uint32_t *ret_uid, uint32_t *ret_gid, uint32_t **ret_gids,
                            size_t *ret_n_gids, berth_error **err)
{
        cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cleanup_free char *u = xstrdup(user ? user : "");
        cleanup_free uint32_t *gids = NULL;
        cleanup_strv char **pw = NULL;
        char *g = strchr(u, ':');
        int64_t v;
        uint32_t uid = 0, gid = 0;
        size_t n = 0;

        if (rootfd < 0)
                return berth_fail_errno(err, "open `%s`", rootfs);
        if (g)
                *g++ = '\0';
        if (*u == '\0') {
                pw = db_lookup(rootfd, "/etc/passwd", NULL, 0);
        } else if (berth_parse_int64(u, &v) == 0) {
                if (v < 0 || v > UINT32_MAX - 1)
                        return berth_engine_fail(err, EINVAL, "invalid user `%s`", user);
                uid = (uint32_t)v;
                pw = db_lookup(rootfd, "/etc/passwd", NULL, v);
        } else {
                pw = db_lookup(rootfd, "/etc/passwd", u, 0);
                if (pw == NULL)
                        return berth_engine_fail(
                            err, EINVAL,
                            "unable to find user %s: no matching entries in passwd "
                            "file",
                            u);
        }
        if (pw) {
                if (berth_parse_int64(pw[2], &v) == 0)
                        uid = (uint32_t)v;
                if (pw[3] && berth_parse_int64(pw[3], &v) == 0)
                        gid = (uint32_t)v;
        }
        if (g && *g) {
                if (berth_parse_int64(g, &v) == 0) {
                        gid = (uint32_t)v;
                } else {
                        cleanup_strv char **gr = db_lookup(rootfd, "/etc/group", g, 0);
                        if (gr == NULL)
                                return berth_engine_fail(
                                    err, EINVAL,
                                    "unable to find group %s: no matching entries "
                                    "in group file",
                                    g);
                        if (berth_parse_int64(gr[2], &v) == 0)
                                gid = (uint32_t)v;
                }
        }
        gids = xcalloc(64 + berth_strv_len(group_add), sizeof(uint32_t));
        /* Supplementary groups of the user (when named in passwd and no
         * explicit group was given). */
        if (pw && !(g && *g)) {
                cleanup_close int fd = berth_open_in_root(rootfd, "/etc/group", O_RDONLY, 0, NULL);
                cleanup_fclose FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
                cleanup_free char *line = NULL;
                size_t cap = 0;
                if (f)
                        fd = -1;
                while (f && n < 64 && getline(&line, &cap, f) > 0) {
                        char *p = line, *name, *members;
                        line[strcspn(line, "\n")] = '\0';
                        name = strsep(&p, ":");
                        (void)strsep(&p, ":");
                        char *gidstr = strsep(&p, ":");
                        members = p;
                        (void)name;
                        if (members == NULL || gidstr == NULL)
                                continue;
                        for (char *m = strsep(&members, ","); m; m = strsep(&members, ","))
                                if (strcmp(m, pw[0]) == 0 && berth_parse_int64(gidstr, &v) == 0 &&
                                    (uint32_t)v != gid)
                                        gids[n++] = (uint32_t)v;
                }
        }
        for (size_t i = 0; group_add && group_add[i]; i++) {
                if (berth_parse_int64(group_add[i], &v) == 0) {
                        gids[n++] = (uint32_t)v;
                } else {
                        cleanup_strv char **gr = db_lookup(rootfd, "/etc/group", group_add[i], 0);
                        if (gr == NULL)
                                return berth_engine_fail(
                                    err, EINVAL,
                                    "unable to find group %s: no matching entries "
                                    "in group file",
                                    group_add[i]);
                        if (berth_parse_int64(gr[2], &v) == 0)
                                gids[n++] = (uint32_t)v;
                }
        }
        *ret_uid = uid;
        *ret_gid = gid;
        if (ret_gids) {
                *ret_gids = steal_pointer(&gids);
                *ret_n_gids = n;
        }
        return 0;
}

/* ---- the OCI spec ---- */

static json_object *strv_json(const char *const *v, size_t n)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *opts_json(const char *csv)
{
        json_object *a = json_object_new_array();
        cleanup_free char *dup = xstrdup(csv ? csv : "");
        char *p = dup;
        for (char *t = strsep(&p, ","); t; t = strsep(&p, ","))
                if (*t)
                        json_object_array_add(a, json_object_new_string(t));
        return a;
}

static void add_mount(json_object *mounts, const char *dst, const char *type, const char *src,
                      const char *csv)
{
        json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string(dst));
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object_object_add(m, "source", json_object_new_string(src));
        json_object_object_add(m, "options", opts_json(csv));
        json_object_array_add(mounts, m);
}

/* Is DST already mounted by the user (bind, tmpfs)? */
static bool user_mounts(json_object *hc, const char *dst)
{
        json_object *b = berth_json_get(hc, "Binds");
        json_object *t = berth_json_get(hc, "Tmpfs");
        size_t l = strlen(dst);

        for (size_t i = 0; b && i < json_object_array_length(b); i++) {
                const char *s =
                    strchr(json_object_get_string(json_object_array_get_idx(b, i)), ':');
                if (s && strncmp(s + 1, dst, l) == 0 && (s[1 + l] == ':' || s[1 + l] == '\0'))
                        return true;
        }
        return t && berth_json_get(t, dst) != NULL;
}

static int write_etc_files(struct berth_container *c, const char *hostname, berth_error **err)
{
        cleanup_free char *hn = xasprintf("%s/hostname", c->dir);
        cleanup_free char *hosts = xasprintf("%s/hosts", c->dir);
        cleanup_free char *resolv = xasprintf("%s/resolv.conf", c->dir);
        cleanup_free char *hn_data = xasprintf("%s\n", hostname);
        cleanup_free char *hosts_data =
            xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                      "ff02::2\tip6-allrouters\n127.0.1.1\t%s\n",
                      hostname);
        cleanup_free char *rc = NULL;
        size_t rc_len = 0;
        int r;

        /* Written again at every start: atomic, not durable (no fsync on the
         * hot path of `docker run`). */
        r = berth_write_file_replace(hn, hn_data, strlen(hn_data), 0644, err);
        if (r >= 0)
                r = berth_write_file_replace(hosts, hosts_data, strlen(hosts_data), 0644, err);
        if (r < 0)
                return r;
        if (berth_read_file("/etc/resolv.conf", &rc, &rc_len, NULL) < 0) {
                free(rc);
                rc = xstrdup("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
                rc_len = strlen(rc);
        }
        return berth_write_file_replace(resolv, rc, rc_len, 0644, err);
}

static const char *const masked_paths[] = {
    "/proc/asound",      "/proc/acpi",          "/proc/interrupts", "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int add_namespaces(struct berth_container *c, json_object *linux_, berth_error **err)
{
        json_object *ns = json_object_new_array();
        const char *nm = berth_json_str(c->hostconfig, "NetworkMode");
        const char *pm = berth_json_str(c->hostconfig, "PidMode");
        const char *im = berth_json_str(c->hostconfig, "IpcMode");
        const char *um = berth_json_str(c->hostconfig, "UTSMode");
        struct {
                const char *type, *mode;
        } kinds[] = {{"mount", NULL}, {"network", nm}, {"pid", pm}, {"ipc", im}, {"uts", um}};
        int r = 0;

        json_object_object_add(linux_, "namespaces", ns);
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                const char *mode = kinds[i].mode;
                json_object *o;
                if (mode && strcmp(mode, "host") == 0)
                        continue;
                o = json_object_new_object();
                json_object_object_add(o, "type", json_object_new_string(kinds[i].type));
                if (mode && berth_str_has_prefix(mode, "container:")) {
                        cleanup_container struct berth_container *other = NULL;
                        pid_t pid = 0;
                        r = berth_engine_container_get(c->engine, mode + 10, &other, err);
                        if (r < 0) {
                                json_object_put(o);
                                return berth_error_prefix(err, r, "%s namespace", kinds[i].type);
                        }
                        if (other == c) {
                                json_object_put(o);
                                return berth_engine_fail(
                                    err, EINVAL, "cannot join own %s namespace", kinds[i].type);
                        }
                        pthread_mutex_lock(&other->lock);
                        if (berth_container_is_running(other))
                                pid = other->pid;
                        pthread_mutex_unlock(&other->lock);
                        if (pid <= 0) {
                                json_object_put(o);
                                return berth_engine_fail(
                                    err, EBUSY,
                                    "cannot join the %s namespace of container "
                                    "`%s`: it is not running",
                                    kinds[i].type, mode + 10);
                        }
                        cleanup_free char *path = xasprintf(
                            "/proc/%d/ns/%s", pid,
                            strcmp(kinds[i].type, "network") == 0 ? "net" : kinds[i].type);
                        json_object_object_add(o, "path", json_object_new_string(path));
                }
                json_object_array_add(ns, o);
        }
        /* A private cgroup namespace on cgroup v2 only (as Docker does). */
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "type", json_object_new_string("cgroup"));
                json_object_array_add(ns, o);
        }
        return 0;
}

/* ---- --privileged: the host's devices ---- */

#define HOST_DEVICES_MAX   4096
#define HOST_DEVICES_DEPTH 8

/* Append the device nodes under the directory DIRFD (host path PATH) to
 * DEVICES as OCI linux.devices entries, as Docker does for --privileged:
 * every character and block device of the host's /dev, except the trees
 * the container gets its own instance of (pts, shm, mqueue, fd) and the
 * console and ptmx, which the runtime provides. Unreadable entries are
 * skipped: the list is best effort, like Docker's. */
static void host_devices_in(int dirfd, const char *path, int depth, json_object *devices)
{
        static const char *const skip_dirs[] = {"pts",  "shm",         "fd",   "mqueue",
                                                ".lxc", ".lxd-mounts", ".udev"};
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (d == NULL) {
                (void)close(fd);
                return;
        }
        while ((de = readdir(d)) != NULL && json_object_array_length(devices) < HOST_DEVICES_MAX) {
                const char *n = de->d_name;
                struct stat st;
                bool skip = false;
                json_object *o;

                if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
                        continue;
                if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        for (size_t i = 0; i < sizeof(skip_dirs) / sizeof(skip_dirs[0]); i++)
                                skip = skip || strcmp(n, skip_dirs[i]) == 0;
                        if (!skip && depth < HOST_DEVICES_DEPTH) {
                                cleanup_close int sub = openat(
                                    dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                cleanup_free char *p = xasprintf("%s/%s", path, n);
                                if (sub >= 0)
                                        host_devices_in(sub, p, depth + 1, devices);
                        }
                        continue;
                }
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        continue;
                if (depth == 0 && (strcmp(n, "console") == 0 || strcmp(n, "ptmx") == 0))
                        continue;
                o = json_object_new_object();
                {
                        cleanup_free char *p = xasprintf("%s/%s", path, n);
                        json_object_object_add(o, "path", json_object_new_string(p));
                }
                json_object_object_add(o, "type",
                                       json_object_new_string(S_ISCHR(st.st_mode) ? "c" : "b"));
                json_object_object_add(o, "major", json_object_new_int64(major(st.st_rdev)));
                json_object_object_add(o, "minor", json_object_new_int64(minor(st.st_rdev)));
                json_object_object_add(o, "fileMode", json_object_new_int(st.st_mode & 07777));
                json_object_object_add(o, "uid", json_object_new_int64(st.st_uid));
                json_object_object_add(o, "gid", json_object_new_int64(st.st_gid));
                json_object_array_add(devices, o);
        }
}

static json_object *host_devices(void)
{
        json_object *devices = json_object_new_array();
        cleanup_close int fd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0)
                host_devices_in(fd, "/dev", 0, devices);
        return devices;
}

static json_object *resources(struct berth_container *c)
{
        json_object *hc = c->hostconfig;
        json_object *res = json_object_new_object();
        json_object *mem = json_object_new_object();
        json_object *cpu = json_object_new_object();
        json_object *dev = json_object_new_array();
        json_object *d = json_object_new_object();
        int64_t v;
        const char *s;

        json_object_object_add(d, "allow",
                               json_object_new_boolean(berth_json_bool(hc, "Privileged", false)));
        json_object_object_add(d, "access", json_object_new_string("rwm"));
        json_object_array_add(dev, d);
        json_object_object_add(res, "devices", dev);

        if ((v = berth_json_int(hc, "Memory", 0)) > 0) {
                int64_t swap = berth_json_int(hc, "MemorySwap", 0);
                json_object_object_add(mem, "limit", json_object_new_int64(v));
                /* Docker: unset swap means memory * 2; -1 unlimited. */
                if (swap == 0)
                        swap = v * 2;
                json_object_object_add(mem, "swap", json_object_new_int64(swap));
        }
        if ((v = berth_json_int(hc, "MemoryReservation", 0)) > 0)
                json_object_object_add(mem, "reservation", json_object_new_int64(v));
        if ((v = berth_json_int(hc, "MemorySwappiness", -1)) >= 0)
                json_object_object_add(mem, "swappiness", json_object_new_int64(v));
        if (berth_json_bool(hc, "OomKillDisable", false))
                json_object_object_add(mem, "disableOOMKiller", json_object_new_boolean(true));
        if (json_object_object_length(mem))
                json_object_object_add(res, "memory", mem);
        else
                json_object_put(mem);

        if ((v = berth_json_int(hc, "NanoCpus", 0)) > 0) {
                json_object_object_add(cpu, "period", json_object_new_int64(100000));
                json_object_object_add(cpu, "quota", json_object_new_int64(v / 10000));
        } else {
                if ((v = berth_json_int(hc, "CpuPeriod", 0)) > 0)
                        json_object_object_add(cpu, "period", json_object_new_int64(v));
                if ((v = berth_json_int(hc, "CpuQuota", 0)) > 0)
                        json_object_object_add(cpu, "quota", json_object_new_int64(v));
        }
        if ((v = berth_json_int(hc, "CpuShares", 0)) > 0)
                json_object_object_add(cpu, "shares", json_object_new_int64(v));
        if ((s = berth_json_str(hc, "CpusetCpus")) && *s)
                json_object_object_add(cpu, "cpus", json_object_new_string(s));
        if ((s = berth_json_str(hc, "CpusetMems")) && *s)
                json_object_object_add(cpu, "mems", json_object_new_string(s));
        if (json_object_object_length(cpu))
                json_object_object_add(res, "cpu", cpu);
        else
                json_object_put(cpu);
        if ((v = berth_json_int(hc, "PidsLimit", 0)) > 0) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "limit", json_object_new_int64(v));
                json_object_object_add(res, "pids", p);
        }
        if ((v = berth_json_int(hc, "BlkioWeight", 0)) > 0) {
                json_object *b = json_object_new_object();
                json_object_object_add(b, "weight", json_object_new_int64(v));
                json_object_object_add(res, "blockIO", b);
        }
        return res;
}

static void add_rlimit(json_object *rl, const char *name, int64_t soft, int64_t hard)
{
        cleanup_free char *type = xasprintf("RLIMIT_%s", name);
        json_object *o;

        for (char *p = type; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        for (size_t i = 0; i < json_object_array_length(rl); i++)
                if (strcmp(berth_json_str(json_object_array_get_idx(rl, i), "type"), type) == 0) {
                        json_object_array_del_idx(rl, i, 1);
                        break;
                }
        o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "soft", json_object_new_int64(soft));
        json_object_object_add(o, "hard", json_object_new_int64(hard));
        json_object_array_add(rl, o);
}

static json_object *rlimits(struct berth_container *c)
{
        json_object *rl = json_object_new_array();
        json_object *u = berth_json_get(c->hostconfig, "Ulimits");
        json_object *du = c->engine->default_ulimits;

        struct rlimit own;
        int64_t nofile = 1048576;

        /* Docker's containers get 1048576 open files; never more than the
         * daemon itself may grant. */
        if (getrlimit(RLIMIT_NOFILE, &own) == 0 && own.rlim_max != RLIM_INFINITY &&
            (int64_t)own.rlim_max < nofile)
                nofile = (int64_t)own.rlim_max;
        add_rlimit(rl, "nofile", nofile, nofile);
        if (du) {
                json_object_object_foreach(du, k, v)
                    add_rlimit(rl, berth_json_str(v, "Name") ?: k, berth_json_int(v, "Soft", 0),
                               berth_json_int(v, "Hard", 0));
        }
        for (size_t i = 0; u && i < json_object_array_length(u); i++) {
                json_object *x = json_object_array_get_idx(u, i);
                add_rlimit(rl, berth_json_str(x, "Name"), berth_json_int(x, "Soft", 0),
                           berth_json_int(x, "Hard", 0));
        }
        return rl;
}

static bool has_secopt(json_object *hc, const char *prefix, const char **ret_value)
{
        json_object *so = berth_json_get(hc, "SecurityOpt");
        size_t pl = strlen(prefix);
        for (size_t i = 0; so && i < json_object_array_length(so); i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(so, i));
                if (strncmp(o, prefix, pl) == 0 &&
                    (o[pl] == '\0' || o[pl] == '=' || o[pl] == ':')) {
                        if (ret_value)
                                *ret_value = o[pl] ? o + pl + 1 : "";
                        return true;
                }
        }
        return false;
}

int berth_container_exec_process(struct berth_container *c, char *const *argv, const char *user,
                                 char *const *env, const char *workdir, bool tty, bool privileged,
                                 json_object **ret, berth_error **err)
{
        json_object *p = json_object_new_object();
        json_object *a = json_object_new_array();
        json_object *ev = json_object_new_array();
        json_object *cfg_env = berth_json_get(c->config, "Env");
        json_object *caps_o = json_object_new_object();
        json_object *ujs = json_object_new_object();
        cleanup_strv char **caps = NULL;
        cleanup_free char *rootfs = xasprintf("%s/rootfs", c->bundle);
        cleanup_free uint32_t *gids = NULL;
        cleanup_strv char **group_add = berth_json_strv(berth_json_get(c->hostconfig, "GroupAdd"));
        const char *u = user && *user ? user : berth_json_str(c->config, "User");
        const char *wd = workdir && *workdir ? workdir : berth_json_str(c->config, "WorkingDir");
        const char *nnp = NULL;
        uint32_t uid, gid;
        size_t n_gids = 0;
        int r;

        json_object_object_add(p, "terminal", json_object_new_boolean(tty));
        for (size_t i = 0; argv && argv[i]; i++)
                json_object_array_add(a, json_object_new_string(argv[i]));
        json_object_object_add(p, "args", a);
        json_object_object_add(p, "env", ev);
        env_set(ev, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (berth_json_str(c->config, "Hostname")) {
                cleanup_free char *h =
                    xasprintf("HOSTNAME=%s", berth_json_str(c->config, "Hostname"));
                env_set(ev, h);
        }
        if (tty)
                env_set(ev, "TERM=xterm");
        for (size_t i = 0; cfg_env && i < json_object_array_length(cfg_env); i++)
                env_set(ev, json_object_get_string(json_object_array_get_idx(cfg_env, i)));
        for (size_t i = 0; env && env[i]; i++)
                env_set(ev, env[i]);
        json_object_object_add(p, "cwd", json_object_new_string(wd && *wd ? wd : "/"));

        r = berth_spec_resolve_user(rootfs, u, group_add, &uid, &gid, &gids, &n_gids, err);
        if (r < 0) {
                json_object_put(p);
                json_object_put(caps_o);
                json_object_put(ujs);
                return r;
        }
        json_object_object_add(ujs, "uid", json_object_new_int64(uid));
        json_object_object_add(ujs, "gid", json_object_new_int64(gid));
        if (n_gids) {
                json_object *ga = json_object_new_array();
                for (size_t i = 0; i < n_gids; i++)
                        json_object_array_add(ga, json_object_new_int64(gids[i]));
                json_object_object_add(ujs, "additionalGids", ga);
        }
        json_object_object_add(p, "user", ujs);

        if (privileged) {
                cleanup_json json_object *hc = json_object_new_object();
                json_object_object_add(hc, "Privileged", json_object_new_boolean(true));
                r = berth_spec_caps(hc, &caps, err);
        } else {
                r = berth_spec_caps(c->hostconfig, &caps, err);
        }
        if (r < 0) {
                json_object_put(p);
                json_object_put(caps_o);
                return r;
        }
        json_object_object_add(caps_o, "bounding",
                               strv_json((const char *const *)caps, berth_strv_len(caps)));
        json_object_object_add(caps_o, "effective",
                               strv_json((const char *const *)caps, berth_strv_len(caps)));
        json_object_object_add(caps_o, "permitted",
                               strv_json((const char *const *)caps, berth_strv_len(caps)));
        json_object_object_add(p, "capabilities", caps_o);
        json_object_object_add(p, "rlimits", rlimits(c));
        if (has_secopt(c->hostconfig, "no-new-privileges", &nnp) && strcmp(nnp, "false") != 0)
                json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(true));
        if (berth_json_int(c->hostconfig, "OomScoreAdj", 0) != 0)
                json_object_object_add(
                    p, "oomScoreAdj",
                    json_object_new_int64(berth_json_int(c->hostconfig, "OomScoreAdj", 0)));
        *ret = p;
        return 0;
}

static char **container_argv(struct berth_container *c)
{
        json_object *ep = berth_json_get(c->config, "Entrypoint");
        json_object *cmd = berth_json_get(c->config, "Cmd");
        size_t n =
            (ep ? json_object_array_length(ep) : 0) + (cmd ? json_object_array_length(cmd) : 0);
        char **v = xcalloc(n + 3, sizeof(char *));
        size_t k = 0;

        if (berth_json_bool(c->hostconfig, "Init", false)) {
                v[k++] = xstrdup("/sbin/docker-init");
                v[k++] = xstrdup("--");
        }
        for (size_t i = 0; ep && i < json_object_array_length(ep); i++)
                v[k++] = xstrdup(json_object_get_string(json_object_array_get_idx(ep, i)));
        for (size_t i = 0; cmd && i < json_object_array_length(cmd); i++)
                v[k++] = xstrdup(json_object_get_string(json_object_array_get_idx(cmd, i)));
        return v;
}

static int add_user_mounts(struct berth_container *c, json_object *mounts, berth_error **err)
{
        json_object *hc = c->hostconfig;
        json_object *b = berth_json_get(hc, "Binds");
        json_object *t = berth_json_get(hc, "Tmpfs");
        json_object *m = berth_json_get(hc, "Mounts");

        for (size_t i = 0; b && i < json_object_array_length(b); i++) {
                cleanup_free char *spec =
                    xstrdup(json_object_get_string(json_object_array_get_idx(b, i)));
                char *p = spec;
                char *src = strsep(&p, ":");
                char *dst = strsep(&p, ":");
                char *mo = p;
                cleanup_free char *opts = xstrdup("rbind");
                struct stat st;

                if (stat(src, &st) < 0) {
                        int r = berth_mkdir_p(src, 0755, err);
                        if (r < 0)
                                return berth_error_prefix(err, r, "bind source `%s`", src);
                }
                for (char *o = mo ? strsep(&mo, ",") : NULL; o; o = mo ? strsep(&mo, ",") : NULL) {
                        char *old = opts;
                        if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0 ||
                            strcmp(o, "shared") == 0 || strcmp(o, "rshared") == 0 ||
                            strcmp(o, "slave") == 0 || strcmp(o, "rslave") == 0 ||
                            strcmp(o, "private") == 0 || strcmp(o, "rprivate") == 0)
                                opts = xasprintf("%s,%s", old, o);
                        else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0 ||
                                 strcmp(o, "nocopy") == 0 || *o == '\0')
                                continue;
                        else
                                return berth_engine_fail(err, EINVAL,
                                                         "invalid mode: %s in bind `%s`", o, src);
                        free(old);
                }
                if (!strstr(opts, "private") && !strstr(opts, "shared") && !strstr(opts, "slave")) {
                        char *old = opts;
                        opts = xasprintf("%s,rprivate", old);
                        free(old);
                }
                add_mount(mounts, dst, "bind", src, opts);
        }
        if (t) {
                json_object_object_foreach(t, dst, o)
                {
                        const char *os = o ? json_object_get_string(o) : "";
                        cleanup_free char *opts =
                            xasprintf("nosuid,nodev,noexec%s%s", *os ? "," : "", os);
                        add_mount(mounts, dst, "tmpfs", "tmpfs", opts);
                }
        }
        for (size_t i = 0; m && i < json_object_array_length(m); i++) {
                json_object *x = json_object_array_get_idx(m, i);
                const char *type = berth_json_str(x, "Type");
                const char *src = berth_json_str(x, "Source");
                const char *dst = berth_json_str(x, "Target");
                bool ro = berth_json_bool(x, "ReadOnly", false);
                if (dst == NULL || dst[0] != '/')
                        return berth_engine_fail(err, EINVAL,
                                                 "invalid mount config: Target must be an "
                                                 "absolute path");
                if (type && strcmp(type, "bind") == 0) {
                        if (src == NULL || src[0] != '/')
                                return berth_engine_fail(
                                    err, EINVAL,
                                    "invalid mount config for type \"bind\": "
                                    "invalid mount path: '%s' mount path must be "
                                    "absolute",
                                    src ? src : "");
                        if (access(src, F_OK) < 0)
                                return berth_engine_fail(
                                    err, EINVAL,
                                    "invalid mount config for type \"bind\": bind "
                                    "source path does not exist: %s",
                                    src);
                        add_mount(mounts, dst, "bind", src,
                                  ro ? "rbind,ro,rprivate" : "rbind,rprivate");
                } else if (type && strcmp(type, "tmpfs") == 0) {
                        json_object *to = berth_json_get(x, "TmpfsOptions");
                        int64_t size = berth_json_int(to, "SizeBytes", 0);
                        int64_t mode = berth_json_int(to, "Mode", 0);
                        cleanup_free char *opts =
                            xasprintf("nosuid,nodev,noexec%s", ro ? ",ro" : "");
                        if (size > 0) {
                                char *old = opts;
                                opts = xasprintf("%s,size=%lld", old, (long long)size);
                                free(old);
                        }
                        if (mode > 0) {
                                char *old = opts;
                                opts = xasprintf("%s,mode=%llo", old, (unsigned long long)mode);
                                free(old);
                        }
                        add_mount(mounts, dst, "tmpfs", "tmpfs", opts);
                } else {
                        return berth_engine_fail(
                            err, ENOTSUP, "mount type `%s` is not supported yet", type ? type : "");
                }
        }
        return 0;
}

int berth_spec_build(struct berth_container *c, const char *rootfs, json_object **ret,
                     berth_error **err)
{
        cleanup_json json_object *spec = json_object_new_object();
        json_object *hc = c->hostconfig;
        json_object *root = json_object_new_object();
        json_object *mounts = json_object_new_array();
        json_object *linux_ = json_object_new_object();
        json_object *process = NULL;
        cleanup_strv char **argv = container_argv(c);
        cleanup_strv char **caps = NULL;
        const char *hostname = berth_json_str(c->config, "Hostname");
        const char *nm = berth_json_str(hc, "NetworkMode");
        bool privileged = berth_json_bool(hc, "Privileged", false);
        bool host_net = nm && strcmp(nm, "host") == 0;
        const char *seccomp = NULL;
        cleanup_free char *etc_hosts = NULL, *etc_hostname = NULL, *etc_resolv = NULL;
        cleanup_free char *shm_opts = NULL;
        char hostbuf[256];
        int r;

        (void)rootfs;
        json_object_object_add(spec, "ociVersion", json_object_new_string("1.2.0"));
        json_object_object_add(root, "path", json_object_new_string(rootfs));
        json_object_object_add(
            root, "readonly",
            json_object_new_boolean(berth_json_bool(hc, "ReadonlyRootfs", false)));
        json_object_object_add(spec, "root", root);
        json_object_object_add(spec, "mounts", mounts);
        json_object_object_add(spec, "linux", linux_);

        if (host_net && gethostname(hostbuf, sizeof(hostbuf)) == 0)
                hostname = hostbuf;
        if (hostname == NULL || *hostname == '\0')
                hostname = "localhost";
        json_object_object_add(spec, "hostname", json_object_new_string(hostname));

        r = berth_container_exec_process(c, argv, NULL, NULL, NULL, c->tty, privileged, &process,
                                         err);
        if (r < 0)
                return r;
        /* process.consoleSize is set at start from HostConfig.ConsoleSize when
         * the terminal reported one; a 0x0 terminal leaves it out (a null
         * there is not a valid runtime config). */
        json_object_object_add(spec, "process", process);

        add_mount(mounts, "/proc", "proc", "proc", "nosuid,noexec,nodev");
        add_mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
        add_mount(mounts, "/dev/pts", "devpts", "devpts",
                  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5");
        add_mount(mounts, "/sys", "sysfs", "sysfs",
                  privileged ? "nosuid,noexec,nodev" : "nosuid,noexec,nodev,ro");
        add_mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup",
                  privileged ? "nosuid,noexec,nodev,relatime" : "nosuid,noexec,nodev,relatime,ro");
        add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
        if (!user_mounts(hc, "/dev/shm")) {
                int64_t shm = berth_json_int(hc, "ShmSize", 0);
                shm_opts = xasprintf("nosuid,noexec,nodev,mode=1777,size=%lld",
                                     (long long)(shm > 0 ? shm : 64 * 1024 * 1024));
                add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm_opts);
        }
        r = write_etc_files(c, hostname, err);
        if (r < 0)
                return r;
        etc_hosts = xasprintf("%s/hosts", c->dir);
        etc_hostname = xasprintf("%s/hostname", c->dir);
        etc_resolv = xasprintf("%s/resolv.conf", c->dir);
        if (!user_mounts(hc, "/etc/resolv.conf"))
                add_mount(mounts, "/etc/resolv.conf", "bind", etc_resolv, "rbind,rprivate");
        if (!user_mounts(hc, "/etc/hostname"))
                add_mount(mounts, "/etc/hostname", "bind", etc_hostname, "rbind,rprivate");
        if (!user_mounts(hc, "/etc/hosts"))
                add_mount(mounts, "/etc/hosts", "bind", etc_hosts, "rbind,rprivate");
        if (berth_json_bool(hc, "Init", false)) {
                add_mount(mounts, "/sbin/docker-init", "bind", c->engine->init_path,
                          "rbind,ro,rprivate");
        }
        r = add_user_mounts(c, mounts, err);
        if (r < 0)
                return r;

        r = add_namespaces(c, linux_, err);
        if (r < 0)
                return r;
        json_object_object_add(linux_, "resources", resources(c));
        {
                cleanup_free char *cg = xasprintf("/berth/%s", c->id);
                json_object_object_add(linux_, "cgroupsPath", json_object_new_string(cg));
        }
        if (privileged)
                json_object_object_add(linux_, "devices", host_devices());
        if (!privileged) {
                json_object_object_add(
                    linux_, "maskedPaths",
                    strv_json(masked_paths, sizeof(masked_paths) / sizeof(masked_paths[0])));
                json_object_object_add(
                    linux_, "readonlyPaths",
                    strv_json(readonly_paths, sizeof(readonly_paths) / sizeof(readonly_paths[0])));
        }
        {
                json_object *sc = berth_json_get(hc, "Sysctls");
                if (sc && json_object_object_length(sc))
                        json_object_object_add(linux_, "sysctl", json_object_get(sc));
        }
        r = berth_spec_caps(hc, &caps, err);
        if (r < 0)
                return r;
        if (!has_secopt(hc, "seccomp", &seccomp))
                seccomp = NULL;
        if (privileged || (seccomp && strcmp(seccomp, "unconfined") == 0)) {
                /* no filter */
        } else if (seccomp && *seccomp) {
                json_object *s = NULL;
                r = berth_seccomp_from_docker(seccomp, caps, &s, err);
                if (r < 0)
                        return r;
                json_object_object_add(linux_, "seccomp", s);
        } else {
                json_object_object_add(linux_, "seccomp", berth_seccomp_default(caps));
        }
        {
                const char *sig = berth_json_str(c->config, "StopSignal");
                json_object *ann = json_object_new_object();
                json_object_object_add(ann, "org.opencontainers.image.stopSignal",
                                       json_object_new_string(sig && *sig ? sig : "SIGTERM"));
                json_object_object_add(spec, "annotations", ann);
        }
        *ret = steal_pointer(&spec);
        return 0;
}
