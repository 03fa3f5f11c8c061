/* SPDX-License-Identifier: Apache-2.0 */
/* Image endpoints over the image store: list, inspect, history, tag,
 * delete, save (get), load, import (create?fromSrc=-), prune. */
#include <errno.h>
#include <fnmatch.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-internal.h"
#include "api/image-refs.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#ifdef BERTH_API_HAVE_ENGINE
#include "engine/engine.h"
#endif

#define ADD(o, k, v) json_object_object_add((o), (k), (v))
static json_object *STR(const char *s)
{
        return json_object_new_string(s ? s : "");
}

json_object *api_familiar_refs(char *const *refs)
{
        json_object *a = json_object_new_array();
        for (char *const *p = refs; p && *p; p++) {
                cleanup_free char *f = berth_ref_familiarize(*p);
                json_object_array_add(a, STR(f));
        }
        return a;
}

/* The store object is not safe for concurrent mutation from several
 * threads (its lock is re-entrant per object): mutations are serialised. */
static pthread_mutex_t images_mutex = PTHREAD_MUTEX_INITIALIZER;

static void emit(struct api_req *r, const char *action, const char *id, const char *name)
{
#ifdef BERTH_API_HAVE_ENGINE
        if (r->api->cfg.engine != NULL) {
                json_object *attrs = json_object_new_object();
                ADD(attrs, "name", STR(name ? name : id));
                /* emit takes ATTRS over (engine.h). */
                berth_engine_emit(r->api->cfg.engine, "image", action, id, attrs);
        }
#endif
}

static void reply_image_err(struct api_req *r, const char *name, const berth_error *err)
{
        if (err != NULL && err->status == ENOENT)
                api_reply_error(r, 404, "No such image: %s", name);
        else
                api_reply_berr(r, err);
}

static json_object *read_config(struct api_req *r, const struct berth_image *img, berth_error **err)
{
        cleanup_free char *data = NULL;
        size_t len;
        json_object *cfg = NULL;
        if (berth_blob_read(r->api->cfg.images, img->id, BERTH_IMAGE_MAX_JSON, &data, &len, err) <
                0 ||
            berth_json_parse(data, len, "image config", &cfg, err) < 0)
                return NULL;
        return cfg;
}

/* Values of filter KEY, in the map form {"k":{"v":true}} or the list form
 * {"k":["v"]}; NULL-terminated, borrowed strings in a new array. */
static const char **filter_values(json_object *filters, const char *key)
{
        json_object *v = filters ? berth_json_get(filters, key) : NULL;
        const char **out;
        size_t n = 0;

        if (v == NULL)
                return NULL;
        if (json_object_is_type(v, json_type_array)) {
                size_t len = json_object_array_length(v);
                out = xcalloc(len + 1, sizeof(*out));
                for (size_t i = 0; i < len; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        if (json_object_is_type(e, json_type_string))
                                out[n++] = json_object_get_string(e);
                }
                return out;
        }
        if (json_object_is_type(v, json_type_object)) {
                out = xcalloc((size_t)json_object_object_length(v) + 1, sizeof(*out));
                json_object_object_foreach(v, k, val)
                {
                        if (json_object_get_boolean(val))
                                out[n++] = k;
                }
                return out;
        }
        return xcalloc(1, sizeof(*out));
}

static bool filters_known(struct api_req *r, json_object *filters, const char *const *known)
{
        if (filters == NULL)
                return true;
        json_object_object_foreach(filters, key, val)
        {
                (void)val;
                bool ok = false;
                for (size_t i = 0; known[i]; i++)
                        if (strcmp(key, known[i]) == 0)
                                ok = true;
                if (!ok) {
                        api_reply_error(r, 400, "invalid filter '%s'", key);
                        return false;
                }
        }
        return true;
}

