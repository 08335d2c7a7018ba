/* Get against real etcd: single keys, ranges, every option, headers, binary keys. */
#include "itest.h"

/* The tests use the common fixture: one member, one client (itest_kv). */

static void assert_kv_key(const etcd_response *r, size_t i, const char *key)
{
    size_t n;
    const uint8_t *k = etcd_keyvalue_key(etcd_response_kv_at(r, i), &n);
    assert_non_null(k);
    assert_int_equal(n, strlen(key));
    assert_memory_equal(k, key, n);
}

static void test_put_then_get_with_header(void **state)
{
    (void)state;
    int64_t rev = itest_put_string(itest_kv, "get/a", "alpha");
    etcd_response *r = itest_do(itest_kv, etcd_op_get("get/a", 5));
    assert_int_equal(etcd_response_type(r), ETCD_OP_GET);
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_int_equal(etcd_response_count(r), 1);
    assert_false(etcd_response_more(r));
    assert_true(etcd_response_revision(r) >= rev);
    assert_true(etcd_response_cluster_id(r) != 0);
    assert_true(etcd_response_member_id(r) != 0);
    assert_true(etcd_response_raft_term(r) >= 1);
    const etcd_keyvalue *e = etcd_response_kv_at(r, 0);
    size_t vl;
    const uint8_t *v = etcd_keyvalue_value(e, &vl);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "alpha", 5);
    assert_int_equal(etcd_keyvalue_mod_revision(e), rev);
    assert_int_equal(etcd_keyvalue_create_revision(e), rev);
    assert_int_equal(etcd_keyvalue_version(e), 1);
    assert_int_equal(etcd_keyvalue_lease(e), 0);
    assert_null(etcd_response_kv_at(r, 1));
    etcd_response_free(r);

    r = itest_do(itest_kv, etcd_op_get("get/missing", 11));
    assert_int_equal(etcd_response_kv_count(r), 0);
    assert_int_equal(etcd_response_count(r), 0);
    etcd_response_free(r);
}

static void test_binary_keys_and_values(void **state)
{
    (void)state;
    static const uint8_t key[] = {'b', 0, 0xff, 'x', 0};
    static const uint8_t val[] = {0, 1, 0xff, 0xfe, 0, 'z'};
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_put(itest_kv, key, sizeof key, val, sizeof val, &r, &err), err);
    etcd_response_free(r);
    r = itest_do(itest_kv, etcd_op_get(key, sizeof key));
    assert_int_equal(etcd_response_kv_count(r), 1);
    size_t kl, vl;
    const uint8_t *k = etcd_keyvalue_key(etcd_response_kv_at(r, 0), &kl);
    const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl);
    assert_int_equal(kl, sizeof key);
    assert_memory_equal(k, key, kl);
    assert_int_equal(vl, sizeof val);
    assert_memory_equal(v, val, vl);
    etcd_response_free(r);

    /* An empty value is a value: non-NULL pointer, length 0. */
    ASSERT_OK(etcd_kv_put(itest_kv, "get/empty", 9, "", 0, &r, &err), err);
    etcd_response_free(r);
    r = itest_do(itest_kv, etcd_op_get("get/empty", 9));
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_non_null(etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl));
    assert_int_equal(vl, 0);
    etcd_response_free(r);
}

static void test_prefix_ending_in_0xff(void **state)
{
    (void)state;
    /* "f\xff" prefix: its range end is "g", so "f\xff\xff" is in and "g" is out. */
    const char *in[] = {"f\xff", "f\xff\x01", "f\xff\xff", "f\xff\xff\xff"};
    for (size_t i = 0; i < 4; i++)
        itest_put_string(itest_kv, in[i], "in");
    itest_put_string(itest_kv, "g", "out");
    itest_put_string(itest_kv, "f\xfe", "out");
    etcd_op *op = etcd_op_get("f\xff", 2);
    assert_int_equal(etcd_op_with_prefix(op), ETCD_OK);
    etcd_response *r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 4);
    for (size_t i = 0; i < 4; i++)
        assert_kv_key(r, i, in[i]);
    etcd_response_free(r);

    /* A prefix of only 0xff bytes reads to the end of the keyspace. */
    itest_put_string(itest_kv, "\xff\xff", "top");
    itest_put_string(itest_kv, "\xff\xff\x05", "top2");
    op = etcd_op_get("\xff\xff", 2);
    etcd_op_with_prefix(op);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 2);
    assert_kv_key(r, 0, "\xff\xff");
    assert_kv_key(r, 1, "\xff\xff\x05");
    etcd_response_free(r);
}

static void put_range_keys(void)
{
    const char *keys[] = {"rng/a", "rng/b", "rng/c", "rng/d", "rng/e"};
    for (size_t i = 0; i < 5; i++)
        itest_put_string(itest_kv, keys[i], keys[i] + 4);
}

