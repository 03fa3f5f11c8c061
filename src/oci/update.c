/* SPDX-License-Identifier: Apache-2.0 */
/* update: resources from -r FILE (or - for stdin) in linux.resources form,
 * or from runc's individual flags. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static json_object *section(json_object *res, const char *name)
{
        json_object *s = berth_json_get(res, name);
        if (s == NULL) {
                s = json_object_new_object();
                json_object_object_add(res, name, s);
        }
        return s;
}

/* "64m", "1g", "1024" -> bytes; "-1" stays -1 (unlimited). */
static int parse_bytes(const char *s, int64_t *ret)
{
        int64_t v;
        char *end;
        long long n = strtoll(s, &end, 10);
        if (end == s)
                return -EINVAL;
        v = n;
        switch (*end) {
        case '\0':
                break;
        case 'k':
        case 'K':
                v *= 1024;
                end++;
                break;
        case 'm':
        case 'M':
                v *= 1024 * 1024;
                end++;
                break;
        case 'g':
        case 'G':
                v *= 1024LL * 1024 * 1024;
                end++;
                break;
        default:
                return -EINVAL;
        }
        if (*end == 'b' || *end == 'B')
                end++;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int oci_cmd_update(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"resources", required_argument, NULL, 'r'},
            {"memory", required_argument, NULL, 'm'},
            {"memory-reservation", required_argument, NULL, 'R'},
            {"memory-swap", required_argument, NULL, 's'},
            {"cpu-shares", required_argument, NULL, 'S'},
            {"cpu-quota", required_argument, NULL, 'Q'},
            {"cpu-period", required_argument, NULL, 'P'},
            {"cpuset-cpus", required_argument, NULL, 'C'},
            {"cpuset-mems", required_argument, NULL, 'M'},
            {"pids-limit", required_argument, NULL, 'p'},
            {"blkio-weight", required_argument, NULL, 'b'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        cleanup_json json_object *res = json_object_new_object();
        const char *file = NULL;
        const char *id;
        int c;

        while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
                int64_t v = 0;
                const char *name = NULL;
                switch (c) {
                case 'r':
                        file = optarg;
                        continue;
                case 'h':
                        fputs("Usage: berth-oci update [options] <container-id>\n\n"
                              "Change the resource limits of a running container.\n\n"
                              "  -r, --resources FILE    linux.resources JSON (- for stdin)\n"
                              "  --memory, --memory-reservation, --memory-swap BYTES (k/m/g)\n"
                              "  --cpu-shares N, --cpu-quota N, --cpu-period N\n"
                              "  --cpuset-cpus LIST, --cpuset-mems LIST\n"
                              "  --pids-limit N, --blkio-weight N\n",
                              stdout);
                        return 0;
                case 'C':
                        json_object_object_add(section(res, "cpu"), "cpus",
                                               json_object_new_string(optarg));
                        continue;
                case 'M':
                        json_object_object_add(section(res, "cpu"), "mems",
                                               json_object_new_string(optarg));
                        continue;
                case 'm':
                case 'R':
                case 's':
                        name = c == 'm' ? "limit" : c == 'R' ? "reservation" : "swap";
                        if (parse_bytes(optarg, &v) < 0)
                                return oci_usage_error(err, "update", "`%s` is not a size", optarg);
                        json_object_object_add(section(res, "memory"), name,
                                               json_object_new_int64(v));
                        continue;
                case 'S':
                case 'Q':
                case 'P':
                case 'p':
                case 'b':
                        if (berth_parse_int64(optarg, &v) < 0)
                                return oci_usage_error(err, "update", "`%s` is not a number",
                                                       optarg);
                        if (c == 'p')
                                json_object_object_add(section(res, "pids"), "limit",
                                                       json_object_new_int64(v));
                        else if (c == 'b')
                                json_object_object_add(section(res, "blockIO"), "weight",
                                                       json_object_new_int64(v));
                        else
                                json_object_object_add(section(res, "cpu"),
                                                       c == 'S'   ? "shares"
                                                       : c == 'Q' ? "quota"
                                                                  : "period",
                                                       json_object_new_int64(v));
                        continue;
                default:
                        return oci_usage_error(err, "update", "unknown option");
                }
        }
        if (oci_need_id(argc, argv, "update", &id, err) < 0)
                return 1;
        if (file) {
                cleanup_free char *data = NULL;
                size_t len = 0;
                json_object *parsed = NULL;
                int r = strcmp(file, "-") == 0
                            ? berth_read_file_at(STDIN_FILENO, "/dev/stdin", &data, &len, err)
                            : berth_read_file(file, &data, &len, err);
                if (r < 0)
                        return 1;
                if (berth_json_parse(data, len, file, &parsed, err) < 0)
                        return 1;
                json_object_put(res);
                res = parsed;
        }
        return berth_container_update(&ctx->rt, id, res, err) < 0 ? 1 : 0;
}
