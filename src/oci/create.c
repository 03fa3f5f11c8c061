/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "util/strutil.h"

static const char create_help[] =
    "Usage: berth-oci create [options] <container-id>\n\n"
    "Create a container from the bundle's config.json; its init waits for `start`.\n\n"
    "Options:\n"
    "  -b, --bundle DIR        path to the bundle (default: the current directory)\n"
    "  --console-socket PATH   unix socket that receives the pty master (terminal: true)\n"
    "  --pid-file FILE         write the init's pid to FILE\n"
    "  --preserve-fds N        pass N extra fds (from 3) into the container\n"
    "  --no-new-keyring        keep the caller's session keyring\n"
    "  --no-pivot              accepted for compatibility (pivot_root is always used)\n";

static const char run_help[] =
    "Usage: berth-oci run [options] <container-id>\n\n"
    "Create and start a container; unless detached, wait for it, delete it and exit\n"
    "with its status.\n\n"
    "Options:\n"
    "  -b, --bundle DIR        path to the bundle (default: the current directory)\n"
    "  -d, --detach            do not wait for the container\n"
    "  --console-socket PATH   unix socket that receives the pty master (terminal: true)\n"
    "  --pid-file FILE         write the init's pid to FILE\n"
    "  --preserve-fds N        pass N extra fds (from 3) into the container\n"
    "  --no-new-keyring        keep the caller's session keyring\n"
    "  --keep, --no-pivot, --no-subreaper   accepted for compatibility\n";

int oci_parse_create_opts(int argc, char **argv, bool is_run, struct berth_create_opts *o,
                          bool *ret_done, berth_error **err)
{
        static const struct option opts[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"console-socket", required_argument, NULL, 'c'},
            {"pid-file", required_argument, NULL, 'p'},
            {"preserve-fds", required_argument, NULL, 'P'},
            {"no-new-keyring", no_argument, NULL, 'k'},
            {"no-pivot", no_argument, NULL, 'n'},
            {"detach", no_argument, NULL, 'd'},
            {"keep", no_argument, NULL, 'K'},
            {"no-subreaper", no_argument, NULL, 'S'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *verb = is_run ? "run" : "create";
        int c;

        *ret_done = false;
        while ((c = getopt_long(argc, argv, is_run ? "+b:dh" : "+b:h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o->bundle = optarg;
                        break;
                case 'c':
                        o->console_socket = optarg;
                        break;
                case 'p':
                        o->pid_file = optarg;
                        break;
                case 'P': {
                        int64_t n;
                        if (berth_parse_int64(optarg, &n) < 0 || n < 0 || n > 65536) {
                                *ret_done = true;
                                return oci_usage_error(
                                    err, verb, "--preserve-fds: `%s` is not a count", optarg);
                        }
                        o->preserve_fds = (int)n;
                        break;
                }
                case 'k':
                        o->no_new_keyring = true;
                        break;
                case 'n':
                        o->no_pivot = true;
                        break;
                case 'd':
                        if (!is_run)
                                goto bad;
                        o->detach = true;
                        break;
                case 'K':
                case 'S':
                        break;
                case 'h':
                        fputs(is_run ? run_help : create_help, stdout);
                        *ret_done = true;
                        return 0;
                default:
                bad:
                        *ret_done = true;
                        return oci_usage_error(err, verb, "unknown option");
                }
        }
        if (oci_need_id(argc, argv, verb, &o->id, err) < 0) {
                *ret_done = true;
                return 1;
        }
        /* LISTEN_FDS from systemd socket activation are passed on, as runc does. */
        {
                const char *lf = getenv("LISTEN_FDS");
                int64_t n;
                if (lf && berth_parse_int64(lf, &n) == 0 && n > 0 && n < 65536) {
                        o->listen_fds = (int)n;
                        if (n > o->preserve_fds)
                                o->preserve_fds = (int)n;
                }
        }
        return 0;
}

int oci_cmd_create(struct oci_ctx *ctx, int argc, char **argv, berth_error **err)
{
        struct berth_create_opts o = {0};
        bool done;
        int r = oci_parse_create_opts(argc, argv, false, &o, &done, err);

        if (done)
                return r;
        return berth_container_create(&ctx->rt, &o, err) < 0 ? 1 : 0;
}
