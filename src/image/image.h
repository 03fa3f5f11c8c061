/* SPDX-License-Identifier: Apache-2.0 */
/* The image module: references, the content store (blobs/sha256), manifests
 * and configs, image records and tags, save/load, import, base images and
 * disk accounting. Layers and snapshots are in layer.h.
 *
 * On disk, under the data root:
 *   blobs/sha256/<hex>        content, verified before it is renamed in place
 *   blobs/.tmp/               blobs being written (removed by the store check)
 *   images/records/<hex>.json one record per image, <hex> of its config digest
 *   images/tags.json          reference -> image id
 *   images/holds/<chain>/<h>  a container (or other holder H) using a layer
 *   layers/<chain-hex>/       unpacked layers (layer.h)
 */
#ifndef BERTH_IMAGE_IMAGE_H
#define BERTH_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/error.h"

/* Bounds on user-controlled input. */
#define BERTH_IMAGE_MAX_JSON        (4u << 20) /* manifest, config, index */
#define BERTH_IMAGE_MAX_LAYERS      256
#define BERTH_IMAGE_MAX_DESCRIPTORS 1024
#define BERTH_REF_MAX_NAME          255

#define BERTH_MT_OCI_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MT_OCI_INDEX         "application/vnd.oci.image.index.v1+json"
#define BERTH_MT_OCI_CONFIG        "application/vnd.oci.image.config.v1+json"
#define BERTH_MT_OCI_LAYER         "application/vnd.oci.image.layer.v1.tar"
#define BERTH_MT_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MT_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define BERTH_MT_DOCKER_MANIFEST   "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MT_DOCKER_LIST       "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MT_DOCKER_CONFIG     "application/vnd.docker.container.image.v1+json"
#define BERTH_MT_DOCKER_LAYER      "application/vnd.docker.image.rootfs.diff.tar"
#define BERTH_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* ---- references (reference.c) ------------------------------------------ */

/* A parsed reference: DOMAIN/PATH[:TAG][@DIGEST]. TAG and DIGEST may be NULL. */
struct berth_ref {
        char
            *domain; /* "docker.io", "localhost:5000"; NULL only from berth_ref_parse without one */
        char *path;  /* "library/busybox" */
        char *tag;
        char *digest;
};

/* Docker's ParseNormalizedNamed: "busybox" -> docker.io/library/busybox (no
 * tag is added; see berth_ref_with_default_tag). Errors follow Docker's
 * wording ("invalid reference format: repository name (`X`) must be
 * lowercase"). */
int berth_ref_parse_normalized(const char *s, struct berth_ref **ret, berth_error **err);
/* Docker's reference.Parse: no normalisation; the domain is what the string
 * says (NULL when it has none). */
int berth_ref_parse(const char *s, struct berth_ref **ret, berth_error **err);
/* Add ":latest" when the reference has neither a tag nor a digest. */
void berth_ref_with_default_tag(struct berth_ref *r);
/* "docker.io/library/busybox:latest@sha256:..." */
char *berth_ref_string(const struct berth_ref *r);
/* "docker.io/library/busybox" */
char *berth_ref_name(const struct berth_ref *r);
/* Familiar forms: "busybox" and "busybox:latest" (docker.io and library/
 * stripped). */
char *berth_ref_familiar_name(const struct berth_ref *r);
char *berth_ref_familiar_string(const struct berth_ref *r);
/* Normalise S and return the full string with a default tag. */
int berth_ref_normalize_tagged(const char *s, char **ret, berth_error **err);
/* Familiar display form of a full reference string (returns a copy of S when
 * it does not parse). */
char *berth_ref_familiarize(const char *s);
/* True for a tag matching [\w][\w.-]{0,127}. */
bool berth_ref_tag_valid(const char *tag);
void berth_ref_free(struct berth_ref *r);
static inline void berth_ref_freep(struct berth_ref **r)
{
        berth_ref_free(*r);
        *r = NULL;
}
#define cleanup_ref __attribute__((cleanup(berth_ref_freep)))

/* ---- the store (store.c) ----------------------------------------------- */

struct berth_image_store;

/* Open (creating the directories) the store under DATA_ROOT. */
int berth_image_store_open(const char *data_root, struct berth_image_store **ret,
                           berth_error **err);
void berth_image_store_free(struct berth_image_store *s);
static inline void berth_image_store_freep(struct berth_image_store **s)
{
        berth_image_store_free(*s);
        *s = NULL;
}
#define cleanup_image_store __attribute__((cleanup(berth_image_store_freep)))
const char *berth_image_store_root(const struct berth_image_store *s);
/* An exclusive lock over records, tags and GC (flock on images/.lock);
 * re-entrant within one store object. */
