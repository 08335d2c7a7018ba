/*
 * Bad input and rejections: each gets a clear error with a code and a message, nothing is sent
 * for bad input, server rejections come back mapped, and the client stays usable afterwards.
 */
#include <time.h>

#include "itest.h"

#define MAX_REQUEST_BYTES (64 * 1024)
#define MAX_TXN_OPS 8

static etcd_client *client;
static etcd_kv *kv;

static int setup(void **state)
{
    (void)state;
    eh_opts opts = {.members = 1, .max_request_bytes = MAX_REQUEST_BYTES, .max_txn_ops = MAX_TXN_OPS};
    itest_cluster = itest_start(&opts);
    if (!itest_cluster)
        return -1;
    client = itest_client(NULL);
    kv = etcd_client_kv(client);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    etcd_client_free(client);
    eh_cluster_stop(itest_cluster);
    return 0;
}

static int64_t current_revision(void)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_get(kv, "probe", 5, &r, &err), err);
    int64_t rev = etcd_response_revision(r);
    etcd_response_free(r);
    return rev;
}

static void assert_message_has(const etcd_error *err, const char *what)
{
    if (!strstr(etcd_error_message(err), what))
        fail_msg("message \"%s\" does not mention \"%s\"", etcd_error_message(err), what);
}

static void test_null_arguments(void **state)
{
    (void)state;
    etcd_response *r = (etcd_response *)&r; /* must be reset to NULL */
    etcd_error *err = NULL;
    assert_int_equal(etcd_kv_put(NULL, "k", 1, "v", 1, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_null(r);
    assert_message_has(err, "kv is NULL");
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(etcd_kv_get(kv, "k", 1, NULL, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "resp");
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(etcd_kv_do(kv, NULL, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "op is NULL");
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(etcd_kv_txn(kv, NULL, &r, &err), ETCD_E_INVALID_ARGUMENT);
    etcd_error_free(err);
    err = NULL;
    /* A NULL key with a length, and a NULL value with a length. */
    assert_int_equal(etcd_kv_put(kv, NULL, 3, "v", 1, &r, &err), ETCD_E_INVALID_ARGUMENT);
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(etcd_kv_put(kv, "k", 1, NULL, 3, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "value is NULL");
    etcd_error_free(err);
    /* err itself may be NULL: the code still says what happened. */
    assert_int_equal(etcd_kv_put(kv, "", 0, "v", 1, &r, NULL), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_client_new(NULL, NULL, NULL), ETCD_E_INVALID_ARGUMENT);
    etcd_client_free(NULL);
    etcd_response_free(NULL);
    etcd_error_free(NULL);
    etcd_op_free(NULL);
    etcd_txn_free(NULL);
    etcd_cmp_free(NULL);
    etcd_config_free(NULL);
}

static void test_bad_input_sends_nothing(void **state)
{
    (void)state;
    int64_t before = current_revision();
    etcd_response *r = NULL;
    etcd_error *err = NULL;

    assert_int_equal(etcd_kv_put(kv, "", 0, "v", 1, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "key is empty");
    assert_int_equal(etcd_error_grpc_status(err), -1);
    etcd_error_free(err);
    err = NULL;

    assert_int_equal(etcd_kv_get(kv, "", 0, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "key is empty");
    etcd_error_free(err);
    err = NULL;

    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_limit(op, -1), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_kv_do(kv, op, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "limit must be >= 0");
    etcd_error_free(err);
    err = NULL;
    etcd_op_free(op);

    op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_sort(op, (etcd_sort_target)42, ETCD_SORT_ASCEND), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_kv_do(kv, op, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "unknown sort target 42");
    etcd_error_free(err);
    err = NULL;
    etcd_op_free(op);

    op = etcd_op_put("k", 1, "v", 1);
    assert_int_equal(etcd_op_with_limit(op, 5), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_kv_do(kv, op, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "does not apply to a put");
    etcd_error_free(err);
    err = NULL;
    etcd_op_free(op);

    /* A compare on an empty key fails the txn before anything is sent, even its writes. */
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, etcd_cmp_value("", 0, ETCD_CMP_EQUAL, "x", 1)), ETCD_E_INVALID_ARGUMENT);
    etcd_txn_then(t, etcd_op_put("written?", 8, "no", 2));
    assert_int_equal(etcd_kv_txn(kv, t, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "compare: key is empty");
    etcd_error_free(err);
    err = NULL;
    etcd_txn_free(t);

    /* A bad op inside a txn is reported by the txn. */
    t = etcd_txn_new();
    etcd_txn_then(t, etcd_op_put("", 0, "no", 2));
    assert_int_equal(etcd_kv_txn(kv, t, &r, &err), ETCD_E_INVALID_ARGUMENT);
    assert_message_has(err, "txn then: put: key is empty");
    etcd_error_free(err);
    etcd_txn_free(t);

    assert_int_equal(current_revision(), before);
}

static void test_request_too_large(void **state)
{
    (void)state;
    size_t n = MAX_REQUEST_BYTES + 1024;
    char *big = malloc(n);
    memset(big, 'b', n);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    assert_int_equal(etcd_kv_put(kv, "big", 3, big, n, &r, &err), ETCD_E_REQUEST_TOO_LARGE);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_grpc_status(err), 3); /* INVALID_ARGUMENT */
    assert_message_has(err, "request is too large");
    etcd_error_free(err);
    free(big);
    /* usable afterwards */
    itest_put_string(kv, "after-big", "ok");
    char *s = itest_get_string(kv, "after-big");
    assert_string_equal(s, "ok");
    free(s);
}

static void test_client_message_limits(void **state)
{
    (void)state;
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_max_send_bytes(cfg, 4096), ETCD_OK);
    assert_int_equal(etcd_config_set_max_recv_bytes(cfg, 4096), ETCD_OK);
    assert_int_equal(etcd_config_set_max_send_bytes(cfg, 0), ETCD_E_INVALID_ARGUMENT);
    etcd_client *small = itest_client_from(cfg);
    etcd_error *err = NULL;
    etcd_kv *skv = etcd_client_kv(small);

    char val[8192];
    memset(val, 'v', sizeof val);
    etcd_response *r = NULL;
    int64_t before = current_revision();
    assert_int_equal(etcd_kv_put(skv, "lim", 3, val, sizeof val, &r, &err), ETCD_E_MESSAGE_TOO_LARGE);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(current_revision(), before);

    /* A response above the receive limit. */
    ASSERT_OK(etcd_kv_put(kv, "lim", 3, val, sizeof val, &r, &err), err);
    etcd_response_free(r);
    assert_int_equal(etcd_kv_get(skv, "lim", 3, &r, &err), ETCD_E_MESSAGE_TOO_LARGE);
    etcd_error_free(err);
    err = NULL;
    /* still usable for small things */
    ASSERT_OK(etcd_kv_get(skv, "probe", 5, &r, &err), err);
    etcd_response_free(r);
    etcd_client_free(small);
}

static void test_too_many_ops_and_duplicate_keys(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    for (int i = 0; i <= MAX_TXN_OPS; i++) {
        char k[16];
        snprintf(k, sizeof k, "many/%d", i);
        etcd_txn_then(t, etcd_op_put(k, strlen(k), "v", 1));
    }
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    assert_int_equal(etcd_kv_txn(kv, t, &r, &err), ETCD_E_TOO_MANY_OPS);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_message_has(err, "too many operations in txn request");
    etcd_error_free(err);
    err = NULL;
    etcd_txn_free(t);

    t = etcd_txn_new();
    etcd_txn_then(t, etcd_op_put("dup", 3, "1", 1));
    etcd_txn_then(t, etcd_op_put("dup", 3, "2", 1));
    assert_int_equal(etcd_kv_txn(kv, t, &r, &err), ETCD_E_DUPLICATE_KEY);
    assert_message_has(err, "duplicate key given in txn request");
    etcd_error_free(err);
    etcd_txn_free(t);
    char *s = itest_get_string(kv, "dup");
    assert_null(s);
    itest_put_string(kv, "after-dup", "ok");
}

static void test_malformed_endpoints(void **state)
{
    (void)state;
    etcd_config *cfg = etcd_config_new();
    etcd_error *err = NULL;
    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "ftp://h:1", "::1:2379", "a:1,,b:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(etcd_config_set_endpoints(cfg, bad[i], &err), ETCD_E_BAD_ENDPOINT);
        assert_non_null(err);
        etcd_error_free(err);
        err = NULL;
    }
    assert_int_equal(etcd_config_set_endpoints(cfg, "127.0.0.1:2379,nohost", &err), ETCD_E_BAD_ENDPOINT);
    assert_message_has(err, "\"nohost\"");
    assert_message_has(err, "missing port");
    etcd_error_free(err);
    err = NULL;
    /* No endpoints set at all. */
    etcd_client *c = NULL;
    assert_int_equal(etcd_client_new(cfg, &c, &err), ETCD_E_INVALID_ARGUMENT);
    assert_null(c);
    assert_message_has(err, "no endpoints");
    etcd_error_free(err);
    err = NULL;
    /* https:// is valid syntax; that it needs TLS settings is found by client_new, whatever
     * the order of the setters. */
    assert_int_equal(etcd_config_set_endpoints(cfg, "127.0.0.1:2379,https://127.0.0.1:2380", &err), ETCD_OK);
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, 100), ETCD_OK);
    assert_int_equal(etcd_client_new(cfg, &c, &err), ETCD_E_TLS_NOT_CONFIGURED);
    assert_null(c);
    assert_message_has(err, "\"https://127.0.0.1:2380\"");
    assert_message_has(err, "TLS not configured");
    etcd_error_free(err);
    etcd_config_free(cfg);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_dead_server(void **state)
{
    (void)state;
    /* A port nobody listens on: the dial fails after the timeout, naming the endpoint and reason. */
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = etcd_config_new();
    etcd_error *err = NULL;
    ASSERT_OK(etcd_config_set_endpoints(cfg, ep, &err), err);
    etcd_config_set_dial_timeout_ms(cfg, 500);
    etcd_client *c = NULL;
    int64_t t0 = now_ms();
    assert_int_equal(etcd_client_new(cfg, &c, &err), ETCD_E_DEADLINE);
    int64_t took = now_ms() - t0;
    assert_null(c);
    assert_true(took >= 500);
    assert_true(took < 500 + 3000);
    assert_message_has(err, ep);
    assert_message_has(err, "connection refused");
    etcd_error_free(err);
    err = NULL;
    etcd_config_free(cfg);

    /* A server that dies under a connected client: reads and writes fail with definite errors. */
    eh_opts opts = {.members = 1};
    eh_cluster *doomed = itest_start(&opts);
    assert_non_null(doomed);
    etcd_client *dc = itest_client(eh_endpoints(doomed));
    etcd_kv *dkv = etcd_client_kv(dc);
    itest_put_string(dkv, "k", "v");
    assert_int_equal(eh_member_kill(doomed, 0), 0);
    etcd_op *op = etcd_op_get("k", 1);
    etcd_op_set_timeout_ms(op, 1000);
    etcd_response *r = NULL;
    etcd_code rc = etcd_kv_do(dkv, op, &r, &err);
    /* A read waits for a member until its deadline, and says so. */
    assert_int_equal(rc, ETCD_E_DEADLINE);
    assert_null(r);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    etcd_error_free(err);
    err = NULL;
    etcd_op_free(op);
    /* The put never reaches a server (no connection): a definite failure, not outcome unknown. */
    op = etcd_op_put("k", 1, "v2", 2);
    etcd_op_set_timeout_ms(op, 1000);
    rc = etcd_kv_do(dkv, op, &r, &err);
    assert_int_equal(rc, ETCD_E_DEADLINE);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_grpc_status(err), -1); /* no call was made */
    assert_message_has(err, eh_member_endpoint(doomed, 0));
    assert_message_has(err, "before any endpoint was connected");
    etcd_error_free(err);
    etcd_op_free(op);
    etcd_client_free(dc);
    eh_cluster_stop(doomed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bad_input_sends_nothing),
        cmocka_unit_test(test_request_too_large),
        cmocka_unit_test(test_client_message_limits),
        cmocka_unit_test(test_too_many_ops_and_duplicate_keys),
        cmocka_unit_test(test_malformed_endpoints),
        cmocka_unit_test(test_dead_server),
    };
    return cmocka_run_group_tests_name("errors", tests, setup, teardown);
}
