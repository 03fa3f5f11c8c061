/* SPDX-License-Identifier: Apache-2.0 */
/* A subset of Go's text/template over JSON values; see template.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h> /* isfinite, isnan (macros: no libm) */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define MAX_DEPTH 64
/* A nested range multiplies its body, printf and pad widths multiply a
 * string: one execution writes at most MAX_OUTPUT bytes, produces no string
 * longer than that, and runs at most MAX_STEPS nodes and range iterations. */
#define MAX_OUTPUT_MIB 64
#define MAX_OUTPUT     ((size_t)MAX_OUTPUT_MIB << 20)
#define MAX_STEPS      1000000

/* ---- the tree ---- */

enum arg_kind { A_FIELD, A_DOT, A_VAR, A_STRING, A_INT, A_FLOAT, A_BOOL, A_NIL, A_FUNC, A_PIPE };

struct pipe;

struct arg {
        enum arg_kind kind;
        char *name;    /* variable (without $), function, or string literal */
        char **fields; /* field chain applied to the term */
        size_t nfields;
        int64_t ival;
        double fval;
        bool bval;
        struct pipe *pipe;
};

struct cmd {
        struct arg *args;
        size_t n;
};

struct pipe {
        struct cmd *cmds;
        size_t n;
        char *decl[2]; /* declared variables ($x := / $i, $e :=) */
        size_t ndecl;
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

struct list;

struct node {
        enum node_kind kind;
        char *text;
        struct pipe *pipe;
        struct list *body, *else_body;
};

struct list {
        struct node *nodes;
        size_t n;
};

struct cli_tmpl {
        struct list *root;
};

static void pipe_free(struct pipe *p);

static void arg_clear(struct arg *a)
{
        free(a->name);
        for (size_t i = 0; i < a->nfields; i++)
                free(a->fields[i]);
        free(a->fields);
        pipe_free(a->pipe);
}

static void pipe_free(struct pipe *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < p->n; i++) {
                for (size_t k = 0; k < p->cmds[i].n; k++)
                        arg_clear(&p->cmds[i].args[k]);
                free(p->cmds[i].args);
        }
        free(p->cmds);
        free(p->decl[0]);
        free(p->decl[1]);
        free(p);
}

static void list_free(struct list *l)
{
        if (l == NULL)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->nodes[i].text);
                pipe_free(l->nodes[i].pipe);
                list_free(l->nodes[i].body);
                list_free(l->nodes[i].else_body);
        }
        free(l->nodes);
        free(l);
}

void cli_tmpl_free(struct cli_tmpl *t)
{
        if (t == NULL)
                return;
        list_free(t->root);
        free(t);
}

/* ---- splitting the source into text and actions ---- */

struct item {
        bool action;
        char *s;
        int line;
};

struct items {
        struct item *v;
        size_t n, pos;
};

static int perr(berth_error **err, int line, const char *what)
{
        return berth_fail(err, EINVAL, "template: :%d: %s", line, what);
}

static int split_items(const char *src, struct items *ret, berth_error **err)
{
        struct items it = {0};
        const char *p = src;
        int line = 1;
        bool trim_next = false;
        for (;;) {
                const char *open = strstr(p, "{{");
                const char *tend = open ? open : p + strlen(p);
                const char *tstart = p;
                if (trim_next)
                        while (tstart < tend && isspace((unsigned char)*tstart))
                                tstart++;
                bool trim_prev = open && open[2] == '-' &&
                                 (open[3] == ' ' || open[3] == '\t' || open[3] == '\n');
                const char *tstop = tend;
                if (trim_prev)
                        while (tstop > tstart && isspace((unsigned char)tstop[-1]))
                                tstop--;
                if (tstop > tstart) {
                        it.v = xrealloc(it.v, (it.n + 1) * sizeof(*it.v));
                        it.v[it.n++] =
                            (struct item){false, xstrndup(tstart, (size_t)(tstop - tstart)), line};
                }
                for (const char *q = p; q < tend; q++)
                        line += *q == '\n';
                if (open == NULL)
                        break;
                const char *a = open + 2 + (trim_prev ? 1 : 0);
                const char *q = a;
                char quote = 0;
                for (; *q; q++) {
                        if (quote) {
                                if (*q == '\\' && quote == '"' && q[1])
                                        q++;
                                else if (*q == quote)
                                        quote = 0;
                        } else if (*q == '"' || *q == '`' || *q == '\'') {
                                quote = *q;
                        } else if (q[0] == '}' && q[1] == '}') {
                                break;
                        }
                }
                if (*q == '\0') {
                        for (size_t i = 0; i < it.n; i++)
                                free(it.v[i].s);
                        free(it.v);
                        return perr(err, line, "unclosed action");
                }
                const char *aend = q;
                trim_next = aend - a >= 2 && aend[-1] == '-' && isspace((unsigned char)aend[-2]);
                if (trim_next)
                        aend--;
                cleanup_free char *body = xstrndup(a, (size_t)(aend - a));
                char *b = body;
                while (isspace((unsigned char)*b))
                        b++;
                if (!(b[0] == '/' && b[1] == '*')) {
                        it.v = xrealloc(it.v, (it.n + 1) * sizeof(*it.v));
                        it.v[it.n++] = (struct item){true, xstrdup(body), line};
                }
                for (const char *r = open; r < q; r++)
                        line += *r == '\n';
                p = q + 2;
        }
        *ret = it;
        return 0;
}

/* ---- the expression lexer ---- */

enum tok_kind {
        T_EOF,
        T_FIELD,
        T_DOT,
        T_VAR,
        T_IDENT,
        T_STRING,
        T_NUMBER,
        T_PIPE,
        T_LPAREN,
        T_RPAREN,
        T_DECLARE,
        T_COMMA,
        T_BAD
};

struct lexer {
        const char *p;
        int line;
        enum tok_kind kind;
        char *text; /* identifier, field chain (".A.B"), var ("$x.A"), string value, number */
};

static bool ident_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

