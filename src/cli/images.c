/* SPDX-License-Identifier: Apache-2.0 */
/* images, image inspect, history, tag, rmi. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static bool strv_has(char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static char *short_id(const char *id, bool no_trunc)
{
        if (no_trunc)
                return xstrdup(id);
        return xasprintf("%.12s", strchr(id, ':') ? strchr(id, ':') + 1 : id);
}

static json_object *row_json(const struct berth_image *img, const char *repo, const char *tag,
                             const char *digest, bool no_trunc)
{
        json_object *o = json_object_new_object();
        cleanup_free char *id = short_id(img->id, no_trunc);
        cleanup_free char *since = cli_human_since(img->created_unix);
        cleanup_free char *size = cli_human_size(img->size);
        json_object_object_add(o, "Containers", json_object_new_string("N/A"));
        json_object_object_add(o, "CreatedAt",
                               json_object_new_string(img->created ? img->created : ""));
        json_object_object_add(o, "CreatedSince", json_object_new_string(since));
        json_object_object_add(o, "Digest", json_object_new_string(digest));
        json_object_object_add(o, "ID", json_object_new_string(id));
        json_object_object_add(o, "Repository", json_object_new_string(repo));
        json_object_object_add(o, "SharedSize", json_object_new_string("N/A"));
        json_object_object_add(o, "Size", json_object_new_string(size));
        json_object_object_add(o, "Tag", json_object_new_string(tag));
        json_object_object_add(o, "UniqueSize", json_object_new_string("N/A"));
        json_object_object_add(o, "VirtualSize", json_object_new_string(size));
        return o;
}

int cmd_images(struct cli *c, int argc, char **argv)
{
        bool quiet = false, all = false, no_trunc = false, digests = false;
        const char *format = NULL;
        struct cli_opt opts[] = {
            {"-q", "--quiet", false, NULL, NULL, &quiet},
            {"-a", "--all", false, NULL, NULL, &all},
            {NULL, "--no-trunc", false, NULL, NULL, &no_trunc},
            {NULL, "--digests", false, NULL, NULL, &digests},
            {NULL, "--format", true, &format, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        struct berth_image **imgs = NULL;
        size_t n = 0;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, opts, 5, &pos);
        if (np < 0 || np > 1)
                return cli_usage("berth images [OPTIONS] [REPOSITORY[:TAG]]");
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_list(s, &imgs, &n, &err) < 0)
                return cli_error(&err);
        bool table = format == NULL || berth_str_has_prefix(format, "table");
        const char *tmpl = format == NULL
                               ? "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                               : format + (berth_str_has_prefix(format, "table") ? 5 : 0);
        while (*tmpl == ' ')
                tmpl++;
        struct cli_table *t = table ? cli_table_new() : NULL;
        cleanup_strv char **seen = xmalloc0(sizeof(char *));
        if (table && !quiet) {
                cleanup_json json_object *hdr = json_object_new_object();
                static const char *const cols[][2] = {
                    {"Repository", "REPOSITORY"},
                    {"Tag", "TAG"},
                    {"ID", "IMAGE ID"},
                    {"CreatedSince", "CREATED"},
                    {"CreatedAt", "CREATED AT"},
                    {"Size", "SIZE"},
                    {"Digest", "DIGEST"},
                    {"VirtualSize", "VIRTUAL SIZE"},
                    {"SharedSize", "SHARED SIZE"},
                    {"UniqueSize", "UNIQUE SIZE"},
                    {"Containers", "CONTAINERS"},
                };
                for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
                        json_object_object_add(hdr, cols[i][0], json_object_new_string(cols[i][1]));
                cleanup_free char *h = cli_template(tmpl, hdr);
                cli_table_row(t, h);
        }
        for (size_t i = 0; i < n; i++) {
                struct berth_image *img = imgs[i];
                size_t ntags = berth_strv_len(img->repo_tags);
                for (size_t k = 0; k < (ntags ? ntags : 1); k++) {
                        cleanup_free char *repo = NULL, *tag = NULL;
                        if (ntags) {
                                cleanup_ref struct berth_ref *r = NULL;
                                if (berth_ref_parse(img->repo_tags[k], &r, NULL) < 0)
                                        continue;
                                repo = berth_ref_familiar_name(r);
                                tag = xstrdup(r->tag ? r->tag : "<none>");
                        } else {
                                repo = xstrdup("<none>");
                                tag = xstrdup("<none>");
                        }
                        if (pos[0] != NULL) {
                                cleanup_ref struct berth_ref *want = NULL;
                                cleanup_free char *wname = NULL;
                                if (!ntags || berth_ref_parse_normalized(pos[0], &want, NULL) < 0)
                                        continue;
                                cleanup_ref struct berth_ref *have = NULL;
                                (void)berth_ref_parse(img->repo_tags[k], &have, NULL);
                                wname = berth_ref_name(want);
                                cleanup_free char *hname =
                                    have ? berth_ref_name(have) : xstrdup("");
                                if (strcmp(wname, hname) != 0 ||
                                    (want->tag && strcmp(want->tag, tag) != 0))
                                        continue;
                        }
                        if (quiet) {
                                cleanup_free char *id = short_id(img->id, no_trunc);
                                if (!strv_has(seen, id)) {
                                        printf("%s\n", id);
                                        size_t m = berth_strv_len(seen);
                                        seen = xrealloc(seen, (m + 2) * sizeof(char *));
                                        seen[m] = xstrdup(id);
                                        seen[m + 1] = NULL;
                                }
                                continue;
                        }
                        cleanup_json json_object *row =
                            row_json(img, repo, tag, "<none>", no_trunc);
                        cleanup_free char *line = cli_template(tmpl, row);
                        if (t)
                                cli_table_row(t, line);
                        else
                                printf("%s\n", line);
                }
        }
        if (t)
                cli_table_print(t);
        berth_image_list_free(imgs, n);
        return 0;
}

static json_object *inspect_json(struct berth_image_store *s, const struct berth_image *img,
                                 berth_error **err)
{
        cleanup_free char *cdata = NULL;
        size_t clen;
        cleanup_json json_object *cfg = NULL;
        if (berth_blob_read(s, img->id, BERTH_IMAGE_MAX_JSON, &cdata, &clen, err) < 0 ||
            berth_json_parse(cdata, clen, "image config", &cfg, err) < 0)
                return NULL;
        json_object *o = json_object_new_object();
        json_object *tags = json_object_new_array();
        json_object *digests = json_object_new_array();
        json_object_object_add(o, "Id", json_object_new_string(img->id));
        for (char **t = img->repo_tags; t && *t; t++) {
                cleanup_free char *fam = berth_ref_familiarize(*t);
                json_object_array_add(tags, json_object_new_string(fam));
        }
        json_object_object_add(o, "RepoTags", tags);
        for (char **d = img->repo_digests; d && *d; d++)
                json_object_array_add(digests, json_object_new_string(*d));
        json_object_object_add(o, "RepoDigests", digests);
        json_object_object_add(o, "Parent", json_object_new_string(""));
        json_object_object_add(o, "Comment",
                               json_object_new_string(berth_json_str(cfg, "comment") ?: ""));
        json_object_object_add(o, "Created",
                               json_object_new_string(img->created ? img->created : ""));
        json_object_object_add(o, "DockerVersion",
                               json_object_new_string(berth_json_str(cfg, "docker_version") ?: ""));
        json_object_object_add(o, "Author",
                               json_object_new_string(berth_json_str(cfg, "author") ?: ""));
        json_object *config = berth_json_get(cfg, "config");
        json_object_object_add(o, "Config", config ? json_object_get(config) : NULL);
        json_object_object_add(o, "Architecture",
                               json_object_new_string(berth_json_str(cfg, "architecture") ?: ""));
        if (berth_json_str(cfg, "variant"))
                json_object_object_add(o, "Variant",
                                       json_object_new_string(berth_json_str(cfg, "variant")));
        json_object_object_add(o, "Os", json_object_new_string(berth_json_str(cfg, "os") ?: ""));
        json_object_object_add(o, "Size", json_object_new_int64(img->size));
        berth_image_add_layout_json(s, img, o);
        json_object_object_add(o, "Descriptor", NULL);
        json_object_object_del(o, "Descriptor");
        json_object *desc = json_object_new_object();
        json_object_object_add(
            desc, "mediaType",
            json_object_new_string(img->manifest_media_type ? img->manifest_media_type : ""));
        json_object_object_add(desc, "digest", json_object_new_string(img->manifest_digest));
        json_object_object_add(o, "Descriptor", desc);
        return o;
}

int cmd_image_inspect(struct cli *c, int argc, char **argv)
{
        const char *format = NULL;
        struct cli_opt opts[] = {{"-f", "--format", true, &format, NULL, NULL}};
        cleanup_free char **pos = NULL;
        cleanup_json json_object *arr = json_object_new_array();
        struct berth_image_store *s;
        int rc = 0;
        int np = cli_parse(argc, argv, opts, 1, &pos);
        if (np < 1)
                return cli_usage("berth image inspect [-f FORMAT] IMAGE...");
        if ((s = cli_store(c)) == NULL)
                return 1;
        for (int i = 0; i < np; i++) {
                cleanup_error berth_error *err = NULL;
                cleanup_image struct berth_image *img = NULL;
                json_object *o;
                if (berth_image_get(s, pos[i], &img, &err) < 0 ||
                    (o = inspect_json(s, img, &err)) == NULL) {
                        rc = cli_error(&err);
                        continue;
                }
                if (format) {
                        cleanup_free char *out = cli_template(format, o);
                        printf("%s\n", out);
                        json_object_put(o);
                } else {
                        json_object_array_add(arr, o);
                }
        }
        if (!format)
                printf("%s\n", json_object_to_json_string_ext(
                                   arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        return rc;
}

int cmd_history(struct cli *c, int argc, char **argv)
{
        bool no_trunc = false, quiet = false, human = true;
        const char *format = NULL;
        struct cli_opt opts[] = {
            {NULL, "--no-trunc", false, NULL, NULL, &no_trunc},
            {"-q", "--quiet", false, NULL, NULL, &quiet},
            {"-H", "--human", false, NULL, NULL, &human},
            {NULL, "--format", true, &format, NULL, NULL},
        };
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        cleanup_free char *cdata = NULL;
        cleanup_json json_object *cfg = NULL;
        size_t clen;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, opts, 4, &pos);
        if (np != 1)
                return cli_usage("berth history [OPTIONS] IMAGE");
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_get(s, pos[0], &img, &err) < 0 ||
            berth_blob_read(s, img->id, BERTH_IMAGE_MAX_JSON, &cdata, &clen, &err) < 0 ||
            berth_json_parse(cdata, clen, "image config", &cfg, &err) < 0)
                return cli_error(&err);
        json_object *hist = berth_json_get(cfg, "history");
        size_t nh = hist ? json_object_array_length(hist) : 0;
        /* Walk oldest to newest to pair history entries with layers. */
        int64_t *sizes = xcalloc(nh + 1, sizeof(int64_t));
        size_t layer = 0;
        for (size_t i = 0; i < nh; i++) {
                json_object *h = json_object_array_get_idx(hist, i);
                if (!berth_json_bool(h, "empty_layer", false) && layer < img->n_layers)
                        sizes[i] = img->layers[layer++].unpacked_size;
        }
        struct cli_table *t = quiet ? NULL : cli_table_new();
        if (t)
                cli_table_row(t, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT");
        for (size_t i = nh; i-- > 0;) {
                json_object *h = json_object_array_get_idx(hist, i);
                cleanup_free char *id =
                    i == nh - 1 ? short_id(img->id, no_trunc) : xstrdup("<missing>");
                if (quiet) {
                        printf("%s\n", id);
                        continue;
                }
                struct tm tm = {0};
                const char *created = berth_json_str(h, "created");
                int64_t ct = created && strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)
                                 ? (int64_t)timegm(&tm)
                                 : 0;
                cleanup_free char *since = cli_human_since(ct);
                cleanup_free char *by = xstrdup(berth_json_str(h, "created_by") ?: "");
                for (char *p = by; *p; p++)
                        if (*p == '\t' || *p == '\n')
                                *p = ' ';
                if (!no_trunc && strlen(by) > 45) {
                        char *tr = xasprintf("%.44s…", by);
                        free(by);
                        by = tr;
                }
                cleanup_free char *size = cli_human_size(sizes[i]);
                cleanup_free char *row = xasprintf("%s\t%s\t%s\t%s\t%s", id, since, by, size,
                                                   berth_json_str(h, "comment") ?: "");
                cli_table_row(t, row);
        }
        free(sizes);
        if (t)
                cli_table_print(t);
        return 0;
}

