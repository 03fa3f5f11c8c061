/* SPDX-License-Identifier: Apache-2.0 */
/* A small JSON Schema validator (draft-04, plus "const" and the few later
 * keywords that are cheap to support) over json-c documents.
 *
 * Schemas come from sets of files embedded in the binary at build time
 * (scripts/embed-schemas.py), which compiles them into C data: a process
 * parses no schema. "$ref"s between files of one set are resolved by file
 * name ("defs.json#/definitions/uint32"). A set given only as JSON text is
 * parsed and compiled once per process, on first use. Regular expressions
 * are compiled on first use and kept with the compiled schema. The caches are protected by a mutex,
 * so validation may run from several threads. */
#ifndef BERTH_RUNTIME_SCHEMA_H
#define BERTH_RUNTIME_SCHEMA_H

#include <json-c/json.h>
#include <stddef.h>

#include "util/error.h"

struct berth_schema_node;

struct berth_schema_file {
        const char *name; /* base name, e.g. "config-schema.json" */
        const char *data; /* the JSON text */
        size_t len;
        /* The document compiled at build time, or NULL: then DATA is parsed
         * and compiled on first use. */
        struct berth_schema_node *root;
};

/* A set of schema files that refer to each other. Sets are static data
 * (embedded by the generator), identified by address. */
struct berth_schema_set {
        const char *name;
        const struct berth_schema_file *files;
        size_t n_files;
};

/* The OCI runtime-spec schemas (config, state, features), version 1.3.0. */
extern const struct berth_schema_set berth_runtime_schemas;

/* Validate DOC against SCHEMA_FILE of SET. On failure the message names the
 * JSON path and value of the first (most specific) violation, prefixed with
 * WHAT, e.g. "config.json: `linux.netDevices.eth0.name`: 23 is not of type
 * string"; status EINVAL. A SCHEMA_FILE missing from SET fails with ENOENT,
 * a broken schema with EIO. */
int berth_schema_validate_in(const struct berth_schema_set *set, const char *schema_file,
                             json_object *doc, const char *what, berth_error **err);

/* berth_schema_validate_in(&berth_runtime_schemas, ...): SCHEMA_FILE is
 * "config-schema.json", "state-schema.json" or "features-schema.json". */
int berth_schema_validate(const char *schema_file, json_object *doc, const char *what,
                          berth_error **err);

/* Like berth_fail(err, EINVAL, ...) but without strerror's "Invalid
 * argument" appended: for messages about a document's content. */
int berth_fail_invalid(berth_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
