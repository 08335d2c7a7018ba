/*
 * Many watches per client: 1,000 share one gRPC stream (etcd's own gauges say so), each gets
 * exactly its own events; require-leader watches take a second stream; closing a client with
 * 1,000 live watches runs every final exactly once, in both dispatch modes.
 */
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "watch_rec.h"

#define WAIT_MS 20000
#define STREAMS "etcd_debugging_mvcc_watch_stream_total"
#define WATCHERS "etcd_debugging_mvcc_watcher_total"

enum { N = 1000 };

static int setup(void **state)
{
    (void)state;
    return itest_group_setup(state);
}

/* No stream or watcher of an earlier test is left on the server. */
static int server_clean(void **state)
{
    (void)state;
    wrec_wait_metric(itest_cluster, 0, STREAMS, 0, WAIT_MS);
    wrec_wait_metric(itest_cluster, 0, WATCHERS, 0, WAIT_MS);
    return 0;
}

static void key_of(char *buf, size_t len, const char *prefix, int i)
{
    snprintf(buf, len, "%s/%04d", prefix, i);
}

/* Starts N watches with created notify, one per key prefix/i. */
static void start_many(etcd_client *c, const char *prefix, wrec **rs, etcd_call **calls)
{
    for (int i = 0; i < N; i++) {
        char k[64];
        key_of(k, sizeof k, prefix, i);
        rs[i] = wrec_new();
        etcd_watch_opts *o = wrec_opts(k);
        assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
        calls[i] = wrec_watch(c, o, rs[i]);
        etcd_watch_opts_free(o);
    }
}

static void wait_created(wrec **rs)
{
    for (int i = 0; i < N; i++)
        WREC_WAIT(rs[i], rs[i]->n_batches >= 1 || rs[i]->finals > 0, WAIT_MS, "a created batch");
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i]->finals, 0);
        assert_true(rs[i]->batches[0].created);
    }
}

/* Puts every key prefix/i = "v<i>", 100 keys a txn. */
static void put_all(const char *prefix)
{
    for (int t = 0; t < N / 100; t++) {
        etcd_txn *txn = etcd_txn_new();
        for (int i = t * 100; i < (t + 1) * 100; i++) {
            char k[64], v[16];
            key_of(k, sizeof k, prefix, i);
            snprintf(v, sizeof v, "v%d", i);
            assert_int_equal(etcd_txn_then(txn, etcd_op_put(k, strlen(k), v, strlen(v))), ETCD_OK);
        }
        etcd_response_free(itest_do(itest_kv, etcd_op_txn(txn)));
    }
}

static void test_1000_watches_share_one_stream(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    wrec **rs = calloc(N, sizeof *rs);
    etcd_call **calls = calloc(N, sizeof *calls);
    start_many(c, "many", rs, calls);
    wait_created(rs);
    /* itest_main has no watch: every stream and watcher on the server is this client's. */
    assert_int_equal(wrec_metric(itest_cluster, 0, STREAMS), 1);
    assert_int_equal(wrec_metric(itest_cluster, 0, WATCHERS), N);
    /* Client-chosen IDs: all distinct. */
    for (int i = 1; i < N; i++)
        assert_true(rs[i]->batches[0].watch_id != rs[i - 1]->batches[0].watch_id);
    put_all("many");
    for (int i = 0; i < N; i++)
        WREC_WAIT(rs[i], rs[i]->n_evs >= 1, WAIT_MS, "the watch's event");
    /* One more write per key would have come after; a sentinel put shows nothing else is due. */
    int64_t last = itest_put_string(itest_kv, "many/sentinel", "s");
    for (int i = 0; i < N; i++) {
        char k[64], v[16];
        key_of(k, sizeof k, "many", i);
        snprintf(v, sizeof v, "v%d", i);
        pthread_mutex_lock(&rs[i]->mu);
        assert_int_equal(rs[i]->n_evs, 1);
        assert_string_equal(rs[i]->evs[0].key, k);
        assert_string_equal(rs[i]->evs[0].value, v);
        assert_true(rs[i]->evs[0].mod_rev < last);
        assert_int_equal(rs[i]->bad, 0);
        pthread_mutex_unlock(&rs[i]->mu);
    }
    for (int i = 0; i < N; i++)
        etcd_call_release(calls[i]);
    etcd_client_free(c);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i]->finals, 1);
        assert_int_equal(rs[i]->final_code, ETCD_E_CANCELLED);
        wrec_free(rs[i]);
    }
    free(rs);
    free(calls);
}

