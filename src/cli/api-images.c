/* SPDX-License-Identifier: Apache-2.0 */
/* images, rmi, tag, save, load, import, history, image prune over the API. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static char *short_image_id(const char *id, bool no_trunc)
{
        if (id == NULL)
                return xstrdup("");
        if (no_trunc)
                return xstrdup(id);
        const char *h = berth_str_has_prefix(id, "sha256:") ? id + 7 : id;
        return xstrndup(h, 12);
}

static char *since_ago(int64_t t)
{
        cleanup_free char *d = fmt_duration((int64_t)time(NULL) - t);
        return xasprintf("%s ago", d);
}

static void split_repo_tag(const char *ref, char **ret_repo, char **ret_tag)
{
        const char *at = strchr(ref, '@');
        const char *slash = strrchr(ref, '/');
        const char *colon = strrchr(ref, ':');
        if (at) {
                *ret_repo = xstrndup(ref, (size_t)(at - ref));
                *ret_tag = xstrdup("<none>");
        } else if (colon && (!slash || colon > slash)) {
                *ret_repo = xstrndup(ref, (size_t)(colon - ref));
                *ret_tag = xstrdup(colon + 1);
        } else {
                *ret_repo = xstrdup(ref);
                *ret_tag = xstrdup("");
        }
}

static const char *const image_headers[] = {
    "Repository",   "REPOSITORY",  "Tag",         "TAG",          "ID",         "IMAGE ID",
    "CreatedSince", "CREATED",     "CreatedAt",   "CREATED AT",   "Size",       "SIZE",
    "Digest",       "DIGEST",      "Containers",  "CONTAINERS",   "SharedSize", "SHARED SIZE",
    "UniqueSize",   "UNIQUE SIZE", "VirtualSize", "VIRTUAL SIZE", NULL,         NULL,
};

int cmd_images_api(struct api_cli *c, int argc, char **argv)
{
        bool all = false, quiet = false, no_trunc = false, digests = false, tree = false;
        const char *format = NULL;
        char **filter = NULL;
        const struct flag flags[] = {
            {'a', "all", F_BOOL, &all, "Show all images (default hides intermediate images)", NULL},
            {0, "digests", F_BOOL, &digests, "Show digests", NULL},
            {'f', "filter", F_LIST, &filter, "Filter output based on conditions provided", NULL},
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {0, "no-trunc", F_BOOL, &no_trunc, "Don't truncate output", NULL},
            {'q', "quiet", F_BOOL, &quiet, "Only show image IDs", NULL},
            {0, "tree", F_BOOL, &tree, "List multi-platform images as a tree (EXPERIMENTAL)", NULL},
        };
        const struct command cmd = {"images",
                                    "[OPTIONS] [REPOSITORY[:TAG]]",
                                    "List images",
                                    0,
                                    1,
                                    false,
                                    "berth image ls, berth image list, berth images",
                                    flags,
                                    7};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *list = NULL, *rows = json_object_new_array();
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (args[0]) {
                size_t n = berth_strv_len(filter);
                filter = xrealloc(filter, (n + 2) * sizeof(char *));
                filter[n] = xasprintf("reference=%s", args[0]);
                filter[n + 1] = NULL;
        }
        cleanup_free char *fq = filter ? filters_query(filter) : NULL;
        flags_free_lists(&cmd);
        cleanup_free char *p = xasprintf("/images/json%s%s%s", all ? "?all=1" : "",
                                         fq ? (all ? "&filters=" : "?filters=") : "", fq ? fq : "");
        if (berth_client_call(c->client, "GET", p, NULL, &list, &err) < 0)
                return api_fail(&err, 1);
        cleanup_strv char **seen = xmalloc0(sizeof(char *));
        size_t nseen = 0;
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *img = json_object_array_get_idx(list, i);
                const char *id = berth_json_str(img, "Id");
                cleanup_free char *sid = short_image_id(id, no_trunc);
                if (quiet && format == NULL) {
                        bool dup = false;
                        for (size_t k = 0; k < nseen; k++)
                                dup = dup || strcmp(seen[k], sid) == 0;
                        if (!dup) {
                                seen = xrealloc(seen, (nseen + 2) * sizeof(char *));
                                seen[nseen++] = xstrdup(sid);
                                seen[nseen] = NULL;
                                printf("%s\n", sid);
                        }
                        continue;
                }
                int64_t created = berth_json_int(img, "Created", 0);
                cleanup_free char *ago = since_ago(created);
                cleanup_free char *cat = fmt_created_at(created);
                cleanup_free char *size = fmt_size((double)berth_json_int(img, "Size", 0));
                json_object *tags = berth_json_get(img, "RepoTags");
                json_object *dig = berth_json_get(img, "RepoDigests");
                const char *digest =
                    dig && json_object_array_length(dig) > 0
                        ? strchr(json_object_get_string(json_object_array_get_idx(dig, 0)), '@')
                        : NULL;
                size_t nt = tags ? json_object_array_length(tags) : 0;
                for (size_t t = 0; t < (nt ? nt : 1); t++) {
                        cleanup_free char *repo = NULL, *tag = NULL;
                        if (nt)
                                split_repo_tag(
                                    json_object_get_string(json_object_array_get_idx(tags, t)),
                                    &repo, &tag);
                        else {
                                repo = xstrdup("<none>");
                                tag = xstrdup("<none>");
                        }
                        if (args[0] != NULL && nt) {
                                /* only the tags that match REPOSITORY[:TAG] */
                                cleanup_free char *rt = xasprintf("%s:%s", repo, tag);
                                if (fnmatch(args[0], repo, 0) != 0 && fnmatch(args[0], rt, 0) != 0)
                                        continue;
                        }
                        json_object *row = json_object_new_object();
                        json_object_object_add(row, "Repository", json_object_new_string(repo));
                        json_object_object_add(row, "Tag", json_object_new_string(tag));
                        json_object_object_add(row, "ID", json_object_new_string(sid));
                        json_object_object_add(row, "CreatedSince", json_object_new_string(ago));
                        json_object_object_add(row, "CreatedAt", json_object_new_string(cat));
                        json_object_object_add(row, "Size", json_object_new_string(size));
                        json_object_object_add(row, "VirtualSize", json_object_new_string(size));
                        json_object_object_add(
                            row, "Digest", json_object_new_string(digest ? digest + 1 : "<none>"));
                        json_object_object_add(row, "Containers", json_object_new_string("N/A"));
                        json_object_object_add(row, "SharedSize", json_object_new_string("N/A"));
                        json_object_object_add(row, "UniqueSize", json_object_new_string("N/A"));
                        json_object_array_add(rows, row);
                }
        }
        if (quiet && format == NULL)
                return 0;
        const char *def =
            digests ? "table "
                      "{{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{."
                      "Size}}"
                    : "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
        return render_rows(format, def, rows, image_headers, false);
}

