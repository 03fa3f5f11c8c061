/* SPDX-License-Identifier: Apache-2.0 */
/* info, version, system df, system prune, events, stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth-version.h"
#include "cmds.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static int format_one(const char *format, json_object *o)
{
        bool table;
        cleanup_free char *tmpl = format_prepare(format, &table);
        cleanup_error berth_error *err = NULL;
        cleanup_free char *s = cli_tmpl_render(tmpl, o, &err);
        if (s == NULL) {
                fprintf(stderr, "template: %s\n", err->msg);
                return 64;
        }
        printf("%s\n", s);
        return 0;
}

static const char *str_or(json_object *o, const char *k, const char *d)
{
        const char *s = berth_json_str(o, k);
        return s ? s : d;
}

int cmd_info(struct api_cli *c, int argc, char **argv)
{
        const char *format = NULL;
        const struct flag flags[] = {
            {'f', "format", F_STRING, &format, "Format output using a custom template", NULL},
        };
        const struct command cmd = {"info", "[OPTIONS]", "Display system-wide information", 0,
                                    0,      false,       "berth system info, berth info",   flags,
                                    1};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (berth_client_call(c->client, "GET", "/info", NULL, &o, &err) < 0)
                return api_fail(&err, 1);
        if (format)
                return format_one(format, o);
        cleanup_free char *mem = fmt_bytes_binary((double)berth_json_int(o, "MemTotal", 0));
        printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: %s\n\nServer:\n",
               BERTH_VERSION, c->debug ? "true" : "false");
        printf(" Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n",
               (long long)berth_json_int(o, "Containers", 0),
               (long long)berth_json_int(o, "ContainersRunning", 0),
               (long long)berth_json_int(o, "ContainersPaused", 0),
               (long long)berth_json_int(o, "ContainersStopped", 0));
        printf(" Images: %lld\n", (long long)berth_json_int(o, "Images", 0));
        printf(" Server Version: %s\n", str_or(o, "ServerVersion", ""));
        printf(" Storage Driver: %s\n", str_or(o, "Driver", ""));
        printf(" Logging Driver: %s\n", str_or(o, "LoggingDriver", ""));
        printf(" Cgroup Driver: %s\n", str_or(o, "CgroupDriver", ""));
        printf(" Cgroup Version: %s\n", str_or(o, "CgroupVersion", ""));
        printf(" Kernel Version: %s\n", str_or(o, "KernelVersion", ""));
        printf(" Operating System: %s\n", str_or(o, "OperatingSystem", ""));
        printf(" OSType: %s\n", str_or(o, "OSType", ""));
        printf(" Architecture: %s\n", str_or(o, "Architecture", ""));
        printf(" CPUs: %lld\n", (long long)berth_json_int(o, "NCPU", 0));
        printf(" Total Memory: %s\n", mem);
        printf(" Name: %s\n", str_or(o, "Name", ""));
        printf(" ID: %s\n", str_or(o, "ID", ""));
        printf(" Docker Root Dir: %s\n", str_or(o, "DockerRootDir", ""));
        printf(" Debug Mode: %s\n", berth_json_bool(o, "Debug", false) ? "true" : "false");
        printf(" Experimental: %s\n",
               berth_json_bool(o, "ExperimentalBuild", false) ? "true" : "false");
        printf(" Live Restore Enabled: %s\n",
               berth_json_bool(o, "LiveRestoreEnabled", false) ? "true" : "false");
        json_object *warn = berth_json_get(o, "Warnings");
        for (size_t i = 0; warn && json_object_is_type(warn, json_type_array) &&
                           i < json_object_array_length(warn);
             i++)
                fprintf(stderr, "%s\n", json_object_get_string(json_object_array_get_idx(warn, i)));
        return 0;
}

int cmd_version(struct api_cli *c, int argc, char **argv)
{
        const char *format = NULL;
        const struct flag flags[] = {
            {'f', "format", F_STRING, &format, "Format output using a custom template", NULL},
        };
        const struct command cmd = {"version", "[OPTIONS]", "Show the Berth version information",
                                    0,         0,           false,
                                    NULL,      flags,       1};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *srv = NULL, *all = json_object_new_object(),
                                 *cl = json_object_new_object();
        int ex, rc = 0;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        json_object_object_add(cl, "Version", json_object_new_string(BERTH_VERSION));
        json_object_object_add(cl, "DefaultAPIVersion",
                               json_object_new_string(BERTH_CLIENT_API_VERSION));
        json_object_object_add(cl, "Os", json_object_new_string("linux"));
        json_object_object_add(cl, "Arch", json_object_new_string("amd64"));
        json_object_object_add(all, "Client", json_object_get(cl));
        bool ok = api_client(c) != NULL &&
                  berth_client_call(c->client, "GET", "/version", NULL, &srv, &err) == 0;
        const char *negotiated = ok ? berth_client_version(c->client) : BERTH_CLIENT_API_VERSION;
        json_object_object_add(cl, "ApiVersion", json_object_new_string(negotiated));
        if (ok)
                json_object_object_add(all, "Server", json_object_get(srv));
        if (format) {
                rc = format_one(format, all);
        } else {
                printf(
                    "Client:\n Version:           %s\n API version:       %s%s%s%s\n Built with:   "
                    "     C (gcc)\n OS/Arch:           linux/amd64\n Context:           default\n",
                    BERTH_VERSION, negotiated,
                    strcmp(negotiated, BERTH_CLIENT_API_VERSION) != 0 ? " (downgraded from " : "",
                    strcmp(negotiated, BERTH_CLIENT_API_VERSION) != 0 ? BERTH_CLIENT_API_VERSION
                                                                      : "",
                    strcmp(negotiated, BERTH_CLIENT_API_VERSION) != 0 ? ")" : "");
                if (ok) {
                        printf("\nServer: %s\n Engine:\n  Version:          %s\n  API version:     "
                               " %s (minimum version %s)\n",
                               str_or(srv, "Platform", "") && berth_json_get(srv, "Platform")
                                   ? str_or(berth_json_get(srv, "Platform"), "Name", "Berth Engine")
                                   : "Berth Engine",
                               str_or(srv, "Version", ""), str_or(srv, "ApiVersion", ""),
                               str_or(srv, "MinAPIVersion", ""));
                        printf("  Git commit:       %s\n  Built:            %s\n  OS/Arch:         "
                               " %s/%s\n",
                               str_or(srv, "GitCommit", ""), str_or(srv, "BuildTime", ""),
                               str_or(srv, "Os", ""), str_or(srv, "Arch", ""));
                        printf("  Experimental:     %s\n",
                               berth_json_bool(srv, "Experimental", false) ? "true" : "false");
                }
        }
        if (!ok) {
                if (err)
                        fprintf(stderr, "%s\n", err->msg);
                return 1;
        }
        return rc;
}

static int64_t sum_size(json_object *arr, const char *key)
{
        int64_t s = 0;
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                s += berth_json_int(json_object_array_get_idx(arr, i), key, 0);
        return s;
}

int cmd_system_df_api(struct api_cli *c, int argc, char **argv)
{
        bool verbose = false;
        const char *format = NULL;
        const struct flag flags[] = {
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {'v', "verbose", F_BOOL, &verbose, "Show detailed information on space usage", NULL},
        };
        const struct command cmd = {
            "system df", "[OPTIONS]", "Show docker disk usage", 0, 0, false, NULL, flags, 2};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL, *rows = json_object_new_array();
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (berth_client_call(c->client, "GET", "/system/df", NULL, &o, &err) < 0)
                return api_fail(&err, 1);
        json_object *images = berth_json_get(o, "Images"), *ctrs = berth_json_get(o, "Containers"),
                    *vols = berth_json_get(o, "Volumes"), *bc = berth_json_get(o, "BuildCache");
        /* Images: total size is the layers' size; reclaimable = images without containers */
        int64_t img_total = berth_json_int(o, "LayersSize", 0), img_active = 0, img_reclaim = 0;
        for (size_t i = 0; images && i < json_object_array_length(images); i++) {
                json_object *im = json_object_array_get_idx(images, i);
                if (berth_json_int(im, "Containers", 0) > 0)
                        img_active++;
                else
                        img_reclaim +=
                            berth_json_int(im, "Size", 0) - berth_json_int(im, "SharedSize", 0) > 0
                                ? berth_json_int(im, "Size", 0) -
                                      (berth_json_int(im, "SharedSize", 0) > 0
                                           ? berth_json_int(im, "SharedSize", 0)
                                           : 0)
                                : 0;
        }
        if (img_total == 0)
                img_total = sum_size(images, "Size");
        int64_t c_active = 0, c_total = sum_size(ctrs, "SizeRw"), c_reclaim = 0;
        for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
                json_object *ct = json_object_array_get_idx(ctrs, i);
                if (strcmp(str_or(ct, "State", ""), "running") == 0)
                        c_active++;
                else
                        c_reclaim += berth_json_int(ct, "SizeRw", 0);
        }
        int64_t v_total = 0;
        for (size_t i = 0; vols && i < json_object_array_length(vols); i++)
                v_total += berth_json_int(
                    berth_json_get(json_object_array_get_idx(vols, i), "UsageData"), "Size", 0);
        int64_t b_total = sum_size(bc, "Size");
        struct {
                const char *type;
                size_t total;
                int64_t active, size, reclaim;
        } lines[] = {
            {"Images", images ? json_object_array_length(images) : 0, img_active, img_total,
             img_reclaim},
            {"Containers", ctrs ? json_object_array_length(ctrs) : 0, c_active, c_total, c_reclaim},
            {"Local Volumes", vols ? json_object_array_length(vols) : 0, 0, v_total, v_total},
            {"Build Cache", bc ? json_object_array_length(bc) : 0, 0, b_total, b_total},
        };
        for (size_t i = 0; i < 4; i++) {
                json_object *row = json_object_new_object();
                cleanup_free char *sz = fmt_size((double)lines[i].size);
                cleanup_free char *rs = fmt_size((double)lines[i].reclaim);
                cleanup_free char *rec =
                    lines[i].size > 0
                        ? xasprintf("%s (%d%%)", rs,
                                    (int)(100.0 * (double)lines[i].reclaim / (double)lines[i].size))
                        : xstrdup(rs);
                json_object_object_add(row, "Type", json_object_new_string(lines[i].type));
                json_object_object_add(row, "TotalCount", json_object_new_string_len(NULL, 0));
                cleanup_free char *tc = xasprintf("%zu", lines[i].total);
                cleanup_free char *ac = xasprintf("%lld", (long long)lines[i].active);
                json_object_object_add(row, "TotalCount", json_object_new_string(tc));
                json_object_object_add(row, "Active", json_object_new_string(ac));
                json_object_object_add(row, "Size", json_object_new_string(sz));
                json_object_object_add(row, "Reclaimable", json_object_new_string(rec));
                json_object_array_add(rows, row);
        }
        static const char *const hdr[] = {"Type",        "TYPE",        "TotalCount", "TOTAL",
                                          "Active",      "ACTIVE",      "Size",       "SIZE",
                                          "Reclaimable", "RECLAIMABLE", NULL,         NULL};
        if (!verbose)
                return render_rows(
                    format,
                    "table "
                    "{{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}",
                    rows, hdr, false);
        /* -v: per image and per container */
        printf("Images space usage:\n\n");
        struct tabw *t = tabw_new();
        tabw_add(t,
                 "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS");
        for (size_t i = 0; images && i < json_object_array_length(images); i++) {
                json_object *im = json_object_array_get_idx(images, i);
                json_object *tags = berth_json_get(im, "RepoTags");
                const char *tag0 = tags && json_object_array_length(tags)
                                       ? json_object_get_string(json_object_array_get_idx(tags, 0))
                                       : "<none>:<none>";
                const char *colon = strrchr(tag0, ':');
                const char *id = str_or(im, "Id", "");
                cleanup_free char *ago0 =
                    fmt_duration((int64_t)time(NULL) - berth_json_int(im, "Created", 0));
                cleanup_free char *sz = fmt_size((double)berth_json_int(im, "Size", 0));
                int64_t shared = berth_json_int(im, "SharedSize", 0);
                cleanup_free char *sh = fmt_size((double)(shared > 0 ? shared : 0));
                cleanup_free char *un =
                    fmt_size((double)(berth_json_int(im, "Size", 0) - (shared > 0 ? shared : 0)));
                cleanup_free char *line = xasprintf(
                    "%.*s\t%s\t%.12s\t%s ago\t%s\t%s\t%s\t%lld",
                    colon ? (int)(colon - tag0) : (int)strlen(tag0), tag0, colon ? colon + 1 : "",
                    berth_str_has_prefix(id, "sha256:") ? id + 7 : id, ago0, sz, sh, un,
                    (long long)(berth_json_int(im, "Containers", 0) > 0
                                    ? berth_json_int(im, "Containers", 0)
                                    : 0));
                tabw_add(t, line);
        }
        tabw_flush(t, stdout);
        printf("\nContainers space usage:\n\n");
        t = tabw_new();
        tabw_add(t, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES");
        for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
                json_object *ct = json_object_array_get_idx(ctrs, i);
                json_object *names = berth_json_get(ct, "Names");
                const char *n0 = names && json_object_array_length(names)
                                     ? json_object_get_string(json_object_array_get_idx(names, 0))
                                     : "/";
                cleanup_free char *cmdq = trunc_str(str_or(ct, "Command", ""), 20);
                cleanup_free char *sz = fmt_size((double)berth_json_int(ct, "SizeRw", 0));
                cleanup_free char *ago0 =
                    fmt_duration((int64_t)time(NULL) - berth_json_int(ct, "Created", 0));
                cleanup_free char *line =
                    xasprintf("%.12s\t%s\t\"%s\"\t0\t%s\t%s ago\t%s\t%s", str_or(ct, "Id", ""),
                              str_or(ct, "Image", ""), cmdq, sz, ago0, str_or(ct, "Status", ""),
                              n0[0] == '/' ? n0 + 1 : n0);
                tabw_add(t, line);
        }
        tabw_flush(t, stdout);
        printf("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\nBuild cache usage: "
               "%s\n",
               "0B");
        return 0;
}

