/* Responses: views over decoded Range/Put/DeleteRange/Txn/Compaction responses and their accessors. */
#include <stdlib.h>

#include <stdbool.h>

#include "unit.h"

#include "kv/response_internal.h"

/* Encodes a message built on the stack and decodes it, as the transport does. */
/* A response as the transport makes it: m packed, then unpacked on the heap or, when the test's
 * state says so, into an arena that the response then owns. */
static etcd_response *respond(void **state, etcd_op_type type, const ProtobufCMessage *m)
{
    bool in_arena = state && *state && *(const bool *)*state;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    etcd_arena *arena = in_arena ? etcd_arena_new(2 * n + 512) : NULL;
    ProtobufCAllocator alloc;
    if (arena)
        alloc = etcd_arena_allocator(arena);
    ProtobufCMessage *out = protobuf_c_message_unpack(m->descriptor, arena ? &alloc : NULL, n, buf);
    free(buf);
    assert_non_null(out);
    return etcd_response_new(type, out, arena);
}

static Etcdserverpb__ResponseHeader header(int64_t rev)
{
    Etcdserverpb__ResponseHeader h;
    etcdserverpb__response_header__init(&h);
    h.cluster_id = 0xc1c1c1c1c1ULL;
    h.member_id = 0x3e3e3eULL;
    h.revision = rev;
    h.raft_term = 9;
    return h;
}

static Mvccpb__KeyValue kv(const char *key, size_t key_len, const char *value, size_t value_len, int64_t rev)
{
    Mvccpb__KeyValue k;
    mvccpb__key_value__init(&k);
    k.key.data = (uint8_t *)key;
    k.key.len = key_len;
    k.value.data = (uint8_t *)value;
    k.value.len = value_len;
    k.create_revision = rev;
    k.mod_revision = rev + 1;
    k.version = 2;
    k.lease = 0x77;
    return k;
}

static void assert_kv(const etcd_keyvalue *k, const char *key, size_t key_len, const char *value, size_t value_len)
{
    assert_non_null(k);
    size_t len = 99;
    const uint8_t *p = etcd_keyvalue_key(k, &len);
    assert_non_null(p);
    assert_int_equal(len, key_len);
    assert_memory_equal(p, key, key_len);
    p = etcd_keyvalue_value(k, &len);
    assert_non_null(p); /* never NULL, even for an empty value */
    assert_int_equal(len, value_len);
    if (value_len)
        assert_memory_equal(p, value, value_len);
    assert_non_null(etcd_keyvalue_key(k, NULL)); /* len is optional */
}

static void test_range_response(void **state)
{
    (void)state;
    Etcdserverpb__ResponseHeader h = header(100);
    Mvccpb__KeyValue a = kv("a\0\xff", 3, "v\0", 2, 5), b = kv("b", 1, "", 0, 7);
    Mvccpb__KeyValue *kvs[] = {&a, &b};
    Etcdserverpb__RangeResponse m;
    etcdserverpb__range_response__init(&m);
    m.header = &h;
    m.kvs = kvs;
    m.n_kvs = 2;
    m.more = 1;
    m.count = 10;

    etcd_response *r = respond(state, ETCD_OP_GET, &m.base);
    assert_non_null(r);
    assert_int_equal(etcd_response_type(r), ETCD_OP_GET);
    assert_int_equal(etcd_response_revision(r), 100);
    assert_int_equal(etcd_response_cluster_id(r), 0xc1c1c1c1c1ULL);
    assert_int_equal(etcd_response_member_id(r), 0x3e3e3eULL);
    assert_int_equal(etcd_response_raft_term(r), 9);
    assert_int_equal(etcd_response_kv_count(r), 2);
    assert_true(etcd_response_more(r));
    assert_int_equal(etcd_response_count(r), 10);
    assert_kv(etcd_response_kv_at(r, 0), "a\0\xff", 3, "v\0", 2);
    assert_kv(etcd_response_kv_at(r, 1), "b", 1, "", 0);
    const etcd_keyvalue *k = etcd_response_kv_at(r, 0);
    assert_int_equal(etcd_keyvalue_create_revision(k), 5);
    assert_int_equal(etcd_keyvalue_mod_revision(k), 6);
    assert_int_equal(etcd_keyvalue_version(k), 2);
    assert_int_equal(etcd_keyvalue_lease(k), 0x77);
    assert_null(etcd_response_kv_at(r, 2));

    /* Accessors for other kinds give 0 / NULL. */
    assert_int_equal(etcd_response_deleted(r), 0);
    assert_int_equal(etcd_response_prev_kv_count(r), 0);
    assert_null(etcd_response_prev_kv_at(r, 0));
    assert_false(etcd_response_succeeded(r));
    assert_int_equal(etcd_response_txn_count(r), 0);
    assert_null(etcd_response_txn_at(r, 0));
    etcd_response_free(r);
}

