/* SPDX-License-Identifier: Apache-2.0 */
/* stop, restart, kill, rm, pause, unpause, wait, rename, top, export,
 * container prune. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* POST/DELETE PATH_FMT for each container, printing its name on success
 * and each error as docker does; returns 1 when any failed. */
static int each(struct api_cli *c, char **args, const char *method, const char *fmt,
                const char *query)
{
        int rc = 0;
        for (char **a = args; *a; a++) {
                cleanup_error berth_error *err = NULL;
                cleanup_free char *n = berth_url_escape(*a);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                cleanup_free char *p0 = xasprintf(fmt, n);
#pragma GCC diagnostic pop
                cleanup_free char *p = xasprintf("%s%s", p0, query ? query : "");
                if (berth_client_call(c->client, method, p, NULL, NULL, &err) < 0) {
                        fprintf(stderr, "%s\n", err->msg);
                        rc = 1;
                        continue;
                }
                printf("%s\n", *a);
        }
        return rc;
}

static int stop_or_restart(struct api_cli *c, int argc, char **argv, bool restart)
{
        int64_t t = 0;
        bool t_set = false;
        const char *sig = NULL;
        const struct flag flags[] = {
            {'s', "signal", F_STRING, &sig, "Signal to send to the container", NULL},
            {'t', "time", F_INT, &t, "Seconds to wait before killing the container", &t_set},
            {0, "timeout", F_INT, &t, "Seconds to wait before killing the container", &t_set},
        };
        const struct command cmd = {
            restart ? "restart" : "stop",
            "[OPTIONS] CONTAINER [CONTAINER...]",
            restart ? "Restart one or more containers" : "Stop one or more running containers",
            1,
            -1,
            false,
            restart ? "berth container restart, berth restart" : "berth container stop, berth stop",
            flags,
            3};
        cleanup_free char **args = NULL;
        cleanup_free char *q = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (t_set || sig) {
                cleanup_free char *s = sig ? berth_url_escape(sig) : NULL;
                cleanup_free char *tq = t_set ? xasprintf("t=%lld", (long long)t) : NULL;
                q = xasprintf("?%s%s%s%s", s ? "signal=" : "", s ? s : "", s && tq ? "&" : "",
                              tq ? tq : "");
        }
        return each(c, args, "POST", restart ? "/containers/%s/restart" : "/containers/%s/stop", q);
}

int cmd_stop(struct api_cli *c, int argc, char **argv)
{
        return stop_or_restart(c, argc, argv, false);
}

int cmd_restart(struct api_cli *c, int argc, char **argv)
{
        return stop_or_restart(c, argc, argv, true);
}

int cmd_kill(struct api_cli *c, int argc, char **argv)
{
        const char *sig = NULL;
        const struct flag flags[] = {
            {'s', "signal", F_STRING, &sig, "Signal to send to the container", NULL},
        };
        const struct command cmd = {"kill",
                                    "[OPTIONS] CONTAINER [CONTAINER...]",
                                    "Kill one or more running containers",
                                    1,
                                    -1,
                                    false,
                                    "berth container kill, berth kill",
                                    flags,
                                    1};
        cleanup_free char **args = NULL;
        cleanup_free char *q = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (sig) {
                cleanup_free char *s = berth_url_escape(sig);
                q = xasprintf("?signal=%s", s);
        }
        return each(c, args, "POST", "/containers/%s/kill", q);
}

int cmd_rm(struct api_cli *c, int argc, char **argv)
{
        bool force = false, volumes = false, link = false;
        const struct flag flags[] = {
            {'f', "force", F_BOOL, &force,
             "Force the removal of a running container (uses SIGKILL)", NULL},
            {'l', "link", F_BOOL, &link, "Remove the specified link", NULL},
            {'v', "volumes", F_BOOL, &volumes,
             "Remove anonymous volumes associated with the container", NULL},
        };
        const struct command cmd = {"rm",
                                    "[OPTIONS] CONTAINER [CONTAINER...]",
                                    "Remove one or more containers",
                                    1,
                                    -1,
                                    false,
                                    "berth container rm, berth container remove, berth rm",
                                    flags,
                                    3};
        cleanup_free char **args = NULL;
        cleanup_free char *q = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (force || volumes)
                q = xasprintf("?%s%s%s", force ? "force=1" : "", force && volumes ? "&" : "",
                              volumes ? "v=1" : "");
        return each(c, args, "DELETE", "/containers/%s", q);
}

