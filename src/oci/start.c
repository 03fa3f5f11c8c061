/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>

#include "oci.h"

int oci_cmd_start(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        const char *id;

        if (oci_help(argc, argv,
                     "Usage: berth-oci start <container-id>\n\n"
                     "Start the user process of a created container.\n"))
                return 0;
        optind = 1;
        if (oci_need_id(argc, argv, "start", &id, err) < 0)
                return 1;
        return berth_container_start(&ctx->rt, id, err) < 0 ? 1 : 0;
}
