/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>

#include "oci.h"

int oci_cmd_resume(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        const char *id;

        if (oci_help(argc, argv,
                     "Usage: berth-oci resume <container-id>\n\n"
                     "Thaw the processes of a paused container.\n"))
                return 0;
        optind = 1;
        if (oci_need_id(argc, argv, "resume", &id, err) < 0)
                return 1;
        return berth_container_resume(&ctx->rt, id, err) < 0 ? 1 : 0;
}