static void watch_some(etcd_client *c, const char *key, int require_leader, int n, wrec **rs, etcd_call **calls)
{
    for (int i = 0; i < n; i++) {
        rs[i] = wrec_new();
        etcd_watch_opts *o = wrec_opts(key);
        assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
        assert_int_equal(etcd_watch_opts_set_require_leader(o, require_leader), ETCD_OK);
        calls[i] = wrec_watch(c, o, rs[i]);
        etcd_watch_opts_free(o);
    }
    for (int i = 0; i < n; i++)
        WREC_WAIT(rs[i], rs[i]->n_batches >= 1, WAIT_MS, "a created batch");
}

static void end_some(int n, wrec **rs, etcd_call **calls)
{
    for (int i = 0; i < n; i++) {
        etcd_call_cancel(calls[i]);
        WREC_WAIT(rs[i], rs[i]->finals >= 1, WAIT_MS, "the final");
        assert_int_equal(rs[i]->final_code, ETCD_E_CANCELLED);
        etcd_call_release(calls[i]);
        wrec_free(rs[i]);
    }
}

static void test_require_leader_takes_a_second_stream(void **state)
{
    (void)state;
    enum { M = 10 };
    wrec *rs[3 * M];
    etcd_call *calls[3 * M];
    etcd_client *c = itest_client(NULL);
    watch_some(c, "rl/k", 1, M, rs, calls);
    watch_some(c, "rl/k", 0, M, rs + M, calls + M);
    watch_some(c, "rl/k", -1, M, rs + 2 * M, calls + 2 * M); /* the client's setting: off */
    assert_int_equal(wrec_metric(itest_cluster, 0, STREAMS), 2);
    assert_int_equal(wrec_metric(itest_cluster, 0, WATCHERS), 3 * M);
    /* Both streams deliver. */
    itest_put_string(itest_kv, "rl/k", "x");
    for (int i = 0; i < 3 * M; i++)
        WREC_WAIT(rs[i], rs[i]->n_evs >= 1, WAIT_MS, "the event");
    end_some(3 * M, rs, calls);
    etcd_client_free(c);

    /* A require-leader client: its default watches and explicit "off" ones, two streams again. */
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_require_leader(cfg, 1), ETCD_OK);
    c = itest_client_from(cfg);
    watch_some(c, "rl/k", -1, M, rs, calls);
    assert_int_equal(wrec_metric(itest_cluster, 0, STREAMS), 1);
    watch_some(c, "rl/k", 0, M, rs + M, calls + M);
    watch_some(c, "rl/k", 1, M, rs + 2 * M, calls + 2 * M);
    assert_int_equal(wrec_metric(itest_cluster, 0, STREAMS), 2);
    end_some(3 * M, rs, calls);
    etcd_client_free(c);
}

/* ---- closing with live watches ---- */

static void check_finals_after_free(wrec **rs, bool on_this_thread)
{
    for (int i = 0; i < N; i++) {
        /* Read without waiting: every final ran before etcd_client_free returned. */
        assert_int_equal(rs[i]->finals, 1);
        assert_int_equal(rs[i]->final_code, ETCD_E_CANCELLED);
        assert_true(rs[i]->final_had_err);
        assert_int_equal(rs[i]->after_final, 0);
        assert_int_equal(rs[i]->bad, 0);
        assert_int_equal(pthread_equal(rs[i]->final_thread, pthread_self()) != 0, on_this_thread);
        wrec_free(rs[i]);
    }
}

