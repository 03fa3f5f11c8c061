/* SPDX-License-Identifier: Apache-2.0 */
/* `import`: a rootfs tarball as a one-layer image, with --change lines
 * parsed like Docker's `import -c` (CMD, ENTRYPOINT, ENV, WORKDIR, USER,
 * EXPOSE, LABEL, VOLUME, STOPSIGNAL). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "store-internal.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_CHANGE 65536
#define MAX_WORDS  1024

/* Split shell-like words: whitespace separated, "..." and '...' quoting,
 * backslash escapes (outside single quotes). */
static int split_words(const char *s, char ***ret, berth_error **err)
{
        char **v = xmalloc0(sizeof(char *));
        size_t n = 0;
        while (*s) {
                while (isspace((unsigned char)*s))
                        s++;
                if (!*s)
                        break;
                cleanup_free char *w = xmalloc(strlen(s) + 1);
                size_t o = 0;
                char q = 0;
                while (*s && (q || !isspace((unsigned char)*s))) {
                        if (q == 0 && (*s == '"' || *s == '\'')) {
                                q = *s++;
                        } else if (q && *s == q) {
                                q = 0;
                                s++;
                        } else if (*s == '\\' && q != '\'' && s[1]) {
                                w[o++] = s[1];
                                s += 2;
                        } else {
                                w[o++] = *s++;
                        }
                }
                if (q) {
                        berth_strv_freep(&v);
                        return berth_fail(err, EINVAL, "unterminated quote in `%s`", s);
                }
                w[o] = '\0';
                if (++n > MAX_WORDS) {
                        berth_strv_freep(&v);
                        return berth_fail(err, E2BIG, "too many words");
                }
                store_strv_push(&v, w);
        }
        *ret = v;
        return 0;
}

