/* SPDX-License-Identifier: Apache-2.0 */
/* Output helpers: docker's size and time units, a tabwriter, and a small
 * subset of Go templates for --format. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

struct berth_image_store *cli_store(struct cli *c)
{
        cleanup_error berth_error *err = NULL;
        if (c->store == NULL && berth_image_store_open(c->data_root, &c->store, &err) < 0) {
                fprintf(stderr, "Error: %s\n", err->msg);
                return NULL;
        }
        return c->store;
}

int cli_error(berth_error **err)
{
        fprintf(stderr, "Error: %s\n", *err ? (*err)->msg : "unknown error");
        berth_error_freep(err);
        return 1;
}

int cli_usage(const char *usage)
{
        fprintf(stderr, "Usage: %s\n", usage);
        return 2;
}

int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n, char ***ret_pos)
{
        char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
        size_t np = 0;
        bool only_pos = false;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
                        pos[np++] = argv[i];
                        continue;
                }
                if (strcmp(a, "--") == 0) {
                        only_pos = true;
                        continue;
                }
                const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
                size_t alen = eq ? (size_t)(eq - a) : strlen(a);
                struct cli_opt *o = NULL;
                for (size_t k = 0; k < n; k++) {
                        if ((opts[k].short_name && strlen(opts[k].short_name) == alen &&
                             strncmp(a, opts[k].short_name, alen) == 0) ||
                            (strlen(opts[k].long_name) == alen &&
                             strncmp(a, opts[k].long_name, alen) == 0))
                                o = &opts[k];
                }
                if (o == NULL) {
                        fprintf(stderr, "unknown flag: %s\n", a);
                        free(pos);
                        return -1;
                }
                if (!o->takes_value) {
                        *o->flag = true;
                        continue;
                }
                const char *val = eq ? eq + 1 : NULL;
                if (val == NULL) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "flag needs an argument: %s\n", a);
                                free(pos);
                                return -1;
                        }
                        val = argv[++i];
                }
                if (o->values) {
                        size_t m = 0;
                        while (*o->values && (*o->values)[m])
                                m++;
                        *o->values = xrealloc(*o->values, (m + 2) * sizeof(char *));
                        (*o->values)[m] = xstrdup(val);
                        (*o->values)[m + 1] = NULL;
                } else {
                        *o->value = val;
                }
        }
        pos[np] = NULL;
        *ret_pos = pos;
        return (int)np;
}

char *cli_human_size(int64_t bytes)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
        double v = (double)bytes;
        size_t u = 0;
        while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1000.0;
                u++;
        }
        return xasprintf("%.3g%s", v, units[u]);
}

char *cli_human_since(int64_t t)
{
        int64_t secs = (int64_t)time(NULL) - t;
        int64_t mins = secs / 60, hours = (secs + 1800) / 3600;
        if (t <= 0)
                return xstrdup("N/A");
        if (secs < 1)
                return xstrdup("Less than a second ago");
        if (secs == 1)
                return xstrdup("1 second ago");
        if (secs < 60)
                return xasprintf("%lld seconds ago", (long long)secs);
        if (mins == 1)
                return xstrdup("About a minute ago");
        if (mins < 60)
                return xasprintf("%lld minutes ago", (long long)mins);
        if (hours == 1)
                return xstrdup("About an hour ago");
        if (hours < 48)
                return xasprintf("%lld hours ago", (long long)hours);
        if (hours < 24 * 7 * 2)
                return xasprintf("%lld days ago", (long long)(hours / 24));
        if (hours < 24 * 30 * 2)
                return xasprintf("%lld weeks ago", (long long)(hours / 24 / 7));
        if (hours < 24 * 365 * 2)
                return xasprintf("%lld months ago", (long long)(hours / 24 / 30));
        return xasprintf("%lld years ago", (long long)(secs / 3600 / 24 / 365));
}

/* Go's fmt of a value: strings bare, arrays "[a b]", maps "map[k:v]". */
static void go_print(FILE *f, json_object *v)
{
        if (v == NULL) {
                fputs("<no value>", f);
                return;
        }
        switch (json_object_get_type(v)) {
        case json_type_string:
                fputs(json_object_get_string(v), f);
                break;
        case json_type_array:
                fputc('[', f);
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        if (i)
                                fputc(' ', f);
                        go_print(f, json_object_array_get_idx(v, i));
                }
                fputc(']', f);
                break;
        case json_type_object: {
                bool first = true;
                fputs("map[", f);
                json_object_object_foreach(v, k, val)
                {
                        fprintf(f, "%s%s:", first ? "" : " ", k);
                        go_print(f, val);
                        first = false;
                }
                fputc(']', f);
                break;
        }
        case json_type_null:
                fputs("<nil>", f);
                break;
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
                fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), f);
                break;
        }
}

