/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the json-file log writer and the shim wire helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim/jsonlog.h"
#include "shim/proto.h"
#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void test_time_format(void **state)
{
        char buf[48];
        struct timespec ts = {.tv_sec = 1767225600, .tv_nsec = 123450000};

        berth_jsonlog_format_time(buf, &ts);
        /* Go's RFC3339Nano trims the trailing zeros of the fraction. */
        assert_string_equal(buf, "2026-01-01T00:00:00.12345Z");
        ts.tv_nsec = 0;
        berth_jsonlog_format_time(buf, &ts);
        assert_string_equal(buf, "2026-01-01T00:00:00Z");
        ts.tv_nsec = 7;
        berth_jsonlog_format_time(buf, &ts);
        assert_string_equal(buf, "2026-01-01T00:00:00.000000007Z");
}

/* The hand-made calendar against glibc's, over leap days, century years,
 * year ends and the whole range a log timestamp can take. */
static void test_time_format_matches_gmtime(void **state)
{
        static const int64_t fixed[] = {
            0,
            59,
            86399,
            86400,
            951782400 /* 2000-02-29 */,
            951868800,
            4107542400 /* 2100-03-01 */,
            4107456000,
            1735689599,
            1709164800,
            253402300799 /* 9999-12-31T23:59:59 */,
            68169600,
            1767225600,
        };
        uint64_t x = 88172645463325252ULL;

        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
                struct timespec ts = {0};
                struct tm tm;
                char want[64], got[64];

                if (i < sizeof(fixed) / sizeof(fixed[0])) {
                        ts.tv_sec = fixed[i];
                } else {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        ts.tv_sec = (time_t)(x % 253402300800ULL);
                }
                gmtime_r(&ts.tv_sec, &tm);
                strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
                assert_int_equal(berth_jsonlog_format_time(got, &ts), strlen(want));
                assert_string_equal(got, want);
        }
}

static void test_encode(void **state)
{
        struct timespec ts = {.tv_sec = 1767225600, .tv_nsec = 500000000};
        const char msg[] = "a\"b\\c<&>\t\x01\xff\xe2\x80\xa8\xc3\xa9\n";
        char *out = xmalloc(berth_jsonlog_encoded_max(sizeof(msg) - 1));
        size_t n = berth_jsonlog_encode(out, "stderr", msg, sizeof(msg) - 1, &ts);

        out[n] = '\0';
        assert_string_equal(out, "{\"log\":\"a\\\"b\\\\c\\u003c\\u0026\\u003e\\t\\u0001\\ufffd"
                                 "\\u2028\xc3\xa9\\n\",\"stream\":\"stderr\","
                                 "\"time\":\"2026-01-01T00:00:00.5Z\"}\n");
        /* And it is JSON that decodes back to the message (with U+FFFD). */
        {
                json_object *o = json_tokener_parse(out);
                assert_non_null(o);
                assert_string_equal(json_object_get_string(json_object_object_get(o, "log")),
                                    "a\"b\\c<&>\t\x01\xef\xbf\xbd\xe2\x80\xa8\xc3\xa9\n");
                json_object_put(o);
        }
        free(out);
}

static char *tmpdir(void)
{
        char tmpl[] = "/tmp/berth-shim-test-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return xstrdup(tmpl);
}

static size_t count_lines(const char *path)
{
        cleanup_free char *data = NULL;
        size_t len = 0, n = 0;

        if (berth_read_file(path, &data, &len, NULL) < 0)
                return 0;
        for (size_t i = 0; i < len; i++)
                n += data[i] == '\n';
        return n;
}

static void test_feed_and_rotate(void **state)
{
        cleanup_free char *dir = tmpdir();
        cleanup_free char *path = xasprintf("%s/c-json.log", dir);
        cleanup_free char *p1 = xasprintf("%s.1", path);
        cleanup_free char *p2 = xasprintf("%s.2", path);
        cleanup_free char *p3 = xasprintf("%s.3", path);
        struct berth_jsonlog l = {.fd = -1};
        static struct berth_jsonlog_line line;
        struct stat st;

        /* Each entry is ~80 bytes; max-size 400 holds about 4. */
        assert_int_equal(berth_jsonlog_open(&l, path, 400, 3, NULL), 0);
        for (int i = 0; i < 20; i++) {
                char msg[32];
                int k = snprintf(msg, sizeof(msg), "line %02d\n", i);
                /* Fed in two pieces: the split must not produce two entries. */
                assert_int_equal(berth_jsonlog_feed(&l, &line, "stdout", msg, 3, NULL), 0);
                assert_int_equal(
                    berth_jsonlog_feed(&l, &line, "stdout", msg + 3, (size_t)k - 3, NULL), 0);
        }
        /* A last line without a newline stays buffered until flushed. */
        assert_int_equal(berth_jsonlog_feed(&l, &line, "stdout", "tail", 4, NULL), 0);
        assert_int_equal(berth_jsonlog_flush(&l, &line, "stdout", NULL), 0);
        berth_jsonlog_close(&l);

        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size <= 400);
        assert_int_equal(stat(p1, &st), 0);
        assert_true(st.st_size <= 400);
        assert_int_equal(stat(p2, &st), 0);
        /* max-file 3: no fourth file. */
        assert_int_not_equal(stat(p3, &st), 0);
        {
                cleanup_free char *data = NULL;
                cleanup_free char *data1 = NULL;
                assert_int_equal(berth_read_file(path, &data, NULL, NULL), 0);
                assert_int_equal(berth_read_file(p1, &data1, NULL, NULL), 0);
                /* The newest entries are in the live file or the last rotated
                 * one, the partial line last; the oldest are gone. */
                assert_true(strstr(data, "\"log\":\"line 19\\n\"") != NULL ||
                            strstr(data1, "\"log\":\"line 19\\n\"") != NULL);
                assert_non_null(strstr(data, "\"log\":\"tail\",\"stream\":\"stdout\""));
                assert_null(strstr(data, "line 00"));
                assert_null(strstr(data1, "line 00"));
        }
        assert_true(count_lines(path) + count_lines(p1) + count_lines(p2) < 21);
        (void)berth_rm_rf(dir, NULL);
}

