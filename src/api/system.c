/* SPDX-License-Identifier: Apache-2.0 */
/* System endpoints: /_ping, /version, /info, /system/df, /events and the
 * prune endpoints of objects Berth does not have yet (build cache). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "api/image-refs.h"
#include "berth-version.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#ifdef BERTH_API_HAVE_ENGINE
#include "engine/engine.h"
#endif

#define ADD(o, k, v) json_object_object_add((o), (k), (v))
static json_object *STR(const char *s)
{
        return json_object_new_string(s ? s : "");
}

bool api_need_engine(struct api_req *r)
{
#ifdef BERTH_API_HAVE_ENGINE
        if (r->api->cfg.engine != NULL)
                return true;
#endif
        api_reply_error(r, 501, "containers are not available: berthd runs without its engine");
        return false;
}

void api_ping(struct api_req *r)
{
        bool head = strcmp(r->method, "HEAD") == 0;
        api_reply(r, 200, "text/plain; charset=utf-8", head ? NULL : xstrdup("OK"), head ? 0 : 2);
        api_add_header(r, "Cache-Control", "no-cache, no-store, must-revalidate");
        api_add_header(r, "Pragma", "no-cache");
}

static const char *go_arch(void)
{
        return berth_host_arch();
}

void api_version(struct api_req *r)
{
        struct utsname u;
        cleanup_json json_object *o = json_object_new_object();
        json_object *comps = json_object_new_array();
        json_object *eng = json_object_new_object();
        json_object *det = json_object_new_object();
        json_object *plat = json_object_new_object();

        (void)uname(&u);
        ADD(plat, "Name", STR("Berth Engine"));
        ADD(o, "Platform", plat);
        ADD(det, "ApiVersion", STR(BERTH_API_VERSION));
        ADD(det, "Arch", STR(go_arch()));
        ADD(det, "BuildTime", STR(""));
        ADD(det, "Experimental", STR("false"));
        ADD(det, "GitCommit", STR(""));
        ADD(det, "GoVersion", STR("none (C)"));
        ADD(det, "KernelVersion", STR(u.release));
        ADD(det, "MinAPIVersion", STR(BERTH_API_MIN_VERSION));
        ADD(det, "Os", STR("linux"));
        ADD(eng, "Name", STR("Engine"));
        ADD(eng, "Version", STR(BERTH_VERSION));
        ADD(eng, "Details", det);
        json_object_array_add(comps, eng);
        json_object *rt = json_object_new_object();
        json_object *rtd = json_object_new_object();
        ADD(rtd, "GitCommit", STR(""));
        ADD(rt, "Name", STR("berth-oci"));
        ADD(rt, "Version", STR(BERTH_VERSION));
        ADD(rt, "Details", rtd);
        json_object_array_add(comps, rt);
        ADD(o, "Components", comps);
        ADD(o, "Version", STR(BERTH_VERSION));
        ADD(o, "ApiVersion", STR(BERTH_API_VERSION));
        ADD(o, "MinAPIVersion", STR(BERTH_API_MIN_VERSION));
        ADD(o, "GitCommit", STR(""));
        ADD(o, "GoVersion", STR("none (C)"));
        ADD(o, "Os", STR("linux"));
        ADD(o, "Arch", STR(go_arch()));
        ADD(o, "KernelVersion", STR(u.release));
        ADD(o, "BuildTime", STR(""));
        api_reply_json(r, 200, o);
}

static char *os_name(void)
{
        cleanup_free char *data = NULL;
        size_t len;
        if (berth_read_file("/etc/os-release", &data, &len, NULL) < 0)
                return xstrdup("Linux");
        char *p = strstr(data, "PRETTY_NAME=");
        if (p == NULL)
                return xstrdup("Linux");
        p += strlen("PRETTY_NAME=");
        if (*p == '"')
                p++;
        size_t n = strcspn(p, "\"\n");
        return xstrndup(p, n);
}

static const char *cgroup_version(void)
{
        return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1";
}

/* {"ID","Expected"} as dockerd reports the commits of its helpers. */
static json_object *commit_pair(const char *id)
{
        json_object *o = json_object_new_object();
        ADD(o, "ID", STR(id));
        ADD(o, "Expected", STR(id));
        return o;
}

