/* SPDX-License-Identifier: Apache-2.0 */
/* ps / container ls: the docker table, -q, --format, --filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* filters={"k":{"v":true}} from --filter k=v (repeatable). */

char *filters_query(char *const *filters)
{
        cleanup_json json_object *o = json_object_new_object();
        for (char *const *f = filters; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                cleanup_free char *k = eq ? xstrndup(*f, (size_t)(eq - *f)) : xstrdup(*f);
                json_object *m = NULL;
                if (!json_object_object_get_ex(o, k, &m)) {
                        m = json_object_new_object();
                        json_object_object_add(o, k, m);
                }
                json_object_object_add(m, eq ? eq + 1 : "", json_object_new_boolean(true));
        }
        return berth_url_escape(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Go's time.Time.String() of a unix time, in local time. */

char *fmt_created_at(int64_t t)
{
        char buf[64];
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        return xstrdup(buf);
}

static char *go_quote(const char *s)
{
        json_object *j = json_object_new_string(s);
        char *q = xstrdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
        return q;
}

static char *ports_string(json_object *ports)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
                json_object *p = json_object_array_get_idx(ports, i);
                const char *ip = berth_json_str(p, "IP");
                int64_t pub = berth_json_int(p, "PublicPort", 0),
                        priv = berth_json_int(p, "PrivatePort", 0);
                const char *type = berth_json_str(p, "Type");
                if (i)
                        fputs(", ", f);
                if (pub) {
                        bool v6 = ip && strchr(ip, ':');
                        fprintf(f, "%s%s%s:%lld->%lld/%s", v6 ? "[" : "", ip ? ip : "",
                                v6 ? "]" : "", (long long)pub, (long long)priv,
                                type ? type : "tcp");
                } else {
                        fprintf(f, "%lld/%s", (long long)priv, type ? type : "tcp");
                }
        }
        fclose(f);
        return s;
}

static char *labels_string(json_object *labels)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        bool first = true;
        if (labels && json_object_is_type(labels, json_type_object)) {
                json_object_object_foreach(labels, k, v)
                {
                        fprintf(f, "%s%s=%s", first ? "" : ",", k, json_object_get_string(v));
                        first = false;
                }
        }
        fclose(f);
        return s;
}

static json_object *ps_row(json_object *c, bool no_trunc)
{
        json_object *row = json_object_new_object();
        const char *id = berth_json_str(c, "Id");
        int64_t created = berth_json_int(c, "Created", 0);
        json_object *names = berth_json_get(c, "Names");
        char *ns = NULL;
        size_t nl = 0;
        FILE *f = open_memstream(&ns, &nl);
        bool first = true;
        for (size_t i = 0; names && i < json_object_array_length(names); i++) {
                const char *n = json_object_get_string(json_object_array_get_idx(names, i));
                if (n[0] == '/')
                        n++;
                if (strchr(n, '/') != NULL && !no_trunc)
                        continue;
                fprintf(f, "%s%s", first ? "" : ",", n);
                first = false;
        }
        fclose(f);
        const char *cmd = berth_json_str(c, "Command");
        cleanup_free char *cmd_t =
            no_trunc ? xstrdup(cmd ? cmd : "") : trunc_str(cmd ? cmd : "", 20);
        cleanup_free char *cmd_q = go_quote(cmd_t);
        cleanup_free char *ago = fmt_duration((int64_t)time(NULL) - created);
        cleanup_free char *running_for = xasprintf("%s ago", ago);
        cleanup_free char *created_at = fmt_created_at(created);
        cleanup_free char *ports = ports_string(berth_json_get(c, "Ports"));
        cleanup_free char *labels = labels_string(berth_json_get(c, "Labels"));
        cleanup_free char *sz_rw = fmt_size((double)berth_json_int(c, "SizeRw", 0));
        cleanup_free char *sz_root = fmt_size((double)berth_json_int(c, "SizeRootFs", 0));
        cleanup_free char *size = xasprintf("%s (virtual %s)", sz_rw, sz_root);
        const char *image = berth_json_str(c, "Image");
        cleanup_free char *image_s = NULL;
        if (image && berth_str_has_prefix(image, "sha256:") && !no_trunc)
                image_s = xstrndup(image + 7, 12);
        else
                image_s = xstrdup(image ? image : "");
        cleanup_free char *id_s = id ? (no_trunc ? xstrdup(id) : xstrndup(id, 12)) : xstrdup("");
        json_object_object_add(row, "ID", json_object_new_string(id_s));
        json_object_object_add(row, "Image", json_object_new_string(image_s));
        json_object_object_add(row, "Command", json_object_new_string(cmd_q));
        json_object_object_add(row, "CreatedAt", json_object_new_string(created_at));
        json_object_object_add(row, "RunningFor", json_object_new_string(running_for));
        json_object_object_add(row, "Ports", json_object_new_string(ports));
        json_object_object_add(
            row, "State",
            json_object_new_string(berth_json_str(c, "State") ? berth_json_str(c, "State") : ""));
        json_object_object_add(
            row, "Status",
            json_object_new_string(berth_json_str(c, "Status") ? berth_json_str(c, "Status") : ""));
        json_object_object_add(row, "Size", json_object_new_string(size));
        json_object_object_add(row, "Names", json_object_new_string(ns));
        json_object_object_add(row, "Labels", json_object_new_string(labels));
        json_object_object_add(row, "Mounts", json_object_new_string(""));
        json_object_object_add(row, "Networks", json_object_new_string(""));
        json_object_object_add(row, "LocalVolumes", json_object_new_string("0"));
        free(ns);
        return row;
}

