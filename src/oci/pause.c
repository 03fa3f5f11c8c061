/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>

#include "oci.h"

int oci_cmd_pause(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        const char *id;

        if (oci_help(argc, argv,
                     "Usage: berth-oci pause <container-id>\n\n"
                     "Freeze every process of the container.\n"))
                return 0;
        optind = 1;
        if (oci_need_id(argc, argv, "pause", &id, err) < 0)
                return 1;
        return berth_container_pause(&ctx->rt, id, err) < 0 ? 1 : 0;
}
