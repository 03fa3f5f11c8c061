/* SPDX-License-Identifier: Apache-2.0 */
/* system df, image prune, image check, image base. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int cmd_system_df(struct cli *c, int argc, char **argv)
{
        bool verbose = false;
        const char *format = NULL;
        struct cli_opt opts[] = {
            {"-v", "--verbose", false, NULL, NULL, &verbose},
            {NULL, "--format", true, &format, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        struct berth_store_df df;
        struct berth_image_store *s;
        if (cli_parse(argc, argv, opts, 2, &pos) != 0)
                return cli_usage("berth system df [-v]");
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_df(s, &df, &err) < 0)
                return cli_error(&err);
        cleanup_free char *size = cli_human_size(df.size);
        cleanup_free char *rec = cli_human_size(df.reclaimable);
        int pct = df.size > 0 ? (int)(df.reclaimable * 100 / df.size) : 0;
        struct cli_table *t = cli_table_new();
        cli_table_row(t, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE");
        cleanup_free char *row =
            xasprintf("Images\t%zu\t%zu\t%s\t%s (%d%%)", df.images, df.active, size, rec, pct);
        cli_table_row(t, row);
        cli_table_print(t);
        if (verbose) {
                struct berth_image_usage *u = NULL;
                size_t n = 0;
                struct berth_image **imgs = NULL;
                size_t ni = 0;
                if (berth_image_usage(s, &u, &n, &err) < 0 ||
                    berth_image_list(s, &imgs, &ni, &err) < 0) {
                        free(u);
                        return cli_error(&err);
                }
                printf("\nImages space usage:\n\n");
                t = cli_table_new();
                cli_table_row(t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE "
                                 "SIZE\tCONTAINERS");
                for (size_t i = 0; i < n && i < ni; i++) {
                        cleanup_free char *repo = NULL, *tag = NULL;
                        cleanup_ref struct berth_ref *r = NULL;
                        if (imgs[i]->repo_tags[0] &&
                            berth_ref_parse(imgs[i]->repo_tags[0], &r, NULL) == 0) {
                                repo = berth_ref_familiar_name(r);
                                tag = xstrdup(r->tag ? r->tag : "<none>");
                        } else {
                                repo = xstrdup("<none>");
                                tag = xstrdup("<none>");
                        }
                        cleanup_free char *since = cli_human_since(imgs[i]->created_unix);
                        cleanup_free char *sz = cli_human_size(u[i].size);
                        cleanup_free char *sh = cli_human_size(u[i].shared_size);
                        cleanup_free char *un = cli_human_size(u[i].unique_size);
                        cleanup_free char *line =
                            xasprintf("%s\t%s\t%.12s\t%s\t%s\t%s\t%s\t%d", repo, tag, u[i].id + 7,
                                      since, sz, sh, un, u[i].containers);
                        cli_table_row(t, line);
                }
                cli_table_print(t);
                berth_image_list_free(imgs, ni);
                free(u);
        }
        return 0;
}

int cmd_image_prune(struct cli *c, int argc, char **argv)
{
        bool all = false, force = false;
        struct cli_opt opts[] = {
            {"-a", "--all", false, NULL, NULL, &all},
            {"-f", "--force", false, NULL, NULL, &force},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        struct berth_image_store *s;
        int64_t freed = 0;
        if (cli_parse(argc, argv, opts, 2, &pos) != 0)
                return cli_usage("berth image prune [-a] [-f]");
        if (!force && isatty(0)) {
                char ans[16] = "";
                printf(
                    "WARNING! This will remove all %s.\nAre you sure you want to continue? [y/N] ",
                    all ? "images without at least one container associated to them"
                        : "dangling images");
                fflush(stdout);
                if (fgets(ans, sizeof(ans), stdin) == NULL || (ans[0] != 'y' && ans[0] != 'Y'))
                        return 0;
        }
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_prune(s, all, &lines, &freed, &err) < 0)
                return cli_error(&err);
        if (lines && lines[0]) {
                printf("Deleted Images:\n");
                for (char **l = lines; *l; l++) {
                        /* docker prints these lowercase here */
                        if (strncmp(*l, "Untagged: ", 10) == 0)
                                printf("untagged: %s\n", *l + 10);
                        else if (strncmp(*l, "Deleted: ", 9) == 0)
                                printf("deleted: %s\n", *l + 9);
                        else
                                printf("%s\n", *l);
                }
                printf("\n");
        }
        cleanup_free char *sz = cli_human_size(freed);
        printf("Total reclaimed space: %s\n", sz);
        return 0;
}

int cmd_image_check(struct cli *c, int argc, char **argv)
{
        bool repair = false, quiet = false;
        struct cli_opt opts[] = {
            {NULL, "--repair", false, NULL, NULL, &repair},
            {"-q", "--quiet", false, NULL, NULL, &quiet},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        struct berth_image_store *s;
        int r;
        if (cli_parse(argc, argv, opts, 2, &pos) != 0)
                return cli_usage("berth image check [--repair]");
        if ((s = cli_store(c)) == NULL)
                return 1;
        r = berth_image_check(s, repair, &lines, &err);
        if (r < 0)
                return cli_error(&err);
        for (char **l = lines; !quiet && l && *l; l++)
                printf("%s\n", *l);
        if (r > 0) {
                printf("%d problem%s left\n", r, r == 1 ? "" : "s");
                return 1;
        }
        if (!quiet)
                printf("image store is consistent\n");
        return 0;
}

int cmd_image_base(struct cli *c, int argc, char **argv)
{
        const char *busybox = NULL, *suite = NULL, *include = NULL, *mirror = NULL;
        struct cli_opt opts[] = {
            {NULL, "--busybox", true, &busybox, NULL, NULL},
            {NULL, "--suite", true, &suite, NULL, NULL},
            {NULL, "--include", true, &include, NULL, NULL},
            {NULL, "--mirror", true, &mirror, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, opts, 4, &pos);
        int r;
        if (np < 1 || np > 2)
                return cli_usage("berth image base busybox|debian [OPTIONS] [REPOSITORY[:TAG]]");
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (strcmp(pos[0], "busybox") == 0)
                r = berth_image_base_busybox(s, busybox, pos[1], &img, &err);
        else if (strcmp(pos[0], "debian") == 0)
                r = berth_image_base_debian(s, suite, include, mirror, pos[1], &img, &err);
        else
                return cli_usage("berth image base busybox|debian [OPTIONS] [REPOSITORY[:TAG]]");
        if (r < 0)
                return cli_error(&err);
        printf("%s\n", img->id);
        return 0;
}
