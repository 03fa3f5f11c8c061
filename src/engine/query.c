/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only views of containers: inspect, list (with filters), top, prune,
 * info and disk usage. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "berth-version.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static json_object *str_or_empty(const char *s)
{
        return json_object_new_string(s ? s : "");
}

/* Path and Args: the first element of entrypoint+cmd and the rest. */
static void path_args(struct berth_container *c, json_object *doc)
{
        json_object *args = json_object_new_array();
        json_object *ep = berth_json_get(c->config, "Entrypoint");
        json_object *cmd = berth_json_get(c->config, "Cmd");
        const char *path = NULL;

        if (berth_json_bool(c->hostconfig, "Init", false))
                path = "/sbin/docker-init";
        for (int pass = 0; pass < 2; pass++) {
                json_object *a = pass ? cmd : ep;
                for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                        const char *s = json_object_get_string(json_object_array_get_idx(a, i));
                        if (path == NULL)
                                path = s;
                        else
                                json_object_array_add(args, json_object_new_string(s));
                }
        }
        json_object_object_add(doc, "Path", str_or_empty(path));
        json_object_object_add(doc, "Args", args);
}

static json_object *state_json(struct berth_container *c)
{
        json_object *st = json_object_new_object();
        json_object *h;

        json_object_object_add(st, "Status",
                               json_object_new_string(berth_container_status_name(c->status)));
        json_object_object_add(st, "Running",
                               json_object_new_boolean(berth_container_is_running(c)));
        json_object_object_add(st, "Paused",
                               json_object_new_boolean(c->status == BERTH_STATUS_PAUSED));
        json_object_object_add(st, "Restarting",
                               json_object_new_boolean(c->status == BERTH_STATUS_RESTARTING));
        json_object_object_add(st, "OOMKilled", json_object_new_boolean(c->oom_killed));
        json_object_object_add(st, "Dead", json_object_new_boolean(c->status == BERTH_STATUS_DEAD));
        json_object_object_add(st, "Pid",
                               json_object_new_int(berth_container_is_running(c) ? c->pid : 0));
        json_object_object_add(st, "ExitCode", json_object_new_int(c->exit_code));
        json_object_object_add(st, "Error", str_or_empty(c->error));
        json_object_object_add(st, "StartedAt", str_or_empty(c->started_at));
        json_object_object_add(st, "FinishedAt", str_or_empty(c->finished_at));
        h = berth_health_json(c);
        if (h)
                json_object_object_add(st, "Health", h);
        return st;
}

static json_object *network_settings(struct berth_container *c)
{
        json_object *ns = json_object_new_object();
        json_object *nets = json_object_new_object();
        const char *nm = berth_json_str(c->hostconfig, "NetworkMode");
        static const char *const empty[] = {
            "Bridge",    "SandboxID",   "SandboxKey", "Gateway",    "GlobalIPv6Address",
            "IPAddress", "IPv6Gateway", "MacAddress", "EndpointID", "LinkLocalIPv6Address"};

        for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
                json_object_object_add(ns, empty[i], json_object_new_string(""));
        json_object_object_add(ns, "HairpinMode", json_object_new_boolean(false));
        json_object_object_add(ns, "LinkLocalIPv6PrefixLen", json_object_new_int(0));
        json_object_object_add(ns, "GlobalIPv6PrefixLen", json_object_new_int(0));
        json_object_object_add(ns, "IPPrefixLen", json_object_new_int(0));
        json_object_object_add(ns, "Ports", json_object_new_object());
        json_object_object_add(ns, "SecondaryIPAddresses", NULL);
        json_object_object_add(ns, "SecondaryIPv6Addresses", NULL);
        if (nm && !berth_str_has_prefix(nm, "container:")) {
                json_object *ep = json_object_new_object();
                static const char *const epk[] = {"NetworkID", "EndpointID",  "Gateway",
                                                  "IPAddress", "IPv6Gateway", "GlobalIPv6Address",
                                                  "MacAddress"};
                for (size_t i = 0; i < sizeof(epk) / sizeof(epk[0]); i++)
                        json_object_object_add(ep, epk[i], json_object_new_string(""));
                json_object_object_add(ep, "IPPrefixLen", json_object_new_int(0));
                json_object_object_add(ep, "GlobalIPv6PrefixLen", json_object_new_int(0));
                json_object_object_add(ep, "IPAMConfig", NULL);
                json_object_object_add(ep, "Links", NULL);
                json_object_object_add(ep, "Aliases", NULL);
                json_object_object_add(nets, strcmp(nm, "default") == 0 ? "bridge" : nm, ep);
        }
        json_object_object_add(ns, "Networks", nets);
        return ns;
}

