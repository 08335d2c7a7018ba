/* The loop's timers: they fire in time order on the loop thread, and a cancelled one never fires. */
#include "unit.h"

#include <grpc/grpc.h>
#include <pthread.h>

#include "rpc/rpc.h"
#include "transport/loop.h"

enum { N = 64 };

typedef struct rec_timer {
    etcd_timer t;               /* first: the fire callback gets this */
    int id;
} rec_timer;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int fired[N * 2];
static int nfired;

static void on_fire(etcd_timer *t)
{
    pthread_mutex_lock(&mu);
    fired[nfired++] = ((rec_timer *)t)->id;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits until `want` timers fired, or 10 s (then the count assertion fails). */
static int wait_fired(int want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (nfired < want && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    int n = nfired;
    pthread_mutex_unlock(&mu);
    return n;
}

static int setup(void **state)
{
    (void)state;
    grpc_init();
    nfired = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    grpc_shutdown();
    return 0;
}

/* Timers armed out of order, half of them cancelled (from the middle of the heap, its end and its
 * top): the rest fire, earliest first, and the cancelled ones never do. */
static void test_cancel_keeps_order(void **state)
{
    (void)state;
    etcd_loop *loop = etcd_loop_new();
    assert_non_null(loop);
    static rec_timer timers[N];
    int64_t base = etcd_now_ms() + 200;
    for (int i = 0; i < N; i++) {
        int slot = (i * 37) % N; /* a permutation of 0..N-1: armed out of order */
        timers[slot].t.fire = on_fire;
        timers[slot].id = slot;
        assert_true(etcd_loop_timer_add(loop, &timers[slot].t, base + slot * 2));
    }
    for (int i = 1; i < N; i += 2)
        etcd_loop_timer_cancel(loop, &timers[i].t);
    etcd_loop_timer_cancel(loop, &timers[1].t); /* twice: nothing happens */
    assert_int_equal(wait_fired(N / 2), N / 2);
    for (int i = 0; i < N / 2; i++)
        assert_int_equal(fired[i], 2 * i);
    etcd_loop_free(loop);
    assert_int_equal(nfired, N / 2);
}

/* A timer due sooner than the loop's next wake-up is not left waiting for it. */
static void test_sooner_timer_wakes_loop(void **state)
{
    (void)state;
    etcd_loop *loop = etcd_loop_new();
    assert_non_null(loop);
    static rec_timer late = {.t.fire = on_fire, .id = 1}, soon = {.t.fire = on_fire, .id = 2};
    assert_true(etcd_loop_timer_add(loop, &late.t, etcd_now_ms() + 60000));
    int64_t start = etcd_now_ms();
    assert_true(etcd_loop_timer_add(loop, &soon.t, start + 20));
    assert_int_equal(wait_fired(1), 1);
    assert_int_equal(fired[0], 2);
    /* The loop would wake within a second anyway; a wake-up brings it well before that. */
    assert_true(etcd_now_ms() - start < 900);
    etcd_loop_timer_cancel(loop, &late.t);
    etcd_loop_free(loop);
    assert_int_equal(nfired, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancel_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sooner_timer_wakes_loop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
