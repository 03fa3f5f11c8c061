/* SPDX-License-Identifier: Apache-2.0 */
/* A small JSON Schema validator over json-c; see schema.h.
 *
 * Embedded schemas arrive compiled (schema-internal.h). A schema given as
 * text is parsed once and compiled into the same tree of nodes; its "$ref"s
 * are resolved on first use, so a document without a "windows" section
 * never parses config-windows.json. The compiled trees live for the whole
 * process: they are a cache of immutable data derived from the embedded
 * files, guarded by one mutex. */
#include "runtime/schema.h"
#include "runtime/schema-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define MAX_PATH_DEPTH  128  /* document nesting we follow */
#define MAX_FRAMES      1024 /* schema frames on one path ($ref chains, allOf...) */
#define MAX_VALUE_SHOWN 64   /* bytes of a value quoted in a message */

static const struct {
        const char *name;
        unsigned bit;
} type_names[] = {
    /* in the order messages list them */
    {"string", SCHEMA_T_STRING},   {"integer", SCHEMA_T_INTEGER}, {"number", SCHEMA_T_NUMBER},
    {"boolean", SCHEMA_T_BOOLEAN}, {"object", SCHEMA_T_OBJECT},   {"array", SCHEMA_T_ARRAY},
    {"null", SCHEMA_T_NULL},
};

typedef struct berth_schema_node node_t;

struct refcache {
        char *pointer;
        node_t *node;
};

struct sfile {
        const struct berth_schema_set *set;
        const struct berth_schema_file *src;
        json_object *doc;
        struct refcache *refs;
        size_t n_refs;
};

static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sfile **loaded;
static size_t n_loaded;

/* ---- numbers ---------------------------------------------------------- */

static struct berth_schema_num num_of(json_object *o)
{
        struct berth_schema_num n = {0};
        if (json_object_get_type(o) == json_type_double) {
                n.kind = SCHEMA_NUM_DOUBLE;
                n.d = json_object_get_double(o);
                return n;
        }
        n.i = json_object_get_int64(o);
        if (n.i < 0) {
                n.kind = SCHEMA_NUM_NEG;
        } else {
                n.kind = SCHEMA_NUM_POS;
                n.u = json_object_get_uint64(o);
        }
        return n;
}

static long double num_ld(const struct berth_schema_num *n)
{
        switch (n->kind) {
        case SCHEMA_NUM_NEG:
                return (long double)n->i;
        case SCHEMA_NUM_POS:
                return (long double)n->u;
        case SCHEMA_NUM_DOUBLE:
                return n->d;
        }
        return 0;
}

static int num_cmp(const struct berth_schema_num *a, const struct berth_schema_num *b)
{
        if (a->kind == SCHEMA_NUM_DOUBLE || b->kind == SCHEMA_NUM_DOUBLE) {
                long double x = num_ld(a), y = num_ld(b);
                return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a->kind != b->kind)
                return a->kind == SCHEMA_NUM_NEG ? -1 : 1;
        if (a->kind == SCHEMA_NUM_NEG)
                return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
        return a->u < b->u ? -1 : a->u > b->u ? 1 : 0;
}

/* ---- PCRE-isms to POSIX ERE -------------------------------------------- */

static void buf_add(char **buf, size_t *len, size_t *cap, const char *s)
{
        size_t n = strlen(s);
        if (*len + n + 1 > *cap) {
                *cap = (*len + n + 1) * 2;
                *buf = xrealloc(*buf, *cap);
        }
        memcpy(*buf + *len, s, n + 1);
        *len += n;
}

static const char *class_escape(char c, bool in_bracket)
{
        switch (c) {
        case 'd':
                return in_bracket ? "0-9" : "[0-9]";
        case 'D':
                return in_bracket ? NULL : "[^0-9]";
        case 'w':
                return in_bracket ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
        case 'W':
                return in_bracket ? NULL : "[^A-Za-z0-9_]";
        case 's':
                return in_bracket ? "[:space:]" : "[[:space:]]";
        case 'S':
                return in_bracket ? NULL : "[^[:space:]]";
        case 'n':
                return "\n";
        case 't':
                return "\t";
        case 'r':
                return "\r";
        default:
                return NULL;
        }
}

/* Translate the ECMA/PCRE syntax JSON Schema patterns use into POSIX ERE.
 * Returns NULL for constructs ERE cannot express (look-around, ...). */