/* A copy of CONFIG with every key of Docker's ContainerConfig present (the
 * CLI's templates, e.g. `{{.Config.Volumes}}`, expect them all). */
static json_object *config_json(json_object *config)
{
        static const char *const strs[] = {"Hostname", "Domainname", "User", "WorkingDir"};
        static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr",
                                            "Tty",         "OpenStdin",    "StdinOnce"};
        static const char *const nulls[] = {"Env", "Cmd", "Volumes", "Entrypoint", "OnBuild"};
        json_object *o = NULL;

        if (config == NULL || json_object_deep_copy(config, &o, NULL) < 0 || o == NULL)
                o = json_object_new_object();
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                if (!json_object_object_get_ex(o, strs[i], NULL))
                        json_object_object_add(o, strs[i], json_object_new_string(""));
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                if (!json_object_object_get_ex(o, bools[i], NULL))
                        json_object_object_add(o, bools[i], json_object_new_boolean(false));
        for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
                if (!json_object_object_get_ex(o, nulls[i], NULL))
                        json_object_object_add(o, nulls[i], NULL);
        if (!json_object_object_get_ex(o, "Image", NULL))
                json_object_object_add(o, "Image", json_object_new_string(""));
        if (!json_object_object_get_ex(o, "Labels", NULL))
                json_object_object_add(o, "Labels", json_object_new_object());
        return o;
}

