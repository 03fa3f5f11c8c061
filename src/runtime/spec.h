/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and checking an OCI bundle's config.json. */
#ifndef BERTH_RUNTIME_SPEC_H
#define BERTH_RUNTIME_SPEC_H

#include <json-c/json.h>
#include <stdbool.h>

#include "util/error.h"

/* Read BUNDLE/config.json, validate it (berth_spec_validate with FOR_CREATE
 * true) and check that the root file system (root.path, relative to
 * BUNDLE unless absolute) is a directory. *RET is set only on success.
 * Errors: ENOENT/EACCES... reading the file, EINVAL for a document that is
 * not JSON (with line and column), does not match the schema (with the JSON
 * path and value) or cannot run on Linux. */
int berth_spec_load(const char *bundle, json_object **ret, berth_error **err);

/* Validate a parsed config: the OCI config schema, then what the schema
 * cannot express (namespace types unique, id mappings only with a user
 * namespace, process.args non-empty, process.cwd absolute). With
 * FOR_CREATE, also what running it on Linux needs: ociVersion 1.x,
 * "process" and "root.path" present, no other platform's section without a
 * "linux" one, namespace "path"s that exist, a UTS namespace when a
 * hostname is set. Nothing on disk is read without FOR_CREATE. */
int berth_spec_validate(json_object *spec, bool for_create, berth_error **err);

/* A new config like `runc spec` writes (hostname "berth"), or its rootless
 * variant: a user namespace mapping the calling uid/gid to 0, no network
 * namespace, /sys bind-mounted read-only, no uid=/gid= mount options, no
 * resources. The caller owns the result. */
json_object *berth_spec_example(bool rootless);

#endif
