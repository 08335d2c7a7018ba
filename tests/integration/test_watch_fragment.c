/*
 * Fragmented watch responses: etcd splits a batch larger than its --max-request-bytes plus
 * 512 KiB of gRPC overhead (here 64 KiB + 512 KiB) into parts when the watch asked for it; the
 * client puts them together, so the callback sees one whole batch, in order. A txn of puts can
 * never get there (the txn itself must fit in 64 KiB), so the big batches here are deletes
 * with their previous values. Without the option etcd sends the batch whole (its send limit
 * is 2 GiB).
 */
#include <pthread.h>

#include "watch_rec.h"

#define WAIT_MS 20000

enum { KEYS = 60, BIG = 20 * 1024 }; /* 60 x 20 KiB: about 1.2 MiB in one revision */

static int setup(void **state)
{
    (void)state;
    eh_opts o = {.members = 1, .max_request_bytes = 64 * 1024};
    itest_cluster = itest_start(&o);
    if (!itest_cluster)
        return -1;
    itest_main = itest_client(NULL);
    itest_kv = etcd_client_kv(itest_main);
    return 0;
}

/* A value of BIG bytes that names its key and generation. */
static char *big_value(const char *key, int gen)
{
    char *v = malloc(BIG + 1);
    assert_non_null(v);
    memset(v, 'a' + gen % 26, BIG);
    v[BIG] = 0;
    int n = snprintf(v, 64, "%s#%d|", key, gen);
    v[n] = '|'; /* overwrite snprintf's terminator */
    return v;
}

static void put_big(const char *prefix, int i, int gen)
{
    char k[64];
    snprintf(k, sizeof k, "%s/%02d", prefix, i);
    char *v = big_value(k, gen);
    etcd_response_free(itest_do(itest_kv, etcd_op_put(k, strlen(k), v, BIG)));
    free(v);
}

static etcd_call *watch_prefix(const char *prefix, bool fragment, wrec *r)
{
    char p[64];
    snprintf(p, sizeof p, "%s/", prefix);
    etcd_watch_opts *o = wrec_opts(p);
    assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_prev_kv(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
    if (fragment)
        assert_int_equal(etcd_watch_opts_with_fragment(o), ETCD_OK);
    etcd_call *call = wrec_watch(itest_main, o, r);
    etcd_watch_opts_free(o);
    WREC_WAIT(r, r->n_batches >= 1, WAIT_MS, "the created batch");
    return call;
}

static void delete_prefix(const char *prefix)
{
    char p[64];
    snprintf(p, sizeof p, "%s/", prefix);
    etcd_op *op = etcd_op_delete(p, strlen(p));
    assert_int_equal(etcd_op_with_prefix(op), ETCD_OK);
    etcd_response *resp = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_deleted(resp), KEYS);
    etcd_response_free(resp);
}

/* One batch (after the created one) with every deleted key in order, each with its value. */
static void check_delete_batch(wrec *r, const char *prefix)
{
    WREC_WAIT(r, r->n_evs >= KEYS, WAIT_MS, "every delete");
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_batches, 2);
    assert_int_equal(r->batches[1].n_events, KEYS);
    for (int i = 0; i < KEYS; i++) {
        char k[64];
        snprintf(k, sizeof k, "%s/%02d", prefix, i);
        assert_int_equal(r->evs[i].type, ETCD_EVENT_DELETE);
        assert_string_equal(r->evs[i].key, k);
        assert_int_equal(r->evs[i].batch, 1);
        assert_int_equal(r->evs[i].mod_rev, r->evs[0].mod_rev);
        char *want = big_value(k, 1);
        assert_non_null(r->evs[i].prev_value);
        assert_string_equal(r->evs[i].prev_value, want);
        free(want);
    }
    assert_int_equal(r->bad, 0);
    pthread_mutex_unlock(&r->mu);
}

static void test_fragmented_delete_arrives_whole(void **state)
{
    (void)state;
    for (int i = 0; i < KEYS; i++)
        put_big("frag", i, 1);
    wrec *r = wrec_new();
    etcd_call *call = watch_prefix("frag", true, r);
    /* One revision, KEYS events of 20 KiB previous values: about 1.2 MiB, sent in parts. */
    delete_prefix("frag");
    check_delete_batch(r, "frag");
    /* The watch goes on after a fragmented batch. */
    put_big("frag", 0, 2);
    WREC_WAIT(r, r->n_evs >= KEYS + 1, WAIT_MS, "the next event");
    assert_int_equal(r->n_batches, 3);
    etcd_call_cancel(call);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final");
    assert_int_equal(r->final_code, ETCD_E_CANCELLED);
    etcd_call_release(call);
    wrec_free(r);
}

static void test_fragmented_txn_arrives_whole(void **state)
{
    (void)state;
    for (int i = 0; i < KEYS; i++)
        put_big("ftxn", i, 1);
    wrec *r = wrec_new();
    etcd_call *call = watch_prefix("ftxn", true, r);
    /* One txn deleting every key, last first: one revision, the events in the txn's order. */
    etcd_txn *txn = etcd_txn_new();
    for (int i = KEYS - 1; i >= 0; i--) {
        char k[64];
        snprintf(k, sizeof k, "ftxn/%02d", i);
        assert_int_equal(etcd_txn_then(txn, etcd_op_delete(k, strlen(k))), ETCD_OK);
    }
    etcd_response_free(itest_do(itest_kv, etcd_op_txn(txn)));
    WREC_WAIT(r, r->n_evs >= KEYS, WAIT_MS, "the txn's events");
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_batches, 2);
    for (int i = 0; i < KEYS; i++) {
        char k[64];
        snprintf(k, sizeof k, "ftxn/%02d", KEYS - 1 - i);
        assert_string_equal(r->evs[i].key, k);
        assert_int_equal(r->evs[i].type, ETCD_EVENT_DELETE);
        char *prev = big_value(k, 1);
        assert_string_equal(r->evs[i].prev_value, prev);
        free(prev);
    }
    pthread_mutex_unlock(&r->mu);
    etcd_call_cancel(call);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final");
    etcd_call_release(call);
    wrec_free(r);
}

static void test_unfragmented_batch_comes_whole(void **state)
{
    (void)state;
    for (int i = 0; i < KEYS; i++)
        put_big("whole", i, 1);
    wrec *r = wrec_new();
    etcd_call *call = watch_prefix("whole", false, r);
    delete_prefix("whole");
    /* etcd sends the 1.2 MiB batch as one message, over its request limit. */
    check_delete_batch(r, "whole");
    etcd_call_cancel(call);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final");
    etcd_call_release(call);
    wrec_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragmented_delete_arrives_whole),
        cmocka_unit_test(test_fragmented_txn_arrives_whole),
        cmocka_unit_test(test_unfragmented_batch_comes_whole),
    };
    return cmocka_run_group_tests_name("watch_fragment", tests, setup, itest_group_teardown);
}
