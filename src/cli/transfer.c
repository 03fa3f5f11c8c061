/* SPDX-License-Identifier: Apache-2.0 */
/* save, load, import. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int cmd_save(struct cli *c, int argc, char **argv)
{
        const char *output = NULL, *format = "docker";
        struct cli_opt opts[] = {
            {"-o", "--output", true, &output, NULL, NULL},
            {NULL, "--format", true, &format, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_close int fd = -1;
        cleanup_free char *tmp = NULL;
        struct berth_image_store *s;
        enum berth_archive_format fmt;
        int np = cli_parse(argc, argv, opts, 2, &pos);
        if (np < 1)
                return cli_usage("berth save [-o FILE] [--format docker|oci] IMAGE...");
        if (strcmp(format, "docker") == 0 || strcmp(format, "docker-archive") == 0)
                fmt = BERTH_ARCHIVE_DOCKER;
        else if (strcmp(format, "oci") == 0 || strcmp(format, "oci-archive") == 0)
                fmt = BERTH_ARCHIVE_OCI;
        else {
                fprintf(stderr, "Error: unknown format `%s` (docker or oci)\n", format);
                return 2;
        }
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (output == NULL || strcmp(output, "-") == 0) {
                if (isatty(1)) {
                        fprintf(stderr, "Error: cowardly refusing to save to a terminal. Use the "
                                        "-o flag or redirect\n");
                        return 1;
                }
                fd = dup(1);
        } else {
                /* Write a temporary file beside the target, renamed when complete. */
                tmp = xasprintf("%s.berth-tmp-XXXXXX", output);
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "Error: create `%s`: %s\n", output, strerror(errno));
                        return 1;
                }
                (void)fchmod(fd, 0644);
        }
        if (berth_image_save(s, pos, fmt, fd, &err) < 0) {
                if (tmp)
                        (void)unlink(tmp);
                return cli_error(&err);
        }
        if (tmp && rename(tmp, output) < 0) {
                fprintf(stderr, "Error: rename to `%s`: %s\n", output, strerror(errno));
                (void)unlink(tmp);
                return 1;
        }
        return 0;
}

int cmd_load(struct cli *c, int argc, char **argv)
{
        const char *input = NULL;
        bool quiet = false;
        struct cli_opt opts[] = {
            {"-i", "--input", true, &input, NULL, NULL},
            {"-q", "--quiet", false, NULL, NULL, &quiet},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_close int fd = -1;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, opts, 2, &pos);
        if (np != 0)
                return cli_usage("berth load [-i FILE] [-q]");
        if (input == NULL || strcmp(input, "-") == 0) {
                if (isatty(0)) {
                        fprintf(stderr, "Error: requested load from stdin, but stdin is empty\n");
                        return 1;
                }
                fd = dup(0);
        } else {
                fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "Error: open `%s`: %s\n", input, strerror(errno));
                        return 1;
                }
        }
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_load(s, fd, &lines, &err) < 0)
                return cli_error(&err);
        for (char **l = lines; l && *l; l++)
                printf("%s\n", *l);
        return 0;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
        cleanup_strv char **changes = NULL;
        const char *message = NULL, *platform = NULL;
        struct cli_opt opts[] = {
            {"-c", "--change", true, NULL, &changes, NULL},
            {"-m", "--message", true, &message, NULL, NULL},
            {NULL, "--platform", true, &platform, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        cleanup_close int fd = -1;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, opts, 3, &pos);
        if (np < 1 || np > 2)
                return cli_usage(
                    "berth import [-c CHANGE]... [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]");
        if (strcmp(pos[0], "-") == 0) {
                fd = dup(0);
        } else {
                fd = open(pos[0], O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "Error: open `%s`: %s\n", pos[0], strerror(errno));
                        return 1;
                }
        }
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_import(s, fd, changes, message, pos[1], &img, &err) < 0)
                return cli_error(&err);
        printf("%s\n", img->id);
        return 0;
}
