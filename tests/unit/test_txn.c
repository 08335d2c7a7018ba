/* Compares and transactions: the TxnRequest they build, ownership, and sticky errors. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "kv/op_internal.h"

static const etcd_cmp_result all_results[] = {ETCD_CMP_EQUAL, ETCD_CMP_GREATER, ETCD_CMP_LESS, ETCD_CMP_NOT_EQUAL};
static const int wire_results[] = {
    ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL, ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER,
    ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS, ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL};

static void assert_txn_ok(const etcd_txn *txn)
{
    etcd_error *err = NULL;
    if (etcd_txn_check(txn, &err) != ETCD_OK)
        fail_msg("txn check failed: %s", etcd_error_message(err));
    assert_null(err);
}

static void assert_txn_fails(const etcd_txn *txn, etcd_code code, const char *needle)
{
    etcd_error *err = NULL;
    assert_int_equal(etcd_txn_check(txn, &err), code);
    assert_non_null(err);
    assert_int_equal(etcd_error_code(err), code);
    assert_contains(etcd_error_message(err), needle);
    etcd_error_free(err);
    assert_int_equal(etcd_txn_check(txn, NULL), code);
}

/* The only compare of a txn, as it will be sent. */
static const Etcdserverpb__Compare *only_cmp(const etcd_txn *txn)
{
    assert_int_equal(txn->req.n_compare, 1);
    return txn->req.compare[0];
}

/* ---- compares ---- */

static void test_cmp_value(void **state)
{
    (void)state;
    const char key[] = {'k', '\0', (char)0xff};
    const char val[] = {'\0', 'v', (char)0xff};
    for (size_t i = 0; i < 4; i++) {
        etcd_txn *t = etcd_txn_new();
        assert_int_equal(etcd_txn_if(t, etcd_cmp_value(key, sizeof key, all_results[i], val, sizeof val)), ETCD_OK);
        const Etcdserverpb__Compare *c = only_cmp(t);
        assert_int_equal(c->target, ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE);
        assert_int_equal(c->target_union_case, ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE);
        assert_int_equal(c->result, wire_results[i]);
        assert_bytes(c->key, key, sizeof key);
        assert_bytes(c->value, val, sizeof val);
        assert_int_equal(c->range_end.len, 0);
        assert_txn_ok(t);
        etcd_txn_free(t);
    }
    /* Comparing with the empty value ("exists with empty value") is valid. */
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, etcd_cmp_value("k", 1, ETCD_CMP_EQUAL, NULL, 0)), ETCD_OK);
    assert_int_equal(only_cmp(t)->target_union_case, ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE);
    assert_int_equal(only_cmp(t)->value.len, 0);
    assert_txn_ok(t);
    etcd_txn_free(t);
}

typedef etcd_cmp *(*int_cmp_fn)(const void *, size_t, etcd_cmp_result, int64_t);