static json_object *lookup(json_object *data, const char *path)
{
        json_object *cur = data;
        if (strcmp(path, ".") == 0)
                return data;
        cleanup_free char *buf = xstrdup(path);
        for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                if (cur == NULL || !json_object_object_get_ex(cur, k, &cur))
                        return NULL;
        }
        return cur;
}

char *cli_template(const char *tmpl, json_object *data)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        const char *p = tmpl;
        while (*p) {
                if (p[0] == '\\' && p[1] == 't') {
                        fputc('\t', f);
                        p += 2;
                } else if (p[0] == '\\' && p[1] == 'n') {
                        fputc('\n', f);
                        p += 2;
                } else if (p[0] == '{' && p[1] == '{') {
                        const char *end = strstr(p + 2, "}}");
                        if (end == NULL) {
                                fputs(p, f);
                                break;
                        }
                        cleanup_free char *expr = xstrndup(p + 2, (size_t)(end - p - 2));
                        char *e = expr;
                        while (isspace((unsigned char)*e) || *e == '-')
                                e++;
                        char *t = e + strlen(e);
                        while (t > e && (isspace((unsigned char)t[-1]) || t[-1] == '-'))
                                *--t = '\0';
                        bool json = strncmp(e, "json ", 5) == 0;
                        if (json)
                                e += 5;
                        while (isspace((unsigned char)*e))
                                e++;
                        json_object *v = lookup(data, e);
                        if (json)
                                fputs(v ? json_object_to_json_string_ext(
                                              v, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
                                        : "null",
                                      f);
                        else
                                go_print(f, v);
                        p = end + 2;
                } else {
                        fputc(*p++, f);
                }
        }
        fclose(f);
        return out;
}

struct cli_table {
        char **rows;
        size_t n;
};

struct cli_table *cli_table_new(void)
{
        return xmalloc0(sizeof(struct cli_table));
}

void cli_table_row(struct cli_table *t, const char *row)
{
        t->rows = xrealloc(t->rows, (t->n + 1) * sizeof(char *));
        t->rows[t->n++] = xstrdup(row);
}

void cli_table_print(struct cli_table *t)
{
        size_t widths[32] = {0};
        for (size_t i = 0; i < t->n; i++) {
                size_t col = 0, w = 0;
                for (const char *p = t->rows[i];; p++) {
                        if (*p == '\t' || *p == '\0') {
                                if (*p == '\t' && col < 32 && w + 3 > widths[col])
                                        widths[col] = w + 3 < 10 ? 10 : w + 3;
                                if (*p == '\0')
                                        break;
                                col++;
                                w = 0;
                        } else if (((unsigned char)*p & 0xc0) != 0x80) {
                                w++;
                        }
                }
        }
        for (size_t i = 0; i < t->n; i++) {
                size_t col = 0, w = 0;
                for (const char *p = t->rows[i]; *p; p++) {
                        if (*p == '\t') {
                                for (size_t k = w; col < 32 && k < widths[col]; k++)
                                        putchar(' ');
                                col++;
                                w = 0;
                        } else {
                                putchar(*p);
                                if (((unsigned char)*p & 0xc0) != 0x80)
                                        w++;
                        }
                }
                putchar('\n');
                free(t->rows[i]);
        }
        free(t->rows);
        free(t);
}
