/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "image/layer.h"
static void test_stub(void **state) { (void)state; }
int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_stub) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
