/* The wire check that runs before a response is unpacked: nesting bound and framing. */
#include <stdlib.h>

#include "unit.h"

#include <etcdc/op.h>
#include <etcdc/txn.h>

#include "kv/op_internal.h"
#include "kv/response_internal.h"
#include "rpc.pb-c.h"
#include "rpc/depth.h"
#include "transport/decode.h"

/* A growable byte buffer for hand-built wire data. */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put_byte(buf *b, uint8_t c)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    b->p[b->n++] = c;
}

static void put_varint(buf *b, uint64_t v)
{
    do {
        put_byte(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

static void put_bytes(buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_byte(b, p[i]);
}

/* Field `num`, wire type 2, holding `inner`'s bytes. */
static void put_len_field(buf *b, unsigned num, const buf *inner)
{
    put_varint(b, (uint64_t)num << 3 | 2);
    put_varint(b, inner->n);
    put_bytes(b, inner->p, inner->n);
}

#define TXN_RESPONSES 3   /* TxnResponse.responses (ResponseOp) */
#define OP_TXN 4          /* ResponseOp.response_txn (TxnResponse) */
#define RANGE_KVS 2       /* RangeResponse.kvs (KeyValue) */
#define KV_KEY 1          /* KeyValue.key (bytes) */

/* A TxnResponse exactly `depth` message levels deep: TxnResponse, ResponseOp, TxnResponse, ...
 * Odd levels are TxnResponses, even ones ResponseOps; the innermost is a TxnResponse with
 * succeeded set, or an empty ResponseOp. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

static buf txn_chain(unsigned depth)
{
    /* Sizes from the innermost level out, then the bytes from the top in: linear, not
     * quadratic, for chains thousands of levels deep. */
    size_t *size = calloc(depth + 1, sizeof *size);
    assert_non_null(size);
    size[depth] = depth % 2 == 1 ? 2 : 0;
    for (unsigned level = depth - 1; level >= 1; level--)
        size[level] = 1 + varint_len(size[level + 1]) + size[level + 1];
    buf b = {0};
    for (unsigned level = 1; level < depth; level++) {
        put_varint(&b, (uint64_t)(level % 2 == 1 ? TXN_RESPONSES : OP_TXN) << 3 | 2);
        put_varint(&b, size[level + 1]);
    }
    if (depth % 2 == 1) {
        put_byte(&b, 0x10); /* TxnResponse.succeeded = 1 */
        put_byte(&b, 0x01);
    }
    assert_int_equal(b.n, size[1]);
    free(size);
    return b;
}

static etcd_wire_verdict check_txn(const buf *b, unsigned max)
{
    return etcd_wire_check(&etcdserverpb__txn_response__descriptor, b->p, b->n, max);
}

static void shallow_ok(void **state)
{
    (void)state;
    /* A real RangeResponse packed by protobuf-c: header, two kvs, more, count (depth 2). */
    Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
    h.revision = 7;
    Mvccpb__KeyValue k1 = MVCCPB__KEY_VALUE__INIT, k2 = MVCCPB__KEY_VALUE__INIT;
    k1.key = (ProtobufCBinaryData){1, (uint8_t *)"a"};
    k1.value = (ProtobufCBinaryData){3, (uint8_t *)"one"};
    k1.mod_revision = 1ll << 40; /* a long varint */
    k2.key = (ProtobufCBinaryData){1, (uint8_t *)"b"};
    k2.lease = -1;               /* ten-byte varint */
    Mvccpb__KeyValue *kvs[] = {&k1, &k2};
    Etcdserverpb__RangeResponse r = ETCDSERVERPB__RANGE_RESPONSE__INIT;
    r.header = &h;
    r.kvs = kvs;
    r.n_kvs = 2;
    r.more = 1;
    r.count = 2;
    uint8_t wire[256];
    size_t n = protobuf_c_message_pack(&r.base, wire);
    assert_true(n < sizeof wire);
    assert_int_equal(etcd_wire_check(&etcdserverpb__range_response__descriptor, wire, n, ETCD_MAX_MESSAGE_DEPTH),
                     ETCD_WIRE_OK);
    assert_int_equal(etcd_wire_check(&etcdserverpb__range_response__descriptor, wire, n, 2), ETCD_WIRE_OK);
    assert_int_equal(etcd_wire_check(&etcdserverpb__range_response__descriptor, wire, n, 1), ETCD_WIRE_TOO_DEEP);
    assert_null(etcd_response_wire_problem(&etcdserverpb__range_response__descriptor, wire, n));
    /* An empty message is fine, with or without a buffer. */
    assert_int_equal(etcd_wire_check(&etcdserverpb__range_response__descriptor, NULL, 0, 1), ETCD_WIRE_OK);
}

static void at_bound_ok_one_more_refused(void **state)
{
    (void)state;
    for (unsigned max = 1; max <= 9; max++) {
        buf at = txn_chain(max), over = txn_chain(max + 1);
        assert_int_equal(check_txn(&at, max), ETCD_WIRE_OK);
        assert_int_equal(check_txn(&over, max), ETCD_WIRE_TOO_DEEP);
        free(at.p);
        free(over.p);
    }
    buf at = txn_chain(ETCD_MAX_MESSAGE_DEPTH), over = txn_chain(ETCD_MAX_MESSAGE_DEPTH + 1);
    assert_null(etcd_response_wire_problem(&etcdserverpb__txn_response__descriptor, at.p, at.n));
    const char *why = etcd_response_wire_problem(&etcdserverpb__txn_response__descriptor, over.p, over.n);
    assert_non_null(why);
    assert_string_equal(why, "response nested deeper than 64 levels");
    /* What the check lets through, protobuf-c unpacks. */
    ProtobufCMessage *m = protobuf_c_message_unpack(&etcdserverpb__txn_response__descriptor, NULL, at.n, at.p);
    assert_non_null(m);
    protobuf_c_message_free_unpacked(m, NULL);
    free(at.p);
    free(over.p);
}

/* Far past what would overflow protobuf-c's recursion: refused, using no stack for it. */
static void very_deep_refused(void **state)
{
    (void)state;
    buf b = txn_chain(20000);
    assert_int_equal(check_txn(&b, ETCD_MAX_MESSAGE_DEPTH), ETCD_WIRE_TOO_DEEP);
    /* The cap holds whatever bound is asked for. */
    assert_int_equal(check_txn(&b, 100000), ETCD_WIRE_TOO_DEEP);
    free(b.p);
}

static void truncated_refused(void **state)
{
    (void)state;
    buf b = txn_chain(7);
    assert_int_equal(check_txn(&b, 64), ETCD_WIRE_OK);
    /* The whole chain is one top-level field: every shorter prefix cuts a length short. */
    for (size_t n = 1; n < b.n; n++)
        assert_int_equal(etcd_wire_check(&etcdserverpb__txn_response__descriptor, b.p, n, 64), ETCD_WIRE_MALFORMED);
    free(b.p);

    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t n;
    } bad[] = {
        {"varint value cut", {0x10, 0x80}, 2},
        {"tag cut", {0x80}, 1},
        {"length cut", {0x1a, 0x80}, 2},
        {"length past the end", {0x1a, 0x05, 0x10, 0x01}, 4},
        {"fixed64 cut", {0x79, 1, 2, 3, 4, 5, 6, 7}, 8},   /* field 15, wire type 1 */
        {"fixed32 cut", {0x7d, 1, 2, 3}, 4},               /* field 15, wire type 5 */
        {"varint of 11 bytes", {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
        {"field number 0", {0x00, 0x00}, 2},
        {"wire type 6", {0x7e, 0x00}, 2},
        {"group", {0x7b, 0x7c}, 2},
        /* A ResponseOp whose TxnResponse claims more bytes than the ResponseOp holds. */
        {"inner length past its parent", {0x1a, 0x02, 0x22, 0x05, 0x10, 0x01, 0x10, 0x01}, 8},
        /* The same, with bytes after the parent that would parse as the child's. */
        {"inner length past its parent, then valid bytes", {0x1a, 0x02, 0x22, 0x02, 0x10, 0x01}, 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* In a buffer of its exact size, so that a sanitizer sees any read past the end. */
        uint8_t *exact = malloc(bad[i].n);
        assert_non_null(exact);
        memcpy(exact, bad[i].bytes, bad[i].n);
        etcd_wire_verdict v = etcd_wire_check(&etcdserverpb__txn_response__descriptor, exact, bad[i].n, 64);
        free(exact);
        if (v != ETCD_WIRE_MALFORMED)
            fail_msg("%s: verdict %d, expected malformed", bad[i].what, (int)v);
    }
    assert_string_equal(etcd_response_wire_problem(&etcdserverpb__txn_response__descriptor, bad[0].bytes, bad[0].n),
                        "malformed response");
}

/* Fields the descriptor does not know are skipped by wire type, never entered. */
static void unknown_fields_skipped(void **state)
{
    (void)state;
    buf deep = txn_chain(200);
    buf b = {0};
    put_varint(&b, 15u << 3 | 0); /* varint */
    put_varint(&b, 300);
    put_varint(&b, 16u << 3 | 1); /* fixed64 */
    put_bytes(&b, (const uint8_t *)"12345678", 8);
    put_varint(&b, 17u << 3 | 5); /* fixed32 */
    put_bytes(&b, (const uint8_t *)"1234", 4);
    put_len_field(&b, 99999, &deep); /* looks like a deep message, but the field is unknown */
    put_byte(&b, 0x10);
    put_byte(&b, 0x01);
    assert_int_equal(check_txn(&b, 1), ETCD_WIRE_OK);
    ProtobufCMessage *m = protobuf_c_message_unpack(&etcdserverpb__txn_response__descriptor, NULL, b.n, b.p);
    assert_non_null(m);
    assert_true(((Etcdserverpb__TxnResponse *)m)->succeeded);
    protobuf_c_message_free_unpacked(m, NULL);
    free(deep.p);
    free(b.p);
}

/* A bytes field is data, whatever it looks like: a key holding a deep chain adds no depth. */
static void bytes_not_counted(void **state)
{
    (void)state;
    buf deep = txn_chain(200);
    buf kv = {0};
    put_len_field(&kv, KV_KEY, &deep);
    buf range = {0};
    put_len_field(&range, RANGE_KVS, &kv);
    assert_int_equal(etcd_wire_check(&etcdserverpb__range_response__descriptor, range.p, range.n, 2), ETCD_WIRE_OK);
    /* The same bytes as a message field are counted: the chain really is deep. */
    buf op = {0};
    put_len_field(&op, OP_TXN, &deep);
    assert_int_equal(etcd_wire_check(&etcdserverpb__response_op__descriptor, op.p, op.n, 64), ETCD_WIRE_TOO_DEEP);
    free(deep.p);
    free(kv.p);
    free(range.p);
    free(op.p);
}

/* Several siblings at the bound, each popped back correctly before the next. */
static void siblings_each_within_bound(void **state)
{
    (void)state;
    buf one = txn_chain(5); /* a TxnResponse 5 deep */
    buf op = {0};
    put_len_field(&op, OP_TXN, &one); /* ResponseOp: 6 deep */
    buf top = {0};
    for (int i = 0; i < 3; i++)
        put_len_field(&top, TXN_RESPONSES, &op); /* three of them: 7 deep, not 3 x 6 */
    assert_int_equal(check_txn(&top, 7), ETCD_WIRE_OK);
    assert_int_equal(check_txn(&top, 6), ETCD_WIRE_TOO_DEEP);
    free(one.p);
    free(op.p);
    free(top.p);
}

static void bounds_fit_each_other(void **state)
{
    (void)state;
    /* A txn nested ETCD_MAX_TXN_NESTING levels answers with 2k + 2 levels: within the bound. */
    assert_true(2 * ETCD_MAX_TXN_NESTING + 2 <= ETCD_MAX_MESSAGE_DEPTH);
    assert_true(2 * (ETCD_MAX_TXN_NESTING + 1) + 2 > ETCD_MAX_MESSAGE_DEPTH);
    /* The deepest TxnResponse the check lets through sits at 2k - 1. */
    assert_true(2 * ETCD_MAX_RESPONSE_TXN_LEVELS - 1 <= ETCD_MAX_MESSAGE_DEPTH);
    assert_true(2 * (ETCD_MAX_RESPONSE_TXN_LEVELS + 1) - 1 > ETCD_MAX_MESSAGE_DEPTH);
    assert_true(ETCD_MAX_MESSAGE_DEPTH <= ETCD_WIRE_DEPTH_CAP);
}

/* Txn views recurse once per level: as deep as the wire check lets through, and no deeper. */
static etcd_response *nested_txn_response(unsigned levels, Etcdserverpb__TxnResponse *txns,
                                          Etcdserverpb__ResponseOp *ops, Etcdserverpb__ResponseOp **op_ptrs,
                                          etcd_wire_verdict want)
{
    for (unsigned i = 0; i < levels; i++) {
        etcdserverpb__txn_response__init(&txns[i]);
        txns[i].succeeded = 1;
        if (i + 1 < levels) {
            etcdserverpb__response_op__init(&ops[i]);
            ops[i].response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_TXN;
            ops[i].response_txn = &txns[i + 1];
            op_ptrs[i] = &ops[i];
            txns[i].responses = &op_ptrs[i];
            txns[i].n_responses = 1;
        }
    }
    size_t n = protobuf_c_message_get_packed_size(&txns[0].base);
    uint8_t *wire = malloc(n ? n : 1);
    assert_non_null(wire);
    protobuf_c_message_pack(&txns[0].base, wire);
    assert_int_equal(etcd_wire_check(&etcdserverpb__txn_response__descriptor, wire, n, ETCD_MAX_MESSAGE_DEPTH), want);
    etcd_arena *arena = etcd_arena_new(2 * n + 512);
    assert_non_null(arena);
    ProtobufCAllocator alloc = etcd_arena_allocator(arena);
    ProtobufCMessage *m = protobuf_c_message_unpack(&etcdserverpb__txn_response__descriptor, &alloc, n, wire);
    free(wire);
    assert_non_null(m);
    return etcd_response_new(ETCD_OP_TXN, m, arena);
}

static void response_views_bounded(void **state)
{
    (void)state;
    enum { MAX = ETCD_MAX_RESPONSE_TXN_LEVELS + 1 };
    Etcdserverpb__TxnResponse txns[MAX];
    Etcdserverpb__ResponseOp ops[MAX], *op_ptrs[MAX];

    etcd_response *r = nested_txn_response(ETCD_MAX_RESPONSE_TXN_LEVELS, txns, ops, op_ptrs, ETCD_WIRE_OK);
    assert_non_null(r);
    const etcd_response *v = r;
    for (unsigned level = 1; level < ETCD_MAX_RESPONSE_TXN_LEVELS; level++) {
        assert_int_equal(etcd_response_txn_count(v), 1);
        v = etcd_response_txn_at(v, 0);
        assert_int_equal(etcd_response_type(v), ETCD_OP_TXN);
    }
    assert_int_equal(etcd_response_txn_count(v), 0);
    assert_true(etcd_response_succeeded(v));
    etcd_response_free(r);

    /* One level more cannot have passed the wire check; the views refuse it as well. */
    assert_null(nested_txn_response(ETCD_MAX_RESPONSE_TXN_LEVELS + 1, txns, ops, op_ptrs, ETCD_WIRE_TOO_DEEP));
}

/* A txn `levels` deep: each level's then-branch holds the next; the innermost gets "k". Its
 * innermost txn is returned through *inner (still owned by the chain). */
static etcd_txn *txn_nest(unsigned levels, etcd_txn **inner)
{
    etcd_txn *t = etcd_txn_new();
    assert_non_null(t);
    assert_int_equal(etcd_txn_then(t, etcd_op_get("k", 1)), ETCD_OK);
    if (inner)
        *inner = t;
    for (unsigned i = 1; i < levels; i++) {
        etcd_txn *outer = etcd_txn_new();
        assert_non_null(outer);
        assert_int_equal(etcd_txn_then(outer, etcd_op_txn(t)), ETCD_OK);
        t = outer;
    }
    return t;
}

static void request_nesting_bounded(void **state)
{
    (void)state;
    etcd_error *err = NULL;
    etcd_txn *t = txn_nest(ETCD_MAX_TXN_NESTING, NULL);
    assert_int_equal(etcd_txn_check(t, &err), ETCD_OK);
    /* One level more is refused when it is added, and stays refused. */
    etcd_txn *outer = etcd_txn_new();
    assert_int_equal(etcd_txn_then(outer, etcd_op_txn(t)), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_txn_check(outer, &err), ETCD_E_INVALID_ARGUMENT);
    assert_contains(etcd_error_message(err), "nested deeper than 31 levels");
    etcd_error_free(err);
    err = NULL;
    etcd_txn_free(outer);

    /* Growing a nested txn through its own handle: the whole is checked again when sent. */
    etcd_txn *inner;
    t = txn_nest(ETCD_MAX_TXN_NESTING, &inner);
    assert_int_equal(etcd_txn_then(inner, etcd_op_txn(txn_nest(1, NULL))), ETCD_OK);
    assert_int_equal(etcd_txn_check(t, &err), ETCD_E_INVALID_ARGUMENT);
    assert_contains(etcd_error_message(err), "nested deeper than 31 levels");
    etcd_error_free(err);
    err = NULL;
    etcd_txn_free(t);

    /* Width is not depth: many nested txns side by side, in both branches. */
    t = etcd_txn_new();
    for (int i = 0; i < 20; i++) {
        assert_int_equal(etcd_txn_then(t, etcd_op_txn(txn_nest(ETCD_MAX_TXN_NESTING - 1, NULL))), ETCD_OK);
        assert_int_equal(etcd_txn_else(t, etcd_op_txn(txn_nest(ETCD_MAX_TXN_NESTING - 1, NULL))), ETCD_OK);
    }
    assert_int_equal(etcd_txn_check(t, &err), ETCD_OK);
    /* ...but one branch one level deeper than the rest is found, wherever it is. */
    assert_int_equal(etcd_txn_else(t, etcd_op_txn(txn_nest(ETCD_MAX_TXN_NESTING, NULL))), ETCD_E_INVALID_ARGUMENT);
    etcd_txn_free(t);

    /* The deepest request allowed packs to within the response bound, with room for the answer's
     * two extra levels (a RangeResponse's KeyValue): request depth 2k + 1, answer 2k + 2. */
    t = txn_nest(ETCD_MAX_TXN_NESTING, NULL);
    const ProtobufCMessage *m = &t->req.base;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *wire = malloc(n);
    assert_non_null(wire);
    protobuf_c_message_pack(m, wire);
    assert_int_equal(etcd_wire_check(&etcdserverpb__txn_request__descriptor, wire, n, 2 * ETCD_MAX_TXN_NESTING + 1),
                     ETCD_WIRE_OK);
    assert_int_equal(etcd_wire_check(&etcdserverpb__txn_request__descriptor, wire, n, 2 * ETCD_MAX_TXN_NESTING),
                     ETCD_WIRE_TOO_DEEP);
    free(wire);
    etcd_txn_free(t);
}

/* Schemas without a cycle (a watch response: events, key-values) cannot nest deeper than they
 * are written, so their answers skip the scan; protobuf-c still refuses truncated ones. A
 * recursive schema (txn) is always scanned. */
static void acyclic_schema_skips_scan(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0x5a, 0xff, 0xff, 0xff};   /* field 11, length past the end */
    assert_null(etcd_response_wire_problem(&etcdserverpb__watch_response__descriptor, junk, sizeof junk));
    etcd_arena *arena;
    etcd_code code;
    const char *why;
    assert_null(etcd_decode_bytes(&etcdserverpb__watch_response__descriptor, junk, sizeof junk, &arena, &code, &why));
    assert_int_equal(code, ETCD_E_PROTOCOL);
    assert_null(arena);
    assert_non_null(why);
    assert_non_null(etcd_response_wire_problem(&etcdserverpb__txn_response__descriptor, junk, sizeof junk));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shallow_ok),
        cmocka_unit_test(acyclic_schema_skips_scan),
        cmocka_unit_test(at_bound_ok_one_more_refused),
        cmocka_unit_test(very_deep_refused),
        cmocka_unit_test(truncated_refused),
        cmocka_unit_test(unknown_fields_skipped),
        cmocka_unit_test(bytes_not_counted),
        cmocka_unit_test(siblings_each_within_bound),
        cmocka_unit_test(bounds_fit_each_other),
        cmocka_unit_test(response_views_bounded),
        cmocka_unit_test(request_nesting_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