static void test_put_and_delete_responses(void **state)
{
    (void)state;
    Etcdserverpb__ResponseHeader h = header(8);
    Mvccpb__KeyValue prev = kv("k", 1, "old", 3, 4);
    Etcdserverpb__PutResponse p;
    etcdserverpb__put_response__init(&p);
    p.header = &h;
    etcd_response *r = respond(state, ETCD_OP_PUT, &p.base);
    assert_int_equal(etcd_response_type(r), ETCD_OP_PUT);
    assert_int_equal(etcd_response_revision(r), 8);
    assert_int_equal(etcd_response_prev_kv_count(r), 0); /* no prev-kv asked */
    assert_null(etcd_response_prev_kv_at(r, 0));
    etcd_response_free(r);

    p.prev_kv = &prev;
    r = respond(state, ETCD_OP_PUT, &p.base);
    assert_int_equal(etcd_response_prev_kv_count(r), 1);
    assert_kv(etcd_response_prev_kv_at(r, 0), "k", 1, "old", 3);
    assert_null(etcd_response_prev_kv_at(r, 1));
    assert_int_equal(etcd_response_kv_count(r), 0);
    etcd_response_free(r);

    Mvccpb__KeyValue d1 = kv("x", 1, "1", 1, 2), d2 = kv("y", 1, "2", 1, 3);
    Mvccpb__KeyValue *prevs[] = {&d1, &d2};
    Etcdserverpb__DeleteRangeResponse d;
    etcdserverpb__delete_range_response__init(&d);
    d.header = &h;
    d.deleted = 2;
    d.prev_kvs = prevs;
    d.n_prev_kvs = 2;
    r = respond(state, ETCD_OP_DELETE, &d.base);
    assert_int_equal(etcd_response_type(r), ETCD_OP_DELETE);
    assert_int_equal(etcd_response_deleted(r), 2);
    assert_int_equal(etcd_response_prev_kv_count(r), 2);
    assert_kv(etcd_response_prev_kv_at(r, 0), "x", 1, "1", 1);
    assert_kv(etcd_response_prev_kv_at(r, 1), "y", 1, "2", 1);
    assert_null(etcd_response_prev_kv_at(r, 2));
    etcd_response_free(r);
}

static void test_compaction_response(void **state)
{
    (void)state;
    Etcdserverpb__ResponseHeader h = header(55);
    Etcdserverpb__CompactionResponse c;
    etcdserverpb__compaction_response__init(&c);
    c.header = &h;
    etcd_response *r = respond(state, ETCD_OP_COMPACT, &c.base);
    assert_int_equal(etcd_response_type(r), ETCD_OP_COMPACT);
    assert_int_equal(etcd_response_revision(r), 55);
    assert_int_equal(etcd_response_kv_count(r), 0);
    etcd_response_free(r);
}

/* A txn response: one view per sub-response, nested txns included, and empty ResponseOps. */
static void test_txn_response(void **state)
{
    (void)state;
    Etcdserverpb__ResponseHeader h = header(30), hi = header(30);
    Mvccpb__KeyValue a = kv("a", 1, "1", 1, 1);
    Mvccpb__KeyValue *kvs[] = {&a};

    Etcdserverpb__RangeResponse rr;
    etcdserverpb__range_response__init(&rr);
    rr.header = &hi;
    rr.kvs = kvs;
    rr.n_kvs = 1;
    rr.count = 1;
    Etcdserverpb__PutResponse pr;
    etcdserverpb__put_response__init(&pr);
    pr.header = &hi;
    Etcdserverpb__DeleteRangeResponse dr;
    etcdserverpb__delete_range_response__init(&dr);
    dr.header = &hi;
    dr.deleted = 3;

    /* Inner txn: one range. */
    Etcdserverpb__ResponseOp inner_op;
    etcdserverpb__response_op__init(&inner_op);
    inner_op.response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE;
    inner_op.response_range = &rr;
    Etcdserverpb__ResponseOp *inner_ops[] = {&inner_op};
    Etcdserverpb__TxnResponse inner;
    etcdserverpb__txn_response__init(&inner);
    inner.header = &hi;
    inner.succeeded = 0;
    inner.responses = inner_ops;
    inner.n_responses = 1;

    Etcdserverpb__ResponseOp ops[5];
    for (int i = 0; i < 5; i++)
        etcdserverpb__response_op__init(&ops[i]);
    ops[0].response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE;
    ops[0].response_range = &rr;
    ops[1].response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT;
    ops[1].response_put = &pr;
    ops[2].response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE;
    ops[2].response_delete_range = &dr;
    ops[3].response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_TXN;
    ops[3].response_txn = &inner;
    /* ops[4] left empty */
    Etcdserverpb__ResponseOp *op_ptrs[] = {&ops[0], &ops[1], &ops[2], &ops[3], &ops[4]};
    Etcdserverpb__TxnResponse t;
    etcdserverpb__txn_response__init(&t);
    t.header = &h;
    t.succeeded = 1;
    t.responses = op_ptrs;
    t.n_responses = 5;

    etcd_response *r = respond(state, ETCD_OP_TXN, &t.base);
    assert_non_null(r);
    assert_int_equal(etcd_response_type(r), ETCD_OP_TXN);
    assert_true(etcd_response_succeeded(r));
    assert_int_equal(etcd_response_revision(r), 30);
    assert_int_equal(etcd_response_txn_count(r), 5);

    const etcd_response *s = etcd_response_txn_at(r, 0);
    assert_int_equal(etcd_response_type(s), ETCD_OP_GET);
    assert_int_equal(etcd_response_kv_count(s), 1);
    assert_kv(etcd_response_kv_at(s, 0), "a", 1, "1", 1);
    assert_int_equal(etcd_response_revision(s), 30);

    s = etcd_response_txn_at(r, 1);
    assert_int_equal(etcd_response_type(s), ETCD_OP_PUT);
    assert_int_equal(etcd_response_prev_kv_count(s), 0);

    s = etcd_response_txn_at(r, 2);
    assert_int_equal(etcd_response_type(s), ETCD_OP_DELETE);
    assert_int_equal(etcd_response_deleted(s), 3);

    s = etcd_response_txn_at(r, 3);
    assert_int_equal(etcd_response_type(s), ETCD_OP_TXN);
    assert_false(etcd_response_succeeded(s));
    assert_int_equal(etcd_response_txn_count(s), 1);
    const etcd_response *ss = etcd_response_txn_at(s, 0);
    assert_int_equal(etcd_response_type(ss), ETCD_OP_GET);
    assert_kv(etcd_response_kv_at(ss, 0), "a", 1, "1", 1);
    assert_null(etcd_response_txn_at(s, 1));

    /* An empty ResponseOp reads as an empty response. */
    s = etcd_response_txn_at(r, 4);
    assert_non_null(s);
    assert_int_equal(etcd_response_kv_count(s), 0);
    assert_int_equal(etcd_response_revision(s), 0);

    assert_null(etcd_response_txn_at(r, 5));
    etcd_response_free(r); /* frees the views and the message */
}