int berth_image_store_lock(struct berth_image_store *s, berth_error **err);
void berth_image_store_unlock(struct berth_image_store *s);

/* A blob being written: bytes go to a temporary file while they are
 * hashed; commit checks the digest (and size) BEFORE renaming into place,
 * so a mismatch stores nothing. Freeing an uncommitted writer removes the
 * temporary file. */
struct berth_blob_writer;
int berth_blob_writer_new(struct berth_image_store *s, const char *expected_digest,
                          int64_t expected_size, struct berth_blob_writer **ret, berth_error **err);
int berth_blob_writer_write(struct berth_blob_writer *w, const void *buf, size_t len,
                            berth_error **err);
/* On success ret_digest (may be NULL) holds the digest; *ret_created (may be
 * NULL) tells whether the blob was new. */
int berth_blob_writer_commit(struct berth_blob_writer *w, char ret_digest[BERTH_DIGEST_STR_LEN],
                             bool *ret_created, berth_error **err);
int64_t berth_blob_writer_size(const struct berth_blob_writer *w);
void berth_blob_writer_free(struct berth_blob_writer *w);
static inline void berth_blob_writer_freep(struct berth_blob_writer **w)
{
        berth_blob_writer_free(*w);
        *w = NULL;
}
#define cleanup_blob_writer __attribute__((cleanup(berth_blob_writer_freep)))

int berth_blob_put(struct berth_image_store *s, const void *data, size_t len,
                   const char *expected_digest, char ret_digest[BERTH_DIGEST_STR_LEN],
                   berth_error **err);
/* Copy everything readable from FD into the store. */
int berth_blob_put_fd(struct berth_image_store *s, int fd, const char *expected_digest,
                      int64_t expected_size, char ret_digest[BERTH_DIGEST_STR_LEN],
                      berth_error **err);
bool berth_blob_exists(struct berth_image_store *s, const char *digest);
int berth_blob_open(struct berth_image_store *s, const char *digest, berth_error **err);
int berth_blob_size(struct berth_image_store *s, const char *digest, int64_t *ret,
                    berth_error **err);
/* Read a small blob (at most MAX bytes) and check its digest again. */
int berth_blob_read(struct berth_image_store *s, const char *digest, size_t max, char **ret,
                    size_t *ret_len, berth_error **err);
int berth_blob_delete(struct berth_image_store *s, const char *digest, berth_error **err);
char *berth_blob_path(const struct berth_image_store *s, const char *digest);

/* ---- manifests and configs (manifest.c) -------------------------------- */

enum berth_manifest_kind {
        BERTH_MANIFEST_OCI,
        BERTH_MANIFEST_DOCKER,
        BERTH_INDEX_OCI,
        BERTH_INDEX_DOCKER,
};

struct berth_descriptor {
        char *media_type;
        char digest[BERTH_DIGEST_STR_LEN];
        int64_t size;
        char *os, *arch, *variant; /* platform (index entries), may be NULL */
        char *ref_name;            /* org.opencontainers.image.ref.name or
                                      io.containerd.image.name, may be NULL */
};

struct berth_manifest {
        enum berth_manifest_kind kind;
        char *media_type;
        struct berth_descriptor config;  /* manifests */
        struct berth_descriptor *layers; /* manifests */
        size_t n_layers;
        struct berth_descriptor *manifests; /* indexes */
        size_t n_manifests;
};

/* Parse a manifest or index; MEDIA_TYPE_HINT (may be NULL) is the type a
 * registry or a descriptor announced. Bounds: size, descriptors, layers. */
int berth_manifest_parse(const char *data, size_t len, const char *media_type_hint,
                         struct berth_manifest **ret, berth_error **err);
/* Serialise in the canonical form (what Docker and containerd write). */
int berth_manifest_write(const struct berth_manifest *m, char **ret, size_t *ret_len,
                         berth_error **err);
/* Pick the entry of an index matching OS/ARCH/VARIANT (VARIANT may be NULL;
 * NULL OS/ARCH mean the host's). */
const struct berth_descriptor *berth_index_select(const struct berth_manifest *idx, const char *os,
                                                  const char *arch, const char *variant,
                                                  berth_error **err);
void berth_manifest_free(struct berth_manifest *m);
static inline void berth_manifest_freep(struct berth_manifest **m)
{
        berth_manifest_free(*m);
        *m = NULL;
}
#define cleanup_manifest __attribute__((cleanup(berth_manifest_freep)))
void berth_descriptor_clear(struct berth_descriptor *d);
/* The host's GOARCH-style architecture ("amd64", "arm64", ...). */
const char *berth_host_arch(void);
/* Compression of a layer media type (0 none, 1 gzip, 2 zstd; -1 unknown). */
int berth_layer_media_compression(const char *media_type);

