/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static void test_error_contract(void **state)
{
        cleanup_error berth_error *err = NULL;
        int r = berth_fail(&err, ENOENT, "open `%s`", "/nope");
        assert_int_equal(r, -ENOENT);
        assert_string_equal(err->msg, "open `/nope`: No such file or directory");
        /* The first error wins; later ones do not overwrite it. */
        berth_fail(&err, EPERM, "other");
        assert_int_equal(err->status, ENOENT);
        r = berth_error_prefix(&err, r, "loading `%s`", "x");
        assert_int_equal(r, -ENOENT);
        assert_string_equal(err->msg, "loading `x`: open `/nope`: No such file or directory");
        /* A NULL err is allowed: the status still comes back. */
        assert_int_equal(berth_fail(NULL, EINVAL, "x"), -EINVAL);
        assert_int_equal(berth_fail(NULL, 0, "x"), -1);
}

static char *make_tree(void)
{
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        char *dir = xstrdup(mkdtemp(tmpl));
        cleanup_free char *p = NULL;

        p = xasprintf("%s/root/etc", dir);
        assert_int_equal(berth_mkdir_p(p, 0755, NULL), 0);
        free(p);
        p = xasprintf("%s/secret", dir);
        assert_int_equal(berth_write_file(p, "host", 4, NULL), 0);
        free(p);
        p = xasprintf("%s/root/etc/passwd", dir);
        assert_int_equal(berth_write_file(p, "ctr", 3, NULL), 0);
        free(p);
        /* Escapes: an absolute symlink, a relative one, and a chain. */
        p = xasprintf("%s/root/abs", dir);
        assert_int_equal(symlink("/../../secret", p), 0);
        free(p);
        p = xasprintf("%s/root/rel", dir);
        assert_int_equal(symlink("../../../secret", p), 0);
        free(p);
        p = xasprintf("%s/root/chain", dir);
        assert_int_equal(symlink("etc/../abs", p), 0);
        free(p);
        p = xasprintf("%s/root/etcl", dir);
        assert_int_equal(symlink("/etc", p), 0);
        return dir;
}