static char *pcre_to_ere(const char *p)
{
        size_t len = 0, cap = strlen(p) * 2 + 16;
        char *out = xmalloc(cap);
        char one[3];
        out[0] = '\0';

        while (*p != '\0') {
                if (*p == '\\') {
                        const char *cls;
                        p++;
                        if (*p == '\0')
                                goto fail;
                        cls = class_escape(*p, false);
                        if (cls != NULL) {
                                buf_add(&out, &len, &cap, cls);
                        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                   (*p >= '0' && *p <= '9')) {
                                goto fail; /* \b, back-references, \uXXXX... */
                        } else {
                                one[0] = '\\';
                                one[1] = *p;
                                one[2] = '\0';
                                buf_add(&out, &len, &cap, one);
                        }
                        p++;
                } else if (*p == '(' && p[1] == '?') {
                        if (p[2] != ':')
                                goto fail;
                        buf_add(&out, &len, &cap, "(");
                        p += 3;
                } else if (*p == '[') {
                        /* Collect the set, then write it in POSIX order:
                         * "]" first, "^" not first, "-" last. */
                        bool negate = false, rbracket = false, dash = false, caret = false;
                        size_t ilen = 0, icap = 32;
                        cleanup_free char *items = xmalloc(icap);
                        items[0] = '\0';
                        p++;
                        if (*p == '^') {
                                negate = true;
                                p++;
                        }
                        if (*p == ']') {
                                rbracket = true;
                                p++;
                        }
                        while (*p != ']') {
                                if (*p == '\0')
                                        goto fail;
                                if (*p == '\\') {
                                        const char *cls;
                                        p++;
                                        if (*p == '\0')
                                                goto fail;
                                        cls = class_escape(*p, true);
                                        if (*p == ']')
                                                rbracket = true;
                                        else if (*p == '-')
                                                dash = true;
                                        else if (*p == '^')
                                                caret = true;
                                        else if (cls != NULL)
                                                buf_add(&items, &ilen, &icap, cls);
                                        else if ((*p >= 'a' && *p <= 'z') ||
                                                 (*p >= 'A' && *p <= 'Z') ||
                                                 (*p >= '0' && *p <= '9'))
                                                goto fail;
                                        else {
                                                one[0] = *p;
                                                one[1] = '\0';
                                                buf_add(&items, &ilen, &icap, one);
                                        }
                                        p++;
                                        continue;
                                }
                                if (*p == '[' && p[1] == ':') {
                                        const char *end = strstr(p, ":]");
                                        if (end == NULL)
                                                goto fail;
                                        cleanup_free char *cls = xstrndup(p, end + 2 - p);
                                        buf_add(&items, &ilen, &icap, cls);
                                        p = end + 2;
                                        continue;
                                }
                                if (*p == '^') {
                                        caret = true;
                                        p++;
                                        continue;
                                }
                                one[0] = *p;
                                one[1] = '\0';
                                buf_add(&items, &ilen, &icap, one);
                                p++;
                        }
                        p++;
                        buf_add(&out, &len, &cap, negate ? "[^" : "[");
                        if (rbracket)
                                buf_add(&out, &len, &cap, "]");
                        buf_add(&out, &len, &cap, items);
                        if (rbracket || ilen > 0) {
                                if (caret)
                                        buf_add(&out, &len, &cap, "^");
                                if (dash)
                                        buf_add(&out, &len, &cap, "-");
                        } else {
                                if (dash)
                                        buf_add(&out, &len, &cap, "-");
                                if (caret)
                                        buf_add(&out, &len, &cap, "^");
                        }
                        buf_add(&out, &len, &cap, "]");
                } else {
                        one[0] = *p;
                        one[1] = '\0';
                        buf_add(&out, &len, &cap, one);
                        p++;
                }
        }
        return out;
fail:
        free(out);
        return NULL;
}

/* The compiled form of SOURCE, compiled once into *SLOT; NULL with *RET_MSG
 * set when the schema's expression cannot be used. */
static regex_t *regex_for(regex_t **slot, const char *source, char **ret_msg)
{
        cleanup_free char *ere = NULL;
        regex_t *re;
        int r;

        if (*slot != NULL)
                return *slot;
        ere = pcre_to_ere(source);
        if (ere == NULL) {
                *ret_msg = xasprintf("schema: unsupported regular expression `%s`", source);
                return NULL;
        }
        re = xmalloc(sizeof(*re));
        r = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                char buf[128];
                (void)regerror(r, re, buf, sizeof(buf));
                free(re);
                *ret_msg = xasprintf("schema: regular expression `%s`: %s", source, buf);
                return NULL;
        }
        *slot = re;
        return re;
}

/* ---- compiling -------------------------------------------------------- */

static node_t *compile(struct sfile *f, json_object *s, berth_error **err);

static int compile_into(struct sfile *f, node_t *n, json_object *s, berth_error **err);

static int compile_list(struct sfile *f, json_object *arr, const char *kw, node_t *const **ret,
                        size_t *ret_n, berth_error **err)
{
        node_t **list;
        size_t len;
        if (!json_object_is_type(arr, json_type_array))
                return berth_fail(err, EIO, "schema `%s`: `%s` is not an array", f->src->name, kw);
        len = json_object_array_length(arr);
        list = xcalloc(len ? len : 1, sizeof(node_t *));
        *ret = list;
        *ret_n = len;
        for (size_t i = 0; i < len; i++) {
                list[i] = compile(f, json_object_array_get_idx(arr, i), err);
                if (list[i] == NULL)
                        return -EIO;
        }
        return 0;
}

static int compile_num(struct sfile *f, json_object *v, const char *kw,
                       struct berth_schema_num *ret, berth_error **err)
{
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return berth_fail(err, EIO, "schema `%s`: `%s` is not a number", f->src->name, kw);
        *ret = num_of(v);
        return 0;
}