static bool labels_match(json_object *labels, const char **want)
{
        for (size_t i = 0; want && want[i]; i++) {
                const char *eq = strchr(want[i], '=');
                cleanup_free char *k =
                    eq ? xstrndup(want[i], (size_t)(eq - want[i])) : xstrdup(want[i]);
                json_object *v = labels ? berth_json_get(labels, k) : NULL;
                if (v == NULL)
                        return false;
                if (eq && strcmp(json_object_get_string(v), eq + 1) != 0)
                        return false;
        }
        return true;
}

static bool reference_match(const struct berth_image *img, const char **pats)
{
        if (pats == NULL || pats[0] == NULL)
                return true;
        for (char **t = img->repo_tags; t && *t; t++) {
                cleanup_free char *fam = berth_ref_familiarize(*t);
                cleanup_free char *repo = xstrdup(fam);
                char *colon = strrchr(repo, ':');
                if (colon && !strchr(colon, '/'))
                        *colon = '\0';
                for (size_t i = 0; pats[i]; i++)
                        if (fnmatch(pats[i], fam, 0) == 0 || fnmatch(pats[i], repo, 0) == 0 ||
                            fnmatch(pats[i], *t, 0) == 0)
                                return true;
        }
        return false;
}

void api_images_list(struct api_req *r)
{
        static const char *const known[] = {"dangling", "label", "reference",
                                            "before",   "since", NULL};
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *filters = NULL;
        cleanup_json json_object *arr = json_object_new_array();
        struct berth_image **imgs = NULL;
        size_t n = 0;
        int64_t before = INT64_MAX, since = INT64_MIN;

        if (!api_query_filters(r, &filters) || !filters_known(r, filters, known))
                return;
        cleanup_free const char **dangling = filter_values(filters, "dangling");
        cleanup_free const char **labels = filter_values(filters, "label");
        cleanup_free const char **refs = filter_values(filters, "reference");
        cleanup_free const char **bef = filter_values(filters, "before");
        cleanup_free const char **sin = filter_values(filters, "since");
        if (dangling && dangling[0] && strcmp(dangling[0], "true") != 0 &&
            strcmp(dangling[0], "false") != 0 && strcmp(dangling[0], "1") != 0 &&
            strcmp(dangling[0], "0") != 0) {
                api_reply_error(r, 400, "invalid filter 'dangling=%s'", dangling[0]);
                return;
        }
        for (int which = 0; which < 2; which++) {
                const char **v = which ? sin : bef;
                if (v && v[0]) {
                        cleanup_image struct berth_image *ref = NULL;
                        if (berth_image_get(r->api->cfg.images, v[0], &ref, &err) < 0) {
                                reply_image_err(r, v[0], err);
                                return;
                        }
                        if (which)
                                since = ref->created_unix;
                        else
                                before = ref->created_unix;
                }
        }
        if (berth_image_list(r->api->cfg.images, &imgs, &n, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct berth_image *img = imgs[i];
                bool untagged = img->repo_tags == NULL || img->repo_tags[0] == NULL;
                cleanup_json json_object *cfg = read_config(r, img, NULL);
                json_object *lab =
                    cfg ? berth_json_get(berth_json_get(cfg, "config"), "Labels") : NULL;

                if (dangling && dangling[0]) {
                        bool want =
                            strcmp(dangling[0], "true") == 0 || strcmp(dangling[0], "1") == 0;
                        if (want != untagged)
                                continue;
                }
                if (!labels_match(lab, labels) || !reference_match(img, refs))
                        continue;
                if (!(img->created_unix < before && img->created_unix > since))
                        continue;
                json_object *it = json_object_new_object();
                json_object *tags = api_familiar_refs(img->repo_tags);
                json_object *dig = api_familiar_refs(img->repo_digests);
                if (untagged) {
                        json_object_array_add(tags, STR("<none>:<none>"));
                        if (json_object_array_length(dig) == 0)
                                json_object_array_add(dig, STR("<none>@<none>"));
                }
                ADD(it, "Containers", json_object_new_int(-1));
                ADD(it, "Created", json_object_new_int64(img->created_unix));
                ADD(it, "Id", STR(img->id));
                ADD(it, "Labels", lab ? json_object_get(lab) : NULL);
                ADD(it, "ParentId", STR(""));
                ADD(it, "RepoDigests", dig);
                ADD(it, "RepoTags", tags);
                ADD(it, "SharedSize", json_object_new_int(-1));
                ADD(it, "Size", json_object_new_int64(img->size));
                ADD(it, "VirtualSize", json_object_new_int64(img->size));
                json_object_array_add(arr, it);
        }
        berth_image_list_free(imgs, n);
        api_reply_json(r, 200, arr);
}

/* A copy of an image's (container) config with every key of Docker's
 * ContainerConfig present, zero-valued as dockerd marshals them. */
static json_object *full_config(json_object *config)
{
        static const char *const strs[] = {"Hostname", "Domainname", "User", "Image", "WorkingDir"};
        static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr",
                                            "Tty",         "OpenStdin",    "StdinOnce"};
        static const char *const nulls[] = {"Env",        "Cmd",     "Volumes",
                                            "Entrypoint", "OnBuild", "Labels"};
        json_object *o = NULL;

        if (config == NULL || json_object_deep_copy(config, &o, NULL) < 0 || o == NULL)
                o = json_object_new_object();
        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                if (!json_object_object_get_ex(o, strs[i], NULL))
                        ADD(o, strs[i], STR(""));
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
                if (!json_object_object_get_ex(o, bools[i], NULL))
                        ADD(o, bools[i], json_object_new_boolean(0));
        for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
                if (!json_object_object_get_ex(o, nulls[i], NULL))
                        ADD(o, nulls[i], NULL);
        return o;
}

