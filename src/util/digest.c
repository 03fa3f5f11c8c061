/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* nettle: the crypto library GnuTLS and libarchive already bring, with the
 * SHA extensions on CPUs that have them; no global set-up (OpenSSL's cost
 * the daemon 2.3 MB of resident memory at its first digest). */
struct berth_sha256 {
        struct sha256_ctx ctx;
};

struct berth_sha256 *berth_sha256_new(void)
{
        struct berth_sha256 *c = xmalloc0(sizeof(*c));
        sha256_init(&c->ctx);
        return c;
}

void berth_sha256_update(struct berth_sha256 *c, const void *data, size_t len)
{
        if (len > 0)
                sha256_update(&c->ctx, len, data);
}

void berth_sha256_final(struct berth_sha256 *c, char out[BERTH_DIGEST_STR_LEN])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[SHA256_DIGEST_SIZE];
        unsigned int n = SHA256_DIGEST_SIZE;

        sha256_digest(&c->ctx, SHA256_DIGEST_SIZE, md);
        memcpy(out, "sha256:", 7);
        for (unsigned int i = 0; i < n; i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[7 + 2 * i + 1] = hex[md[i] & 0xf];
        }
        out[7 + 64] = '\0';
}

void berth_sha256_free(struct berth_sha256 *c)
{
        if (c == NULL)
                return;
        free(c);
}

void berth_sha256_digest(const void *data, size_t len, char out[BERTH_DIGEST_STR_LEN])
{
        cleanup_sha256 struct berth_sha256 *c = berth_sha256_new();
        berth_sha256_update(c, data, len);
        berth_sha256_final(c, out);
}

bool berth_digest_valid(const char *digest)
{
        if (digest == NULL || strncmp(digest, "sha256:", 7) != 0)
                return false;
        const char *h = digest + 7;
        size_t i;
        for (i = 0; h[i]; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return i == BERTH_DIGEST_HEX_LEN;
}

int berth_digest_check(const char *digest, const char *what, berth_error **err)
{
        if (berth_digest_valid(digest))
                return 0;
        return berth_fail(err, EINVAL, "%s: invalid digest `%s` (want sha256:<64 hex digits>)",
                          what, digest ? digest : "");
}
