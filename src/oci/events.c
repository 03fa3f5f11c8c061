/* SPDX-License-Identifier: Apache-2.0 */
/* events --stats: one statistics event, in runc's shape. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "oci.h"

int oci_cmd_events(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"stats", no_argument, NULL, 's'},
            {"interval", required_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        bool stats = false;
        json_object *data = NULL, *ev;
        const char *id;
        int c;

        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        stats = true;
                        break;
                case 'i':
                        break;
                case 'h':
                        fputs("Usage: berth-oci events --stats <container-id>\n\n"
                              "Print the container's resource statistics once.\n",
                              stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "events", "unknown option");
                }
        }
        if (oci_need_id(argc, argv, "events", &id, err) < 0)
                return 1;
        if (!stats)
                return oci_usage_error(err, "events", "only --stats is supported");
        if (berth_container_stats(&ctx->rt, id, &data, err) < 0)
                return 1;
        ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string("stats"));
        json_object_object_add(ev, "id", json_object_new_string(id));
        json_object_object_add(ev, "data", data);
        oci_print_json(ev, false);
        json_object_put(ev);
        return 0;
}