static void test_close_with_1000_live_watches(void **state)
{
    (void)state;
    wrec **rs = calloc(N, sizeof *rs);
    etcd_call **calls = calloc(N, sizeof *calls);
    etcd_client *c = itest_client(NULL);
    start_many(c, "close", rs, calls);
    wait_created(rs);
    for (int i = 0; i < N; i += 2)
        etcd_call_release(calls[i]); /* half released before the close, half after */
    etcd_client_free(c);
    for (int i = 1; i < N; i += 2)
        etcd_call_release(calls[i]);
    check_finals_after_free(rs, false);

    /* Closed at once, while the creates are still on their way. */
    c = itest_client(NULL);
    start_many(c, "close", rs, calls);
    for (int i = 0; i < N; i++)
        etcd_call_release(calls[i]);
    etcd_client_free(c);
    check_finals_after_free(rs, false);
    free(rs);
    free(calls);
}

static etcd_client *caller_client(void)
{
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER), ETCD_OK);
    return itest_client_from(cfg);
}

static bool all_created(wrec **rs)
{
    for (int i = 0; i < N; i++)
        if (rs[i]->n_batches < 1)
            return false;
    return true;
}

static void test_close_with_1000_live_watches_caller_dispatch(void **state)
{
    (void)state;
    wrec **rs = calloc(N, sizeof *rs);
    etcd_call **calls = calloc(N, sizeof *calls);
    etcd_client *c = caller_client();
    start_many(c, "closec", rs, calls);
    int64_t until = wrec_now_ms() + WAIT_MS;
    while (!all_created(rs)) {
        assert_true(wrec_now_ms() < until);
        struct pollfd p = {.fd = etcd_client_fd(c), .events = POLLIN};
        poll(&p, 1, 100);
        etcd_client_dispatch(c);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i]->finals, 0);
        etcd_call_release(calls[i]);
    }
    /* The finals run inside etcd_client_free, on this thread. */
    etcd_client_free(c);
    check_finals_after_free(rs, true);

    /* Never dispatched at all: every created batch and final runs inside free. */
    c = caller_client();
    start_many(c, "closec", rs, calls);
    for (int i = 0; i < N; i++)
        etcd_call_release(calls[i]);
    etcd_client_free(c);
    check_finals_after_free(rs, true);
    free(rs);
    free(calls);
}

/* A client whose watches have all ended still has its stream open: closing it must wait for
 * that stream's end, which calls back into the watcher. */
static void test_close_after_every_watch_ended(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        etcd_client *c = round % 2 ? caller_client() : itest_client(NULL);
        wrec *r = wrec_new();
        etcd_watch_opts *o = wrec_opts("ended/k");
        assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
        etcd_call *call = wrec_watch(c, o, r);
        etcd_watch_opts_free(o);
        int64_t until = wrec_now_ms() + WAIT_MS;
        etcd_call_cancel(call);
        for (;;) {
            if (round % 2)
                etcd_client_dispatch(c);
            pthread_mutex_lock(&r->mu);
            int finals = r->finals;
            pthread_mutex_unlock(&r->mu);
            if (finals)
                break;
            assert_true(wrec_now_ms() < until);
            struct timespec ts = {0, 2 * 1000 * 1000}; /* polling the final */
            nanosleep(&ts, NULL);
        }
        etcd_call_release(call);
        etcd_client_free(c);
        assert_int_equal(r->finals, 1);
        assert_int_equal(r->final_code, ETCD_E_CANCELLED);
        wrec_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_1000_watches_share_one_stream, server_clean),
        cmocka_unit_test_setup(test_require_leader_takes_a_second_stream, server_clean),
        cmocka_unit_test_setup(test_close_with_1000_live_watches, server_clean),
        cmocka_unit_test_setup(test_close_with_1000_live_watches_caller_dispatch, server_clean),
        cmocka_unit_test_setup(test_close_after_every_watch_ended, server_clean),
    };
    return cmocka_run_group_tests_name("watch_many", tests, setup, itest_group_teardown);
}