static void lex_next(struct lexer *lx)
{
        free(lx->text);
        lx->text = NULL;
        while (isspace((unsigned char)*lx->p))
                lx->p++;
        const char *s = lx->p;
        char c = *s;
        if (c == '\0') {
                lx->kind = T_EOF;
                return;
        }
        if (c == '|' || c == '(' || c == ')' || c == ',') {
                lx->kind = c == '|' ? T_PIPE : c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
                lx->p++;
                return;
        }
        if (c == ':' && s[1] == '=') {
                lx->kind = T_DECLARE;
                lx->p += 2;
                return;
        }
        if (c == '.' || c == '$') {
                const char *q = s + 1;
                if (c == '$')
                        while (ident_char(*q))
                                q++;
                while (*q == '.' || ident_char(*q))
                        q++;
                lx->kind = c == '$' ? T_VAR : (q == s + 1 ? T_DOT : T_FIELD);
                lx->text = xstrndup(s, (size_t)(q - s));
                lx->p = q;
                return;
        }
        if (c == '"' || c == '`') {
                FILE *f;
                size_t len;
                const char *q = s + 1;
                f = open_memstream(&lx->text, &len);
                for (; *q && *q != c; q++) {
                        if (c == '"' && *q == '\\' && q[1]) {
                                q++;
                                fputc(*q == 'n'   ? '\n'
                                      : *q == 't' ? '\t'
                                      : *q == 'r' ? '\r'
                                                  : *q,
                                      f);
                        } else {
                                fputc(*q, f);
                        }
                }
                fclose(f);
                if (*q != c) {
                        lx->kind = T_BAD;
                        return;
                }
                lx->kind = T_STRING;
                lx->p = q + 1;
                return;
        }
        if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && isdigit((unsigned char)s[1]))) {
                const char *q = s + 1;
                while (isalnum((unsigned char)*q) || *q == '.')
                        q++;
                lx->kind = T_NUMBER;
                lx->text = xstrndup(s, (size_t)(q - s));
                lx->p = q;
                return;
        }
        if (ident_char(c)) {
                const char *q = s;
                while (ident_char(*q))
                        q++;
                lx->kind = T_IDENT;
                lx->text = xstrndup(s, (size_t)(q - s));
                lx->p = q;
                return;
        }
        lx->kind = T_BAD;
}

static const char *const functions[] = {"and",   "eq",    "ge",    "gt",       "index",  "join",
                                        "json",  "le",    "len",   "lower",    "lt",     "ne",
                                        "not",   "or",    "pad",   "print",    "printf", "println",
                                        "slice", "split", "title", "truncate", "upper"};

static bool known_function(const char *name)
{
        for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
                if (strcmp(functions[i], name) == 0)
                        return true;
        return false;
}

/* Split ".A.B" (after an optional prefix) into fields. */
static void split_fields(const char *chain, struct arg *a)
{
        cleanup_free char *buf = xstrdup(chain);
        for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                a->fields = xrealloc(a->fields, (a->nfields + 1) * sizeof(char *));
                a->fields[a->nfields++] = xstrdup(k);
        }
}

static int parse_pipe(struct lexer *lx, bool in_paren, bool allow_decl, struct pipe **ret,
                      berth_error **err);

static int parse_operand(struct lexer *lx, struct arg *a, berth_error **err)
{
        memset(a, 0, sizeof(*a));
        switch (lx->kind) {
        case T_FIELD:
                a->kind = A_FIELD;
                split_fields(lx->text, a);
                break;
        case T_DOT:
                a->kind = A_DOT;
                break;
        case T_VAR: {
                const char *dot = strchr(lx->text, '.');
                a->kind = A_VAR;
                a->name = xstrndup(lx->text + 1,
                                   dot ? (size_t)(dot - lx->text - 1) : strlen(lx->text + 1));
                if (dot)
                        split_fields(dot, a);
                break;
        }
        case T_STRING:
                a->kind = A_STRING;
                a->name = xstrdup(lx->text);
                break;
        case T_NUMBER: {
                char *end = NULL;
                errno = 0;
                long long v = strtoll(lx->text, &end, 0);
                if (*end == '\0' && errno == 0) {
                        a->kind = A_INT;
                        a->ival = v;
                } else {
                        a->fval = strtod(lx->text, &end);
                        if (*end != '\0') {
                                cleanup_free char *m =
                                    xasprintf("bad number syntax: \"%s\"", lx->text);
                                return perr(err, lx->line, m);
                        }
                        a->kind = A_FLOAT;
                }
                break;
        }
        case T_IDENT:
                if (strcmp(lx->text, "true") == 0 || strcmp(lx->text, "false") == 0) {
                        a->kind = A_BOOL;
                        a->bval = lx->text[0] == 't';
                } else if (strcmp(lx->text, "nil") == 0) {
                        a->kind = A_NIL;
                } else if (known_function(lx->text)) {
                        a->kind = A_FUNC;
                        a->name = xstrdup(lx->text);
                } else {
                        cleanup_free char *m = xasprintf("function \"%s\" not defined", lx->text);
                        return perr(err, lx->line, m);
                }
                break;
        case T_LPAREN: {
                lex_next(lx);
                a->kind = A_PIPE;
                int r = parse_pipe(lx, true, false, &a->pipe, err);
                if (r < 0)
                        return r;
                if (lx->kind != T_RPAREN)
                        return perr(err, lx->line, "unclosed left paren");
                /* a field chain right after ')' */
                if (*lx->p == '.' && ident_char(lx->p[1])) {
                        lex_next(lx);
                        split_fields(lx->text, a);
                }
                break;
        }
        case T_EOF:
        case T_PIPE:
        case T_RPAREN:
        case T_DECLARE:
        case T_COMMA:
        case T_BAD:
                return perr(err, lx->line, "unexpected token in operand");
        }
        lex_next(lx);
        return 0;
}

