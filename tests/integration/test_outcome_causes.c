/*
 * Which failures of a write are "outcome unknown" and with which cause, which are definite, and
 * which deadline a call runs under. One etcd member behind a fault proxy: black-holing the proxy
 * holds a call that was sent, delaying it and then resetting the connection breaks a call in
 * flight.
 */
#include <pthread.h>
#include <stdbool.h>

#include "fault_proxy.h"
#include "itest.h"
#include "server_counts.h"

#define MAX_REQUEST_BYTES (64 * 1024)

static fp_proxy *proxy;

static int setup(void **state)
{
    (void)state;
    eh_opts opts = {.members = 1, .max_request_bytes = MAX_REQUEST_BYTES};
    itest_cluster = itest_start(&opts);
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

/* Every test starts with the proxy passing and drops what its predecessor left connected. */
static int proxy_passing(void **state)
{
    (void)state;
    fp_set_mode(proxy, FP_PASS);
    fp_drop_connections(proxy);
    return 0;
}

/* A client through the proxy whose connection is up: a first get has gone through. */
static etcd_client *proxied_client(etcd_config *cfg)
{
    if (!cfg)
        cfg = itest_config(fp_endpoint(proxy));
    etcd_client *c = itest_client_from(cfg);
    free(itest_get_string(etcd_client_kv(c), "warm-up"));
    return c;
}

/* One async call's result, waited for with a bound so a missing deadline fails the test
 * instead of hanging it. */
typedef struct result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    etcd_code code;
    etcd_error *err;
    int64_t at_ms;
} result;

