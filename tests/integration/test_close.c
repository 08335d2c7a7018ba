/*
 * Closing a client ends what is blocked on it: sync calls waiting in other threads return
 * ETCD_E_CANCELLED (never "outcome unknown" for a call that was never sent), so freeing the
 * client is how a program cancels them.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "fault_proxy.h"
#include "itest.h"

typedef struct blocked {
    etcd_kv *kv;
    etcd_op_type type;
    etcd_code rc;
    etcd_code cause;
    etcd_outcome outcome;
    atomic_bool started, done;
} blocked;

static void *call_blocked(void *arg)
{
    blocked *b = arg;
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    atomic_store(&b->started, true);
    b->rc = b->type == ETCD_OP_PUT ? etcd_kv_put(b->kv, "close/k", 7, "v", 1, &r, &err)
                                   : etcd_kv_get(b->kv, "close/k", 7, &r, &err);
    b->cause = err ? etcd_error_cause(err) : ETCD_OK;
    b->outcome = err ? etcd_error_outcome(err) : ETCD_OUTCOME_NOT_APPLIED;
    etcd_error_free(err);
    etcd_response_free(r);
    atomic_store(&b->done, true);
    return NULL;
}

/* Sync calls parked for a connection (the only endpoint is dead, no deadline) end when the
 * client is freed. */
static void test_free_ends_parked_sync_calls(void **state)
{
    (void)state;
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = itest_config(ep);
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 0), ETCD_OK); /* no deadline at all */
    etcd_client *c = itest_client_from(cfg);
    blocked b[4] = {0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        b[i].kv = etcd_client_kv(c);
        b[i].type = i % 2 ? ETCD_OP_PUT : ETCD_OP_GET;
        assert_int_equal(pthread_create(&t[i], NULL, call_blocked, &b[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        while (!atomic_load(&b[i].started))
            sched_yield();
    /* They cannot finish by themselves: nothing answers and there is no deadline. */
    struct timespec ms = {0, 200 * 1000 * 1000};
    nanosleep(&ms, NULL);
    for (int i = 0; i < 4; i++)
        assert_false(atomic_load(&b[i].done));
    etcd_client_free(c);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(b[i].rc, ETCD_E_CANCELLED);
        assert_int_equal(b[i].outcome, ETCD_OUTCOME_NOT_APPLIED);
    }
}

/* A sync write in flight on a black-holed member when the client is freed: it was sent, so it
 * is outcome unknown with cause cancelled; a read is cancelled. */
static void test_free_ends_sync_calls_in_flight(void **state)
{
    (void)state;
    eh_cluster *cl = itest_start(NULL);
    assert_non_null(cl);
    fp_proxy *p;
    assert_int_equal(fp_start(eh_member_client_port(cl, 0), &p), 0);
    etcd_config *cfg = itest_config(fp_endpoint(p));
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 0), ETCD_OK);
    assert_int_equal(etcd_config_set_keepalive(cfg, 0, 1000), ETCD_OK); /* nothing detects the hole */
    etcd_client *c = itest_client_from(cfg);
    itest_put_string(etcd_client_kv(c), "close/k", "v0");
    fp_set_mode(p, FP_BLACKHOLE);
    blocked b[2] = {0};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        b[i].kv = etcd_client_kv(c);
        b[i].type = i ? ETCD_OP_PUT : ETCD_OP_GET;
        assert_int_equal(pthread_create(&t[i], NULL, call_blocked, &b[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        while (!atomic_load(&b[i].started))
            sched_yield();
    struct timespec ms = {0, 300 * 1000 * 1000};
    nanosleep(&ms, NULL);
    etcd_client_free(c);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(b[0].rc, ETCD_E_CANCELLED);
    assert_int_equal(b[1].rc, ETCD_E_OUTCOME_UNKNOWN);
    assert_int_equal(b[1].cause, ETCD_E_CANCELLED);
    fp_stop(p);
    eh_cluster_stop(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_ends_parked_sync_calls),
        cmocka_unit_test(test_free_ends_sync_calls_in_flight),
    };
    return cmocka_run_group_tests_name("close", tests, NULL, NULL);
}
