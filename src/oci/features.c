/* SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>

#include "oci.h"

int oci_cmd_features(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        json_object *f;

        if (oci_help(argc, argv,
                     "Usage: berth-oci features\n\n"
                     "Print what this runtime supports (OCI features schema).\n"))
                return 0;
        f = berth_runtime_features();
        oci_print_json(f, true);
        json_object_put(f);
        return 0;
}