static void result_init(result *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void on_result(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    result *r = ud;
    etcd_response_free(resp);
    pthread_mutex_lock(&r->mu);
    r->code = code;
    r->err = err;
    r->at_ms = sc_now_ms();
    r->done = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* True when the callback ran within `ms`. */
static bool result_wait(result *r, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->done && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    bool done = r->done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

static void result_destroy(result *r)
{
    etcd_error_free(r->err);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* Checks a failure's code, cause and outcome, with the message when they differ. */
static void expect_failure(etcd_code rc, const etcd_error *err, etcd_code code, etcd_code cause)
{
    if (rc != code || !err || etcd_error_cause(err) != cause)
        fail_msg("got %s (cause %s), expected %s (cause %s): %s", etcd_code_name(rc),
                 err ? etcd_code_name(etcd_error_cause(err)) : "-", etcd_code_name(code), etcd_code_name(cause),
                 err ? etcd_error_message(err) : "-");
    assert_int_equal(etcd_error_code(err), code);
    assert_int_equal(etcd_error_outcome(err), code == ETCD_E_OUTCOME_UNKNOWN ? ETCD_OUTCOME_UNKNOWN
                                                                            : ETCD_OUTCOME_NOT_APPLIED);
}

/* If value(key) == "no such value" then `then_op` else `else_op`, sent with its own timeout. */
static etcd_op *guarded_txn(const char *key, etcd_op *then_op, etcd_op *else_op, int64_t timeout_ms)
{
    etcd_txn *t = etcd_txn_new();
    etcd_txn_if(t, etcd_cmp_value(key, strlen(key), ETCD_CMP_EQUAL, "no such value", 13));
    etcd_txn_then(t, then_op);
    etcd_txn_else(t, else_op);
    etcd_op *op = etcd_op_txn(t);
    assert_non_null(op);
    assert_int_equal(etcd_op_set_timeout_ms(op, timeout_ms), ETCD_OK);
    return op;
}

static void test_txn_writing_in_else_is_a_write(void **state)
{
    (void)state;
    etcd_client *c = proxied_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    fp_set_mode(proxy, FP_BLACKHOLE);
    etcd_response *r = NULL;
    etcd_error *err = NULL;

    /* Only the else branch writes; that is enough for the txn to be a write whose fate is open. */
    etcd_op *op = guarded_txn("oc/else", etcd_op_get("oc/else", 7), etcd_op_put("oc/else", 7, "v", 1), 500);
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_DEADLINE);
    etcd_error_free(err);
    err = NULL;

    /* The same txn with gets in both branches is a read: never "unknown". */
    op = guarded_txn("oc/else", etcd_op_get("oc/else", 7), etcd_op_get("oc/other", 8), 500);
    rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_DEADLINE, ETCD_E_DEADLINE);
    assert_null(r);
    etcd_error_free(err);
    etcd_client_free(c);
}

/* A get through the black-holed proxy, returning how long it took to fail with DEADLINE. */
static int64_t blackholed_get_ms(etcd_kv *kv, int64_t op_timeout_ms, int bound_ms)
{
    etcd_op *op = etcd_op_get("oc/t", 4);
    if (op_timeout_ms)
        assert_int_equal(etcd_op_set_timeout_ms(op, op_timeout_ms), ETCD_OK);
    result res;
    result_init(&res);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    int64_t t0 = sc_now_ms();
    ASSERT_OK(etcd_kv_do_async(kv, op, on_result, &res, &call, &err), err);
    etcd_op_free(op);
    if (!result_wait(&res, bound_ms)) {
        etcd_call_cancel(call);
        result_wait(&res, 5000);
        etcd_call_release(call);
        result_destroy(&res);
        fail_msg("the get was still running after %d ms", bound_ms);
    }
    etcd_call_release(call);
    expect_failure(res.code, res.err, ETCD_E_DEADLINE, ETCD_E_DEADLINE);
    int64_t took = res.at_ms - t0;
    result_destroy(&res);
    return took;
}

static void test_request_timeout_and_op_timeout(void **state)
{
    (void)state;
    /* The client's request timeout applies to a call without its own. */
    etcd_config *cfg = itest_config(fp_endpoint(proxy));
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 400), ETCD_OK);
    etcd_client *c = proxied_client(cfg);
    fp_set_mode(proxy, FP_BLACKHOLE);
    int64_t took = blackholed_get_ms(etcd_client_kv(c), 0, 8000);
    print_message("TIMEOUT request_timeout=400 took_ms=%lld\n", (long long)took);
    assert_true(took >= 400);
    assert_true(took < 5000);
    etcd_client_free(c);

    /* An op's own timeout overrides it, in both directions. */
    fp_set_mode(proxy, FP_PASS);
    cfg = itest_config(fp_endpoint(proxy));
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 20000), ETCD_OK);
    c = proxied_client(cfg);
    fp_set_mode(proxy, FP_BLACKHOLE);
    took = blackholed_get_ms(etcd_client_kv(c), 300, 10000);
    print_message("TIMEOUT request_timeout=20000 op_timeout=300 took_ms=%lld\n", (long long)took);
    assert_true(took >= 300);
    assert_true(took < 5000);
    etcd_client_free(c);

    fp_set_mode(proxy, FP_PASS);
    cfg = itest_config(fp_endpoint(proxy));
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 300), ETCD_OK);
    c = proxied_client(cfg);
    fp_set_mode(proxy, FP_BLACKHOLE);
    took = blackholed_get_ms(etcd_client_kv(c), 1500, 10000);
    print_message("TIMEOUT request_timeout=300 op_timeout=1500 took_ms=%lld\n", (long long)took);
    assert_true(took >= 1500);
    assert_true(took < 6500);
    etcd_client_free(c);
}

static void test_unknown_after_deadline(void **state)
{
    (void)state;
    etcd_client *c = proxied_client(NULL);
    fp_set_mode(proxy, FP_BLACKHOLE);
    etcd_op *op = etcd_op_put("oc/deadline", 11, "v", 1);
    etcd_op_set_timeout_ms(op, 500);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_do(etcd_client_kv(c), op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_DEADLINE);
    etcd_error_free(err);
    etcd_client_free(c);
}

static void test_unknown_after_cancel(void **state)
{
    (void)state;
    etcd_client *c = proxied_client(NULL);
    fp_set_mode(proxy, FP_BLACKHOLE);
    result res;
    result_init(&res);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    /* The connection is up, so the put is handed to it before put_async returns: cancelling
     * it now cannot recall it. */
    ASSERT_OK(etcd_kv_put_async(etcd_client_kv(c), "oc/cancel", 9, "v", 1, on_result, &res, &call, &err), err);
    etcd_call_cancel(call);
    assert_true(result_wait(&res, 5000));
    etcd_call_release(call);
    expect_failure(res.code, res.err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_CANCELLED);
    result_destroy(&res);

    /* A get cancelled the same way is just cancelled. */
    result_init(&res);
    ASSERT_OK(etcd_kv_get_async(etcd_client_kv(c), "oc/cancel", 9, on_result, &res, &call, &err), err);
    etcd_call_cancel(call);
    assert_true(result_wait(&res, 5000));
    etcd_call_release(call);
    expect_failure(res.code, res.err, ETCD_E_CANCELLED, ETCD_E_CANCELLED);
    result_destroy(&res);
    etcd_client_free(c);
}