static int prune_print(struct api_cli *c, const char *path, const char *key, const char *title,
                       int64_t *reclaimed)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL;
        if (berth_client_call(c->client, "POST", path, NULL, &o, &err) < 0) {
                fprintf(stderr, "%s\n", err->msg);
                return 1;
        }
        json_object *del = berth_json_get(o, key);
        if (del && json_object_is_type(del, json_type_array) && json_object_array_length(del) > 0) {
                printf("%s:\n", title);
                for (size_t i = 0; i < json_object_array_length(del); i++) {
                        json_object *e = json_object_array_get_idx(del, i);
                        if (json_object_is_type(e, json_type_string))
                                printf("%s\n", json_object_get_string(e));
                        else if (berth_json_str(e, "Untagged"))
                                printf("untagged: %s\n", berth_json_str(e, "Untagged"));
                        else if (berth_json_str(e, "Deleted"))
                                printf("deleted: %s\n", berth_json_str(e, "Deleted"));
                }
                printf("\n");
        }
        *reclaimed += berth_json_int(o, "SpaceReclaimed", 0);
        return 0;
}

int cmd_system_prune(struct api_cli *c, int argc, char **argv)
{
        bool all = false, force = false, volumes = false;
        char **filter = NULL;
        const struct flag flags[] = {
            {'a', "all", F_BOOL, &all, "Remove all unused images not just dangling ones", NULL},
            {0, "filter", F_LIST, &filter, "Provide filter values (e.g. \"label=<key>=<value>\")",
             NULL},
            {'f', "force", F_BOOL, &force, "Do not prompt for confirmation", NULL},
            {0, "volumes", F_BOOL, &volumes, "Prune anonymous volumes", NULL},
        };
        const struct command cmd = {
            "system prune", "[OPTIONS]", "Remove unused data", 0, 0, false, NULL, flags, 4};
        cleanup_free char **args = NULL;
        int ex, rc = 0;
        int64_t reclaimed = 0;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        flags_free_lists(&cmd);
        if (!force) {
                cleanup_free char *w = xasprintf(
                    "This will remove:\n  - all stopped containers\n  - all networks not used by "
                    "at least one container\n%s  - %s\n  - unused build cache\n",
                    volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
                    all ? "all images without at least one container associated to them"
                        : "all dangling images");
                if (!confirm(w))
                        return 0;
        }
        if (api_client(c) == NULL)
                return 1;
        rc |= prune_print(c, "/containers/prune", "ContainersDeleted", "Deleted Containers",
                          &reclaimed);
        rc |= prune_print(c, "/networks/prune", "NetworksDeleted", "Deleted Networks", &reclaimed);
        if (volumes)
                rc |= prune_print(c, "/volumes/prune", "VolumesDeleted", "Deleted Volumes",
                                  &reclaimed);
        rc |= prune_print(
            c,
            all ? "/images/prune?filters=%7B%22dangling%22%3A%7B%22false%22%3Atrue%7D%7D"
                : "/images/prune?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D",
            "ImagesDeleted", "Deleted Images", &reclaimed);
        rc |= prune_print(c, "/build/prune", "CachesDeleted", "Deleted build cache objects",
                          &reclaimed);
        cleanup_free char *sz = fmt_size((double)reclaimed);
        printf("Total reclaimed space: %s\n", sz);
        return rc;
}