static json_object *inspect_locked(struct berth_container *c)
{
        json_object *d = json_object_new_object();
        json_object *hc = json_tokener_parse(json_object_to_json_string(c->hostconfig));
        cleanup_free char *rootfs = xasprintf("%s/rootfs", c->bundle);
        cleanup_free char *upper = xasprintf("%s/diff", c->dir);
        json_object *gd = json_object_new_object(), *gdd = json_object_new_object();

        json_object_object_add(d, "Id", json_object_new_string(c->id));
        json_object_object_add(d, "Created", str_or_empty(c->created));
        path_args(c, d);
        json_object_object_add(d, "State", state_json(c));
        json_object_object_add(d, "Image", str_or_empty(c->image_id));
        json_object_object_add(d, "ResolvConfPath", json_object_new_string_len("", 0));
        {
                cleanup_free char *a = xasprintf("%s/resolv.conf", c->dir);
                cleanup_free char *b = xasprintf("%s/hostname", c->dir);
                cleanup_free char *h = xasprintf("%s/hosts", c->dir);
                json_object_object_add(d, "ResolvConfPath", json_object_new_string(a));
                json_object_object_add(d, "HostnamePath", json_object_new_string(b));
                json_object_object_add(d, "HostsPath", json_object_new_string(h));
        }
        json_object_object_add(d, "LogPath", json_object_new_string(c->log_path));
        json_object_object_add(d, "Name", str_or_empty(c->name));
        json_object_object_add(d, "RestartCount", json_object_new_int(c->restart_count));
        json_object_object_add(d, "Driver", json_object_new_string("overlay2"));
        json_object_object_add(d, "Platform", json_object_new_string("linux"));
        json_object_object_add(d, "MountLabel", json_object_new_string(""));
        json_object_object_add(d, "ProcessLabel", json_object_new_string(""));
        json_object_object_add(d, "AppArmorProfile", json_object_new_string(""));
        json_object_object_add(d, "ExecIDs", NULL);
        if (!berth_json_get(hc, "LogConfig") ||
            !berth_json_str(berth_json_get(hc, "LogConfig"), "Type") ||
            !*berth_json_str(berth_json_get(hc, "LogConfig"), "Type")) {
                json_object *lc = json_object_new_object();
                json_object *cfg = berth_json_get(berth_json_get(hc, "LogConfig"), "Config");
                json_object_object_add(lc, "Type", json_object_new_string("json-file"));
                json_object_object_add(lc, "Config",
                                       cfg ? json_object_get(cfg) : json_object_new_object());
                json_object_object_add(hc, "LogConfig", lc);
        }
        if (!berth_json_get(hc, "RestartPolicy")) {
                json_object *rp = json_object_new_object();
                json_object_object_add(rp, "Name", json_object_new_string("no"));
                json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(0));
                json_object_object_add(hc, "RestartPolicy", rp);
        }
        {
                static const char *const zeros[] = {
                    "Memory",       "MemorySwap",     "NanoCpus",          "CpuShares",
                    "CpuQuota",     "CpuPeriod",      "MemoryReservation", "BlkioWeight",
                    "KernelMemory", "KernelMemoryTCP"};
                for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++)
                        if (!berth_json_get(hc, zeros[i]))
                                json_object_object_add(hc, zeros[i], json_object_new_int(0));
                if (!berth_json_get(hc, "PidsLimit"))
                        json_object_object_add(hc, "PidsLimit", NULL);
                if (!berth_json_get(hc, "ReadonlyRootfs"))
                        json_object_object_add(hc, "ReadonlyRootfs",
                                               json_object_new_boolean(false));
                if (!berth_json_get(hc, "Privileged"))
                        json_object_object_add(hc, "Privileged", json_object_new_boolean(false));
                if (!berth_json_str(hc, "Runtime") || !*berth_json_str(hc, "Runtime"))
                        json_object_object_add(hc, "Runtime", json_object_new_string("berth"));
        }
        json_object_object_add(d, "HostConfig", hc);
        json_object_object_add(gdd, "MergedDir", json_object_new_string(rootfs));
        json_object_object_add(gdd, "UpperDir", json_object_new_string(upper));
        json_object_object_add(gd, "Name", json_object_new_string("overlay2"));
        json_object_object_add(gd, "Data", gdd);
        json_object_object_add(d, "GraphDriver", gd);
        {
                json_object *mounts = json_object_new_array();
                json_object *b = berth_json_get(c->hostconfig, "Binds");
                for (size_t i = 0; b && i < json_object_array_length(b); i++) {
                        cleanup_free char *s =
                            xstrdup(json_object_get_string(json_object_array_get_idx(b, i)));
                        char *p = s, *src = strsep(&p, ":"), *dst = strsep(&p, ":");
                        json_object *m = json_object_new_object();
                        json_object_object_add(m, "Type", json_object_new_string("bind"));
                        json_object_object_add(m, "Source", json_object_new_string(src));
                        json_object_object_add(m, "Destination",
                                               json_object_new_string(dst ? dst : ""));
                        json_object_object_add(m, "Mode", json_object_new_string(p ? p : ""));
                        json_object_object_add(m, "RW",
                                               json_object_new_boolean(!(p && strstr(p, "ro"))));
                        json_object_object_add(m, "Propagation",
                                               json_object_new_string("rprivate"));
                        json_object_array_add(mounts, m);
                }
                json_object_object_add(d, "Mounts", mounts);
        }
        json_object_object_add(d, "Config", config_json(c->config));
        json_object_object_add(d, "NetworkSettings", network_settings(c));
        return d;
}

int berth_engine_container_inspect(struct berth_engine *e, const char *ref, bool size,
                                   json_object **ret, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        int r = berth_engine_container_get(e, ref, &c, err);

        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        *ret = inspect_locked(c);
        pthread_mutex_unlock(&c->lock);
        if (size) {
                cleanup_free char *upper = xasprintf("%s/diff", c->dir);
                json_object_object_add(*ret, "SizeRw", json_object_new_int64(berth_du(upper)));
                json_object_object_add(*ret, "SizeRootFs", json_object_new_int64(berth_du(upper)));
        }
        return 0;
}

static char *human_duration(int64_t secs)
{
        if (secs < 1)
                return xstrdup("Less than a second");
        if (secs == 1)
                return xstrdup("1 second");
        if (secs < 60)
                return xasprintf("%lld seconds", (long long)secs);
        if (secs / 60 == 1)
                return xstrdup("About a minute");
        if (secs < 3600)
                return xasprintf("%lld minutes", (long long)(secs / 60));
        if ((secs + 1800) / 3600 == 1)
                return xstrdup("About an hour");
        if (secs < 48 * 3600)
                return xasprintf("%lld hours", (long long)((secs + 1800) / 3600));
        if (secs < 7 * 24 * 3600 * 2)
                return xasprintf("%lld days", (long long)(secs / 86400));
        return xasprintf("%lld weeks", (long long)(secs / (7 * 86400)));
}

