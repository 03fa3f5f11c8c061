/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the libFuzzer harnesses (clang only; see fuzz/Makefile). */
#ifndef BERTH_FUZZ_COMMON_H
#define BERTH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run loudly: a property the harness checks does not hold. */
#define fuzz_assert(cond)                                                      \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: property failed: %s\n",        \
                                __FILE__, __LINE__, #cond);                    \
                        abort();                                               \
                }                                                              \
        } while (0)

/* A NUL-terminated copy of the input (callers bound SIZE first). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = xmalloc(size + 1);
        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Every failure of a fallible call must carry a message; then drop it. */
static inline void fuzz_check_err(int r, berth_error **err)
{
        if (r < 0) {
                fuzz_assert(*err != NULL);
                fuzz_assert((*err)->msg != NULL);
        } else {
                fuzz_assert(*err == NULL);
        }
        berth_error_free(*err);
        *err = NULL;
}

#endif
