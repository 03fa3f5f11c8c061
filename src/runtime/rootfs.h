/* SPDX-License-Identifier: Apache-2.0 */
/* The container's root file system (module-internal): parsing of the
 * `mounts` array and its options (in the parent), and the set-up run by the
 * container init inside its new mount namespace: mounts, devices,
 * pivot_root, masked/readonly paths, sysctl and the read-only root. */
#ifndef BERTH_RUNTIME_ROOTFS_H
#define BERTH_RUNTIME_ROOTFS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* One parsed entry of `mounts`. */
struct berth_mount_entry {
        char *destination;   /* absolute, inside the container */
        char *type;          /* "bind" for binds, else the fs type ("tmpfs", ...) */
        char *source;        /* as given (a relative bind source is relative to the bundle) */
        char *data;          /* comma-separated fs options (unknown names, key=value) or NULL */
        unsigned long flags; /* MS_* set, for the mount itself */
        unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, ...) */
        unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE [| MS_REC] or 0 */
        uint64_t rec_attr_set;     /* MOUNT_ATTR_* applied recursively (rro, rnosuid, ...) */
        uint64_t rec_attr_clr;
        bool bind;           /* bind or rbind */
        bool recursive;      /* rbind */
        bool source_is_file; /* a bind of a non-directory: the destination is a file */
        bool tmpcopyup;      /* tmpfs: copy the destination's former contents up */
        bool idmap;          /* idmap/ridmap (not supported yet: refused at parse) */
};

struct berth_mounts {
        size_t n;
        struct berth_mount_entry *v;
};

/* Parse the whole config's `mounts` (and validate the rest of what
 * berth_rootfs_setup() reads, see berth_rootfs_validate()). In the parent.
 * Unknown option names are passed to the file system as data, like runc; a
 * bind whose source does not exist fails; destinations must be absolute. */
int berth_mounts_parse(json_object *config, struct berth_mounts **ret, berth_error **err);
void berth_mounts_free(struct berth_mounts *m);
static inline void berth_mounts_freep(struct berth_mounts **m)
{
        if (*m != NULL)
                berth_mounts_free(*m);
        *m = NULL;
}
#define cleanup_mounts __attribute__((cleanup(berth_mounts_freep)))

/* Validate linux.sysctl (namespaced keys only, runc's rules),
 * linux.devices, linux.rootfsPropagation, masked/readonly paths. Called by
 * berth_mounts_parse(); cheap. */
int berth_rootfs_validate(json_object *config, berth_error **err);

struct berth_rootfs_opts {
        json_object *config; /* whole validated config */
        const struct berth_mounts *mounts;
        const char *rootfs; /* absolute host path of root.path */
        bool userns;        /* in a new user namespace: bind devices instead of mknod, ... */
        bool cgroupns;      /* a new cgroup namespace was created */
        bool netns;         /* a new net namespace (else sysfs is rbind-mounted from the host) */
};

/* Everything up to and including pivot_root, then masked/readonly paths,
 * sysctl, and the read-only root. Runs in the container init, in its new
 * mount namespace, before credentials are dropped; the cwd must be the
 * bundle directory (relative bind sources). On return the process's root
 * and cwd are the container's "/". */
int berth_rootfs_setup(const struct berth_rootfs_opts *o, berth_error **err);

/* The option names `mounts[].options` understands, sorted (for `features`). */
const char *const *berth_mount_option_names(size_t *n);

/* --- internal to the rootfs area (mounts.c, devices.c, rootfs.c) --- */

/* Parse one mount option. Returns 1 when known (and applied to E), 0 when
 * it is not a known name (the caller passes it as fs data). */
int berth_mount_option_apply(struct berth_mount_entry *e, const char *opt);

/* MS_* flags -> MOUNT_ATTR_* for mount_setattr()/fsmount(). */
uint64_t berth_ms_to_mount_attr(unsigned long ms);

/* Create the default devices (null, zero, full, random, urandom, tty and
 * the /dev symlinks) and linux.devices inside ROOTFD. */
int berth_devices_setup(int rootfd, json_object *config, bool userns, bool with_defaults,
                        berth_error **err);

#endif
