/* SPDX-License-Identifier: Apache-2.0 */
/* Docker's output conventions: units, relative times, tab-aligned tables
 * and --format rendering. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* Go's %.Ng. */
static char *go_g(double v, int prec, const char *unit)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        return xasprintf("%s%s", buf, unit);
}

/* BYTES in the largest of UNITS (each BASE times the one before) that
 * keeps the value at least 1, with PREC significant digits. */
static char *fmt_units(double bytes, double base, const char *const units[7], int prec)
{
        size_t i = 0;
        while (bytes >= base && i + 1 < 7) {
                bytes /= base;
                i++;
        }
        return go_g(bytes, prec, units[i]);
}

char *fmt_size(double bytes)
{
        static const char *const units[7] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
        return fmt_units(bytes, 1000.0, units, 3);
}

char *fmt_bytes_binary(double bytes)
{
        static const char *const units[7] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        return fmt_units(bytes, 1024.0, units, 4);
}

char *fmt_duration(int64_t seconds)
{
        int64_t minutes = seconds / 60, hours = (int64_t)((double)seconds / 3600.0 + 0.5);
        if (seconds < 1)
                return xstrdup("Less than a second");
        if (seconds == 1)
                return xstrdup("1 second");
        if (seconds < 60)
                return xasprintf("%lld seconds", (long long)seconds);
        if (minutes == 1)
                return xstrdup("About a minute");
        if (minutes < 60)
                return xasprintf("%lld minutes", (long long)minutes);
        if (hours == 1)
                return xstrdup("About an hour");
        if (hours < 48)
                return xasprintf("%lld hours", (long long)hours);
        if (hours < 24 * 7 * 2)
                return xasprintf("%lld days", (long long)(hours / 24));
        if (hours < 24 * 30 * 2)
                return xasprintf("%lld weeks", (long long)(hours / 24 / 7));
        if (hours < 24 * 365 * 2)
                return xasprintf("%lld months", (long long)(hours / 24 / 30));
        return xasprintf("%lld years", (long long)(seconds / 3600 / 24 / 365));
}

