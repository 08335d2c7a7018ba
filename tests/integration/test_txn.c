/* Transactions against real etcd: every compare target and result, ranges, branches, nesting. */
#include "itest.h"

/* The tests use the common fixture: one member, one client (itest_kv). */

/* Commits a txn with one compare and a get of "txn/probe" in both branches; returns succeeded. */
static int holds(etcd_cmp *cmp)
{
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, cmp), ETCD_OK);
    etcd_txn_then(t, etcd_op_get("txn/probe", 9));
    etcd_txn_else(t, etcd_op_get("txn/probe", 9));
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    etcd_txn_free(t);
    int ok = etcd_response_succeeded(r);
    assert_int_equal(etcd_response_txn_count(r), 1);
    etcd_response_free(r);
    return ok;
}

static void test_compare_value(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "txn/v", "m");
    assert_true(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_EQUAL, "m", 1)));
    assert_false(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_EQUAL, "n", 1)));
    assert_true(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_NOT_EQUAL, "n", 1)));
    assert_false(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_NOT_EQUAL, "m", 1)));
    assert_true(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_GREATER, "a", 1)));
    assert_false(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_GREATER, "z", 1)));
    assert_true(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_LESS, "z", 1)));
    assert_false(holds(etcd_cmp_value("txn/v", 5, ETCD_CMP_LESS, "a", 1)));
    /* binary value */
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_put(itest_kv, "txn/bin", 7, "\0\xff", 2, &r, &err), err);
    etcd_response_free(r);
    assert_true(holds(etcd_cmp_value("txn/bin", 7, ETCD_CMP_EQUAL, "\0\xff", 2)));
    assert_false(holds(etcd_cmp_value("txn/bin", 7, ETCD_CMP_EQUAL, "\0", 1)));
}

static void test_compare_version_create_mod(void **state)
{
    (void)state;
    int64_t created = itest_put_string(itest_kv, "txn/n", "1");
    int64_t modified = itest_put_string(itest_kv, "txn/n", "2");
    /* version 2 */
    assert_true(holds(etcd_cmp_version("txn/n", 5, ETCD_CMP_EQUAL, 2)));
    assert_true(holds(etcd_cmp_version("txn/n", 5, ETCD_CMP_GREATER, 1)));
    assert_true(holds(etcd_cmp_version("txn/n", 5, ETCD_CMP_LESS, 3)));
    assert_true(holds(etcd_cmp_version("txn/n", 5, ETCD_CMP_NOT_EQUAL, 1)));
    assert_false(holds(etcd_cmp_version("txn/n", 5, ETCD_CMP_GREATER, 2)));
    /* a missing key has version 0 */
    assert_true(holds(etcd_cmp_version("txn/none", 8, ETCD_CMP_EQUAL, 0)));
    assert_true(holds(etcd_cmp_create_rev("txn/n", 5, ETCD_CMP_EQUAL, created)));
    assert_false(holds(etcd_cmp_create_rev("txn/n", 5, ETCD_CMP_EQUAL, modified)));
    assert_true(holds(etcd_cmp_create_rev("txn/n", 5, ETCD_CMP_LESS, modified)));
    assert_true(holds(etcd_cmp_mod_rev("txn/n", 5, ETCD_CMP_EQUAL, modified)));
    assert_true(holds(etcd_cmp_mod_rev("txn/n", 5, ETCD_CMP_GREATER, created)));
    assert_true(holds(etcd_cmp_mod_rev("txn/n", 5, ETCD_CMP_NOT_EQUAL, created)));
    assert_false(holds(etcd_cmp_mod_rev("txn/n", 5, ETCD_CMP_LESS, modified)));
}

static void test_compare_lease(void **state)
{
    (void)state;
    const char *argv[] = {"lease", "grant", "120", NULL};
    char *out = NULL, *errs = NULL;
    size_t ol, el;
    int status = -1;
    assert_int_equal(eh_etcdctl(itest_cluster, argv, NULL, 0, &out, &ol, &errs, &el, &status), 0);
    unsigned long long id = 0;
    assert_int_equal(sscanf(out, "lease %llx granted", &id), 1);
    free(out);
    free(errs);
    etcd_op *op = etcd_op_put("txn/leased", 10, "x", 1);
    etcd_op_with_lease(op, (int64_t)id);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_do(itest_kv, op, &r, &err), err);
    etcd_op_free(op);
    etcd_response_free(r);
    itest_put_string(itest_kv, "txn/unleased", "y");
    assert_true(holds(etcd_cmp_lease("txn/leased", 10, ETCD_CMP_EQUAL, (int64_t)id)));
    assert_false(holds(etcd_cmp_lease("txn/leased", 10, ETCD_CMP_NOT_EQUAL, (int64_t)id)));
    assert_true(holds(etcd_cmp_lease("txn/unleased", 12, ETCD_CMP_EQUAL, 0)));
    assert_true(holds(etcd_cmp_lease("txn/leased", 10, ETCD_CMP_GREATER, 0)));
    assert_true(holds(etcd_cmp_lease("txn/unleased", 12, ETCD_CMP_LESS, (int64_t)id)));
}