/* An exec-form JSON array of strings, or NULL when ARGS is not one. */
static json_object *json_form(const char *args)
{
        json_object *o = NULL;
        if (*args != '[')
                return NULL;
        if (berth_json_parse(args, strlen(args), "JSON array", &o, NULL) < 0)
                return NULL;
        if (!json_object_is_type(o, json_type_array)) {
                json_object_put(o);
                return NULL;
        }
        for (size_t i = 0; i < json_object_array_length(o); i++)
                if (!json_object_is_type(json_object_array_get_idx(o, i), json_type_string)) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

static json_object *cmd_value(const char *args)
{
        json_object *o = json_form(args);
        if (o != NULL)
                return o;
        o = json_object_new_array();
        json_object_array_add(o, json_object_new_string("/bin/sh"));
        json_object_array_add(o, json_object_new_string("-c"));
        json_object_array_add(o, json_object_new_string(args));
        return o;
}

static json_object *object_member(json_object *config, const char *key)
{
        json_object *o = berth_json_get(config, key);
        if (o == NULL || !json_object_is_type(o, json_type_object)) {
                o = json_object_new_object();
                json_object_object_add(config, key, o);
        }
        return o;
}

/* KEY=VALUE pairs, or the legacy "KEY VALUE" form. */
static int key_values(const char *args, const char *what, char ***ret_k, char ***ret_v,
                      berth_error **err)
{
        cleanup_strv char **words = NULL;
        char **k = xmalloc0(sizeof(char *)), **v = xmalloc0(sizeof(char *));
        int r = split_words(args, &words, err);
        if (r < 0)
                goto fail;
        if (words[0] == NULL) {
                r = berth_fail(err, EINVAL, "%s requires at least one argument", what);
                goto fail;
        }
        if (strchr(words[0], '=') == NULL) {
                /* KEY VALUE...: the value is the rest of the line. */
                const char *p = args;
                while (isspace((unsigned char)*p))
                        p++;
                p += strcspn(p, " \t");
                while (isspace((unsigned char)*p))
                        p++;
                if (*p == '\0') {
                        r = berth_fail(err, EINVAL, "%s `%s` has no value (use KEY=VALUE)", what,
                                       words[0]);
                        goto fail;
                }
                store_strv_push(&k, words[0]);
                store_strv_push(&v, p);
        } else {
                for (char **w = words; *w; w++) {
                        char *eq = strchr(*w, '=');
                        if (eq == NULL || eq == *w) {
                                r = berth_fail(err, EINVAL, "%s: `%s` is not KEY=VALUE", what, *w);
                                goto fail;
                        }
                        *eq = '\0';
                        store_strv_push(&k, *w);
                        store_strv_push(&v, eq + 1);
                }
        }
        *ret_k = k;
        *ret_v = v;
        return 0;
fail:
        berth_strv_freep(&k);
        berth_strv_freep(&v);
        return r;
}

int berth_image_apply_change(json_object *config, const char *change, berth_error **err)
{
        const char *p = change;
        size_t ilen;
        cleanup_free char *instr = NULL;
        const char *args;
        int r = 0;

        if (strlen(change) > MAX_CHANGE)
                return berth_fail(err, E2BIG, "change is longer than %d bytes", MAX_CHANGE);
        while (isspace((unsigned char)*p))
                p++;
        ilen = strcspn(p, " \t");
        instr = xstrndup(p, ilen);
        for (char *c = instr; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        args = p + ilen;
        while (isspace((unsigned char)*args))
                args++;

        if (strcmp(instr, "CMD") == 0 || strcmp(instr, "ENTRYPOINT") == 0) {
                json_object_object_add(config, strcmp(instr, "CMD") == 0 ? "Cmd" : "Entrypoint",
                                       cmd_value(args));
        } else if (strcmp(instr, "ENV") == 0) {
                cleanup_strv char **k = NULL, **v = NULL;
                r = key_values(args, "ENV", &k, &v, err);
                if (r < 0)
                        return r;
                json_object *env = berth_json_get(config, "Env");
                if (env == NULL || !json_object_is_type(env, json_type_array)) {
                        env = json_object_new_array();
                        json_object_object_add(config, "Env", env);
                }
                for (size_t i = 0; k[i]; i++) {
                        cleanup_free char *kv = xasprintf("%s=%s", k[i], v[i]);
                        size_t klen = strlen(k[i]);
                        bool replaced = false;
                        for (size_t j = 0; j < json_object_array_length(env); j++) {
                                const char *e =
                                    json_object_get_string(json_object_array_get_idx(env, j));
                                if (e && strncmp(e, k[i], klen) == 0 && e[klen] == '=') {
                                        json_object_array_put_idx(env, j,
                                                                  json_object_new_string(kv));
                                        replaced = true;
                                }
                        }
                        if (!replaced)
                                json_object_array_add(env, json_object_new_string(kv));
                }
        } else if (strcmp(instr, "LABEL") == 0) {
                cleanup_strv char **k = NULL, **v = NULL;
                r = key_values(args, "LABEL", &k, &v, err);
                if (r < 0)
                        return r;
                json_object *labels = object_member(config, "Labels");
                for (size_t i = 0; k[i]; i++)
                        json_object_object_add(labels, k[i], json_object_new_string(v[i]));
        } else if (strcmp(instr, "WORKDIR") == 0 || strcmp(instr, "USER") == 0 ||
                   strcmp(instr, "STOPSIGNAL") == 0) {
                cleanup_strv char **w = NULL;
                r = split_words(args, &w, err);
                if (r < 0)
                        return r;
                if (w[0] == NULL || w[1] != NULL)
                        return berth_fail(err, EINVAL, "%s requires exactly one argument", instr);
                const char *key = strcmp(instr, "WORKDIR") == 0 ? "WorkingDir"
                                  : strcmp(instr, "USER") == 0  ? "User"
                                                                : "StopSignal";
                if (strcmp(instr, "WORKDIR") == 0 && w[0][0] != '/') {
                        /* Relative to the previous WORKDIR, as in a Dockerfile. */
                        const char *prev = berth_json_str(config, "WorkingDir");
                        cleanup_free char *abs =
                            xasprintf("%s/%s", prev && *prev ? prev : "", w[0]);
                        json_object_object_add(config, key, json_object_new_string(abs));
                } else {
                        json_object_object_add(config, key, json_object_new_string(w[0]));
                }
        } else if (strcmp(instr, "EXPOSE") == 0) {
                cleanup_strv char **w = NULL;
                r = split_words(args, &w, err);
                if (r < 0)
                        return r;
                if (w[0] == NULL)
                        return berth_fail(err, EINVAL, "EXPOSE requires at least one argument");
                json_object *ports = object_member(config, "ExposedPorts");
                for (char **pp = w; *pp; pp++) {
                        cleanup_free char *port = xstrdup(*pp);
                        char *slash = strchr(port, '/');
                        const char *proto = "tcp";
                        if (slash != NULL) {
                                *slash = '\0';
                                proto = slash + 1;
                                for (char *c = slash + 1; *c; c++)
                                        *c = (char)tolower((unsigned char)*c);
                        }
                        if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
                            strcmp(proto, "sctp") != 0)
                                return berth_fail(err, EINVAL, "EXPOSE: invalid protocol in `%s`",
                                                  *pp);
                        /* A port or a range of ports. */
                        char *dash = strchr(port, '-');
                        uint64_t lo, hi;
                        if (dash)
                                *dash = '\0';
                        if (berth_parse_uint64(port, &lo) < 0 || lo == 0 || lo > 65535 ||
                            (dash &&
                             (berth_parse_uint64(dash + 1, &hi) < 0 || hi < lo || hi > 65535)))
                                return berth_fail(err, EINVAL, "EXPOSE: invalid port `%s`", *pp);
                        if (!dash)
                                hi = lo;
                        if (hi - lo > 1024)
                                return berth_fail(err, E2BIG,
                                                  "EXPOSE: port range `%s` is too large", *pp);
                        for (uint64_t x = lo; x <= hi; x++) {
                                cleanup_free char *key =
                                    xasprintf("%llu/%s", (unsigned long long)x, proto);
                                json_object_object_add(ports, key, json_object_new_object());
                        }
                }
        } else if (strcmp(instr, "VOLUME") == 0) {
                json_object *vols = object_member(config, "Volumes");
                cleanup_json json_object *arr = json_form(args);
                cleanup_strv char **w = NULL;
                if (arr != NULL) {
                        for (size_t i = 0; i < json_object_array_length(arr); i++)
                                json_object_object_add(
                                    vols, json_object_get_string(json_object_array_get_idx(arr, i)),
                                    json_object_new_object());
                } else {
                        r = split_words(args, &w, err);
                        if (r < 0)
                                return r;
                        if (w[0] == NULL)
                                return berth_fail(err, EINVAL,
                                                  "VOLUME requires at least one argument");
                        for (char **v = w; *v; v++)
                                json_object_object_add(vols, *v, json_object_new_object());
                }
        } else if (*instr == '\0') {
                return berth_fail(err, EINVAL, "empty change");
        } else {
                return berth_fail(err, EINVAL,
                                  "`%s` is not a valid change command (one of CMD, ENTRYPOINT, "
                                  "ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)",
                                  instr);
        }
        return 0;
}

static char *now_rfc3339(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        int64_t fixed;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (sde != NULL && berth_parse_int64(sde, &fixed) == 0) {
                ts.tv_sec = (time_t)fixed;
                ts.tv_nsec = 0;
        }
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        if (ts.tv_nsec)
                return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
        return xasprintf("%sZ", buf);
}

int berth_image_from_layer(struct berth_image_store *s, const char *layer_digest,
                           json_object *container_config, const char *created_by,
                           const char *comment, const char *ref, struct berth_image **ret,
                           berth_error **err)
{
        cleanup_json json_object *cfg = json_object_new_object();
        cleanup_free char *created = now_rfc3339();
        cleanup_free char *cdata = NULL, *mdata = NULL;
        size_t clen, mlen;
        char cdigest[BERTH_DIGEST_STR_LEN], mdigest[BERTH_DIGEST_STR_LEN];
        struct berth_manifest m = {.kind = BERTH_MANIFEST_OCI};
        struct berth_descriptor layer = {0};
        int64_t lsize;
        int r;

        r = berth_blob_size(s, layer_digest, &lsize, err);
        if (r < 0)
                return r;
        json_object_object_add(cfg, "architecture", json_object_new_string(berth_host_arch()));
        if (comment && *comment)
                json_object_object_add(cfg, "comment", json_object_new_string(comment));
        json_object_object_add(cfg, "config",
                               container_config ? json_object_get(container_config)
                                                : json_object_new_object());
        json_object_object_add(cfg, "created", json_object_new_string(created));
        json_object *hist = json_object_new_array();
        json_object *h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(created));
        if (created_by)
                json_object_object_add(h, "created_by", json_object_new_string(created_by));
        if (comment && *comment)
                json_object_object_add(h, "comment", json_object_new_string(comment));
        json_object_array_add(hist, h);
        json_object_object_add(cfg, "history", hist);
        json_object_object_add(cfg, "os", json_object_new_string("linux"));
        json_object *rootfs = json_object_new_object();
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object *ids = json_object_new_array();
        json_object_array_add(ids, json_object_new_string(layer_digest));
        json_object_object_add(rootfs, "diff_ids", ids);
        json_object_object_add(cfg, "rootfs", rootfs);
        cdata = berth_json_canonical(cfg, &clen);
        r = berth_blob_put(s, cdata, clen, NULL, cdigest, err);
        if (r < 0)
                return r;

        m.media_type = BERTH_MT_OCI_MANIFEST;
        m.config.media_type = BERTH_MT_OCI_CONFIG;
        memcpy(m.config.digest, cdigest, sizeof(cdigest));
        m.config.size = (int64_t)clen;
        layer.media_type = BERTH_MT_OCI_LAYER;
        snprintf(layer.digest, sizeof(layer.digest), "%s", layer_digest);
        layer.size = lsize;
        m.layers = &layer;
        m.n_layers = 1;
        r = berth_manifest_write(&m, &mdata, &mlen, err);
        if (r < 0)
                return r;
        r = berth_blob_put(s, mdata, mlen, NULL, mdigest, err);
        if (r < 0)
                return r;
        cleanup_image struct berth_image *img = NULL;
        r = berth_image_register(s, mdigest, &img, err);
        if (r < 0)
                return r;
        if (ref != NULL) {
                r = berth_image_tag(s, img->id, ref, err);
                if (r < 0)
                        return r;
                berth_image_free(img);
                img = NULL;
                r = berth_image_get_by_id(s, cdigest, &img, err);
                if (r < 0)
                        return r;
        }
        if (ret)
                *ret = steal_pointer(&img);
        return 0;
}