int cmd_rmi_api(struct api_cli *c, int argc, char **argv)
{
        bool force = false, no_prune = false;
        const struct flag flags[] = {
            {'f', "force", F_BOOL, &force, "Force removal of the image", NULL},
            {0, "no-prune", F_BOOL, &no_prune, "Do not delete untagged parents", NULL},
        };
        const struct command cmd = {"rmi",
                                    "[OPTIONS] IMAGE [IMAGE...]",
                                    "Remove one or more images",
                                    1,
                                    -1,
                                    false,
                                    "berth image rm, berth image remove, berth rmi",
                                    flags,
                                    2};
        cleanup_free char **args = NULL;
        int ex, rc = 0;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        for (char **a = args; *a; a++) {
                cleanup_error berth_error *err = NULL;
                cleanup_json json_object *o = NULL;
                cleanup_free char *p =
                    xasprintf("/images/%s?force=%d&noprune=%d", *a, force, no_prune);
                if (berth_client_call(c->client, "DELETE", p, NULL, &o, &err) < 0) {
                        fprintf(stderr, "%s\n", err->msg);
                        rc = 1;
                        continue;
                }
                for (size_t i = 0; o && i < json_object_array_length(o); i++) {
                        json_object *e = json_object_array_get_idx(o, i);
                        if (berth_json_str(e, "Untagged"))
                                printf("Untagged: %s\n", berth_json_str(e, "Untagged"));
                        if (berth_json_str(e, "Deleted"))
                                printf("Deleted: %s\n", berth_json_str(e, "Deleted"));
                }
        }
        return rc;
}