static void test_cmp_numeric_targets(void **state)
{
    (void)state;
    static const struct {
        int_cmp_fn make;
        int target, ucase;
    } kinds[] = {
        {etcd_cmp_version, ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION, ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION},
        {etcd_cmp_create_rev, ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE,
         ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION},
        {etcd_cmp_mod_rev, ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD, ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION},
        {etcd_cmp_lease, ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE, ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (size_t i = 0; i < 4; i++) {
            int64_t v = (int64_t)(1000 * k + i) + 0x100000000LL;
            etcd_txn *t = etcd_txn_new();
            assert_int_equal(etcd_txn_if(t, kinds[k].make("key", 3, all_results[i], v)), ETCD_OK);
            const Etcdserverpb__Compare *c = only_cmp(t);
            assert_int_equal(c->target, kinds[k].target);
            assert_int_equal(c->target_union_case, kinds[k].ucase);
            assert_int_equal(c->result, wire_results[i]);
            assert_bytes(c->key, "key", 3);
            switch (c->target_union_case) {
            case ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION:
                assert_int_equal(c->version, v);
                break;
            case ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION:
                assert_int_equal(c->create_revision, v);
                break;
            case ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION:
                assert_int_equal(c->mod_revision, v);
                break;
            case ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE:
                assert_int_equal(c->lease, v);
                break;
            default:
                fail();
            }
            assert_txn_ok(t);
            etcd_txn_free(t);
        }
    }
}

static void test_cmp_range_end_and_prefix(void **state)
{
    (void)state;
    etcd_cmp *c = etcd_cmp_version("a", 1, ETCD_CMP_GREATER, 0);
    assert_int_equal(etcd_cmp_with_range_end(c, "z\0", 2), ETCD_OK);
    assert_bytes(c->msg.range_end, "z\0", 2);
    /* A prefix replaces the range end. */
    assert_int_equal(etcd_cmp_with_prefix(c), ETCD_OK);
    assert_bytes(c->msg.range_end, "b", 1);
    /* An empty range end clears it. */
    assert_int_equal(etcd_cmp_with_range_end(c, NULL, 0), ETCD_OK);
    assert_int_equal(c->msg.range_end.len, 0);
    etcd_cmp_free(c);

    etcd_txn *t = etcd_txn_new();
    c = etcd_cmp_mod_rev("ab\xff", 3, ETCD_CMP_LESS, 10);
    assert_int_equal(etcd_cmp_with_prefix(c), ETCD_OK);
    assert_int_equal(etcd_txn_if(t, c), ETCD_OK);
    assert_bytes(only_cmp(t)->key, "ab\xff", 3);
    assert_bytes(only_cmp(t)->range_end, "ac", 2);
    assert_txn_ok(t);
    etcd_txn_free(t);

    /* Only 0xff: every key >= key. */
    c = etcd_cmp_lease("\xff", 1, ETCD_CMP_EQUAL, 0);
    assert_int_equal(etcd_cmp_with_prefix(c), ETCD_OK);
    assert_bytes(c->msg.range_end, "\0", 1);
    etcd_cmp_free(c);

    assert_int_equal(etcd_cmp_with_range_end(NULL, "z", 1), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_cmp_with_prefix(NULL), ETCD_E_INVALID_ARGUMENT);
    etcd_cmp_free(NULL);
}

/* A bad compare is reported by the txn it is added to, with its message. */
static void check_bad_cmp(etcd_cmp *c, const char *needle)
{
    assert_non_null(c);
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, c), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(t->req.n_compare, 0); /* not added */
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, needle);
    etcd_txn_free(t);
}

static void test_cmp_errors(void **state)
{
    (void)state;
    check_bad_cmp(etcd_cmp_value("", 0, ETCD_CMP_EQUAL, "v", 1), "compare: key is empty");
    check_bad_cmp(etcd_cmp_version(NULL, 0, ETCD_CMP_EQUAL, 1), "compare: key is empty");
    check_bad_cmp(etcd_cmp_mod_rev(NULL, 4, ETCD_CMP_EQUAL, 1), "compare");
    check_bad_cmp(etcd_cmp_value("k", 1, (etcd_cmp_result)4, "v", 1), "compare: unknown result 4");
    check_bad_cmp(etcd_cmp_create_rev("k", 1, (etcd_cmp_result)-1, 1), "compare: unknown result -1");
    check_bad_cmp(etcd_cmp_value("k", 1, ETCD_CMP_EQUAL, NULL, 3), "compare: value is NULL but value_len is 3");

    etcd_cmp *c = etcd_cmp_lease("k", 1, ETCD_CMP_EQUAL, 1);
    assert_int_equal(etcd_cmp_with_range_end(c, NULL, 2), ETCD_E_INVALID_ARGUMENT);
    check_bad_cmp(c, "range end is NULL");

    c = etcd_cmp_version("", 0, ETCD_CMP_EQUAL, 1);
    assert_int_equal(etcd_cmp_with_prefix(c), ETCD_E_INVALID_ARGUMENT);
    check_bad_cmp(c, "compare: key is empty");
}

