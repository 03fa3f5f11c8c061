/* SPDX-License-Identifier: Apache-2.0 */
/* The compiled form of a JSON Schema, shared by schema.c (which compiles
 * schemas given as JSON text at run time) and the C that
 * scripts/embed-schemas.py generates (schemas compiled at build time, so a
 * process pays no parsing for them). Not for use outside the validator. */
#ifndef BERTH_RUNTIME_SCHEMA_INTERNAL_H
#define BERTH_RUNTIME_SCHEMA_INTERNAL_H

#include <json-c/json.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/schema.h"

enum {
        SCHEMA_T_NULL = 1 << 0,
        SCHEMA_T_BOOLEAN = 1 << 1,
        SCHEMA_T_OBJECT = 1 << 2,
        SCHEMA_T_ARRAY = 1 << 3,
        SCHEMA_T_NUMBER = 1 << 4,
        SCHEMA_T_STRING = 1 << 5,
        SCHEMA_T_INTEGER = 1 << 6,
};

/* A JSON number, exactly: negative integers as int64, others as uint64. */
enum berth_schema_num_kind { SCHEMA_NUM_NEG, SCHEMA_NUM_POS, SCHEMA_NUM_DOUBLE };
struct berth_schema_num {
        enum berth_schema_num_kind kind;
        int64_t i;
        uint64_t u;
        double d;
};

struct berth_schema_prop {
        const char *name;
        struct berth_schema_node *schema;
};

struct berth_schema_pprop {
        const char *source;
        regex_t *re; /* compiled on first use */
        struct berth_schema_node *schema;
};

struct sfile; /* schema.c's record of a file compiled at run time */

/* Counts (min_items...) are -1 when absent. Regular expressions, "enum" and
 * "const" values are materialized on first use, under the validator's lock. */
struct berth_schema_node {
        struct sfile *file; /* where an unresolved "$ref" resolves */
        bool is_false;      /* the boolean schema false */
        unsigned types;     /* SCHEMA_T_* bits; 0: any type */

        const char *ref; /* "$ref" as written; the rest is then ignored */
        struct berth_schema_node *target;

        const struct berth_schema_prop *props; /* sorted by strcmp */
        size_t n_props;
        const char *const *required;
        size_t n_required;
        struct berth_schema_node *additional;
        bool no_additional;
        struct berth_schema_pprop *pprops;
        size_t n_pprops;
        int64_t min_props, max_props;

        struct berth_schema_node *items;
        struct berth_schema_node *const *tuple;
        size_t n_tuple;
        struct berth_schema_node *additional_items;
        bool no_additional_items;
        int64_t min_items, max_items;
        bool unique;

        const char *pattern_source;
        regex_t *pattern;
        int64_t min_len, max_len;

        bool has_min, has_max, excl_min, excl_max;
        struct berth_schema_num min, max;

        const char *enum_text; /* a JSON array */
        json_object *enum_values;
        bool has_const;
        const char *const_text;
        json_object *const_value;

        struct berth_schema_node *const *all_of;
        struct berth_schema_node *const *any_of;
        struct berth_schema_node *const *one_of;
        size_t n_all_of, n_any_of, n_one_of;
        struct berth_schema_node *not_;
};

#endif