static void test_range_end_from_key_limit(void **state)
{
    (void)state;
    put_range_keys();
    etcd_op *op = etcd_op_get("rng/b", 5);
    etcd_op_with_range_end(op, "rng/d", 5);
    etcd_response *r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 2);
    assert_kv_key(r, 0, "rng/b");
    assert_kv_key(r, 1, "rng/c");
    etcd_response_free(r);

    op = etcd_op_get("rng/d", 5);
    etcd_op_with_from_key(op);
    r = itest_do(itest_kv, op);
    assert_true(etcd_response_kv_count(r) >= 2);
    assert_kv_key(r, 0, "rng/d");
    assert_kv_key(r, 1, "rng/e");
    etcd_response_free(r);

    op = etcd_op_get("rng/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_limit(op, 2);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 2);
    assert_true(etcd_response_more(r));
    assert_int_equal(etcd_response_count(r), 5);
    etcd_response_free(r);

    op = etcd_op_get("rng/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_limit(op, 5);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 5);
    assert_false(etcd_response_more(r));
    etcd_response_free(r);

    /* Empty key with from-key: every key. */
    op = etcd_op_get("", 0);
    etcd_op_with_from_key(op);
    etcd_op_with_count_only(op);
    r = itest_do(itest_kv, op);
    assert_true(etcd_response_count(r) >= 5);
    etcd_response_free(r);
}

static void test_revision_and_revision_filters(void **state)
{
    (void)state;
    int64_t r1 = itest_put_string(itest_kv, "rev/k", "v1");
    int64_t r2 = itest_put_string(itest_kv, "rev/k", "v2");
    int64_t r3 = itest_put_string(itest_kv, "rev/other", "o");
    etcd_op *op = etcd_op_get("rev/k", 5);
    etcd_op_with_rev(op, r1);
    etcd_response *r = itest_do(itest_kv, op);
    size_t vl;
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl), "v1", 2);
    etcd_response_free(r);

    /* mod revision window [r2, r2]: only rev/k (modified at r2), not rev/other (r3). */
    op = etcd_op_get("rev/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_min_mod_rev(op, r2);
    etcd_op_with_max_mod_rev(op, r2);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_kv_key(r, 0, "rev/k");
    etcd_response_free(r);

    /* create revision >= r3: only rev/other. */
    op = etcd_op_get("rev/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_min_create_rev(op, r3);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_kv_key(r, 0, "rev/other");
    etcd_response_free(r);

    /* create revision <= r1: only rev/k. */
    op = etcd_op_get("rev/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_max_create_rev(op, r1);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 1);
    assert_kv_key(r, 0, "rev/k");
    etcd_response_free(r);
}

static etcd_response *sorted(etcd_sort_target t, etcd_sort_order o)
{
    etcd_op *op = etcd_op_get("srt/", 4);
    etcd_op_with_prefix(op);
    assert_int_equal(etcd_op_with_sort(op, t, o), ETCD_OK);
    return itest_do(itest_kv, op);
}

static void test_sort_targets_and_orders(void **state)
{
    (void)state;
    /* Insertion order c, a, b; values make value order b, c, a; c gets 3 versions. */
    itest_put_string(itest_kv, "srt/c", "2");
    itest_put_string(itest_kv, "srt/a", "3");
    itest_put_string(itest_kv, "srt/b", "1");
    itest_put_string(itest_kv, "srt/c", "2");
    itest_put_string(itest_kv, "srt/c", "2");
    struct {
        etcd_sort_target t;
        etcd_sort_order o;
        const char *first, *last;
    } cases[] = {
        {ETCD_SORT_BY_KEY, ETCD_SORT_ASCEND, "srt/a", "srt/c"},
        {ETCD_SORT_BY_KEY, ETCD_SORT_DESCEND, "srt/c", "srt/a"},
        {ETCD_SORT_BY_CREATE_REVISION, ETCD_SORT_ASCEND, "srt/c", "srt/b"},
        {ETCD_SORT_BY_CREATE_REVISION, ETCD_SORT_DESCEND, "srt/b", "srt/c"},
        {ETCD_SORT_BY_MOD_REVISION, ETCD_SORT_ASCEND, "srt/a", "srt/c"},
        {ETCD_SORT_BY_MOD_REVISION, ETCD_SORT_DESCEND, "srt/c", "srt/a"},
        {ETCD_SORT_BY_VALUE, ETCD_SORT_ASCEND, "srt/b", "srt/a"},
        {ETCD_SORT_BY_VALUE, ETCD_SORT_DESCEND, "srt/a", "srt/b"},
        {ETCD_SORT_BY_VERSION, ETCD_SORT_DESCEND, "srt/c", NULL},
        {ETCD_SORT_BY_VERSION, ETCD_SORT_ASCEND, NULL, "srt/c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        etcd_response *r = sorted(cases[i].t, cases[i].o);
        assert_int_equal(etcd_response_kv_count(r), 3);
        if (cases[i].first)
            assert_kv_key(r, 0, cases[i].first);
        if (cases[i].last)
            assert_kv_key(r, 2, cases[i].last);
        etcd_response_free(r);
    }
}

static void test_serializable_keys_only_count_only(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "opt/x", "value-x");
    itest_put_string(itest_kv, "opt/y", "value-y");
    etcd_op *op = etcd_op_get("opt/x", 5);
    etcd_op_with_serializable(op);
    etcd_response *r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 1);
    etcd_response_free(r);

    op = etcd_op_get("opt/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_keys_only(op);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 2);
    size_t vl = 99;
    etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl);
    assert_int_equal(vl, 0);
    assert_kv_key(r, 1, "opt/y");
    etcd_response_free(r);

    op = etcd_op_get("opt/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_count_only(op);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_kv_count(r), 0);
    assert_int_equal(etcd_response_count(r), 2);
    etcd_response_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_then_get_with_header),
        cmocka_unit_test(test_binary_keys_and_values),
        cmocka_unit_test(test_prefix_ending_in_0xff),
        cmocka_unit_test(test_range_end_from_key_limit),
        cmocka_unit_test(test_revision_and_revision_filters),
        cmocka_unit_test(test_sort_targets_and_orders),
        cmocka_unit_test(test_serializable_keys_only_count_only),
    };
    return cmocka_run_group_tests_name("kv-get", tests, itest_group_setup, itest_group_teardown);
}
