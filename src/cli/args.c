/* SPDX-License-Identifier: Apache-2.0 */
/* Docker's (cobra/pflag) flag parsing, messages and help text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "util/cleanup.h"
#include "util/strutil.h"
#include "util/xalloc.h"

static const char *metavar(const struct flag *f)
{
        switch (f->type) {
        case F_BOOL:
                return "";
        case F_STRING:
                return "string";
        case F_LIST:
                return "list";
        case F_INT:
                return "int";
        }
        return "";
}

void command_help(const struct command *cmd, FILE *out)
{
        fprintf(out, "\nUsage:  berth %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->desc);
        if (cmd->aliases != NULL)
                fprintf(out, "\nAliases:\n  %s\n", cmd->aliases);
        if (cmd->nflags == 0)
                return;
        size_t width = 0;
        char **left = xcalloc(cmd->nflags + 1, sizeof(char *));
        for (size_t i = 0; i < cmd->nflags; i++) {
                const struct flag *f = &cmd->flags[i];
                const char *mv = metavar(f);
                if (f->short_name)
                        left[i] = xasprintf("  -%c, --%s%s%s", f->short_name, f->long_name,
                                            *mv ? " " : "", mv);
                else
                        left[i] = xasprintf("      --%s%s%s", f->long_name, *mv ? " " : "", mv);
                if (strlen(left[i]) > width)
                        width = strlen(left[i]);
        }
        fputs("\nOptions:\n", out);
        for (size_t i = 0; i < cmd->nflags; i++) {
                fprintf(out, "%-*s   %s\n", (int)width, left[i], cmd->flags[i].help);
                free(left[i]);
        }
        free(left);
}

static int bad_flag(const struct command *cmd, int *ret_exit, const char *fmt, const char *a,
                    const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        fprintf(stderr, fmt, a, b);
#pragma GCC diagnostic pop
        fprintf(stderr, "\nSee 'berth %s --help'.\n", cmd->name);
        *ret_exit = EXIT_DAEMON;
        return -1;
}

static int set_value(const struct command *cmd, const struct flag *f, const char *shown,
                     const char *v, int *ret_exit)
{
        if (f->set)
                *f->set = true;
        switch (f->type) {
        case F_BOOL:
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
                    strcmp(v, "TRUE") == 0 || strcmp(v, "True") == 0)
                        *(bool *)f->dest = true;
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "f") == 0 ||
                         strcmp(v, "FALSE") == 0 || strcmp(v, "False") == 0)
                        *(bool *)f->dest = false;
                else
                        return bad_flag(cmd, ret_exit,
                                        "invalid argument \"%s\" for \"%s\" flag: "
                                        "strconv.ParseBool: parsing: invalid syntax",
                                        v, shown);
                return 0;
        case F_STRING:
                *(const char **)f->dest = v;
                return 0;
        case F_LIST: {
                char ***l = f->dest;
                size_t n = berth_strv_len(*l);
                *l = xrealloc(*l, (n + 2) * sizeof(char *));
                (*l)[n] = xstrdup(v);
                (*l)[n + 1] = NULL;
                return 0;
        }
        case F_INT: {
                int64_t x;
                if (berth_parse_int64(v, &x) < 0)
                        return bad_flag(cmd, ret_exit,
                                        "invalid argument \"%s\" for \"%s\" flag: "
                                        "strconv.ParseInt: parsing: invalid syntax",
                                        v, shown);
                *(int64_t *)f->dest = x;
                return 0;
        }
        }
        return 0;
}

static const struct flag *find_long(const struct command *cmd, const char *name, size_t len)
{
        for (size_t i = 0; i < cmd->nflags; i++)
                if (strlen(cmd->flags[i].long_name) == len &&
                    strncmp(cmd->flags[i].long_name, name, len) == 0)
                        return &cmd->flags[i];
        return NULL;
}

static const struct flag *find_short(const struct command *cmd, char c)
{
        for (size_t i = 0; i < cmd->nflags; i++)
                if (cmd->flags[i].short_name == c)
                        return &cmd->flags[i];
        return NULL;
}

void flags_free_lists(const struct command *cmd)
{
        for (size_t i = 0; i < cmd->nflags; i++)
                if (cmd->flags[i].type == F_LIST)
                        berth_strv_freep(cmd->flags[i].dest);
}

int flags_parse(const struct command *cmd, int argc, char **argv, char ***ret_args, int *ret_exit)
{
        char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
        int np = 0;
        bool only_pos = false;
        for (int i = 1; i < argc; i++) {
                char *a = argv[i];
                if (only_pos || a[0] != '-' || a[1] == '\0') {
                        pos[np++] = a;
                        if (cmd->stop_at_first_arg)
                                only_pos = true;
                        continue;
                }
                if (strcmp(a, "--") == 0) {
                        only_pos = true;
                        continue;
                }
                if (strcmp(a, "--help") == 0 ||
                    (strcmp(a, "-h") == 0 && find_short(cmd, 'h') == NULL)) {
                        command_help(cmd, stdout);
                        free(pos);
                        *ret_exit = 0;
                        return -1;
                }
                if (a[1] == '-') {
                        const char *name = a + 2, *eq = strchr(name, '=');
                        size_t len = eq ? (size_t)(eq - name) : strlen(name);
                        const struct flag *f = find_long(cmd, name, len);
                        if (f == NULL) {
                                free(pos);
                                cleanup_free char *shown = xstrndup(a, (size_t)(len + 2));
                                return bad_flag(cmd, ret_exit, "unknown flag: %s%s", shown, "");
                        }
                        cleanup_free char *shown =
                            f->short_name ? xasprintf("-%c, --%s", f->short_name, f->long_name)
                                          : xasprintf("--%s", f->long_name);
                        const char *v = eq ? eq + 1 : NULL;
                        if (v == NULL && f->type == F_BOOL)
                                v = "true";
                        if (v == NULL) {
                                if (i + 1 >= argc) {
                                        free(pos);
                                        return bad_flag(cmd, ret_exit,
                                                        "flag needs an argument: --%s%s",
                                                        f->long_name, "");
                                }
                                v = argv[++i];
                        }
                        if (set_value(cmd, f, shown, v, ret_exit) < 0) {
                                free(pos);
                                return -1;
                        }
                        continue;
                }
                /* short flags, possibly combined (-it) or with an attached value (-eA=1) */
                for (const char *s = a + 1; *s; s++) {
                        const struct flag *f = find_short(cmd, *s);
                        char c[2] = {*s, 0};
                        if (f == NULL) {
                                free(pos);
                                return bad_flag(cmd, ret_exit, "unknown shorthand flag: '%s' in %s",
                                                c, a);
                        }
                        cleanup_free char *shown =
                            xasprintf("-%c, --%s", f->short_name, f->long_name);
                        if (f->type == F_BOOL) {
                                const char *v = "true";
                                if (s[1] == '=') {
                                        v = s + 2;
                                        s += strlen(s) - 1;
                                }
                                if (set_value(cmd, f, shown, v, ret_exit) < 0) {
                                        free(pos);
                                        return -1;
                                }
                                continue;
                        }
                        const char *v = s[1] ? s + 1 + (s[1] == '=') : NULL;
                        if (v == NULL) {
                                if (i + 1 >= argc) {
                                        free(pos);
                                        return bad_flag(cmd, ret_exit,
                                                        "flag needs an argument: '%s' in %s", c, a);
                                }
                                v = argv[++i];
                        }
                        if (set_value(cmd, f, shown, v, ret_exit) < 0) {
                                free(pos);
                                return -1;
                        }
                        break;
                }
        }
        if (np < cmd->min_args || (cmd->max_args >= 0 && np > cmd->max_args)) {
                if (cmd->max_args == 0)
                        fprintf(stderr, "\"berth %s\" accepts no arguments.\n", cmd->name);
                else if (cmd->min_args == cmd->max_args)
                        fprintf(stderr, "\"berth %s\" requires exactly %d argument%s.\n", cmd->name,
                                cmd->min_args, cmd->min_args == 1 ? "" : "s");
                else if (np < cmd->min_args)
                        fprintf(stderr, "\"berth %s\" requires at least %d argument%s.\n",
                                cmd->name, cmd->min_args, cmd->min_args == 1 ? "" : "s");
                else
                        fprintf(stderr, "\"berth %s\" requires at most %d argument%s.\n", cmd->name,
                                cmd->max_args, cmd->max_args == 1 ? "" : "s");
                fprintf(stderr, "See 'berth %s --help'.\n\nUsage:  berth %s %s\n\n%s\n", cmd->name,
                        cmd->name, cmd->usage, cmd->desc);
                free(pos);
                *ret_exit = 1;
                return -1;
        }
        pos[np] = NULL;
        *ret_args = pos;
        return np;
}
