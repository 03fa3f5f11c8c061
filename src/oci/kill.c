/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <signal.h>

#include "oci.h"
#include "runtime/security.h"

int oci_cmd_kill(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"all", no_argument, NULL, 'a'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        bool all = false;
        int sig = SIGTERM;
        int c;

        while ((c = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'h':
                        fputs("Usage: berth-oci kill [--all] <container-id> [signal]\n\n"
                              "Send a signal (default SIGTERM; a name such as KILL or a number)\n"
                              "to the container's init, or with --all to every process in it.\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "kill", "unknown option");
                }
        }
        if (optind >= argc)
                return oci_usage_error(err, "kill", "a container id is required");
        if (argc - optind > 2)
                return oci_usage_error(err, "kill", "unexpected argument `%s`", argv[optind + 2]);
        if (argc - optind == 2 && berth_signal_parse(argv[optind + 1], &sig) < 0)
                return oci_usage_error(err, "kill", "unknown signal `%s`", argv[optind + 1]);
        return berth_container_kill(&ctx->rt, argv[optind], sig, all, err) < 0 ? 1 : 0;
}
