/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for image references (berth_ref_parse and
 * berth_ref_parse_normalized) with round-trip properties:
 *   - a reference that parses prints back as the same string;
 *   - a normalized reference re-parses to itself (normalizing is
 *     idempotent), and so does its familiar form (except where Docker's
 *     own familiar form does not re-parse either). */
#include <ctype.h>
#include <string.h>

#include "fuzz-common.h"
#include "image/image.h"
#include "util/cleanup.h"

#define FUZZ_MAX_INPUT 4096

/* Whether the first component of NAME reads as a domain (splitDockerDomain). */
static bool starts_with_domain(const char *name)
{
        const char *slash = strchr(name, '/');
        if (slash == NULL)
                return false;
        if ((size_t)(slash - name) == strlen("localhost") && strncmp(name, "localhost", 9) == 0)
                return true;
        for (const char *p = name; p < slash; p++)
                if (*p == '.' || *p == ':' || isupper((unsigned char)*p))
                        return true;
        return false;
}

static bool is_64_hex(const char *s)
{
        if (strlen(s) != 64)
                return false;
        for (; *s != '\0'; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static void check_plain(const char *s)
{
        cleanup_ref struct berth_ref *r = NULL;
        berth_error *err = NULL;
        int rc = berth_ref_parse(s, &r, &err);
        fuzz_check_err(rc, &err);
        if (rc < 0)
                return;
        fuzz_assert(r->path != NULL && r->path[0] != '\0');
        cleanup_free char *str = berth_ref_string(r);
        fuzz_assert(strcmp(str, s) == 0);
        fuzz_assert(r->tag == NULL || berth_ref_tag_valid(r->tag));
}

static void check_normalized(const char *s)
{
        cleanup_ref struct berth_ref *r = NULL;
        berth_error *err = NULL;
        int rc = berth_ref_parse_normalized(s, &r, &err);
        fuzz_check_err(rc, &err);
        if (rc < 0) {
                /* familiarize hands back a copy of what does not parse */
                cleanup_free char *fam = berth_ref_familiarize(s);
                fuzz_assert(strcmp(fam, s) == 0);
                return;
        }
        fuzz_assert(r->domain != NULL && r->path != NULL);
        cleanup_free char *full = berth_ref_string(r);
        {
                cleanup_ref struct berth_ref *again = NULL;
                rc = berth_ref_parse_normalized(full, &again, &err);
                fuzz_check_err(rc, &err);
                fuzz_assert(rc == 0);
                cleanup_free char *full2 = berth_ref_string(again);
                fuzz_assert(strcmp(full, full2) == 0);
        }
        cleanup_free char *fam = berth_ref_familiar_string(r);
        cleanup_free char *fam_name = berth_ref_familiar_name(r);
        /* Docker's own exceptions: "docker.io/localhost/x" familiarises to
         * "localhost/x" (a domain), "library/<64 hex>" to a string that
         * ParseNormalizedNamed refuses as an image id. */
        if (strcmp(r->domain, "docker.io") != 0 ||
            (!starts_with_domain(fam_name) && !is_64_hex(fam_name))) {
                cleanup_ref struct berth_ref *back = NULL;
                rc = berth_ref_parse_normalized(fam, &back, &err);
                fuzz_check_err(rc, &err);
                fuzz_assert(rc == 0);
                cleanup_free char *full3 = berth_ref_string(back);
                fuzz_assert(strcmp(full, full3) == 0);
        }
        cleanup_free char *tagged = NULL;
        rc = berth_ref_normalize_tagged(s, &tagged, &err);
        fuzz_check_err(rc, &err);
        fuzz_assert(rc == 0);
        fuzz_assert(strncmp(tagged, full, strlen(full)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > FUZZ_MAX_INPUT || memchr(data, '\0', size) != NULL)
                return 0;
        cleanup_free char *s = fuzz_strndup(data, size);
        check_plain(s);
        check_normalized(s);
        (void)berth_ref_tag_valid(s);
        return 0;
}
