/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci: global options, dispatch, and the one place errors are
 * printed (and logged for containerd and podman, which read --log). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth-version.h"
#include "oci.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const struct {
        const char *name;
        oci_cmd_fn fn;
        const char *help;
} commands[] = {
    {"create", oci_cmd_create, "create a container"},
    {"delete", oci_cmd_delete, "delete any resources held by the container"},
    {"events", oci_cmd_events, "display container statistics (--stats)"},
    {"exec", oci_cmd_exec, "execute new process inside the container"},
    {"features", oci_cmd_features, "show the enabled features"},
    {"kill", oci_cmd_kill, "send a signal to the container's init process"},
    {"list", oci_cmd_list, "list containers started by berth-oci with the given root"},
    {"ps", oci_cmd_ps, "ps displays the processes running inside a container"},
    {"pause", oci_cmd_pause, "pause all processes in the container"},
    {"resume", oci_cmd_resume, "resume all processes that have been paused"},
    {"run", oci_cmd_run, "create and run a container"},
    {"spec", oci_cmd_spec, "create a new specification file"},
    {"start", oci_cmd_start, "start the user process of a created container"},
    {"state", oci_cmd_state, "output the state of a container"},
    {"update", oci_cmd_update, "update container resource constraints"},
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: berth-oci [global options] COMMAND [options] [args]\n\n"
                     "Berth's OCI runtime, compatible with runc's command line.\n\n"
                     "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
        fprintf(out, "\nGlobal options:\n"
                     "  --root DIR          state directory (default " BERTH_OCI_DEFAULT_ROOT ")\n"
                     "  --log FILE          write errors and warnings to FILE\n"
                     "  --log-format FMT    text or json\n"
                     "  --debug             verbose logging\n"
                     "  --systemd-cgroup    accepted; cgroupfs paths are used\n"
                     "  -v, --version       print the version\n"
                     "  -h, --help          this help\n");
}

int oci_usage_error(berth_error **err, const char *verb, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        berth_fail(err, EINVAL, "%s: %s (see `berth-oci %s --help`)", verb, msg, verb);
        free(msg);
        return 1;
}

int oci_need_id(int argc, char **argv, const char *verb, const char **ret, berth_error **err)
{
        if (optind >= argc) {
                oci_usage_error(err, verb, "a container id is required");
                return -1;
        }
        if (argc - optind > 1) {
                oci_usage_error(err, verb, "unexpected argument `%s`", argv[optind + 1]);
                return -1;
        }
        *ret = argv[optind];
        return 0;
}

void oci_print_json(void *obj, bool pretty)
{
        puts(json_object_to_json_string_ext(
            obj, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                              JSON_C_TO_STRING_NOSLASHESCAPE
                        : JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

bool oci_help(int argc, char **argv, const char *text)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        fputs(text, stdout);
                        return true;
                }
        }
        return false;
}

static void log_error(const struct oci_ctx *ctx, const char *msg)
{
        FILE *f;
        char ts[64];
        struct timespec now;
        struct tm tm;

        fprintf(stderr, "berth-oci: %s\n", msg);
        if (ctx->log_path == NULL)
                return;
        f = fopen(ctx->log_path, "ae");
        if (f == NULL)
                return;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (ctx->log_json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "level", json_object_new_string("error"));
                json_object_object_add(o, "msg", json_object_new_string(msg));
                json_object_object_add(o, "time", json_object_new_string(ts));
                fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        } else {
                fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", ts, msg);
        }
        fclose(f);
}

int main(int argc, char **argv)
{
        struct oci_ctx ctx = {.rt = {.state_root = BERTH_OCI_DEFAULT_ROOT}, .argv0 = argv[0]};
        static const struct option opts[] = {
            {"root", required_argument, NULL, 'r'},
            {"log", required_argument, NULL, 'l'},
            {"log-format", required_argument, NULL, 'f'},
            {"debug", no_argument, NULL, 'd'},
            {"systemd-cgroup", no_argument, NULL, 's'},
            {"rootless", required_argument, NULL, 'R'},
            {"criu", required_argument, NULL, 'C'},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        berth_error *err = NULL;
        int c, ret;

        if (getenv("BERTH_NO_OPENAT2"))
                berth_fs_no_openat2 = true;
        /* "+": stop at the verb; its own options are parsed by the verb. */
        while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        ctx.rt.state_root = optarg;
                        break;
                case 'l':
                        ctx.log_path = optarg;
                        break;
                case 'f':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                                fprintf(stderr,
                                        "berth-oci: --log-format: `%s` is not text or json\n",
                                        optarg);
                                return 1;
                        }
                        ctx.log_json = strcmp(optarg, "json") == 0;
                        break;
                case 'd':
                        ctx.debug = true;
                        break;
                case 's':
                        ctx.rt.systemd_cgroup = true;
                        break;
                case 'R':
                case 'C':
                        break;
                case 'v':
                        printf("berth-oci version %s\nspec: %s\n", BERTH_VERSION,
                               BERTH_OCI_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *verb = argv[optind];
        if (strcmp(verb, "ls") == 0)
                verb = "list";
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(commands[i].name, verb) != 0)
                        continue;
                int sub_argc = argc - optind;
                char **sub_argv = argv + optind;
                optind = 0; /* reset getopt for the verb (0 also re-initialises GNU getopt) */
                ret = commands[i].fn(&ctx, sub_argc, sub_argv, &err);
                if (err) {
                        log_error(&ctx, err->msg);
                        berth_error_free(err);
                        if (ret == 0)
                                ret = 1;
                }
                return ret;
        }
        fprintf(stderr, "berth-oci: unknown command `%s` (see `berth-oci --help`)\n", verb);
        return 1;
}
