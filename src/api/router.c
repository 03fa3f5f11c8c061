/* SPDX-License-Identifier: Apache-2.0 */
/* Routing: the /vX.Y/ prefix (optional; 1.24 to 1.45), then the first
 * route whose method and pattern match. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "util/xalloc.h"

static const struct api_route routes[] = {
    {"GET", "/_ping", api_ping, 0},
    {"HEAD", "/_ping", api_ping, 0},
    {"GET", "/version", api_version, 0},
    {"GET", "/info", api_info, 0},
    {"GET", "/system/df", api_system_df, 0},
    {"GET", "/events", api_events, 0},
    {"POST", "/build/prune", api_build_prune, 0},
    {"POST", "/networks/prune", api_networks_prune, 0},
    {"POST", "/volumes/prune", api_volumes_prune, 0},

    {"GET", "/images/json", api_images_list, 0},
    {"GET", "/images/get", api_images_get, 0},
    {"GET", "/images/search", api_images_search, 0},
    {"POST", "/images/load", api_images_load, ROUTE_BODY_STREAM},
    {"POST", "/images/create", api_images_create, ROUTE_BODY_STREAM},
    {"POST", "/images/prune", api_images_prune, 0},
    {"GET", "/images/*/json", api_image_inspect, 0},
    {"GET", "/images/*/history", api_image_history, 0},
    {"GET", "/images/*/get", api_image_get, 0},
    {"POST", "/images/*/tag", api_image_tag, 0},
    {"POST", "/images/*/push", api_image_push, 0},
    {"DELETE", "/images/*", api_image_delete, 0},

    {"GET", "/containers/json", api_containers_list, 0},
    {"POST", "/containers/create", api_container_create, 0},
    {"POST", "/containers/prune", api_containers_prune, 0},
    {"GET", "/containers/+/json", api_container_inspect, 0},
    {"GET", "/containers/+/top", api_container_top, 0},
    {"GET", "/containers/+/logs", api_container_logs, 0},
    {"GET", "/containers/+/export", api_container_export, 0},
    {"GET", "/containers/+/stats", api_container_stats, 0},
    {"POST", "/containers/+/resize", api_container_resize, 0},
    {"POST", "/containers/+/start", api_container_start, 0},
    {"POST", "/containers/+/stop", api_container_stop, 0},
    {"POST", "/containers/+/restart", api_container_restart, 0},
    {"POST", "/containers/+/kill", api_container_kill, 0},
    {"POST", "/containers/+/update", api_container_update, 0},
    {"POST", "/containers/+/rename", api_container_rename, 0},
    {"POST", "/containers/+/pause", api_container_pause, 0},
    {"POST", "/containers/+/unpause", api_container_unpause, 0},
    {"POST", "/containers/+/attach", api_container_attach, 0},
    {"POST", "/containers/+/wait", api_container_wait, 0},
    {"DELETE", "/containers/+", api_container_delete, 0},
    {"HEAD", "/containers/+/archive", api_container_archive_head, 0},
    {"GET", "/containers/+/archive", api_container_archive_get, 0},
    {"PUT", "/containers/+/archive", api_container_archive_put, ROUTE_BODY_STREAM},
    {"POST", "/containers/+/exec", api_exec_create, 0},

    {"POST", "/exec/+/start", api_exec_start, 0},
    {"POST", "/exec/+/resize", api_exec_resize, 0},
    {"GET", "/exec/+/json", api_exec_inspect, 0},
};

int berth_api_parse_version(const char *s)
{
        char *end;
        long major, minor;

        if (!isdigit((unsigned char)s[0]))
                return -1;
        major = strtol(s, &end, 10);
        if (*end != '.' || !isdigit((unsigned char)end[1]))
                return -1;
        minor = strtol(end + 1, &end, 10);
        if (*end != '\0' || major > 99 || minor > 99)
                return -1;
        return (int)(major * 100 + minor);
}

/* Match PATH against PATTERN, capturing '+' (one segment) and '*' (one or
 * more segments, as long as the rest of the pattern matches after it). */
static bool match(const char *pattern, const char *path, char **params, size_t n_params)
{
        size_t np = 0;
        const char *p = pattern, *s = path;

        while (*p != '\0') {
                if (*p == '+' || *p == '*') {
                        const char *start = s, *end;
                        const char *rest = p + 1;
                        if (*p == '+') {
                                end = strchr(s, '/');
                                if (end == NULL)
                                        end = s + strlen(s);
                        } else {
                                /* greedy: the rest of the pattern is a fixed
                                 * suffix */
                                size_t rl = strlen(rest), sl = strlen(s);
                                if (sl <= rl || strcmp(s + sl - rl, rest) != 0)
                                        goto fail;
                                end = s + sl - rl;
                        }
                        if (end == start || np >= n_params)
                                goto fail;
                        params[np++] = xstrndup(start, (size_t)(end - start));
                        s = end;
                        p = rest;
                        continue;
                }
                if (*p != *s)
                        goto fail;
                p++;
                s++;
        }
        if (*s == '\0' || (s[0] == '/' && s[1] == '\0'))
                return true;
fail:
        for (size_t i = 0; i < np; i++) {
                free(params[i]);
                params[i] = NULL;
        }
        return false;
}

void api_route(struct api_req *r)
{
        const char *path = r->url;
        static const int min = 124, max = 145;

        r->version = berth_api_parse_version(BERTH_API_VERSION);
        if (path[0] == '/' && path[1] == 'v' && isdigit((unsigned char)path[2])) {
                const char *slash = strchr(path + 2, '/');
                size_t n = slash ? (size_t)(slash - path - 2) : strlen(path + 2);
                char ver[16];
                if (n > 0 && n < sizeof(ver)) {
                        memcpy(ver, path + 2, n);
                        ver[n] = '\0';
                        int v = berth_api_parse_version(ver);
                        if (v >= 0) {
                                if (v > max) {
                                        api_reply_error(r, 400,
                                                        "client version %s is too new. Maximum "
                                                        "supported API version is %s",
                                                        ver, BERTH_API_MAX_VERSION);
                                        return;
                                }
                                if (v < min) {
                                        api_reply_error(r, 400,
                                                        "client version %s is too old. Minimum "
                                                        "supported API version is %s, please "
                                                        "upgrade your client to a newer version",
                                                        ver, BERTH_API_MIN_VERSION);
                                        return;
                                }
                                r->version = v;
                                path = slash ? slash : "/";
                        }
                }
        }
        r->path = path;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
                if (strcmp(routes[i].method, r->method) != 0)
                        continue;
                if (match(routes[i].pattern, path, r->params, API_MAX_PARAMS)) {
                        r->route = &routes[i];
                        return;
                }
        }
        api_reply_error(r, 404, "page not found");
}