/* ---- building ---- */

static void test_txn_build(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_non_null(t);
    assert_int_equal(etcd_txn_if(t, etcd_cmp_value("a", 1, ETCD_CMP_EQUAL, "1", 1)), ETCD_OK);
    assert_int_equal(etcd_txn_if(t, etcd_cmp_version("b", 1, ETCD_CMP_GREATER, 0)), ETCD_OK);
    assert_int_equal(etcd_txn_then(t, etcd_op_put("a", 1, "2", 1)), ETCD_OK);
    assert_int_equal(etcd_txn_then(t, etcd_op_get("b", 1)), ETCD_OK);
    assert_int_equal(etcd_txn_else(t, etcd_op_delete("c", 1)), ETCD_OK);
    assert_txn_ok(t);

    const Etcdserverpb__TxnRequest *r = &t->req;
    assert_int_equal(r->n_compare, 2);
    assert_bytes(r->compare[0]->key, "a", 1);
    assert_int_equal(r->compare[0]->target, ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE);
    assert_bytes(r->compare[1]->key, "b", 1);
    assert_int_equal(r->compare[1]->target, ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION);

    assert_int_equal(r->n_success, 2);
    assert_int_equal(r->success[0]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT);
    assert_ptr_equal(r->success[0]->request_put, &t->then_ops[0]->req.put);
    assert_bytes(r->success[0]->request_put->key, "a", 1);
    assert_bytes(r->success[0]->request_put->value, "2", 1);
    assert_int_equal(r->success[1]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE);
    assert_ptr_equal(r->success[1]->request_range, &t->then_ops[1]->req.range);
    assert_bytes(r->success[1]->request_range->key, "b", 1);

    assert_int_equal(r->n_failure, 1);
    assert_int_equal(r->failure[0]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE);
    assert_ptr_equal(r->failure[0]->request_delete_range, &t->else_ops[0]->req.del);
    assert_bytes(r->failure[0]->request_delete_range->key, "c", 1);

    /* As an op, the txn's message is its TxnRequest. */
    etcd_op *op = etcd_op_txn(t);
    assert_non_null(op);
    assert_int_equal(etcd_op_get_type(op), ETCD_OP_TXN);
    assert_ptr_equal(etcd_op_message(op), &t->req.base);
    assert_ptr_equal(etcd_op_message(op)->descriptor, &etcdserverpb__txn_request__descriptor);
    assert_int_equal(etcd_op_check(op, NULL), ETCD_OK);
    etcd_op_free(op); /* frees the txn too */
}

static void test_empty_txn(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_non_null(t);
    assert_int_equal(t->req.n_compare, 0);
    assert_int_equal(t->req.n_success, 0);
    assert_int_equal(t->req.n_failure, 0);
    assert_txn_ok(t);
    etcd_txn_free(t);
    etcd_txn_free(NULL);
}

static void test_nested_txn(void **state)
{
    (void)state;
    etcd_txn *inner = etcd_txn_new();
    assert_int_equal(etcd_txn_if(inner, etcd_cmp_lease("x", 1, ETCD_CMP_NOT_EQUAL, 0)), ETCD_OK);
    assert_int_equal(etcd_txn_then(inner, etcd_op_put("x", 1, "y", 1)), ETCD_OK);
    assert_int_equal(etcd_txn_else(inner, etcd_op_get("x", 1)), ETCD_OK);

    etcd_txn *outer = etcd_txn_new();
    assert_int_equal(etcd_txn_then(outer, etcd_op_get("o", 1)), ETCD_OK);
    assert_int_equal(etcd_txn_then(outer, etcd_op_txn(inner)), ETCD_OK);
    assert_txn_ok(outer);

    assert_int_equal(outer->req.n_success, 2);
    const Etcdserverpb__RequestOp *ro = outer->req.success[1];
    assert_int_equal(ro->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN);
    assert_ptr_equal(ro->request_txn, &inner->req);
    assert_int_equal(ro->request_txn->n_compare, 1);
    assert_int_equal(ro->request_txn->n_success, 1);
    assert_int_equal(ro->request_txn->n_failure, 1);
    assert_bytes(ro->request_txn->success[0]->request_put->key, "x", 1);
    etcd_txn_free(outer); /* frees inner too */
}

