/* SPDX-License-Identifier: Apache-2.0 */
/* What the v1 and v2 cgroup managers share (cgroup.c): the exact strings
 * written to a temp dir, the hugetlb file names and the stats entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static char *make_dir(void)
{
        char tmpl[] = "/tmp/berth-cgshared-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return xstrdup(tmpl);
}

static void put_empty(const char *dir, const char *name)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, name);
        assert_int_equal(berth_write_file(p, "", 0, NULL), 0);
}

static char *get(const char *dir, const char *name)
{
        char *v = NULL;
        assert_int_equal(berth_cgroup_read(dir, name, &v, NULL), 0);
        return v;
}

static void test_write_i64(void **state)
{
        cleanup_free char *d = make_dir();
        berth_error *err = NULL;

        (void)state;
        put_empty(d, "memory.limit_in_bytes");
        assert_int_equal(berth_cgroup_write_i64(d, "memory.limit_in_bytes", -1, &err), 0);
        {
                cleanup_free char *v = get(d, "memory.limit_in_bytes");
                assert_string_equal(v, "-1");
        }
        assert_int_equal(
            berth_cgroup_write_i64(d, "memory.limit_in_bytes", 9007199254740993LL, &err), 0);
        {
                cleanup_free char *v = get(d, "memory.limit_in_bytes");
                assert_string_equal(v, "9007199254740993");
        }
        /* Control files are never created: a missing one is ENOENT. */
        assert_int_equal(berth_cgroup_write_i64(d, "pids.max", 5, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "`pids.max`=`5`"));
        berth_error_freep(&err);
        (void)berth_rm_rf(d, NULL);
}

static void test_write_cpuset(void **state)
{
        cleanup_free char *d = make_dir();
        berth_error *err = NULL;

        (void)state;
        put_empty(d, "cpuset.cpus");
        put_empty(d, "cpuset.mems");
        assert_int_equal(berth_cgroup_write_cpuset(d, "0-1", "0", &err), 0);
        {
                cleanup_free char *c = get(d, "cpuset.cpus");
                cleanup_free char *m = get(d, "cpuset.mems");
                assert_string_equal(c, "0-1");
                assert_string_equal(m, "0");
        }
        /* Empty or absent values are not written (an empty write would
         * leave no CPU to run on). */
        assert_int_equal(berth_cgroup_write_cpuset(d, "", "", &err), 0);
        assert_int_equal(berth_cgroup_write_cpuset(d, NULL, NULL, &err), 0);
        {
                cleanup_free char *c = get(d, "cpuset.cpus");
                cleanup_free char *m = get(d, "cpuset.mems");
                assert_string_equal(c, "0-1");
                assert_string_equal(m, "0");
        }
        /* The first failure stops: mems is not written after cpus fails. */
        cleanup_free char *p = xasprintf("%s/cpuset.cpus", d);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(berth_cgroup_write_cpuset(d, "3", "1", &err), -ENOENT);
        assert_non_null(strstr(err->msg, "`cpuset.cpus`=`3`"));
        berth_error_freep(&err);
        {
                cleanup_free char *m = get(d, "cpuset.mems");
                assert_string_equal(m, "0");
        }
        (void)berth_rm_rf(d, NULL);
}

static void test_hugetlb_file(void **state)
{
        cleanup_json json_object *ok = json_tokener_parse("{\"pageSize\":\"2MB\",\"limit\":1}");
        cleanup_json json_object *slash = json_tokener_parse("{\"pageSize\":\"../2MB\"}");
        cleanup_json json_object *none = json_tokener_parse("{\"limit\":1}");
        berth_error *err = NULL;
        char *file = NULL;

        (void)state;
        assert_int_equal(berth_cgroup_hugetlb_file(ok, "max", &file, &err), 0);
        assert_string_equal(file, "hugetlb.2MB.max");
        free(file);
        file = NULL;
        assert_int_equal(berth_cgroup_hugetlb_file(ok, "limit_in_bytes", &file, &err), 0);
        assert_string_equal(file, "hugetlb.2MB.limit_in_bytes");
        free(file);
        file = NULL;
        assert_int_equal(berth_cgroup_hugetlb_file(slash, "max", &file, &err), -EINVAL);
        assert_null(file);
        assert_non_null(strstr(err->msg, "bad hugepage size `../2MB`"));
        berth_error_freep(&err);
        assert_int_equal(berth_cgroup_hugetlb_file(none, "max", &file, &err), -EINVAL);
        assert_null(file);
        assert_non_null(strstr(err->msg, "bad hugepage size ``"));
        berth_error_freep(&err);
}

static void test_io_entry(void **state)
{
        cleanup_json json_object *e = berth_cgroup_io_entry(8, 16, "Read", 4096);

        (void)state;
        assert_int_equal(json_object_object_length(e), 4);
        assert_int_equal(berth_json_int(e, "major", -1), 8);
        assert_int_equal(berth_json_int(e, "minor", -1), 16);
        assert_string_equal(berth_json_str(e, "op"), "Read");
        assert_int_equal(berth_json_int(e, "value", -1), 4096);
        /* Values past INT64_MAX stay unsigned. */
        berth_cgroup_add_u64(e, "big", UINT64_MAX);
        assert_true(json_object_get_uint64(berth_json_get(e, "big")) == UINT64_MAX);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_write_i64),
            cmocka_unit_test(test_write_cpuset),
            cmocka_unit_test(test_hugetlb_file),
            cmocka_unit_test(test_io_entry),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