static char *status_text(struct berth_container *c)
{
        int64_t now = time(NULL);
        cleanup_free char *d = NULL;
        const char *h;

        switch (c->status) {
        case BERTH_STATUS_CREATED:
                return xstrdup("Created");
        case BERTH_STATUS_RESTARTING:
                d = human_duration(now - berth_time_parse_rfc3339_sec(c->finished_at));
                return xasprintf("Restarting (%d) %s ago", c->exit_code, d);
        case BERTH_STATUS_RUNNING:
        case BERTH_STATUS_PAUSED:
                d = human_duration(now - berth_time_parse_rfc3339_sec(c->started_at));
                h = berth_health_status(c);
                return xasprintf("Up %s%s%s%s%s", d, h ? " (" : "",
                                 h ? (strcmp(h, "starting") == 0 ? "health: starting" : h) : "",
                                 h ? ")" : "", c->status == BERTH_STATUS_PAUSED ? " (Paused)" : "");
        case BERTH_STATUS_REMOVING:
                return xstrdup("Removal In Progress");
        case BERTH_STATUS_DEAD:
                return xstrdup("Dead");
        case BERTH_STATUS_EXITED:
                if (berth_time_parse_rfc3339_sec(c->finished_at) <= 0)
                        return xstrdup("Created");
                d = human_duration(now - berth_time_parse_rfc3339_sec(c->finished_at));
                return xasprintf("Exited (%d) %s ago", c->exit_code, d);
        }
        return xstrdup("");
}

struct match_ctx {
        struct berth_container *c;
};

static bool f_has(json_object *filters, const char *key)
{
        json_object *f = berth_json_get(filters, key);
        return f && ((json_object_is_type(f, json_type_array) && json_object_array_length(f)) ||
                     (json_object_is_type(f, json_type_object) && json_object_object_length(f)));
}

/* Values of a filter as a strv. */
static char **f_values(json_object *filters, const char *key)
{
        json_object *f = berth_json_get(filters, key);
        size_t n = 0, cap;
        char **v;

        if (f == NULL)
                return xcalloc(1, sizeof(char *));
        cap = json_object_is_type(f, json_type_array)    ? json_object_array_length(f)
              : json_object_is_type(f, json_type_object) ? (size_t)json_object_object_length(f)
                                                         : 0;
        v = xcalloc(cap + 1, sizeof(char *));
        if (json_object_is_type(f, json_type_array)) {
                for (size_t i = 0; i < cap; i++)
                        v[n++] = xstrdup(json_object_get_string(json_object_array_get_idx(f, i)));
        } else if (json_object_is_type(f, json_type_object)) {
                json_object_object_foreach(f, k, val)
                {
                        (void)val;
                        v[n++] = xstrdup(k);
                }
        }
        return v;
}

