/* SPDX-License-Identifier: Apache-2.0 */
/* The --format template engine: outputs as Go's text/template prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/template.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static const char doc[] =
    "{\"ID\":\"abc123\",\"Names\":\"web\",\"State\":{\"Status\":\"running\",\"Pid\":42,"
    "\"Health\":null},\"Args\":[\"-f\",\"x y\"],\"Labels\":{\"b\":\"2\",\"a\":\"1\"},"
    "\"Size\":1.5,\"Count\":3,\"Empty\":[],\"On\":true,\"Off\":false,\"Str\":\"\","
    "\"Mounts\":[{\"Source\":\"/s\",\"Destination\":\"/d\"},{\"Source\":\"/t\",\"Destination\":\"/"
    "e\"}]}";

static void expect(const char *tmpl, const char *want)
{
        cleanup_json json_object *o = NULL;
        cleanup_error berth_error *err = NULL;
        assert_int_equal(berth_json_parse(doc, strlen(doc), "doc", &o, NULL), 0);
        cleanup_free char *got = cli_tmpl_render(tmpl, o, &err);
        if (got == NULL)
                fail_msg("template `%s` failed: %s", tmpl, err->msg);
        if (strcmp(got, want) != 0)
                fail_msg("template `%s`: got `%s`, want `%s`", tmpl, got, want);
}

static void expect_error(const char *tmpl, const char *want_substr)
{
        cleanup_json json_object *o = NULL;
        cleanup_error berth_error *err = NULL;
        assert_int_equal(berth_json_parse(doc, strlen(doc), "doc", &o, NULL), 0);
        cleanup_free char *got = cli_tmpl_render(tmpl, o, &err);
        if (got != NULL)
                fail_msg("template `%s` should fail, gave `%s`", tmpl, got);
        if (strstr(err->msg, want_substr) == NULL)
                fail_msg("template `%s`: error `%s` lacks `%s`", tmpl, err->msg, want_substr);
}

static void test_fields(void **state)
{
        expect("{{.ID}}", "abc123");
        expect("id={{.ID}} status={{.State.Status}}\n", "id=abc123 status=running\n");
        expect("{{.State.Pid}}", "42");
        expect("{{.Size}}", "1.5");
        expect("{{.Nope}}", "<no value>");
        expect("{{.State.Health}}", "<nil>");
        expect("{{.Nope.Deeper}}", "<no value>");
        expect("{{.Args}}", "[-f x y]");
        expect("{{.Labels}}", "map[a:1 b:2]");
        expect("{{.On}} {{.Off}}", "true false");
        expect("{{ .ID }}", "abc123");
        expect("{{(index .Mounts 1).Source}}", "/t");
}

static void test_json(void **state)
{
        expect("{{json .Labels}}", "{\"b\":\"2\",\"a\":\"1\"}");
        expect("{{json .Args}}", "[\"-f\",\"x y\"]");
        expect("{{json .Nope}}", "null");
        expect("{{.State | json}}", "{\"Status\":\"running\",\"Pid\":42,\"Health\":null}");
        expect("{{json .ID}}", "\"abc123\"");
}

static void test_range_index(void **state)
{
        expect("{{range .Args}}<{{.}}>{{end}}", "<-f><x y>");
        expect("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/s:/d /t:/e ");
        expect("{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}", "0=/s;1=/t;");
        expect("{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=2,");
        expect("{{range .Empty}}x{{else}}none{{end}}", "none");
        expect("{{index .Labels \"a\"}}", "1");
        expect("{{index .Args 1}}", "x y");
        expect("{{index .Labels \"zz\"}}", "<no value>");
        expect("{{range .Args}}{{$.ID}}{{end}}", "abc123abc123");
        expect_error("{{index .Args 5}}", "index out of range");
}

static void test_conditionals(void **state)
{
        expect("{{if .On}}yes{{end}}", "yes");
        expect("{{if .Off}}yes{{else}}no{{end}}", "no");
        expect("{{if .Str}}a{{else if .Count}}b{{else}}c{{end}}", "b");
        expect("{{if .Str}}a{{else if .Off}}b{{else}}c{{end}}", "c");
        expect("{{if eq .State.Status \"running\"}}up{{end}}", "up");
        expect("{{if eq .Count 1 2 3}}in{{end}}", "in");
        expect("{{if and .On (gt .Count 2)}}both{{end}}", "both");
        expect("{{if or .Off .Str}}x{{else}}neither{{end}}", "neither");
        expect("{{if not .Off}}t{{end}}", "t");
        expect("{{with .State}}{{.Status}}{{end}}", "running");
        expect("{{with .Nope}}x{{else}}empty{{end}}", "empty");
        expect("{{if ne .ID \"x\"}}ne{{end}}", "ne");
        expect("{{if lt .Size 2}}small{{end}}", "small");
}

static void test_functions(void **state)
{
        expect("{{join .Args \",\"}}", "-f,x y");
        expect("{{upper .ID}} {{lower \"ABC\"}} {{title \"hello world\"}}",
               "ABC123 abc Hello World");
        expect("{{len .Args}} {{len .Labels}} {{len .ID}}", "2 2 6");
        expect("{{printf \"%s-%d-%5s|\" .ID .Count \"ab\"}}", "abc123-3-   ab|");
        expect("{{printf \"%.2f\" .Size}}", "1.50");
        expect("{{println .ID}}", "abc123\n");
        expect("{{print .ID .Count}}", "abc1233");
        expect("{{print 1 2}}", "1 2");
        expect("{{truncate .ID 3}}", "abc");
        expect("{{pad .ID 1 2}}|", " abc123  |");
        expect("{{range split \"a:b:c\" \":\"}}[{{.}}]{{end}}", "[a][b][c]");
        expect("{{slice .ID 1 3}}", "bc");
        /* Bounds are checked before any cast: huge, negative, NaN. */
        expect_error("{{slice .ID 1e300}}", "index out of range");
        expect_error("{{slice .ID -1 2}}", "index out of range");
        expect_error("{{slice .Args 0 1e20}}", "index out of range");
        expect("{{$x := .State.Status}}{{$x}}!", "running!");
        expect("{{.ID | printf \"%q\"}}", "\"abc123\"");
}