static int pause_or_unpause(struct api_cli *c, int argc, char **argv, bool pause)
{
        const struct command cmd = {pause ? "pause" : "unpause",
                                    "CONTAINER [CONTAINER...]",
                                    pause ? "Pause all processes within one or more containers"
                                          : "Unpause all processes within one or more containers",
                                    1,
                                    -1,
                                    false,
                                    pause ? "berth container pause, berth pause"
                                          : "berth container unpause, berth unpause",
                                    NULL,
                                    0};
        cleanup_free char **args = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        return each(c, args, "POST", pause ? "/containers/%s/pause" : "/containers/%s/unpause",
                    NULL);
}

int cmd_pause(struct api_cli *c, int argc, char **argv)
{
        return pause_or_unpause(c, argc, argv, true);
}

int cmd_unpause(struct api_cli *c, int argc, char **argv)
{
        return pause_or_unpause(c, argc, argv, false);
}

int cmd_wait(struct api_cli *c, int argc, char **argv)
{
        const struct command cmd = {
            "wait",
            "CONTAINER [CONTAINER...]",
            "Block until one or more containers stop, then print their exit codes",
            1,
            -1,
            false,
            "berth container wait, berth wait",
            NULL,
            0};
        cleanup_free char **args = NULL;
        int ex, rc = 0;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        for (char **a = args; *a; a++) {
                cleanup_error berth_error *err = NULL;
                cleanup_json json_object *o = NULL;
                cleanup_free char *n = berth_url_escape(*a);
                cleanup_free char *p = xasprintf("/containers/%s/wait", n);
                if (berth_client_call(c->client, "POST", p, NULL, &o, &err) < 0) {
                        fprintf(stderr, "%s\n", err->msg);
                        rc = 1;
                        continue;
                }
                printf("%lld\n", (long long)berth_json_int(o, "StatusCode", 0));
        }
        return rc;
}

int cmd_rename(struct api_cli *c, int argc, char **argv)
{
        const struct command cmd = {"rename",
                                    "CONTAINER NEW_NAME",
                                    "Rename a container",
                                    2,
                                    2,
                                    false,
                                    "berth container rename, berth rename",
                                    NULL,
                                    0};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *n = berth_url_escape(args[0]);
        cleanup_free char *nn = berth_url_escape(args[1]);
        cleanup_free char *p = xasprintf("/containers/%s/rename?name=%s", n, nn);
        if (berth_client_call(c->client, "POST", p, NULL, NULL, &err) < 0)
                return api_fail(&err, 1);
        return 0;
}

int cmd_top(struct api_cli *c, int argc, char **argv)
{
        const struct command cmd = {"top",
                                    "CONTAINER [ps OPTIONS]",
                                    "Display the running processes of a container",
                                    1,
                                    -1,
                                    true,
                                    "berth container top, berth top",
                                    NULL,
                                    0};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *n = berth_url_escape(args[0]);
        cleanup_free char *p = NULL;
        if (args[1]) {
                cleanup_free char *j = shell_join(args + 1);
                cleanup_free char *e = berth_url_escape(j);
                p = xasprintf("/containers/%s/top?ps_args=%s", n, e);
        } else {
                p = xasprintf("/containers/%s/top", n);
        }
        if (berth_client_call(c->client, "GET", p, NULL, &o, &err) < 0)
                return api_fail(&err, 1);
        /* docker prints top with tabwriter minwidth 20, padding 1 */
        json_object *titles = berth_json_get(o, "Titles"), *procs = berth_json_get(o, "Processes");
        size_t nt = titles ? json_object_array_length(titles) : 0;
        size_t *w = xcalloc(nt + 1, sizeof(size_t));
        for (size_t i = 0; i < nt; i++) {
                size_t l = strlen(json_object_get_string(json_object_array_get_idx(titles, i))) + 1;
                w[i] = l < 20 ? 20 : l;
        }
        for (size_t r = 0; procs && r < json_object_array_length(procs); r++) {
                json_object *row = json_object_array_get_idx(procs, r);
                for (size_t i = 0; i < nt && i < json_object_array_length(row); i++) {
                        size_t l =
                            strlen(json_object_get_string(json_object_array_get_idx(row, i))) + 1;
                        if (l > w[i])
                                w[i] = l;
                }
        }
        for (size_t i = 0; i < nt; i++) {
                const char *t = json_object_get_string(json_object_array_get_idx(titles, i));
                if (i + 1 < nt)
                        printf("%-*s", (int)w[i], t);
                else
                        printf("%s\n", t);
        }
        for (size_t r = 0; procs && r < json_object_array_length(procs); r++) {
                json_object *row = json_object_array_get_idx(procs, r);
                size_t nc = json_object_array_length(row);
                for (size_t i = 0; i < nc; i++) {
                        const char *t = json_object_get_string(json_object_array_get_idx(row, i));
                        if (i + 1 < nc)
                                printf("%-*s", (int)(i < nt ? w[i] : 20), t);
                        else
                                printf("%s\n", t);
                }
        }
        free(w);
        return 0;
}

