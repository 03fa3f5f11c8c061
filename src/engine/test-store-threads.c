/* SPDX-License-Identifier: Apache-2.0 */
/* The image store is shared by berthd's threads: the engine holds and
 * releases layers from container create/remove threads while the API
 * mutates images. Its lock must exclude other threads, not only other
 * processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define N_THREADS 8
#define N_ROUNDS  300

static const char chain[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

struct worker {
        struct berth_image_store *s;
        int n;
        atomic_int *failures;
        char first[512];
};

static void *hold_release(void *p)
{
        struct worker *w = p;
        char holder[32];

        snprintf(holder, sizeof(holder), "h%d", w->n);
        for (int i = 0; i < N_ROUNDS; i++) {
                berth_error *err = NULL;
                if (berth_image_store_hold_layer(w->s, chain, holder, &err) < 0 ||
                    berth_image_store_release_layer(w->s, chain, holder, &err) < 0) {
                        if (atomic_fetch_add(w->failures, 1) == 0)
                                snprintf(w->first, sizeof(w->first), "%s",
                                         err && err->msg ? err->msg : "?");
                }
                berth_error_free(err);
        }
        return NULL;
}

/* Exclusion between threads: while one thread holds the lock, no other
 * thread is inside. */
struct excl {
        struct berth_image_store *s;
        atomic_int inside;
        atomic_int overlaps;
};

static void *lock_loop(void *p)
{
        struct excl *x = p;
        for (int i = 0; i < N_ROUNDS; i++) {
                assert_int_equal(berth_image_store_lock(x->s, NULL), 0);
                /* Re-entrant in the same thread. */
                assert_int_equal(berth_image_store_lock(x->s, NULL), 0);
                if (atomic_fetch_add(&x->inside, 1) != 0)
                        atomic_fetch_add(&x->overlaps, 1);
                usleep(20);
                atomic_fetch_sub(&x->inside, 1);
                berth_image_store_unlock(x->s);
                berth_image_store_unlock(x->s);
        }
        return NULL;
}

static void test_store_lock_excludes_threads(void **state)
{
        char tmpl[] = "/tmp/berth-store-threads-XXXXXX";
        struct berth_image_store *s = NULL;
        struct excl x = {0};
        pthread_t t[N_THREADS];
        (void)state;

        assert_non_null(mkdtemp(tmpl));
        assert_int_equal(berth_image_store_open(tmpl, &s, NULL), 0);
        x.s = s;
        for (int i = 0; i < N_THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, lock_loop, &x), 0);
        for (int i = 0; i < N_THREADS; i++)
                pthread_join(t[i], NULL);
        assert_int_equal(atomic_load(&x.overlaps), 0);
        berth_image_store_free(s);
        assert_int_equal(berth_rm_rf(tmpl, NULL), 0);
}

static void test_store_holds_from_threads(void **state)
{
        char tmpl[] = "/tmp/berth-store-threads-XXXXXX";
        struct berth_image_store *s = NULL;
        struct worker w[N_THREADS];
        pthread_t t[N_THREADS];
        atomic_int failures = 0;
        (void)state;

        assert_non_null(mkdtemp(tmpl));
        assert_int_equal(berth_image_store_open(tmpl, &s, NULL), 0);
        for (int i = 0; i < N_THREADS; i++) {
                w[i] = (struct worker){.s = s, .n = i, .failures = &failures};
                assert_int_equal(pthread_create(&t[i], NULL, hold_release, &w[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
                pthread_join(t[i], NULL);
        for (int i = 0; i < N_THREADS; i++)
                if (w[i].first[0])
                        print_message("thread %d: %s\n", i, w[i].first);
        assert_int_equal(atomic_load(&failures), 0);
        berth_image_store_free(s);
        assert_int_equal(berth_rm_rf(tmpl, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_store_lock_excludes_threads),
            cmocka_unit_test(test_store_holds_from_threads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