static bool container_matches(struct berth_container *c, json_object *filters)
{
        static const char *const keys[] = {"id",     "name",    "status",  "label",  "ancestor",
                                           "exited", "health",  "before",  "since",  "network",
                                           "volume", "is-task", "publish", "expose", "isolation"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                cleanup_strv char **vals = NULL;
                bool any = false;
                if (!f_has(filters, keys[k]))
                        continue;
                vals = f_values(filters, keys[k]);
                for (size_t i = 0; vals[i] && !any; i++) {
                        const char *w = vals[i];
                        switch (k) {
                        case 0:
                                any = strncmp(c->id, w, strlen(w)) == 0;
                                break;
                        case 1:
                                any = strstr(c->name, w[0] == '/' ? w + 1 : w) != NULL;
                                break;
                        case 2:
                                any = strcmp(berth_container_status_name(c->status), w) == 0;
                                break;
                        case 3: {
                                json_object *l = berth_json_get(c->config, "Labels");
                                const char *eq = strchr(w, '=');
                                cleanup_free char *key =
                                    eq ? xstrndup(w, (size_t)(eq - w)) : xstrdup(w);
                                const char *v = berth_json_str(l, key);
                                any = v && (eq == NULL || strcmp(v, eq + 1) == 0);
                                break;
                        }
                        case 4: {
                                cleanup_image struct berth_image *img = NULL;
                                any = strcmp(c->image_name, w) == 0 || strcmp(c->image_id, w) == 0;
                                if (!any && berth_image_get(c->engine->images, w, &img, NULL) >= 0)
                                        any = strcmp(img->id, c->image_id) == 0;
                                break;
                        }
                        case 5: {
                                int64_t x;
                                any = c->status == BERTH_STATUS_EXITED &&
                                      berth_parse_int64(w, &x) == 0 && x == c->exit_code;
                                break;
                        }
                        case 6: {
                                const char *h = berth_health_status(c);
                                any = (h && strcmp(h, w) == 0) || (!h && strcmp(w, "none") == 0);
                                break;
                        }
                        case 7:
                        case 8: {
                                cleanup_container struct berth_container *o = NULL;
                                if (berth_engine_container_get(c->engine, w, &o, NULL) >= 0) {
                                        int cmp = strcmp(c->created, o->created);
                                        any = k == 7 ? cmp < 0 : cmp > 0;
                                }
                                break;
                        }
                        case 9: {
                                const char *nm = berth_json_str(c->hostconfig, "NetworkMode");
                                any = nm && (strcmp(nm, w) == 0 || (strcmp(nm, "default") == 0 &&
                                                                    strcmp(w, "bridge") == 0));
                                break;
                        }
                        case 10:
                                any = false;
                                break;
                        default:
                                any = true;
                                break;
                        }
                }
                if (!any)
                        return false;
        }
        return true;
}

static json_object *summary(struct berth_container *c, bool size)
{
        json_object *s = json_object_new_object();
        json_object *names = json_object_new_array();
        json_object *ep = berth_json_get(c->config, "Entrypoint");
        json_object *cmd = berth_json_get(c->config, "Cmd");
        cleanup_free char *command = xstrdup("");
        cleanup_free char *status = status_text(c);
        json_object *hc = json_object_new_object();
        json_object *ns = json_object_new_object();
        const char *nm = berth_json_str(c->hostconfig, "NetworkMode");

        for (int pass = 0; pass < 2; pass++) {
                json_object *a = pass ? cmd : ep;
                for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                        char *old = command;
                        command =
                            xasprintf("%s%s%s", old, *old ? " " : "",
                                      json_object_get_string(json_object_array_get_idx(a, i)));
                        free(old);
                }
        }
        json_object_object_add(s, "Id", json_object_new_string(c->id));
        json_object_array_add(names, json_object_new_string(c->name));
        json_object_object_add(s, "Names", names);
        json_object_object_add(s, "Image", str_or_empty(c->image_name));
        json_object_object_add(s, "ImageID", str_or_empty(c->image_id));
        json_object_object_add(s, "Command", json_object_new_string(command));
        json_object_object_add(s, "Created",
                               json_object_new_int64(berth_time_parse_rfc3339_sec(c->created)));
        json_object_object_add(s, "Ports", json_object_new_array());
        json_object_object_add(s, "Labels",
                               json_object_get(berth_json_get(c->config, "Labels"))
                                   ?: json_object_new_object());
        json_object_object_add(s, "State",
                               json_object_new_string(berth_container_status_name(c->status)));
        json_object_object_add(s, "Status", json_object_new_string(status));
        json_object_object_add(hc, "NetworkMode", str_or_empty(nm));
        json_object_object_add(s, "HostConfig", hc);
        json_object_object_add(ns, "Networks", json_object_new_object());
        json_object_object_add(s, "NetworkSettings", ns);
        json_object_object_add(s, "Mounts", json_object_new_array());
        if (size) {
                cleanup_free char *upper = xasprintf("%s/diff", c->dir);
                json_object_object_add(s, "SizeRw", json_object_new_int64(berth_du(upper)));
                json_object_object_add(s, "SizeRootFs", json_object_new_int64(berth_du(upper)));
        }
        return s;
}

static int cmp_created(const void *a, const void *b)
{
        const struct berth_container *x = *(struct berth_container *const *)a;
        const struct berth_container *y = *(struct berth_container *const *)b;
        return strcmp(y->created, x->created);
}

