/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci: a runc-compatible command line over libberth's runtime. One
 * file per verb; this header is what they share. */
#ifndef BERTH_OCI_OCI_H
#define BERTH_OCI_OCI_H

#include <stdbool.h>

#include "runtime/runtime.h"
#include "util/error.h"

struct oci_ctx {
        struct berth_runtime rt;
        const char *log_path;
        bool log_json;
        bool debug;
        const char *argv0;
};

/* Each verb: argc/argv start at the verb's own name. Returns the exit code;
 * errors are filled into *err and printed once by main. */
typedef int (*oci_cmd_fn)(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);

int oci_cmd_create(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_start(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_run(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_state(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_kill(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_delete(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_exec(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_ps(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_list(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_pause(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_resume(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_update(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_spec(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_features(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);
int oci_cmd_events(struct oci_ctx *ctx, int argc, char **argv, berth_error **err);

/* create and run share their options (create.c). Returns 0, or the exit
 * code after a usage error / --help (*ret_done set). */
int oci_parse_create_opts(int argc, char **argv, bool is_run, struct berth_create_opts *o,
                          bool *ret_done, berth_error **err);

/* Shared helpers (main.c). */
int oci_usage_error(berth_error **err, const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exactly one positional argument (the container id) after options. */
int oci_need_id(int argc, char **argv, const char *verb, const char **ret, berth_error **err);
void oci_print_json(void *obj, bool pretty);
/* Print the verb's help if argv holds -h/--help; returns true if it did. */
bool oci_help(int argc, char **argv, const char *usage);

#endif