int berth_image_import(struct berth_image_store *s, int fd, char *const *changes,
                       const char *message, const char *ref, struct berth_image **ret,
                       berth_error **err)
{
        cleanup_json json_object *config = json_object_new_object();
        cleanup_blob_writer struct berth_blob_writer *w = NULL;
        char digest[BERTH_DIGEST_STR_LEN];
        int r;

        if (ref != NULL) {
                cleanup_ref struct berth_ref *parsed = NULL;
                r = berth_ref_parse_normalized(ref, &parsed, err);
                if (r < 0)
                        return r;
        }
        for (char *const *c = changes; c && *c; c++) {
                r = berth_image_apply_change(config, *c, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "import: --change `%s`", *c);
        }
        r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        /* The layer is stored uncompressed: its digest is its diffID. */
        r = berth_blob_writer_new(s, NULL, -1, &w, err);
        if (r >= 0) {
                struct archive *a = archive_read_new();
                struct archive_entry *e;
                cleanup_free char *buf = xmalloc(1 << 20);
                archive_read_support_filter_all(a);
                archive_read_support_format_raw(a);
                if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK ||
                    archive_read_next_header(a, &e) != ARCHIVE_OK) {
                        r = berth_fail(err, EINVAL, "import: read the tarball: %s",
                                       archive_error_string(a));
                } else {
                        for (;;) {
                                la_ssize_t n = archive_read_data(a, buf, 1 << 20);
                                if (n < 0) {
                                        r = berth_fail(err, EINVAL, "import: read the tarball: %s",
                                                       archive_error_string(a));
                                        break;
                                }
                                if (n == 0)
                                        break;
                                r = berth_blob_writer_write(w, buf, (size_t)n, err);
                                if (r < 0)
                                        break;
                        }
                }
                archive_read_free(a);
        }
        if (r >= 0 && berth_blob_writer_size(w) == 0)
                r = berth_fail(err, EINVAL, "import: the tarball is empty");
        bool created = false;
        if (r >= 0)
                r = berth_blob_writer_commit(w, digest, &created, err);
        if (r >= 0) {
                r = berth_image_from_layer(s, digest, config, "",
                                           message ? message : "Imported from -", ref, ret, err);
                /* Nothing half-stored: the store lock is held, so every
                 * unreferenced blob is this import's. */
                if (r < 0)
                        (void)berth_image_store_gc(s, NULL, NULL, NULL);
        }
        berth_image_store_unlock(s);
        return r;
}