int berth_engine_container_list(struct berth_engine *e, bool all, int limit, bool size,
                                json_object *filters, json_object **ret, berth_error **err)
{
        struct berth_container **v;
        size_t n;
        json_object *arr = json_object_new_array();

        (void)err;
        berth_engine_container_snapshot(e, &v, &n);
        qsort(v, n, sizeof(*v), cmp_created);
        for (size_t i = 0; i < n; i++) {
                struct berth_container *c = v[i];
                bool show;
                if (limit > 0 && (int)json_object_array_length(arr) >= limit)
                        break;
                pthread_mutex_lock(&c->lock);
                show = (all || limit > 0 || berth_container_is_running(c) ||
                        f_has(filters, "status") || f_has(filters, "exited")) &&
                       container_matches(c, filters);
                if (show)
                        json_object_array_add(arr, summary(c, size));
                pthread_mutex_unlock(&c->lock);
        }
        berth_container_list_free(v, n);
        *ret = arr;
        return 0;
}

int berth_engine_container_top(struct berth_engine *e, const char *ref, const char *ps_args,
                               json_object **ret, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_free pid_t *pids = NULL;
        size_t n_pids = 0;
        int r = berth_engine_container_get(e, ref, &c, err);
        int pipefd[2];
        pid_t child;
        cleanup_free char *out = NULL;
        size_t out_len = 0, cap = 0;
        json_object *titles = json_object_new_array(), *procs = json_object_new_array();
        int pid_col = -1;
        char *save = NULL;
        int status;

        if (r < 0)
                goto fail;
        pthread_mutex_lock(&c->lock);
        if (!berth_container_is_running(c)) {
                pthread_mutex_unlock(&c->lock);
                r = berth_engine_fail(err, EBUSY, "Container %s is not running", c->id);
                goto fail;
        }
        pthread_mutex_unlock(&c->lock);
        r = berth_container_pids(&e->rt, c->id, &pids, &n_pids, err);
        if (r < 0)
                goto fail;
        if (ps_args == NULL || *ps_args == '\0')
                ps_args = "-ef";
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = berth_fail_errno(err, "pipe");
                goto fail;
        }
        child = fork();
        if (child == 0) {
                char *argv[32];
                int k = 0;
                cleanup_free char *dup = xstrdup(ps_args);
                char *p = dup;
                argv[k++] = (char *)"ps";
                for (char *t = strsep(&p, " "); t && k < 30; t = strsep(&p, " "))
                        if (*t)
                                argv[k++] = t;
                argv[k] = NULL;
                dup2(pipefd[1], 1);
                execvp("ps", argv);
                _exit(127);
        }
        close(pipefd[1]);
        for (;;) {
                ssize_t m;
                if (out_len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 65536;
                        out = xrealloc(out, cap);
                }
                m = read(pipefd[0], out + out_len, cap - out_len - 1);
                if (m < 0 && errno == EINTR)
                        continue;
                if (m <= 0)
                        break;
                out_len += (size_t)m;
                if (out_len > (64u << 20))
                        break;
        }
        close(pipefd[0]);
        (void)TEMP_FAILURE_RETRY_INT(waitpid(child, &status, 0));
        if (out == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                r = berth_engine_fail(err, EINVAL, "Error running top: ps %s failed", ps_args);
                goto fail;
        }
        out[out_len] = '\0';
        {
                char *line = strtok_r(out, "\n", &save);
                int ncols = 0;
                char *tp = line, *tok, *ts = NULL;
                for (tok = line ? strtok_r(tp, " \t", &ts) : NULL; tok;
                     tok = strtok_r(NULL, " \t", &ts)) {
                        if (strcmp(tok, "PID") == 0)
                                pid_col = ncols;
                        json_object_array_add(titles, json_object_new_string(tok));
                        ncols++;
                }
                if (pid_col < 0) {
                        r = berth_engine_fail(err, EINVAL, "Couldn't find PID field in ps output");
                        goto fail;
                }
                while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
                        json_object *row = json_object_new_array();
                        char *p = line;
                        int64_t pid = -1;
                        bool ours = false;
                        for (int col = 0; col < ncols; col++) {
                                while (*p == ' ' || *p == '\t')
                                        p++;
                                if (col == ncols - 1) {
                                        json_object_array_add(row, json_object_new_string(p));
                                        break;
                                }
                                char *end = p + strcspn(p, " \t");
                                cleanup_free char *f = xstrndup(p, (size_t)(end - p));
                                if (col == pid_col)
                                        (void)berth_parse_int64(f, &pid);
                                json_object_array_add(row, json_object_new_string(f));
                                p = end;
                        }
                        for (size_t i = 0; i < n_pids; i++)
                                ours |= pids[i] == pid;
                        if (ours)
                                json_object_array_add(procs, row);
                        else
                                json_object_put(row);
                }
        }
        *ret = json_object_new_object();
        json_object_object_add(*ret, "Titles", titles);
        json_object_object_add(*ret, "Processes", procs);
        return 0;
