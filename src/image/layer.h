/* SPDX-License-Identifier: Apache-2.0 */
/* Module-internal interface of the image module: tar layers (apply, diff,
 * export) and the snapshots they are unpacked into. */
#ifndef BERTH_IMAGE_LAYER_H
#define BERTH_IMAGE_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/digest.h"
#include "util/error.h"

enum berth_layer_compression {
        BERTH_LAYER_AUTO, /* sniff gzip / zstd magic, else plain */
        BERTH_LAYER_PLAIN,
        BERTH_LAYER_GZIP,
        BERTH_LAYER_ZSTD,
};

/* Flags of berth_layer_apply(). */
enum {
        /* DIRFD is a standalone layer directory that will be an overlay lower:
         * OCI whiteouts become overlay whiteouts (0/0 char devices and the
         * trusted.overlay.opaque="y" xattr). Without it DIRFD is a flat tree
         * (import, flatten) and whiteouts delete what they name. */
        BERTH_LAYER_APPLY_OVERLAY = 1u << 0,
        /* The caller hashes the bytes it feeds in itself (a tee): the raw
         * digest is not computed (ret->digest is left empty), and neither is
         * the diffID of an uncompressed stream, which is that same digest
         * (ret->diff_id is left empty then). */
        BERTH_LAYER_APPLY_NO_RAW_DIGEST = 1u << 1,
};

/* Bounds on what one layer may contain. Zero fields take the defaults. */
struct berth_layer_limits {
        uint64_t max_entries;    /* default 1,000,000 */
        size_t max_path;         /* bytes in an entry name; default 4096 */
        uint64_t max_entry_size; /* bytes in one file; default 64 GiB */
        uint64_t max_total_size; /* unpacked bytes; default 256 GiB */
        /* Not a bound: when SET_OWNER, every entry is owned by UID:GID
         * instead of the tar's owners (docker cp -a into a container). */
        bool set_owner;
        uint32_t uid, gid;
};

struct berth_layer_apply_stats {
        char diff_id[BERTH_DIGEST_STR_LEN]; /* sha256 of the uncompressed tar */
        char digest[BERTH_DIGEST_STR_LEN];  /* sha256 of the bytes as read */
        uint64_t size;                      /* bytes read */
        uint64_t unpacked_size;             /* bytes of file content written */
        uint64_t entries;
};

/* Apply the tar layer read from TAR_FD (to its end) onto the directory
 * DIRFD. Every entry is resolved inside DIRFD; an entry that would write
 * outside it (`..`, a symlink leading out, a hardlink to outside) fails the
 * whole apply with an error naming the entry. Both digests are computed in
 * the same pass. On failure DIRFD may hold part of the layer: callers unpack
 * into a temporary directory. */
int berth_layer_apply(int dirfd, int tar_fd, enum berth_layer_compression c, unsigned flags,
                      struct berth_layer_apply_stats *ret, berth_error **err);
/* Same, with explicit limits (NULL for the defaults). */
int berth_layer_apply_limits(int dirfd, int tar_fd, enum berth_layer_compression c, unsigned flags,
                             const struct berth_layer_limits *limits,
                             struct berth_layer_apply_stats *ret, berth_error **err);

/* A source of layer bytes: fills BUF with up to LEN bytes, returns how many,
 * 0 at the end, or -1 with errno set. */
typedef ssize_t (*berth_layer_read_fn)(void *ud, void *buf, size_t len);
/* Same, the stream coming from FN instead of a file descriptor. */
int berth_layer_apply_stream(int dirfd, berth_layer_read_fn fn, void *ud,
                             enum berth_layer_compression c, unsigned flags,
                             const struct berth_layer_limits *limits,
                             struct berth_layer_apply_stats *ret, berth_error **err);

struct berth_layer_diff_opts {
        /* Clamp mtimes to this time when set; otherwise SOURCE_DATE_EPOCH
         * from the environment is used when present. */
        bool has_source_date_epoch;
        int64_t source_date_epoch;
        /* Compression level (0: the default of the codec). */
        int level;
};

struct berth_layer_diff_result {
        char diff_id[BERTH_DIGEST_STR_LEN]; /* sha256 of the uncompressed tar */
        char digest[BERTH_DIGEST_STR_LEN];  /* sha256 of the bytes written */
        uint64_t size;                      /* bytes written */
        uint64_t uncompressed_size;
};

