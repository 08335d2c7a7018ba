/*
 * Bounded watch memory: a watch whose callback is held while 10,000 events (1 KiB each) are
 * written holds far less than they weigh, because past the buffer bound the client stops
 * reading, HTTP/2 pushes back and etcd holds the events (a slow watcher). Released, the watch
 * gets every event exactly once, in order, from etcd's history.
 */
#include <pthread.h>
#include <time.h>

#include "watch_rec.h"

#define WAIT_MS 60000
#define SLOW "etcd_debugging_mvcc_slow_watcher_total"

enum { EVENTS = 10000, PER_TXN = 100, VALUE = 1024 };

/* The process's resident set, in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

static void write_events(etcd_kv *kv)
{
    char *v = malloc(VALUE + 1);
    assert_non_null(v);
    for (int t = 0; t < EVENTS / PER_TXN; t++) {
        etcd_txn *txn = etcd_txn_new();
        for (int i = t * PER_TXN; i < (t + 1) * PER_TXN; i++) {
            char k[32];
            snprintf(k, sizeof k, "flow/%05d", i);
            memset(v, 'a' + i % 26, VALUE);
            snprintf(v, 16, "%05d", i); /* the value starts with the event's number */
            v[5] = '-';
            assert_int_equal(etcd_txn_then(txn, etcd_op_put(k, strlen(k), v, VALUE)), ETCD_OK);
        }
        etcd_response_free(itest_do(kv, etcd_op_txn(txn)));
    }
    free(v);
}

static void test_held_callback_bounds_memory(void **state)
{
    (void)state;
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_watch_buffer_bytes(cfg, 64 * 1024), ETCD_OK);
    assert_int_equal(etcd_config_set_watch_buffer_bytes(cfg, 0), ETCD_E_INVALID_ARGUMENT);
    etcd_client *c = itest_client_from(cfg);
    /* The writer is another client, so that its own buffers are not the watch's. */
    etcd_client *writer = itest_client(NULL);
    etcd_kv *wkv = etcd_client_kv(writer);
    int64_t start = itest_put_string(wkv, "flow-start", "x") + 1;

    wrec *r = wrec_new();
    r->gated = true;
    etcd_watch_opts *o = wrec_opts("flow/");
    assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_rev(o, start), ETCD_OK);
    etcd_call *call = wrec_watch(c, o, r);
    etcd_watch_opts_free(o);

    /* Warm up the writer's path, then hold the watch in its first callback. */
    write_events(wkv);
    WREC_WAIT(r, r->in_callback == 1, WAIT_MS, "the first callback");
    long before = rss_kib();
    double slow0 = wrec_metric(itest_cluster, 0, SLOW);
    /* A second round of 10,000 events while the callback is held. */
    char *v = malloc(VALUE);
    assert_non_null(v);
    for (int t = 0; t < EVENTS / PER_TXN; t++) {
        etcd_txn *txn = etcd_txn_new();
        for (int i = 0; i < PER_TXN; i++) {
            char k[32];
            int n = EVENTS + t * PER_TXN + i;
            snprintf(k, sizeof k, "flow/%05d", n);
            memset(v, 'A' + n % 26, VALUE);
            char head[8];
            snprintf(head, sizeof head, "%05d-", n);
            memcpy(v, head, 6);
            assert_int_equal(etcd_txn_then(txn, etcd_op_put(k, strlen(k), v, VALUE)), ETCD_OK);
        }
        etcd_response_free(itest_do(wkv, etcd_op_txn(txn)));
    }
    free(v);
    /* etcd sees the client stop reading: the watch turns into a slow (unsynced) watcher. */
    int64_t until = wrec_now_ms() + WAIT_MS;
    while (wrec_metric(itest_cluster, 0, SLOW) < slow0 + 1) {
        if (wrec_now_ms() > until)
            fail_msg("etcd never saw a slow watcher: the client kept reading");
        struct timespec ts = {0, 20 * 1000 * 1000}; /* polling the server's gauge */
        nanosleep(&ts, NULL);
    }
    long grown = rss_kib() - before;
    printf("RSS grew by %ld KiB while 10,000 KiB of events were held back\n", grown);
#ifndef __SANITIZE_ADDRESS__
    /* 10,000 KiB were written meanwhile; the client holds its buffer bound plus what HTTP/2
     * windows let in, far below that. (AddressSanitizer keeps freed memory in quarantine, so
     * there the resident set says nothing; the server's slow watcher above still does.) */
    if (grown > 8 * 1024)
        fail_msg("RSS grew by %ld KiB while the callback was held", grown);
#endif
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_batches, 0); /* still in the first callback */
    pthread_mutex_unlock(&r->mu);

    wrec_open_gate(r);
    WREC_WAIT(r, r->n_evs >= 2 * EVENTS, WAIT_MS, "every event");
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_evs, 2 * EVENTS);
    for (size_t i = 0; i < r->n_evs; i++) {
        char k[32], head[24];
        snprintf(k, sizeof k, "flow/%05zu", i);
        snprintf(head, sizeof head, "%05zu-", i);
        assert_string_equal(r->evs[i].key, k);
        assert_int_equal(r->evs[i].value_len, VALUE);
        assert_memory_equal(r->evs[i].value, head, 6);
        if (i > 0)
            assert_true(r->evs[i].mod_rev >= r->evs[i - 1].mod_rev);
    }
    assert_int_equal(r->bad, 0);
    pthread_mutex_unlock(&r->mu);
    etcd_call_cancel(call);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final");
    assert_int_equal(r->final_code, ETCD_E_CANCELLED);
    etcd_call_release(call);
    etcd_client_free(c);
    etcd_client_free(writer);
    wrec_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_callback_bounds_memory),
    };
    return cmocka_run_group_tests_name("watch_flow", tests, itest_group_setup, itest_group_teardown);
}