static json_object *inspect_json(struct api_req *r, const struct berth_image *img,
                                 berth_error **err)
{
        struct berth_image_store *s = r->api->cfg.images;
        cleanup_json json_object *cfg = read_config(r, img, err);
        if (cfg == NULL)
                return NULL;
        json_object *o = json_object_new_object();
        ADD(o, "Id", STR(img->id));
        ADD(o, "RepoTags", api_familiar_refs(img->repo_tags));
        ADD(o, "RepoDigests", api_familiar_refs(img->repo_digests));
        ADD(o, "Parent", STR(""));
        ADD(o, "Comment", STR(berth_json_str(cfg, "comment")));
        ADD(o, "Created", STR(img->created ? img->created : "0001-01-01T00:00:00Z"));
        ADD(o, "Container", STR(berth_json_str(cfg, "container")));
        json_object *cc = berth_json_get(cfg, "container_config");
        ADD(o, "ContainerConfig", full_config(cc));
        ADD(o, "DockerVersion", STR(berth_json_str(cfg, "docker_version")));
        ADD(o, "Author", STR(berth_json_str(cfg, "author")));
        json_object *config = berth_json_get(cfg, "config");
        ADD(o, "Config", full_config(config));
        ADD(o, "Architecture", STR(berth_json_str(cfg, "architecture")));
        if (berth_json_str(cfg, "variant"))
                ADD(o, "Variant", STR(berth_json_str(cfg, "variant")));
        ADD(o, "Os", STR(berth_json_str(cfg, "os")));
        ADD(o, "Size", json_object_new_int64(img->size));
        ADD(o, "VirtualSize", json_object_new_int64(img->size));
        berth_image_add_layout_json(s, img, o);
        return o;
}

void api_image_inspect(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        cleanup_json json_object *o = NULL;

        if (berth_image_get(r->api->cfg.images, r->params[0], &img, &err) < 0) {
                reply_image_err(r, r->params[0], err);
                return;
        }
        o = inspect_json(r, img, &err);
        if (o == NULL) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json_chunked(r, 200, o);
}

