/*
 * Async calls: every submitted call's callback runs exactly once - on success, server error,
 * deadline, cancel, and client close with 1,000 calls in flight - in both dispatch modes.
 * A fault proxy in front of etcd holds calls in flight on demand (black-hole mode).
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fault_proxy.h"
#include "itest.h"

static fp_proxy *proxy;

static int setup(void **state)
{
    (void)state;
    itest_cluster = itest_start(NULL);
    if (!itest_cluster)
        return -1;
    return fp_start(eh_member_client_port(itest_cluster, 0), &proxy) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fp_stop(proxy);
    eh_cluster_stop(itest_cluster);
    return 0;
}

/* Counts callbacks per call and by outcome; wakes the test when all expected ones ran. */
typedef struct tally {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int expected, ran;
    int ok, cancelled, deadline, outcome_unknown, other;
    etcd_code last_code;
    pthread_t thread;           /* the thread the last callback ran on */
    atomic_int per_call[1000];  /* exactly-once bookkeeping */
} tally;

static tally *tally_new(int expected)
{
    tally *t = calloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->expected = expected;
    return t;
}

static void tally_free(tally *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

typedef struct slot {
    tally *t;
    int index;
} slot;

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    slot *s = ud;
    tally *t = s->t;
    atomic_fetch_add(&t->per_call[s->index], 1);
    pthread_mutex_lock(&t->mu);
    t->ran++;
    t->last_code = code;
    t->thread = pthread_self();
    if (code == ETCD_OK && resp && !err)
        t->ok++;
    else if (code == ETCD_E_CANCELLED && err && !resp)
        t->cancelled++;
    else if (code == ETCD_E_DEADLINE && err && !resp)
        t->deadline++;
    else if (code == ETCD_E_OUTCOME_UNKNOWN && err && !resp)
        t->outcome_unknown++;
    else
        t->other++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

static void tally_wait(tally *t)
{
    pthread_mutex_lock(&t->mu);
    while (t->ran < t->expected)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void assert_each_once(tally *t, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(atomic_load(&t->per_call[i]), 1);
}

static void test_success_exactly_once(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    enum { N = 500 };
    tally *t = tally_new(N);
    slot *slots = calloc(N, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < N; i++) {
        char k[32];
        snprintf(k, sizeof k, "async/%d", i);
        slots[i] = (slot){t, i};
        if (i % 2)
            ASSERT_OK(etcd_kv_put_async(kv, k, strlen(k), "v", 1, on_done, &slots[i], NULL, &err), err);
        else
            ASSERT_OK(etcd_kv_get_async(kv, k, strlen(k), on_done, &slots[i], NULL, &err), err);
    }
    tally_wait(t);
    assert_int_equal(t->ok, N);
    assert_each_once(t, N);
    /* Every put landed. */
    etcd_op *op = etcd_op_get("async/", 6);
    etcd_op_with_prefix(op);
    etcd_op_with_count_only(op);
    etcd_response *r = NULL;
    ASSERT_OK(etcd_kv_do(kv, op, &r, &err), err);
    assert_int_equal(etcd_response_count(r), N / 2);
    etcd_response_free(r);
    etcd_op_free(op);
    etcd_client_free(c);
    /* Nothing runs after free. */
    assert_int_equal(t->ran, N);
    free(slots);
    tally_free(t);
}

/* One op sent many times is packed once, and a setter between sends makes the next send carry
 * the change (a stale packed request would still ask for the one key). */
typedef struct counted {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ran, bad;
    int64_t count;
    size_t kvs;
} counted;

static void on_count(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    counted *c = ud;
    pthread_mutex_lock(&c->mu);
    if (code == ETCD_OK && resp)
        c->count = etcd_response_count(resp), c->kvs = etcd_response_kv_count(resp);
    else
        c->bad++;
    c->ran++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

static int64_t send_and_count(etcd_kv *kv, const etcd_op *op, int times, size_t *kvs)
{
    counted c = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .count = -1};
    etcd_error *err = NULL;
    for (int i = 0; i < times; i++)
        ASSERT_OK(etcd_kv_do_async(kv, op, on_count, &c, NULL, &err), err);
    pthread_mutex_lock(&c.mu);
    while (c.ran < times)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
    assert_int_equal(c.bad, 0);
    if (kvs)
        *kvs = c.kvs;
    return c.count;
}

static void test_op_sent_again_after_a_setter(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    etcd_error *err = NULL;
    etcd_response *r = NULL;
    ASSERT_OK(etcd_kv_put(kv, "reuse/a", 7, "1", 1, &r, &err), err);
    etcd_response_free(r);
    ASSERT_OK(etcd_kv_put(kv, "reuse/b", 7, "2", 1, &r, &err), err);
    etcd_response_free(r);
    etcd_op *op = etcd_op_get("reuse/", 6);
    size_t kvs = 0;
    assert_int_equal(send_and_count(kv, op, 50, &kvs), 0); /* no key is exactly "reuse/" */
    ASSERT_OK(etcd_op_with_prefix(op), NULL);
    assert_int_equal(send_and_count(kv, op, 50, &kvs), 2);
    assert_int_equal(kvs, 2);
    /* count-only: the count stays, the key-values go. */
    ASSERT_OK(etcd_op_with_count_only(op), NULL);
    assert_int_equal(send_and_count(kv, op, 50, &kvs), 2);
    assert_int_equal(kvs, 0);
    etcd_op_free(op);
    etcd_client_free(c);
}

static void test_server_error_and_submit_failure(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    tally *t = tally_new(1);
    slot s = {t, 0};
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_compact_async(kv, 1000000, 0, on_done, &s, NULL, &err), err);
    tally_wait(t);
    assert_int_equal(t->last_code, ETCD_E_FUTURE_REV);
    assert_int_equal(t->other, 1);

    /* A call that fails to submit never runs its callback. */
    etcd_call *call = (etcd_call *)&call;
    assert_int_equal(etcd_kv_put_async(kv, "", 0, "v", 1, on_done, &s, &call, &err), ETCD_E_INVALID_ARGUMENT);
    assert_null(call);
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(etcd_kv_get_async(kv, "k", 1, NULL, &s, NULL, &err), ETCD_E_INVALID_ARGUMENT);
    etcd_error_free(err);
    etcd_client_free(c);
    assert_int_equal(t->ran, 1);
    assert_each_once(t, 1);
    tally_free(t);
}

static void test_deadline(void **state)
{
    (void)state;
    etcd_client *c = itest_client(fp_endpoint(proxy));
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "dl", "x"); /* connected through the proxy */
    fp_set_mode(proxy, FP_BLACKHOLE);
    tally *t = tally_new(2);
    slot s[2] = {{t, 0}, {t, 1}};
    etcd_op *op = etcd_op_get("dl", 2);
    etcd_op_set_timeout_ms(op, 200);
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_do_async(kv, op, on_done, &s[0], NULL, &err), err);
    etcd_op_free(op);
    /* A write that times out after being sent: its outcome is unknown. */
    op = etcd_op_put("dl", 2, "y", 1);
    etcd_op_set_timeout_ms(op, 200);
    ASSERT_OK(etcd_kv_do_async(kv, op, on_done, &s[1], NULL, &err), err);
    etcd_op_free(op);
    tally_wait(t);
    fp_set_mode(proxy, FP_PASS);
    assert_int_equal(t->deadline, 1);
    assert_int_equal(t->outcome_unknown, 1);
    assert_each_once(t, 2);
    etcd_client_free(c);
    tally_free(t);
}

