/* SPDX-License-Identifier: Apache-2.0 */
/* logs and exec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

int cmd_logs(struct api_cli *c, int argc, char **argv)
{
        bool follow = false, timestamps = false, details = false;
        const char *tail = NULL, *since = NULL, *until = NULL;
        const struct flag flags[] = {
            {0, "details", F_BOOL, &details, "Show extra details provided to logs", NULL},
            {'f', "follow", F_BOOL, &follow, "Follow log output", NULL},
            {0, "since", F_STRING, &since,
             "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" "
             "for 42 minutes)",
             NULL},
            {'n', "tail", F_STRING, &tail,
             "Number of lines to show from the end of the logs (default \"all\")", NULL},
            {'t', "timestamps", F_BOOL, &timestamps, "Show timestamps", NULL},
            {0, "until", F_STRING, &until,
             "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. "
             "\"42m\" for 42 minutes)",
             NULL},
        };
        const struct command cmd = {"logs",
                                    "[OPTIONS] CONTAINER",
                                    "Fetch the logs of a container",
                                    1,
                                    1,
                                    false,
                                    "berth container logs, berth logs",
                                    flags,
                                    6};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *info = NULL;
        cleanup_response struct berth_response *r = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (inspect_container(c, args[0], &info, &err) < 0)
                return api_fail(&err, 1);
        const char *id = berth_json_str(info, "Id");
        bool tty = berth_json_bool(berth_json_get(info, "Config"), "Tty", false);
        cleanup_free char *s = NULL, *u = NULL;
        if (since && (s = parse_since(since, &err)) == NULL)
                return api_fail(&err, 1);
        if (until && (u = parse_since(until, &err)) == NULL)
                return api_fail(&err, 1);
        cleanup_free char *t = tail ? berth_url_escape(tail) : NULL;
        cleanup_free char *p =
            xasprintf("/containers/%s/logs?%s%sstderr=1&stdout=1%s%s%s%s%s%s%s", id,
                      details ? "details=1&" : "", follow ? "follow=1&" : "", s ? "&since=" : "",
                      s ? s : "", t ? "&tail=" : "", t ? t : "", timestamps ? "&timestamps=1" : "",
                      u ? "&until=" : "", u ? u : "");
        if (berth_client_request(c->client, "GET", p, NULL, &r, &err) < 0 ||
            berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        if (berth_response_copy_stream(r, tty, STDOUT_FILENO, STDERR_FILENO, &err) < 0) {
                if (berth_error_status(err) == EPIPE)
                        return 0;
                return api_fail(&err, 1);
        }
        return 0;
}

int cmd_exec(struct api_cli *c, int argc, char **argv)
{
        bool detach = false, interactive = false, tty = false, privileged = false;
        const char *user = NULL, *workdir = NULL, *keys = NULL;
        char **env = NULL, **env_file = NULL;
        const struct flag flags[] = {
            {'d', "detach", F_BOOL, &detach, "Detached mode: run command in the background", NULL},
            {0, "detach-keys", F_STRING, &keys,
             "Override the key sequence for detaching a container", NULL},
            {'e', "env", F_LIST, &env, "Set environment variables", NULL},
            {0, "env-file", F_LIST, &env_file, "Read in a file of environment variables", NULL},
            {'i', "interactive", F_BOOL, &interactive, "Keep STDIN open even if not attached",
             NULL},
            {0, "privileged", F_BOOL, &privileged, "Give extended privileges to the command", NULL},
            {'t', "tty", F_BOOL, &tty, "Allocate a pseudo-TTY", NULL},
            {'u', "user", F_STRING, &user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")",
             NULL},
            {'w', "workdir", F_STRING, &workdir, "Working directory inside the container", NULL},
        };
        const struct command cmd = {"exec",
                                    "[OPTIONS] CONTAINER COMMAND [ARG...]",
                                    "Execute a command in a running container",
                                    2,
                                    -1,
                                    true,
                                    "berth container exec, berth exec",
                                    flags,
                                    9};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *info = NULL, *body = NULL, *created = NULL, *ei = NULL;
        cleanup_response struct berth_response *r = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *n = berth_url_escape(args[0]);
        if (inspect_container(c, args[0], &info, &err) < 0) {
                flags_free_lists(&cmd);
                return api_fail(&err, 1);
        }
        body = json_object_new_object();
        json_object_object_add(body, "User", json_object_new_string(user ? user : ""));
        json_object_object_add(body, "Privileged", json_object_new_boolean(privileged));
        json_object_object_add(body, "Tty", json_object_new_boolean(tty));
        json_object_object_add(body, "AttachStdin",
                               json_object_new_boolean(interactive && !detach));
        json_object_object_add(body, "AttachStderr", json_object_new_boolean(!detach));
        json_object_object_add(body, "AttachStdout", json_object_new_boolean(!detach));
        json_object_object_add(body, "Detach", json_object_new_boolean(detach));
        json_object *e = json_object_new_array();
        for (char **p = env; p && *p; p++) {
                if (strchr(*p, '='))
                        json_object_array_add(e, json_object_new_string(*p));
                else if (getenv(*p)) {
                        cleanup_free char *kv = xasprintf("%s=%s", *p, getenv(*p));
                        json_object_array_add(e, json_object_new_string(kv));
                }
        }
        json_object_object_add(body, "Env", e);
        if (workdir)
                json_object_object_add(body, "WorkingDir", json_object_new_string(workdir));
        json_object *cmdv = json_object_new_array();
        for (char **a = args + 1; *a; a++)
                json_object_array_add(cmdv, json_object_new_string(*a));
        json_object_object_add(body, "Cmd", cmdv);
        if (tty) {
                unsigned rows, cols;
                if (tty_size(&rows, &cols)) {
                        json_object *cs = json_object_new_array();
                        json_object_array_add(cs, json_object_new_int64(rows));
                        json_object_array_add(cs, json_object_new_int64(cols));
                        json_object_object_add(body, "ConsoleSize", cs);
                }
        }
        flags_free_lists(&cmd);
        cleanup_free char *cp = xasprintf("/containers/%s/exec", n);
        if (berth_client_call(c->client, "POST", cp, body, &created, &err) < 0)
                return api_fail(&err, EXIT_DAEMON);
        const char *eid = berth_json_str(created, "Id");
        if (eid == NULL) {
                fprintf(stderr, "exec ID empty\n");
                return EXIT_DAEMON;
        }
        cleanup_free char *sp = xasprintf("/exec/%s/start", eid);
        cleanup_free char *start_body = xasprintf(
            "{\"Detach\":%s,\"Tty\":%s}", detach ? "true" : "false", tty ? "true" : "false");
        if (detach) {
                struct berth_request req = {.body_fd = -1,
                                            .content_type = "application/json",
                                            .body = start_body,
                                            .body_len = strlen(start_body)};
                if (berth_client_request(c->client, "POST", sp, &req, &r, &err) < 0 ||
                    berth_response_check(r, &err) < 0)
                        return api_fail(&err, EXIT_DAEMON);
                return 0;
        }
        struct berth_request req = {.body_fd = -1,
                                    .content_type = "application/json",
                                    .upgrade = true,
                                    .body = start_body,
                                    .body_len = strlen(start_body)};
        if (berth_client_request(c->client, "POST", sp, &req, &r, &err) < 0 ||
            berth_response_check(r, &err) < 0)
                return api_fail(&err, EXIT_DAEMON);
        bool raw = tty && interactive && tty_raw_begin() == 0;
        if (tty) {
                cleanup_free char *rp = xasprintf("/exec/%s/resize", eid);
                tty_resize_follow(c, rp);
        }
        int rc = berth_hijack_pump(r, interactive ? STDIN_FILENO : -1, tty, STDOUT_FILENO,
                                   STDERR_FILENO, NULL, &err);
        if (raw)
                tty_raw_end();
        if (rc < 0 && berth_error_status(err) != EPIPE)
                return api_fail(&err, EXIT_DAEMON);
        berth_error_freep(&err);
        cleanup_free char *jp = xasprintf("/exec/%s/json", eid);
        if (berth_client_call(c->client, "GET", jp, NULL, &ei, &err) < 0)
                return api_fail(&err, EXIT_DAEMON);
        return (int)berth_json_int(ei, "ExitCode", 0);
}