static const char *const ps_headers[] = {
    "ID",        "CONTAINER ID", "Image",        "IMAGE",         "Command", "COMMAND",
    "CreatedAt", "CREATED AT",   "RunningFor",   "CREATED",       "Ports",   "PORTS",
    "State",     "STATE",        "Status",       "STATUS",        "Size",    "SIZE",
    "Names",     "NAMES",        "Labels",       "LABELS",        "Mounts",  "MOUNTS",
    "Networks",  "NETWORKS",     "LocalVolumes", "LOCAL VOLUMES", NULL,      NULL,
};

int cmd_ps(struct api_cli *c, int argc, char **argv)
{
        bool all = false, quiet = false, size = false, latest = false, no_trunc = false;
        int64_t last = -1;
        const char *format = NULL;
        char **filter = NULL;
        const struct flag flags[] = {
            {'a', "all", F_BOOL, &all, "Show all containers (default shows just running)", NULL},
            {'f', "filter", F_LIST, &filter, "Filter output based on conditions provided", NULL},
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {'n', "last", F_INT, &last,
             "Show n last created containers (includes all states) (default -1)", NULL},
            {'l', "latest", F_BOOL, &latest,
             "Show the latest created container (includes all states)", NULL},
            {0, "no-trunc", F_BOOL, &no_trunc, "Don't truncate output", NULL},
            {'q', "quiet", F_BOOL, &quiet, "Only display container IDs", NULL},
            {'s', "size", F_BOOL, &size, "Display total file sizes", NULL},
        };
        const struct command cmd = {
            "ps",
            "[OPTIONS]",
            "List containers",
            0,
            0,
            false,
            "berth container ls, berth container list, berth container ps, berth ps",
            flags,
            8};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *list = NULL, *rows = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (latest)
                last = 1;
        char *q = NULL;
        size_t ql = 0;
        FILE *f = open_memstream(&q, &ql);
        fputs("/containers/json", f);
        char sep = '?';
        if (all || last > 0) {
                fprintf(f, "%call=1", sep);
                sep = '&';
        }
        if (last > 0) {
                fprintf(f, "%climit=%lld", sep, (long long)last);
                sep = '&';
        }
        bool want_size = size || (format && strstr(format, ".Size"));
        if (want_size) {
                fprintf(f, "%csize=1", sep);
                sep = '&';
        }
        if (filter) {
                cleanup_free char *fq = filters_query(filter);
                fprintf(f, "%cfilters=%s", sep, fq);
        }
        fclose(f);
        flags_free_lists(&cmd);
        int r = berth_client_call(c->client, "GET", q, NULL, &list, &err);
        free(q);
        if (r < 0)
                return api_fail(&err, 1);
        rows = json_object_new_array();
        for (size_t i = 0; list && i < json_object_array_length(list); i++)
                json_object_array_add(rows, ps_row(json_object_array_get_idx(list, i), no_trunc));
        const char *def = size ? "table "
                                 "{{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{."
                                 "Status}}\\t{{.Ports}}\\t{{.Names}}\\t{{.Size}}"
                               : "table "
                                 "{{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{."
                                 "Status}}\\t{{.Ports}}\\t{{.Names}}";
        return render_rows(format, def, rows, ps_headers, quiet && format == NULL);
}
