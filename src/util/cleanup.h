/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup for every owned resource. Every cleanup function
 * accepts NULL / -1, so a variable may be handed over with steal_pointer()
 * or steal_fd() and the cleanup becomes a no-op. */
#ifndef BERTH_UTIL_CLEANUP_H
#define BERTH_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void berth_freep(void *p)
{
        free(*(void **)p);
}

static inline void berth_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void)close(*fd);
                errno = saved;
        }
        *fd = -1;
}

static inline void berth_fclosep(FILE **f)
{
        if (*f != NULL)
                (void)fclose(*f);
        *f = NULL;
}

static inline void berth_closedirp(DIR **d)
{
        if (*d != NULL)
                (void)closedir(*d);
        *d = NULL;
}

/* A NULL-terminated array of strings. */
static inline void berth_strv_freep(char ***v)
{
        if (*v != NULL) {
                for (char **p = *v; *p != NULL; p++)
                        free(*p);
                free(*v);
        }
        *v = NULL;
}

#define cleanup_free     __attribute__((cleanup(berth_freep)))
#define cleanup_close    __attribute__((cleanup(berth_closep)))
#define cleanup_fclose   __attribute__((cleanup(berth_fclosep)))
#define cleanup_closedir __attribute__((cleanup(berth_closedirp)))
#define cleanup_strv     __attribute__((cleanup(berth_strv_freep)))

/* Take ownership of *pp, leaving NULL behind. Type-safe: the result has the
 * pointer's own type. */
#define steal_pointer(pp)                                                                          \
        ({                                                                                         \
                __typeof__(*(pp)) _ptr_ = *(pp);                                                   \
                *(pp) = NULL;                                                                      \
                _ptr_;                                                                             \
        })

static inline int steal_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

#define TEMP_FAILURE_RETRY_INT(expr)                                                               \
        ({                                                                                         \
                long _r_;                                                                          \
                do                                                                                 \
                        _r_ = (long)(expr);                                                        \
                while (_r_ == -1L && errno == EINTR);                                              \
                _r_;                                                                               \
        })

#endif
