/*
 * The async call contract of async.h, checked from the outside: the handle is the call the
 * callback is given, a failed submit never runs its callback, caller dispatch runs everything
 * on the caller's thread (also from etcd_client_free()), a call waiting for a connection costs
 * no CPU, and txn and delete work async. Also every config setter's range checks.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>

#include "itest.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Counts callbacks per call; wakes the test when all expected ones ran. */
typedef struct tally {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int expected, ran;
    int by_code_ok, by_code_deadline, other;
    etcd_code other_code;
    bool wrong_thread;          /* a callback ran off the thread in `thread` (when set) */
    bool check_thread;
    pthread_t thread;
    atomic_bool in_free;        /* set around etcd_client_free() */
    int outside_free;           /* callbacks that ran before free */
} tally;

typedef struct slot {
    tally *t;
    atomic_int runs;
    etcd_call *handle;          /* written by the submit, through etcd_call ** */
    etcd_call *seen;            /* the call the callback was given */
    etcd_call *handle_seen;     /* the handle as the callback read it */
    etcd_code code;
} slot;

static void tally_init(tally *t, int expected)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->expected = expected;
    atomic_init(&t->in_free, false);
}

static void tally_destroy(tally *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    slot *s = ud;
    tally *t = s->t;
    atomic_fetch_add(&s->runs, 1);
    s->seen = call;
    /* The submit stored the handle before the call started, and the start happens before
     * this callback: reading it here is ordered, not a race. */
    s->handle_seen = s->handle;
    s->code = code;
    pthread_mutex_lock(&t->mu);
    t->ran++;
    if (code == ETCD_OK)
        t->by_code_ok++;
    else if (code == ETCD_E_DEADLINE && err && !resp)
        t->by_code_deadline++;
    else {
        t->other++;
        t->other_code = code;
    }
    if (t->check_thread && !pthread_equal(pthread_self(), t->thread))
        t->wrong_thread = true;
    if (!atomic_load(&t->in_free))
        t->outside_free++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

/* Waits until every expected callback ran, failing the test after timeout_ms. */
static void tally_wait(tally *t, int64_t timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    pthread_mutex_lock(&t->mu);
    while (t->ran < t->expected) {
        if (now_ms() >= end) {
            int ran = t->ran;
            pthread_mutex_unlock(&t->mu);
            fail_msg("only %d of %d callbacks ran within %lld ms", ran, t->expected, (long long)timeout_ms);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
}

static void test_handle_is_the_call(void **state)
{
    (void)state;
    etcd_kv *kv = itest_kv;
    enum { N = 1000 };
    tally t;
    tally_init(&t, N);
    slot *slots = calloc(N, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < N; i++) {
        slots[i].t = &t;
        atomic_init(&slots[i].runs, 0);
        if (i % 2)
            ASSERT_OK(etcd_kv_get_async(kv, "h", 1, on_done, &slots[i], &slots[i].handle, &err), err);
        else
            ASSERT_OK(etcd_kv_put_async(kv, "h", 1, "v", 1, on_done, &slots[i], &slots[i].handle, &err), err);
    }
    tally_wait(&t, 60000);
    assert_int_equal(t.by_code_ok, N);
    for (int i = 0; i < N; i++) {
        slot *s = &slots[i];
        assert_int_equal(atomic_load(&s->runs), 1);
        assert_non_null(s->handle);
        if (s->handle_seen != s->handle)
            fail_msg("call %d: the callback read handle %p, the submit stored %p", i, (void *)s->handle_seen,
                     (void *)s->handle);
        if (s->seen != s->handle)
            fail_msg("call %d: the callback was given call %p, the handle is %p", i, (void *)s->seen, (void *)s->handle);
        /* Distinct calls have distinct handles. */
        if (i)
            assert_ptr_not_equal(s->handle, slots[i - 1].handle);
    }
    for (int i = 0; i < N; i++)
        etcd_call_release(slots[i].handle);
    free(slots);
    tally_destroy(&t);
}

static int64_t count_prefix(etcd_kv *kv, const char *prefix)
{
    etcd_op *op = etcd_op_get(prefix, strlen(prefix));
    etcd_op_with_prefix(op);
    etcd_op_with_count_only(op);
    etcd_response *r = itest_do(kv, op);
    int64_t n = etcd_response_count(r);
    etcd_response_free(r);
    return n;
}

static void test_caller_dispatch_runs_in_free(void **state)
{
    (void)state;
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    etcd_kv *kv = etcd_client_kv(c);
    enum { N = 100 };
    tally t;
    tally_init(&t, N);
    t.check_thread = true;
    t.thread = pthread_self();
    slot slots[N];
    memset(slots, 0, sizeof slots);
    etcd_error *err = NULL;
    for (int i = 0; i < N; i++) {
        char k[32];
        snprintf(k, sizeof k, "cd/%03d", i);
        slots[i].t = &t;
        ASSERT_OK(etcd_kv_put_async(kv, k, strlen(k), "v", 1, on_done, &slots[i], NULL, &err), err);
    }
    /* Every put is applied (seen through another client), yet no callback runs: nobody called
     * etcd_client_dispatch(). */
    int64_t end = now_ms() + 30000;
    while (count_prefix(itest_kv, "cd/") < N) {
        assert_true(now_ms() < end);
        struct timespec ts = {0, 10 * 1000 * 1000}; /* polling a condition */
        nanosleep(&ts, NULL);
    }
    /* Applied is not yet answered: wait until at least one answer waits for dispatch. */
    struct pollfd pfd = {.fd = etcd_client_fd(c), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 30000), 1);
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.ran, 0);
    pthread_mutex_unlock(&t.mu);
    atomic_store(&t.in_free, true);
    etcd_client_free(c);
    atomic_store(&t.in_free, false);
    /* All ran inside free, on this thread, each once: an answered put with its answer, one
     * whose answer had not come in yet as "outcome unknown" (it was applied). */
    assert_int_equal(t.ran, N);
    assert_int_equal(t.outside_free, 0);
    assert_false(t.wrong_thread);
    assert_true(t.by_code_ok >= 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&slots[i].runs), 1);
        if (slots[i].code != ETCD_OK && slots[i].code != ETCD_E_OUTCOME_UNKNOWN)
            fail_msg("put %d ended with %s", i, etcd_code_name(slots[i].code));
    }
    tally_destroy(&t);
}

