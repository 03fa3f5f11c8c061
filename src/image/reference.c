/* SPDX-License-Identifier: Apache-2.0 */
/* Image references, following distribution/reference's grammar:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]; host := domain-component ["." domain-component]*
 *                 | "[" ipv6 "]"
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   path-component   := alnum [separator alnum]*; alnum := /[a-z0-9]+/
 *   separator  := /[_.]|__|[-]+/
 *   tag        := /[\w][\w.-]{0,127}/
 *   digest     := algorithm ":" hex (sha256: 64 lowercase hex digits)
 *
 * and ParseNormalizedNamed's rules for the docker.io default domain. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "image.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define DEFAULT_DOMAIN  "docker.io"
#define LEGACY_DOMAIN   "index.docker.io"
#define OFFICIAL_PREFIX "library/"

void berth_ref_free(struct berth_ref *r)
{
        if (r == NULL)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* One path component of LEN bytes at S. */
static bool path_component_valid(const char *s, size_t len)
{
        size_t i = 0;
        if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
                return false;
        while (i < len) {
                if (is_lower_alnum(s[i])) {
                        i++;
                        continue;
                }
                /* A separator: ".", "_", "__" or a run of "-". */
                size_t j = i;
                if (s[i] == '.') {
                        j++;
                } else if (s[i] == '_') {
                        j++;
                        if (j < len && s[j] == '_')
                                j++;
                } else if (s[i] == '-') {
                        while (j < len && s[j] == '-')
                                j++;
                } else {
                        return false;
                }
                if (j >= len || !is_lower_alnum(s[j]))
                        return false;
                i = j;
        }
        return true;
}