void api_image_history(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        cleanup_json json_object *cfg = NULL;
        cleanup_json json_object *arr = json_object_new_array();

        if (berth_image_get(r->api->cfg.images, r->params[0], &img, &err) < 0) {
                reply_image_err(r, r->params[0], err);
                return;
        }
        cfg = read_config(r, img, &err);
        if (cfg == NULL) {
                api_reply_berr(r, err);
                return;
        }
        json_object *hist = berth_json_get(cfg, "history");
        size_t nh =
            hist && json_object_is_type(hist, json_type_array) ? json_object_array_length(hist) : 0;
        cleanup_free int64_t *sizes = xcalloc(nh + 1, sizeof(int64_t));
        size_t layer = 0;
        for (size_t i = 0; i < nh; i++) {
                json_object *h = json_object_array_get_idx(hist, i);
                if (!berth_json_bool(h, "empty_layer", false) && layer < img->n_layers)
                        sizes[i] = img->layers[layer++].unpacked_size;
        }
        for (size_t i = nh; i-- > 0;) {
                json_object *h = json_object_array_get_idx(hist, i);
                json_object *it = json_object_new_object();
                ADD(it, "Comment", STR(berth_json_str(h, "comment")));
                ADD(it, "Created",
                    json_object_new_int64(
                        berth_time_parse_rfc3339_sec(berth_json_str(h, "created"))));
                ADD(it, "CreatedBy", STR(berth_json_str(h, "created_by")));
                ADD(it, "Id", STR(i == nh - 1 ? img->id : "<missing>"));
                ADD(it, "Size", json_object_new_int64(sizes[i]));
                if (i == nh - 1 && img->repo_tags && img->repo_tags[0]) {
                        json_object *tags = json_object_new_array();
                        for (char **t = img->repo_tags; *t; t++) {
                                cleanup_free char *f = berth_ref_familiarize(*t);
                                json_object_array_add(tags, STR(f));
                        }
                        ADD(it, "Tags", tags);
                } else {
                        ADD(it, "Tags", NULL);
                }
                json_object_array_add(arr, it);
        }
        if (nh == 0) {
                /* An image without history: one line for the image itself. */
                json_object *it = json_object_new_object();
                ADD(it, "Comment", STR(""));
                ADD(it, "Created", json_object_new_int64(img->created_unix));
                ADD(it, "CreatedBy", STR(""));
                ADD(it, "Id", STR(img->id));
                ADD(it, "Size", json_object_new_int64(img->size));
                ADD(it, "Tags", NULL);
                json_object_array_add(arr, it);
        }
        api_reply_json(r, 200, arr);
}

void api_image_tag(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        const char *repo = api_query(r, "repo");
        const char *tag = api_query(r, "tag");
        cleanup_free char *ref = NULL;

        if (repo == NULL || *repo == '\0') {
                api_reply_error(r, 400, "repository name must have at least one component");
                return;
        }
        if (tag != NULL && *tag != '\0' && !berth_ref_tag_valid(tag)) {
                api_reply_error(r, 400, "invalid tag format: `%s`", tag);
                return;
        }
        ref = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
        if (berth_image_get(r->api->cfg.images, r->params[0], &img, &err) < 0) {
                reply_image_err(r, r->params[0], err);
                return;
        }
        pthread_mutex_lock(&images_mutex);
        int ret = berth_image_tag(r->api->cfg.images, img->id, ref, &err);
        pthread_mutex_unlock(&images_mutex);
        if (ret < 0) {
                api_reply_berr(r, err);
                return;
        }
        cleanup_free char *fam = berth_ref_familiarize(ref);
        emit(r, "tag", img->id, fam);
        api_reply_empty(r, 201);
}

/* "Untagged: x" / "Deleted: sha256:..." lines as Docker's list. */
static json_object *lines_json(char **lines)
{
        json_object *arr = json_object_new_array();
        for (char **l = lines; l && *l; l++) {
                const char *colon = strstr(*l, ": ");
                if (colon == NULL)
                        continue;
                cleanup_free char *key = xstrndup(*l, (size_t)(colon - *l));
                json_object *it = json_object_new_object();
                ADD(it, key, STR(colon + 2));
                json_object_array_add(arr, it);
        }
        return arr;
}

