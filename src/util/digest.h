/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests in the OCI form "sha256:<64 hex>". */
#ifndef BERTH_UTIL_DIGEST_H
#define BERTH_UTIL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define BERTH_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define BERTH_DIGEST_STR_LEN (7 + BERTH_DIGEST_HEX_LEN + 1)

struct berth_sha256; /* streaming context */

struct berth_sha256 *berth_sha256_new(void);
void berth_sha256_update(struct berth_sha256 *c, const void *data, size_t len);
/* Write "sha256:<hex>" into out (BERTH_DIGEST_STR_LEN bytes); the context
 * can't be updated afterwards. */
void berth_sha256_final(struct berth_sha256 *c, char out[BERTH_DIGEST_STR_LEN]);
void berth_sha256_free(struct berth_sha256 *c);
static inline void berth_sha256_freep(struct berth_sha256 **c)
{
        berth_sha256_free(*c);
        *c = NULL;
}
#define cleanup_sha256 __attribute__((cleanup(berth_sha256_freep)))

/* One-shot digest of a buffer. */
void berth_sha256_digest(const void *data, size_t len, char out[BERTH_DIGEST_STR_LEN]);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool berth_digest_valid(const char *digest);
/* Check, with a message naming WHAT when it is not valid. */
int berth_digest_check(const char *digest, const char *what, berth_error **err);

#endif
