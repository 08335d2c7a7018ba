/* Put, delete and compact against real etcd, with every option. */
#include "itest.h"

/* The tests use the common fixture: one member, one client (itest_kv). */

/* Grants a lease through etcdctl (the Lease API is not part of KV) and returns its ID. */
static int64_t grant_lease(int ttl)
{
    char ttl_s[16];
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *argv[] = {"lease", "grant", ttl_s, NULL};
    char *out = NULL, *errs = NULL;
    size_t ol, el;
    int status = -1;
    assert_int_equal(eh_etcdctl(itest_cluster, argv, NULL, 0, &out, &ol, &errs, &el, &status), 0);
    assert_int_equal(status, 0);
    /* "lease 694d7b0c2f2e4a0b granted with TTL(60s)" */
    unsigned long long id = 0;
    assert_int_equal(sscanf(out, "lease %llx granted", &id), 1);
    free(out);
    free(errs);
    return (int64_t)id;
}

static void test_put_prev_kv(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "put/p", "first");
    etcd_op *op = etcd_op_put("put/p", 5, "second", 6);
    assert_int_equal(etcd_op_with_prev_kv(op), ETCD_OK);
    etcd_response *r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_type(r), ETCD_OP_PUT);
    assert_int_equal(etcd_response_prev_kv_count(r), 1);
    size_t vl;
    const uint8_t *v = etcd_keyvalue_value(etcd_response_prev_kv_at(r, 0), &vl);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "first", 5);
    etcd_response_free(r);

    /* Without prev-itest_kv, or for a new key, there is none. */
    r = itest_do(itest_kv, etcd_op_put("put/p", 5, "third", 5));
    assert_int_equal(etcd_response_prev_kv_count(r), 0);
    assert_null(etcd_response_prev_kv_at(r, 0));
    etcd_response_free(r);
    char *s = itest_get_string(itest_kv, "put/p");
    assert_string_equal(s, "third");
    free(s);
}

static void test_put_lease_ignore_value_ignore_lease(void **state)
{
    (void)state;
    int64_t lease = grant_lease(120);
    etcd_op *op = etcd_op_put("put/l", 5, "leased", 6);
    assert_int_equal(etcd_op_with_lease(op, lease), ETCD_OK);
    etcd_response_free(itest_do(itest_kv, op));
    etcd_response *r = itest_do(itest_kv, etcd_op_get("put/l", 5));
    assert_int_equal(etcd_keyvalue_lease(etcd_response_kv_at(r, 0)), lease);
    etcd_response_free(r);

    /* ignore-lease: new value, lease kept. */
    op = etcd_op_put("put/l", 5, "v2", 2);
    etcd_op_with_ignore_lease(op);
    etcd_response_free(itest_do(itest_kv, op));
    r = itest_do(itest_kv, etcd_op_get("put/l", 5));
    size_t vl;
    assert_memory_equal(etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl), "v2", 2);
    assert_int_equal(etcd_keyvalue_lease(etcd_response_kv_at(r, 0)), lease);
    etcd_response_free(r);

    /* ignore-value: value kept, lease detached (no lease given). */
    op = etcd_op_put("put/l", 5, NULL, 0);
    assert_int_equal(etcd_op_with_ignore_value(op), ETCD_OK);
    etcd_response_free(itest_do(itest_kv, op));
    r = itest_do(itest_kv, etcd_op_get("put/l", 5));
    const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &vl);
    assert_int_equal(vl, 2);
    assert_memory_equal(v, "v2", 2);
    assert_int_equal(etcd_keyvalue_lease(etcd_response_kv_at(r, 0)), 0);
    assert_int_equal(etcd_keyvalue_version(etcd_response_kv_at(r, 0)), 3);
    etcd_response_free(r);

    /* ignore-value on a key that does not exist: etcd says key not found. */
    op = etcd_op_put("put/none", 8, NULL, 0);
    etcd_op_with_ignore_value(op);
    etcd_error *err = NULL;
    ASSERT_FAILS(ETCD_E_KEY_NOT_FOUND, etcd_kv_do(itest_kv, op, &r, &err), err);
    assert_null(r);
    etcd_op_free(op);

    /* An unknown lease: lease not found. */
    op = etcd_op_put("put/l2", 6, "x", 1);
    etcd_op_with_lease(op, 0x1234567);
    ASSERT_FAILS(ETCD_E_LEASE_NOT_FOUND, etcd_kv_do(itest_kv, op, &r, &err), err);
    etcd_op_free(op);
}