void api_image_delete(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_json json_object *arr = NULL;
        bool force = api_query_bool(r, "force", false);

        pthread_mutex_lock(&images_mutex);
        int ret = berth_image_remove(r->api->cfg.images, r->params[0], force, &lines, &err);
        pthread_mutex_unlock(&images_mutex);
        if (ret < 0) {
                reply_image_err(r, r->params[0], err);
                return;
        }
        for (char **l = lines; l && *l; l++) {
                if (berth_str_has_prefix(*l, "Untagged: "))
                        emit(r, "untag", r->params[0], *l + strlen("Untagged: "));
                else if (berth_str_has_prefix(*l, "Deleted: "))
                        emit(r, "delete", *l + strlen("Deleted: "), r->params[0]);
        }
        arr = lines_json(lines);
        api_reply_json(r, 200, arr);
}

struct save_job {
        struct berth_image_store *store;
        char **names;
};

static void save_run(void *p, int fd)
{
        struct save_job *j = p;
        cleanup_error berth_error *err = NULL;
        (void)berth_image_save(j->store, j->names, BERTH_ARCHIVE_DOCKER, fd, &err);
}

static void save_free(void *p)
{
        struct save_job *j = p;
        berth_strv_freep(&j->names);
        free(j);
}

static void save(struct api_req *r, char **names)
{
        for (char **n = names; *n; n++) {
                cleanup_error berth_error *err = NULL;
                cleanup_image struct berth_image *img = NULL;
                if (berth_image_get(r->api->cfg.images, *n, &img, &err) < 0) {
                        reply_image_err(r, *n, err);
                        berth_strv_freep(&names);
                        return;
                }
        }
        struct save_job *j = xmalloc(sizeof(*j));
        *j = (struct save_job){r->api->cfg.images, names};
        api_reply_stream(r, 200, "application/x-tar", save_run, j, save_free);
}

struct strv_builder {
        const char *key;
        char **v;
        size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
        struct strv_builder *b = cls;
        if (strcmp(key, b->key) != 0 || value == NULL)
                return MHD_YES;
        b->v = xrealloc(b->v, (b->n + 2) * sizeof(char *));
        b->v[b->n++] = xstrdup(value);
        b->v[b->n] = NULL;
        return MHD_YES;
}

/* Every value of a repeated query parameter (names=a&names=b). */
static char **query_all(struct api_req *r, const char *key)
{
        struct strv_builder b = {key, NULL, 0};
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &b);
        if (b.v == NULL)
                b.v = xcalloc(1, sizeof(char *));
        return b.v;
}

void api_images_get(struct api_req *r)
{
        char **names = query_all(r, "names");
        if (names[0] == NULL) {
                free(names);
                api_reply_error(r, 400, "no image names given: use ?names=IMAGE");
                return;
        }
        save(r, names);
}

void api_image_get(struct api_req *r)
{
        char **names = xcalloc(2, sizeof(char *));
        names[0] = xstrdup(r->params[0]);
        save(r, names);
}

/* Runs on the body worker: the tarball is read from r->body_fd. */
void api_images_load(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_free char *out = NULL;
        size_t len = 0;

        pthread_mutex_lock(&images_mutex);
        int ret = berth_image_load(r->api->cfg.images, r->body_fd, &lines, &err);
        pthread_mutex_unlock(&images_mutex);
        if (ret < 0) {
                api_reply_berr(r, err);
                return;
        }
        out = xstrdup("");
        for (char **l = lines; l && *l; l++) {
                cleanup_json json_object *m = json_object_new_object();
                cleanup_free char *s = xasprintf("%s\n", *l);
                size_t n;
                ADD(m, "stream", STR(s));
                cleanup_free char *js = api_json_string(m, &n);
                js[n - 1] = '\0'; /* replace the "\n" by "\r\n" */
                char *joined = xasprintf("%s%s\r\n", out, js);
                free(out);
                out = joined;
                if (berth_str_has_prefix(*l, "Loaded image: "))
                        emit(r, "load", *l + strlen("Loaded image: "), NULL);
                else if (berth_str_has_prefix(*l, "Loaded image ID: "))
                        emit(r, "load", *l + strlen("Loaded image ID: "), NULL);
        }
        len = strlen(out);
        api_reply(r, 200, "application/json", steal_pointer(&out), len);
        r->resp.chunked = true;
}

