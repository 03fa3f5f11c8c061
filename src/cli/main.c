/* SPDX-License-Identifier: Apache-2.0 */
/* berth: for now it works on the image store directly (--data-root); later
 * it will talk to berthd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth-version.h"
#include "cli.h"
#include "util/cleanup.h"

static const char usage[] =
        "Usage: berth [--data-root DIR] COMMAND\n"
        "\n"
        "Image commands (on the store under --data-root, default /var/lib/berth):\n"
        "  images [-q] [-a] [--no-trunc] [--format TMPL] [REPO[:TAG]]\n"
        "  image inspect [-f TMPL] IMAGE...\n"
        "  history [--no-trunc] [-q] IMAGE\n"
        "  tag SOURCE TARGET\n"
        "  rmi [-f] IMAGE...\n"
        "  save [-o FILE] [--format docker|oci] IMAGE...\n"
        "  load [-i FILE] [-q]\n"
        "  import [-c CHANGE]... [-m MESSAGE] FILE|- [REPO[:TAG]]\n"
        "  system df [-v]\n"
        "  image prune [-a] [-f]\n"
        "  image check [--repair]\n"
        "  image base busybox [--busybox PATH] [REPO[:TAG]]\n"
        "  image base debian [--suite SUITE] [--include PKG,...] [--mirror URL] [REPO[:TAG]]\n";

struct verb {
        const char *name;
        int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct verb top[] = {
        { "history", cmd_history }, { "images", cmd_images }, { "import", cmd_import },
        { "load", cmd_load },       { "rmi", cmd_rmi },       { "save", cmd_save },
        { "tag", cmd_tag },
};
static const struct verb image_verbs[] = {
        { "base", cmd_image_base },   { "check", cmd_image_check }, { "history", cmd_history },
        { "import", cmd_import },     { "inspect", cmd_image_inspect }, { "load", cmd_load },
        { "ls", cmd_images },         { "prune", cmd_image_prune }, { "rm", cmd_rmi },
        { "save", cmd_save },         { "tag", cmd_tag },
};
static const struct verb system_verbs[] = {
        { "df", cmd_system_df },
        { "prune", cmd_image_prune },
};

static int dispatch(struct cli *c, const struct verb *v, size_t n, int argc, char **argv)
{
        if (argc < 1) {
                fputs(usage, stderr);
                return 2;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[0], v[i].name) == 0)
                        return v[i].fn(c, argc, argv);
        fprintf(stderr, "berth: unknown command `%s`\n\n%s", argv[0], usage);
        return 2;
}

int main(int argc, char **argv)
{
        struct cli c = { .data_root = getenv("BERTH_DATA_ROOT") };
        int i = 1, r;

        if (c.data_root == NULL)
                c.data_root = "/var/lib/berth";
        while (i < argc && argv[i][0] == '-') {
                if (strcmp(argv[i], "--data-root") == 0 && i + 1 < argc) {
                        c.data_root = argv[i + 1];
                        i += 2;
                } else if (strncmp(argv[i], "--data-root=", 12) == 0) {
                        c.data_root = argv[i] + 12;
                        i++;
                } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(usage, stdout);
                        return 0;
                } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
                        printf("Berth version %s\n", BERTH_VERSION);
                        return 0;
                } else {
                        fprintf(stderr, "berth: unknown option `%s`\n\n%s", argv[i], usage);
                        return 2;
                }
        }
        argc -= i;
        argv += i;
        if (argc < 1) {
                fputs(usage, stderr);
                return 2;
        }
        if (strcmp(argv[0], "image") == 0)
                r = dispatch(&c, image_verbs, sizeof(image_verbs) / sizeof(image_verbs[0]), argc - 1, argv + 1);
        else if (strcmp(argv[0], "system") == 0)
                r = dispatch(&c, system_verbs, sizeof(system_verbs) / sizeof(system_verbs[0]), argc - 1, argv + 1);
        else
                r = dispatch(&c, top, sizeof(top) / sizeof(top[0]), argc, argv);
        berth_image_store_free(c.store);
        return r;
}