int cmd_tag_api(struct api_cli *c, int argc, char **argv)
{
        const struct command cmd = {"tag",
                                    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                                    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
                                    2,
                                    2,
                                    false,
                                    "berth image tag, berth tag",
                                    NULL,
                                    0};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *repo = NULL, *tag = NULL;
        split_repo_tag(args[1], &repo, &tag);
        cleanup_free char *er = berth_url_escape(repo);
        cleanup_free char *et = berth_url_escape(*tag ? tag : "latest");
        cleanup_free char *p = xasprintf("/images/%s/tag?repo=%s&tag=%s", args[0], er, et);
        if (berth_client_call(c->client, "POST", p, NULL, NULL, &err) < 0)
                return api_fail(&err, 1);
        return 0;
}

int cmd_save_api(struct api_cli *c, int argc, char **argv)
{
        const char *output = NULL, *platform = NULL;
        const struct flag flags[] = {
            {'o', "output", F_STRING, &output, "Write to a file, instead of STDOUT", NULL},
            {0, "platform", F_STRING, &platform, "Save only the given platform variant", NULL},
        };
        const struct command cmd = {
            "save",
            "[OPTIONS] IMAGE [IMAGE...]",
            "Save one or more images to a tar archive (streamed to STDOUT by default)",
            1,
            -1,
            false,
            "berth image save, berth save",
            flags,
            2};
        cleanup_free char **args = NULL;
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        char *q = NULL;
        size_t ql = 0;
        FILE *f = open_memstream(&q, &ql);
        fputs("/images/get", f);
        for (char **a = args; *a; a++) {
                cleanup_free char *e = berth_url_escape(*a);
                fprintf(f, "%cnames=%s", a == args ? '?' : '&', e);
        }
        fclose(f);
        int r = download_to(c, q, output, "save image");
        free(q);
        return r;
}

/* Print a JSON message stream (load, import): "stream"/"status" texts,
 * errors from errorDetail; returns 1 after an error. */
static int print_progress(struct berth_response *r, bool quiet)
{
        cleanup_error berth_error *err = NULL;
        int rc = 0;
        for (;;) {
                json_object *m = NULL;
                int k = berth_response_next_json(r, &m, &err);
                if (k < 0)
                        return api_fail(&err, 1);
                if (k == 0)
                        break;
                json_object *ed = berth_json_get(m, "errorDetail");
                const char *e = ed ? berth_json_str(ed, "message") : berth_json_str(m, "error");
                if (e != NULL) {
                        fprintf(stderr, "%s\n", e);
                        rc = 1;
                } else if (berth_json_str(m, "stream") && !quiet) {
                        fputs(berth_json_str(m, "stream"), stdout);
                } else if (berth_json_str(m, "status") && !quiet) {
                        const char *id = berth_json_str(m, "id");
                        if (id)
                                printf("%s: %s\n", id, berth_json_str(m, "status"));
                        else
                                printf("%s\n", berth_json_str(m, "status"));
                }
                json_object_put(m);
        }
        return rc;
}

int cmd_load_api(struct api_cli *c, int argc, char **argv)
{
        const char *input = NULL, *platform = NULL;
        bool quiet = false;
        const struct flag flags[] = {
            {'i', "input", F_STRING, &input, "Read from tar archive file, instead of STDIN", NULL},
            {0, "platform", F_STRING, &platform, "Load only the given platform variant", NULL},
            {'q', "quiet", F_BOOL, &quiet, "Suppress the load output", NULL},
        };
        const struct command cmd = {"load",
                                    "[OPTIONS]",
                                    "Load an image from a tar archive or STDIN",
                                    0,
                                    0,
                                    false,
                                    "berth image load, berth load",
                                    flags,
                                    3};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *r = NULL;
        cleanup_close int fd = -1;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (input) {
                fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "open %s: %s\n", input, strerror(errno));
                        return 1;
                }
        } else if (isatty(STDIN_FILENO)) {
                fprintf(stderr, "requested load from stdin, but stdin is empty\n");
                return 1;
        }
        if (api_client(c) == NULL)
                return 1;
        struct berth_request req = {.body_fd = input ? fd : STDIN_FILENO,
                                    .content_type = "application/x-tar"};
        if (berth_client_request(c->client, "POST",
                                 quiet ? "/images/load?quiet=1" : "/images/load?quiet=0", &req, &r,
                                 &err) < 0 ||
            berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        return print_progress(r, false);
}