static int64_t count_of(json_object *v)
{
        if (!json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

static int prop_cmp(const void *a, const void *b)
{
        return strcmp(((const struct berth_schema_prop *)a)->name,
                      ((const struct berth_schema_prop *)b)->name);
}

static unsigned type_bit(const char *name)
{
        for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
                if (strcmp(type_names[i].name, name) == 0)
                        return type_names[i].bit;
        return 0;
}

static int compile_into(struct sfile *f, node_t *n, json_object *s, berth_error **err)
{
        const char *fname = f->src->name;
        json_object *v;
        int r;

        n->file = f;
        n->min_props = n->max_props = n->min_items = n->max_items = -1;
        n->min_len = n->max_len = -1;

        if (json_object_is_type(s, json_type_boolean)) {
                n->is_false = !json_object_get_boolean(s);
                return 0;
        }
        if (!json_object_is_type(s, json_type_object))
                return berth_fail(err, EIO, "schema `%s`: a schema is not an object", fname);

        if (json_object_object_get_ex(s, "$ref", &v)) {
                if (!json_object_is_type(v, json_type_string))
                        return berth_fail(err, EIO, "schema `%s`: `$ref` is not a string", fname);
                n->ref = json_object_get_string(v);
                return 0; /* draft-04: siblings of $ref are ignored */
        }

        if (json_object_object_get_ex(s, "type", &v)) {
                if (json_object_is_type(v, json_type_string)) {
                        n->types = type_bit(json_object_get_string(v));
                        if (n->types == 0)
                                return berth_fail(err, EIO, "schema `%s`: unknown type `%s`", fname,
                                                  json_object_get_string(v));
                } else if (json_object_is_type(v, json_type_array)) {
                        for (size_t i = 0; i < json_object_array_length(v); i++) {
                                const char *t =
                                    json_object_get_string(json_object_array_get_idx(v, i));
                                unsigned bit = t ? type_bit(t) : 0;
                                if (bit == 0)
                                        return berth_fail(err, EIO,
                                                          "schema `%s`: unknown type `%s`", fname,
                                                          t ? t : "");
                                n->types |= bit;
                        }
                } else {
                        return berth_fail(err, EIO, "schema `%s`: bad `type`", fname);
                }
        }

        if (json_object_object_get_ex(s, "properties", &v)) {
                size_t i = 0;
                struct berth_schema_prop *props;
                if (!json_object_is_type(v, json_type_object))
                        return berth_fail(err, EIO, "schema `%s`: bad `properties`", fname);
                n->n_props = (size_t)json_object_object_length(v);
                props = xcalloc(n->n_props ? n->n_props : 1, sizeof(struct berth_schema_prop));
                n->props = props;
                json_object_object_foreach(v, pkey, pval)
                {
                        props[i].name = pkey;
                        props[i].schema = compile(f, pval, err);
                        if (props[i].schema == NULL)
                                return -EIO;
                        i++;
                }
                qsort(props, n->n_props, sizeof(struct berth_schema_prop), prop_cmp);
        }
        if (json_object_object_get_ex(s, "required", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return berth_fail(err, EIO, "schema `%s`: bad `required`", fname);
                const char **required;
                n->n_required = json_object_array_length(v);
                required = xcalloc(n->n_required ? n->n_required : 1, sizeof(char *));
                n->required = required;
                for (size_t i = 0; i < n->n_required; i++) {
                        required[i] = json_object_get_string(json_object_array_get_idx(v, i));
                        if (required[i] == NULL)
                                return berth_fail(err, EIO, "schema `%s`: bad `required`", fname);
                }
        }
        if (json_object_object_get_ex(s, "additionalProperties", &v)) {
                if (json_object_is_type(v, json_type_boolean)) {
                        n->no_additional = !json_object_get_boolean(v);
                } else {
                        n->additional = compile(f, v, err);
                        if (n->additional == NULL)
                                return -EIO;
                }
        }
        if (json_object_object_get_ex(s, "patternProperties", &v)) {
                size_t i = 0;
                if (!json_object_is_type(v, json_type_object))
                        return berth_fail(err, EIO, "schema `%s`: bad `patternProperties`", fname);
                n->pprops = xcalloc((size_t)json_object_object_length(v) + 1,
                                    sizeof(struct berth_schema_pprop));
                json_object_object_foreach(v, pkey, pval)
                {
                        n->pprops[i].source = pkey;
                        n->n_pprops = ++i;
                        n->pprops[i - 1].schema = compile(f, pval, err);
                        if (n->pprops[i - 1].schema == NULL)
                                return -EIO;
                }
        }
        if (json_object_object_get_ex(s, "minProperties", &v))
                n->min_props = count_of(v);
        if (json_object_object_get_ex(s, "maxProperties", &v))
                n->max_props = count_of(v);

        if (json_object_object_get_ex(s, "items", &v)) {
                if (json_object_is_type(v, json_type_array)) {
                        r = compile_list(f, v, "items", &n->tuple, &n->n_tuple, err);
                        if (r < 0)
                                return r;
                } else {
                        n->items = compile(f, v, err);
                        if (n->items == NULL)
                                return -EIO;
                }
        }
        if (json_object_object_get_ex(s, "additionalItems", &v)) {
                if (json_object_is_type(v, json_type_boolean)) {
                        n->no_additional_items = !json_object_get_boolean(v);
                } else {
                        n->additional_items = compile(f, v, err);
                        if (n->additional_items == NULL)
                                return -EIO;
                }
        }
        if (json_object_object_get_ex(s, "minItems", &v))
                n->min_items = count_of(v);
        if (json_object_object_get_ex(s, "maxItems", &v))
                n->max_items = count_of(v);
        if (json_object_object_get_ex(s, "uniqueItems", &v))
                n->unique = json_object_get_boolean(v);

        if (json_object_object_get_ex(s, "pattern", &v)) {
                n->pattern_source = json_object_get_string(v);
                if (n->pattern_source == NULL)
                        return berth_fail(err, EIO, "schema `%s`: bad `pattern`", fname);
        }
        if (json_object_object_get_ex(s, "minLength", &v))
                n->min_len = count_of(v);
        if (json_object_object_get_ex(s, "maxLength", &v))
                n->max_len = count_of(v);

        if (json_object_object_get_ex(s, "minimum", &v)) {
                r = compile_num(f, v, "minimum", &n->min, err);
                if (r < 0)
                        return r;
                n->has_min = true;
        }
        if (json_object_object_get_ex(s, "maximum", &v)) {
                r = compile_num(f, v, "maximum", &n->max, err);
                if (r < 0)
                        return r;
                n->has_max = true;
        }
        /* draft-04: booleans modifying minimum/maximum; draft-06+: numbers. */
        if (json_object_object_get_ex(s, "exclusiveMinimum", &v)) {
                if (json_object_is_type(v, json_type_boolean)) {
                        n->excl_min = json_object_get_boolean(v);
                } else {
                        r = compile_num(f, v, "exclusiveMinimum", &n->min, err);
                        if (r < 0)
                                return r;
                        n->has_min = n->excl_min = true;
                }
        }
        if (json_object_object_get_ex(s, "exclusiveMaximum", &v)) {
                if (json_object_is_type(v, json_type_boolean)) {
                        n->excl_max = json_object_get_boolean(v);
                } else {
                        r = compile_num(f, v, "exclusiveMaximum", &n->max, err);
                        if (r < 0)
                                return r;
                        n->has_max = n->excl_max = true;
                }
        }

        if (json_object_object_get_ex(s, "enum", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return berth_fail(err, EIO, "schema `%s`: bad `enum`", fname);
                n->enum_values = v;
        }
        if (json_object_object_get_ex(s, "const", &v)) {
                n->const_value = v;
                n->has_const = true;
        }

        if (json_object_object_get_ex(s, "allOf", &v)) {
                r = compile_list(f, v, "allOf", &n->all_of, &n->n_all_of, err);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(s, "anyOf", &v)) {
                r = compile_list(f, v, "anyOf", &n->any_of, &n->n_any_of, err);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(s, "oneOf", &v)) {
                r = compile_list(f, v, "oneOf", &n->one_of, &n->n_one_of, err);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(s, "not", &v)) {
                n->not_ = compile(f, v, err);
                if (n->not_ == NULL)
                        return -EIO;
        }
        return 0;
}

/* Compiled nodes are never freed (see the top of the file); on a compile
 * error the half-built node is simply left behind with the file. */
static node_t *compile(struct sfile *f, json_object *s, berth_error **err)
{
        node_t *n = xmalloc0(sizeof(*n));
        if (compile_into(f, n, s, err) < 0)
                return NULL;
        return n;
}

/* ---- files and references --------------------------------------------- */

static struct sfile *load_file(const struct berth_schema_set *set, const char *name,
                               berth_error **err)
{
        const struct berth_schema_file *src = NULL;
        struct sfile *f;
        json_object *doc = NULL;
        cleanup_free char *what = NULL;
        int r;

        for (size_t i = 0; i < n_loaded; i++)
                if (loaded[i]->set == set && strcmp(loaded[i]->src->name, name) == 0)
                        return loaded[i];
        for (size_t i = 0; i < set->n_files; i++)
                if (strcmp(set->files[i].name, name) == 0)
                        src = &set->files[i];
        if (src == NULL)
                return berth_fail(err, ENOENT, "schema `%s` is not in the `%s` schema set", name,
                                  set->name),
                       NULL;
        what = xasprintf("schema `%s`", name);
        r = berth_json_parse(src->data, src->len, what, &doc, err);
        if (r < 0)
                return NULL;
        f = xmalloc0(sizeof(*f));
        f->set = set;
        f->src = src;
        f->doc = doc;
        loaded = xrealloc(loaded, (n_loaded + 1) * sizeof(*loaded));
        loaded[n_loaded++] = f;
        return f;
}

/* Follow a JSON pointer ("/definitions/uint32"; "" is the whole document). */
static json_object *pointer_get(json_object *doc, const char *pointer)
{
        json_object *cur = doc;
        const char *p = pointer;

        while (*p != '\0' && cur != NULL) {
                const char *end;
                cleanup_free char *seg = NULL;
                size_t j = 0;

                if (*p == '/')
                        p++;
                end = strchrnul(p, '/');
                seg = xmalloc((size_t)(end - p) + 1);
                for (const char *q = p; q < end; q++) {
                        if (*q == '~' && q + 1 < end && (q[1] == '0' || q[1] == '1')) {
                                seg[j++] = q[1] == '0' ? '~' : '/';
                                q++;
                        } else {
                                seg[j++] = *q;
                        }
                }
                seg[j] = '\0';
                p = end;

                if (json_object_is_type(cur, json_type_object)) {
                        if (!json_object_object_get_ex(cur, seg, &cur))
                                return NULL;
                } else if (json_object_is_type(cur, json_type_array)) {
                        char *e;
                        unsigned long idx = strtoul(seg, &e, 10);
                        if (*seg == '\0' || *e != '\0' || idx >= json_object_array_length(cur))
                                return NULL;
                        cur = json_object_array_get_idx(cur, idx);
                } else {
                        return NULL;
                }
        }
        return cur;
}

/* The compiled schema at FILE#POINTER, compiled on first use. */
static node_t *node_at(struct sfile *f, const char *pointer, berth_error **err)
{
        json_object *s;
        node_t *n;

        for (size_t i = 0; i < f->n_refs; i++)
                if (strcmp(f->refs[i].pointer, pointer) == 0)
                        return f->refs[i].node;
        s = pointer_get(f->doc, pointer);
        if (s == NULL)
                return berth_fail(err, EIO, "schema `%s`: no `#%s`", f->src->name, pointer), NULL;
        /* Register before compiling, so that a recursive schema terminates. */
        n = xmalloc0(sizeof(*n));
        f->refs = xrealloc(f->refs, (f->n_refs + 1) * sizeof(*f->refs));
        f->refs[f->n_refs].pointer = xstrdup(pointer);
        f->refs[f->n_refs].node = n;
        f->n_refs++;
        if (compile_into(f, n, s, err) < 0) {
                f->n_refs--;
                free(f->refs[f->n_refs].pointer);
                return NULL;
        }
        return n;
}

static node_t *resolve_ref(node_t *n, berth_error **err)
{
        const char *hash, *slash;
        struct sfile *f = n->file;
        const char *pointer = "";

        if (n->target != NULL)
                return n->target;
        hash = strchr(n->ref, '#');
        if (hash != n->ref) {
                /* Another file of the set: "defs.json#...", or an absolute
                 * id whose last component names the file. */
                cleanup_free char *uri =
                    hash ? xstrndup(n->ref, (size_t)(hash - n->ref)) : xstrdup(n->ref);
                slash = strrchr(uri, '/');
                f = load_file(f->set, slash ? slash + 1 : uri, err);
                if (f == NULL)
                        return NULL;
        }
        if (hash != NULL)
                pointer = hash + 1; /* "#definitions/x" (sic) works too */
        n->target = node_at(f, pointer, err);
        return n->target;
}

/* ---- validation ------------------------------------------------------- */

struct seg {
        const char *key; /* NULL: an array index */
        size_t index;
};

struct vctx {
        struct seg path[MAX_PATH_DEPTH];
        int depth;
        int frames;
        /* the failure: message (with path), status, path depth */
        char *msg;
        int status;
        int fail_depth;
};

static void append_path(char **buf, size_t *len, size_t *cap, const struct vctx *c)
{
        char tmp[32];
        for (int i = 0; i < c->depth; i++) {
                const struct seg *s = &c->path[i];
                if (s->key == NULL) {
                        snprintf(tmp, sizeof(tmp), "[%zu]", s->index);
                        buf_add(buf, len, cap, tmp);
                        continue;
                }
                bool plain = *s->key != '\0';
                for (const char *q = s->key; *q; q++)
                        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                              (*q >= '0' && *q <= '9') || *q == '_' || *q == '-'))
                                plain = false;
                if (plain) {
                        if (i > 0)
                                buf_add(buf, len, cap, ".");
                        buf_add(buf, len, cap, s->key);
                } else {
                        buf_add(buf, len, cap, "[\"");
                        buf_add(buf, len, cap, s->key);
                        buf_add(buf, len, cap, "\"]");
                }
        }
}

static int vfail(struct vctx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vfail(struct vctx *c, int status, const char *fmt, ...)
{
        size_t len = 0, cap = 128;
        char *buf = xmalloc(cap);
        cleanup_free char *m = NULL;
        va_list ap;

        buf[0] = '\0';
        if (c->depth > 0) {
                buf_add(&buf, &len, &cap, "`");
                append_path(&buf, &len, &cap, c);
                buf_add(&buf, &len, &cap, "`: ");
        }
        va_start(ap, fmt);
        m = xvasprintf(fmt, ap);
        va_end(ap);
        buf_add(&buf, &len, &cap, m);
        free(c->msg);
        c->msg = buf;
        c->status = status;
        c->fail_depth = c->depth;
        return -1;
}

/* A short rendering of a value for messages. */
static char *show(json_object *v)
{
        const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        if (strlen(s) > MAX_VALUE_SHOWN)
                return xasprintf("%.*s...", MAX_VALUE_SHOWN, s);
        return xstrdup(s);
}

static unsigned type_of(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return SCHEMA_T_NULL;
        case json_type_boolean:
                return SCHEMA_T_BOOLEAN;
        case json_type_double:
                return SCHEMA_T_NUMBER;
        case json_type_int:
                return SCHEMA_T_INTEGER | SCHEMA_T_NUMBER;
        case json_type_object:
                return SCHEMA_T_OBJECT;
        case json_type_array:
                return SCHEMA_T_ARRAY;
        case json_type_string:
                return SCHEMA_T_STRING;
        }
        return 0;
}

static char *types_text(unsigned types)
{
        size_t len = 0, cap = 64;
        char *buf = xmalloc(cap);
        bool first = true;
        buf[0] = '\0';
        for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
                if (!(types & type_names[i].bit))
                        continue;
                /* "integer or number" says no more than "number". */
                if (type_names[i].bit == SCHEMA_T_INTEGER && (types & SCHEMA_T_NUMBER))
                        continue;
                if (!first)
                        buf_add(&buf, &len, &cap, " or ");
                buf_add(&buf, &len, &cap, type_names[i].name);
                first = false;
        }
        return buf;
}

static size_t utf8_length(const char *s, size_t n)
{
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80)
                        count++;
        return count;
}