/* A failed constructor's NULL is accepted and recorded as out of memory. */
static void test_null_from_failed_constructor(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, NULL), ETCD_E_NOMEM);
    assert_txn_fails(t, ETCD_E_NOMEM, "compare is NULL");
    etcd_txn_free(t);

    t = etcd_txn_new();
    assert_int_equal(etcd_txn_then(t, NULL), ETCD_E_NOMEM);
    assert_txn_fails(t, ETCD_E_NOMEM, "txn then: op is NULL");
    etcd_txn_free(t);

    t = etcd_txn_new();
    assert_int_equal(etcd_txn_else(t, NULL), ETCD_E_NOMEM);
    assert_txn_fails(t, ETCD_E_NOMEM, "txn else: op is NULL");
    etcd_txn_free(t);

    /* etcd_op_txn(NULL) gives NULL, which a txn then records. */
    t = etcd_txn_new();
    assert_int_equal(etcd_txn_then(t, etcd_op_txn(NULL)), ETCD_E_NOMEM);
    assert_int_equal(etcd_txn_check(t, NULL), ETCD_E_NOMEM);
    etcd_txn_free(t);
}

/* A NULL txn frees what it is given (ASan reports a leak otherwise). */
static void test_null_txn_takes_ownership(void **state)
{
    (void)state;
    assert_int_equal(etcd_txn_if(NULL, etcd_cmp_value("k", 1, ETCD_CMP_EQUAL, "v", 1)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_then(NULL, etcd_op_put("k", 1, "v", 1)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_else(NULL, etcd_op_get("k", 1)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_if(NULL, NULL), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_then(NULL, NULL), ETCD_E_INVALID_ARGUMENT);

    etcd_error *err = NULL;
    assert_int_equal(etcd_txn_check(NULL, &err), ETCD_E_INVALID_ARGUMENT);
    assert_contains(etcd_error_message(err), "txn is NULL");
    etcd_error_free(err);
}

static void test_compact_in_txn(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_then(t, etcd_op_compact(5)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(t->req.n_success, 0);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "compact cannot be part of a txn");
    etcd_txn_free(t);

    t = etcd_txn_new();
    assert_int_equal(etcd_txn_else(t, etcd_op_compact(5)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(t->req.n_failure, 0);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "txn else: compact cannot be part of a txn");
    etcd_txn_free(t);
}

/* An invalid op makes the txn invalid, with the op's message and the branch it went to. */
static void test_bad_op_in_txn(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_limit(op, -3), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_then(t, op), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(t->req.n_success, 0);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "txn then: get: limit must be >= 0 (got -3)");
    etcd_txn_free(t);

    t = etcd_txn_new();
    assert_int_equal(etcd_txn_else(t, etcd_op_put("", 0, "v", 1)), ETCD_E_INVALID_ARGUMENT);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "txn else: put: key is empty");
    etcd_txn_free(t);

    /* A get without key or range is caught when it is added. */
    t = etcd_txn_new();
    assert_int_equal(etcd_txn_then(t, etcd_op_get("", 0)), ETCD_E_INVALID_ARGUMENT);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "key is empty");
    etcd_txn_free(t);
}

/* A nested txn that is invalid makes the outer one invalid. */
static void test_bad_nested_txn(void **state)
{
    (void)state;
    etcd_txn *inner = etcd_txn_new();
    assert_int_equal(etcd_txn_if(inner, etcd_cmp_value("", 0, ETCD_CMP_EQUAL, NULL, 0)), ETCD_E_INVALID_ARGUMENT);
    etcd_op *op = etcd_op_txn(inner);
    assert_int_equal(etcd_op_check(op, NULL), ETCD_E_INVALID_ARGUMENT);

    etcd_txn *outer = etcd_txn_new();
    assert_int_equal(etcd_txn_then(outer, op), ETCD_E_INVALID_ARGUMENT);
    assert_txn_fails(outer, ETCD_E_INVALID_ARGUMENT, "compare: key is empty");
    etcd_txn_free(outer);
}

/* The first building error is kept; later good and bad additions do not replace it. */
static void test_first_error_wins(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, etcd_cmp_value("k", 1, (etcd_cmp_result)9, "v", 1)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_then(t, etcd_op_compact(1)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_then(t, NULL), ETCD_E_NOMEM);
    assert_int_equal(etcd_txn_then(t, etcd_op_put("k", 1, "v", 1)), ETCD_OK); /* still added and owned */
    assert_int_equal(t->req.n_success, 1);
    assert_txn_fails(t, ETCD_E_INVALID_ARGUMENT, "unknown result 9");

    etcd_error *err = NULL;
    etcd_txn_check(t, &err);
    assert_null(strstr(etcd_error_message(err), "compact"));
    etcd_error_free(err);
    etcd_txn_free(t);
}

/* Many compares and ops: the arrays grow and every request entry still points at its op. */
static void test_many_ops(void **state)
{
    (void)state;
    enum { N = 100 };
    etcd_txn *t = etcd_txn_new();
    char key[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "k%03d", i);
        assert_int_equal(etcd_txn_if(t, etcd_cmp_version(key, (size_t)n, ETCD_CMP_EQUAL, i)), ETCD_OK);
        assert_int_equal(etcd_txn_then(t, etcd_op_put(key, (size_t)n, "v", 1)), ETCD_OK);
        assert_int_equal(etcd_txn_else(t, etcd_op_get(key, (size_t)n)), ETCD_OK);
    }
    assert_txn_ok(t);
    assert_int_equal(t->req.n_compare, N);
    assert_int_equal(t->req.n_success, N);
    assert_int_equal(t->req.n_failure, N);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "k%03d", i);
        assert_bytes(t->req.compare[i]->key, key, (size_t)n);
        assert_int_equal(t->req.compare[i]->version, i);
        assert_ptr_equal(t->req.success[i], &t->then_wrap[i]);
        assert_ptr_equal(t->req.success[i]->request_put, &t->then_ops[i]->req.put);
        assert_bytes(t->req.success[i]->request_put->key, key, (size_t)n);
        assert_ptr_equal(t->req.failure[i], &t->else_wrap[i]);
        assert_bytes(t->req.failure[i]->request_range->key, key, (size_t)n);
    }

    /* It encodes, and decodes to the same structure. */
    const ProtobufCMessage *m = &t->req.base;
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), len);
    Etcdserverpb__TxnRequest *d = etcdserverpb__txn_request__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_int_equal(d->n_compare, N);
    assert_int_equal(d->n_success, N);
    assert_int_equal(d->n_failure, N);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "k%03d", i);
        assert_bytes(d->compare[i]->key, key, (size_t)n);
        assert_int_equal(d->compare[i]->target_union_case, ETCDSERVERPB__COMPARE__TARGET_UNION_VERSION);
        assert_int_equal(d->compare[i]->version, i);
        assert_int_equal(d->success[i]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT);
        assert_bytes(d->success[i]->request_put->key, key, (size_t)n);
        assert_bytes(d->success[i]->request_put->value, "v", 1);
        assert_int_equal(d->failure[i]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE);
        assert_bytes(d->failure[i]->request_range->key, key, (size_t)n);
    }
    etcdserverpb__txn_request__free_unpacked(d, NULL);
    free(buf);
    etcd_txn_free(t);
}

