/* SPDX-License-Identifier: Apache-2.0 */
/* A subset of Go's text/template for --format, over JSON values:
 * {{.A.B}}, {{.}}, {{$}}, {{$v.X}}, pipelines with `|`, parentheses,
 * string/number/bool literals, {{if}}/{{else if}}/{{else}}/{{end}},
 * {{range}} (with `$i, $e :=`) and {{with}}, trim markers {{- -}}, comment
 * actions (skipped); functions: json, index, len, join, split, upper, lower, title,
 * print, printf, println, eq, ne, lt, le, gt, ge, and, or, not, pad,
 * truncate, slice. Values print as Go's fmt does (%v): maps as
 * map[k:v ...] with sorted keys, arrays as [a b], null as <nil>, a missing
 * key as <no value>. */
#ifndef BERTH_CLI_TEMPLATE_H
#define BERTH_CLI_TEMPLATE_H

#include <json-c/json.h>
#include <stdio.h>

#include "util/error.h"

struct cli_tmpl;

/* Parse errors read "template: :LINE: <what>". */
int cli_tmpl_parse(const char *src, struct cli_tmpl **ret, berth_error **err);
/* Execute with DATA as dot; the output is appended to OUT. */
int cli_tmpl_exec(const struct cli_tmpl *t, json_object *data, FILE *out, berth_error **err);
void cli_tmpl_free(struct cli_tmpl *t);
static inline void cli_tmpl_freep(struct cli_tmpl **t)
{
        cli_tmpl_free(*t);
        *t = NULL;
}
#define cleanup_tmpl __attribute__((cleanup(cli_tmpl_freep)))

/* Parse + execute into a new string (NULL and *err on failure). */
char *cli_tmpl_render(const char *src, json_object *data, berth_error **err);

#endif
