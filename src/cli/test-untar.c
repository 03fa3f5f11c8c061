/* SPDX-License-Identifier: Apache-2.0 */
/* `berth cp` out of a container: the tar written under the destination,
 * and every way a hostile tar could try to write outside it. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/untar.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

enum kind { FILE_, DIR_, SYMLINK_, HARDLINK_ };

struct ent {
        enum kind kind;
        const char *name;
        const char *arg; /* file data, symlink or hardlink target */
        mode_t perm;
};

struct tarbuf {
        char *data;
        size_t len, pos;
};

static struct tarbuf make_tar(const struct ent *ents, size_t n)
{
        struct tarbuf t = {.data = xmalloc(1 << 20)};
        struct archive *a = archive_write_new();
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, t.data, 1 << 20, &t.len), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, ents[i].name);
                archive_entry_set_perm(e, ents[i].perm ? ents[i].perm : 0644);
                archive_entry_set_mtime(e, 1000000 + (time_t)i, 0);
                archive_entry_set_uid(e, 4242);
                archive_entry_set_gid(e, 4242);
                switch (ents[i].kind) {
                case FILE_:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, (la_int64_t)strlen(ents[i].arg));
                        break;
                case DIR_:
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case SYMLINK_:
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, ents[i].arg);
                        break;
                case HARDLINK_:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, ents[i].arg);
                        break;
                }
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (ents[i].kind == FILE_)
                        assert_int_equal(archive_write_data(a, ents[i].arg, strlen(ents[i].arg)),
                                         (la_ssize_t)strlen(ents[i].arg));
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        return t;
}

static ssize_t mem_read(void *ud, void *buf, size_t len, berth_error **err)
{
        struct tarbuf *t = ud;
        (void)err;
        size_t n = t->len - t->pos < len ? t->len - t->pos : len;
        memcpy(buf, t->data + t->pos, n);
        t->pos += n;
        return (ssize_t)n;
}

/* Untar ENTS under DIR; returns the status and fills *ret_err. */
static int untar(const char *dir, const struct ent *ents, size_t n, const struct cli_untar_opts *o,
                 berth_error **ret_err)
{
        struct tarbuf t = make_tar(ents, n);
        cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = cli_untar(fd, mem_read, &t, o, ret_err);
        free(t.data);
        return r;
}

static char *tmpdir(void)
{
        char tmpl[] = "/tmp/berth-untar-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return xstrdup(tmpl);
}

static char *path_in(const char *dir, const char *rel)
{
        return xasprintf("%s/%s", dir, rel);
}

static void assert_missing(const char *path)
{
        struct stat st;
        if (lstat(path, &st) == 0)
                fail_msg("`%s` exists: the tar wrote outside the destination", path);
}