/* POST /images/create: import from the request body (fromSrc=-); pulls
 * need the registry module. Runs on the body worker. */
void api_images_create(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *img = NULL;
        const char *src = api_query(r, "fromSrc");
        const char *image = api_query(r, "fromImage");
        const char *repo = api_query(r, "repo");
        const char *tag = api_query(r, "tag");
        const char *message = api_query(r, "message");
        cleanup_strv char **changes = NULL;
        cleanup_free char *ref = NULL;

        if (src == NULL || *src == '\0') {
                if (image != NULL && *image != '\0')
                        api_reply_error(
                            r, 501,
                            "pulling `%s` is not supported by this daemon yet (no registry client)",
                            image);
                else
                        api_reply_error(r, 400, "fromImage or fromSrc is required");
                return;
        }
        if (strcmp(src, "-") != 0) {
                api_reply_error(r, 501,
                                "importing from `%s` is not supported: send the tarball in the "
                                "request body (fromSrc=-)",
                                src);
                return;
        }
        if (repo != NULL && *repo != '\0') {
                ref = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
                cleanup_ref struct berth_ref *parsed = NULL;
                if (berth_ref_parse_normalized(ref, &parsed, &err) < 0) {
                        api_reply_berr(r, err);
                        return;
                }
        }
        changes = query_all(r, "changes");
        pthread_mutex_lock(&images_mutex);
        int ret =
            berth_image_import(r->api->cfg.images, r->body_fd, changes, message, ref, &img, &err);
        pthread_mutex_unlock(&images_mutex);
        if (ret < 0) {
                api_reply_berr(r, err);
                return;
        }
        emit(r, "import", img->id, ref);
        cleanup_json json_object *m = json_object_new_object();
        size_t n;
        ADD(m, "status", STR(img->id));
        char *js = api_json_string(m, &n);
        js[n - 1] = '\0';
        char *out = xasprintf("%s\r\n", js);
        free(js);
        api_reply(r, 200, "application/json", out, strlen(out));
        r->resp.chunked = true;
}

void api_images_prune(struct api_req *r)
{
        static const char *const known[] = {"dangling", "label", "until", NULL};
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *filters = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_json json_object *o = json_object_new_object();
        int64_t freed = 0;
        bool all = false;

        if (!api_query_filters(r, &filters) || !filters_known(r, filters, known))
                return;
        cleanup_free const char **dangling = filter_values(filters, "dangling");
        if (dangling && dangling[0])
                all = strcmp(dangling[0], "false") == 0 || strcmp(dangling[0], "0") == 0;
        pthread_mutex_lock(&images_mutex);
        int ret = berth_image_prune(r->api->cfg.images, all, &lines, &freed, &err);
        pthread_mutex_unlock(&images_mutex);
        if (ret < 0) {
                api_reply_berr(r, err);
                return;
        }
        json_object *del = lines_json(lines);
        if (json_object_array_length(del) == 0) {
                json_object_put(del);
                del = NULL;
        }
        ADD(o, "ImagesDeleted", del);
        ADD(o, "SpaceReclaimed", json_object_new_int64(freed));
        api_reply_json(r, 200, o);
}

void api_images_search(struct api_req *r)
{
        api_reply_error(r, 501, "searching a registry is not supported by this daemon yet");
}

void api_image_push(struct api_req *r)
{
        api_reply_error(r, 501,
                        "pushing `%s` is not supported by this daemon yet (no registry client)",
                        r->params[0]);
}
