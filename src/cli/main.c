/* SPDX-License-Identifier: Apache-2.0 */
/* berth: Docker's CLI over the Engine API of berthd. With --data-root (or
 * BERTH_DATA_ROOT) the image commands work on the image store directly,
 * without a daemon; `image base` and `image check` always do. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth-version.h"
#include "cli.h"
#include "cmds.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define DEFAULT_HOST "unix:///run/berth.sock"

static const char usage[] =
    "\n"
    "Usage:  berth [OPTIONS] COMMAND\n"
    "\n"
    "A Docker-compatible container engine: berth talks to berthd over the Engine API\n"
    "\n"
    "Common Commands:\n"
    "  run         Create and run a new container from an image\n"
    "  exec        Execute a command in a running container\n"
    "  ps          List containers\n"
    "  images      List images\n"
    "  info        Display system-wide information\n"
    "  version     Show the Berth version information\n"
    "\n"
    "Management Commands:\n"
    "  container   Manage containers\n"
    "  image       Manage images\n"
    "  system      Manage Berth\n"
    "\n"
    "Commands:\n"
    "  attach      Attach local standard input, output, and error streams to a running container\n"
    "  cp          Copy files/folders between a container and the local filesystem\n"
    "  create      Create a new container\n"
    "  events      Get real time events from the server\n"
    "  export      Export a container's filesystem as a tar archive\n"
    "  history     Show the history of an image\n"
    "  import      Import the contents from a tarball to create a filesystem image\n"
    "  inspect     Return low-level information on Berth objects\n"
    "  kill        Kill one or more running containers\n"
    "  load        Load an image from a tar archive or STDIN\n"
    "  logs        Fetch the logs of a container\n"
    "  pause       Pause all processes within one or more containers\n"
    "  rename      Rename a container\n"
    "  restart     Restart one or more containers\n"
    "  rm          Remove one or more containers\n"
    "  rmi         Remove one or more images\n"
    "  save        Save one or more images to a tar archive (streamed to STDOUT by default)\n"
    "  start       Start one or more stopped containers\n"
    "  stats       Display a live stream of container(s) resource usage statistics\n"
    "  stop        Stop one or more running containers\n"
    "  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n"
    "  top         Display the running processes of a container\n"
    "  unpause     Unpause all processes within one or more containers\n"
    "  wait        Block until one or more containers stop, then print their exit codes\n"
    "\n"
    "Global Options:\n"
    "      --data-root string   Work on the image store under this directory directly (image "
    "commands only)\n"
    "  -D, --debug              Enable debug mode\n"
    "  -H, --host string        Daemon socket to connect to (default $BERTH_HOST, $DOCKER_HOST or\n"
    "                           " DEFAULT_HOST "; a daemon is started there when none answers)\n"
    "  -l, --log-level string   Set the logging level (accepted for compatibility)\n"
    "      --tls                Use TLS; implied by --tlsverify\n"
    "      --tlscacert string   Trust certs signed only by this CA (default "
    "\"$DOCKER_CERT_PATH/ca.pem\")\n"
    "      --tlscert string     Path to TLS certificate file (default "
    "\"$DOCKER_CERT_PATH/cert.pem\")\n"
    "      --tlskey string      Path to TLS key file (default \"$DOCKER_CERT_PATH/key.pem\")\n"
    "      --tlsverify          Use TLS and verify the remote (default $DOCKER_TLS_VERIFY)\n"
    "  -v, --version            Print version information and quit\n"
    "\n"
    "Image store commands (no daemon needed):\n"
    "  image base busybox [--busybox PATH] [REPO[:TAG]]\n"
    "  image base debian [--suite SUITE] [--include PKG,...] [--mirror URL] [REPO[:TAG]]\n"
    "  image check [--repair]\n"
    "\n"
    "Run 'berth COMMAND --help' for more information on a command.\n";

struct api_verb {
        const char *name;
        int (*fn)(struct api_cli *c, int argc, char **argv);
};

static const struct api_verb top_verbs[] = {
    {"attach", cmd_attach},
    {"cp", cmd_cp},
    {"create", cmd_create},
    {"events", cmd_events},
    {"exec", cmd_exec},
    {"export", cmd_export},
    {"history", cmd_history_api},
    {"images", cmd_images_api},
    {"import", cmd_import_api},
    {"info", cmd_info},
    {"inspect", cmd_inspect},
    {"kill", cmd_kill},
    {"load", cmd_load_api},
    {"logs", cmd_logs},
    {"pause", cmd_pause},
    {"ps", cmd_ps},
    {"rename", cmd_rename},
    {"restart", cmd_restart},
    {"rm", cmd_rm},
    {"rmi", cmd_rmi_api},
    {"run", cmd_run},
    {"save", cmd_save_api},
    {"start", cmd_start},
    {"stats", cmd_stats},
    {"stop", cmd_stop},
    {"tag", cmd_tag_api},
    {"top", cmd_top},
    {"unpause", cmd_unpause},
    {"version", cmd_version},
    {"wait", cmd_wait},
};

static const struct api_verb container_verbs[] = {
    {"attach", cmd_attach},   {"cp", cmd_cp},           {"create", cmd_create},
    {"exec", cmd_exec},       {"export", cmd_export},   {"inspect", cmd_container_inspect},
    {"kill", cmd_kill},       {"list", cmd_ps},         {"logs", cmd_logs},
    {"ls", cmd_ps},           {"pause", cmd_pause},     {"prune", cmd_container_prune},
    {"ps", cmd_ps},           {"remove", cmd_rm},       {"rename", cmd_rename},
    {"restart", cmd_restart}, {"rm", cmd_rm},           {"run", cmd_run},
    {"start", cmd_start},     {"stats", cmd_stats},     {"stop", cmd_stop},
    {"top", cmd_top},         {"unpause", cmd_unpause}, {"wait", cmd_wait},
};

static const struct api_verb image_verbs_api[] = {
    {"history", cmd_history_api},   {"import", cmd_import_api}, {"inspect", cmd_image_inspect_api},
    {"list", cmd_images_api},       {"load", cmd_load_api},     {"ls", cmd_images_api},
    {"prune", cmd_image_prune_api}, {"remove", cmd_rmi_api},    {"rm", cmd_rmi_api},
    {"save", cmd_save_api},         {"tag", cmd_tag_api},
};

static const struct api_verb system_verbs_api[] = {
    {"df", cmd_system_df_api},
    {"events", cmd_events},
    {"info", cmd_info},
    {"prune", cmd_system_prune},
};

/* ---- the image-store-direct mode (--data-root) ---- */
struct verb {
        const char *name;
        int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct verb store_top[] = {
    {"history", cmd_history}, {"images", cmd_images}, {"import", cmd_import}, {"load", cmd_load},
    {"rmi", cmd_rmi},         {"save", cmd_save},     {"tag", cmd_tag},
};
static const struct verb store_image[] = {
    {"base", cmd_image_base},
    {"check", cmd_image_check},
    {"history", cmd_history},
    {"import", cmd_import},
    {"inspect", cmd_image_inspect},
    {"load", cmd_load},
    {"ls", cmd_images},
    {"prune", cmd_image_prune},
    {"rm", cmd_rmi},
    {"save", cmd_save},
    {"tag", cmd_tag},
};
static const struct verb store_system[] = {
    {"df", cmd_system_df},
    {"prune", cmd_image_prune},
};

static int unknown_command(const char *group, const char *name)
{
        if (group)
                fprintf(stderr,
                        "berth: unknown command: berth %s %s\n\nRun 'berth %s --help' for more "
                        "information\n",
                        group, name, group);
        else
                fprintf(
                    stderr,
                    "berth: unknown command: berth %s\n\nRun 'berth --help' for more information\n",
                    name);
        return 1;
}

static int store_dispatch(struct cli *c, const char *group, const struct verb *v, size_t n,
                          int argc, char **argv)
{
        if (argc < 1) {
                fputs(usage, stderr);
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[0], v[i].name) == 0)
                        return v[i].fn(c, argc, argv);
        fprintf(stderr, "berth: `%s` is not available with --data-root (it needs berthd)\n",
                argv[0]);
        (void)group;
        return 1;
}