int64_t parse_time(const char *s)
{
        struct tm tm = {0};
        if (s == NULL)
                return 0;
        const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (rest == NULL || tm.tm_year < 0)
                return 0;
        int64_t t = (int64_t)timegm(&tm);
        if (*rest == '.')
                while (isdigit((unsigned char)*++rest))
                        ;
        if (*rest == '+' || *rest == '-') {
                int hh = 0, mm = 0;
                if (sscanf(rest + 1, "%d:%d", &hh, &mm) >= 1)
                        t -= (*rest == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
        }
        return t;
}

/* Go's time.ParseDuration (h, m, s, ms, us, ns; fractions); -1 if not one. */
static double parse_duration(const char *v)
{
        double total = 0;
        const char *p = v;
        if (*p == '\0')
                return -1;
        while (*p) {
                char *end;
                double x = strtod(p, &end);
                if (end == p)
                        return -1;
                p = end;
                double mult;
                if (strncmp(p, "ms", 2) == 0) {
                        mult = 1e-3;
                        p += 2;
                } else if (strncmp(p, "us", 2) == 0) {
                        mult = 1e-6;
                        p += 2;
                } else if (strncmp(p, "ns", 2) == 0) {
                        mult = 1e-9;
                        p += 2;
                } else if (*p == 'h') {
                        mult = 3600;
                        p++;
                } else if (*p == 'm') {
                        mult = 60;
                        p++;
                } else if (*p == 's') {
                        mult = 1;
                        p++;
                } else {
                        return -1;
                }
                total += x * mult;
        }
        return total;
}

char *parse_since(const char *v, berth_error **err)
{
        double d = parse_duration(v);
        if (d >= 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - d;
                return xasprintf("%.9f", t);
        }
        if (strchr(v, 'T') != NULL || strchr(v, '-') != NULL) {
                int64_t t = parse_time(v);
                if (t == 0) {
                        struct tm tm = {0};
                        const char *rest = strptime(v, "%Y-%m-%d", &tm);
                        if (rest == NULL || *rest != '\0') {
                                berth_fail(err, EINVAL, "invalid value for \"since\": `%s`", v);
                                return NULL;
                        }
                        t = (int64_t)timegm(&tm);
                }
                return xasprintf("%lld", (long long)t);
        }
        char *end;
        (void)strtod(v, &end);
        if (*end != '\0' || end == v) {
                berth_fail(err, EINVAL,
                           "invalid value `%s`: use a duration (10m), RFC 3339 or unix seconds", v);
                return NULL;
        }
        return xstrdup(v);
}

char *format_prepare(const char *format, bool *ret_table)
{
        bool table = berth_str_has_prefix(format, "table");
        const char *f = table ? format + 5 : format;
        if (strcmp(format, "json") == 0)
                f = "{{json .}}";
        char *out = xmalloc(strlen(f) + 1), *o = out;
        while (*f == ' ' && table)
                f++;
        for (; *f; f++) {
                if (f[0] == '\\' && f[1] == 't') {
                        *o++ = '\t';
                        f++;
                } else if (f[0] == '\\' && f[1] == 'n') {
                        *o++ = '\n';
                        f++;
                } else {
                        *o++ = *f;
                }
        }
        *o = '\0';
        *ret_table = table;
        return out;
}

struct tabw {
        char **lines;
        size_t n;
};

struct tabw *tabw_new(void)
{
        return xmalloc0(sizeof(struct tabw));
}

void tabw_add(struct tabw *t, const char *line)
{
        /* one table line per '\n'-separated line */
        const char *p = line;
        for (;;) {
                const char *nl = strchr(p, '\n');
                t->lines = xrealloc(t->lines, (t->n + 1) * sizeof(char *));
                t->lines[t->n++] = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
                if (nl == NULL || nl[1] == '\0')
                        break;
                p = nl + 1;
        }
}

static size_t utf8_width(const char *s, size_t n)
{
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        w++;
        return w;
}

/* Go's text/tabwriter with minwidth 10, padding 3, as docker's tables; a
 * column's width is taken over the lines that have a cell there. */
void tabw_flush(struct tabw *t, FILE *out)
{
        size_t widths[64] = {0};
        for (size_t i = 0; i < t->n; i++) {
                size_t col = 0;
                const char *cell = t->lines[i];
                for (const char *tab; (tab = strchr(cell, '\t')) != NULL && col < 64;
                     cell = tab + 1, col++) {
                        size_t w = utf8_width(cell, (size_t)(tab - cell)) + 3;
                        if (w < 10)
                                w = 10;
                        if (w > widths[col])
                                widths[col] = w;
                }
        }
        for (size_t i = 0; i < t->n; i++) {
                size_t col = 0;
                const char *cell = t->lines[i];
                const char *tab;
                for (; (tab = strchr(cell, '\t')) != NULL && col < 64; cell = tab + 1, col++) {
                        size_t w = utf8_width(cell, (size_t)(tab - cell));
                        fwrite(cell, 1, (size_t)(tab - cell), out);
                        for (; w < widths[col]; w++)
                                fputc(' ', out);
                }
                /* no trailing padding on the last cell */
                size_t len = strlen(cell);
                fwrite(cell, 1, len, out);
                fputc('\n', out);
                free(t->lines[i]);
        }
        free(t->lines);
        free(t);
}

int render_rows(const char *format, const char *default_table, json_object *rows,
                const char *const *header_map, bool quiet)
{
        bool table = true;
        cleanup_free char *tmpl = NULL;
        cleanup_tmpl struct cli_tmpl *t = NULL;
        cleanup_error berth_error *err = NULL;
        size_t n = json_object_array_length(rows);

        if (quiet) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", berth_json_str(json_object_array_get_idx(rows, i), "ID"));
                return 0;
        }
        if (format == NULL || *format == '\0' || strcmp(format, "table") == 0)
                tmpl = format_prepare(default_table, &table);
        else
                tmpl = format_prepare(format, &table);
        if (cli_tmpl_parse(tmpl, &t, &err) < 0) {
                fprintf(stderr, "template parsing error: %s\n", err->msg);
                return 64;
        }
        if (!table) {
                for (size_t i = 0; i < n; i++) {
                        cleanup_free char *s = NULL;
                        size_t len = 0;
                        FILE *f = open_memstream(&s, &len);
                        int r = cli_tmpl_exec(t, json_object_array_get_idx(rows, i), f, &err);
                        fclose(f);
                        if (r < 0) {
                                fprintf(stderr, "%s\n", err->msg);
                                return 1;
                        }
                        printf("%s\n", s);
                }
                return 0;
        }
        struct tabw *tw = tabw_new();
        cleanup_json json_object *hdr = json_object_new_object();
        for (const char *const *h = header_map; h && h[0]; h += 2)
                json_object_object_add(hdr, h[0], json_object_new_string(h[1]));
        {
                cleanup_free char *s = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                (void)cli_tmpl_exec(t, hdr, f, NULL);
                fclose(f);
                tabw_add(tw, s);
        }
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *s = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                int r = cli_tmpl_exec(t, json_object_array_get_idx(rows, i), f, &err);
                fclose(f);
                if (r < 0) {
                        tabw_flush(tw, stdout);
                        fprintf(stderr, "%s\n", err->msg);
                        return 1;
                }
                tabw_add(tw, s);
        }
        tabw_flush(tw, stdout);
        return 0;
}

char *shell_join(char *const *argv)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        for (size_t i = 0; argv && argv[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", argv[i]);
        fclose(f);
        return s;
}

char *trunc_str(const char *s, size_t n)
{
        size_t chars = 0, i = 0;
        for (; s[i]; i++) {
                if (((unsigned char)s[i] & 0xc0) != 0x80) {
                        if (chars == n)
                                break;
                        chars++;
                }
        }
        if (s[i] == '\0')
                return xstrdup(s);
        /* n - 1 characters and an ellipsis */
        size_t keep = 0;
        chars = 0;
        for (; s[keep]; keep++) {
                if (((unsigned char)s[keep] & 0xc0) != 0x80) {
                        if (chars == n - 1)
                                break;
                        chars++;
                }
        }
        return xasprintf("%.*s…", (int)keep, s);
}

bool confirm(const char *warning)
{
        char line[16] = {0};
        printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        return fgets(line, sizeof(line), stdin) != NULL && (line[0] == 'y' || line[0] == 'Y');
}
