/* SPDX-License-Identifier: Apache-2.0 */
/* Functions shared between the engine core's own files (spec, lifecycle,
 * restart, health, seccomp profile). Not used outside src/engine. */
#ifndef BERTH_ENGINE_CORE_H
#define BERTH_ENGINE_CORE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine-internal.h"

/* ---- spec.c ---- */
/* Docker's merge of the image's "config" (may be NULL) with the create body:
 * env by key, entrypoint/cmd, workdir, user, labels, healthcheck... */
int berth_spec_merge_config(json_object *image_config, json_object *body, json_object **ret_config,
                            berth_error **err);
/* Validate and normalise a HostConfig (fills defaults such as
 * NetworkMode "default"); EINVAL with Docker's wording on bad values. */
int berth_spec_check_hostconfig(json_object *hc, berth_error **err);
/* The OCI config.json for C (c->lock held), its rootfs at ROOTFS (mounted). */
int berth_spec_build(struct berth_container *c, const char *rootfs, json_object **ret,
                     berth_error **err);
/* Resolve a Docker user ("name", "uid", "name:group", "uid:gid") against the
 * passwd/group files of the tree at ROOTFS. *ret_gids (may be NULL) gets the
 * user's supplementary groups plus GROUP_ADD (names or numbers). */
int berth_spec_resolve_user(const char *rootfs, const char *user, char *const *group_add,
                            uint32_t *ret_uid, uint32_t *ret_gid, uint32_t **ret_gids,
                            size_t *ret_n_gids, berth_error **err);
/* Capability names: "CAP_CHOWN"... accepts "chown", "CAP_CHOWN", "ALL". */
int berth_spec_cap_canonical(const char *name, char **ret, berth_error **err);
/* The final capability list (NULL-terminated "CAP_*") of a HostConfig. */
int berth_spec_caps(json_object *hc, char ***ret, berth_error **err);
/* Parse a signal name or number ("SIGTERM", "TERM", "15"), by the runtime's
 * berth_signal_parse(). Returns the signal, or -EINVAL if bad. */
int berth_engine_signal_parse(const char *s);
/* Parse "10m" / "1g" / "1024" as bytes (Docker's units.RAMInBytes). */
int berth_engine_parse_bytes(const char *s, int64_t *ret);

/* ---- seccomp-default.c ---- */
/* Docker-like default profile in the OCI linux.seccomp shape, with the
 * syscalls each of CAPS (NULL-terminated "CAP_*") unlocks. */
json_object *berth_seccomp_default(char *const *caps);
/* Convert a Docker seccomp profile (JSON text) to the OCI shape. */
int berth_seccomp_from_docker(const char *profile, char *const *caps, json_object **ret,
                              berth_error **err);

/* ---- lifecycle.c ---- */
/* Start C through its shim (no lock held on entry). */
int berth_container_do_start(struct berth_container *c, bool from_restart, berth_error **err);
/* Called (without locks) when the shim reports that C's init exited. */
void berth_container_on_exit(struct berth_container *c);

/* ---- restart.c ---- */
/* After an exit: should the policy restart C? Sets c->status to restarting
 * and schedules the restart with back-off. Call with c->lock held.
 * Returns true when a restart was scheduled. */
bool berth_restart_schedule(struct berth_container *c, int64_t ran_ms);
/* The policy name of C ("no", "always", ...); c->lock held. */
const char *berth_restart_policy(struct berth_container *c, int *ret_max_retries);

#endif
