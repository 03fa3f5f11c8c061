/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: Docker's grammar and normalisation (distribution/reference
 * test vectors' spirit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void expect_normalized(const char *in, const char *full, const char *familiar)
{
        cleanup_error berth_error *err = NULL;
        cleanup_ref struct berth_ref *r = NULL;
        int rc = berth_ref_parse_normalized(in, &r, &err);
        if (rc < 0)
                fail_msg("`%s` should parse: %s", in, err->msg);
        berth_ref_with_default_tag(r);
        cleanup_free char *s = berth_ref_string(r);
        cleanup_free char *f = berth_ref_familiar_string(r);
        assert_string_equal(s, full);
        if (familiar)
                assert_string_equal(f, familiar);
}

static void expect_invalid(const char *in, const char *msg_part)
{
        cleanup_error berth_error *err = NULL;
        cleanup_ref struct berth_ref *r = NULL;
        int rc = berth_ref_parse_normalized(in, &r, &err);
        if (rc >= 0)
                fail_msg("`%s` should be invalid", in);
        assert_int_equal(rc, -EINVAL);
        assert_non_null(err);
        if (msg_part && strstr(err->msg, msg_part) == NULL)
                fail_msg("error for `%s` is `%s`, expected it to contain `%s`", in, err->msg,
                         msg_part);
}

static void test_normalization(void **state)
{
        (void)state;
        expect_normalized("busybox", "docker.io/library/busybox:latest", "busybox:latest");
        expect_normalized("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36");
        expect_normalized("docker.io/busybox", "docker.io/library/busybox:latest",
                          "busybox:latest");
        expect_normalized("index.docker.io/busybox", "docker.io/library/busybox:latest",
                          "busybox:latest");
        expect_normalized("library/debian", "docker.io/library/debian:latest", "debian:latest");
        expect_normalized("docker/docker", "docker.io/docker/docker:latest",
                          "docker/docker:latest");
        expect_normalized("a/b/c", "docker.io/a/b/c:latest", "a/b/c:latest");
        expect_normalized("localhost/a", "localhost/a:latest", "localhost/a:latest");
        expect_normalized("localhost:5000/a", "localhost:5000/a:latest", "localhost:5000/a:latest");
        expect_normalized("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest",
                          NULL);
        expect_normalized("192.168.0.1", "docker.io/library/192.168.0.1:latest", NULL);
        /* Without a slash, ":80" is a tag. */
        expect_normalized("192.168.0.1:80", "docker.io/library/192.168.0.1:80", NULL);
        expect_normalized("192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", NULL);
        expect_normalized("registry:5000/ns/repo:tag", "registry:5000/ns/repo:tag", NULL);
        expect_normalized("Registry.Example.com/ns/repo", "Registry.Example.com/ns/repo:latest",
                          NULL);
        expect_normalized("[::1]:5000/a", "[::1]:5000/a:latest", NULL);
        expect_normalized("a__b/c", "docker.io/a__b/c:latest", NULL);
        expect_normalized("a---b.c_d", "docker.io/library/a---b.c_d:latest", NULL);
        expect_normalized("busybox:Tag_1.x-Y", "docker.io/library/busybox:Tag_1.x-Y", NULL);
        /* A 64-hex path component is fine with a repository in front. */
        expect_normalized(
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker.io/library/"
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
            NULL);
}

static void test_digests(void **state)
{
        (void)state;
        const char *d = "sha256:e369c4d82c02bf893eabded11e8e2712b02504a9582ba65b4379d8ba718fe578";
        cleanup_free char *in = xasprintf("registry:5000/ns/repo:tag@%s", d);
        cleanup_free char *want = xasprintf("registry:5000/ns/repo:tag@%s", d);
        expect_normalized(in, want, want);
        cleanup_free char *in2 = xasprintf("busybox@%s", d);
        cleanup_free char *want2 = xasprintf("docker.io/library/busybox@%s", d);
        cleanup_free char *fam2 = xasprintf("busybox@%s", d);
        /* A digest reference gets no default tag. */
        expect_normalized(in2, want2, fam2);
        expect_invalid("busybox@sha256:abc", "invalid reference format");
        expect_invalid(
            "busybox@sha256:E369C4D82C02BF893EABDED11E8E2712B02504A9582BA65B4379D8BA718FE578",
            "invalid checksum digest format");
        expect_invalid("busybox@md5:d41d8cd98f00b204e9800998ecf8427e",
                       "unsupported digest algorithm");
        expect_invalid("busybox@", "invalid reference format");
}

