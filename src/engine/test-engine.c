/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the engine core's pure parts: Docker's config merge,
 * HostConfig validation, capabilities, signals, sizes, users from an
 * image's passwd/group files, the default seccomp profile, id/name lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static json_object *J(const char *s)
{
        json_object *o = json_tokener_parse(s);
        assert_non_null(o);
        return o;
}

static const char *jstr(json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void test_merge_cmd_entrypoint(void **state)
{
        cleanup_json json_object *img = J("{\"Env\":[\"PATH=/bin\",\"A=img\"],\"Cmd\":[\"sh\"],"
                                          "\"Entrypoint\":[\"/ep\"],\"WorkingDir\":\"/w\","
                                          "\"Labels\":{\"a\":\"1\",\"b\":\"2\"}}");
        cleanup_json json_object *b1 = J("{\"Image\":\"x\",\"Env\":[\"A=mine\",\"C=3\"],"
                                         "\"Labels\":{\"b\":\"x\"}}");
        cleanup_json json_object *b2 = J("{\"Image\":\"x\",\"Cmd\":[\"echo\",\"hi\"]}");
        cleanup_json json_object *b3 = J("{\"Image\":\"x\",\"Entrypoint\":[\"/other\"]}");
        cleanup_json json_object *b4 =
            J("{\"Image\":\"x\",\"Entrypoint\":[\"\"],\"Cmd\":[\"ls\"]}");
        cleanup_json json_object *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL;
        (void)state;

        assert_int_equal(berth_spec_merge_config(img, b1, &c1, NULL), 0);
        /* Image env, overridden by key, new keys appended. */
        assert_string_equal(jstr(berth_json_get(c1, "Env")), "[\"PATH=/bin\",\"A=mine\",\"C=3\"]");
        assert_string_equal(jstr(berth_json_get(c1, "Cmd")), "[\"sh\"]");
        assert_string_equal(jstr(berth_json_get(c1, "Entrypoint")), "[\"/ep\"]");
        assert_string_equal(berth_json_str(c1, "WorkingDir"), "/w");
        assert_string_equal(berth_json_str(berth_json_get(c1, "Labels"), "b"), "x");
        assert_string_equal(berth_json_str(berth_json_get(c1, "Labels"), "a"), "1");

        /* A Cmd keeps the image's Entrypoint. */
        assert_int_equal(berth_spec_merge_config(img, b2, &c2, NULL), 0);
        assert_string_equal(jstr(berth_json_get(c2, "Entrypoint")), "[\"/ep\"]");
        assert_string_equal(jstr(berth_json_get(c2, "Cmd")), "[\"echo\",\"hi\"]");

        /* An Entrypoint drops the image's Cmd. */
        assert_int_equal(berth_spec_merge_config(img, b3, &c3, NULL), 0);
        assert_string_equal(jstr(berth_json_get(c3, "Entrypoint")), "[\"/other\"]");
        assert_null(berth_json_get(c3, "Cmd"));

        /* --entrypoint "" resets it. */
        assert_int_equal(berth_spec_merge_config(img, b4, &c4, NULL), 0);
        assert_null(berth_json_get(c4, "Entrypoint"));
        assert_string_equal(jstr(berth_json_get(c4, "Cmd")), "[\"ls\"]");
}

static void test_merge_no_command(void **state)
{
        cleanup_json json_object *b = J("{\"Image\":\"x\"}");
        cleanup_json json_object *c = NULL;
        cleanup_error berth_error *err = NULL;
        (void)state;

        assert_int_equal(berth_spec_merge_config(NULL, b, &c, &err), -EINVAL);
        assert_string_equal(err->msg, "no command specified");
}

static void test_merge_bad_types(void **state)
{
        cleanup_json json_object *b = J("{\"Image\":\"x\",\"Env\":\"A=1\",\"Cmd\":[\"x\"]}");
        cleanup_json json_object *c = NULL;
        cleanup_error berth_error *err = NULL;
        (void)state;

        assert_int_equal(berth_spec_merge_config(NULL, b, &c, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "Env"));
}

static int check_hc(const char *s, char **msg)
{
        cleanup_json json_object *hc = J(s);
        berth_error *err = NULL;
        int r = berth_spec_check_hostconfig(hc, &err);
        if (msg)
                *msg = err ? xstrdup(err->msg) : NULL;
        berth_error_free(err);
        return r;
}

static void test_hostconfig_validation(void **state)
{
        cleanup_free char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL, *m6 = NULL;
        (void)state;

        assert_int_equal(
            check_hc("{\"Memory\":67108864,\"NanoCpus\":500000000,\"PidsLimit\":20}", NULL), 0);
        assert_int_equal(check_hc("{\"Memory\":1000}", &m1), -EINVAL);
        assert_string_equal(m1, "Minimum memory limit allowed is 6MB");
        assert_int_equal(check_hc("{\"Memory\":67108864,\"MemorySwap\":1000}", &m2), -EINVAL);
        assert_non_null(strstr(m2, "memoryswap"));
        assert_int_equal(check_hc("{\"Memory\":\"lots\"}", &m3), -EINVAL);
        assert_non_null(strstr(m3, "HostConfig.Memory"));
        assert_int_equal(check_hc("{\"RestartPolicy\":{\"Name\":\"sometimes\"}}", &m4), -EINVAL);
        assert_non_null(strstr(m4, "sometimes"));
        assert_int_equal(check_hc("{\"CapAdd\":[\"NOT_A_CAP\"]}", &m5), -EINVAL);
        assert_non_null(strstr(m5, "NOT_A_CAP"));
        assert_int_equal(check_hc("{\"NetworkMode\":\"nosuchnet\"}", &m6), -ENOENT);
        assert_int_equal(
            check_hc("{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":5}]}", NULL),
            -EINVAL);
        assert_int_equal(check_hc("{\"Binds\":[\"relative\"]}", NULL), -EINVAL);
        assert_int_equal(check_hc("{\"SecurityOpt\":[\"bogus\"]}", NULL), -EINVAL);
        assert_int_equal(
            check_hc("{\"RestartPolicy\":{\"Name\":\"always\"},\"AutoRemove\":true}", NULL),
            -EINVAL);
}