/* A parsed image config (the JSON is kept: its bytes are the image id). */
struct berth_image_config {
        char **diff_ids;
        size_t n_diff_ids;
        char *created; /* RFC 3339, may be NULL */
        char *os, *arch;
        struct json_object *json;
};
int berth_image_config_parse(const char *data, size_t len, struct berth_image_config **ret,
                             berth_error **err);
void berth_image_config_free(struct berth_image_config *c);
static inline void berth_image_config_freep(struct berth_image_config **c)
{
        berth_image_config_free(*c);
        *c = NULL;
}
#define cleanup_image_config __attribute__((cleanup(berth_image_config_freep)))
/* Serialise a config object (keys kept in their order, "/" not escaped). */
char *berth_json_canonical(struct json_object *o, size_t *ret_len);

/* ---- image records, tags, holds (records.c) ----------------------------- */

struct berth_image_layer {
        char digest[BERTH_DIGEST_STR_LEN]; /* blob */
        char diff_id[BERTH_DIGEST_STR_LEN];
        char chain_id[BERTH_DIGEST_STR_LEN];
        char *media_type;
        int64_t size;          /* blob size */
        int64_t unpacked_size; /* uncompressed tar size */
};

struct berth_image {
        char id[BERTH_DIGEST_STR_LEN]; /* config digest */
        char manifest_digest[BERTH_DIGEST_STR_LEN];
        char *manifest_media_type;
        char *created;
        int64_t created_unix;
        int64_t size; /* sum of unpacked layer sizes */
        struct berth_image_layer *layers;
        size_t n_layers;
        char **repo_tags;    /* full references, NULL-terminated */
        char **repo_digests; /* NULL-terminated */
};
void berth_image_free(struct berth_image *img);
static inline void berth_image_freep(struct berth_image **i)
{
        berth_image_free(*i);
        *i = NULL;
}
#define cleanup_image __attribute__((cleanup(berth_image_freep)))
void berth_image_list_free(struct berth_image **v, size_t n);
/* Add Docker's GraphDriver (overlay2; LowerDir: the layers' directories, top
 * first), RootFS and Metadata members of an image inspect document to O. */
void berth_image_add_layout_json(const struct berth_image_store *s, const struct berth_image *img,
                                 struct json_object *o);

/* Register the image whose manifest (already in the store, as every blob it
 * names) has MANIFEST_DIGEST: checks every blob, the layers' diffIDs against
 * the config, unpacks the layers and writes the record. Idempotent. */
int berth_image_register(struct berth_image_store *s, const char *manifest_digest,
                         struct berth_image **ret, berth_error **err);
/* Find by reference ("busybox", "busybox:1"), full id, or a unique id
 * prefix (at least 4 hex digits). */
int berth_image_get(struct berth_image_store *s, const char *name, struct berth_image **ret,
                    berth_error **err);
int berth_image_get_by_id(struct berth_image_store *s, const char *id, struct berth_image **ret,
                          berth_error **err);
/* Every image, sorted newest first. */
int berth_image_list(struct berth_image_store *s, struct berth_image ***ret, size_t *ret_n,
                     berth_error **err);
/* Point REF (normalised, default tag) at the image NAME. */
int berth_image_tag(struct berth_image_store *s, const char *name, const char *ref,
                    berth_error **err);
/* Remove a tag (REF) or, for an id or an image's last tag, the image. With
 * FORCE an image with several tags is removed by id. Layers and blobs no
 * other image or holder uses are freed. RET_LINES (may be NULL) receives
 * docker's "Untagged: x" / "Deleted: sha256:..." lines. */
int berth_image_remove(struct berth_image_store *s, const char *name, bool force, char ***ret_lines,
                       berth_error **err);
/* All tags as (ref, id) pairs: a NULL-terminated strv of "ref\tid". */
int berth_image_tags(struct berth_image_store *s, char ***ret, berth_error **err);

/* Persistently mark a layer (chain id) as used by HOLDER (a container id);
 * such a layer is never removed, whatever happens to its images. */
int berth_image_store_hold_layer(struct berth_image_store *s, const char *chain_id,
                                 const char *holder, berth_error **err);
int berth_image_store_release_layer(struct berth_image_store *s, const char *chain_id,
                                    const char *holder, berth_error **err);
/* Hold/release every layer of an image. */
int berth_image_hold(struct berth_image_store *s, const struct berth_image *img, const char *holder,
                     berth_error **err);