static int validate(struct vctx *c, node_t *n, json_object *v);

static int push_key(struct vctx *c, const char *key)
{
        if (c->depth >= MAX_PATH_DEPTH)
                return vfail(c, EINVAL, "document nested too deeply");
        c->path[c->depth].key = key;
        c->path[c->depth].index = 0;
        c->depth++;
        return 0;
}

static int push_index(struct vctx *c, size_t index)
{
        if (c->depth >= MAX_PATH_DEPTH)
                return vfail(c, EINVAL, "document nested too deeply");
        c->path[c->depth].key = NULL;
        c->path[c->depth].index = index;
        c->depth++;
        return 0;
}

static int validate_child(struct vctx *c, node_t *n, json_object *v)
{
        int r = validate(c, n, v);
        c->depth--;
        return r;
}

static int validate_object(struct vctx *c, node_t *n, json_object *v)
{
        int64_t count;

        for (size_t i = 0; i < n->n_required; i++)
                if (!json_object_object_get_ex(v, n->required[i], NULL))
                        return vfail(c, EINVAL, "missing required property `%s`", n->required[i]);
        count = json_object_object_length(v);
        if (n->min_props >= 0 && count < n->min_props)
                return vfail(c, EINVAL, "object has %" PRId64 " properties, fewer than %" PRId64,
                             count, n->min_props);
        if (n->max_props >= 0 && count > n->max_props)
                return vfail(c, EINVAL, "object has %" PRId64 " properties, more than %" PRId64,
                             count, n->max_props);

        json_object_object_foreach(v, key, val)
        {
                struct berth_schema_prop want = {.name = key}, *p = NULL;
                bool matched = false;

                if (n->n_props > 0)
                        p = bsearch(&want, n->props, n->n_props, sizeof(struct berth_schema_prop),
                                    prop_cmp);
                if (p != NULL) {
                        matched = true;
                        if (push_key(c, key) < 0 || validate_child(c, p->schema, val) < 0)
                                return -1;
                }
                for (size_t i = 0; i < n->n_pprops; i++) {
                        char *msg = NULL;
                        regex_t *re = regex_for(&n->pprops[i].re, n->pprops[i].source, &msg);
                        if (re == NULL) {
                                vfail(c, EIO, "%s", msg);
                                free(msg);
                                return -1;
                        }
                        if (regexec(re, key, 0, NULL, 0) != 0)
                                continue;
                        matched = true;
                        if (push_key(c, key) < 0 || validate_child(c, n->pprops[i].schema, val) < 0)
                                return -1;
                }
                if (matched)
                        continue;
                if (n->no_additional)
                        return vfail(c, EINVAL, "property `%s` is not allowed", key);
                if (n->additional != NULL &&
                    (push_key(c, key) < 0 || validate_child(c, n->additional, val) < 0))
                        return -1;
        }
        return 0;
}