int cmd_import_api(struct api_cli *c, int argc, char **argv)
{
        char **change = NULL;
        const char *message = NULL, *platform = NULL;
        const struct flag flags[] = {
            {'c', "change", F_LIST, &change, "Apply Dockerfile instruction to the created image",
             NULL},
            {'m', "message", F_STRING, &message, "Set commit message for imported image", NULL},
            {0, "platform", F_STRING, &platform, "Set platform if server is multi-platform capable",
             NULL},
        };
        const struct command cmd = {
            "import",
            "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
            "Import the contents from a tarball to create a filesystem image",
            1,
            2,
            false,
            "berth image import, berth import",
            flags,
            3};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *r = NULL;
        cleanup_close int fd = -1;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        bool url =
            berth_str_has_prefix(args[0], "http://") || berth_str_has_prefix(args[0], "https://");
        if (!url && strcmp(args[0], "-") != 0) {
                fd = open(args[0], O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "open %s: %s\n", args[0], strerror(errno));
                        flags_free_lists(&cmd);
                        return 1;
                }
        }
        if (api_client(c) == NULL) {
                flags_free_lists(&cmd);
                return 1;
        }
        char *q = NULL;
        size_t ql = 0;
        FILE *f = open_memstream(&q, &ql);
        cleanup_free char *src = berth_url_escape(url ? args[0] : "-");
        fprintf(f, "/images/create?fromSrc=%s", src);
        if (args[1]) {
                cleanup_free char *repo = NULL, *tag = NULL;
                split_repo_tag(args[1], &repo, &tag);
                cleanup_free char *er = berth_url_escape(repo);
                cleanup_free char *et = berth_url_escape(tag);
                fprintf(f, "&repo=%s&tag=%s", er, et);
        }
        if (message) {
                cleanup_free char *em = berth_url_escape(message);
                fprintf(f, "&message=%s", em);
        }
        for (char **ch = change; ch && *ch; ch++) {
                cleanup_free char *e = berth_url_escape(*ch);
                fprintf(f, "&changes=%s", e);
        }
        fclose(f);
        flags_free_lists(&cmd);
        struct berth_request req = {.body_fd = url ? -1 : (fd >= 0 ? fd : STDIN_FILENO),
                                    .content_type = "application/x-tar"};
        int k = berth_client_request(c->client, "POST", q, &req, &r, &err);
        free(q);
        if (k < 0 || berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        return print_progress(r, false);
}

static const char *const history_headers[] = {
    "ID",         "IMAGE", "CreatedSince", "CREATED", "CreatedAt", "CREATED AT", "CreatedBy",
    "CREATED BY", "Size",  "SIZE",         "Comment", "COMMENT",   NULL,         NULL,
};

