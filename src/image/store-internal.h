/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the store's own files (not a public interface). */
#ifndef BERTH_IMAGE_STORE_INTERNAL_H
#define BERTH_IMAGE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "image.h"

struct berth_image_store {
        char *root;
        char *blobs_dir;
        char *tmp_dir;
        char *images_dir;
        char *layers_dir;
        /* berth_image_store_lock(): MUTEX (recursive) excludes the other
         * threads of this process, the flock on LOCK_FD other processes (a
         * flock is per open file, so it alone lets every thread in).
         * LOCK_DEPTH and LOCK_FD are under MUTEX. */
        pthread_mutex_t mutex;
        int lock_fd;
        int lock_depth;
        /* Layers a load unpacked while storing them, before their chain was
         * known (archive.c); store_unpack_layer() commits them in order. */
        struct store_prepared *prepared;
        size_t n_prepared;
        bool prepared_synced;   /* a syncfs ran after the last was written */
        bool serial_unpack;     /* load: unpack after storing, one at a time */
        unsigned prepared_used; /* prepared snapshots committed (for tests) */
        size_t spool_max;       /* load: bytes queued for the unpackers (0: 64 MiB) */
};

struct store_prepared {
        char digest[BERTH_DIGEST_STR_LEN]; /* of the blob it came from */
        char diff_id[BERTH_DIGEST_STR_LEN];
        char *tmp;        /* the temporary snapshot; NULL once committed */
        int64_t unpacked; /* bytes of file content */
};

/* Write the blob with O_DIRECT where the file system allows it: for a blob
 * the caller does not read back soon (load unpacks while it stores), it
 * spares the copy into the page cache. Best effort. */
void store_blob_writer_direct(struct berth_blob_writer *w);

/* Hand a prepared snapshot (TMP, taken) to the store. */
void store_prepared_add(struct berth_image_store *s, const char *digest, const char *diff_id,
                        char *tmp, int64_t unpacked);
/* Remove the prepared snapshots nobody committed and forget them all. */
void store_prepared_clear(struct berth_image_store *s);

/* Append a copy of S to the NULL-terminated *V. */
void store_strv_push(char ***v, const char *s);
void store_strv_pushf(char ***v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool store_strv_contains(char *const *v, const char *s);

/* Hash the uncompressed content of the (plain, gzip or zstd) tar read from
 * FD: its diffID and size. */
int store_uncompressed_digest(int fd, char ret_digest[BERTH_DIGEST_STR_LEN], int64_t *ret_size,
                              berth_error **err);
/* Copy the uncompressed content of the blob DIGEST to CB. */
int store_uncompressed_copy(int fd, int (*cb)(void *ud, const void *buf, size_t len), void *ud,
                            berth_error **err);

/* Make sure the layer CHAIN_ID is unpacked from the blob (apply on top of
 * PARENT, the previous chain id, or NULL). *ret_unpacked (may be NULL) gets
 * the bytes of file content written, or -1 when it was unpacked already. */
int store_unpack_layer(struct berth_image_store *s, const struct berth_image_layer *l,
                       const char *parent_chain, int64_t *ret_unpacked, berth_error **err);
/* Remove an unpacked layer. */
int store_remove_layer(struct berth_image_store *s, const char *chain_id, berth_error **err);
/* Every unpacked layer's chain id (strv). */
int store_list_layers(struct berth_image_store *s, char ***ret, berth_error **err);
/* Size on disk of an unpacked layer (0 when absent). */
int64_t store_layer_disk_size(struct berth_image_store *s, const char *chain_id);

/* Chain ids held by a holder (strv of chain ids with at least one hold). */
int store_held_layers(struct berth_image_store *s, char ***ret, berth_error **err);
int store_layer_holders(struct berth_image_store *s, const char *chain_id);

/* The records' tag map: load and save images/tags.json. */
int store_tags_load(struct berth_image_store *s, struct json_object **ret, berth_error **err);
int store_tags_save(struct berth_image_store *s, struct json_object *tags, berth_error **err);
int store_record_write(struct berth_image_store *s, const struct berth_image *img,
                       berth_error **err);
int store_record_delete(struct berth_image_store *s, const char *id, berth_error **err);
/* Every record id (strv). */
int store_record_ids(struct berth_image_store *s, char ***ret, berth_error **err);

#endif