/* ---- events ---- */

static char *event_time(json_object *e)
{
        int64_t ns = berth_json_int(e, "timeNano", 0);
        if (ns == 0)
                ns = berth_json_int(e, "time", 0) * 1000000000LL;
        time_t s = (time_t)(ns / 1000000000LL);
        long frac = (long)(ns % 1000000000LL);
        struct tm tm;
        char buf[64], fb[16];
        localtime_r(&s, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(fb, sizeof(fb), ".%09ld", frac);
        size_t l = strlen(fb);
        while (l > 1 && fb[l - 1] == '0')
                fb[--l] = '\0';
        if (l == 1)
                fb[0] = '\0';
        char tz[16];
        strftime(tz, sizeof(tz), "%z", &tm);
        if (strcmp(tz, "+0000") == 0)
                return xasprintf("%s%sZ", buf, fb);
        return xasprintf("%s%s%.3s:%s", buf, fb, tz, tz + 3);
}

int cmd_events(struct api_cli *c, int argc, char **argv)
{
        const char *since = NULL, *until = NULL, *format = NULL;
        char **filter = NULL;
        const struct flag flags[] = {
            {'f', "filter", F_LIST, &filter, "Filter output based on conditions provided", NULL},
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {0, "since", F_STRING, &since, "Show all events created since timestamp", NULL},
            {0, "until", F_STRING, &until, "Stream events until this timestamp", NULL},
        };
        const struct command cmd = {
            "events", "[OPTIONS]", "Get real time events from the server", 0,
            0,        false,       "berth system events, berth events",    flags,
            4};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *r = NULL;
        cleanup_tmpl struct cli_tmpl *t = NULL;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (format) {
                bool table;
                cleanup_free char *tmpl = format_prepare(format, &table);
                if (cli_tmpl_parse(tmpl, &t, &err) < 0) {
                        flags_free_lists(&cmd);
                        fprintf(stderr, "template parsing error: %s\n", err->msg);
                        return 64;
                }
        }
        cleanup_free char *s = NULL, *u = NULL;
        if ((since && (s = parse_since(since, &err)) == NULL) ||
            (until && (u = parse_since(until, &err)) == NULL)) {
                flags_free_lists(&cmd);
                return api_fail(&err, 1);
        }
        /* whole seconds, as docker sends them */
        if (s && strchr(s, '.'))
                *strchr(s, '.') = '\0';
        if (u && strchr(u, '.')) { /* rounded up: "--until 0s" includes this second */
                char *dot = strchr(u, '.');
                bool frac = strspn(dot + 1, "0") != strlen(dot + 1);
                *dot = '\0';
                if (frac) {
                        char *up = xasprintf("%lld", atoll(u) + 1);
                        free(u);
                        u = up;
                }
        }
        if (api_client(c) == NULL) {
                flags_free_lists(&cmd);
                return 1;
        }
        cleanup_free char *fq = filter ? filters_query(filter) : NULL;
        flags_free_lists(&cmd);
        char *q = NULL;
        size_t ql = 0;
        FILE *f = open_memstream(&q, &ql);
        fputs("/events", f);
        char sep = '?';
        if (fq) {
                fprintf(f, "%cfilters=%s", sep, fq);
                sep = '&';
        }
        if (s) {
                fprintf(f, "%csince=%s", sep, s);
                sep = '&';
        }
        if (u)
                fprintf(f, "%cuntil=%s", sep, u);
        fclose(f);
        int k = berth_client_request(c->client, "GET", q, NULL, &r, &err);
        free(q);
        if (k < 0 || berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (;;) {
                json_object *e = NULL;
                k = berth_response_next_json(r, &e, &err);
                if (k < 0)
                        return api_fail(&err, 1);
                if (k == 0)
                        return 0;
                if (t != NULL) {
                        cleanup_error berth_error *e2 = NULL;
                        if (cli_tmpl_exec(t, e, stdout, &e2) < 0) {
                                json_object_put(e);
                                fprintf(stderr, "%s\n", e2->msg);
                                return 1;
                        }
                        fputc('\n', stdout);
                } else {
                        cleanup_free char *tm = event_time(e);
                        json_object *actor = berth_json_get(e, "Actor");
                        json_object *attrs = berth_json_get(actor, "Attributes");
                        printf("%s %s %s %s", tm, str_or(e, "Type", ""), str_or(e, "Action", ""),
                               str_or(actor, "ID", ""));
                        if (attrs && json_object_object_length(attrs) > 0) {
                                /* sorted k=v */
                                size_t n = (size_t)json_object_object_length(attrs), i = 0;
                                const char **keys = xcalloc(n, sizeof(char *));
                                json_object_object_foreach(attrs, ak, av)
                                {
                                        (void)av;
                                        keys[i++] = ak;
                                }
                                for (size_t a = 1; a < n; a++)
                                        for (size_t b = a;
                                             b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
                                                const char *tmp = keys[b];
                                                keys[b] = keys[b - 1];
                                                keys[b - 1] = tmp;
                                        }
                                printf(" (");
                                for (size_t a = 0; a < n; a++)
                                        printf("%s%s=%s", a ? ", " : "", keys[a],
                                               str_or(attrs, keys[a], ""));
                                printf(")");
                                free(keys);
                        }
                        printf("\n");
                }
                json_object_put(e);
        }
}

/* ---- stats ---- */

static json_object *stats_row(json_object *ctr, json_object *s)
{
        json_object *row = json_object_new_object();
        const char *id = str_or(ctr, "Id", "");
        json_object *names = berth_json_get(ctr, "Names");
        const char *name = names && json_object_array_length(names)
                               ? json_object_get_string(json_object_array_get_idx(names, 0))
                               : "";
        if (name[0] == '/')
                name++;
        json_object *cpu = berth_json_get(s, "cpu_stats"), *pre = berth_json_get(s, "precpu_stats");
        double cpu_delta =
            (double)(berth_json_int(berth_json_get(cpu, "cpu_usage"), "total_usage", 0) -
                     berth_json_int(berth_json_get(pre, "cpu_usage"), "total_usage", 0));
        double sys_delta = (double)(berth_json_int(cpu, "system_cpu_usage", 0) -
                                    berth_json_int(pre, "system_cpu_usage", 0));
        int64_t ncpu = berth_json_int(cpu, "online_cpus", 0);
        if (ncpu == 0) {
                json_object *per = berth_json_get(berth_json_get(cpu, "cpu_usage"), "percpu_usage");
                ncpu = per ? (int64_t)json_object_array_length(per) : 1;
        }
        double cpu_pct =
            sys_delta > 0 && cpu_delta > 0 ? cpu_delta / sys_delta * (double)ncpu * 100.0 : 0.0;
        json_object *mem = berth_json_get(s, "memory_stats");
        json_object *mstats = berth_json_get(mem, "stats");
        double usage = (double)berth_json_int(mem, "usage", 0);
        int64_t cache = berth_json_int(mstats, "total_inactive_file", -1);
        if (cache < 0)
                cache = berth_json_int(mstats, "inactive_file", 0);
        if (cache < usage)
                usage -= (double)cache;
        double limit = (double)berth_json_int(mem, "limit", 0);
        double mem_pct = limit > 0 ? usage / limit * 100.0 : 0.0;
        double rx = 0, tx = 0;
        json_object *nets = berth_json_get(s, "networks");
        if (nets && json_object_is_type(nets, json_type_object)) {
                json_object_object_foreach(nets, nk, nv)
                {
                        (void)nk;
                        rx += (double)berth_json_int(nv, "rx_bytes", 0);
                        tx += (double)berth_json_int(nv, "tx_bytes", 0);
                }
        }
        double rd = 0, wr = 0;
        json_object *io =
            berth_json_get(berth_json_get(s, "blkio_stats"), "io_service_bytes_recursive");
        for (size_t i = 0;
             io && json_object_is_type(io, json_type_array) && i < json_object_array_length(io);
             i++) {
                json_object *e = json_object_array_get_idx(io, i);
                const char *op = str_or(e, "op", "");
                if (strcasecmp(op, "read") == 0)
                        rd += (double)berth_json_int(e, "value", 0);
                else if (strcasecmp(op, "write") == 0)
                        wr += (double)berth_json_int(e, "value", 0);
        }
        cleanup_free char *cpu_s = xasprintf("%.2f%%", cpu_pct);
        cleanup_free char *mu = fmt_bytes_binary(usage), *ml = fmt_bytes_binary(limit);
        cleanup_free char *mem_s = xasprintf("%s / %s", mu, ml);
        cleanup_free char *memp = xasprintf("%.2f%%", mem_pct);
        cleanup_free char *rxs = fmt_size(rx), *txs = fmt_size(tx), *rds = fmt_size(rd),
                          *wrs = fmt_size(wr);
        cleanup_free char *net = xasprintf("%s / %s", rxs, txs);
        cleanup_free char *blk = xasprintf("%s / %s", rds, wrs);
        cleanup_free char *pids = xasprintf(
            "%lld", (long long)berth_json_int(berth_json_get(s, "pids_stats"), "current", 0));
        cleanup_free char *sid = xstrndup(id, 12);
        json_object_object_add(row, "ID", json_object_new_string(sid));
        json_object_object_add(row, "Container", json_object_new_string(sid));
        json_object_object_add(row, "Name", json_object_new_string(name));
        json_object_object_add(row, "CPUPerc", json_object_new_string(cpu_s));
        json_object_object_add(row, "MemUsage", json_object_new_string(mem_s));
        json_object_object_add(row, "MemPerc", json_object_new_string(memp));
        json_object_object_add(row, "NetIO", json_object_new_string(net));
        json_object_object_add(row, "BlockIO", json_object_new_string(blk));
        json_object_object_add(row, "PIDs", json_object_new_string(pids));
        return row;
}

int cmd_stats(struct api_cli *c, int argc, char **argv)
{
        bool all = false, no_stream = false, no_trunc = false;
        const char *format = NULL;
        const struct flag flags[] = {
            {'a', "all", F_BOOL, &all, "Show all containers (default shows just running)", NULL},
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {0, "no-stream", F_BOOL, &no_stream,
             "Disable streaming stats and only pull the first result", NULL},
            {0, "no-trunc", F_BOOL, &no_trunc, "Do not truncate output", NULL},
        };
        const struct command cmd = {
            "stats",
            "[OPTIONS] [CONTAINER...]",
            "Display a live stream of container(s) resource usage statistics",
            0,
            -1,
            false,
            "berth container stats, berth stats",
            flags,
            4};
        static const char *const hdr[] = {
            "ID",        "CONTAINER ID", "Container", "CONTAINER", "Name",
            "NAME",      "CPUPerc",      "CPU %",     "MemUsage",  "MEM USAGE / LIMIT",
            "MemPerc",   "MEM %",        "NetIO",     "NET I/O",   "BlockIO",
            "BLOCK I/O", "PIDs",         "PIDS",      NULL,        NULL};
        cleanup_free char **args = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        for (int round = 0;; round++) {
                cleanup_error berth_error *err = NULL;
                cleanup_json json_object *list = NULL, *ctrs = json_object_new_array(),
                                         *rows = json_object_new_array();
                int rc = 0;
                if (args[0] != NULL) {
                        for (char **a = args; *a; a++) {
                                cleanup_json json_object *info = NULL;
                                if (inspect_container(c, *a, &info, &err) < 0) {
                                        fprintf(stderr, "%s\n", err->msg);
                                        berth_error_freep(&err);
                                        rc = 1;
                                        continue;
                                }
                                json_object *ct = json_object_new_object();
                                json_object *nm = json_object_new_array();
                                json_object_array_add(
                                    nm, json_object_new_string(str_or(info, "Name", "")));
                                json_object_object_add(
                                    ct, "Id", json_object_new_string(str_or(info, "Id", "")));
                                json_object_object_add(ct, "Names", nm);
                                json_object_array_add(ctrs, ct);
                        }
                        if (rc)
                                return rc;
                } else {
                        if (berth_client_call(c->client, "GET",
                                              all ? "/containers/json?all=1" : "/containers/json",
                                              NULL, &list, &err) < 0)
                                return api_fail(&err, 1);
                        for (size_t i = 0; list && i < json_object_array_length(list); i++)
                                json_object_array_add(
                                    ctrs, json_object_get(json_object_array_get_idx(list, i)));
                }
                for (size_t i = 0; i < json_object_array_length(ctrs); i++) {
                        json_object *ct = json_object_array_get_idx(ctrs, i);
                        cleanup_json json_object *s = NULL;
                        cleanup_free char *p =
                            xasprintf("/containers/%.12s/stats?stream=0", str_or(ct, "Id", ""));
                        if (berth_client_call(c->client, "GET", p, NULL, &s, &err) < 0) {
                                berth_error_freep(&err);
                                s = json_object_new_object();
                        }
                        json_object *row = stats_row(ct, s);
                        if (no_trunc)
                                json_object_object_add(
                                    row, "ID", json_object_new_string(str_or(ct, "Id", "")));
                        json_object_array_add(rows, row);
                }
                if (!no_stream)
                        fputs("\033[2J\033[H", stdout);
                rc = render_rows(format,
                                 "table "
                                 "{{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}"
                                 "\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}",
                                 rows, hdr, false);
                fflush(stdout);
                if (no_stream || rc != 0)
                        return rc;
                sleep(1);
        }
}