static void test_cancel_before_sending_is_definite(void **state)
{
    (void)state;
    /* No endpoint ever connects: the put waits for one, so a cancel ends it unsent. */
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = itest_config(dead);
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    result res;
    result_init(&res);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_put_async(etcd_client_kv(c), "oc/unsent", 9, "v", 1, on_result, &res, &call, &err), err);
    int64_t t0 = sc_now_ms();
    etcd_call_cancel(call);
    assert_true(result_wait(&res, 5000));
    etcd_call_release(call);
    expect_failure(res.code, res.err, ETCD_E_CANCELLED, ETCD_E_CANCELLED);
    assert_int_equal(etcd_error_grpc_status(res.err), -1);
    assert_true(res.at_ms - t0 < 1000);
    result_destroy(&res);
    etcd_client_free(c);
}

static void test_unknown_after_connection_broke(void **state)
{
    (void)state;
    etcd_client *c = proxied_client(NULL);
    /* Hold the put in the proxy, then reset the connection under it. */
    fp_set_mode(proxy, FP_DELAY);
    fp_set_delay_ms(proxy, 3000);
    result res;
    result_init(&res);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    etcd_op *op = etcd_op_put("oc/broken", 9, "v", 1);
    etcd_op_set_timeout_ms(op, 20000);
    int64_t t0 = sc_now_ms();
    ASSERT_OK(etcd_kv_do_async(etcd_client_kv(c), op, on_result, &res, &call, &err), err);
    etcd_op_free(op);
    fp_drop_connections(proxy);
    assert_true(result_wait(&res, 10000));
    etcd_call_release(call);
    print_message("BROKEN put failed after %lld ms\n", (long long)(res.at_ms - t0));
    expect_failure(res.code, res.err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_UNAVAILABLE);
    result_destroy(&res);
    etcd_client_free(c);
}

static void test_unknown_when_response_too_large(void **state)
{
    (void)state;
    static char big[16 * 1024];
    memset(big, 'b', sizeof big);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_client *plain = itest_client(NULL);
    ASSERT_OK(etcd_kv_put(etcd_client_kv(plain), "oc/big", 6, big, sizeof big, &r, &err), err);
    etcd_response_free(r);

    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_max_recv_bytes(cfg, 4096), ETCD_OK);
    etcd_client *small = itest_client_from(cfg);
    etcd_kv *kv = etcd_client_kv(small);
    /* The answer carries the 16 KiB previous value: the put was applied, its answer is unreadable. */
    etcd_op *op = etcd_op_put("oc/big", 6, "new", 3);
    etcd_op_with_prev_kv(op);
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_MESSAGE_TOO_LARGE);
    etcd_error_free(err);
    err = NULL;
    char *v = itest_get_string(etcd_client_kv(plain), "oc/big");
    assert_string_equal(v, "new");
    free(v);

    /* A get of a value too large to receive is a plain failure. */
    ASSERT_OK(etcd_kv_put(etcd_client_kv(plain), "oc/big", 6, big, sizeof big, &r, &err), err);
    etcd_response_free(r);
    rc = etcd_kv_get(kv, "oc/big", 6, &r, &err);
    expect_failure(rc, err, ETCD_E_MESSAGE_TOO_LARGE, ETCD_E_MESSAGE_TOO_LARGE);
    etcd_error_free(err);
    etcd_client_free(small);
    etcd_client_free(plain);
}

