/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int oci_cmd_spec(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"rootless", no_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *bundle = ".";
        bool rootless = false;
        cleanup_free char *path = NULL;
        json_object *spec;
        const char *s;
        int c, r;

        while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        bundle = optarg;
                        break;
                case 'r':
                        rootless = true;
                        break;
                case 'h':
                        fputs("Usage: berth-oci spec [--bundle DIR] [--rootless]\n\n"
                              "Write a starting config.json into the bundle (refuses to\n"
                              "overwrite one).\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "spec", "unknown option");
                }
        }
        path = xasprintf("%s/config.json", bundle);
        if (access(path, F_OK) == 0)
                return berth_fail(err, EEXIST, "spec: `%s` already exists; remove it first", path) <
                       0;
        spec = berth_runtime_spec_example(rootless);
        s = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PRETTY |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
        r = berth_write_file_atomic(path, s, strlen(s), 0644, err);
        json_object_put(spec);
        return r < 0 ? 1 : 0;
}