static int parse_pipe(struct lexer *lx, bool in_paren, bool allow_decl, struct pipe **ret,
                      berth_error **err)
{
        struct pipe *p = xmalloc0(sizeof(*p));
        int r = 0;
        /* declarations: $x := ... or $i, $e := ... */
        if (allow_decl && lx->kind == T_VAR && strchr(lx->text, '.') == NULL) {
                const char *save = lx->p;
                cleanup_free char *v1 = xstrdup(lx->text + 1);
                lex_next(lx);
                if (lx->kind == T_DECLARE || lx->kind == T_COMMA) {
                        p->decl[p->ndecl++] = steal_pointer(&v1);
                        if (lx->kind == T_COMMA) {
                                lex_next(lx);
                                if (lx->kind != T_VAR) {
                                        pipe_free(p);
                                        return perr(err, lx->line, "expected a variable after ','");
                                }
                                p->decl[p->ndecl++] = xstrdup(lx->text + 1);
                                lex_next(lx);
                        }
                        if (lx->kind != T_DECLARE) {
                                pipe_free(p);
                                return perr(err, lx->line, "expected :=");
                        }
                        lex_next(lx);
                } else {
                        /* not a declaration: back to the variable token */
                        free(lx->text);
                        lx->text = xasprintf("$%s", v1);
                        lx->kind = T_VAR;
                        lx->p = save;
                }
        }
        for (;;) {
                struct cmd c = {0};
                while (lx->kind != T_EOF && lx->kind != T_PIPE && lx->kind != T_RPAREN) {
                        if (lx->kind == T_BAD) {
                                r = perr(err, lx->line, "bad character in action");
                                break;
                        }
                        c.args = xrealloc(c.args, (c.n + 1) * sizeof(struct arg));
                        r = parse_operand(lx, &c.args[c.n], err);
                        c.n++;
                        if (r < 0)
                                break;
                }
                p->cmds = xrealloc(p->cmds, (p->n + 1) * sizeof(struct cmd));
                p->cmds[p->n++] = c;
                if (r < 0)
                        break;
                if (c.n == 0) {
                        r = perr(err, lx->line, "missing value for command");
                        break;
                }
                if (lx->kind != T_PIPE)
                        break;
                lex_next(lx);
        }
        if (r == 0 && lx->kind == T_RPAREN && !in_paren)
                r = perr(err, lx->line, "unexpected right paren");
        if (r == 0 && lx->kind == T_EOF && in_paren)
                r = perr(err, lx->line, "unclosed left paren");
        if (r < 0) {
                pipe_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static int parse_action_pipe(const char *s, int line, bool allow_decl, struct pipe **ret,
                             berth_error **err)
{
        struct lexer lx = {.p = s, .line = line};
        lex_next(&lx);
        if (lx.kind == T_EOF) {
                free(lx.text);
                return perr(err, line, "missing value for command");
        }
        int r = parse_pipe(&lx, false, allow_decl, ret, err);
        free(lx.text);
        return r;
}

/* The first word of an action. */
static const char *keyword(const char *s, const char **rest)
{
        static const char *const kw[] = {"if",     "range",    "with",  "else",  "end",
                                         "define", "template", "block", "break", "continue"};
        while (isspace((unsigned char)*s))
                s++;
        for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
                size_t n = strlen(kw[i]);
                if (strncmp(s, kw[i], n) == 0 && !ident_char(s[n])) {
                        *rest = s + n;
                        return kw[i];
                }
        }
        return NULL;
}

static void list_add(struct list *l, struct node n)
{
        l->nodes = xrealloc(l->nodes, (l->n + 1) * sizeof(struct node));
        l->nodes[l->n++] = n;
}

static int parse_list(struct items *it, struct list *l, int depth, const char **ret_stop,
                      char **ret_else_rest, berth_error **err);

static void node_clear(struct node *n)
{
        free(n->text);
        pipe_free(n->pipe);
        list_free(n->body);
        list_free(n->else_body);
}

/* {{if|range|with PIPE}} ... [{{else [if|with PIPE]}} ...] {{end}}: an
 * {{else if}} becomes a nested node sharing the one {{end}}. */
static int parse_control(struct items *it, const char *kw, const char *src, int line, int depth,
                         struct node *ret, berth_error **err)
{
        struct node n = {.kind = kw[0] == 'i' ? N_IF : kw[0] == 'r' ? N_RANGE : N_WITH};
        const char *stop = NULL;
        cleanup_free char *else_rest = NULL;
        int r = parse_action_pipe(src, line, true, &n.pipe, err);
        if (r == 0) {
                n.body = xmalloc0(sizeof(struct list));
                r = parse_list(it, n.body, depth + 1, &stop, &else_rest, err);
        }
        if (r == 0 && stop == NULL)
                r = perr(err, line, "unexpected EOF");
        if (r == 0 && strcmp(stop, "else") == 0) {
                const char *rest = NULL;
                const char *kw2 = keyword(else_rest, &rest);
                n.else_body = xmalloc0(sizeof(struct list));
                if (kw2 != NULL && (strcmp(kw2, "if") == 0 || strcmp(kw2, "with") == 0)) {
                        struct node inner;
                        r = parse_control(it, kw2, rest, line, depth + 1, &inner, err);
                        if (r == 0)
                                list_add(n.else_body, inner);
                } else {
                        const char *stop2 = NULL;
                        r = parse_list(it, n.else_body, depth + 1, &stop2, NULL, err);
                        if (r == 0 && (stop2 == NULL || strcmp(stop2, "end") != 0))
                                r = perr(err, line, "expected end; found EOF or else");
                }
        }
        if (r < 0) {
                node_clear(&n);
                return r;
        }
        *ret = n;
        return 0;
}

/* Parse items into L until {{end}} / {{else}} (reported through *ret_stop:
 * "end", "else" with *ret_else_rest the text after else, or NULL at EOF). */
static int parse_list(struct items *it, struct list *l, int depth, const char **ret_stop,
                      char **ret_else_rest, berth_error **err)
{
        if (depth > MAX_DEPTH)
                return perr(err, it->n ? it->v[it->pos - 1].line : 1, "template nested too deeply");
        while (it->pos < it->n) {
                struct item *cur = &it->v[it->pos++];
                if (!cur->action) {
                        list_add(l, (struct node){.kind = N_TEXT, .text = xstrdup(cur->s)});
                        continue;
                }
                const char *rest = NULL;
                const char *kw = keyword(cur->s, &rest);
                if (kw == NULL) {
                        struct pipe *p = NULL;
                        int r = parse_action_pipe(cur->s, cur->line, true, &p, err);
                        if (r < 0)
                                return r;
                        list_add(l, (struct node){.kind = N_ACTION, .pipe = p});
                        continue;
                }
                if (strcmp(kw, "end") == 0 || strcmp(kw, "else") == 0) {
                        *ret_stop = kw;
                        if (ret_else_rest)
                                *ret_else_rest = xstrdup(rest);
                        else if (strcmp(kw, "else") == 0)
                                return perr(err, cur->line, "unexpected {{else}}");
                        return 0;
                }
                if (strcmp(kw, "if") != 0 && strcmp(kw, "range") != 0 && strcmp(kw, "with") != 0) {
                        cleanup_free char *m = xasprintf("unsupported action \"%s\"", kw);
                        return perr(err, cur->line, m);
                }
                struct node n;
                int r = parse_control(it, kw, rest, cur->line, depth, &n, err);
                if (r < 0)
                        return r;
                list_add(l, n);
        }
        *ret_stop = NULL;
        return 0;
}

int cli_tmpl_parse(const char *src, struct cli_tmpl **ret, berth_error **err)
{
        struct items it = {0};
        int r = split_items(src, &it, err);
        if (r < 0)
                return r;
        struct cli_tmpl *t = xmalloc0(sizeof(*t));
        t->root = xmalloc0(sizeof(struct list));
        const char *stop = NULL;
        r = parse_list(&it, t->root, 0, &stop, NULL, err);
        if (r == 0 && stop != NULL) {
                cleanup_free char *m = xasprintf("unexpected {{%s}}", stop);
                r = perr(err, it.v[it.pos - 1].line, m);
        }
        for (size_t i = 0; i < it.n; i++)
                free(it.v[i].s);
        free(it.v);
        if (r < 0) {
                cli_tmpl_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

/* ---- values ---- */

/* A value: a JSON reference (owned), or missing (no such key). */
struct val {
        json_object *o;
        bool missing;
};

static struct val v_ref(json_object *o)
{
        return (struct val){json_object_get(o), false};
}

static struct val v_new(json_object *o)
{
        return (struct val){o, false};
}

static struct val v_missing(void)
{
        return (struct val){NULL, true};
}

static void v_put(struct val *v)
{
        if (v->o != NULL)
                json_object_put(v->o);
        v->o = NULL;
}

static bool truthy(struct val v)
{
        if (v.o == NULL)
                return false;
        switch (json_object_get_type(v.o)) {
        case json_type_boolean:
                return json_object_get_boolean(v.o);
        case json_type_int:
                return json_object_get_int64(v.o) != 0;
        case json_type_double:
                return json_object_get_double(v.o) != 0;
        case json_type_string:
                return json_object_get_string_len(v.o) > 0;
        case json_type_array:
                return json_object_array_length(v.o) > 0;
        case json_type_object:
                return json_object_object_length(v.o) > 0;
        case json_type_null:
                return false;
        }
        return false;
}

static void print_double(FILE *f, double d)
{
        if (isfinite(d) && d > -1e18 && d < 1e18 && d == (double)(long long)d) {
                fprintf(f, "%.0f", d);
                return;
        }
        char buf[64];
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        fputs(buf, f);
}

static int cmp_keys(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted keys of an object (the strings belong to the object). */
static const char **sorted_keys(json_object *o, size_t *ret_n)
{
        size_t n = (size_t)json_object_object_length(o), i = 0;
        const char **keys = xcalloc(n + 1, sizeof(char *));
        json_object_object_foreach(o, k, v)
        {
                (void)v;
                keys[i++] = k;
        }
        qsort(keys, n, sizeof(char *), cmp_keys);
        *ret_n = n;
        return keys;
}

/* Go's %v. */
static void go_print(FILE *f, json_object *o, bool missing)
{
        if (o == NULL) {
                fputs(missing ? "<no value>" : "<nil>", f);
                return;
        }
        switch (json_object_get_type(o)) {
        case json_type_string:
                fwrite(json_object_get_string(o), 1, (size_t)json_object_get_string_len(o), f);
                break;
        case json_type_int:
                fprintf(f, "%" PRId64, json_object_get_int64(o));
                break;
        case json_type_double:
                print_double(f, json_object_get_double(o));
                break;
        case json_type_boolean:
                fputs(json_object_get_boolean(o) ? "true" : "false", f);
                break;
        case json_type_array:
                fputc('[', f);
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        if (i)
                                fputc(' ', f);
                        go_print(f, json_object_array_get_idx(o, i), false);
                }
                fputc(']', f);
                break;
        case json_type_object: {
                size_t n;
                cleanup_free const char **keys = sorted_keys(o, &n);
                fputs("map[", f);
                for (size_t i = 0; i < n; i++) {
                        fprintf(f, "%s%s:", i ? " " : "", keys[i]);
                        go_print(f, json_object_object_get(o, keys[i]), false);
                }
                fputc(']', f);
                break;
        }
        case json_type_null:
                fputs("<nil>", f);
                break;
        }
}

static char *v_string(struct val v)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        go_print(f, v.o, v.missing);
        fclose(f);
        return s;
}

static struct val field(struct val base, char *const *fields, size_t n)
{
        json_object *cur = base.o;
        if (base.missing && n > 0)
                return v_missing();
        for (size_t i = 0; i < n; i++) {
                json_object *next = NULL;
                if (cur == NULL || !json_object_is_type(cur, json_type_object) ||
                    !json_object_object_get_ex(cur, fields[i], &next))
                        return v_missing();
                cur = next;
        }
        return v_ref(cur);
}

/* ---- execution ---- */

struct var {
        char *name;
        struct val v;
};

struct exec {
        FILE *out; /* counts into written; a write past MAX_OUTPUT fails */
        struct var *vars;
        size_t nvars;
        int depth;
        size_t steps;
};

struct counter {
        FILE *out;
        size_t written;
        bool over;
};

static ssize_t counter_write(void *cookie, const char *buf, size_t len)
{
        struct counter *c = cookie;
        if (c->over || len > MAX_OUTPUT - c->written) {
                c->over = true;
                errno = EFBIG;
                return -1;
        }
        c->written += len;
        if (fwrite(buf, 1, len, c->out) != len)
                return -1;
        return (ssize_t)len;
}

static int step(struct exec *x, berth_error **err)
{
        if (++x->steps > MAX_STEPS)
                return berth_fail(err, E2BIG,
                                  "template takes more than %d steps; narrow the --format template",
                                  MAX_STEPS);
        return 0;
}

static void vars_pop_to(struct exec *x, size_t mark)
{
        while (x->nvars > mark) {
                x->nvars--;
                free(x->vars[x->nvars].name);
                v_put(&x->vars[x->nvars].v);
        }
}

static void var_push(struct exec *x, const char *name, struct val v)
{
        x->vars = xrealloc(x->vars, (x->nvars + 1) * sizeof(struct var));
        x->vars[x->nvars++] = (struct var){xstrdup(name), v};
}

static int xerr(berth_error **err, const char *fn, const char *what)
{
        return berth_fail(err, EINVAL, "template: :1: executing \"\" at <%s>: %s", fn, what);
}

static double num(struct val v, bool *ok)
{
        *ok = v.o != NULL && (json_object_is_type(v.o, json_type_int) ||
                              json_object_is_type(v.o, json_type_double));
        return *ok ? json_object_get_double(v.o) : 0;
}

/* D as an integer, saturated at the bounds (NaN is 0): a C cast of an
 * out-of-range double is undefined. */
static long long num_ll(double d)
{
        if (isnan(d))
                return 0;
        if (d >= 0x1p63)
                return LLONG_MAX;
        if (d <= -0x1p63)
                return LLONG_MIN;
        return (long long)d;
}

/* A slice bound: argument K of AV when given (a non-negative number that fits),
 * else DFLT. False for anything else, checked before any cast. */
static bool slice_bound(const struct val *av, size_t n, size_t k, size_t dflt, size_t *ret)
{
        bool ok;
        double d;

        if (n <= k) {
                *ret = dflt;
                return true;
        }
        d = num(av[k], &ok);
        if (!ok || !(d >= 0) || d > 1e15)
                return false;
        *ret = (size_t)d;
        return true;
}

/* -1, 0, 1, or 2 when not comparable. */
static int compare(struct val a, struct val b)
{
        bool oka, okb;
        double x = num(a, &oka), y = num(b, &okb);
        if (oka && okb)
                return x < y ? -1 : x > y;
        if (a.o && b.o && json_object_is_type(a.o, json_type_string) &&
            json_object_is_type(b.o, json_type_string)) {
                int c = strcmp(json_object_get_string(a.o), json_object_get_string(b.o));
                return c < 0 ? -1 : c > 0;
        }
        if (a.o && b.o && json_object_is_type(a.o, json_type_boolean) &&
            json_object_is_type(b.o, json_type_boolean))
                return json_object_get_boolean(a.o) == json_object_get_boolean(b.o) ? 0 : 2;
        if (a.o == NULL && b.o == NULL)
                return 0;
        return 2;
}

static int too_big(berth_error **err)
{
        return berth_fail(err, EFBIG,
                          "template output exceeds %d MiB; narrow the --format template",
                          MAX_OUTPUT_MIB);
}

/* The width and precision in printf FLAGS ("-08.3") stay under MAX_OUTPUT. */
static bool flags_fit(const char *flags)
{
        for (const char *p = flags; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        continue;
                size_t v = 0;
                for (; isdigit((unsigned char)*p); p++) {
                        v = v * 10 + (size_t)(*p - '0');
                        if (v > MAX_OUTPUT)
                                return false;
                }
                p--;
        }
        return true;
}

static int go_printf(FILE *f, const char *fmt, struct val *args, size_t n, berth_error **err)
{
        size_t ai = 0;
        for (const char *p = fmt; *p; p++) {
                if (*p != '%') {
                        fputc(*p, f);
                        continue;
                }
                if (p[1] == '%') {
                        fputc('%', f);
                        p++;
                        continue;
                }
                const char *spec = p++;
                while (*p && strchr("+- #0123456789.", *p))
                        p++;
                if (*p == '\0')
                        break;
                char verb = *p;
                cleanup_free char *flags = xstrndup(spec + 1, (size_t)(p - spec - 1));
                if (!flags_fit(flags))
                        return too_big(err);
                if (ai >= n) {
                        fprintf(f, "%%!%c(MISSING)", verb);
                        continue;
                }
                struct val v = args[ai++];
                switch (verb) {
                case 'd': {
                        bool ok;
                        double d = num(v, &ok);
                        cleanup_free char *cf = xasprintf("%%%slld", flags);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        fprintf(f, cf, num_ll(d));
                        break;
                }
                case 'f':
                case 'g':
                case 'e': {
                        bool ok;
                        double d = num(v, &ok);
                        cleanup_free char *cf = xasprintf("%%%s%c", flags, verb);
                        fprintf(f, cf, d);
                        break;
                }
                case 'q': {
                        cleanup_free char *s = v_string(v);
                        json_object *js = json_object_new_string(s);
                        fputs(json_object_to_json_string_ext(
                                  js, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                              f);
                        json_object_put(js);
                        break;
                }
                default: {
                        cleanup_free char *s = v_string(v);
                        cleanup_free char *cf = xasprintf("%%%ss", flags);
                        fprintf(f, cf, s);
#pragma GCC diagnostic pop
                        break;
                }
                }
        }
        return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *p, struct val dot, struct val *ret,
                     berth_error **err);

static int eval_arg(struct exec *x, const struct arg *a, struct val dot, struct val *ret,
                    berth_error **err)
{
        struct val base;
        switch (a->kind) {
        case A_FIELD:
                *ret = field(dot, a->fields, a->nfields);
                return 0;
        case A_DOT:
                *ret = dot.missing ? v_missing() : v_ref(dot.o);
                return 0;
        case A_VAR:
                for (size_t i = x->nvars; i-- > 0;)
                        if (strcmp(x->vars[i].name, a->name) == 0) {
                                *ret = field(x->vars[i].v, a->fields, a->nfields);
                                return 0;
                        }
                {
                        cleanup_free char *m = xasprintf("undefined variable: $%s", a->name);
                        return xerr(err, a->name, m);
                }
        case A_STRING:
                *ret = v_new(json_object_new_string(a->name));
                return 0;
        case A_INT:
                *ret = v_new(json_object_new_int64(a->ival));
                return 0;
        case A_FLOAT:
                *ret = v_new(json_object_new_double(a->fval));
                return 0;
        case A_BOOL:
                *ret = v_new(json_object_new_boolean(a->bval));
                return 0;
        case A_NIL:
                *ret = (struct val){NULL, false};
                return 0;
        case A_FUNC:
                return xerr(err, a->name, "function used as a value");
        case A_PIPE: {
                int r = eval_pipe(x, a->pipe, dot, &base, err);
                if (r < 0)
                        return r;
                *ret = field(base, a->fields, a->nfields);
                v_put(&base);
                return 0;
        }
        }
        return 0;
}

static int call(const char *fn, struct val *av, size_t n, struct val *ret, berth_error **err)
{
#define NEED(k)                                                                                    \
        do {                                                                                       \
                if (n != (k)) {                                                                    \
                        cleanup_free char *m_ =                                                    \
                            xasprintf("wrong number of args for %s: want %d got %zu", fn, (k), n); \
                        return xerr(err, fn, m_);                                                  \
                }                                                                                  \
        } while (0)
        if (strcmp(fn, "json") == 0) {
                NEED(1);
                const char *s =
                    av[0].o ? json_object_to_json_string_ext(
                                  av[0].o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "null";
                *ret = v_new(json_object_new_string(s));
        } else if (strcmp(fn, "index") == 0) {
                if (n < 1)
                        return xerr(err, fn,
                                    "wrong number of args for index: want at least 1 got 0");
                struct val cur = v_ref(av[0].o);
                cur.missing = av[0].missing;
                for (size_t i = 1; i < n; i++) {
                        json_object *next = NULL;
                        if (cur.o && json_object_is_type(cur.o, json_type_array)) {
                                bool ok;
                                double d = num(av[i], &ok);
                                if (!ok || !(d >= 0) ||
                                    d >= (double)json_object_array_length(cur.o)) {
                                        v_put(&cur);
                                        return xerr(err, fn,
                                                    "error calling index: index out of range");
                                }
                                next = json_object_array_get_idx(cur.o, (size_t)d);
                                v_put(&cur);
                                cur = v_ref(next);
                        } else if (cur.o && json_object_is_type(cur.o, json_type_object)) {
                                cleanup_free char *k = v_string(av[i]);
                                bool found = json_object_object_get_ex(cur.o, k, &next);
                                v_put(&cur);
                                cur = found ? v_ref(next) : v_missing();
                        } else {
                                v_put(&cur);
                                return xerr(err, fn,
                                            "error calling index: cannot index this value");
                        }
                }
                *ret = cur;
        } else if (strcmp(fn, "len") == 0) {
                NEED(1);
                int64_t l;
                json_object *o = av[0].o;
                if (o && json_object_is_type(o, json_type_array))
                        l = (int64_t)json_object_array_length(o);
                else if (o && json_object_is_type(o, json_type_object))
                        l = json_object_object_length(o);
                else if (o && json_object_is_type(o, json_type_string))
                        l = json_object_get_string_len(o);
                else
                        return xerr(err, fn, "error calling len: len of this value");
                *ret = v_new(json_object_new_int64(l));
        } else if (strcmp(fn, "join") == 0) {
                NEED(2);
                cleanup_free char *sep = v_string(av[1]);
                char *s = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                if (av[0].o && json_object_is_type(av[0].o, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(av[0].o); i++) {
                                if (i)
                                        fputs(sep, f);
                                go_print(f, json_object_array_get_idx(av[0].o, i), false);
                        }
                }
                fclose(f);
                *ret = v_new(json_object_new_string(s));
                free(s);
        } else if (strcmp(fn, "split") == 0) {
                NEED(2);
                cleanup_free char *s = v_string(av[0]);
                cleanup_free char *sep = v_string(av[1]);
                json_object *arr = json_object_new_array();
                char *p = s;
                size_t sl = strlen(sep);
                for (char *q; sl > 0 && (q = strstr(p, sep)) != NULL; p = q + sl)
                        json_object_array_add(arr, json_object_new_string_len(p, (int)(q - p)));
                json_object_array_add(arr, json_object_new_string(p));
                *ret = v_new(arr);
        } else if (strcmp(fn, "upper") == 0 || strcmp(fn, "lower") == 0 ||
                   strcmp(fn, "title") == 0) {
                NEED(1);
                char *s = v_string(av[0]);
                bool start = true;
                for (char *p = s; *p; p++) {
                        if (fn[0] == 'u')
                                *p = (char)toupper((unsigned char)*p);
                        else if (fn[0] == 'l')
                                *p = (char)tolower((unsigned char)*p);
                        else if (start)
                                *p = (char)toupper((unsigned char)*p);
                        start = isspace((unsigned char)*p) || *p == '-' || *p == '_';
                }
                *ret = v_new(json_object_new_string(s));
                free(s);
        } else if (strcmp(fn, "print") == 0 || strcmp(fn, "println") == 0 ||
                   strcmp(fn, "printf") == 0) {
                char *s = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                if (fn[5] == 'f') {
                        if (n < 1) {
                                fclose(f);
                                free(s);
                                return xerr(
                                    err, fn,
                                    "wrong number of args for printf: want at least 1 got 0");
                        }
                        cleanup_free char *fmt = v_string(av[0]);
                        if (go_printf(f, fmt, av + 1, n - 1, err) < 0) {
                                fclose(f);
                                free(s);
                                return -EFBIG;
                        }
                } else {
                        for (size_t i = 0; i < n; i++) {
                                bool is_str =
                                    av[i].o && json_object_is_type(av[i].o, json_type_string);
                                bool prev_str = i > 0 && av[i - 1].o &&
                                                json_object_is_type(av[i - 1].o, json_type_string);
                                if (i > 0 && (fn[5] == 'l' || (!is_str && !prev_str)))
                                        fputc(' ', f);
                                go_print(f, av[i].o, av[i].missing);
                        }
                        if (fn[5] == 'l')
                                fputc('\n', f);
                }
                fclose(f);
                *ret = v_new(json_object_new_string_len(s, (int)len));
                free(s);
        } else if (strcmp(fn, "eq") == 0) {
                if (n < 2)
                        return xerr(err, fn, "wrong number of args for eq: want at least 2");
                bool any = false;
                for (size_t i = 1; i < n; i++)
                        any = any || compare(av[0], av[i]) == 0;
                *ret = v_new(json_object_new_boolean(any));
        } else if (strcmp(fn, "ne") == 0 || strcmp(fn, "lt") == 0 || strcmp(fn, "le") == 0 ||
                   strcmp(fn, "gt") == 0 || strcmp(fn, "ge") == 0) {
                NEED(2);
                int c = compare(av[0], av[1]);
                bool b;
                if (c == 2 && strcmp(fn, "ne") != 0)
                        return xerr(err, fn, "incompatible types for comparison");
                if (strcmp(fn, "ne") == 0)
                        b = c != 0;
                else if (strcmp(fn, "lt") == 0)
                        b = c < 0;
                else if (strcmp(fn, "le") == 0)
                        b = c <= 0;
                else if (strcmp(fn, "gt") == 0)
                        b = c > 0;
                else
                        b = c >= 0;
                *ret = v_new(json_object_new_boolean(b));
        } else if (strcmp(fn, "and") == 0 || strcmp(fn, "or") == 0) {
                if (n < 1)
                        return xerr(err, fn, "wrong number of args");
                size_t i = 0;
                for (; i + 1 < n; i++)
                        if (truthy(av[i]) == (fn[0] == 'o'))
                                break;
                *ret = v_ref(av[i].o);
                ret->missing = av[i].missing;
        } else if (strcmp(fn, "not") == 0) {
                NEED(1);
                *ret = v_new(json_object_new_boolean(!truthy(av[0])));
        } else if (strcmp(fn, "pad") == 0) {
                NEED(3);
                bool ok1, ok2;
                cleanup_free char *s = v_string(av[0]);
                double dl = num(av[1], &ok1), dr = num(av[2], &ok2);
                if (!(dl < (double)MAX_OUTPUT && dr < (double)MAX_OUTPUT))
                        return too_big(err);
                int l = dl < 0 ? 0 : (int)dl, r = dr < 0 ? 0 : (int)dr;
                cleanup_free char *o =
                    xasprintf("%*s%s%*s", l < 0 ? 0 : l, "", s, r < 0 ? 0 : r, "");
                *ret = v_new(json_object_new_string(o));
        } else if (strcmp(fn, "truncate") == 0) {
                NEED(2);
                bool ok;
                cleanup_free char *s = v_string(av[0]);
                double d = num(av[1], &ok);
                size_t lim = d > 0 ? (size_t)num_ll(d) : 0, chars = 0, i = 0;
                for (; s[i]; i++) {
                        if (((unsigned char)s[i] & 0xc0) != 0x80) {
                                if (chars == lim)
                                        break;
                                chars++;
                        }
                }
                *ret = v_new(json_object_new_string_len(s, (int)i));
        } else if (strcmp(fn, "slice") == 0) {
                if (n < 1 || n > 3)
                        return xerr(err, fn, "wrong number of args for slice");
                json_object *o = av[0].o;
                size_t i, j;
                if (o && json_object_is_type(o, json_type_string)) {
                        size_t len = (size_t)json_object_get_string_len(o);
                        if (!slice_bound(av, n, 1, 0, &i) || !slice_bound(av, n, 2, len, &j) ||
                            i > j || j > len)
                                return xerr(err, fn, "error calling slice: index out of range");
                        *ret = v_new(json_object_new_string_len(json_object_get_string(o) + i,
                                                                (int)(j - i)));
                } else if (o && json_object_is_type(o, json_type_array)) {
                        size_t len = json_object_array_length(o);
                        if (!slice_bound(av, n, 1, 0, &i) || !slice_bound(av, n, 2, len, &j) ||
                            i > j || j > len)
                                return xerr(err, fn, "error calling slice: index out of range");
                        json_object *arr = json_object_new_array();
                        for (size_t k = i; k < j; k++)
                                json_object_array_add(
                                    arr, json_object_get(json_object_array_get_idx(o, k)));
                        *ret = v_new(arr);
                } else {
                        return xerr(err, fn, "error calling slice: cannot slice this value");
                }
        } else {
                return xerr(err, fn, "function not defined");
        }
        return 0;
#undef NEED
}

static int eval_cmd(struct exec *x, const struct cmd *c, struct val dot, struct val *prev,
                    bool has_prev, struct val *ret, berth_error **err)
{
        if (c->args[0].kind != A_FUNC) {
                if (c->n > 1 || has_prev)
                        return xerr(err,
                                    c->args[0].kind == A_FIELD && c->args[0].fields &&
                                            c->args[0].fields[0]
                                        ? c->args[0].fields[0]
                                        : "value",
                                    "can't give argument to non-function");
                return eval_arg(x, &c->args[0], dot, ret, err);
        }
        size_t n = c->n - 1 + (has_prev ? 1 : 0);
        struct val *av = xcalloc(n + 1, sizeof(struct val));
        int r = 0;
        size_t got = 0;
        for (size_t i = 1; i < c->n && r == 0; i++) {
                r = eval_arg(x, &c->args[i], dot, &av[got], err);
                if (r == 0)
                        got++;
        }
        if (r == 0 && has_prev) {
                av[got++] = *prev;
                *prev = (struct val){NULL, false};
        }
        if (r == 0)
                r = call(c->args[0].name, av, got, ret, err);
        if (r == 0 && ret->o != NULL && json_object_is_type(ret->o, json_type_string) &&
            (size_t)json_object_get_string_len(ret->o) > MAX_OUTPUT) {
                v_put(ret);
                r = too_big(err);
        }
        for (size_t i = 0; i < got; i++)
                v_put(&av[i]);
        free(av);
        return r;
}

static int eval_pipe(struct exec *x, const struct pipe *p, struct val dot, struct val *ret,
                     berth_error **err)
{
        struct val cur = {NULL, false};
        for (size_t i = 0; i < p->n; i++) {
                struct val next = {0};
                int r = eval_cmd(x, &p->cmds[i], dot, &cur, i > 0, &next, err);
                v_put(&cur);
                if (r < 0)
                        return r;
                cur = next;
        }
        *ret = cur;
        return 0;
}

static int exec_list(struct exec *x, const struct list *l, struct val dot, berth_error **err);

/* One element of a range: $k, $v (or $v) declared, the body run on ELEM.
 * KEY (owned) is the index or the map key. */
static int range_step(struct exec *x, const struct node *n, json_object *key, json_object *elem,
                      size_t mark, berth_error **err)
{
        if (step(x, err) < 0) {
                json_object_put(key);
                return -E2BIG;
        }
        struct val e = v_ref(elem);
        if (n->pipe->ndecl == 2) {
                var_push(x, n->pipe->decl[0], v_new(key));
                var_push(x, n->pipe->decl[1], v_ref(e.o));
        } else {
                json_object_put(key);
                if (n->pipe->ndecl == 1)
                        var_push(x, n->pipe->decl[0], v_ref(e.o));
        }
        int r = exec_list(x, n->body, e, err);
        v_put(&e);
        vars_pop_to(x, mark);
        return r;
}

static int exec_node(struct exec *x, const struct node *n, struct val dot, berth_error **err)
{
        struct val v;
        int r = 0;
        size_t mark = x->nvars;
        if (step(x, err) < 0)
                return -E2BIG;
        switch (n->kind) {
        case N_TEXT:
                fputs(n->text, x->out);
                return 0;
        case N_ACTION:
                r = eval_pipe(x, n->pipe, dot, &v, err);
                if (r < 0)
                        return r;
                if (n->pipe->ndecl > 0) {
                        var_push(x, n->pipe->decl[0],
                                 v); /* lives to the end of the enclosing list */
                        return 0;
                }
                go_print(x->out, v.o, v.missing);
                v_put(&v);
                return 0;
        case N_IF:
        case N_WITH:
                r = eval_pipe(x, n->pipe, dot, &v, err);
                if (r < 0)
                        return r;
                if (n->pipe->ndecl > 0)
                        var_push(x, n->pipe->decl[0], v_ref(v.o));
                if (truthy(v))
                        r = exec_list(x, n->body, n->kind == N_WITH ? v : dot, err);
                else if (n->else_body)
                        r = exec_list(x, n->else_body, dot, err);
                v_put(&v);
                vars_pop_to(x, mark);
                return r;
        case N_RANGE: {
                r = eval_pipe(x, n->pipe, dot, &v, err);
                if (r < 0)
                        return r;
                bool any = false;
                if (v.o && json_object_is_type(v.o, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(v.o) && r == 0; i++) {
                                any = true;
                                r = range_step(x, n, json_object_new_int64((int64_t)i),
                                               json_object_array_get_idx(v.o, i), mark, err);
                        }
                } else if (v.o && json_object_is_type(v.o, json_type_object)) {
                        size_t nk;
                        cleanup_free const char **keys = sorted_keys(v.o, &nk);
                        for (size_t i = 0; i < nk && r == 0; i++) {
                                any = true;
                                r = range_step(x, n, json_object_new_string(keys[i]),
                                               json_object_object_get(v.o, keys[i]), mark, err);
                        }
                } else if (v.o != NULL && !json_object_is_type(v.o, json_type_null)) {
                        r = xerr(err, "range", "range can't iterate over this value");
                }
                if (r == 0 && !any && n->else_body)
                        r = exec_list(x, n->else_body, dot, err);
                v_put(&v);
                return r;
        }
        }
        return 0;
}

static int exec_list(struct exec *x, const struct list *l, struct val dot, berth_error **err)
{
        size_t mark = x->nvars;
        int r = 0;
        if (++x->depth > MAX_DEPTH)
                r = xerr(err, "range", "nested too deeply");
        for (size_t i = 0; i < l->n && r == 0; i++)
                r = exec_node(x, &l->nodes[i], dot, err);
        x->depth--;
        vars_pop_to(x, mark);
        return r;
}

int cli_tmpl_exec(const struct cli_tmpl *t, json_object *data, FILE *out, berth_error **err)
{
        struct counter c = {.out = out};
        FILE *f = fopencookie(&c, "w", (cookie_io_functions_t){.write = counter_write});
        if (f == NULL)
                return berth_fail_errno(err, "fopencookie");
        setvbuf(f, NULL, _IONBF, 0);
        struct exec x = {.out = f};
        var_push(&x, "", v_ref(data));
        int r = exec_list(&x, t->root, (struct val){data, false}, err);
        vars_pop_to(&x, 0);
        free(x.vars);
        (void)fclose(f);
        if (c.over)
                r = too_big(err);
        return r;
}

char *cli_tmpl_render(const char *src, json_object *data, berth_error **err)
{
        cleanup_tmpl struct cli_tmpl *t = NULL;
        char *s = NULL;
        size_t len = 0;
        if (cli_tmpl_parse(src, &t, err) < 0)
                return NULL;
        FILE *f = open_memstream(&s, &len);
        int r = cli_tmpl_exec(t, data, f, err);
        fclose(f);
        if (r < 0) {
                free(s);
                return NULL;
        }
        return s;
}