static int validate_array(struct vctx *c, node_t *n, json_object *v)
{
        size_t len = json_object_array_length(v);

        if (n->min_items >= 0 && len < (size_t)n->min_items)
                return vfail(c, EINVAL, "array has %zu items, fewer than the minimum %" PRId64, len,
                             n->min_items);
        if (n->max_items >= 0 && len > (size_t)n->max_items)
                return vfail(c, EINVAL, "array has %zu items, more than the maximum %" PRId64, len,
                             n->max_items);
        for (size_t i = 0; i < len; i++) {
                json_object *item = json_object_array_get_idx(v, i);
                node_t *s = n->items;
                if (n->tuple != NULL) {
                        if (i < n->n_tuple) {
                                s = n->tuple[i];
                        } else if (n->no_additional_items) {
                                return vfail(c, EINVAL,
                                             "array has %zu items, more than the %zu allowed", len,
                                             n->n_tuple);
                        } else {
                                s = n->additional_items;
                        }
                }
                if (s != NULL && (push_index(c, i) < 0 || validate_child(c, s, item) < 0))
                        return -1;
        }
        if (n->unique) {
                for (size_t i = 1; i < len; i++)
                        for (size_t j = 0; j < i; j++)
                                if (json_object_equal(json_object_array_get_idx(v, i),
                                                      json_object_array_get_idx(v, j))) {
                                        cleanup_free char *s =
                                            show(json_object_array_get_idx(v, i));
                                        if (push_index(c, i) < 0)
                                                return -1;
                                        vfail(c, EINVAL, "%s repeats item %zu", s, j);
                                        c->depth--;
                                        return -1;
                                }
        }
        return 0;
}