static void test_null_response_and_kv(void **state)
{
    (void)state;
    assert_int_equal(etcd_response_revision(NULL), 0);
    assert_int_equal(etcd_response_cluster_id(NULL), 0);
    assert_int_equal(etcd_response_kv_count(NULL), 0);
    assert_null(etcd_response_kv_at(NULL, 0));
    assert_false(etcd_response_more(NULL));
    assert_int_equal(etcd_response_count(NULL), 0);
    assert_int_equal(etcd_response_deleted(NULL), 0);
    assert_int_equal(etcd_response_prev_kv_count(NULL), 0);
    assert_false(etcd_response_succeeded(NULL));
    assert_int_equal(etcd_response_txn_count(NULL), 0);
    assert_null(etcd_response_txn_at(NULL, 0));
    etcd_response_free(NULL);

    size_t len = 99;
    assert_null(etcd_keyvalue_key(NULL, &len));
    assert_int_equal(len, 0);
    len = 99;
    assert_null(etcd_keyvalue_value(NULL, &len));
    assert_int_equal(len, 0);
    assert_int_equal(etcd_keyvalue_lease(NULL), 0);
    assert_int_equal(etcd_keyvalue_version(NULL), 0);
}

/* A response without a header reads revision 0 instead of crashing. */
static void test_missing_header(void **state)
{
    (void)state;
    Etcdserverpb__RangeResponse m;
    etcdserverpb__range_response__init(&m);
    etcd_response *r = respond(state, ETCD_OP_GET, &m.base);
    assert_non_null(r);
    assert_int_equal(etcd_response_revision(r), 0);
    assert_int_equal(etcd_response_member_id(r), 0);
    assert_int_equal(etcd_response_kv_count(r), 0);
    etcd_response_free(r);
}

int main(void)
{
    static const bool heap = false, in_arena = true;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_range_response, (void *)&heap),
        cmocka_unit_test_prestate(test_range_response, (void *)&in_arena),
        cmocka_unit_test_prestate(test_put_and_delete_responses, (void *)&heap),
        cmocka_unit_test_prestate(test_put_and_delete_responses, (void *)&in_arena),
        cmocka_unit_test_prestate(test_compaction_response, (void *)&heap),
        cmocka_unit_test_prestate(test_compaction_response, (void *)&in_arena),
        cmocka_unit_test_prestate(test_txn_response, (void *)&heap),
        cmocka_unit_test_prestate(test_txn_response, (void *)&in_arena),
        cmocka_unit_test(test_null_response_and_kv),
        cmocka_unit_test_prestate(test_missing_header, (void *)&heap),
        cmocka_unit_test_prestate(test_missing_header, (void *)&in_arena),
    };
    return cmocka_run_group_tests_name("response", tests, NULL, NULL);
}