typedef struct cancel_job {
    etcd_call **calls;
    int n;
} cancel_job;

static void *cancel_all(void *arg)
{
    cancel_job *j = arg;
    for (int i = 0; i < j->n; i++)
        etcd_call_cancel(j->calls[i]);
    return NULL;
}

static void test_cancel_from_another_thread(void **state)
{
    (void)state;
    etcd_client *c = itest_client(fp_endpoint(proxy));
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "cx", "x");
    fp_set_mode(proxy, FP_BLACKHOLE);
    enum { N = 100 };
    tally *t = tally_new(N);
    slot slots[N];
    etcd_call *calls[N];
    etcd_error *err = NULL;
    for (int i = 0; i < N; i++) {
        slots[i] = (slot){t, i};
        ASSERT_OK(etcd_kv_get_async(kv, "cx", 2, on_done, &slots[i], &calls[i], &err), err);
        assert_non_null(calls[i]);
    }
    cancel_job job = {calls, N};
    pthread_t th;
    pthread_create(&th, NULL, cancel_all, &job);
    pthread_join(th, NULL);
    tally_wait(t);
    fp_set_mode(proxy, FP_PASS);
    assert_int_equal(t->cancelled, N);
    assert_each_once(t, N);
    /* Cancelling again after completion, and releasing, are harmless. */
    for (int i = 0; i < N; i++) {
        etcd_call_cancel(calls[i]);
        etcd_call_release(calls[i]);
    }
    /* The black hole cut HTTP/2 frames in half: drop that connection; reads retry onto a new one. */
    fp_drop_connections(proxy);
    char *v = itest_get_string(kv, "cx");
    assert_string_equal(v, "x");
    free(v);
    etcd_client_free(c);
    tally_free(t);
}

static void test_close_with_1000_in_flight(void **state)
{
    (void)state;
    etcd_client *c = itest_client(fp_endpoint(proxy));
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "close", "x");
    fp_set_mode(proxy, FP_BLACKHOLE);
    enum { N = 1000 };
    tally *t = tally_new(N);
    slot *slots = calloc(N, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < N; i++) {
        slots[i] = (slot){t, i};
        if (i % 2)
            ASSERT_OK(etcd_kv_get_async(kv, "close", 5, on_done, &slots[i], NULL, &err), err);
        else
            ASSERT_OK(etcd_kv_put_async(kv, "close", 5, "y", 1, on_done, &slots[i], NULL, &err), err);
    }
    etcd_client_free(c);
    /* Every callback ran before free returned: reads cancelled, writes cancelled after being sent. */
    assert_int_equal(t->ran, N);
    assert_int_equal(t->cancelled + t->outcome_unknown, N);
    assert_true(t->cancelled >= N / 2);
    assert_each_once(t, N);
    fp_set_mode(proxy, FP_PASS);
    free(slots);
    tally_free(t);
}