static int validate_string(struct vctx *c, node_t *n, json_object *v)
{
        const char *s = json_object_get_string(v);
        size_t len = (size_t)json_object_get_string_len(v);

        if (n->min_len >= 0 || n->max_len >= 0) {
                size_t chars = utf8_length(s, len);
                if (n->min_len >= 0 && chars < (size_t)n->min_len) {
                        cleanup_free char *shown = show(v);
                        return vfail(c, EINVAL, "%s is shorter than %" PRId64 " characters", shown,
                                     n->min_len);
                }
                if (n->max_len >= 0 && chars > (size_t)n->max_len) {
                        cleanup_free char *shown = show(v);
                        return vfail(c, EINVAL, "%s is longer than %" PRId64 " characters", shown,
                                     n->max_len);
                }
        }
        if (n->pattern_source != NULL) {
                char *msg = NULL;
                regex_t *re = regex_for(&n->pattern, n->pattern_source, &msg);
                cleanup_free char *shown = NULL;
                if (re == NULL) {
                        vfail(c, EIO, "%s", msg);
                        free(msg);
                        return -1;
                }
                if (strlen(s) == len && regexec(re, s, 0, NULL, 0) == 0)
                        return 0;
                shown = show(v);
                return vfail(c, EINVAL, "%s does not match the pattern `%s`", shown,
                             n->pattern_source);
        }
        return 0;
}