int cmd_history_api(struct api_cli *c, int argc, char **argv)
{
        bool human = true, no_trunc = false, quiet = false;
        const char *format = NULL, *platform = NULL;
        const struct flag flags[] = {
            {0, "format", F_STRING, &format, "Format output using a custom template", NULL},
            {'H', "human", F_BOOL, &human,
             "Print sizes and dates in human readable format (default true)", NULL},
            {0, "no-trunc", F_BOOL, &no_trunc, "Don't truncate output", NULL},
            {0, "platform", F_STRING, &platform, "Show history for the given platform", NULL},
            {'q', "quiet", F_BOOL, &quiet, "Only show image IDs", NULL},
        };
        const struct command cmd = {"history",
                                    "[OPTIONS] IMAGE",
                                    "Show the history of an image",
                                    1,
                                    1,
                                    false,
                                    "berth image history, berth history",
                                    flags,
                                    5};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *list = NULL, *rows = json_object_new_array();
        int ex;
        if (api_begin(c, &cmd, argc, argv, &args, &ex) < 0)
                return ex;
        cleanup_free char *p = xasprintf("/images/%s/history", args[0]);
        if (berth_client_call(c->client, "GET", p, NULL, &list, &err) < 0)
                return api_fail(&err, 1);
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *h = json_object_array_get_idx(list, i);
                const char *id = berth_json_str(h, "Id");
                cleanup_free char *sid = id && strcmp(id, "<missing>") != 0
                                             ? short_image_id(id, no_trunc)
                                             : xstrdup("<missing>");
                if (quiet) {
                        printf("%s\n", sid);
                        continue;
                }
                int64_t created = berth_json_int(h, "Created", 0);
                cleanup_free char *ago = human ? since_ago(created) : fmt_created_at(created);
                cleanup_free char *cat = fmt_created_at(created);
                const char *by = berth_json_str(h, "CreatedBy");
                cleanup_free char *by_s =
                    no_trunc ? xstrdup(by ? by : "") : trunc_str(by ? by : "", 45);
                int64_t sz = berth_json_int(h, "Size", 0);
                cleanup_free char *size =
                    human ? fmt_size((double)sz) : xasprintf("%lld", (long long)sz);
                json_object *row = json_object_new_object();
                json_object_object_add(row, "ID", json_object_new_string(sid));
                json_object_object_add(row, "CreatedSince", json_object_new_string(ago));
                json_object_object_add(row, "CreatedAt", json_object_new_string(cat));
                json_object_object_add(row, "CreatedBy", json_object_new_string(by_s));
                json_object_object_add(row, "Size", json_object_new_string(size));
                json_object_object_add(row, "Comment",
                                       json_object_new_string(berth_json_str(h, "Comment")
                                                                  ? berth_json_str(h, "Comment")
                                                                  : ""));
                json_object_array_add(rows, row);
        }
        if (quiet)
                return 0;
        return render_rows(
            format, "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}",
            rows, history_headers, false);
}

int cmd_image_prune_api(struct api_cli *c, int argc, char **argv)
{
        bool all = false, force = false;
        char **filter = NULL;
        const struct flag flags[] = {
            {'a', "all", F_BOOL, &all, "Remove all unused images, not just dangling ones", NULL},
            {0, "filter", F_LIST, &filter, "Provide filter values (e.g. \"until=<timestamp>\")",
             NULL},
            {'f', "force", F_BOOL, &force, "Do not prompt for confirmation", NULL},
        };
        const struct command cmd = {
            "image prune", "[OPTIONS]", "Remove unused images", 0, 0, false, NULL, flags, 3};
        cleanup_free char **args = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *o = NULL;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (!force && !confirm(all ? "This will remove all images without at least one container "
                                     "associated to them."
                                   : "This will remove all dangling images.")) {
                flags_free_lists(&cmd);
                return 0;
        }
        if (api_client(c) == NULL) {
                flags_free_lists(&cmd);
                return 1;
        }
        size_t n = berth_strv_len(filter);
        filter = xrealloc(filter, (n + 2) * sizeof(char *));
        filter[n] = xstrdup(all ? "dangling=false" : "dangling=true");
        filter[n + 1] = NULL;
        cleanup_free char *fq = filters_query(filter);
        flags_free_lists(&cmd);
        cleanup_free char *p = xasprintf("/images/prune?filters=%s", fq);
        if (berth_client_call(c->client, "POST", p, NULL, &o, &err) < 0)
                return api_fail(&err, 1);
        json_object *del = berth_json_get(o, "ImagesDeleted");
        if (del && json_object_array_length(del) > 0) {
                printf("Deleted Images:\n");
                for (size_t i = 0; i < json_object_array_length(del); i++) {
                        json_object *e = json_object_array_get_idx(del, i);
                        if (berth_json_str(e, "Untagged"))
                                printf("untagged: %s\n", berth_json_str(e, "Untagged"));
                        if (berth_json_str(e, "Deleted"))
                                printf("deleted: %s\n", berth_json_str(e, "Deleted"));
                }
                printf("\n");
        }
        cleanup_free char *sz = fmt_size((double)berth_json_int(o, "SpaceReclaimed", 0));
        printf("Total reclaimed space: %s\n", sz);
        return 0;
}
