/*
 * Nested txns against real etcd: the deepest txn a request may hold is answered and read back;
 * answers nested deeper than the client accepts fail the call, and never crash it.
 *
 * The request check keeps every txn it lets through answerable, so the over-deep requests here
 * are built by growing a nested txn through its own handle and sent with the KV interface's
 * do_op, which expects a checked op (lib/kv/kv_iface.h): that is how the test gets etcd to send
 * an answer the client must refuse.
 */
#include "itest.h"

#include "kv/kv_iface.h"
#include "kv/op_internal.h"
#include "rpc/depth.h"

/* A chain of `levels` txns, each in the then-branch of the one above; *inner is the innermost,
 * still owned by the chain, for the caller to fill. Built from the top down, each added txn is
 * one level deep when added, so the add-time check never sees the whole. */
static etcd_txn *chain(unsigned levels, etcd_txn **inner)
{
    etcd_txn *top = etcd_txn_new();
    assert_non_null(top);
    etcd_txn *t = top;
    for (unsigned i = 1; i < levels; i++) {
        etcd_txn *next = etcd_txn_new();
        assert_non_null(next);
        assert_int_equal(etcd_txn_then(t, etcd_op_txn(next)), ETCD_OK);
        t = next;
    }
    *inner = t;
    return top;
}

/* Sends txn without the request check, as if it had passed. */
static etcd_code send_unchecked(const etcd_txn *txn, etcd_response **resp, etcd_error **err)
{
    etcd_op op;
    etcd_op_wrap_txn(&op, txn);
    return itest_kv->ops->do_op(itest_kv, &op, resp, err);
}

/* The client still answers after a refused response. */
static void assert_client_works(void)
{
    itest_put_string(itest_kv, "nest/alive", "yes");
    char *v = itest_get_string(itest_kv, "nest/alive");
    assert_non_null(v);
    assert_string_equal(v, "yes");
    free(v);
}

/* The deepest txn allowed, a put with its previous value and a get at the bottom: the answer is
 * exactly ETCD_MAX_MESSAGE_DEPTH levels deep (the KeyValues), and every level reads back. */
static void test_deepest_allowed_txn_answers(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "nest/k", "old");
    etcd_txn *inner;
    etcd_txn *t = chain(ETCD_MAX_TXN_NESTING, &inner);
    etcd_op *put = etcd_op_put("nest/k", 6, "new", 3);
    assert_int_equal(etcd_op_with_prev_kv(put), ETCD_OK);
    assert_int_equal(etcd_txn_then(inner, put), ETCD_OK);
    assert_int_equal(etcd_txn_then(inner, etcd_op_get("nest/k", 6)), ETCD_OK);

    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    const etcd_response *v = r;
    for (unsigned level = 1; level < ETCD_MAX_TXN_NESTING; level++) {
        assert_int_equal(etcd_response_type(v), ETCD_OP_TXN);
        assert_true(etcd_response_succeeded(v));
        assert_int_equal(etcd_response_txn_count(v), 1);
        v = etcd_response_txn_at(v, 0);
    }
    assert_int_equal(etcd_response_txn_count(v), 2);
    const etcd_response *p = etcd_response_txn_at(v, 0), *g = etcd_response_txn_at(v, 1);
    assert_int_equal(etcd_response_type(p), ETCD_OP_PUT);
    assert_int_equal(etcd_response_prev_kv_count(p), 1);
    size_t n;
    assert_memory_equal(etcd_keyvalue_value(etcd_response_prev_kv_at(p, 0), &n), "old", 3);
    assert_int_equal(etcd_response_kv_count(g), 1);
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(g, 0), &n), "new", 3);
    assert_int_equal(n, 3);
    etcd_response_free(r);
    etcd_txn_free(t);
}

/* One level more is refused before anything is sent. */
static void test_request_one_level_too_deep_refused(void **state)
{
    (void)state;
    etcd_txn *inner;
    etcd_txn *t = chain(ETCD_MAX_TXN_NESTING + 1, &inner);
    assert_int_equal(etcd_txn_then(inner, etcd_op_put("nest/never", 10, "x", 1)), ETCD_OK);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_txn(itest_kv, t, &r, &err);
    assert_null(r);
    assert_non_null(err);
    assert_non_null(strstr(etcd_error_message(err), "nested deeper than"));
    ASSERT_FAILS(ETCD_E_INVALID_ARGUMENT, rc, err);
    etcd_txn_free(t);
    assert_null(itest_get_string(itest_kv, "nest/never"));
}

/* A read-only txn whose answer is one level too deep: a protocol error, nothing else. */
static void test_answer_too_deep_read(void **state)
{
    (void)state;
    etcd_txn *inner;
    etcd_txn *t = chain(ETCD_MAX_TXN_NESTING + 1, &inner);
    assert_int_equal(etcd_txn_then(inner, etcd_op_get("nest/k", 6)), ETCD_OK);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = send_unchecked(t, &r, &err);
    assert_null(r);
    assert_non_null(err);
    assert_non_null(strstr(etcd_error_message(err), "nested deeper than 64"));
    ASSERT_FAILS(ETCD_E_PROTOCOL, rc, err);
    etcd_txn_free(t);
    assert_client_works();
}

/* A write whose answer is refused was applied by etcd: outcome unknown, caused by the protocol
 * error, and the key is there. */
static void test_answer_too_deep_write(void **state)
{
    (void)state;
    etcd_txn *inner;
    etcd_txn *t = chain(ETCD_MAX_TXN_NESTING + 1, &inner);
    assert_int_equal(etcd_txn_then(inner, etcd_op_put("nest/w", 6, "applied", 7)), ETCD_OK);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = send_unchecked(t, &r, &err);
    assert_null(r);
    assert_int_equal(rc, ETCD_E_OUTCOME_UNKNOWN);
    assert_int_equal(etcd_error_cause(err), ETCD_E_PROTOCOL);
    etcd_error_free(err);
    etcd_txn_free(t);
    char *v = itest_get_string(itest_kv, "nest/w");
    assert_non_null(v);
    assert_string_equal(v, "applied");
    free(v);
}

/* Thousands of levels: unpacked as it came, this answer would overflow the loop thread's stack. */
static void test_answer_thousands_deep(void **state)
{
    (void)state;
    etcd_txn *inner;
    etcd_txn *t = chain(6000, &inner);
    assert_int_equal(etcd_txn_then(inner, etcd_op_get("nest/k", 6)), ETCD_OK);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = send_unchecked(t, &r, &err);
    assert_null(r);
    ASSERT_FAILS(ETCD_E_PROTOCOL, rc, err);
    etcd_txn_free(t);
    assert_client_works();
}

/* etcd lowers its op budget (--max-txn-ops) by one per nested level: room for thousands. */
static int setup(void **state)
{
    (void)state;
    /* A long election timeout lengthens etcd's own request timeout (5 s + 2 x election) past the
     * seconds a thousands-deep txn takes on a loaded machine. */
    eh_opts opts = {.members = 1, .max_txn_ops = 100000, .heartbeat_ms = 500, .election_ms = 5000};
    itest_cluster = itest_start(&opts);
    if (!itest_cluster)
        return -1;
    itest_main = itest_client(NULL);
    itest_kv = etcd_client_kv(itest_main);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deepest_allowed_txn_answers),
        cmocka_unit_test(test_request_one_level_too_deep_refused),
        cmocka_unit_test(test_answer_too_deep_read),
        cmocka_unit_test(test_answer_too_deep_write),
        cmocka_unit_test(test_answer_thousands_deep),
    };
    return cmocka_run_group_tests(tests, setup, itest_group_teardown);
}