/* Submits a put over the client's send limit and checks the contract whichever way it went:
 * an error from the submit, no handle and no callback; or ETCD_OK, a handle, and exactly one
 * callback with the error. Returns where the error was reported. */
static const char *oversize_put(etcd_client *c, const void *big, size_t len)
{
    tally t;
    tally_init(&t, 1);
    slot s;
    memset(&s, 0, sizeof s);
    s.t = &t;
    etcd_error *err = NULL;
    etcd_call *call = (etcd_call *)&call;
    etcd_code rc = etcd_kv_put_async(etcd_client_kv(c), "big", 3, big, len, on_done, &s, &call, &err);
    if (rc == ETCD_OK) {
        assert_non_null(call);
        tally_wait(&t, 30000);
        assert_int_equal(s.code, ETCD_E_MESSAGE_TOO_LARGE);
        etcd_call_release(call);
    } else {
        assert_int_equal(rc, ETCD_E_MESSAGE_TOO_LARGE);
        assert_null(call);
        assert_non_null(err);
        assert_int_equal(etcd_error_code(err), ETCD_E_MESSAGE_TOO_LARGE);
        assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
        etcd_error_free(err);
    }
    /* The client stays usable; closing it proves nothing was left pending. */
    itest_put_string(etcd_client_kv(c), "small", "ok");
    etcd_client_free(c);
    assert_int_equal(atomic_load(&s.runs), rc == ETCD_OK ? 1 : 0);
    tally_destroy(&t);
    return rc == ETCD_OK ? "callback" : "submit";
}

static etcd_client *limited_client(int32_t limit, int blocking)
{
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_max_send_bytes(cfg, limit), ETCD_OK);
    assert_int_equal(etcd_config_set_dial_blocking(cfg, blocking), ETCD_OK);
    return itest_client_from(cfg);
}

/* A request over the client's send limit is refused before it leaves: by the submit itself
 * when an endpoint is connected (the transport checks it on the submitting thread), later on
 * the client's thread when the call first waits for a connection. */