/* Value compares encode their value; numeric ones their number (they share a union). */
static void test_cmp_round_trip(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_if(t, etcd_cmp_value("a", 1, ETCD_CMP_NOT_EQUAL, "x\0y", 3)), ETCD_OK);
    assert_int_equal(etcd_txn_if(t, etcd_cmp_lease("b", 1, ETCD_CMP_EQUAL, 0)), ETCD_OK);
    etcd_cmp *c = etcd_cmp_create_rev("c", 1, ETCD_CMP_LESS, 12);
    assert_int_equal(etcd_cmp_with_prefix(c), ETCD_OK);
    assert_int_equal(etcd_txn_if(t, c), ETCD_OK);

    size_t len = protobuf_c_message_get_packed_size(&t->req.base);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(&t->req.base, buf);
    Etcdserverpb__TxnRequest *d = etcdserverpb__txn_request__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_int_equal(d->n_compare, 3);
    assert_int_equal(d->compare[0]->result, ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL);
    assert_int_equal(d->compare[0]->target_union_case, ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE);
    assert_bytes(d->compare[0]->value, "x\0y", 3);
    /* lease 0 must still be sent: "no lease" is a meaningful compare. */
    assert_int_equal(d->compare[1]->target, ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE);
    assert_int_equal(d->compare[1]->target_union_case, ETCDSERVERPB__COMPARE__TARGET_UNION_LEASE);
    assert_int_equal(d->compare[1]->lease, 0);
    assert_int_equal(d->compare[2]->create_revision, 12);
    assert_bytes(d->compare[2]->range_end, "d", 1);
    etcdserverpb__txn_request__free_unpacked(d, NULL);
    free(buf);
    etcd_txn_free(t);
}