/* Write the tree under UPPER_DIRFD (an overlay upper dir, or a plain tree
 * compared against nothing) as a tar layer to OUT_FD. Overlay whiteouts
 * become OCI whiteouts; trusted.overlay.* xattrs are dropped; a metacopy
 * or redirect_dir upper is refused. The output is deterministic: sorted
 * names, no atime/ctime, no user/group names. BERTH_LAYER_AUTO means gzip. */
int berth_layer_diff(int upper_dirfd, int out_fd, enum berth_layer_compression c,
                     const struct berth_layer_diff_opts *opts, struct berth_layer_diff_result *ret,
                     berth_error **err);

/* Write a plain tar of the whole tree under DIRFD (docker export). */
int berth_tree_export(int dirfd, int out_fd, berth_error **err);

/* A tar entry's times for futimens/utimensat: TS[1] its mtime, TS[0] its
 * atime, or the mtime when the entry has none. Shared with `berth cp`'s
 * writer (src/cli/untar.c). */
struct archive_entry;
void berth_tar_entry_times(struct archive_entry *e, struct timespec ts[2]);

/* Snapshots: <data_root>/layers/<chain-id-hex>/, one per layer chain. */
#define BERTH_SNAPSHOT_MAX_LAYERS 500

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * Returns -EINVAL when a digest is not a valid sha256 digest. */
int berth_chain_id(const char *parent_chain, const char *diff_id, char out[BERTH_DIGEST_STR_LEN]);

/* Unpack the layer read from TAR_FD on top of PARENT_CHAIN (NULL for the
 * first layer) into its snapshot directory: into a temporary directory
 * first, renamed into place when complete. When the snapshot already exists
 * the stream is still read and its digests computed, and the existing
 * snapshot is kept. */
int berth_snapshot_unpack(const char *data_root, const char *parent_chain, int tar_fd,
                          enum berth_layer_compression c, struct berth_layer_apply_stats *ret_stats,
                          char ret_chain[BERTH_DIGEST_STR_LEN], berth_error **err);

/* The two halves of berth_snapshot_unpack(), for unpacking layers in
 * parallel and before their chain is known. Prepare applies the layer read
 * from TAR_FD (FLAGS added to BERTH_LAYER_APPLY_OVERLAY) into a new
 * temporary directory under <data_root>/layers, returned in *ret_tmp; it
 * syncs nothing. Commit moves such a directory into place as CHAIN_ID on
 * top of PARENT_CHAIN (which must exist): when SYNCED is false the file
 * system is synced first (syncfs), then the directory is renamed and the
 * layers directory fsynced. When CHAIN_ID exists already, TMP is removed
 * and the existing snapshot kept. On failure TMP is left for the caller. */
int berth_snapshot_prepare(const char *data_root, int tar_fd, enum berth_layer_compression c,
                           unsigned flags, struct berth_layer_apply_stats *ret_stats,
                           char **ret_tmp, berth_error **err);
/* Same, reading the layer from FN. */
int berth_snapshot_prepare_stream(const char *data_root, berth_layer_read_fn fn, void *ud,
                                  enum berth_layer_compression c, unsigned flags,
                                  struct berth_layer_apply_stats *ret_stats, char **ret_tmp,
                                  berth_error **err);
int berth_snapshot_commit(const char *data_root, const char *tmp, const char *parent_chain,
                          const char *chain_id, bool synced, berth_error **err);
/* syncfs() of the file system holding <data_root>/layers. */
int berth_snapshot_sync(const char *data_root, berth_error **err);
bool berth_snapshot_exists(const char *data_root, const char *chain_id);
/* Returns a newly allocated "<data_root>/layers/<hex>" or NULL for an
 * invalid chain ID. */
char *berth_snapshot_path(const char *data_root, const char *chain_id);
int berth_snapshot_remove(const char *data_root, const char *chain_id, berth_error **err);
/* Remove the temporary directories a crash left under <data_root>/layers. */
int berth_snapshot_cleanup_tmp(const char *data_root, berth_error **err);

/* Mount an overlay of the snapshots CHAIN_IDS (bottom..top) with UPPER and
 * WORK at TARGET. UPPER and WORK may both be NULL for a read-only mount.
 * Uses fsopen()/fsconfig("lowerdir+") and falls back to mount(2) with
 * relative lower paths on older kernels (BERTH_NO_FSOPEN=1 forces it). */
int berth_snapshot_mount(const char *data_root, const char *const *chain_ids, size_t n,
                         const char *upper, const char *work, const char *target,
                         berth_error **err);

#endif