static void test_failed_submit_never_calls_back(void **state)
{
    (void)state;
    enum { LIMIT = 4096 };
    static char big[2 * LIMIT];
    memset(big, 'x', sizeof big);
    const char *connected = oversize_put(limited_client(LIMIT, 1), big, sizeof big);
    const char *unconnected = oversize_put(limited_client(LIMIT, 0), big, sizeof big);
    print_message("OVERSIZE reported_by connected=%s unconnected=%s\n", connected, unconnected);
    assert_int_equal(count_prefix(itest_kv, "big"), 0);

    /* A txn too large, with no err out-parameter. */
    etcd_client *c = limited_client(LIMIT, 1);
    tally t;
    tally_init(&t, 1);
    slot s;
    memset(&s, 0, sizeof s);
    s.t = &t;
    etcd_txn *txn = etcd_txn_new();
    etcd_txn_then(txn, etcd_op_put("big", 3, big, sizeof big));
    etcd_call *call = (etcd_call *)&call;
    etcd_code rc = etcd_kv_txn_async(etcd_client_kv(c), txn, on_done, &s, &call, NULL);
    etcd_txn_free(txn);
    if (rc == ETCD_OK) {
        tally_wait(&t, 30000);
        assert_int_equal(s.code, ETCD_E_MESSAGE_TOO_LARGE);
        etcd_call_release(call);
    } else {
        assert_int_equal(rc, ETCD_E_MESSAGE_TOO_LARGE);
        assert_null(call);
    }
    etcd_client_free(c);
    assert_int_equal(atomic_load(&s.runs), rc == ETCD_OK ? 1 : 0);
    tally_destroy(&t);
    assert_int_equal(count_prefix(itest_kv, "big"), 0);
}

/* Response checks of txn and delete run in the callback; results land here. */
typedef struct checked {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ran;
    etcd_code code;
    int succeeded;
    size_t txn_count;
    etcd_op_type type, sub0, sub1;
    int64_t deleted;
    char value[16];
    char prev[16];
} checked;

static void copy_value(const etcd_keyvalue *kv, char *out, size_t cap)
{
    size_t n;
    const uint8_t *v = etcd_keyvalue_value(kv, &n);
    memcpy(out, v, n < cap - 1 ? n : cap - 1);
}