static bool has(char **v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static void test_caps(void **state)
{
        cleanup_json json_object *h1 = J("{}");
        cleanup_json json_object *h2 = J("{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"net_admin\"]}");
        cleanup_json json_object *h3 = J("{\"CapDrop\":[\"CHOWN\"]}");
        cleanup_json json_object *h4 = J("{\"Privileged\":true}");
        cleanup_strv char **c1 = NULL, **c2 = NULL, **c3 = NULL, **c4 = NULL;
        (void)state;

        assert_int_equal(berth_spec_caps(h1, &c1, NULL), 0);
        assert_true(has(c1, "CAP_CHOWN"));
        assert_true(has(c1, "CAP_NET_BIND_SERVICE"));
        assert_false(has(c1, "CAP_SYS_ADMIN"));
        assert_int_equal(berth_strv_len(c1), 14);

        assert_int_equal(berth_spec_caps(h2, &c2, NULL), 0);
        assert_int_equal(berth_strv_len(c2), 1);
        assert_string_equal(c2[0], "CAP_NET_ADMIN");

        assert_int_equal(berth_spec_caps(h3, &c3, NULL), 0);
        assert_false(has(c3, "CAP_CHOWN"));
        assert_int_equal(berth_strv_len(c3), 13);

        assert_int_equal(berth_spec_caps(h4, &c4, NULL), 0);
        assert_true(has(c4, "CAP_SYS_ADMIN"));
}

static void test_signals_bytes(void **state)
{
        int64_t b;
        (void)state;

        assert_int_equal(berth_engine_signal_parse("SIGTERM"), SIGTERM);
        assert_int_equal(berth_engine_signal_parse("kill"), SIGKILL);
        assert_int_equal(berth_engine_signal_parse("9"), 9);
        assert_int_equal(berth_engine_signal_parse("SIGRTMIN+1"), SIGRTMIN + 1);
        assert_true(berth_engine_signal_parse("SIGNOPE") < 0);
        assert_true(berth_engine_signal_parse("99") < 0);

        assert_int_equal(berth_engine_parse_bytes("10m", &b), 0);
        assert_int_equal(b, 10 * 1024 * 1024);
        assert_int_equal(berth_engine_parse_bytes("1g", &b), 0);
        assert_int_equal(b, 1024LL * 1024 * 1024);
        assert_int_equal(berth_engine_parse_bytes("512KiB", &b), 0);
        assert_int_equal(b, 512 * 1024);
        assert_int_equal(berth_engine_parse_bytes("100", &b), 0);
        assert_int_equal(b, 100);
        assert_true(berth_engine_parse_bytes("10x", &b) < 0);
        assert_true(berth_engine_parse_bytes("", &b) < 0);
}

static void write_file(const char *dir, const char *name, const char *data)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, name);
        assert_int_equal(berth_write_file_atomic(p, data, strlen(data), 0644, NULL), 0);
}