static void test_server_refusals_are_definite(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    etcd_response *r = NULL;
    etcd_error *err = NULL;

    /* Keep the value of a key that does not exist: refused. */
    etcd_op *op = etcd_op_put("oc/missing", 10, "", 0);
    etcd_op_with_ignore_value(op);
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_KEY_NOT_FOUND, ETCD_E_KEY_NOT_FOUND);
    assert_int_equal(etcd_error_grpc_status(err), 3);
    etcd_error_free(err);
    err = NULL;

    /* Over the server's request limit but within its gRPC limit: etcd refuses it. */
    size_t n = MAX_REQUEST_BYTES + 1024;
    char *val = malloc(n);
    memset(val, 'x', n);
    rc = etcd_kv_put(kv, "oc/huge", 7, val, n, &r, &err);
    expect_failure(rc, err, ETCD_E_REQUEST_TOO_LARGE, ETCD_E_REQUEST_TOO_LARGE);
    etcd_error_free(err);
    err = NULL;

    /* A txn refused the same way is as definite. */
    op = guarded_txn("oc/huge", etcd_op_get("oc/huge", 7), etcd_op_put("oc/huge", 7, val, n), 5000);
    rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    expect_failure(rc, err, ETCD_E_REQUEST_TOO_LARGE, ETCD_E_REQUEST_TOO_LARGE);
    etcd_error_free(err);
    err = NULL;

    /* Over the client's own send limit: never sent. */
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_max_send_bytes(cfg, 1024), ETCD_OK);
    etcd_client *limited = itest_client_from(cfg);
    rc = etcd_kv_put(etcd_client_kv(limited), "oc/huge", 7, val, 4096, &r, &err);
    expect_failure(rc, err, ETCD_E_MESSAGE_TOO_LARGE, ETCD_E_MESSAGE_TOO_LARGE);
    etcd_error_free(err);
    free(val);
    etcd_client_free(limited);
    assert_null(itest_get_string(kv, "oc/missing"));
    assert_null(itest_get_string(kv, "oc/huge"));
    etcd_client_free(c);
}

static void test_put_without_connection_is_deadline(void **state)
{
    (void)state;
    /* The only endpoint was never up: the put waits for a connection and runs out of time
     * without having been sent. */
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = itest_config(dead);
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    etcd_op *op = etcd_op_put("oc/nowhere", 10, "v", 1);
    etcd_op_set_timeout_ms(op, 500);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    int64_t t0 = sc_now_ms();
    etcd_code rc = etcd_kv_do(etcd_client_kv(c), op, &r, &err);
    int64_t took = sc_now_ms() - t0;
    expect_failure(rc, err, ETCD_E_DEADLINE, ETCD_E_DEADLINE);
    assert_int_equal(etcd_error_grpc_status(err), -1);
    assert_true(took >= 500 && took < 5000);
    etcd_error_free(err);
    err = NULL;
    etcd_client_free(c);

    /* The only endpoint was up and went away: the same, once the client has seen it go. */
    c = proxied_client(NULL);
    fp_set_mode(proxy, FP_DROP);
    rc = ETCD_OK;
    /* A get waits out its deadline parked once no connection is left; until then it may still
     * have gone out on the dying one. */
    for (int i = 0; i < 20; i++) {
        etcd_op *g = etcd_op_get("oc/nowhere", 10);
        etcd_op_set_timeout_ms(g, 200);
        rc = etcd_kv_do(etcd_client_kv(c), g, &r, &err);
        etcd_op_free(g);
        etcd_response_free(r);
        r = NULL;
        bool parked = rc == ETCD_E_DEADLINE && strstr(etcd_error_message(err), "before any endpoint was connected");
        etcd_error_free(err);
        err = NULL;
        if (parked)
            break;
    }
    rc = etcd_kv_do(etcd_client_kv(c), op, &r, &err);
    print_message("DOWN put: %s grpc_status=%d: %s\n", etcd_code_name(rc), err ? etcd_error_grpc_status(err) : 0,
                  err ? etcd_error_message(err) : "-");
    expect_failure(rc, err, ETCD_E_DEADLINE, ETCD_E_DEADLINE);
    assert_int_equal(etcd_error_grpc_status(err), -1);
    etcd_error_free(err);
    etcd_op_free(op);
    etcd_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_txn_writing_in_else_is_a_write, proxy_passing),
        cmocka_unit_test_setup(test_request_timeout_and_op_timeout, proxy_passing),
        cmocka_unit_test_setup(test_unknown_after_deadline, proxy_passing),
        cmocka_unit_test_setup(test_unknown_after_cancel, proxy_passing),
        cmocka_unit_test_setup(test_cancel_before_sending_is_definite, proxy_passing),
        cmocka_unit_test_setup(test_unknown_after_connection_broke, proxy_passing),
        cmocka_unit_test_setup(test_unknown_when_response_too_large, proxy_passing),
        cmocka_unit_test_setup(test_server_refusals_are_definite, proxy_passing),
        cmocka_unit_test_setup(test_put_without_connection_is_deadline, proxy_passing),
    };
    return cmocka_run_group_tests_name("outcome_causes", tests, setup, teardown);
}
