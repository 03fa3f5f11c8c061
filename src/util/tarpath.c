/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "tarpath.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

char *berth_tar_name_normalise(const char *name)
{
        cleanup_free char *buf = xstrdup(name);
        char *out = xmalloc(strlen(name) + 1);
        char *save = NULL;
        size_t len = 0;

        out[0] = '\0';
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        free(out);
                        return NULL;
                }
                if (len > 0)
                        out[len++] = '/';
                size_t cl = strlen(c);
                memcpy(out + len, c, cl);
                len += cl;
                out[len] = '\0';
        }
        return out;
}