static int validate_number(struct vctx *c, node_t *n, json_object *v)
{
        struct berth_schema_num x = num_of(v);
        if (n->has_min) {
                int cmp = num_cmp(&x, &n->min);
                if (cmp < 0 || (cmp == 0 && n->excl_min)) {
                        cleanup_free char *shown = show(v);
                        if (n->min.kind == SCHEMA_NUM_DOUBLE)
                                return vfail(c, EINVAL, "%s is less than the minimum %g", shown,
                                             n->min.d);
                        if (n->min.kind == SCHEMA_NUM_NEG)
                                return vfail(c, EINVAL, "%s is %s the minimum %" PRId64, shown,
                                             cmp < 0 ? "less than" : "not greater than", n->min.i);
                        return vfail(c, EINVAL, "%s is %s the minimum %" PRIu64, shown,
                                     cmp < 0 ? "less than" : "not greater than", n->min.u);
                }
        }
        if (n->has_max) {
                int cmp = num_cmp(&x, &n->max);
                if (cmp > 0 || (cmp == 0 && n->excl_max)) {
                        cleanup_free char *shown = show(v);
                        if (n->max.kind == SCHEMA_NUM_DOUBLE)
                                return vfail(c, EINVAL, "%s is greater than the maximum %g", shown,
                                             n->max.d);
                        if (n->max.kind == SCHEMA_NUM_NEG)
                                return vfail(c, EINVAL, "%s is %s the maximum %" PRId64, shown,
                                             cmp > 0 ? "greater than" : "not less than", n->max.i);
                        return vfail(c, EINVAL, "%s is %s the maximum %" PRIu64, shown,
                                     cmp > 0 ? "greater than" : "not less than", n->max.u);
                }
        }
        return 0;
}

/* "enum" and "const" of a schema compiled at build time are JSON text. */
static json_object *materialize(json_object **slot, const char *text)
{
        if (*slot == NULL && text != NULL)
                *slot = json_tokener_parse(text);
        return *slot;
}

static int validate_enum(struct vctx *c, node_t *n, json_object *v)
{
        size_t len = json_object_array_length(n->enum_values), blen = 0, cap = 128;
        cleanup_free char *list = xmalloc(cap);
        cleanup_free char *shown = NULL;

        for (size_t i = 0; i < len; i++)
                if (json_object_equal(v, json_object_array_get_idx(n->enum_values, i)))
                        return 0;
        list[0] = '\0';
        for (size_t i = 0; i < len && i < 16; i++) {
                cleanup_free char *one = show(json_object_array_get_idx(n->enum_values, i));
                if (i > 0)
                        buf_add(&list, &blen, &cap, ", ");
                buf_add(&list, &blen, &cap, one);
        }
        if (len > 16)
                buf_add(&list, &blen, &cap, ", ...");
        shown = show(v);
        return vfail(c, EINVAL, "%s is not one of %s", shown, list);
}

/* Try each alternative; keep the failure that got deepest into the
 * document, which is usually the one the author meant. Returns the number
 * of alternatives that matched (up to 2 when STOP_AT is 2). */
static int try_alternatives(struct vctx *c, node_t *const *alts, size_t n, json_object *v,
                            int stop_at, char **best, int *best_depth, int *best_status)
{
        int matched = 0;
        for (size_t i = 0; i < n; i++) {
                c->msg = NULL;
                if (validate(c, alts[i], v) == 0) {
                        if (++matched >= stop_at)
                                break;
                        continue;
                }
                if (c->status != EINVAL) { /* a schema error: pass it on */
                        free(*best);
                        *best = c->msg;
                        *best_status = c->status;
                        return -1;
                }
                if (*best == NULL || c->fail_depth > *best_depth) {
                        free(*best);
                        *best = c->msg;
                        *best_depth = c->fail_depth;
                        *best_status = c->status;
                } else {
                        free(c->msg);
                }
                c->msg = NULL;
        }
        return matched;
}