static void test_caller_dispatch_with_poll(void **state)
{
    (void)state;
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    etcd_error *err = NULL;
    int fd = etcd_client_fd(c);
    assert_true(fd >= 0);
    etcd_kv *kv = etcd_client_kv(c);
    enum { N = 64 };
    tally *t = tally_new(N);
    slot slots[N];
    for (int i = 0; i < N; i++) {
        slots[i] = (slot){t, i};
        ASSERT_OK(etcd_kv_put_async(kv, "disp", 4, "v", 1, on_done, &slots[i], NULL, &err), err);
    }
    int ran = 0;
    while (ran < N) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, 10000) == 1);
        ran += etcd_client_dispatch(c);
    }
    assert_int_equal(t->ok, N);
    assert_true(pthread_equal(t->thread, pthread_self()));
    assert_each_once(t, N);
    assert_int_equal(etcd_client_dispatch(c), 0);
    etcd_client_free(c);
    tally_free(t);
}

static void on_done_sync_inside(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    (void)code;
    etcd_kv *kv = ((void **)ud)[0];
    tally *t = ((void **)ud)[1];
    etcd_response *r = NULL;
    etcd_error *e = NULL;
    /* A sync call here would wait for this very thread: it is refused. */
    etcd_code rc = etcd_kv_get(kv, "k", 1, &r, &e);
    etcd_error_free(e);
    etcd_response_free(resp);
    etcd_error_free(err);
    pthread_mutex_lock(&t->mu);
    t->last_code = rc;
    t->ran++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void test_sync_call_in_callback_is_refused(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    tally *t = tally_new(1);
    void *ud[2] = {kv, t};
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_get_async(kv, "k", 1, on_done_sync_inside, ud, NULL, &err), err);
    tally_wait(t);
    assert_int_equal(t->last_code, ETCD_E_INVALID_ARGUMENT);
    etcd_client_free(c);
    tally_free(t);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A client whose endpoint refuses every connection, retrying with a long backoff. */
static etcd_client *client_in_backoff(int64_t backoff_ms)
{
    etcd_client *c = itest_client(fp_endpoint(proxy));
    etcd_client_free(c); /* proves the proxy path works before it is cut */
    etcd_config *cfg = itest_config(fp_endpoint(proxy));
    assert_int_equal(etcd_config_set_retry(cfg, 100, backoff_ms, 0), ETCD_OK);
    c = itest_client_from(cfg);
    fp_set_mode(proxy, FP_DROP);
    fp_drop_connections(proxy);
    return c;
}

static void test_cancel_and_close_during_backoff(void **state)
{
    (void)state;
    enum { BACKOFF = 5000 };
    etcd_client *c = client_in_backoff(BACKOFF);
    etcd_kv *kv = etcd_client_kv(c);
    tally *t = tally_new(1);
    slot s = {t, 0};
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    etcd_op *op = etcd_op_get("bo", 2);
    etcd_op_set_timeout_ms(op, 60000);
    ASSERT_OK(etcd_kv_do_async(kv, op, on_done, &s, &call, &err), err);
    etcd_op_free(op);
    /* Let it fail once and enter its backoff, then cancel: the answer comes at once. */
    for (int i = 0; i < 500 && fp_connections_accepted(proxy) < 2; i++) {
        struct timespec ts = {0, 2 * 1000 * 1000}; /* polling a condition */
        nanosleep(&ts, NULL);
    }
    int64_t t0 = mono_ms();
    etcd_call_cancel(call);
    tally_wait(t);
    int64_t took = mono_ms() - t0;
    assert_int_equal(t->cancelled, 1);
    assert_true(took < BACKOFF / 2);
    etcd_call_release(call);

    /* Closing with a sync call waiting out a backoff returns promptly too. */
    tally *t2 = tally_new(1);
    slot s2 = {t2, 0};
    ASSERT_OK(etcd_kv_get_async(kv, "bo", 2, on_done, &s2, NULL, &err), err);
    t0 = mono_ms();
    etcd_client_free(c);
    took = mono_ms() - t0;
    assert_int_equal(t2->ran, 1);
    assert_true(took < BACKOFF / 2);
    fp_set_mode(proxy, FP_PASS);
    tally_free(t);
    tally_free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_exactly_once),
        cmocka_unit_test(test_server_error_and_submit_failure),
        cmocka_unit_test(test_op_sent_again_after_a_setter),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_close_with_1000_in_flight),
        cmocka_unit_test(test_caller_dispatch_with_poll),
        cmocka_unit_test(test_sync_call_in_callback_is_refused),
        cmocka_unit_test(test_cancel_and_close_during_backoff),
    };
    return cmocka_run_group_tests_name("async", tests, setup, teardown);
}
