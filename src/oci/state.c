/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <json-c/json.h>

#include "oci.h"

int oci_cmd_state(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        json_object *st = NULL;
        const char *id;

        if (oci_help(argc, argv,
                     "Usage: berth-oci state <container-id>\n\n"
                     "Print the state of a container as JSON (OCI state schema).\n"))
                return 0;
        optind = 1;
        if (oci_need_id(argc, argv, "state", &id, err) < 0)
                return 1;
        if (berth_container_state(&ctx->rt, id, &st, err) < 0)
                return 1;
        oci_print_json(st, true);
        json_object_put(st);
        return 0;
}