static void test_range_compares(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "rc/a", "1");
    itest_put_string(itest_kv, "rc/b", "1");
    itest_put_string(itest_kv, "rc/c", "2");
    /* every key under rc/ has version 1 */
    etcd_cmp *c = etcd_cmp_version("rc/", 3, ETCD_CMP_EQUAL, 1);
    etcd_cmp_with_prefix(c);
    assert_true(holds(c));
    /* not every value in [rc/a, rc/c) ... is "1": true; including rc/c: false */
    c = etcd_cmp_value("rc/a", 4, ETCD_CMP_EQUAL, "1", 1);
    etcd_cmp_with_range_end(c, "rc/c", 4);
    assert_true(holds(c));
    c = etcd_cmp_value("rc/", 3, ETCD_CMP_EQUAL, "1", 1);
    etcd_cmp_with_prefix(c);
    assert_false(holds(c));
    itest_put_string(itest_kv, "rc/b", "1");
    c = etcd_cmp_version("rc/", 3, ETCD_CMP_LESS, 2);
    etcd_cmp_with_prefix(c);
    assert_false(holds(c));
}

static void test_branches_and_sub_responses(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "cas/k", "old");
    /* compare-and-swap: then = put + get + delete of another key */
    itest_put_string(itest_kv, "cas/gone", "x");
    etcd_txn *t = etcd_txn_new();
    etcd_txn_if(t, etcd_cmp_value("cas/k", 5, ETCD_CMP_EQUAL, "old", 3));
    etcd_op *put = etcd_op_put("cas/k", 5, "new", 3);
    etcd_op_with_prev_kv(put);
    etcd_txn_then(t, put);
    etcd_txn_then(t, etcd_op_get("cas/k", 5));
    etcd_txn_then(t, etcd_op_delete("cas/gone", 8));
    etcd_txn_else(t, etcd_op_get("cas/k", 5));
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    assert_int_equal(etcd_response_type(r), ETCD_OP_TXN);
    assert_true(etcd_response_succeeded(r));
    assert_int_equal(etcd_response_txn_count(r), 3);
    const etcd_response *s0 = etcd_response_txn_at(r, 0), *s1 = etcd_response_txn_at(r, 1),
                        *s2 = etcd_response_txn_at(r, 2);
    assert_int_equal(etcd_response_type(s0), ETCD_OP_PUT);
    assert_int_equal(etcd_response_prev_kv_count(s0), 1);
    size_t vl;
    assert_memory_equal(etcd_keyvalue_value(etcd_response_prev_kv_at(s0, 0), &vl), "old", 3);
    assert_int_equal(etcd_response_type(s1), ETCD_OP_GET);
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(s1, 0), &vl), "new", 3);
    assert_int_equal(etcd_response_type(s2), ETCD_OP_DELETE);
    assert_int_equal(etcd_response_deleted(s2), 1);
    assert_null(etcd_response_txn_at(r, 3));
    etcd_response_free(r);

    /* The same txn again: the compare fails, the else branch runs. */
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    assert_false(etcd_response_succeeded(r));
    assert_int_equal(etcd_response_txn_count(r), 1);
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(etcd_response_txn_at(r, 0), 0), &vl), "new", 3);
    etcd_response_free(r);
    etcd_txn_free(t);

    /* No compares: then always runs. An empty txn works too. */
    t = etcd_txn_new();
    etcd_txn_then(t, etcd_op_put("cas/always", 10, "1", 1));
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    assert_true(etcd_response_succeeded(r));
    etcd_response_free(r);
    etcd_txn_free(t);
    t = etcd_txn_new();
    ASSERT_OK(etcd_kv_txn(itest_kv, t, &r, &err), err);
    assert_int_equal(etcd_response_txn_count(r), 0);
    etcd_response_free(r);
    etcd_txn_free(t);
}

static void test_nested_txn(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "nest/a", "1");
    etcd_txn *inner = etcd_txn_new();
    etcd_txn_if(inner, etcd_cmp_value("nest/a", 6, ETCD_CMP_EQUAL, "2", 1));
    etcd_txn_then(inner, etcd_op_put("nest/b", 6, "inner-then", 10));
    etcd_txn_else(inner, etcd_op_put("nest/b", 6, "inner-else", 10));
    etcd_txn_else(inner, etcd_op_get("nest/a", 6));

    etcd_txn *outer = etcd_txn_new();
    etcd_txn_if(outer, etcd_cmp_value("nest/a", 6, ETCD_CMP_EQUAL, "1", 1));
    etcd_txn_then(outer, etcd_op_get("nest/a", 6));
    etcd_txn_then(outer, etcd_op_txn(inner));

    /* Sent through Do as an op. */
    etcd_op *op = etcd_op_txn(outer);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_do(itest_kv, op, &r, &err), err);
    etcd_op_free(op);
    assert_true(etcd_response_succeeded(r));
    assert_int_equal(etcd_response_txn_count(r), 2);
    const etcd_response *in = etcd_response_txn_at(r, 1);
    assert_int_equal(etcd_response_type(in), ETCD_OP_TXN);
    assert_false(etcd_response_succeeded(in));
    assert_int_equal(etcd_response_txn_count(in), 2);
    assert_int_equal(etcd_response_type(etcd_response_txn_at(in, 0)), ETCD_OP_PUT);
    size_t vl;
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(etcd_response_txn_at(in, 1), 0), &vl), "1", 1);
    etcd_response_free(r);
    char *s = itest_get_string(itest_kv, "nest/b");
    assert_string_equal(s, "inner-else");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_value),
        cmocka_unit_test(test_compare_version_create_mod),
        cmocka_unit_test(test_compare_lease),
        cmocka_unit_test(test_range_compares),
        cmocka_unit_test(test_branches_and_sub_responses),
        cmocka_unit_test(test_nested_txn),
    };
    return cmocka_run_group_tests_name("txn", tests, itest_group_setup, itest_group_teardown);
}
