/* SPDX-License-Identifier: Apache-2.0 */
/* exec: the process comes from --process FILE, or from the container's own
 * process with runc's flags applied on top. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static const char exec_help[] =
    "Usage: berth-oci exec [options] <container-id> [command [args...]]\n\n"
    "Run a process inside a running container.\n\n"
    "Options:\n"
    "  -p, --process FILE      the process as an OCI process JSON (overrides the rest)\n"
    "  -t, --tty               allocate a pseudo-TTY (needs --console-socket)\n"
    "  --console-socket PATH   unix socket that receives the pty master\n"
    "  --cwd DIR               working directory in the container\n"
    "  -e, --env KEY=VALUE     set an environment variable (repeatable)\n"
    "  -u, --user UID[:GID]    user and group ids\n"
    "  -g, --additional-gids G supplementary group id (repeatable)\n"
    "  -c, --cap CAP           add a capability (repeatable)\n"
    "  --no-new-privs          set no_new_privs\n"
    "  -d, --detach            do not wait for the process\n"
    "  --pid-file FILE         write the process's pid to FILE\n"
    "  --preserve-fds N        pass N extra fds (from 3)\n"
    "  --apparmor P, --process-label L, --ignore-paused   accepted for compatibility\n";

static void add_to_cap_sets(json_object *process, const char *cap)
{
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        json_object *caps = berth_json_get(process, "capabilities");

        if (caps == NULL) {
                caps = json_object_new_object();
                json_object_object_add(process, "capabilities", caps);
        }
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
                json_object *arr = berth_json_get(caps, sets[i]);
                if (arr == NULL) {
                        arr = json_object_new_array();
                        json_object_object_add(caps, sets[i], arr);
                }
                json_object_array_add(arr, json_object_new_string(cap));
        }
}

int oci_cmd_exec(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        static const struct option opts[] = {
            {"process", required_argument, NULL, 'p'},
            {"tty", no_argument, NULL, 't'},
            {"console-socket", required_argument, NULL, 'S'},
            {"cwd", required_argument, NULL, 'w'},
            {"env", required_argument, NULL, 'e'},
            {"user", required_argument, NULL, 'u'},
            {"additional-gids", required_argument, NULL, 'g'},
            {"cap", required_argument, NULL, 'c'},
            {"no-new-privs", no_argument, NULL, 'N'},
            {"detach", no_argument, NULL, 'd'},
            {"pid-file", required_argument, NULL, 'P'},
            {"preserve-fds", required_argument, NULL, 'F'},
            {"apparmor", required_argument, NULL, 'A'},
            {"process-label", required_argument, NULL, 'L'},
            {"ignore-paused", no_argument, NULL, 'I'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct berth_exec_opts o = {0};
        const char *process_file = NULL, *cwd = NULL, *user = NULL;
        cleanup_json json_object *env_add = json_object_new_array();
        cleanup_json json_object *gids = json_object_new_array();
        cleanup_json json_object *caps = json_object_new_array();
        cleanup_json json_object *process = NULL;
        bool tty = false, nnp = false;
        int status = 0, c;

        while ((c = getopt_long(argc, argv, "+p:tw:e:u:g:c:dh", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        process_file = optarg;
                        break;
                case 't':
                        tty = true;
                        break;
                case 'S':
                        o.console_socket = optarg;
                        break;
                case 'w':
                        cwd = optarg;
                        break;
                case 'e':
                        json_object_array_add(env_add, json_object_new_string(optarg));
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'g': {
                        int64_t g;
                        if (berth_parse_int64(optarg, &g) < 0 || g < 0)
                                return oci_usage_error(err, "exec", "--additional-gids: `%s`",
                                                       optarg);
                        json_object_array_add(gids, json_object_new_int64(g));
                        break;
                }
                case 'c':
                        json_object_array_add(caps, json_object_new_string(optarg));
                        break;
                case 'N':
                        nnp = true;
                        break;
                case 'd':
                        o.detach = true;
                        break;
                case 'P':
                        o.pid_file = optarg;
                        break;
                case 'F': {
                        int64_t n;
                        if (berth_parse_int64(optarg, &n) < 0 || n < 0 || n > 65536)
                                return oci_usage_error(err, "exec", "--preserve-fds: `%s`", optarg);
                        o.preserve_fds = (int)n;
                        break;
                }
                case 'A':
                case 'L':
                case 'I':
                        break;
                case 'h':
                        fputs(exec_help, stdout);
                        return 0;
                default:
                        return oci_usage_error(err, "exec", "unknown option");
                }
        }
        if (optind >= argc)
                return oci_usage_error(err, "exec", "a container id is required");
        o.id = argv[optind++];

        if (process_file) {
                if (berth_json_parse_file(process_file, &process, err) < 0)
                        return 1;
        } else {
                json_object *st = NULL;
                json_object *args = json_object_new_array();
                if (optind >= argc)
                        return oci_usage_error(err, "exec", "a command is required (or --process)");
                /* The container's own process is the base, as in runc. */
                {
                        cleanup_free char *path = NULL;
                        cleanup_json json_object *state = NULL;
                        if (berth_container_state(&ctx->rt, o.id, &state, err) < 0) {
                                json_object_put(args);
                                return 1;
                        }
                        path = xasprintf("%s/%s/state.json", ctx->rt.state_root, o.id);
                        if (berth_json_parse_file(path, &st, err) < 0) {
                                json_object_put(args);
                                return 1;
                        }
                }
                json_object *base = berth_json_get(berth_json_get(st, "config"), "process");
                process = base ? json_object_get(base) : json_object_new_object();
                json_object_put(st);
                for (int i = optind; i < argc; i++)
                        json_object_array_add(args, json_object_new_string(argv[i]));
                json_object_object_add(process, "args", args);
                json_object_object_add(process, "terminal", json_object_new_boolean(tty));
                json_object_object_del(process, "consoleSize");
                if (cwd)
                        json_object_object_add(process, "cwd", json_object_new_string(cwd));
                if (json_object_array_length(env_add) > 0) {
                        json_object *env = berth_json_get(process, "env");
                        if (env == NULL) {
                                env = json_object_new_array();
                                json_object_object_add(process, "env", env);
                        }
                        for (size_t i = 0; i < json_object_array_length(env_add); i++)
                                json_object_array_add(
                                    env, json_object_get(json_object_array_get_idx(env_add, i)));
                }
                if (user) {
                        json_object *u = json_object_new_object();
                        char *colon = strchr(user, ':');
                        int64_t uid = 0, gid = 0;
                        cleanup_free char *ustr =
                            colon ? xstrndup(user, (size_t)(colon - user)) : xstrdup(user);
                        if (berth_parse_int64(ustr, &uid) < 0 ||
                            (colon && berth_parse_int64(colon + 1, &gid) < 0)) {
                                json_object_put(u);
                                return oci_usage_error(err, "exec", "--user: `%s` is not UID[:GID]",
                                                       user);
                        }
                        json_object_object_add(u, "uid", json_object_new_int64(uid));
                        json_object_object_add(u, "gid", json_object_new_int64(gid));
                        json_object_object_add(process, "user", u);
                }
                if (json_object_array_length(gids) > 0) {
                        json_object *u = berth_json_get(process, "user");
                        if (u == NULL) {
                                u = json_object_new_object();
                                json_object_object_add(u, "uid", json_object_new_int(0));
                                json_object_object_add(u, "gid", json_object_new_int(0));
                                json_object_object_add(process, "user", u);
                        }
                        json_object_object_add(u, "additionalGids", json_object_get(gids));
                }
                for (size_t i = 0; i < json_object_array_length(caps); i++)
                        add_to_cap_sets(process,
                                        json_object_get_string(json_object_array_get_idx(caps, i)));
                if (nnp)
                        json_object_object_add(process, "noNewPrivileges",
                                               json_object_new_boolean(true));
        }
        o.process = process;
        if (berth_container_exec(&ctx->rt, &o, &status, err) < 0)
                return 1;
        return status;
}