int cmd_tag(struct cli *c, int argc, char **argv)
{
        cleanup_free char **pos = NULL;
        cleanup_error berth_error *err = NULL;
        struct berth_image_store *s;
        int np = cli_parse(argc, argv, NULL, 0, &pos);
        if (np != 2)
                return cli_usage("berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
        if ((s = cli_store(c)) == NULL)
                return 1;
        if (berth_image_tag(s, pos[0], pos[1], &err) < 0)
                return cli_error(&err);
        return 0;
}

int cmd_rmi(struct cli *c, int argc, char **argv)
{
        bool force = false, no_prune = false;
        struct cli_opt opts[] = {
            {"-f", "--force", false, NULL, NULL, &force},
            {NULL, "--no-prune", false, NULL, NULL, &no_prune},
        };
        cleanup_free char **pos = NULL;
        struct berth_image_store *s;
        int rc = 0;
        int np = cli_parse(argc, argv, opts, 2, &pos);
        if (np < 1)
                return cli_usage("berth rmi [-f] IMAGE...");
        if ((s = cli_store(c)) == NULL)
                return 1;
        for (int i = 0; i < np; i++) {
                cleanup_error berth_error *err = NULL;
                cleanup_strv char **lines = NULL;
                if (berth_image_remove(s, pos[i], force, &lines, &err) < 0) {
                        rc = cli_error(&err);
                        continue;
                }
                for (char **l = lines; l && *l; l++)
                        printf("%s\n", *l);
        }
        return rc;
}
