/* SPDX-License-Identifier: Apache-2.0 */
/* ps: the container's pids as JSON, or the host's `ps` output filtered to
 * them (as runc does). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

int oci_cmd_ps(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *format = "table";
        cleanup_free pid_t *pids = NULL;
        size_t n = 0;
        const char *id;
        int c;

        while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        fputs("Usage: berth-oci ps [--format table|json] <container-id> [ps "
                              "options]\n\n"
                              "List the processes running in the container.\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "ps", "unknown option");
                }
        }
        if (optind >= argc)
                return oci_usage_error(err, "ps", "a container id is required");
        id = argv[optind++];
        if (strcmp(format, "json") != 0 && strcmp(format, "table") != 0)
                return oci_usage_error(err, "ps", "--format: `%s` is not table or json", format);
        if (berth_container_pids(&ctx->rt, id, &pids, &n, err) < 0)
                return 1;
        if (strcmp(format, "json") == 0) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, json_object_new_int(pids[i]));
                oci_print_json(a, false);
                json_object_put(a);
                return 0;
        }
        /* Table: the host's ps with the user's options (default -ef),
         * keeping the header and the container's processes. */
        {
                cleanup_free char *cmd = xstrdup("ps");
                int pid_col = -1;
                char line[4096];
                FILE *p;

                if (optind >= argc) {
                        free(cmd);
                        cmd = xstrdup("ps -ef");
                }
                for (int i = optind; i < argc; i++) {
                        /* Only option-like words: nothing the shell could run. */
                        for (const char *s = argv[i]; *s; s++)
                                if (!(*s == '-' || *s == ',' || *s == '=' ||
                                      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                                      (*s >= '0' && *s <= '9')))
                                        return oci_usage_error(err, "ps", "bad ps option `%s`",
                                                               argv[i]);
                        char *next = xasprintf("%s %s", cmd, argv[i]);
                        free(cmd);
                        cmd = next;
                }
                p = popen(cmd, "re");
                if (p == NULL)
                        return berth_fail_errno(err, "run `%s`", cmd) < 0;
                for (bool header = true; fgets(line, sizeof(line), p); header = false) {
                        if (header) {
                                cleanup_free char *copy = xstrdup(line);
                                char *save = NULL;
                                int col = 0;
                                for (char *t = strtok_r(copy, " \t\n", &save); t;
                                     t = strtok_r(NULL, " \t\n", &save), col++)
                                        if (strcmp(t, "PID") == 0)
                                                pid_col = col;
                                fputs(line, stdout);
                                continue;
                        }
                        cleanup_free char *copy = xstrdup(line);
                        char *save = NULL;
                        int col = 0;
                        for (char *t = strtok_r(copy, " \t\n", &save); t;
                             t = strtok_r(NULL, " \t\n", &save), col++) {
                                if (col == pid_col) {
                                        if (has_pid(pids, n, strtol(t, NULL, 10)))
                                                fputs(line, stdout);
                                        break;
                                }
                        }
                }
                pclose(p);
                if (pid_col < 0)
                        return berth_fail(err, 0, "ps: no PID column in `%s` output", cmd) < 0;
        }
        return 0;
}