static void check_in_root(bool no_openat2)
{
        cleanup_free char *dir = make_tree();
        cleanup_free char *rootp = xasprintf("%s/root", dir);
        cleanup_close int root = open(rootp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        const char *escapes[] = {"../secret", "/../secret", "abs",
                                 "rel",       "chain",      "etc/../../secret"};
        char buf[16];

        berth_fs_no_openat2 = no_openat2;
        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
                cleanup_error berth_error *err = NULL;
                int fd = berth_open_in_root(root, escapes[i], O_RDONLY, 0, &err);
                /* Either it does not exist inside the root, or it is the
                 * container's own file: never the host's secret. */
                if (fd >= 0) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        close(fd);
                        assert_true(n < 4 || memcmp(buf, "host", 4) != 0);
                } else {
                        assert_non_null(err);
                }
        }
        {
                cleanup_close int fd = berth_open_in_root(root, "etcl/passwd", O_RDONLY, 0, NULL);
                assert_true(fd >= 0);
                assert_int_equal(read(fd, buf, sizeof(buf)), 3);
                assert_memory_equal(buf, "ctr", 3);
        }
        {
                /* Creation through an absolute symlink lands inside the root. */
                cleanup_close int fd =
                    berth_open_in_root(root, "etcl/new", O_WRONLY | O_CREAT, 0644, NULL);
                assert_true(fd >= 0);
                cleanup_free char *p = xasprintf("%s/root/etc/new", dir);
                assert_int_equal(access(p, F_OK), 0);
        }
        {
                cleanup_close int fd = berth_mkdir_in_root(root, "/abs2/../a/b/c", 0755, NULL);
                assert_true(fd >= 0);
                cleanup_free char *p = xasprintf("%s/root/a/b/c", dir);
                struct stat st;
                assert_int_equal(stat(p, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        berth_fs_no_openat2 = false;
        assert_int_equal(berth_rm_rf(dir, NULL), 0);
        assert_int_equal(access(dir, F_OK), -1);
}

static void test_open_in_root_openat2(void **state)
{
        check_in_root(false);
}

static void test_open_in_root_fallback(void **state)
{
        check_in_root(true);
}

static void test_atomic_write_and_json(void **state)
{
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        cleanup_free char *dir = xstrdup(mkdtemp(tmpl));
        cleanup_free char *p = xasprintf("%s/state.json", dir);
        cleanup_json json_object *o = json_object_new_object();
        cleanup_json json_object *back = NULL;
        cleanup_error berth_error *err = NULL;

        json_object_object_add(o, "id", json_object_new_string("abc"));
        assert_int_equal(berth_json_write_file_atomic(p, o, NULL), 0);
        assert_int_equal(berth_json_parse_file(p, &back, NULL), 0);
        assert_string_equal(berth_json_str(back, "id"), "abc");

        assert_true(berth_json_parse("{\n \"a\": [1,\n 2,,]}", 19, "`x`", &back, &err) < 0);
        assert_non_null(strstr(err->msg, "line 3"));
        berth_rm_rf(dir, NULL);
}

/* berth_rm_rf_at removes NAME under a directory fd, never follows a symlink
 * out of it, and takes a missing name as done. */
static void test_rm_rf_at(void **state)
{
        char tmpl[] = "/tmp/berth-test-XXXXXX";
        cleanup_free char *dir = xstrdup(mkdtemp(tmpl));
        cleanup_free char *keep = xasprintf("%s/keep", dir);
        cleanup_free char *tree = xasprintf("%s/tree/a/b", dir);
        cleanup_free char *file = xasprintf("%s/tree/a/b/f", dir);
        cleanup_free char *link = xasprintf("%s/tree/a/out", dir);
        cleanup_free char *kept = xasprintf("%s/keep/x", dir);
        cleanup_free char *gone = xasprintf("%s/tree", dir);
        cleanup_close int dfd = -1;

        assert_int_equal(berth_mkdir_p(tree, 0755, NULL), 0);
        assert_int_equal(berth_mkdir_p(keep, 0755, NULL), 0);
        assert_int_equal(berth_write_file_atomic(file, "x", 1, 0644, NULL), 0);
        assert_int_equal(berth_write_file_atomic(kept, "x", 1, 0644, NULL), 0);
        assert_int_equal(symlink(keep, link), 0);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(berth_rm_rf_at(dfd, "tree", NULL), 0);
        assert_int_equal(access(gone, F_OK), -1);
        assert_int_equal(access(kept, F_OK), 0);
        assert_int_equal(berth_rm_rf_at(dfd, "tree", NULL), 0);
        assert_int_equal(berth_rm_rf(dir, NULL), 0);
        assert_int_equal(access(dir, F_OK), -1);
}

static void test_time_rfc3339(void **state)
{
        struct timespec ts = {.tv_sec = 1700000000, .tv_nsec = 5};
        cleanup_free char *s = berth_time_rfc3339nano(&ts);
        cleanup_free char *now = berth_time_now_rfc3339nano();

        assert_string_equal(s, "2023-11-14T22:13:20.000000005Z");
        assert_int_equal(berth_time_parse_rfc3339_sec(s), 1700000000);
        assert_int_equal(berth_time_parse_rfc3339_sec("2023-11-14T22:13:20Z"), 1700000000);
        assert_int_equal(strlen(now), strlen(s));
        assert_true(berth_time_parse_rfc3339_sec(now) >= 1700000000);
        assert_int_equal(berth_time_parse_rfc3339_sec(NULL), 0);
        assert_int_equal(berth_time_parse_rfc3339_sec("yesterday"), 0);
}

static void test_json_write_line(void **state)
{
        int p[2];
        char buf[64];
        cleanup_json json_object *o = json_object_new_object();

        json_object_object_add(o, "a", json_object_new_int(1));
        json_object_object_add(o, "b", json_object_new_string("x y"));
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(berth_json_write_line(p[1], o), 0);
        close(p[1]);
        ssize_t n = read(p[0], buf, sizeof(buf));
        close(p[0]);
        assert_int_equal(n, 18);
        assert_memory_equal(buf, "{\"a\":1,\"b\":\"x y\"}\n", 18);
}

static void test_digest(void **state)
{
        char d[BERTH_DIGEST_STR_LEN];
        berth_sha256_digest("", 0, d);
        assert_string_equal(
            d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_true(berth_digest_valid(d));
        struct berth_sha256 *c = berth_sha256_new();
        berth_sha256_update(c, "ab", 2);
        berth_sha256_update(c, "c", 1);
        berth_sha256_final(c, d);
        berth_sha256_free(c);
        assert_string_equal(
            d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_false(berth_digest_valid(
            "sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_false(berth_digest_valid("sha256:ba78"));
        assert_false(berth_digest_valid(
            "md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        cleanup_error berth_error *err = NULL;
        assert_true(berth_digest_check("sha256:x", "layer 1", &err) < 0);
        assert_non_null(strstr(err->msg, "layer 1: invalid digest `sha256:x`"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_error_contract),
            cmocka_unit_test(test_open_in_root_openat2),
            cmocka_unit_test(test_open_in_root_fallback),
            cmocka_unit_test(test_atomic_write_and_json),
            cmocka_unit_test(test_rm_rf_at),
            cmocka_unit_test(test_time_rfc3339),
            cmocka_unit_test(test_json_write_line),
            cmocka_unit_test(test_digest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
