/* SPDX-License-Identifier: Apache-2.0 */
/* Tar entry names: one normaliser for the layer applier and berth cp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/tarpath.h"

static void norm(const char *in, const char *want)
{
        cleanup_free char *got = berth_tar_name_normalise(in);
        if (want == NULL) {
                if (got != NULL)
                        fail_msg("`%s` gave `%s`, want refusal", in, got);
                return;
        }
        if (got == NULL || strcmp(got, want) != 0)
                fail_msg("`%s` gave `%s`, want `%s`", in, got ? got : "(null)", want);
}

static void test_normalise(void **state)
{
        (void)state;
        norm("a/b", "a/b");
        norm("./a//b/", "a/b");
        norm("/etc/passwd", "etc/passwd");
        norm("./", "");
        norm("/", "");
        norm("", "");
        norm("a/./b/.", "a/b");
        norm("..", NULL);
        norm("a/../b", NULL);
        norm("a/..", NULL);
        norm("/../etc", NULL);
        norm("..a/b..", "..a/b..");
        norm("a/.../b", "a/.../b");
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalise)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