static void test_users(void **state)
{
        char tmpl[] = "/tmp/berth-engine-test-XXXXXX";
        char *root = mkdtemp(tmpl);
        cleanup_free char *etc = NULL;
        cleanup_free uint32_t *gids = NULL;
        size_t n = 0;
        uint32_t uid, gid;
        char *ga[] = {(char *)"video", (char *)"4242", NULL};
        cleanup_error berth_error *err = NULL;
        (void)state;

        assert_non_null(root);
        etc = xasprintf("%s/etc", root);
        assert_int_equal(berth_mkdir_p(etc, 0755, NULL), 0);
        write_file(etc, "passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "app:x:1000:1001:app:/home/app:/bin/sh\n");
        write_file(etc, "group", "root:x:0:\napp:x:1001:\nvideo:x:44:app\nwheel:x:10:app,other\n");

        assert_int_equal(berth_spec_resolve_user(root, "app", NULL, &uid, &gid, &gids, &n, NULL),
                         0);
        assert_int_equal(uid, 1000);
        assert_int_equal(gid, 1001);
        assert_int_equal(n, 2); /* video, wheel */
        free(gids);
        gids = NULL;

        assert_int_equal(
            berth_spec_resolve_user(root, "1000:video", ga, &uid, &gid, &gids, &n, NULL), 0);
        assert_int_equal(uid, 1000);
        assert_int_equal(gid, 44);
        assert_int_equal(n, 2);
        assert_int_equal(gids[0], 44);
        assert_int_equal(gids[1], 4242);
        free(gids);
        gids = NULL;

        /* An unknown numeric uid is fine (gid 0), an unknown name is not. */
        assert_int_equal(berth_spec_resolve_user(root, "4000", NULL, &uid, &gid, NULL, NULL, NULL),
                         0);
        assert_int_equal(uid, 4000);
        assert_int_equal(gid, 0);
        assert_int_equal(
            berth_spec_resolve_user(root, "nobody", NULL, &uid, &gid, NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "unable to find user nobody"));

        /* The passwd file is resolved inside the root: a symlink to the
         * host's file is not followed out. */
        {
                cleanup_free char *pw = xasprintf("%s/passwd", etc);
                assert_int_equal(unlink(pw), 0);
                assert_int_equal(symlink("/../../../../etc/passwd", pw), 0);
                assert_int_equal(
                    berth_spec_resolve_user(root, "root", NULL, &uid, &gid, NULL, NULL, NULL),
                    -EINVAL);
        }
        (void)berth_rm_rf(root, NULL);
}

static void test_seccomp_default(void **state)
{
        char *caps_default[] = {(char *)"CAP_CHOWN", NULL};
        char *caps_admin[] = {(char *)"CAP_SYS_ADMIN", NULL};
        cleanup_json json_object *s1 = berth_seccomp_default(caps_default);
        cleanup_json json_object *s2 = berth_seccomp_default(caps_admin);
        const char *j1 = jstr(s1), *j2 = jstr(s2);
        (void)state;

        assert_string_equal(berth_json_str(s1, "defaultAction"), "SCMP_ACT_ERRNO");
        assert_non_null(strstr(j1, "\"read\""));
        assert_null(strstr(j1, "\"mount\""));
        assert_null(strstr(j1, "\"kexec_load\""));
        assert_non_null(strstr(j2, "\"mount\""));
        /* clone is constrained without CAP_SYS_ADMIN. */
        assert_non_null(strstr(j1, "SCMP_CMP_MASKED_EQ"));
        assert_null(strstr(j2, "SCMP_CMP_MASKED_EQ"));
}

static void test_seccomp_docker_profile(void **state)
{
        char *caps[] = {(char *)"CAP_CHOWN", NULL};
        cleanup_json json_object *s = NULL;
        cleanup_error berth_error *err = NULL;
        (void)state;

        assert_int_equal(
            berth_seccomp_from_docker("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                                      "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"},"
                                      "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\","
                                      "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}",
                                      caps, &s, NULL),
            0);
        assert_int_equal(json_object_array_length(berth_json_get(s, "syscalls")), 1);
        assert_int_equal(berth_seccomp_from_docker("{nope", caps, &s, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_merge_cmd_entrypoint),
            cmocka_unit_test(test_merge_no_command),
            cmocka_unit_test(test_merge_bad_types),
            cmocka_unit_test(test_hostconfig_validation),
            cmocka_unit_test(test_caps),
            cmocka_unit_test(test_signals_bytes),
            cmocka_unit_test(test_users),
            cmocka_unit_test(test_seccomp_default),
            cmocka_unit_test(test_seccomp_docker_profile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