fail:
        json_object_put(titles);
        json_object_put(procs);
        return r;
}

int berth_engine_container_prune(struct berth_engine *e, json_object *filters, json_object **ret,
                                 berth_error **err)
{
        struct berth_container **v;
        size_t n;
        json_object *deleted = json_object_new_array();
        int64_t reclaimed = 0;

        (void)err;
        berth_engine_container_snapshot(e, &v, &n);
        for (size_t i = 0; i < n; i++) {
                struct berth_container *c = v[i];
                bool stopped, match;
                cleanup_free char *upper = xasprintf("%s/diff", c->dir);
                int64_t sz;
                pthread_mutex_lock(&c->lock);
                stopped = c->status == BERTH_STATUS_EXITED || c->status == BERTH_STATUS_CREATED ||
                          c->status == BERTH_STATUS_DEAD;
                match = container_matches(c, filters);
                if (match && f_has(filters, "until")) {
                        cleanup_strv char **u = f_values(filters, "until");
                        int64_t t;
                        if (berth_parse_int64(u[0], &t) == 0)
                                match = berth_time_parse_rfc3339_sec(c->created) < t;
                }
                pthread_mutex_unlock(&c->lock);
                if (!stopped || !match)
                        continue;
                sz = berth_du(upper);
                if (berth_engine_container_remove(e, c->id, false, false, NULL) >= 0) {
                        json_object_array_add(deleted, json_object_new_string(c->id));
                        reclaimed += sz > 0 ? sz : 0;
                }
        }
        berth_container_list_free(v, n);
        *ret = json_object_new_object();
        json_object_object_add(*ret, "ContainersDeleted", deleted);
        json_object_object_add(*ret, "SpaceReclaimed", json_object_new_int64(reclaimed));
        return 0;
}