static void group_help(const char *group, const struct api_verb *v, size_t n, FILE *out)
{
        fprintf(out, "\nUsage:  berth %s COMMAND\n\nManage %ss\n\nCommands:\n", group, group);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "  %s\n", v[i].name);
        if (strcmp(group, "image") == 0)
                fputs("  base        Build a base image (busybox|debian) in the image store\n"
                      "  check       Check (and --repair) the image store\n",
                      out);
        fprintf(out, "\nRun 'berth %s COMMAND --help' for more information on a command.\n", group);
}

static int api_dispatch(struct api_cli *c, const char *group, const struct api_verb *v, size_t n,
                        int argc, char **argv)
{
        if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
                if (group)
                        group_help(group, v, n, argc < 1 ? stderr : stdout);
                else
                        fputs(usage, argc < 1 ? stderr : stdout);
                return argc < 1 ? 1 : 0;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[0], v[i].name) == 0)
                        return v[i].fn(c, argc, argv);
        return unknown_command(group, argv[0]);
}

/* docker's TLS options: DOCKER_CERT_PATH (default ~/.docker) holds
 * ca.pem, cert.pem and key.pem, used when present unless a flag names a
 * file; --tlsverify (or DOCKER_TLS_VERIFY) turns TLS on, and so does
 * --tlsverify=false, without the check of the daemon's certificate. */