static void test_tree_rebased(void **state)
{
        (void)state;
        cleanup_free char *dir = tmpdir();
        const struct ent ents[] = {
            {DIR_, "d/", NULL, 0750},     {FILE_, "d/f", "hello\n", 0640},
            {DIR_, "d/sub", NULL, 0700},  {FILE_, "d/sub/deep", "deep\n", 0755},
            {SYMLINK_, "d/l", "f", 0777}, {HARDLINK_, "d/h", "d/f", 0640},
        };
        struct cli_untar_opts o = {.rebase_from = "d", .rebase_to = "e"};
        cleanup_error berth_error *err = NULL;
        int r = untar(dir, ents, 6, &o, &err);
        if (r < 0)
                fail_msg("untar: %s", err->msg);
        cleanup_free char *f = path_in(dir, "e/f"), *deep = path_in(dir, "e/sub/deep"),
                          *l = path_in(dir, "e/l"), *h = path_in(dir, "e/h"),
                          *e = path_in(dir, "e"), *d = path_in(dir, "d");
        cleanup_free char *data = NULL;
        assert_int_equal(berth_read_file(f, &data, NULL, NULL), 0);
        assert_string_equal(data, "hello\n");
        struct stat st, st2;
        assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_mtime, 1000001);
        /* no chown: the files belong to the caller, as with docker cp */
        assert_int_equal(st.st_uid, getuid());
        assert_int_equal(stat(h, &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(stat(deep, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        char buf[16] = {0};
        assert_int_equal(readlink(l, buf, sizeof(buf) - 1), 1);
        assert_string_equal(buf, "f");
        assert_int_equal(stat(e, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        /* directory times are set after their children were written */
        assert_int_equal(st.st_mtime, 1000000);
        assert_missing(d);
        (void)berth_rm_rf(dir, NULL);
}

static void test_merge_and_replace(void **state)
{
        (void)state;
        cleanup_free char *dir = tmpdir();
        cleanup_free char *keep = path_in(dir, "x/keep"), *x = path_in(dir, "x"),
                          *y = path_in(dir, "y");
        assert_int_equal(mkdir(x, 0755), 0);
        assert_int_equal(berth_write_file_atomic(keep, "k", 1, 0644, NULL), 0);
        assert_int_equal(berth_write_file_atomic(y, "old", 3, 0644, NULL), 0);
        const struct ent ok[] = {
            {DIR_, "x", NULL, 0755},
            {FILE_, "x/new", "n", 0644},
            {FILE_, "y", "new", 0600},
        };
        cleanup_error berth_error *err = NULL;
        int r = untar(dir, ok, 3, NULL, &err);
        if (r < 0)
                fail_msg("untar: %s", err->msg);
        cleanup_free char *data = NULL;
        assert_int_equal(berth_read_file(keep, &data, NULL, NULL), 0); /* merged, not replaced */
        free(steal_pointer(&data));
        assert_int_equal(berth_read_file(y, &data, NULL, NULL), 0);
        assert_string_equal(data, "new");

        /* docker's NoOverwriteDirNonDir, both ways */
        const struct ent file_over_dir[] = {{FILE_, "x", "f", 0644}};
        r = untar(dir, file_over_dir, 1, NULL, &err);
        assert_int_equal(r, -EISDIR);
        assert_non_null(strstr(err->msg, "cannot overwrite directory `x` with non-directory"));
        berth_error_freep(&err);
        struct stat st;
        assert_int_equal(stat(keep, &st), 0); /* the directory is still there */
        const struct ent dir_over_file[] = {{DIR_, "y", NULL, 0755}};
        r = untar(dir, dir_over_file, 1, NULL, &err);
        assert_int_equal(r, -ENOTDIR);
        (void)berth_rm_rf(dir, NULL);
}

/* A symlink inside the destination may be written through. */
static void test_symlink_inside_is_followed(void **state)
{
        (void)state;
        cleanup_free char *dir = tmpdir();
        const struct ent ents[] = {
            {DIR_, "a", NULL, 0755},
            {SYMLINK_, "l", "a", 0777},
            {FILE_, "l/f", "via link", 0644},
        };
        cleanup_error berth_error *err = NULL;
        int r = untar(dir, ents, 3, NULL, &err);
        if (r < 0)
                fail_msg("untar: %s", err->msg);
        cleanup_free char *f = path_in(dir, "a/f");
        cleanup_free char *data = NULL;
        assert_int_equal(berth_read_file(f, &data, NULL, NULL), 0);
        assert_string_equal(data, "via link");
        (void)berth_rm_rf(dir, NULL);
}

static void expect_refused(const char *dest, const struct ent *ents, size_t n,
                           const char *outside_victim)
{
        cleanup_error berth_error *err = NULL;
        int r = untar(dest, ents, n, NULL, &err);
        if (r >= 0)
                fail_msg("a hostile tar was accepted (victim `%s`)", outside_victim);
        assert_int_equal(r, -EPERM);
        assert_int_equal(err->status, EPERM);
        assert_non_null(strstr(err->msg, "entry `"));
        assert_missing(outside_victim);
}

static void escapes(void)
{
        cleanup_free char *outside = tmpdir(); /* /tmp/berth-untar-XXXXXX */
        cleanup_free char *dest_parent = tmpdir();
        cleanup_free char *dest = path_in(dest_parent, "dest");
        assert_int_equal(mkdir(dest, 0755), 0);
        cleanup_free char *victim = path_in(outside, "pwned");
        const char *out_base = outside + strlen("/tmp/");
        cleanup_free char *through_root = xasprintf("evil/tmp/%s/pwned", out_base);
        cleanup_free char *through_up = xasprintf("up/%s/pwned", out_base);
        cleanup_free char *passwd_like = path_in(outside, "secret");
        assert_int_equal(berth_write_file_atomic(passwd_like, "s", 1, 0600, NULL), 0);
        cleanup_free char *hl_target = xasprintf("evil/tmp/%s/secret", out_base);
        cleanup_free char *hl_victim = path_in(dest, "h");

        /* the case of the brief: evil -> /, then evil/tmp/.../pwned */
        const struct ent abs_link[] = {{SYMLINK_, "evil", "/", 0777},
                                       {FILE_, through_root, "x", 0644}};
        expect_refused(dest, abs_link, 2, victim);
        (void)berth_rm_rf(dest, NULL);
        assert_int_equal(mkdir(dest, 0755), 0);
        /* the in-root reading of the path must not have been written either */
        cleanup_free char *in_root = xasprintf("%s/tmp", dest);
        assert_missing(in_root);

        /* up -> ../.. (dest is /tmp/X/dest), then up/<outside>/pwned */
        const struct ent rel_link[] = {{SYMLINK_, "up", "../..", 0777},
                                       {FILE_, through_up, "x", 0644}};
        expect_refused(dest, rel_link, 2, victim);
        (void)berth_rm_rf(dest, NULL);
        assert_int_equal(mkdir(dest, 0755), 0);

        /* a link to a missing directory outside */
        cleanup_free char *missing_out = path_in(outside, "newdir");
        cleanup_free char *missing_victim = path_in(outside, "newdir/pwned");
        const struct ent dangling[] = {{SYMLINK_, "dl", missing_out, 0777},
                                       {FILE_, "dl/pwned", "x", 0644}};
        expect_refused(dest, dangling, 2, missing_victim);
        assert_missing(missing_out);
        (void)berth_rm_rf(dest, NULL);
        assert_int_equal(mkdir(dest, 0755), 0);

        /* names with ".." or absolute */
        cleanup_free char *dotdot = xasprintf("../../%s/pwned", out_base);
        const struct ent up_name[] = {{FILE_, dotdot, "x", 0644}};
        expect_refused(dest, up_name, 1, victim);
        cleanup_free char *abs_name = xstrdup(victim);
        const struct ent abs[] = {{FILE_, abs_name, "x", 0644}};
        expect_refused(dest, abs, 1, victim);

        /* a hardlink to a file outside, through a symlink or with ".." */
        const struct ent hl[] = {{SYMLINK_, "evil", "/", 0777}, {HARDLINK_, "h", hl_target, 0644}};
        expect_refused(dest, hl, 2, hl_victim);
        (void)berth_rm_rf(dest, NULL);
        assert_int_equal(mkdir(dest, 0755), 0);
        cleanup_free char *hl_up = xasprintf("../../%s/secret", out_base);
        const struct ent hl2[] = {{HARDLINK_, "h", hl_up, 0644}};
        expect_refused(dest, hl2, 1, hl_victim);

        (void)berth_rm_rf(outside, NULL);
        (void)berth_rm_rf(dest_parent, NULL);
}

static void test_escapes_refused(void **state)
{
        (void)state;
        berth_fs_no_openat2 = false;
        escapes();
}

static void test_escapes_refused_without_openat2(void **state)
{
        (void)state;
        berth_fs_no_openat2 = true;
        escapes();
        berth_fs_no_openat2 = false;
}

static void test_stream_error_is_reported(void **state)
{
        (void)state;
        cleanup_free char *dir = tmpdir();
        cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cleanup_error berth_error *err = NULL;
        /* a tar that is not one */
        struct tarbuf t = {.data = xstrdup("this is not a tar archive, not at all, no"), .len = 41};
        assert_true(cli_untar(fd, mem_read, &t, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "reading the archive"));
        free(t.data);
        (void)berth_rm_rf(dir, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tree_rebased),
            cmocka_unit_test(test_merge_and_replace),
            cmocka_unit_test(test_symlink_inside_is_followed),
            cmocka_unit_test(test_escapes_refused),
            cmocka_unit_test(test_escapes_refused_without_openat2),
            cmocka_unit_test(test_stream_error_is_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
