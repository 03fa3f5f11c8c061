/* SPDX-License-Identifier: Apache-2.0 */
/* The content store, manifests, records and refcounting, load errors. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static char *tmp_root(void)
{
        char *d = xstrdup("/tmp/berth-test-store-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static size_t count_dir(const char *root, const char *sub)
{
        cleanup_free char *p = xasprintf("%s/%s", root, sub);
        cleanup_closedir DIR *d = opendir(p);
        struct dirent *de;
        size_t n = 0;
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

static void must(int r, berth_error *err)
{
        if (r < 0)
                fail_msg("unexpected error: %s", err ? err->msg : "(none)");
}

/* A tar in memory with the given files ("name", "content" pairs). */
static char *make_tar_n(size_t *ret_len, const char *const *files, const size_t *lens)
{
        size_t cap = 1 << 20;
        char *buf = xmalloc(cap);
        size_t used = 0;
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_open_memory(a, buf, cap, &used);
        for (size_t i = 0; files[i]; i += 2) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, files[i]);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                size_t flen = lens && lens[i / 2] ? lens[i / 2] : strlen(files[i + 1]);
                archive_entry_set_size(e, (la_int64_t)flen);
                archive_write_header(a, e);
                archive_write_data(a, files[i + 1], flen);
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        *ret_len = used;
        return buf;
}

static char *make_tar(size_t *ret_len, const char *const *files)
{
        return make_tar_n(ret_len, files, NULL);
}