int berth_image_release(struct berth_image_store *s, const struct berth_image *img,
                        const char *holder, berth_error **err);

/* Remove blobs and unpacked layers no image or holder uses (the store lock
 * must be held). ONLY (may be NULL) restricts it to those digests.
 * *ret_freed (may be NULL) gets the bytes freed. */
int berth_image_store_gc(struct berth_image_store *s, char *const *only, int64_t *ret_freed,
                         berth_error **err);

/* ---- save / load (archive.c) ------------------------------------------- */

enum berth_archive_format {
        BERTH_ARCHIVE_DOCKER, /* manifest.json + repositories + <id>.json + layer tars */
        BERTH_ARCHIVE_OCI,    /* oci-layout + index.json + blobs/sha256 */
};

/* Load a docker-archive or OCI layout tarball (plain or compressed) from FD.
 * RET_LINES gets "Loaded image: busybox:latest" / "Loaded image ID: ..."
 * lines. On failure nothing new stays in the store. */
int berth_image_load(struct berth_image_store *s, int fd, char ***ret_lines, berth_error **err);
/* Save the images NAMES (references or ids) to FD. */
int berth_image_save(struct berth_image_store *s, char *const *names, enum berth_archive_format fmt,
                     int fd, berth_error **err);

/* ---- import (importer.c) ----------------------------------------------- */

/* Import the rootfs tarball read from FD (plain or compressed) as a
 * one-layer image; CHANGES are Dockerfile-like lines ("CMD [\"sh\"]",
 * "ENV A=b", ...), MESSAGE the history comment; REF may be NULL. */
int berth_image_import(struct berth_image_store *s, int fd, char *const *changes,
                       const char *message, const char *ref, struct berth_image **ret,
                       berth_error **err);
/* Apply one --change line to a config object ("config" member of the image
 * config). */
int berth_image_apply_change(struct json_object *config, const char *change, berth_error **err);
/* Build a one-layer image from an uncompressed layer blob already stored:
 * writes the config and the manifest, registers and tags it. */
int berth_image_from_layer(struct berth_image_store *s, const char *layer_digest,
                           struct json_object *container_config, const char *created_by,
                           const char *comment, const char *ref, struct berth_image **ret,
                           berth_error **err);

/* ---- base images (basefs.c) -------------------------------------------- */

/* A busybox image from BUSYBOX (NULL: /bin/busybox), tagged REF (NULL:
 * busybox:latest). */
int berth_image_base_busybox(struct berth_image_store *s, const char *busybox, const char *ref,
                             struct berth_image **ret, berth_error **err);
/* A Debian image made by debootstrap --variant=minbase SUITE (NULL:
 * bookworm), INCLUDE a comma-separated package list (may be NULL), MIRROR
 * (NULL: from /etc/apt/sources.list.d/debian.sources). */
int berth_image_base_debian(struct berth_image_store *s, const char *suite, const char *include,
                            const char *mirror, const char *ref, struct berth_image **ret,
                            berth_error **err);
/* The first URI of the first stanza of a deb822 sources file that names
 * suite-less Debian ("URIs:" line). */
int berth_debian_mirror_from_sources(const char *path, char **ret, berth_error **err);

/* ---- disk accounting and check (df.c) ---------------------------------- */

struct berth_image_usage {
        char id[BERTH_DIGEST_STR_LEN];
        int64_t size;        /* all its layers */
        int64_t shared_size; /* layers another image also uses */
        int64_t unique_size;
        int containers; /* holders of its top layer */
};
struct berth_store_df {
        size_t images, active;
        int64_t size, reclaimable;
        int64_t blobs_size;
};
int berth_image_usage(struct berth_image_store *s, struct berth_image_usage **ret, size_t *ret_n,
                      berth_error **err);
int berth_image_df(struct berth_image_store *s, struct berth_store_df *ret, berth_error **err);
/* Remove dangling images (ALL: every image no holder uses); RET_LINES gets
 * docker's lines, *ret_freed the bytes really freed on disk. */
int berth_image_prune(struct berth_image_store *s, bool all, char ***ret_lines, int64_t *ret_freed,
                      berth_error **err);
/* Reconcile records with the disk: remove temporary files, tags of missing
 * images, unreferenced blobs and layers; report records whose blobs are gone
 * (REPAIR: remove those records). RET_LINES describes what was done;
 * returns the number of problems left (0: consistent). */
int berth_image_check(struct berth_image_store *s, bool repair, char ***ret_lines,
                      berth_error **err);
/* Size in bytes of a directory tree on disk (allocated blocks, hardlinks
 * counted once). */
int64_t berth_du(const char *path);

#endif
