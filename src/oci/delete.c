/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>

#include "oci.h"

int oci_cmd_delete(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        bool force = false;
        const char *id;
        int c;

        while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        fputs("Usage: berth-oci delete [--force] <container-id>\n\n"
                              "Delete a stopped (or, with --force, running) container: its\n"
                              "processes, cgroup and state; runs the poststop hooks.\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "delete", "unknown option");
                }
        }
        if (oci_need_id(argc, argv, "delete", &id, err) < 0)
                return 1;
        return berth_container_delete(&ctx->rt, id, force, err) < 0 ? 1 : 0;
}