struct tls_flags {
        bool tls, verify, verify_set;
        const char *ca, *cert, *key;
        char *paths[3];
};

static const char *cert_default(const char *flag, const char *dir, const char *name, char **keep)
{
        if (flag != NULL)
                return flag;
        *keep = xasprintf("%s/%s", dir, name);
        return access(*keep, R_OK) == 0 ? *keep : NULL;
}

static void tls_options(struct api_cli *c, struct tls_flags *f)
{
        const char *env_verify = getenv("DOCKER_TLS_VERIFY");
        const char *dir = getenv("DOCKER_CERT_PATH");
        cleanup_free char *home_dir = NULL;
        if (!f->verify_set && env_verify != NULL && *env_verify != '\0')
                f->verify = f->verify_set = true;
        if (!f->tls && !f->verify_set)
                return;
        if (dir == NULL || *dir == '\0') {
                const char *home = getenv("HOME");
                dir = home_dir = xasprintf("%s/.docker", home ? home : "");
        }
        c->use_tls = true;
        c->tls.verify = f->verify;
        c->tls.ca_file = cert_default(f->ca, dir, "ca.pem", &f->paths[0]);
        c->tls.cert_file = cert_default(f->cert, dir, "cert.pem", &f->paths[1]);
        c->tls.key_file = cert_default(f->key, dir, "key.pem", &f->paths[2]);
}