/* The stack op used to send a caller's txn: it reads the txn and never frees it. */
static void test_wrap_txn(void **state)
{
    (void)state;
    etcd_txn *t = etcd_txn_new();
    assert_int_equal(etcd_txn_then(t, etcd_op_delete("d", 1)), ETCD_OK);
    etcd_op wrapped;
    etcd_op_wrap_txn(&wrapped, t);
    assert_int_equal(etcd_op_get_type(&wrapped), ETCD_OP_TXN);
    assert_ptr_equal(etcd_op_message(&wrapped), &t->req.base);
    assert_int_equal(etcd_op_check(&wrapped, NULL), ETCD_OK);
    assert_int_equal(wrapped.require_leader, -1);

    Etcdserverpb__RequestOp ro;
    etcd_op_to_request_op(&wrapped, &ro);
    assert_int_equal(ro.request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN);
    assert_ptr_equal(ro.request_txn, &t->req);

    /* Its errors are the txn's. */
    assert_int_equal(etcd_txn_then(t, etcd_op_compact(1)), ETCD_E_INVALID_ARGUMENT);
    etcd_error *err = NULL;
    assert_int_equal(etcd_op_check(&wrapped, &err), ETCD_E_INVALID_ARGUMENT);
    assert_contains(etcd_error_message(err), "compact");
    etcd_error_free(err);

    etcd_op_free(&wrapped); /* borrowed: neither the txn nor the stack op is freed */
    assert_int_equal(t->req.n_success, 1);
    etcd_txn_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmp_value),
        cmocka_unit_test(test_cmp_numeric_targets),
        cmocka_unit_test(test_cmp_range_end_and_prefix),
        cmocka_unit_test(test_cmp_errors),
        cmocka_unit_test(test_txn_build),
        cmocka_unit_test(test_empty_txn),
        cmocka_unit_test(test_nested_txn),
        cmocka_unit_test(test_null_from_failed_constructor),
        cmocka_unit_test(test_null_txn_takes_ownership),
        cmocka_unit_test(test_compact_in_txn),
        cmocka_unit_test(test_bad_op_in_txn),
        cmocka_unit_test(test_bad_nested_txn),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_many_ops),
        cmocka_unit_test(test_cmp_round_trip),
        cmocka_unit_test(test_wrap_txn),
    };
    return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
