/* SPDX-License-Identifier: Apache-2.0 */
/* Module-internal interface of the runtime's "security" area: credentials,
 * capabilities, rlimits, no_new_privs, seccomp and the name tables used by
 * `features` and `kill`.
 *
 * Every *_parse() runs in the PARENT, before anything is created, so that a
 * bad config fails early with a message naming the field and the value.
 * Every *_apply() runs in the container's init (or an exec'd process) after
 * fork, inside the namespaces, just before execve; they allocate nothing. */
#ifndef BERTH_RUNTIME_SECURITY_H
#define BERTH_RUNTIME_SECURITY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* ---- capabilities (caps.c) ---------------------------------------------- */

/* The five capability sets of process.capabilities as bitmasks (bit N is
 * capability N), restricted to the capabilities the running kernel has. */
struct berth_caps {
        uint64_t bounding;
        uint64_t effective;
        uint64_t inheritable;
        uint64_t permitted;
        uint64_t ambient;
        int last_cap; /* /proc/sys/kernel/cap_last_cap at parse time */
};

/* CAPABILITIES is process.capabilities; NULL means five empty sets. Unknown
 * names fail ("process.capabilities.bounding: unknown capability `CAP_FOO`");
 * names the running kernel lacks are skipped silently, like runc. */
int berth_caps_parse(json_object *capabilities, struct berth_caps **ret, berth_error **err);
void berth_caps_free(struct berth_caps *caps);
void berth_caps_freep(struct berth_caps **caps);
#define cleanup_caps __attribute__((cleanup(berth_caps_freep)))

/* Credentials of process.user. */
struct berth_creds {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* additionalGids */
        size_t n_groups;
        /* true by default; the caller clears it in a user namespace whose
         * /proc/PID/setgroups is "deny" (then additionalGids must be empty). */
        bool set_groups;
};

/* USER is process.user (NULL: uid 0, gid 0, no additional groups). RET is
 * filled on success; release it with berth_creds_clear(). */
int berth_creds_parse(json_object *user, struct berth_creds *ret, berth_error **err);
void berth_creds_clear(struct berth_creds *c);
#define cleanup_creds __attribute__((cleanup(berth_creds_clear)))

/* In the child: setgroups, setresgid, setresuid while keeping the
 * capabilities (PR_SET_KEEPCAPS), then drop the bounding set, then
 * capset(effective, permitted, inheritable), then raise the ambient set, so
 * that a non-root user ends with exactly the sets asked for. CAPS may be NULL
 * to change only the credentials (the capabilities are then left as the
 * kernel's set*id rules leave them). */
int berth_security_apply_creds_caps(const struct berth_creds *c, const struct berth_caps *caps,
                                    berth_error **err);

/* prctl(PR_SET_NO_NEW_PRIVS, 1). */
int berth_no_new_privs(berth_error **err);

/* ---- rlimits (rlimits.c) ------------------------------------------------ */

struct berth_rlimits;

/* RLIMITS is process.rlimits (may be NULL: nothing to set). An unknown type
 * or a type given twice fails, naming it; so does soft > hard. */
int berth_rlimits_parse(json_object *rlimits, struct berth_rlimits **ret, berth_error **err);
/* setrlimit() each of them, in the order given. */
int berth_rlimits_apply(const struct berth_rlimits *r, berth_error **err);
size_t berth_rlimits_count(const struct berth_rlimits *r);
void berth_rlimits_free(struct berth_rlimits *r);
void berth_rlimits_freep(struct berth_rlimits **r);
#define cleanup_rlimits __attribute__((cleanup(berth_rlimits_freep)))

/* Read a JSON integer as uint64 (values above INT64_MAX included): 0, or
 * -EINVAL when O is not a non-negative integer. */
int berth_json_get_u64(json_object *o, uint64_t *ret);

/* ---- seccomp (seccomp.c) ------------------------------------------------ */

struct berth_seccomp;

/* SECCOMP is linux.seccomp (NULL: no filter; *RET is then NULL too). The
 * filter is compiled with libseccomp here, in the parent, and kept as BPF. */