int main(int argc, char **argv)
{
        struct cli store = {.data_root = getenv("BERTH_DATA_ROOT")};
        struct api_cli c = {.argv0 = argv[0]};
        const char *host = NULL;
        struct tls_flags tf = {0};
        int i = 1, r;

        signal(SIGPIPE, SIG_IGN);
        if (store.data_root != NULL && *store.data_root == '\0')
                store.data_root = NULL;
        while (i < argc && argv[i][0] == '-') {
                const char *a = argv[i];
                const char *val = NULL;
                bool takes = strcmp(a, "--data-root") == 0 || strcmp(a, "-H") == 0 ||
                             strcmp(a, "--host") == 0 || strcmp(a, "-l") == 0 ||
                             strcmp(a, "--log-level") == 0 || strcmp(a, "--config") == 0 ||
                             strcmp(a, "-c") == 0 || strcmp(a, "--context") == 0 ||
                             strcmp(a, "--tlscacert") == 0 || strcmp(a, "--tlscert") == 0 ||
                             strcmp(a, "--tlskey") == 0;
                if (takes) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n",
                                        a);
                                return EXIT_DAEMON;
                        }
                        val = argv[i + 1];
                        i += 2;
                } else if (strncmp(a, "--", 2) == 0 && strchr(a, '=') != NULL) {
                        val = strchr(a, '=') + 1;
                        i++;
                } else {
                        i++;
                }
                if (strcmp(a, "--data-root") == 0 || strncmp(a, "--data-root=", 12) == 0)
                        store.data_root = val;
                else if (strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0 ||
                         strncmp(a, "--host=", 7) == 0)
                        host = val;
                else if (strcmp(a, "--tlscacert") == 0 || strncmp(a, "--tlscacert=", 12) == 0)
                        tf.ca = val;
                else if (strcmp(a, "--tlscert") == 0 || strncmp(a, "--tlscert=", 10) == 0)
                        tf.cert = val;
                else if (strcmp(a, "--tlskey") == 0 || strncmp(a, "--tlskey=", 9) == 0)
                        tf.key = val;
                else if (strcmp(a, "--tls") == 0 || strncmp(a, "--tls=", 6) == 0)
                        tf.tls = val == NULL || strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
                else if (strcmp(a, "--tlsverify") == 0 || strncmp(a, "--tlsverify=", 12) == 0) {
                        tf.verify_set = true;
                        tf.verify =
                            val == NULL || strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
                } else if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0)
                        c.debug = true;
                else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        fputs(usage, stdout);
                        return 0;
                } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
                        printf("Berth version %s\n", BERTH_VERSION);
                        return 0;
                } else if (!takes && val == NULL) {
                        fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
                        return EXIT_DAEMON;
                } else if (strncmp(a, "--log-level", 11) != 0 && strcmp(a, "-l") != 0 &&
                           strncmp(a, "--config", 8) != 0 && strncmp(a, "--context", 9) != 0 &&
                           strcmp(a, "-c") != 0) {
                        fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
                        return EXIT_DAEMON;
                }
        }
        argc -= i;
        argv += i;
        if (argc < 1) {
                fputs(usage, stderr);
                return 1;
        }
        if (strcmp(argv[0], "help") == 0) {
                fputs(usage, stdout);
                return 0;
        }
        /* The store-only commands, and everything under --data-root. */
        bool store_only = strcmp(argv[0], "image") == 0 && argc > 1 &&
                          (strcmp(argv[1], "base") == 0 || strcmp(argv[1], "check") == 0);
        if (store.data_root != NULL || store_only) {
                if (store.data_root == NULL)
                        store.data_root = "/var/lib/berth";
                if (strcmp(argv[0], "image") == 0)
                        r = store_dispatch(&store, "image", store_image,
                                           sizeof(store_image) / sizeof(store_image[0]), argc - 1,
                                           argv + 1);
                else if (strcmp(argv[0], "system") == 0)
                        r = store_dispatch(&store, "system", store_system,
                                           sizeof(store_system) / sizeof(store_system[0]), argc - 1,
                                           argv + 1);
                else
                        r = store_dispatch(&store, NULL, store_top,
                                           sizeof(store_top) / sizeof(store_top[0]), argc, argv);
                berth_image_store_free(store.store);
                return r;
        }
        /* The daemon: -H, then BERTH_HOST, DOCKER_HOST, then the default
         * (BERTH_DEFAULT_HOST may move it, e.g. for tests), where a daemon
         * is started when none answers. */
        if (host == NULL && getenv("BERTH_HOST") && *getenv("BERTH_HOST"))
                host = getenv("BERTH_HOST");
        if (host == NULL && getenv("DOCKER_HOST") && *getenv("DOCKER_HOST"))
                host = getenv("DOCKER_HOST");
        if (host == NULL) {
                host = getenv("BERTH_DEFAULT_HOST") && *getenv("BERTH_DEFAULT_HOST")
                           ? getenv("BERTH_DEFAULT_HOST")
                           : DEFAULT_HOST;
                c.host_is_default = true;
        }
        c.host = host;
        tls_options(&c, &tf);
        if (strcmp(argv[0], "container") == 0)
                r = api_dispatch(&c, "container", container_verbs,
                                 sizeof(container_verbs) / sizeof(container_verbs[0]), argc - 1,
                                 argv + 1);
        else if (strcmp(argv[0], "image") == 0)
                r = api_dispatch(&c, "image", image_verbs_api,
                                 sizeof(image_verbs_api) / sizeof(image_verbs_api[0]), argc - 1,
                                 argv + 1);
        else if (strcmp(argv[0], "system") == 0)
                r = api_dispatch(&c, "system", system_verbs_api,
                                 sizeof(system_verbs_api) / sizeof(system_verbs_api[0]), argc - 1,
                                 argv + 1);
        else
                r = api_dispatch(&c, NULL, top_verbs, sizeof(top_verbs) / sizeof(top_verbs[0]),
                                 argc, argv);
        berth_client_free(c.client);
        for (size_t k = 0; k < 3; k++)
                free(tf.paths[k]);
        fflush(stdout);
        return r;
}