static bool path_valid(const char *s, size_t len)
{
        size_t start = 0;
        if (len == 0)
                return false;
        for (size_t i = 0; i <= len; i++) {
                if (i == len || s[i] == '/') {
                        if (!path_component_valid(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        }
        return true;
}

static bool domain_component_valid(const char *s, size_t len)
{
        if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* host [":" port] */
static bool domain_valid(const char *s, size_t len)
{
        size_t hostlen = len;
        const char *colon = NULL;

        if (len == 0)
                return false;
        if (s[0] == '[') {
                /* An IPv6 address in brackets: hex digits and colons. */
                const char *close = memchr(s, ']', len);
                if (close == NULL || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char)*p) && *p != ':')
                                return false;
                hostlen = (size_t)(close - s) + 1;
                if (hostlen < len && s[hostlen] != ':')
                        return false;
                if (hostlen < len)
                        colon = s + hostlen;
        } else {
                colon = memchr(s, ':', len);
                if (colon != NULL)
                        hostlen = (size_t)(colon - s);
                size_t start = 0;
                for (size_t i = 0; i <= hostlen; i++) {
                        if (i == hostlen || s[i] == '.') {
                                if (!domain_component_valid(s + start, i - start))
                                        return false;
                                start = i + 1;
                        }
                }
        }
        if (colon != NULL) {
                const char *port = colon + 1;
                size_t plen = len - (size_t)(port - s);
                if (plen == 0)
                        return false;
                for (size_t i = 0; i < plen; i++)
                        if (!isdigit((unsigned char)port[i]))
                                return false;
        }
        return true;
}

bool berth_ref_tag_valid(const char *tag)
{
        size_t len = strlen(tag);
        if (len == 0 || len > 128 || !is_word(tag[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
                        return false;
        return true;
}

/* The digest grammar: algorithm ":" hex{32,}, then what the digest package
 * checks for the algorithm. 0: valid; 1: no match of the grammar; < 0: a
 * grammatical digest that is not valid (error filled). */
static int digest_parse(const char *d, berth_error **err)
{
        const char *colon = strchr(d, ':');
        size_t alen, hlen;
        if (colon == NULL)
                return 1;
        alen = (size_t)(colon - d);
        /* algorithm := [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* */
        if (alen == 0 || !isalpha((unsigned char)d[0]))
                return 1;
        for (size_t i = 1; i < alen; i++) {
                if (isalnum((unsigned char)d[i]))
                        continue;
                if (strchr("-_+.", d[i]) && i + 1 < alen && isalpha((unsigned char)d[i + 1]))
                        continue;
                return 1;
        }
        hlen = strlen(colon + 1);
        if (hlen < 32)
                return 1;
        for (size_t i = 0; i < hlen; i++)
                if (!isxdigit((unsigned char)colon[1 + i]))
                        return 1;
        if (alen != 6 || strncmp(d, "sha256", 6) != 0)
                return berth_fail(err, EINVAL,
                                  "invalid reference format: unsupported digest algorithm in `%s`",
                                  d);
        if (!berth_digest_valid(d))
                return berth_fail(
                    err, EINVAL, "invalid reference format: invalid checksum digest format in `%s`",
                    d);
        return 0;
}

/* Match S against the reference grammar. Returns 0 and fills *ret on a
 * match, 1 when there is no match (no error filled), < 0 on an error that
 * matched the grammar but is invalid (digest algorithm, length). */
static int match_reference(const char *s, struct berth_ref **ret, berth_error **err)
{
        cleanup_free char *buf = xstrdup(s);
        char *at, *name, *tag = NULL, *slash, *colon;
        const char *digest = NULL;
        struct berth_ref *r;

        at = strchr(buf, '@');
        if (at != NULL) {
                *at = '\0';
                digest = at + 1;
                int d = digest_parse(digest, err);
                if (d != 0)
                        return d;
        }
        name = buf;
        slash = strrchr(name, '/');
        colon = strrchr(name, ':');
        if (colon != NULL && (slash == NULL || colon > slash)) {
                *colon = '\0';
                tag = colon + 1;
                if (!berth_ref_tag_valid(tag))
                        return 1;
        }
        /* The domain is optional and tried first (the regexp is greedy). */
        slash = strchr(name, '/');
        const char *domain = NULL;
        const char *path = name;
        if (slash != NULL && domain_valid(name, (size_t)(slash - name)) &&
            path_valid(slash + 1, strlen(slash + 1))) {
                *slash = '\0';
                domain = name;
                path = slash + 1;
        } else if (!path_valid(name, strlen(name))) {
                return 1;
        }
        r = xmalloc0(sizeof(*r));
        r->domain = domain ? xstrdup(domain) : NULL;
        r->path = xstrdup(path);
        r->tag = tag ? xstrdup(tag) : NULL;
        r->digest = digest ? xstrdup(digest) : NULL;
        *ret = r;
        return 0;
}

int berth_ref_parse(const char *s, struct berth_ref **ret, berth_error **err)
{
        struct berth_ref *r = NULL;
        int m;

        if (*s == '\0')
                return berth_fail(
                    err, EINVAL,
                    "invalid reference format: repository name must have at least one component");
        m = match_reference(s, &r, err);
        if (m < 0)
                return m;
        if (m == 1) {
                cleanup_free char *lower = xstrdup(s);
                struct berth_ref *tmp = NULL;
                for (char *p = lower; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                if (match_reference(lower, &tmp, NULL) == 0) {
                        berth_ref_free(tmp);
                        return berth_fail(
                            err, EINVAL,
                            "invalid reference format: repository name (`%s`) must be lowercase",
                            s);
                }
                return berth_fail(err, EINVAL, "invalid reference format: `%s`", s);
        }
        size_t namelen = strlen(r->path) + (r->domain ? strlen(r->domain) + 1 : 0);
        if (namelen > BERTH_REF_MAX_NAME) {
                berth_ref_free(r);
                return berth_fail(
                    err, EINVAL,
                    "invalid reference format: repository name must not be more than %d characters",
                    BERTH_REF_MAX_NAME);
        }
        *ret = r;
        return 0;
}

static bool is_64_hex(const char *s)
{
        if (strlen(s) != 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int berth_ref_parse_normalized(const char *s, struct berth_ref **ret, berth_error **err)
{
        cleanup_free char *domain = NULL;
        cleanup_free char *remainder = NULL;
        cleanup_free char *full = NULL;
        const char *slash;
        struct berth_ref *r = NULL;
        int rc;

        if (*s == '\0')
                return berth_fail(
                    err, EINVAL,
                    "invalid reference format: repository name must have at least one component");
        if (is_64_hex(s))
                return berth_fail(
                    err, EINVAL,
                    "invalid repository name (`%s`), cannot specify 64-byte hexadecimal strings",
                    s);
        /* splitDockerDomain */
        slash = strchr(s, '/');
        if (slash == NULL) {
                domain = xstrdup(DEFAULT_DOMAIN);
                remainder = xstrdup(s);
        } else {
                cleanup_free char *first = xstrndup(s, (size_t)(slash - s));
                bool lower = true;
                for (char *p = first; *p; p++)
                        if (isupper((unsigned char)*p))
                                lower = false;
                if (!strpbrk(first, ".:") && strcmp(first, "localhost") != 0 && lower) {
                        domain = xstrdup(DEFAULT_DOMAIN);
                        remainder = xstrdup(s);
                } else {
                        domain = steal_pointer(&first);
                        remainder = xstrdup(slash + 1);
                }
        }
        if (strcmp(domain, LEGACY_DOMAIN) == 0) {
                free(domain);
                domain = xstrdup(DEFAULT_DOMAIN);
        }
        if (strcmp(domain, DEFAULT_DOMAIN) == 0 && strchr(remainder, '/') == NULL) {
                char *t = xasprintf(OFFICIAL_PREFIX "%s", remainder);
                free(remainder);
                remainder = t;
        }
        /* Only the repository part must be lowercase; the tag and digest may
         * hold uppercase letters. */
        {
                size_t n = strcspn(remainder, ":@");
                for (size_t i = 0; i < n; i++)
                        if (isupper((unsigned char)remainder[i])) {
                                cleanup_free char *repo = xstrndup(remainder, n);
                                return berth_fail(err, EINVAL,
                                                  "invalid reference format: repository name "
                                                  "(`%s`) must be lowercase",
                                                  repo);
                        }
        }
        full = xasprintf("%s/%s", domain, remainder);
        rc = berth_ref_parse(full, &r, err);
        if (rc < 0)
                return rc;
        if (r->domain == NULL) {
                berth_ref_free(r);
                return berth_fail(err, EINVAL, "invalid reference format: `%s`", s);
        }
        *ret = r;
        return 0;
}

void berth_ref_with_default_tag(struct berth_ref *r)
{
        if (r->tag == NULL && r->digest == NULL)
                r->tag = xstrdup("latest");
}

char *berth_ref_name(const struct berth_ref *r)
{
        if (r->domain == NULL)
                return xstrdup(r->path);
        return xasprintf("%s/%s", r->domain, r->path);
}

static char *with_tag_digest(char *name, const struct berth_ref *r)
{
        char *s = xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                            r->digest ? "@" : "", r->digest ? r->digest : "");
        free(name);
        return s;
}

char *berth_ref_string(const struct berth_ref *r)
{
        return with_tag_digest(berth_ref_name(r), r);
}

char *berth_ref_familiar_name(const struct berth_ref *r)
{
        if (r->domain != NULL && strcmp(r->domain, DEFAULT_DOMAIN) == 0) {
                const char *p = r->path;
                if (strncmp(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
                    strchr(p + strlen(OFFICIAL_PREFIX), '/') == NULL)
                        p += strlen(OFFICIAL_PREFIX);
                return xstrdup(p);
        }
        return berth_ref_name(r);
}

char *berth_ref_familiar_string(const struct berth_ref *r)
{
        return with_tag_digest(berth_ref_familiar_name(r), r);
}

int berth_ref_normalize_tagged(const char *s, char **ret, berth_error **err)
{
        cleanup_ref struct berth_ref *r = NULL;
        int rc = berth_ref_parse_normalized(s, &r, err);
        if (rc < 0)
                return rc;
        berth_ref_with_default_tag(r);
        *ret = berth_ref_string(r);
        return 0;
}

char *berth_ref_familiarize(const char *s)
{
        cleanup_ref struct berth_ref *r = NULL;
        if (berth_ref_parse_normalized(s, &r, NULL) < 0)
                return xstrdup(s);
        return berth_ref_familiar_string(r);
}