static void test_invalid(void **state)
{
        (void)state;
        expect_invalid("Busybox", "must be lowercase");
        expect_invalid("docker/Docker", "must be lowercase");
        expect_invalid("docker.io/docker/Docker", "must be lowercase");
        expect_invalid("", "at least one component");
        expect_invalid("https://github.com/docker/docker", "invalid reference format");
        expect_invalid("-docker", "invalid reference format");
        expect_invalid("-docker/docker", "invalid reference format");
        expect_invalid("-docker.io/docker/docker", "invalid reference format");
        expect_invalid("docker:///docker/docker", "invalid reference format");
        expect_invalid("docker.io/docker///docker", "invalid reference format");
        expect_invalid("a/b_-c", "invalid reference format");
        expect_invalid("a/b___c", "invalid reference format");
        expect_invalid("a/b.", "invalid reference format");
        expect_invalid("a/.b", "invalid reference format");
        expect_invalid("busybox:", "invalid reference format");
        expect_invalid("busybox:-tag", "invalid reference format");
        expect_invalid("busybox:a:b", "invalid reference format");
        expect_invalid("localhost:port/a", "invalid reference format");
        expect_invalid("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                       "cannot specify 64-byte hexadecimal strings");
        /* tags: at most 128 characters */
        char tag[140];
        memset(tag, 'a', sizeof(tag));
        tag[129] = '\0';
        cleanup_free char *long_tag = xasprintf("busybox:%s", tag);
        expect_invalid(long_tag, "invalid reference format");
        tag[128] = '\0';
        cleanup_free char *ok_tag = xasprintf("busybox:%s", tag);
        cleanup_free char *ok_full = xasprintf("docker.io/library/busybox:%s", tag);
        expect_normalized(ok_tag, ok_full, NULL);
        /* names: at most 255 characters */
        char name[300];
        memset(name, 'a', sizeof(name));
        name[260] = '\0';
        expect_invalid(name, "must not be more than 255 characters");
}

static void test_parse_strict(void **state)
{
        (void)state;
        cleanup_ref struct berth_ref *r = NULL;
        assert_int_equal(berth_ref_parse("busybox", &r, NULL), 0);
        assert_null(r->domain);
        assert_string_equal(r->path, "busybox");
        assert_null(r->tag);
        berth_ref_free(r);
        r = NULL;
        assert_int_equal(berth_ref_parse("localhost:5000/a/b:v1", &r, NULL), 0);
        assert_string_equal(r->domain, "localhost:5000");
        assert_string_equal(r->path, "a/b");
        assert_string_equal(r->tag, "v1");
        berth_ref_free(r);
        r = NULL;
        /* Reference.Parse says "must be lowercase" only when lowering fixes it. */
        cleanup_error berth_error *err = NULL;
        assert_true(berth_ref_parse("Foo/Bar", &r, &err) < 0);
        assert_non_null(strstr(err->msg, "must be lowercase"));
        cleanup_free char *fam = berth_ref_familiarize("docker.io/library/debian:bookworm");
        assert_string_equal(fam, "debian:bookworm");
        cleanup_free char *fam2 = berth_ref_familiarize("quay.io/podman/stable:latest");
        assert_string_equal(fam2, "quay.io/podman/stable:latest");
        assert_true(berth_ref_tag_valid("_x"));
        assert_false(berth_ref_tag_valid(".x"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_normalization),
            cmocka_unit_test(test_digests),
            cmocka_unit_test(test_invalid),
            cmocka_unit_test(test_parse_strict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
