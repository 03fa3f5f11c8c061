/* SPDX-License-Identifier: Apache-2.0 */
#include "oci.h"

int oci_cmd_run(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        struct berth_create_opts o = {0};
        int status = 0;
        bool done;
        int r = oci_parse_create_opts(argc, argv, true, &o, &done, err);

        if (done)
                return r;
        if (berth_container_run(&ctx->rt, &o, &status, err) < 0)
                return 1;
        return status;
}