static int validate_combinators(struct vctx *c, node_t *n, json_object *v)
{
        for (size_t i = 0; i < n->n_all_of; i++)
                if (validate(c, n->all_of[i], v) < 0)
                        return -1;

        if (n->n_any_of > 0 || n->n_one_of > 0) {
                bool one = n->n_any_of == 0;
                char *best = NULL;
                int best_depth = -1, best_status = EINVAL;
                int matched = try_alternatives(c, one ? n->one_of : n->any_of,
                                               one ? n->n_one_of : n->n_any_of, v, one ? 2 : 1,
                                               &best, &best_depth, &best_status);
                if (matched < 0 || matched == 0) {
                        c->msg = best;
                        c->status = best_status;
                        c->fail_depth = best_depth;
                        return -1;
                }
                free(best);
                if (one && matched > 1) {
                        cleanup_free char *shown = show(v);
                        return vfail(c, EINVAL, "%s matches more than one allowed schema", shown);
                }
                /* A node with both anyOf and oneOf: check oneOf too. */
                if (!one && n->n_one_of > 0) {
                        best = NULL;
                        best_depth = -1;
                        matched = try_alternatives(c, n->one_of, n->n_one_of, v, 2, &best,
                                                   &best_depth, &best_status);
                        if (matched <= 0) {
                                c->msg = best;
                                c->status = best_status;
                                c->fail_depth = best_depth;
                                return -1;
                        }
                        free(best);
                        if (matched > 1) {
                                cleanup_free char *shown = show(v);
                                return vfail(c, EINVAL, "%s matches more than one allowed schema",
                                             shown);
                        }
                }
        }

        if (n->not_ != NULL) {
                char *saved = c->msg;
                c->msg = NULL;
                if (validate(c, n->not_, v) == 0) {
                        cleanup_free char *shown = show(v);
                        c->msg = saved;
                        return vfail(c, EINVAL, "%s matches a schema it must not match", shown);
                }
                if (c->status != EINVAL)
                        return -1;
                free(c->msg);
                c->msg = saved;
        }
        return 0;
}

static int validate(struct vctx *c, node_t *n, json_object *v)
{
        unsigned t;
        int r = -1;
        berth_error *e = NULL;

        if (++c->frames > MAX_FRAMES) {
                c->frames--;
                return vfail(c, EIO, "schema nesting too deep (a `$ref` loop?)");
        }
        while (n->ref != NULL) {
                node_t *target = resolve_ref(n, &e);
                if (target == NULL) {
                        vfail(c, EIO, "%s", e->msg);
                        berth_error_free(e);
                        goto out;
                }
                n = target;
        }
        if (n->is_false) {
                cleanup_free char *shown = show(v);
                vfail(c, EINVAL, "%s is not allowed here", shown);
                goto out;
        }

        t = type_of(v);
        if (n->types != 0 && !(n->types & t)) {
                cleanup_free char *shown = show(v);
                cleanup_free char *want = types_text(n->types);
                vfail(c, EINVAL, "%s is not of type %s", shown, want);
                goto out;
        }
        if (n->enum_text != NULL && materialize(&n->enum_values, n->enum_text) == NULL) {
                vfail(c, EIO, "schema: bad `enum`");
                goto out;
        }
        if (n->enum_values != NULL && validate_enum(c, n, v) < 0)
                goto out;
        if (n->const_text != NULL && materialize(&n->const_value, n->const_text) == NULL) {
                vfail(c, EIO, "schema: bad `const`");
                goto out;
        }
        if (n->has_const && !json_object_equal(v, n->const_value)) {
                cleanup_free char *shown = show(v);
                cleanup_free char *want = show(n->const_value);
                vfail(c, EINVAL, "%s is not %s", shown, want);
                goto out;
        }
        if ((t & SCHEMA_T_OBJECT) && validate_object(c, n, v) < 0)
                goto out;
        if ((t & SCHEMA_T_ARRAY) && validate_array(c, n, v) < 0)
                goto out;
        if ((t & SCHEMA_T_STRING) && validate_string(c, n, v) < 0)
                goto out;
        if ((t & SCHEMA_T_NUMBER) && validate_number(c, n, v) < 0)
                goto out;
        if (validate_combinators(c, n, v) < 0)
                goto out;
        r = 0;
out:
        c->frames--;
        return r;
}

int berth_fail_invalid(berth_error **err, const char *fmt, ...)
{
        va_list ap;
        if (err == NULL || *err != NULL)
                return -EINVAL;
        va_start(ap, fmt);
        (void)berth_failv(err, 0, fmt, ap);
        va_end(ap);
        (*err)->status = EINVAL;
        return -EINVAL;
}

int berth_schema_validate_in(const struct berth_schema_set *set, const char *schema_file,
                             json_object *doc, const char *what, berth_error **err)
{
        struct vctx *c;
        struct sfile *f;
        node_t *root = NULL;
        int r = 0;

        for (size_t i = 0; i < set->n_files; i++)
                if (strcmp(set->files[i].name, schema_file) == 0)
                        root = set->files[i].root;
        pthread_mutex_lock(&schema_lock);
        if (root == NULL) {
                f = load_file(set, schema_file, err);
                root = f ? node_at(f, "", err) : NULL;
        }
        if (root == NULL) {
                pthread_mutex_unlock(&schema_lock);
                return berth_error_prefix(err, err && *err ? -berth_error_status(*err) : -EIO, "%s",
                                          what);
        }
        c = xmalloc0(sizeof(*c));
        if (validate(c, root, doc) < 0) {
                if (c->status == EINVAL)
                        r = berth_fail_invalid(err, "%s: %s", what, c->msg);
                else
                        r = berth_fail(err, c->status, "%s: %s", what, c->msg);
        }
        pthread_mutex_unlock(&schema_lock);
        free(c->msg);
        free(c);
        return r;
}

int berth_schema_validate(const char *schema_file, json_object *doc, const char *what,
                          berth_error **err)
{
        return berth_schema_validate_in(&berth_runtime_schemas, schema_file, doc, what, err);
}