int berth_seccomp_parse(json_object *seccomp, struct berth_seccomp **ret, berth_error **err);
/* In the child, the last thing before execve: load the filter with the
 * config's flags. Needs no_new_privs or CAP_SYS_ADMIN. S may be NULL (no-op).
 * A filter that uses SCMP_ACT_NOTIFY fails here: use
 * berth_seccomp_apply_listener(). */
int berth_seccomp_apply(const struct berth_seccomp *s, berth_error **err);
/* Same, and when the filter uses SCMP_ACT_NOTIFY, set *RET_LISTENER_FD to
 * the new listener fd (else -1). The caller passes that fd to the parent,
 * which hands it to the agent with berth_seccomp_send_listener(). */
int berth_seccomp_apply_listener(const struct berth_seccomp *s, int *ret_listener_fd,
                                 berth_error **err);
/* Whether the filter uses SCMP_ACT_NOTIFY; its listenerPath and
 * listenerMetadata (NULL when absent). */
bool berth_seccomp_uses_notify(const struct berth_seccomp *s);
const char *berth_seccomp_listener_path(const struct berth_seccomp *s);
const char *berth_seccomp_listener_metadata(const struct berth_seccomp *s);
/* Connect to the unix socket at LISTENER_PATH and send STATE_JSON (the
 * container process state, see the OCI spec's "seccomp" section) with
 * LISTENER_FD attached as SCM_RIGHTS, as runc does. */
int berth_seccomp_send_listener(const char *listener_path, int listener_fd, const char *state_json,
                                berth_error **err);
/* Size of the compiled program in BPF instructions. */
size_t berth_seccomp_bpf_len(const struct berth_seccomp *s);
void berth_seccomp_free(struct berth_seccomp *s);
void berth_seccomp_freep(struct berth_seccomp **s);
#define cleanup_seccomp __attribute__((cleanup(berth_seccomp_freep)))

/* ---- name tables (names.c), for `features` and `kill` ------------------- */

/* "CAP_CHOWN" .. in capability-number order (index N is capability N). */
const char *const *berth_cap_names(size_t *n);
/* Capability number of NAME ("CAP_CHOWN"), or -1. */
int berth_cap_from_name(const char *name);

/* "RLIMIT_AS" ..; berth_rlimit_from_name returns the resource or -1. */
const char *const *berth_rlimit_names(size_t *n);
int berth_rlimit_from_name(const char *name);
const char *berth_rlimit_name(int resource);

/* Seccomp actions ("SCMP_ACT_ALLOW"), operators ("SCMP_CMP_EQ"),
 * architectures this libseccomp supports ("SCMP_ARCH_X86_64") and filter
 * flags ("SECCOMP_FILTER_FLAG_LOG") known to Berth. */
const char *const *berth_seccomp_action_names(size_t *n);
const char *const *berth_seccomp_operator_names(size_t *n);
const char *const *berth_seccomp_arch_names(size_t *n);
const char *const *berth_seccomp_flag_names(size_t *n);
/* The flags of berth_seccomp_flag_names() that the running kernel accepts;
 * *N is set to their count; the array is static (filled on first call). */
const char *const *berth_seccomp_supported_flag_names(size_t *n);

/* Lookups used by seccomp.c: the value behind a name, or -1 when unknown.
 * Action lookups give the base action (SCMP_ACT_ERRNO(0) for ERRNO);
 * arch lookups give 0 for a name libseccomp does not support. */
int64_t berth_seccomp_action_from_name(const char *name);
int berth_seccomp_operator_from_name(const char *name);
int64_t berth_seccomp_arch_from_name(const char *name);
int64_t berth_seccomp_flag_from_name(const char *name);

/* "KILL", "SIGKILL", "sigkill", "9", "SIGRTMIN+3", "RTMAX-1" -> signal
 * number; -EINVAL when S names no signal. */
int berth_signal_parse(const char *s, int *ret);

#endif