/* dockerd's default registry configuration (the CLI prints it in `info`). */
static json_object *registry_config(void)
{
        json_object *o = json_object_new_object();
        json_object *cidrs = json_object_new_array();
        json_object *idx = json_object_new_object();
        json_object *hub = json_object_new_object();

        json_object_array_add(cidrs, STR("127.0.0.0/8"));
        ADD(hub, "Name", STR("docker.io"));
        ADD(hub, "Mirrors", json_object_new_array());
        ADD(hub, "Secure", json_object_new_boolean(1));
        ADD(hub, "Official", json_object_new_boolean(1));
        ADD(idx, "docker.io", hub);
        ADD(o, "AllowNondistributableArtifactsCIDRs", json_object_new_array());
        ADD(o, "AllowNondistributableArtifactsHostnames", json_object_new_array());
        ADD(o, "InsecureRegistryCIDRs", cidrs);
        ADD(o, "IndexConfigs", idx);
        ADD(o, "Mirrors", json_object_new_array());
        return o;
}

void api_info(struct api_req *r)
{
        struct utsname u;
        struct sysinfo si;
        cleanup_json json_object *o = json_object_new_object();
        cleanup_free char *osname = os_name();
        struct berth_image **imgs = NULL;
        size_t n_imgs = 0;
        char hostname[256] = "";

        (void)uname(&u);
        (void)sysinfo(&si);
        (void)gethostname(hostname, sizeof(hostname) - 1);
        if (berth_image_list(r->api->cfg.images, &imgs, &n_imgs, NULL) == 0)
                berth_image_list_free(imgs, n_imgs);

        ADD(o, "ID", STR("BERTH"));
        ADD(o, "Containers", json_object_new_int(0));
        ADD(o, "ContainersRunning", json_object_new_int(0));
        ADD(o, "ContainersPaused", json_object_new_int(0));
        ADD(o, "ContainersStopped", json_object_new_int(0));
        ADD(o, "Images", json_object_new_int((int)n_imgs));
        ADD(o, "Driver", STR("overlay2"));
        json_object *ds = json_object_new_array();
        json_object *pair = json_object_new_array();
        json_object_array_add(pair, STR("Backing Filesystem"));
        json_object_array_add(pair, STR("overlayfs layers"));
        json_object_array_add(ds, pair);
        ADD(o, "DriverStatus", ds);
        json_object *plugins = json_object_new_object();
        json_object *vol = json_object_new_array();
        json_object_array_add(vol, STR("local"));
        json_object *net = json_object_new_array();
        json_object_array_add(net, STR("host"));
        json_object_array_add(net, STR("none"));
        json_object *logp = json_object_new_array();
        json_object_array_add(logp, STR("json-file"));
        ADD(plugins, "Volume", vol);
        ADD(plugins, "Network", net);
        ADD(plugins, "Authorization", NULL);
        ADD(plugins, "Log", logp);
        ADD(o, "Plugins", plugins);
        ADD(o, "MemoryLimit", json_object_new_boolean(1));
        ADD(o, "SwapLimit", json_object_new_boolean(1));
        ADD(o, "KernelMemory", json_object_new_boolean(0));
        ADD(o, "KernelMemoryTCP", json_object_new_boolean(0));
        ADD(o, "CpuCfsPeriod", json_object_new_boolean(1));
        ADD(o, "CpuCfsQuota", json_object_new_boolean(1));
        ADD(o, "CPUShares", json_object_new_boolean(1));
        ADD(o, "CPUSet", json_object_new_boolean(1));
        ADD(o, "PidsLimit", json_object_new_boolean(1));
        ADD(o, "IPv4Forwarding", json_object_new_boolean(1));
        ADD(o, "BridgeNfIptables", json_object_new_boolean(0));
        ADD(o, "BridgeNfIp6tables", json_object_new_boolean(0));
        ADD(o, "Debug",
            json_object_new_boolean(atomic_load(&r->api->log_level) >= BERTH_API_LOG_DEBUG));
        ADD(o, "NFd", json_object_new_int(0));
        ADD(o, "OomKillDisable", json_object_new_boolean(1));
        ADD(o, "NGoroutines", json_object_new_int(0));
        {
                cleanup_free char *s = berth_time_now_rfc3339nano();
                ADD(o, "SystemTime", STR(s));
        }
        ADD(o, "LoggingDriver", STR("json-file"));
        ADD(o, "CgroupDriver", STR("cgroupfs"));
        ADD(o, "CgroupVersion", STR(cgroup_version()));
        ADD(o, "NEventsListener", json_object_new_int(0));
        ADD(o, "KernelVersion", STR(u.release));
        ADD(o, "OperatingSystem", STR(osname));
        ADD(o, "OSVersion", STR(""));
        ADD(o, "OSType", STR("linux"));
        ADD(o, "Architecture", STR(u.machine));
        ADD(o, "IndexServerAddress", STR("https://index.docker.io/v1/"));
        ADD(o, "RegistryConfig", registry_config());
        ADD(o, "NCPU", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
        ADD(o, "MemTotal", json_object_new_int64((int64_t)si.totalram * si.mem_unit));
        ADD(o, "GenericResources", NULL);
        ADD(o, "DockerRootDir", STR(r->api->cfg.data_root));
        ADD(o, "HttpProxy", STR(getenv("HTTP_PROXY")));
        ADD(o, "HttpsProxy", STR(getenv("HTTPS_PROXY")));
        ADD(o, "NoProxy", STR(getenv("NO_PROXY")));
        ADD(o, "Name", STR(hostname));
        ADD(o, "Labels", json_object_new_array());
        ADD(o, "ExperimentalBuild", json_object_new_boolean(0));
        ADD(o, "ServerVersion", STR(BERTH_VERSION));
        json_object *runtimes = json_object_new_object();
        json_object *oci = json_object_new_object();
        ADD(oci, "path", STR("berth-oci"));
        ADD(runtimes, "berth", oci);
        ADD(o, "Runtimes", runtimes);
        ADD(o, "DefaultRuntime", STR("berth"));
        json_object *swarm = json_object_new_object();
        ADD(swarm, "NodeID", STR(""));
        ADD(swarm, "NodeAddr", STR(""));
        ADD(swarm, "LocalNodeState", STR("inactive"));
        ADD(swarm, "ControlAvailable", json_object_new_boolean(0));
        ADD(swarm, "Error", STR(""));
        ADD(swarm, "RemoteManagers", NULL);
        ADD(o, "Swarm", swarm);
        ADD(o, "LiveRestoreEnabled", json_object_new_boolean(1));
        ADD(o, "Isolation", STR(""));
        ADD(o, "InitBinary", STR(""));
        ADD(o, "ContainerdCommit", commit_pair(""));
        ADD(o, "RuncCommit", commit_pair(""));
        ADD(o, "InitCommit", commit_pair(""));
        json_object *sec = json_object_new_array();
        json_object_array_add(sec, STR("name=seccomp,profile=builtin"));
        ADD(o, "SecurityOptions", sec);
        ADD(o, "Warnings", NULL);
#ifdef BERTH_API_HAVE_ENGINE
        if (r->api->cfg.engine != NULL) {
                cleanup_error berth_error *err = NULL;
                cleanup_json json_object *e = NULL;
                if (berth_engine_info(r->api->cfg.engine, &e, &err) < 0) {
                        api_reply_berr(r, err);
                        return;
                }
                /* The engine knows the containers; what it says wins. */
                json_object_object_foreach(e, key, val)
                {
                        if (strcmp(key, "Images") == 0)
                                continue;
                        json_object_object_add(o, key, json_object_get(val));
                }
        }
#endif
        api_reply_json_chunked(r, 200, o);
}

/* Image usage for /system/df (the Images list and LayersSize). */
static int df_images(struct api_req *r, json_object *o)
{
        cleanup_error berth_error *err = NULL;
        struct berth_image **imgs = NULL;
        struct berth_image_usage *usage = NULL;
        struct berth_store_df df = {0};
        size_t n = 0, nu = 0;
        json_object *arr = json_object_new_array();

        ADD(o, "Images", arr);
        if (berth_image_list(r->api->cfg.images, &imgs, &n, &err) < 0 ||
            berth_image_usage(r->api->cfg.images, &usage, &nu, &err) < 0 ||
            berth_image_df(r->api->cfg.images, &df, &err) < 0) {
                berth_image_list_free(imgs, n);
                free(usage);
                api_reply_berr(r, err);
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                struct berth_image *img = imgs[i];
                struct berth_image_usage *u = NULL;
                json_object *it = json_object_new_object();
                for (size_t k = 0; k < nu; k++)
                        if (strcmp(usage[k].id, img->id) == 0)
                                u = &usage[k];
                ADD(it, "Containers", json_object_new_int(u ? u->containers : 0));
                ADD(it, "Created", json_object_new_int64(img->created_unix));
                ADD(it, "Id", STR(img->id));
                ADD(it, "Labels", NULL);
                ADD(it, "ParentId", STR(""));
                ADD(it, "RepoDigests", api_familiar_refs(img->repo_digests));
                ADD(it, "RepoTags", api_familiar_refs(img->repo_tags));
                ADD(it, "SharedSize", json_object_new_int64(u ? u->shared_size : 0));
                ADD(it, "Size", json_object_new_int64(img->size));
                ADD(it, "VirtualSize", json_object_new_int64(img->size));
                json_object_array_add(arr, it);
        }
        ADD(o, "LayersSize", json_object_new_int64(df.size));
        berth_image_list_free(imgs, n);
        free(usage);
        return 0;
}

void api_system_df(struct api_req *r)
{
        cleanup_json json_object *o = json_object_new_object();

        if (df_images(r, o) < 0)
                return;
        ADD(o, "Containers", json_object_new_array());
        ADD(o, "Volumes", json_object_new_array());
        ADD(o, "BuildCache", json_object_new_array());
        ADD(o, "BuilderSize", json_object_new_int(0));
#ifdef BERTH_API_HAVE_ENGINE
        if (r->api->cfg.engine != NULL) {
                cleanup_error berth_error *err = NULL;
                cleanup_json json_object *e = NULL;
                if (berth_engine_df(r->api->cfg.engine, &e, &err) < 0) {
                        api_reply_berr(r, err);
                        return;
                }
                json_object_object_foreach(e, key, val)
                {
                        if (strcmp(key, "Images") == 0 || strcmp(key, "LayersSize") == 0)
                                continue;
                        json_object_object_add(o, key, json_object_get(val));
                }
        }
#endif
        api_reply_json(r, 200, o);
}

/* Docker's timestamps: unix seconds with an optional fraction. */
static bool parse_ts(struct api_req *r, const char *key, int64_t *ret)
{
        const char *v = api_query(r, key);
        char *end;
        *ret = 0;
        if (v == NULL || *v == '\0')
                return true;
        double d = strtod(v, &end);
        /* NaN and values past int64 fail too: their cast is undefined. */
        if (*end != '\0' || !(d >= 0 && d < 9.2e18)) {
                api_reply_error(r, 400, "invalid value for %s: `%s` is not a unix timestamp", key,
                                v);
                return false;
        }
        *ret = (int64_t)d;
        return true;
}

#ifdef BERTH_API_HAVE_ENGINE
struct events_job {
        struct berth_engine *e;
        int64_t since, until;
        json_object *filters;
};

static void events_run(void *p, int fd)
{
        struct events_job *j = p;
        cleanup_error berth_error *err = NULL;
        (void)berth_engine_events(j->e, j->since, j->until, j->filters, fd, &err);
}

static void events_free(void *p)
{
        struct events_job *j = p;
        if (j->filters)
                json_object_put(j->filters);
        free(j);
}
#endif

void api_events(struct api_req *r)
{
        int64_t since, until;
        json_object *filters = NULL;

        if (!parse_ts(r, "since", &since) || !parse_ts(r, "until", &until) ||
            !api_query_filters(r, &filters))
                return;
#ifdef BERTH_API_HAVE_ENGINE
        if (r->api->cfg.engine != NULL) {
                struct events_job *j = xmalloc(sizeof(*j));
                *j = (struct events_job){r->api->cfg.engine, since, until, filters};
                api_reply_stream(r, 200, "application/json", events_run, j, events_free);
                return;
        }
#endif
        if (filters)
                json_object_put(filters);
        api_need_engine(r);
}

static void reply_space(struct api_req *r, const char *list_key)
{
        cleanup_json json_object *o = json_object_new_object();
        if (list_key != NULL)
                ADD(o, list_key, NULL);
        ADD(o, "SpaceReclaimed", json_object_new_int64(0));
        api_reply_json(r, 200, o);
}

void api_build_prune(struct api_req *r)
{
        reply_space(r, "CachesDeleted");
}

void api_networks_prune(struct api_req *r)
{
        cleanup_json json_object *o = json_object_new_object();
        ADD(o, "NetworksDeleted", NULL);
        api_reply_json(r, 200, o);
}

void api_volumes_prune(struct api_req *r)
{
        reply_space(r, "VolumesDeleted");
}
