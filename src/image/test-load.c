/* SPDX-License-Identifier: Apache-2.0 */
/* `load` unpacking layers while it stores them (archive.c, on threads) gives
 * the same images and byte-identical snapshots as storing first and
 * unpacking one layer after the other; the digests of the apply's tee mode. */
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
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "image/layer.h"
#include "image/store-internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void must(int r, berth_error *err)
{
        if (r < 0)
                fail_msg("unexpected error: %s", err ? err->msg : "(none)");
}

static char *tmp_root(void)
{
        char *d = xstrdup("/tmp/berth-test-load-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static int memfd_with(const void *data, size_t len)
{
        int fd = memfd_create("test", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(berth_write_all(fd, data, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* Incompressible bytes, the same every run. */
static char *noise(size_t len, uint32_t seed)
{
        char *p = xmalloc(len);
        uint32_t x = seed | 1;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                p[i] = (char)(x >> 24);
        }
        return p;
}

enum { F_REG, F_DIR, F_SYM, F_HARD };

struct ent {
        const char *name;
        int kind;
        const char *data; /* content, or the link target */
        size_t len;
        const char *xattr; /* "user.x" set to "v" */
};

/* A tar (gzip-compressed when GZIP) of ENTS, NULL-name terminated. */
static char *make_tar(const struct ent *ents, bool gzip, size_t *ret_len)
{
        size_t cap = 8 << 20, used = 0;
        char *buf = xmalloc(cap);
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (gzip)
                archive_write_add_filter_gzip(a);
        assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
        for (const struct ent *e = ents; e->name; e++) {
                struct archive_entry *ae = archive_entry_new();
                archive_entry_set_pathname(ae, e->name);
                archive_entry_set_mtime(ae, 1700000000, 123);
                archive_entry_set_uid(ae, 1000);
                archive_entry_set_gid(ae, 100);
                switch (e->kind) {
                case F_REG:
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_perm(ae, 0640);
                        archive_entry_set_size(ae, (la_int64_t)e->len);
                        break;
                case F_DIR:
                        archive_entry_set_filetype(ae, AE_IFDIR);
                        archive_entry_set_perm(ae, 0751);
                        break;
                case F_SYM:
                        archive_entry_set_filetype(ae, AE_IFLNK);
                        archive_entry_set_perm(ae, 0777);
                        archive_entry_set_symlink(ae, e->data);
                        break;
                case F_HARD:
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_perm(ae, 0640);
                        archive_entry_set_hardlink(ae, e->data);
                        break;
                default:
                        fail();
                }
                if (e->xattr)
                        archive_entry_xattr_add_entry(ae, e->xattr, "v", 1);
                assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
                if (e->kind == F_REG && e->len > 0)
                        assert_int_equal(archive_write_data(a, e->data, e->len),
                                         (la_ssize_t)e->len);
                archive_entry_free(ae);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        *ret_len = used;
        return buf;
}

struct image_fixture {
        char *layers[3];
        size_t lens[3];
        char diff_ids[3][BERTH_DIGEST_STR_LEN];
        char *big, *mid, *small;
};

/* Three layers: a tree with a symlink, a hardlink and an xattr; a
 * whiteout, an opaque directory and a new file; a gzip-compressed one. All
 * larger than the size from which load unpacks while storing. */
static void fixture_init(struct image_fixture *f)
{
        f->big = noise(300000, 1);
        f->mid = noise(100000, 2);
        f->small = noise(90000, 3);
        const struct ent l0[] = {
            {"etc/", F_DIR, NULL, 0, NULL},
            {"etc/big", F_REG, f->big, 300000, "user.berth"},
            {"etc/link", F_SYM, "big", 0, NULL},
            {"etc/hard", F_HARD, "etc/big", 0, NULL},
            {"var/", F_DIR, NULL, 0, NULL},
            {"var/lib/", F_DIR, NULL, 0, NULL},
            {"var/lib/old", F_REG, "old\n", 4, NULL},
            {"gone", F_REG, "bye\n", 4, NULL},
            {NULL, 0, NULL, 0, NULL},
        };
        const struct ent l1[] = {
            {".wh.gone", F_REG, "", 0, NULL},
            {"var/", F_DIR, NULL, 0, NULL},
            {"var/lib/", F_DIR, NULL, 0, NULL},
            {"var/lib/.wh..wh..opq", F_REG, "", 0, NULL},
            {"var/lib/new", F_REG, f->mid, 100000, NULL},
            {NULL, 0, NULL, 0, NULL},
        };
        const struct ent l2[] = {
            {"srv/", F_DIR, NULL, 0, NULL},
            {"srv/data", F_REG, f->small, 90000, NULL},
            {NULL, 0, NULL, 0, NULL},
        };
        const struct ent *all[] = {l0, l1, l2};
        for (int i = 0; i < 3; i++) {
                size_t plain_len;
                cleanup_free char *plain = make_tar(all[i], false, &plain_len);
                berth_sha256_digest(plain, plain_len, f->diff_ids[i]);
                f->layers[i] = make_tar(all[i], i == 2, &f->lens[i]);
                assert_true(f->lens[i] >= 64 * 1024);
        }
}

static void fixture_free(struct image_fixture *f)
{
        for (int i = 0; i < 3; i++)
                free(f->layers[i]);
        free(f->big);
        free(f->mid);
        free(f->small);
}

/* A docker-archive of the fixture, config and manifest.json last (as
 * `docker save` orders them), the diffID of layer BAD (if < 3) wrong. */
static char *make_archive(const struct image_fixture *f, int bad, size_t *ret_len)
{
        char cfg[2048], mf[1024], cfgdigest[BERTH_DIGEST_STR_LEN];
        char names[3][32];
        int n = snprintf(
            cfg, sizeof(cfg),
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
            "\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
            "[\"%s\",\"%s\",\"%s\"]}}",
            bad == 0 ? f->diff_ids[1] : f->diff_ids[0], bad == 1 ? f->diff_ids[0] : f->diff_ids[1],
            bad == 2 ? f->diff_ids[0] : f->diff_ids[2]);
        berth_sha256_digest(cfg, (size_t)n, cfgdigest);
        char cfgname[80];
        snprintf(cfgname, sizeof(cfgname), "%s.json", cfgdigest + 7);
        for (int i = 0; i < 3; i++)
                snprintf(names[i], sizeof(names[i]), "l%d/layer.tar", i);
        int m = snprintf(
            mf, sizeof(mf),
            "[{\"Config\":\"%s\",\"RepoTags\":[\"test/par:1\"],\"Layers\":[\"%s\",\"%s\",\"%s\"]}]",
            cfgname, names[0], names[1], names[2]);
        const struct ent ents[] = {
            {names[0], F_REG, f->layers[0], f->lens[0], NULL},
            {names[1], F_REG, f->layers[1], f->lens[1], NULL},
            {names[2], F_REG, f->layers[2], f->lens[2], NULL},
            {cfgname, F_REG, cfg, (size_t)n, NULL},
            {"manifest.json", F_REG, mf, (size_t)m, NULL},
            {NULL, 0, NULL, 0, NULL},
        };
        return make_tar(ents, false, ret_len);
}

/* One line per file under DIR/REL, sorted: everything a snapshot is. */
static void describe(const char *dir, const char *rel, char **out, size_t *len)
{
        cleanup_free char *path = rel[0] ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
        struct dirent **names = NULL;
        int n = scandir(path, &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                        free(names[i]);
                        continue;
                }
                cleanup_free char *r = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                cleanup_free char *p = xasprintf("%s/%s", dir, r);
                struct stat st;
                assert_int_equal(lstat(p, &st), 0);
                char what[BERTH_DIGEST_STR_LEN + 64] = "";
                if (S_ISREG(st.st_mode)) {
                        cleanup_free char *data = NULL;
                        size_t dlen;
                        assert_int_equal(berth_read_file(p, &data, &dlen, NULL), 0);
                        berth_sha256_digest(data, dlen, what);
                } else if (S_ISLNK(st.st_mode)) {
                        ssize_t l = readlink(p, what, sizeof(what) - 1);
                        assert_true(l > 0);
                        what[l] = '\0';
                }
                char xattrs[512] = "";
                ssize_t xl = llistxattr(p, xattrs, sizeof(xattrs));
                assert_true(xl >= 0);
                cleanup_free char *xs = xstrdup("");
                for (ssize_t o = 0; o < xl; o += (ssize_t)strlen(xattrs + o) + 1) {
                        char v[64] = "";
                        ssize_t vl = lgetxattr(p, xattrs + o, v, sizeof(v) - 1);
                        char *nxs =
                            xasprintf("%s %s=%.*s", xs, xattrs + o, (int)(vl > 0 ? vl : 0), v);
                        free(xs);
                        xs = nxs;
                }
                char *line = xasprintf("%s%s %o %u:%u n%lu s%lld m%lld.%ld r%lu %s%s\n", *out, r,
                                       (unsigned)st.st_mode, (unsigned)st.st_uid,
                                       (unsigned)st.st_gid, (unsigned long)st.st_nlink,
                                       (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                                       st.st_mtim.tv_nsec, (unsigned long)st.st_rdev, what, xs);
                free(*out);
                *out = line;
                *len += 1;
                if (S_ISDIR(st.st_mode))
                        describe(dir, r, out, len);
                free(names[i]);
        }
        free(names);
}

static char *describe_snapshot(const char *root, const char *chain, size_t *ret_n)
{
        cleanup_free char *p = berth_snapshot_path(root, chain);
        char *out = xstrdup("");
        *ret_n = 0;
        assert_non_null(p);
        describe(p, "", &out, ret_n);
        return out;
}

/* Nothing left behind under layers/ but snapshots, nor in blobs/.tmp. */
static void assert_no_leftovers(const char *root)
{
        const char *dirs[] = {"layers", "blobs/.tmp"};
        for (size_t i = 0; i < 2; i++) {
                cleanup_free char *p = xasprintf("%s/%s", root, dirs[i]);
                cleanup_closedir DIR *d = opendir(p);
                struct dirent *de;
                assert_non_null(d);
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (i == 1 || de->d_name[0] == '.')
                                fail_msg("left behind: %s/%s", p, de->d_name);
                }
        }
}

static void load(struct berth_image_store *s, const void *data, size_t len)
{
        cleanup_error berth_error *err = NULL;
        cleanup_strv char **lines = NULL;
        cleanup_close int fd = memfd_with(data, len);
        must(berth_image_load(s, fd, &lines, &err), err);
        assert_string_equal(lines[0], "Loaded image: test/par:1");
}

static void test_parallel_same_as_serial(void **state)
{
        (void)state;
        struct image_fixture f;
        size_t len;
        cleanup_free char *root_par = tmp_root();
        cleanup_free char *root_ser = tmp_root();
        cleanup_image_store struct berth_image_store *par = NULL, *ser = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_image struct berth_image *ip = NULL, *is = NULL;

        fixture_init(&f);
        cleanup_free char *archive = make_archive(&f, 3, &len);
        must(berth_image_store_open(root_par, &par, &err), err);
        must(berth_image_store_open(root_ser, &ser, &err), err);
        ser->serial_unpack = true;
        /* A small queue: the reader waits for the unpackers all the time. */
        par->spool_max = 16384;
        load(par, archive, len);
        load(ser, archive, len);
        /* The parallel path was taken for every layer, the serial never. */
        assert_int_equal(par->prepared_used, 3);
        assert_int_equal(ser->prepared_used, 0);

        must(berth_image_get(par, "test/par:1", &ip, &err), err);
        must(berth_image_get(ser, "test/par:1", &is, &err), err);
        assert_string_equal(ip->id, is->id);
        assert_string_equal(ip->manifest_digest, is->manifest_digest);
        assert_int_equal(ip->n_layers, 3);
        assert_int_equal(ip->size, is->size);
        for (size_t i = 0; i < 3; i++) {
                assert_string_equal(ip->layers[i].digest, is->layers[i].digest);
                assert_string_equal(ip->layers[i].diff_id, f.diff_ids[i]);
                assert_string_equal(ip->layers[i].chain_id, is->layers[i].chain_id);
                assert_int_equal(ip->layers[i].unpacked_size, is->layers[i].unpacked_size);
                size_t np, ns;
                cleanup_free char *dp = describe_snapshot(root_par, ip->layers[i].chain_id, &np);
                cleanup_free char *ds = describe_snapshot(root_ser, is->layers[i].chain_id, &ns);
                assert_true(np >= 2);
                assert_string_equal(dp, ds);
        }
        /* What the layers say is there: the xattr, the hardlink, the
         * whiteout, the opaque directory. */
        {
                size_t n;
                cleanup_free char *d0 = describe_snapshot(root_par, ip->layers[0].chain_id, &n);
                cleanup_free char *d1 = describe_snapshot(root_par, ip->layers[1].chain_id, &n);
                assert_non_null(strstr(d0, "user.berth=v"));
                assert_non_null(strstr(d0, "etc/hard 100640 1000:100 n2 s300000"));
                assert_non_null(strstr(d1, "gone 20640 1000:100"));
                assert_non_null(strstr(d1, "trusted.overlay.opaque=y"));
        }
        assert_no_leftovers(root_par);
        assert_no_leftovers(root_ser);

        /* Loading it again keeps the snapshots and leaves nothing behind. */
        load(par, archive, len);
        assert_int_equal(par->prepared_used, 3);
        assert_no_leftovers(root_par);

        fixture_free(&f);
        berth_rm_rf(root_par, NULL);
        berth_rm_rf(root_ser, NULL);
}

/* A layer whose content does not match the config's diffID: the load
 * fails, and neither a snapshot nor a temporary directory remains. */
static void test_parallel_diffid_mismatch(void **state)
{
        (void)state;
        struct image_fixture f;
        fixture_init(&f);
        for (int bad = 0; bad < 3; bad++) {
                size_t len;
                cleanup_free char *root = tmp_root();
                cleanup_image_store struct berth_image_store *s = NULL;
                cleanup_error berth_error *err = NULL;
                cleanup_free char *archive = make_archive(&f, bad, &len);
                cleanup_close int fd = memfd_with(archive, len);
                cleanup_strv char **lines = NULL;

                must(berth_image_store_open(root, &s, &err), err);
                assert_true(berth_image_load(s, fd, &lines, &err) < 0);
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "diffID"));
                assert_int_equal(s->prepared_used, (unsigned)bad);
                cleanup_free char *layers = xasprintf("%s/layers", root);
                cleanup_closedir DIR *d = opendir(layers);
                struct dirent *de;
                assert_non_null(d);
                while ((de = readdir(d)) != NULL)
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                fail_msg("left behind: %s", de->d_name);
                berth_rm_rf(root, NULL);
        }
        fixture_free(&f);
}

/* The tee mode of the apply: the caller's digest is not computed again. */
static void test_apply_digests(void **state)
{
        (void)state;
        struct image_fixture f;
        fixture_init(&f);
        for (int i = 1; i < 3; i++) { /* layer 1 is plain, layer 2 gzip */
                char raw[BERTH_DIGEST_STR_LEN];
                berth_sha256_digest(f.layers[i], f.lens[i], raw);
                for (int tee = 0; tee < 2; tee++) {
                        cleanup_free char *root = tmp_root();
                        cleanup_close int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        cleanup_close int in = memfd_with(f.layers[i], f.lens[i]);
                        cleanup_error berth_error *err = NULL;
                        struct berth_layer_apply_stats st;
                        memset(&st, 'x', sizeof(st));
                        must(berth_layer_apply(dfd, in, BERTH_LAYER_AUTO,
                                               BERTH_LAYER_APPLY_OVERLAY |
                                                   (tee ? BERTH_LAYER_APPLY_NO_RAW_DIGEST : 0),
                                               &st, &err),
                             err);
                        assert_int_equal(st.size, f.lens[i]);
                        if (!tee) {
                                assert_string_equal(st.digest, raw);
                                assert_string_equal(st.diff_id, f.diff_ids[i]);
                        } else {
                                assert_string_equal(st.digest, "");
                                assert_string_equal(st.diff_id, i == 2 ? f.diff_ids[i] : "");
                        }
                        if (i == 2)
                                assert_string_not_equal(raw, f.diff_ids[i]);
                        else
                                assert_string_equal(raw, f.diff_ids[i]);
                        berth_rm_rf(root, NULL);
                }
        }
        fixture_free(&f);
}

/* The O_DIRECT blob writer stores exactly what it is given, whatever the
 * sizes of the writes and of the blob (whole blocks, a tail, nothing). */
static void test_direct_blob_writer(void **state)
{
        (void)state;
        static const size_t sizes[] = {0, 1, 4096, 4097, (1 << 20) + 1, (3 << 20) + 123};
        static const size_t chunks[] = {1, 777, 4096, 65536 + 3, 1 << 20};
        cleanup_free char *root = tmp_root();
        cleanup_image_store struct berth_image_store *s = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_free char *data = noise(sizes[5], 7);

        must(berth_image_store_open(root, &s, &err), err);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t chunk = chunks[i % (sizeof(chunks) / sizeof(chunks[0]))];
                char want[BERTH_DIGEST_STR_LEN], got[BERTH_DIGEST_STR_LEN];
                cleanup_blob_writer struct berth_blob_writer *w = NULL;
                cleanup_free char *back = NULL;
                size_t back_len;
                int64_t size;

                if (sizes[i] == (1 << 20) + 1)
                        chunk = 1 << 20; /* a full staging buffer, then one byte */
                berth_sha256_digest(data, sizes[i], want);
                must(berth_blob_writer_new(s, want, (int64_t)sizes[i], &w, &err), err);
                store_blob_writer_direct(w);
                for (size_t off = 0; off < sizes[i]; off += chunk) {
                        size_t n = sizes[i] - off < chunk ? sizes[i] - off : chunk;
                        must(berth_blob_writer_write(w, data + off, n, &err), err);
                }
                must(berth_blob_writer_commit(w, got, NULL, &err), err);
                assert_string_equal(got, want);
                must(berth_blob_size(s, want, &size, &err), err);
                assert_int_equal(size, sizes[i]);
                cleanup_free char *path = berth_blob_path(s, want);
                must(berth_read_file(path, &back, &back_len, &err), err);
                assert_int_equal(back_len, sizes[i]);
                assert_memory_equal(back, data, sizes[i]);
        }
        /* A wrong digest is still refused, and nothing is stored. */
        {
                cleanup_blob_writer struct berth_blob_writer *w = NULL;
                char other[BERTH_DIGEST_STR_LEN];
                berth_sha256_digest("x", 1, other);
                must(berth_blob_writer_new(s, other, -1, &w, &err), err);
                store_blob_writer_direct(w);
                must(berth_blob_writer_write(w, data, 8192 + 5, &err), err);
                assert_true(berth_blob_writer_commit(w, NULL, NULL, &err) < 0);
                assert_non_null(strstr(err->msg, "digest mismatch"));
                assert_false(berth_blob_exists(s, other));
        }
        berth_blob_writer_free(NULL);
        berth_rm_rf(root, NULL);
}

/* An entry replaces whatever is in its way (create first, look on
 * EEXIST), except a directory over a directory, which is kept. */
static void test_apply_replaces(void **state)
{
        (void)state;
        cleanup_free char *root = tmp_root();
        cleanup_close int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_error berth_error *err = NULL;
        const struct ent l0[] = {
            {"f2d", F_REG, "file\n", 5, NULL},   {"d2f/", F_DIR, NULL, 0, NULL},
            {"d2f/inner", F_REG, "x", 1, NULL},  {"f2l", F_REG, "file\n", 5, NULL},
            {"l2f", F_SYM, "nowhere", 0, NULL},  {"keep/", F_DIR, NULL, 0, NULL},
            {"keep/old", F_REG, "old", 3, NULL}, {"f2h", F_REG, "file\n", 5, NULL},
            {"src", F_REG, "source", 6, NULL},   {"dup", F_REG, "first", 5, NULL},
            {"dup", F_REG, "second", 6, NULL},   {NULL, 0, NULL, 0, NULL},
        };
        const struct ent l1[] = {
            {"f2d/", F_DIR, NULL, 0, NULL},  {"d2f", F_REG, "now a file", 10, NULL},
            {"f2l", F_SYM, "src", 0, NULL},  {"l2f", F_REG, "real", 4, NULL},
            {"keep/", F_DIR, NULL, 0, NULL}, {"keep/new", F_REG, "new", 3, NULL},
            {"f2h", F_HARD, "src", 0, NULL}, {NULL, 0, NULL, 0, NULL},
        };
        const struct ent *layers[] = {l0, l1};
        for (int i = 0; i < 2; i++) {
                size_t len;
                cleanup_free char *tar = make_tar(layers[i], false, &len);
                cleanup_close int in = memfd_with(tar, len);
                must(berth_layer_apply(dfd, in, BERTH_LAYER_AUTO, 0, NULL, &err), err);
        }
        struct stat st, st2;
        char buf[64];
        cleanup_free char *data = NULL;
        size_t dlen;
        assert_int_equal(fstatat(dfd, "f2d", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0751);
        must(berth_read_file_at(dfd, "d2f", &data, &dlen, &err), err);
        assert_string_equal(data, "now a file");
        ssize_t l = readlinkat(dfd, "f2l", buf, sizeof(buf));
        assert_int_equal(l, 3);
        assert_memory_equal(buf, "src", 3);
        assert_int_equal(fstatat(dfd, "l2f", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 4);
        assert_int_equal(fstatat(dfd, "keep/old", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(dfd, "keep/new", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(dfd, "f2h", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(dfd, "src", &st2, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(st.st_nlink, 2);
        free(data);
        data = NULL;
        must(berth_read_file_at(dfd, "dup", &data, &dlen, &err), err);
        assert_string_equal(data, "second");
        berth_rm_rf(root, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_apply_digests),
            cmocka_unit_test(test_apply_replaces),
            cmocka_unit_test(test_direct_blob_writer),
            cmocka_unit_test(test_parallel_same_as_serial),
            cmocka_unit_test(test_parallel_diffid_mismatch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