static void on_checked(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    checked *c = ud;
    pthread_mutex_lock(&c->mu);
    c->code = code;
    if (resp) {
        c->type = etcd_response_type(resp);
        c->succeeded = etcd_response_succeeded(resp);
        c->txn_count = etcd_response_txn_count(resp);
        c->deleted = etcd_response_deleted(resp);
        if (c->txn_count == 2) {
            const etcd_response *r0 = etcd_response_txn_at(resp, 0), *r1 = etcd_response_txn_at(resp, 1);
            c->sub0 = etcd_response_type(r0);
            c->sub1 = etcd_response_type(r1);
            if (etcd_response_kv_count(r1) == 1)
                copy_value(etcd_response_kv_at(r1, 0), c->value, sizeof c->value);
        }
        if (etcd_response_prev_kv_count(resp) == 1)
            copy_value(etcd_response_prev_kv_at(resp, 0), c->prev, sizeof c->prev);
    }
    c->ran++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

static void checked_wait(checked *c)
{
    int64_t end = now_ms() + 30000;
    pthread_mutex_lock(&c->mu);
    while (c->ran == 0) {
        pthread_mutex_unlock(&c->mu);
        assert_true(now_ms() < end);
        struct timespec ts = {0, 2 * 1000 * 1000}; /* polling a condition */
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

static checked *checked_new(void)
{
    checked *c = calloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

static void checked_free(checked *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void test_txn_and_delete_async(void **state)
{
    (void)state;
    etcd_kv *kv = itest_kv;
    etcd_error *err = NULL;
    itest_put_string(kv, "at/k", "old");

    /* A txn whose compare holds: its Then branch (a put, then a get that sees it) ran. */
    etcd_txn *txn = etcd_txn_new();
    etcd_txn_if(txn, etcd_cmp_value("at/k", 4, ETCD_CMP_EQUAL, "old", 3));
    etcd_txn_then(txn, etcd_op_put("at/k", 4, "new", 3));
    etcd_txn_then(txn, etcd_op_get("at/k", 4));
    etcd_txn_else(txn, etcd_op_get("at/other", 8));
    checked *c = checked_new();
    ASSERT_OK(etcd_kv_txn_async(kv, txn, on_checked, c, NULL, &err), err);
    etcd_txn_free(txn); /* copied by the submit */
    checked_wait(c);
    ASSERT_OK(c->code, NULL);
    assert_int_equal(c->ran, 1);
    assert_int_equal(c->type, ETCD_OP_TXN);
    assert_true(c->succeeded);
    assert_int_equal(c->txn_count, 2);
    assert_int_equal(c->sub0, ETCD_OP_PUT);
    assert_int_equal(c->sub1, ETCD_OP_GET);
    assert_string_equal(c->value, "new");
    checked_free(c);

    /* The same txn again: the compare fails now, and the Else branch ran. */
    txn = etcd_txn_new();
    etcd_txn_if(txn, etcd_cmp_value("at/k", 4, ETCD_CMP_EQUAL, "old", 3));
    etcd_txn_then(txn, etcd_op_put("at/k", 4, "newer", 5));
    etcd_txn_else(txn, etcd_op_get("at/k", 4));
    c = checked_new();
    ASSERT_OK(etcd_kv_txn_async(kv, txn, on_checked, c, NULL, &err), err);
    etcd_txn_free(txn);
    checked_wait(c);
    ASSERT_OK(c->code, NULL);
    assert_false(c->succeeded);
    assert_int_equal(c->txn_count, 1);
    checked_free(c);

    /* delete_async: one key deleted, and gone. */
    c = checked_new();
    ASSERT_OK(etcd_kv_delete_async(kv, "at/k", 4, on_checked, c, NULL, &err), err);
    checked_wait(c);
    ASSERT_OK(c->code, NULL);
    assert_int_equal(c->type, ETCD_OP_DELETE);
    assert_int_equal(c->deleted, 1);
    checked_free(c);
    assert_null(itest_get_string(kv, "at/k"));
    /* Deleting what is not there: a success that deleted nothing. */
    c = checked_new();
    ASSERT_OK(etcd_kv_delete_async(kv, "at/k", 4, on_checked, c, NULL, &err), err);
    checked_wait(c);
    ASSERT_OK(c->code, NULL);
    assert_int_equal(c->deleted, 0);
    checked_free(c);

    /* A delete op with prev-kv through do_async returns what it deleted. */
    itest_put_string(kv, "at/p", "gone");
    etcd_op *op = etcd_op_delete("at/p", 4);
    etcd_op_with_prev_kv(op);
    c = checked_new();
    ASSERT_OK(etcd_kv_do_async(kv, op, on_checked, c, NULL, &err), err);
    etcd_op_free(op);
    checked_wait(c);
    ASSERT_OK(c->code, NULL);
    assert_int_equal(c->deleted, 1);
    assert_string_equal(c->prev, "gone");
    checked_free(c);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void test_waiting_costs_nothing(void **state)
{
    (void)state;
    /* Nothing listens on the port: every call waits for a connection until its deadline. */
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = itest_config(ep);
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    etcd_kv *kv = etcd_client_kv(c);
    /* What waiting costs grows with its length; what submitting and failing costs does not. */
    enum { N = 2000, TIMEOUT = 6000 };
    tally t;
    tally_init(&t, N);
    slot *slots = calloc(N, sizeof *slots);
    etcd_error *err = NULL;
    etcd_op *op = etcd_op_get("idle", 4);
    etcd_op_set_timeout_ms(op, TIMEOUT);
    int64_t t0 = now_ms();
    double cpu0 = cpu_seconds();
    for (int i = 0; i < N; i++) {
        slots[i].t = &t;
        ASSERT_OK(etcd_kv_do_async(kv, op, on_done, &slots[i], NULL, &err), err);
    }
    etcd_op_free(op);
    /* From here on the calls only wait (and finally fail): what that costs is measured. */
    double cpu1 = cpu_seconds();
    tally_wait(&t, TIMEOUT + 30000);
    int64_t took = now_ms() - t0;
    double cpu = cpu_seconds() - cpu1;
    print_message("IDLE-WAIT calls=%d wall_ms=%lld submit_cpu_s=%.3f wait_cpu_s=%.3f\n", N, (long long)took,
                  cpu1 - cpu0, cpu);
    assert_int_equal(t.by_code_deadline, N);
    assert_true(took >= TIMEOUT - 2);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&slots[i].runs), 1);
    /* Timing out 2,000 parked calls costs about 20 ms; retrying each every 25 ms instead of
     * parking it costs about 0.5 s over 6 s. */
    if (cpu >= 0.2)
        fail_msg("waiting %d calls for a connection for %d ms cost %.3f s of CPU", N, TIMEOUT, cpu);
    etcd_client_free(c);
    free(slots);
    tally_destroy(&t);
}

#define REJECTS(call) assert_int_equal((call), ETCD_E_INVALID_ARGUMENT)
#define ACCEPTS(call) assert_int_equal((call), ETCD_OK)

static void test_config_setters_check_ranges(void **state)
{
    (void)state;
    etcd_error *err = NULL;
    /* A NULL config is refused by every setter. */
    assert_int_equal(etcd_config_set_endpoints(NULL, "127.0.0.1:2379", &err), ETCD_E_INVALID_ARGUMENT);
    assert_non_null(err);
    etcd_error_free(err);
    err = NULL;
    REJECTS(etcd_config_set_dial_timeout_ms(NULL, 1000));
    REJECTS(etcd_config_set_dial_blocking(NULL, 1));
    REJECTS(etcd_config_set_request_timeout_ms(NULL, 1000));
    REJECTS(etcd_config_set_require_leader(NULL, 1));
    REJECTS(etcd_config_set_keepalive(NULL, 10000, 5000));
    REJECTS(etcd_config_set_max_send_bytes(NULL, 1024));
    REJECTS(etcd_config_set_max_recv_bytes(NULL, 1024));
    REJECTS(etcd_config_set_retry(NULL, 3, 25, 10));
    REJECTS(etcd_config_set_auto_sync_interval_ms(NULL, 1000));
    REJECTS(etcd_config_set_dispatch(NULL, ETCD_DISPATCH_THREAD));

    etcd_config *cfg = etcd_config_new();
    assert_non_null(cfg);
    assert_int_equal(etcd_config_set_endpoints(cfg, NULL, &err), ETCD_E_INVALID_ARGUMENT);
    etcd_error_free(err);
    err = NULL;

    /* Dial timeout: > 0, up to INT64_MAX. */
    REJECTS(etcd_config_set_dial_timeout_ms(cfg, 0));
    REJECTS(etcd_config_set_dial_timeout_ms(cfg, -1));
    REJECTS(etcd_config_set_dial_timeout_ms(cfg, INT64_MIN));
    ACCEPTS(etcd_config_set_dial_timeout_ms(cfg, 1));
    ACCEPTS(etcd_config_set_dial_timeout_ms(cfg, INT64_MAX));
    /* Flags: any int. */
    ACCEPTS(etcd_config_set_dial_blocking(cfg, 0));
    ACCEPTS(etcd_config_set_dial_blocking(cfg, -7));
    ACCEPTS(etcd_config_set_require_leader(cfg, 0));
    ACCEPTS(etcd_config_set_require_leader(cfg, 2));
    /* Request timeout: 0 (none) up to INT64_MAX. */
    REJECTS(etcd_config_set_request_timeout_ms(cfg, -1));
    REJECTS(etcd_config_set_request_timeout_ms(cfg, INT64_MIN));
    ACCEPTS(etcd_config_set_request_timeout_ms(cfg, 0));
    ACCEPTS(etcd_config_set_request_timeout_ms(cfg, INT64_MAX));
    /* Keepalive: time 0 (off) or more, timeout > 0. */
    REJECTS(etcd_config_set_keepalive(cfg, -1, 5000));
    REJECTS(etcd_config_set_keepalive(cfg, 10000, 0));
    REJECTS(etcd_config_set_keepalive(cfg, 10000, -1));
    REJECTS(etcd_config_set_keepalive(cfg, INT64_MIN, INT64_MIN));
    ACCEPTS(etcd_config_set_keepalive(cfg, 0, 1));
    ACCEPTS(etcd_config_set_keepalive(cfg, 1, 1));
    ACCEPTS(etcd_config_set_keepalive(cfg, INT32_MAX, INT32_MAX));
    /* Message limits: > 0, up to INT32_MAX. */
    REJECTS(etcd_config_set_max_send_bytes(cfg, 0));
    REJECTS(etcd_config_set_max_send_bytes(cfg, -1));
    REJECTS(etcd_config_set_max_send_bytes(cfg, INT32_MIN));
    ACCEPTS(etcd_config_set_max_send_bytes(cfg, 1));
    ACCEPTS(etcd_config_set_max_send_bytes(cfg, INT32_MAX));
    REJECTS(etcd_config_set_max_recv_bytes(cfg, 0));
    REJECTS(etcd_config_set_max_recv_bytes(cfg, -1));
    REJECTS(etcd_config_set_max_recv_bytes(cfg, INT32_MIN));
    ACCEPTS(etcd_config_set_max_recv_bytes(cfg, 1));
    ACCEPTS(etcd_config_set_max_recv_bytes(cfg, INT32_MAX));
    /* Retry: attempts >= 1, backoff 0..3600000, jitter 0..100. */
    REJECTS(etcd_config_set_retry(cfg, 0, 25, 10));
    REJECTS(etcd_config_set_retry(cfg, -1, 25, 10));
    REJECTS(etcd_config_set_retry(cfg, 3, -1, 10));
    REJECTS(etcd_config_set_retry(cfg, 3, 3600001, 10));
    REJECTS(etcd_config_set_retry(cfg, 3, INT64_MAX, 10));
    REJECTS(etcd_config_set_retry(cfg, 3, 25, -1));
    REJECTS(etcd_config_set_retry(cfg, 3, 25, 101));
    ACCEPTS(etcd_config_set_retry(cfg, 1, 0, 0));
    ACCEPTS(etcd_config_set_retry(cfg, INT32_MAX, 3600000, 100));
    /* Auto-sync: 0 (off) up to INT64_MAX. */
    REJECTS(etcd_config_set_auto_sync_interval_ms(cfg, -1));
    REJECTS(etcd_config_set_auto_sync_interval_ms(cfg, INT64_MIN));
    ACCEPTS(etcd_config_set_auto_sync_interval_ms(cfg, 0));
    ACCEPTS(etcd_config_set_auto_sync_interval_ms(cfg, INT64_MAX));
    /* Dispatch: the two modes only. */
    REJECTS(etcd_config_set_dispatch(cfg, (etcd_dispatch)2));
    REJECTS(etcd_config_set_dispatch(cfg, (etcd_dispatch)-1));
    ACCEPTS(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER));
    ACCEPTS(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_THREAD));

    /* The boundary values left in cfg make a working client. */
    ASSERT_OK(etcd_config_set_endpoints(cfg, eh_endpoints(itest_cluster), &err), err);
    ACCEPTS(etcd_config_set_retry(cfg, 1, 0, 0));
    ACCEPTS(etcd_config_set_keepalive(cfg, 0, 1));
    etcd_client *c = itest_client_from(cfg);
    itest_put_string(etcd_client_kv(c), "bounds", "ok");
    etcd_client_free(c);
}

/* client.h: "Every timeout setter accepts any value up to INT64_MAX; a deadline too far away
 * to represent is treated as no deadline." The keepalive timeout is a timeout. */
static void test_keepalive_timeout_accepts_int64_max(void **state)
{
    (void)state;
    etcd_config *cfg = etcd_config_new();
    etcd_code rc = etcd_config_set_keepalive(cfg, 10000, INT64_MAX);
    etcd_config_free(cfg);
    if (rc != ETCD_OK)
        fail_msg("etcd_config_set_keepalive(cfg, 10000, INT64_MAX) returned %s; client.h says every timeout "
                 "setter accepts any value up to INT64_MAX", etcd_code_name(rc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handle_is_the_call),
        cmocka_unit_test(test_caller_dispatch_runs_in_free),
        cmocka_unit_test(test_failed_submit_never_calls_back),
        cmocka_unit_test(test_txn_and_delete_async),
        cmocka_unit_test(test_waiting_costs_nothing),
        cmocka_unit_test(test_config_setters_check_ranges),
        cmocka_unit_test(test_keepalive_timeout_accepts_int64_max),
    };
    return cmocka_run_group_tests_name("call_api", tests, itest_group_setup, itest_group_teardown);
}