static void test_delete_variants(void **state)
{
    (void)state;
    const char *keys[] = {"del/a", "del/b", "del/c", "del/d", "del/e", "dem"};
    for (size_t i = 0; i < 6; i++)
        itest_put_string(itest_kv, keys[i], "x");

    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_delete(itest_kv, "del/a", 5, &r, &err), err);
    assert_int_equal(etcd_response_type(r), ETCD_OP_DELETE);
    assert_int_equal(etcd_response_deleted(r), 1);
    etcd_response_free(r);
    ASSERT_OK(etcd_kv_delete(itest_kv, "del/a", 5, &r, &err), err);
    assert_int_equal(etcd_response_deleted(r), 0);
    etcd_response_free(r);

    /* range end [del/b, del/d) with prev-kv */
    etcd_op *op = etcd_op_delete("del/b", 5);
    etcd_op_with_range_end(op, "del/d", 5);
    etcd_op_with_prev_kv(op);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_deleted(r), 2);
    assert_int_equal(etcd_response_prev_kv_count(r), 2);
    size_t kl;
    assert_memory_equal(etcd_keyvalue_key(etcd_response_prev_kv_at(r, 1), &kl), "del/c", 5);
    etcd_response_free(r);

    /* from-key del/e removes del/e and dem, not del/d */
    op = etcd_op_delete("del/e", 5);
    etcd_op_with_from_key(op);
    r = itest_do(itest_kv, op);
    assert_true(etcd_response_deleted(r) >= 2);
    etcd_response_free(r);
    char *s = itest_get_string(itest_kv, "del/d");
    assert_non_null(s);
    free(s);
    s = itest_get_string(itest_kv, "dem");
    assert_null(s);

    /* prefix */
    itest_put_string(itest_kv, "del/x1", "1");
    itest_put_string(itest_kv, "del/x2", "2");
    op = etcd_op_delete("del/", 4);
    etcd_op_with_prefix(op);
    r = itest_do(itest_kv, op);
    assert_int_equal(etcd_response_deleted(r), 3);
    assert_int_equal(etcd_response_prev_kv_count(r), 0);
    etcd_response_free(r);
}

static void test_compact_and_compacted_reads(void **state)
{
    (void)state;
    int64_t old = itest_put_string(itest_kv, "cmp/k", "old");
    int64_t cur = itest_put_string(itest_kv, "cmp/k", "new");
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_compact(itest_kv, cur, 0, &r, &err), err);
    assert_int_equal(etcd_response_type(r), ETCD_OP_COMPACT);
    assert_true(etcd_response_revision(r) >= cur);
    etcd_response_free(r);

    etcd_op *op = etcd_op_get("cmp/k", 5);
    etcd_op_with_rev(op, old);
    ASSERT_FAILS(ETCD_E_COMPACTED, etcd_kv_do(itest_kv, op, &r, &err), err);
    etcd_op_free(op);

    /* Compacting the same revision again is compacted too; a future one is refused. */
    ASSERT_FAILS(ETCD_E_COMPACTED, etcd_kv_compact(itest_kv, cur, 0, &r, &err), err);
    ASSERT_FAILS(ETCD_E_FUTURE_REV, etcd_kv_compact(itest_kv, cur + 1000000, 0, &r, &err), err);
    op = etcd_op_get("cmp/k", 5);
    etcd_op_with_rev(op, cur + 1000000);
    ASSERT_FAILS(ETCD_E_FUTURE_REV, etcd_kv_do(itest_kv, op, &r, &err), err);
    etcd_op_free(op);

    /* physical compaction waits for the backend and succeeds */
    int64_t later = itest_put_string(itest_kv, "cmp/k", "newer");
    ASSERT_OK(etcd_kv_compact(itest_kv, later, 1, &r, &err), err);
    etcd_response_free(r);
    char *s = itest_get_string(itest_kv, "cmp/k");
    assert_string_equal(s, "newer");
    free(s);
}

static void test_error_carries_details(void **state)
{
    (void)state;
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    int64_t cur = itest_put_string(itest_kv, "det/k", "v");
    assert_int_equal(etcd_kv_compact(itest_kv, cur + 1000000, 0, &r, &err), ETCD_E_FUTURE_REV);
    assert_non_null(err);
    assert_int_equal(etcd_error_grpc_status(err), 11); /* OUT_OF_RANGE */
    assert_string_equal(etcd_error_server_message(err), "etcdserver: mvcc: required revision is a future revision");
    assert_string_equal(etcd_error_endpoint(err), eh_member_endpoint(itest_cluster, 0));
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_cause(err), ETCD_E_FUTURE_REV);
    assert_non_null(strstr(etcd_error_message(err), "future revision"));
    etcd_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_prev_kv),
        cmocka_unit_test(test_put_lease_ignore_value_ignore_lease),
        cmocka_unit_test(test_delete_variants),
        cmocka_unit_test(test_compact_and_compacted_reads),
        cmocka_unit_test(test_error_carries_details),
    };
    return cmocka_run_group_tests_name("kv-write", tests, itest_group_setup, itest_group_teardown);
}