/* GET PATH into -o FILE, or stdout (refusing a terminal). */

int download_to(struct api_cli *c, const char *path, const char *output, const char *what)
{
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *r = NULL;
        cleanup_close int fd = -1;
        cleanup_free char *tmp = NULL;
        if (output == NULL && isatty(STDOUT_FILENO)) {
                fprintf(stderr,
                        "Cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
                return 1;
        }
        if (berth_client_request(c->client, "GET", path, NULL, &r, &err) < 0 ||
            berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        if (output != NULL) {
                tmp = xasprintf("%s.berth-tmp", output);
                fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0) {
                        fprintf(stderr, "failed to %s: open %s: %s\n", what, output,
                                strerror(errno));
                        return 1;
                }
        }
        char buf[65536];
        for (;;) {
                ssize_t n = berth_response_read(r, buf, sizeof(buf), &err);
                if (n < 0) {
                        if (tmp)
                                (void)unlink(tmp);
                        return api_fail(&err, 1);
                }
                if (n == 0)
                        break;
                if (berth_write_all(output ? fd : STDOUT_FILENO, buf, (size_t)n) < 0) {
                        fprintf(stderr, "failed to %s: write: %s\n", what, strerror(errno));
                        if (tmp)
                                (void)unlink(tmp);
                        return 1;
                }
        }
        if (output != NULL && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
                fprintf(stderr, "failed to %s: %s: %s\n", what, output, strerror(errno));
                (void)unlink(tmp);
                return 1;
        }
        return 0;
}

int cmd_export(struct api_cli *c, int argc, char **argv)
{
        const char *output = NULL;
        const struct flag flags[] = {
            {'o', "output", F_STRING, &output, "Write to a file, instead of STDOUT", NULL},
        };
        const struct command cmd = {"export",
                                    "[OPTIONS] CONTAINER",
                                    "Export a container's filesystem as a tar archive",
                                    1,
                                    1,
                                    false,
                                    "berth container export, berth export",
                                    flags,
                                    1};
        cleanup_free char **args = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *n = berth_url_escape(args[0]);
        cleanup_free char *p = xasprintf("/containers/%s/export", n);
        return download_to(c, p, output, "export container");
}

int cmd_container_prune(struct api_cli *c, int argc, char **argv)
{
        bool force = false;
        char **filter = NULL;
        const struct flag flags[] = {
            {0, "filter", F_LIST, &filter, "Provide filter values (e.g. \"until=<timestamp>\")",
             NULL},
            {'f', "force", F_BOOL, &force, "Do not prompt for confirmation", NULL},
        };
        const struct command cmd = {"container prune",
                                    "[OPTIONS]",
                                    "Remove all stopped containers",
                                    0,
                                    0,
                                    false,
                                    NULL,
                                    flags,
                                    2};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        berth_strv_freep(&filter);
        if (!force && !confirm("This will remove all stopped containers."))
                return 0;
        if (api_client(c) == NULL)
                return 1;
        if (berth_client_call(c->client, "POST", "/containers/prune", NULL, &o, &err) < 0)
                return api_fail(&err, 1);
        json_object *del = berth_json_get(o, "ContainersDeleted");
        if (del && json_object_array_length(del) > 0) {
                printf("Deleted Containers:\n");
                for (size_t i = 0; i < json_object_array_length(del); i++)
                        printf("%s\n", json_object_get_string(json_object_array_get_idx(del, i)));
                printf("\n");
        }
        cleanup_free char *sz = fmt_size((double)berth_json_int(o, "SpaceReclaimed", 0));
        printf("Total reclaimed space: %s\n", sz);
        return 0;
}
