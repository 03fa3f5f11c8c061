/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "oci.h"
#include "util/jsonutil.h"

int oci_cmd_list(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *format = "table";
        bool quiet = false;
        json_object *all = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+f:qh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        fputs("Usage: berth-oci list [--format table|json] [--quiet]\n\n"
                              "List the containers under --root.\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "list", "unknown option");
                }
        }
        if (strcmp(format, "json") != 0 && strcmp(format, "table") != 0)
                return oci_usage_error(err, "list", "--format: `%s` is not table or json", format);
        if (berth_container_list(&ctx->rt, &all, err) < 0)
                return 1;
        if (strcmp(format, "json") == 0) {
                oci_print_json(all, false);
        } else {
                size_t n = json_object_array_length(all);
                if (!quiet)
                        printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS",
                               "BUNDLE", "CREATED", "OWNER");
                for (size_t i = 0; i < n; i++) {
                        json_object *s = json_object_array_get_idx(all, i);
                        if (quiet) {
                                printf("%s\n", berth_json_str(s, "id"));
                                continue;
                        }
                        printf("%-12s %-10lld %-10s %-40s %-30s %s\n", berth_json_str(s, "id"),
                               (long long)berth_json_int(s, "pid", 0), berth_json_str(s, "status"),
                               berth_json_str(s, "bundle"), berth_json_str(s, "created"),
                               berth_json_str(s, "owner") ? berth_json_str(s, "owner") : "");
                }
        }
        json_object_put(all);
        return 0;
}