static void test_text_and_trim(void **state)
{
        expect("table {{.ID}}\\t{{.Names}}", "table abc123\\tweb");
        expect("a  {{- .ID -}}  b", "aabc123b");
        expect("{{/* a comment */}}x", "x");
        expect("no actions at all", "no actions at all");
        expect("{{\"}}\"}}", "}}");
        expect("line1\n{{.ID}}\nline3", "line1\nabc123\nline3");
}

static void test_errors(void **state)
{
        expect_error("{{.ID", "unclosed action");
        expect_error("{{nofunc .ID}}", "function \"nofunc\" not defined");
        expect_error("{{if .On}}x", "unexpected EOF");
        expect_error("{{end}}", "unexpected {{end}}");
        expect_error("{{(.ID}}", "unclosed left paren");
        expect_error("{{$nope}}", "undefined variable: $nope");
        expect_error("{{.ID .Names}}", "can't give argument to non-function");
        expect_error("{{define \"x\"}}{{end}}", "unsupported action");
}

/* A nested range multiplies its body: the output, the work and every
 * function's result are bounded, with an error that says so. */
static void test_limits(void **state)
{
        /* 2^17 iterations of a 1 KiB text: 128 MiB of output. */
        cleanup_free char *big = xmalloc(17 * 32 + 1024 + 17 * 8 + 1);
        char *p = big;
        for (int i = 0; i < 17; i++)
                p = stpcpy(p, "{{range $.Args}}");
        memset(p, 'x', 1024);
        p += 1024;
        for (int i = 0; i < 17; i++)
                p = stpcpy(p, "{{end}}");
        *p = '\0';
        expect_error(big, "template output exceeds 64 MiB");

        /* 2^40 iterations of nothing. */
        cleanup_free char *busy = xmalloc(40 * 32 + 40 * 8 + 1);
        p = busy;
        for (int i = 0; i < 40; i++)
                p = stpcpy(p, "{{range $.Args}}");
        for (int i = 0; i < 40; i++)
                p = stpcpy(p, "{{end}}");
        *p = '\0';
        expect_error(busy, "template takes more than 1000000 steps");

        expect_error("{{pad .ID 0 100000000}}", "exceeds 64 MiB");
        expect_error("{{pad .ID 1e300 0}}", "exceeds 64 MiB");
        expect_error("{{printf \"%0999999999d\" 1}}", "exceeds 64 MiB");
        expect_error("{{printf \"%.999999999f\" 1.5}}", "exceeds 64 MiB");
        /* Each printf doubles its argument: 6 * 2^30 bytes after 30 steps. */
        cleanup_free char *dbl = xmalloc(30 * 48 + 16);
        p = stpcpy(dbl, "{{$a := .ID}}");
        for (int i = 0; i < 30; i++)
                p = stpcpy(p, "{{$a := printf \"%s%s\" $a $a}}");
        *p = '\0';
        expect_error(dbl, "exceeds 64 MiB");

        /* Under the limits, as before. */
        expect("{{range .Args}}{{range $.Args}}{{.}},{{end}}{{end}}", "-f,x y,-f,x y,");
        expect("{{printf \"%05d\" 42}}", "00042");
}

/* Numbers too large for an integer saturate instead of being cast (a C cast
 * of an out-of-range double is undefined; found by fuzz-template). */
static void test_float_bounds(void **state)
{
        expect("{{printf \"%d\" 1e30}}", "9223372036854775807");
        expect("{{printf \"%d\" -1e30}}", "-9223372036854775808");
        expect("{{printf \"%d\" 42}}", "42");
        expect("{{truncate .ID 1e30}}", "abc123");
        expect("{{truncate .ID 2}}", "ab");
        expect("{{truncate .ID -1e30}}", "");
        expect_error("{{index .Args 1e30}}", "index out of range");
        expect_error("{{index .Args -1e30}}", "index out of range");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fields),       cmocka_unit_test(test_json),
            cmocka_unit_test(test_range_index),  cmocka_unit_test(test_conditionals),
            cmocka_unit_test(test_functions),    cmocka_unit_test(test_text_and_trim),
            cmocka_unit_test(test_errors),       cmocka_unit_test(test_limits),
            cmocka_unit_test(test_float_bounds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