static int memfd_with(const void *data, size_t len)
{
        int fd = memfd_create("test", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(berth_write_all(fd, data, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void test_verifying_writer(void **state)
{
        (void)state;
        cleanup_free char *root = tmp_root();
        cleanup_image_store struct berth_image_store *s = NULL;
        cleanup_error berth_error *err = NULL;
        char digest[BERTH_DIGEST_STR_LEN], right[BERTH_DIGEST_STR_LEN];
        const char data[] = "hello, store";
        const char *wrong =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000";

        must(berth_image_store_open(root, &s, &err), err);
        /* A mismatching digest is refused and nothing is stored. */
        assert_int_equal(berth_blob_put(s, data, strlen(data), wrong, digest, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "digest mismatch"));
        assert_int_equal(count_dir(root, "blobs/sha256"), 0);
        assert_int_equal(count_dir(root, "blobs/.tmp"), 0);
        assert_false(berth_blob_exists(s, wrong));
        berth_error_freep(&err);

        /* A size mismatch too. */
        {
                cleanup_blob_writer struct berth_blob_writer *w = NULL;
                berth_sha256_digest(data, strlen(data), right);
                must(berth_blob_writer_new(s, right, 5, &w, &err), err);
                assert_true(berth_blob_writer_write(w, data, strlen(data), &err) < 0);
                assert_non_null(strstr(err->msg, "larger than its announced size"));
                berth_error_freep(&err);
        }
        assert_int_equal(count_dir(root, "blobs/sha256"), 0);
        assert_int_equal(count_dir(root, "blobs/.tmp"), 0);

        /* The right digest stores it, read back verified. */
        must(berth_blob_put(s, data, strlen(data), right, digest, &err), err);
        assert_string_equal(digest, right);
        assert_true(berth_blob_exists(s, right));
        cleanup_free char *back = NULL;
        size_t len;
        must(berth_blob_read(s, right, 1024, &back, &len, &err), err);
        assert_int_equal(len, strlen(data));
        assert_memory_equal(back, data, len);

        /* Corruption on disk is caught on read. */
        cleanup_free char *p = berth_blob_path(s, right);
        chmod(p, 0644);
        must(berth_write_file(p, "hellO, store", 12, &err), err);
        free(back);
        back = NULL;
        assert_true(berth_blob_read(s, right, 1024, &back, &len, &err) < 0);
        assert_non_null(strstr(err->msg, "corrupt"));
        berth_error_freep(&err);

        /* A crash leftover and an unreferenced blob: the check removes both
         * and then finds the store consistent. */
        cleanup_free char *leftover = xasprintf("%s/blobs/.tmp/blob-crashed", root);
        must(berth_write_file_atomic(leftover, "x", 1, 0600, &err), err);
        cleanup_strv char **lines = NULL;
        assert_int_equal(berth_image_check(s, false, &lines, &err), 0);
        assert_int_equal(count_dir(root, "blobs/.tmp"), 0);
        assert_int_equal(count_dir(root, "blobs/sha256"), 0);
        berth_rm_rf(root, NULL);
}

static void test_manifest_golden(void **state)
{
        (void)state;
        struct berth_descriptor layers[2] = {
            {.media_type = (char *)BERTH_MT_OCI_LAYER_GZIP,
             .digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111",
             .size = 1234},
            {.media_type = (char *)BERTH_MT_OCI_LAYER,
             .digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222",
             .size = 10240},
        };
        struct berth_manifest m = {
            .kind = BERTH_MANIFEST_OCI,
            .config =
                {.media_type = (char *)BERTH_MT_OCI_CONFIG,
                 .digest =
                     "sha256:3333333333333333333333333333333333333333333333333333333333333333",
                 .size = 567},
            .layers = layers,
            .n_layers = 2,
        };
        static const char golden[] =
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
            "\"sha256:3333333333333333333333333333333333333333333333333333333333333333\",\"size\":"
            "567},"
            "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":"
            "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":"
            "1234},"
            "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
            "\"sha256:2222222222222222222222222222222222222222222222222222222222222222\",\"size\":"
            "10240}]}";
        cleanup_free char *out = NULL;
        cleanup_error berth_error *err = NULL;
        size_t len;
        char d1[BERTH_DIGEST_STR_LEN], d2[BERTH_DIGEST_STR_LEN];

        must(berth_manifest_write(&m, &out, &len, &err), err);
        assert_string_equal(out, golden);
        berth_sha256_digest(out, len, d1);
        berth_sha256_digest(golden, strlen(golden), d2);
        assert_string_equal(d1, d2);

        /* Parse back, write again: same bytes. */
        cleanup_manifest struct berth_manifest *p = NULL;
        must(berth_manifest_parse(out, len, NULL, &p, &err), err);
        assert_int_equal(p->kind, BERTH_MANIFEST_OCI);
        assert_int_equal(p->n_layers, 2);
        assert_int_equal(p->layers[1].size, 10240);
        assert_int_equal(berth_layer_media_compression(p->layers[0].media_type), 1);
        cleanup_free char *again = NULL;
        size_t len2;
        must(berth_manifest_write(p, &again, &len2, &err), err);
        assert_int_equal(len2, len);
        assert_memory_equal(again, out, len);

        /* Docker schema2: its own descriptor key order. */
        p->kind = BERTH_MANIFEST_DOCKER;
        cleanup_free char *docker = NULL;
        must(berth_manifest_write(p, &docker, &len2, &err), err);
        assert_non_null(strstr(
            docker, "\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\""));
        assert_non_null(strstr(
            docker,
            "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":567,\"digest\""));
        cleanup_manifest struct berth_manifest *pd = NULL;
        must(berth_manifest_parse(docker, len2, NULL, &pd, &err), err);
        assert_int_equal(pd->kind, BERTH_MANIFEST_DOCKER);
}

static void test_manifest_list(void **state)
{
        (void)state;
        static const char list[] =
            "{\"schemaVersion\":2,\"mediaType\":\"application/"
            "vnd.docker.distribution.manifest.list.v2+json\","
            "\"manifests\":[{\"mediaType\":\"application/"
            "vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
            "\"digest\":\"sha256:"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
            "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
            "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
            "\"digest\":\"sha256:"
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
            "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
            "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
            "\"digest\":\"sha256:"
            "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\","
            "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}";
        cleanup_manifest struct berth_manifest *m = NULL;
        cleanup_error berth_error *err = NULL;
        must(berth_manifest_parse(list, strlen(list), NULL, &m, &err), err);
        assert_int_equal(m->kind, BERTH_INDEX_DOCKER);
        assert_int_equal(m->n_manifests, 3);
        const struct berth_descriptor *d = berth_index_select(m, "linux", "amd64", NULL, &err);
        assert_non_null(d);
        assert_true(d->digest[7] == 'b');
        d = berth_index_select(m, "linux", "arm", "v7", &err);
        assert_non_null(d);
        assert_true(d->digest[7] == 'a');
        d = berth_index_select(m, "linux", "s390x", NULL, &err);
        assert_null(d);
        assert_non_null(strstr(err->msg, "s390x"));
        berth_error_freep(&err);

        /* Bounds and bad input. */
        cleanup_manifest struct berth_manifest *bad = NULL;
        assert_true(berth_manifest_parse("{\"schemaVersion\":1}", 19, NULL, &bad, &err) < 0);
        berth_error_freep(&err);
        assert_true(berth_manifest_parse("[1,2", 4, NULL, &bad, &err) < 0);
        berth_error_freep(&err);
        static const char nodigest[] =
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
            "\"config\":{\"mediaType\":\"x\",\"size\":1},\"layers\":[]}";
        assert_true(berth_manifest_parse(nodigest, strlen(nodigest), NULL, &bad, &err) < 0);
        assert_non_null(strstr(err->msg, "no digest"));
}

/* Two images sharing a layer: removing one keeps the layer. */
static void test_refcounting(void **state)
{
        (void)state;
        cleanup_free char *root = tmp_root();
        cleanup_image_store struct berth_image_store *s = NULL;
        cleanup_error berth_error *err = NULL;
        static const char *const files[] = {"hello.txt", "hello\n", "etc/os", "test\n", NULL};
        size_t len;
        cleanup_free char *tar = make_tar(&len, files);
        char layer[BERTH_DIGEST_STR_LEN];
        cleanup_image struct berth_image *a = NULL, *b = NULL;
        cleanup_json json_object *ca = json_object_new_object();
        cleanup_json json_object *cb = json_object_new_object();

        must(berth_image_store_open(root, &s, &err), err);
        must(berth_blob_put(s, tar, len, NULL, layer, &err), err);
        must(berth_image_apply_change(ca, "CMD [\"a\"]", &err), err);
        must(berth_image_apply_change(cb, "CMD b", &err), err);
        must(berth_image_from_layer(s, layer, ca, "test", NULL, "img-a", &a, &err), err);
        must(berth_image_from_layer(s, layer, cb, "test", NULL, "img-b:v1", &b, &err), err);
        assert_string_not_equal(a->id, b->id);
        assert_int_equal(a->n_layers, 1);
        assert_string_equal(a->layers[0].chain_id, b->layers[0].chain_id);
        assert_string_equal(a->layers[0].diff_id, layer);
        assert_string_equal(a->repo_tags[0], "docker.io/library/img-a:latest");
        cleanup_free char *snap =
            xasprintf("%s/layers/%s/hello.txt", root, a->layers[0].chain_id + 7);
        assert_int_equal(access(snap, F_OK), 0);

        /* Shared size. */
        struct berth_image_usage *u = NULL;
        size_t nu;
        must(berth_image_usage(s, &u, &nu, &err), err);
        assert_int_equal(nu, 2);
        assert_true(u[0].shared_size > 0);
        assert_int_equal(u[0].unique_size, 0);
        free(u);

        cleanup_strv char **lines = NULL;
        must(berth_image_remove(s, "img-a", false, &lines, &err), err);
        assert_string_equal(lines[0], "Untagged: img-a:latest");
        assert_true(berth_blob_exists(s, layer));
        assert_int_equal(access(snap, F_OK), 0);
        assert_false(berth_blob_exists(s, a->id));
        cleanup_image struct berth_image *gone = NULL;
        assert_int_equal(berth_image_get(s, "img-a", &gone, &err), -ENOENT);
        berth_error_freep(&err);

        /* A container holds the layer: removing the last image keeps it. */
        must(berth_image_store_hold_layer(s, b->layers[0].chain_id, "ctr1", &err), err);
        berth_strv_freep(&lines);
        assert_int_equal(berth_image_remove(s, "img-b:v1", false, &lines, &err), -EBUSY);
        berth_error_freep(&err);
        berth_strv_freep(&lines);
        must(berth_image_remove(s, "img-b:v1", true, &lines, &err), err);
        assert_int_equal(access(snap, F_OK), 0);
        cleanup_strv char **check = NULL;
        assert_int_equal(berth_image_check(s, false, &check, &err), 0);
        assert_int_equal(access(snap, F_OK), 0);
        /* Released: the next GC frees it. */
        must(berth_image_store_release_layer(s, b->layers[0].chain_id, "ctr1", &err), err);
        must(berth_image_store_gc(s, NULL, NULL, &err), err);
        assert_int_equal(access(snap, F_OK), -1);
        assert_false(berth_blob_exists(s, layer));
        assert_int_equal(count_dir(root, "blobs/sha256"), 0);
        assert_int_equal(count_dir(root, "layers"), 0);
        berth_rm_rf(root, NULL);
}

static void test_changes(void **state)
{
        (void)state;
        cleanup_json json_object *c = json_object_new_object();
        cleanup_error berth_error *err = NULL;
        must(berth_image_apply_change(c, "CMD echo hi", &err), err);
        must(berth_image_apply_change(c, "ENTRYPOINT [\"/bin/sh\", \"-c\"]", &err), err);
        must(berth_image_apply_change(c, "ENV A=1 B=\"two words\"", &err), err);
        must(berth_image_apply_change(c, "ENV A 3", &err), err);
        must(berth_image_apply_change(c, "EXPOSE 80 53/udp", &err), err);
        must(berth_image_apply_change(c, "LABEL com.x=\"y z\"", &err), err);
        must(berth_image_apply_change(c, "WORKDIR /srv", &err), err);
        must(berth_image_apply_change(c, "WORKDIR app", &err), err);
        must(berth_image_apply_change(c, "USER nobody", &err), err);
        must(berth_image_apply_change(c, "VOLUME [\"/data\"]", &err), err);
        must(berth_image_apply_change(c, "STOPSIGNAL SIGINT", &err), err);
        cleanup_free char *s = berth_json_canonical(c, NULL);
        assert_string_equal(
            s, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
               "\"Env\":[\"A=3\",\"B=two words\"],\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
               "\"Labels\":{\"com.x\":\"y z\"},\"WorkingDir\":\"/srv/app\",\"User\":\"nobody\","
               "\"Volumes\":{\"/data\":{}},\"StopSignal\":\"SIGINT\"}");
        assert_true(berth_image_apply_change(c, "RUN rm -rf /", &err) < 0);
        assert_non_null(strstr(err->msg, "`RUN` is not a valid change command"));
        berth_error_freep(&err);
        assert_true(berth_image_apply_change(c, "EXPOSE 99999", &err) < 0);
        berth_error_freep(&err);
        assert_true(berth_image_apply_change(c, "USER", &err) < 0);
}

/* Bad archives: each refused with a clear error, nothing left behind. */
static void load_expect_error(struct berth_image_store *s, const char *root, const void *data,
                              size_t len, const char *msg_part)
{
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_close int fd = memfd_with(data, len);
        int r = berth_image_load(s, fd, &lines, &err);
        if (r >= 0)
                fail_msg("load should have failed (%s)", msg_part);
        if (strstr(err->msg, msg_part) == NULL)
                fail_msg("load error `%s` does not mention `%s`", err->msg, msg_part);
        assert_int_equal(count_dir(root, "blobs/sha256"), 0);
        assert_int_equal(count_dir(root, "blobs/.tmp"), 0);
        assert_int_equal(count_dir(root, "layers"), 0);
        assert_int_equal(count_dir(root, "images/records"), 0);
        cleanup_strv char **check = NULL;
        assert_int_equal(berth_image_check(s, false, &check, &err), 0);
}

static void test_load_bad_input(void **state)
{
        (void)state;
        cleanup_free char *root = tmp_root();
        cleanup_image_store struct berth_image_store *s = NULL;
        cleanup_error berth_error *err = NULL;
        static const char *const layer_files[] = {"a", "b\n", NULL};
        size_t llen, len;
        cleanup_free char *layer = make_tar(&llen, layer_files);
        char ld[BERTH_DIGEST_STR_LEN], cd[BERTH_DIGEST_STR_LEN];
        berth_sha256_digest(layer, llen, ld);
        cleanup_free char *config =
            xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                      ld);
        berth_sha256_digest(config, strlen(config), cd);
        cleanup_free char *cfgname = xasprintf("%s.json", cd + 7);
        cleanup_free char *manifest = xasprintf(
            "[{\"Config\":\"%s\",\"RepoTags\":[\"t:1\"],\"Layers\":[\"l/layer.tar\"]}]", cfgname);
        must(berth_image_store_open(root, &s, &err), err);

        /* A good archive loads. */
        {
                const char *files[] = {cfgname, config, "manifest.json", manifest, "l/layer.tar",
                                       layer,   NULL};
                size_t lens[] = {0, 0, llen};
                cleanup_free char *good = make_tar_n(&len, files, lens);
                cleanup_close int fd = memfd_with(good, len);
                cleanup_strv char **lines = NULL;
                must(berth_image_load(s, fd, &lines, &err), err);
                assert_string_equal(lines[0], "Loaded image: t:1");
                cleanup_strv char **rm = NULL;
                must(berth_image_remove(s, "t:1", false, &rm, &err), err);
                assert_int_equal(count_dir(root, "blobs/sha256"), 0);

                /* Truncated. */
                load_expect_error(s, root, good, len / 2 + 100, "truncated");
        }
        /* A manifest naming a layer that is not there. */
        {
                cleanup_free char *m2 =
                    xasprintf("[{\"Config\":\"%s\",\"Layers\":[\"missing/layer.tar\"]}]", cfgname);
                const char *files[] = {cfgname, config, "manifest.json", m2, "l/layer.tar",
                                       layer,   NULL};
                size_t lens[] = {0, 0, llen};
                cleanup_free char *bad = make_tar_n(&len, files, lens);
                load_expect_error(s, root, bad, len, "not in the archive");
        }
        /* A config whose content does not match its name. */
        {
                cleanup_free char *other = xasprintf("%s ", config);
                const char *files[] = {cfgname, other, "manifest.json", manifest, "l/layer.tar",
                                       layer,   NULL};
                size_t lens[] = {0, 0, llen};
                cleanup_free char *bad = make_tar_n(&len, files, lens);
                load_expect_error(s, root, bad, len, "does not match its digest");
        }
        /* A layer whose content is not the config's diffID. */
        {
                static const char *const other_files[] = {"a", "c\n", NULL};
                size_t olen;
                cleanup_free char *other = make_tar(&olen, other_files);
                const char *files[] = {cfgname, config, "manifest.json", manifest, "l/layer.tar",
                                       other,   NULL};
                size_t lens[] = {0, 0, olen};
                cleanup_free char *bad = make_tar_n(&len, files, lens);
                load_expect_error(s, root, bad, len, "diffID");
        }
        /* An OCI layout with a corrupt blob. */
        {
                cleanup_free char *blobname = xasprintf("blobs/sha256/%s", ld + 7);
                const char *files[] = {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}",
                                       "index.json", "{\"schemaVersion\":2,\"manifests\":[]}",
                                       blobname,     "corrupt",
                                       NULL};
                cleanup_free char *bad = make_tar(&len, files);
                load_expect_error(s, root, bad, len, "digest mismatch");
        }
        /* An OCI index naming a manifest that is not there. */
        {
                const char *files[] = {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}",
                                       "index.json",
                                       "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                                       "\"application/vnd.oci.image.manifest.v1+json\","
                                       "\"digest\":\"sha256:"
                                       "44444444444444444444444444444444444444444444444444444444444"
                                       "44444\",\"size\":3}]}",
                                       NULL};
                cleanup_free char *bad = make_tar(&len, files);
                load_expect_error(s, root, bad, len, "not in the archive");
        }
        /* Not an image archive at all. */
        load_expect_error(s, root, "garbage garbage garbage", 23, "image archive");
        berth_rm_rf(root, NULL);
}

/* save then load (both formats) gives back the same image id. */
static void test_save_load_roundtrip(void **state)
{
        (void)state;
        cleanup_free char *root = tmp_root();
        cleanup_free char *root2 = tmp_root();
        cleanup_image_store struct berth_image_store *s = NULL, *s2 = NULL;
        cleanup_error berth_error *err = NULL;
        static const char *const files[] = {"x", "y\n", NULL};
        size_t len;
        cleanup_free char *tar = make_tar(&len, files);
        cleanup_close int in = memfd_with(tar, len);
        cleanup_image struct berth_image *img = NULL;
        char *changes[] = {(char *)"CMD [\"x\"]", NULL};

        must(berth_image_store_open(root, &s, &err), err);
        must(berth_image_store_open(root2, &s2, &err), err);
        must(berth_image_import(s, in, changes, NULL, "rt:1", &img, &err), err);
        for (int fmt = 0; fmt < 2; fmt++) {
                cleanup_close int out = memfd_create("save", MFD_CLOEXEC);
                char *names[] = {(char *)"rt:1", NULL};
                cleanup_strv char **lines = NULL;
                must(berth_image_save(s, names, fmt ? BERTH_ARCHIVE_OCI : BERTH_ARCHIVE_DOCKER, out,
                                      &err),
                     err);
                lseek(out, 0, SEEK_SET);
                must(berth_image_load(s2, out, &lines, &err), err);
                assert_string_equal(lines[0], "Loaded image: rt:1");
                cleanup_image struct berth_image *back = NULL;
                must(berth_image_get(s2, "rt:1", &back, &err), err);
                assert_string_equal(back->id, img->id);
                assert_string_equal(back->layers[0].diff_id, img->layers[0].diff_id);
                cleanup_strv char **rm = NULL;
                must(berth_image_remove(s2, "rt:1", false, &rm, &err), err);
        }
        berth_rm_rf(root, NULL);
        berth_rm_rf(root2, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_verifying_writer),
            cmocka_unit_test(test_manifest_golden),
            cmocka_unit_test(test_manifest_list),
            cmocka_unit_test(test_refcounting),
            cmocka_unit_test(test_changes),
            cmocka_unit_test(test_load_bad_input),
            cmocka_unit_test(test_save_load_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