int berth_engine_info(struct berth_engine *e, json_object **ret, berth_error **err)
{
        struct berth_container **v;
        size_t n, running = 0, paused = 0, stopped = 0;
        struct berth_image **imgs = NULL;
        size_t n_imgs = 0;
        struct utsname u;
        json_object *o = json_object_new_object();
        char host[256] = "";
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;

        (void)err;
        berth_engine_container_snapshot(e, &v, &n);
        for (size_t i = 0; i < n; i++) {
                pthread_mutex_lock(&v[i]->lock);
                if (v[i]->status == BERTH_STATUS_PAUSED)
                        paused++;
                else if (berth_container_is_running(v[i]))
                        running++;
                else
                        stopped++;
                pthread_mutex_unlock(&v[i]->lock);
        }
        berth_container_list_free(v, n);
        if (berth_image_list(e->images, &imgs, &n_imgs, NULL) >= 0) {
                berth_image_list_free(imgs, n_imgs);
                imgs = NULL;
        }
        uname(&u);
        gethostname(host, sizeof(host) - 1);
        json_object_object_add(o, "ID", json_object_new_string("BERTH"));
        json_object_object_add(o, "Containers", json_object_new_int64((int64_t)n));
        json_object_object_add(o, "ContainersRunning", json_object_new_int64((int64_t)running));
        json_object_object_add(o, "ContainersPaused", json_object_new_int64((int64_t)paused));
        json_object_object_add(o, "ContainersStopped", json_object_new_int64((int64_t)stopped));
        json_object_object_add(o, "Images", json_object_new_int64((int64_t)n_imgs));
        json_object_object_add(o, "Driver", json_object_new_string("overlay2"));
        json_object_object_add(o, "DriverStatus", json_object_new_array());
        json_object_object_add(o, "DockerRootDir", json_object_new_string(e->data_root));
        json_object_object_add(o, "MemoryLimit", json_object_new_boolean(true));
        json_object_object_add(o, "SwapLimit", json_object_new_boolean(true));
        json_object_object_add(o, "CpuCfsPeriod", json_object_new_boolean(true));
        json_object_object_add(o, "CpuCfsQuota", json_object_new_boolean(true));
        json_object_object_add(o, "CPUShares", json_object_new_boolean(true));
        json_object_object_add(o, "CPUSet", json_object_new_boolean(true));
        json_object_object_add(o, "PidsLimit", json_object_new_boolean(true));
        json_object_object_add(o, "OomKillDisable", json_object_new_boolean(!v2));
        json_object_object_add(o, "IPv4Forwarding", json_object_new_boolean(false));
        json_object_object_add(o, "Debug", json_object_new_boolean(false));
        json_object_object_add(o, "NFd", json_object_new_int(0));
        json_object_object_add(o, "NGoroutines", json_object_new_int(0));
        {
                char *ts = berth_time_now_rfc3339nano();
                json_object_object_add(o, "SystemTime", json_object_new_string(ts));
                free(ts);
        }
        json_object_object_add(o, "LoggingDriver", json_object_new_string("json-file"));
        json_object_object_add(o, "CgroupDriver", json_object_new_string("cgroupfs"));
        json_object_object_add(o, "CgroupVersion", json_object_new_string(v2 ? "2" : "1"));
        json_object_object_add(o, "NEventsListener", json_object_new_int(0));
        json_object_object_add(o, "KernelVersion", json_object_new_string(u.release));
        json_object_object_add(o, "OperatingSystem", json_object_new_string("Berth"));
        json_object_object_add(o, "OSVersion", json_object_new_string(""));
        json_object_object_add(o, "OSType", json_object_new_string("linux"));
        json_object_object_add(o, "Architecture", json_object_new_string(u.machine));
        json_object_object_add(o, "NCPU", json_object_new_int64(ncpu));
        json_object_object_add(o, "MemTotal", json_object_new_int64((int64_t)pages * psize));
        json_object_object_add(o, "Name", json_object_new_string(host));
        json_object_object_add(o, "Labels", json_object_new_array());
        json_object_object_add(o, "ExperimentalBuild", json_object_new_boolean(false));
        json_object_object_add(o, "ServerVersion", json_object_new_string(BERTH_VERSION));
        json_object_object_add(o, "DefaultRuntime", json_object_new_string("berth"));
        {
                json_object *rt = json_object_new_object(), *b = json_object_new_object();
                json_object_object_add(b, "path", json_object_new_string("berth-oci"));
                json_object_object_add(rt, "berth", b);
                json_object_object_add(o, "Runtimes", rt);
        }
        json_object_object_add(o, "LiveRestoreEnabled", json_object_new_boolean(true));
        json_object_object_add(o, "Isolation", json_object_new_string(""));
        json_object_object_add(o, "InitBinary", json_object_new_string("berth-init"));
        json_object_object_add(o, "SecurityOptions", json_object_new_array());
        json_object_array_add(berth_json_get(o, "SecurityOptions"),
                              json_object_new_string("name=seccomp,profile=builtin"));
        if (v2)
                json_object_array_add(berth_json_get(o, "SecurityOptions"),
                                      json_object_new_string("name=cgroupns"));
        json_object_object_add(o, "Warnings", json_object_new_array());
        *ret = o;
        return 0;
}

int berth_engine_df(struct berth_engine *e, json_object **ret, berth_error **err)
{
        struct berth_container **v;
        size_t n;
        json_object *o = json_object_new_object();
        json_object *cs = json_object_new_array();

        (void)err;
        berth_engine_container_snapshot(e, &v, &n);
        for (size_t i = 0; i < n; i++) {
                pthread_mutex_lock(&v[i]->lock);
                json_object_array_add(cs, summary(v[i], true));
                pthread_mutex_unlock(&v[i]->lock);
        }
        berth_container_list_free(v, n);
        json_object_object_add(o, "Containers", cs);
        json_object_object_add(o, "Volumes", json_object_new_array());
        json_object_object_add(o, "BuildCache", json_object_new_array());
        *ret = o;
        return 0;
}