static void test_long_line_split(void **state)
{
        cleanup_free char *dir = tmpdir();
        cleanup_free char *path = xasprintf("%s/c-json.log", dir);
        cleanup_free char *big = xmalloc(BERTH_JSONLOG_MAX_LINE + 10);
        cleanup_free char *data = NULL;
        struct berth_jsonlog l = {.fd = -1};
        static struct berth_jsonlog_line line;

        memset(big, 'x', BERTH_JSONLOG_MAX_LINE + 9);
        big[BERTH_JSONLOG_MAX_LINE + 9] = '\n';
        assert_int_equal(berth_jsonlog_open(&l, path, 0, 1, NULL), 0);
        assert_int_equal(
            berth_jsonlog_feed(&l, &line, "stdout", big, BERTH_JSONLOG_MAX_LINE + 10, NULL), 0);
        berth_jsonlog_close(&l);
        assert_int_equal(count_lines(path), 2);
        assert_int_equal(berth_read_file(path, &data, NULL, NULL), 0);
        /* The first entry is a partial one: no "\n" at the end of its log. */
        assert_non_null(strstr(data, "xxx\",\"stream\""));
        assert_non_null(strstr(data, "{\"log\":\"xxxxxxxxx\\n\""));
        (void)berth_rm_rf(dir, NULL);
}

static void test_read_line_with_fds(void **state)
{
        int sv[2], p[2], fds[2] = {-1, -1};
        char buf[64];
        size_t nfds = 0;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(berth_shim_send_fds(sv[0], "OK 42\nEXIT 3\n", 13, p, 2), 0);
        assert_int_equal(berth_shim_read_line(sv[1], buf, sizeof(buf), fds, 2, &nfds), 5);
        assert_string_equal(buf, "OK 42");
        assert_int_equal(nfds, 2);
        /* The received write end reaches the original read end. */
        assert_int_equal(write(fds[1], "z", 1), 1);
        assert_int_equal(read(p[0], buf, 1), 1);
        assert_int_equal(buf[0], 'z');
        /* The rest of the stream is not consumed by the first read. */
        assert_int_equal(berth_shim_read_line(sv[1], buf, sizeof(buf), NULL, 0, NULL), 6);
        assert_string_equal(buf, "EXIT 3");
        close(sv[0]);
        assert_int_equal(berth_shim_read_line(sv[1], buf, sizeof(buf), NULL, 0, NULL), 0);
        close(sv[1]);
        close(p[0]);
        close(p[1]);
        close(fds[0]);
        close(fds[1]);
}

static void test_exit_record(void **state)
{
        cleanup_free char *dir = tmpdir();
        cleanup_free char *path = xasprintf("%s/exit.json", dir);
        const char rec[] = "{\"ExitCode\":137,\"OOMKilled\":true,\"FinishedAt\":"
                           "\"2026-01-01T00:00:00.5Z\",\"Pid\":77,\"Error\":\"\"}\n";
        struct berth_shim_exit x = {0};
        cleanup_error berth_error *err = NULL;

        assert_int_equal(berth_shim_read_exit(path, &x, NULL), -ENOENT);
        assert_int_equal(berth_write_file_atomic(path, rec, sizeof(rec) - 1, 0644, NULL), 0);
        assert_int_equal(berth_shim_read_exit(path, &x, NULL), 0);
        assert_int_equal(x.exit_code, 137);
        assert_true(x.oom_killed);
        assert_int_equal(x.pid, 77);
        assert_string_equal(x.finished_at, "2026-01-01T00:00:00.5Z");
        berth_shim_exit_clear(&x);
        /* No shim answers at a missing socket: wait falls back to the record. */
        {
                cleanup_free char *sock = xasprintf("%s/none.sock", dir);
                assert_int_equal(berth_shim_wait(sock, path, &x, NULL), 0);
                assert_int_equal(x.exit_code, 137);
                berth_shim_exit_clear(&x);
                (void)unlink(path);
                assert_int_equal(berth_shim_wait(sock, path, &x, &err), -ESRCH);
        }
        (void)berth_rm_rf(dir, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_time_format),
            cmocka_unit_test(test_time_format_matches_gmtime),
            cmocka_unit_test(test_encode),
            cmocka_unit_test(test_feed_and_rotate),
            cmocka_unit_test(test_long_line_split),
            cmocka_unit_test(test_read_line_with_fds),
            cmocka_unit_test(test_exit_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
