/*
 * The direct WatchResponse reader (lib/watch/watch_decode.c) against protobuf-c: on every
 * message it reads it must give exactly what protobuf-c gives, and it must read nothing
 * protobuf-c refuses. Random messages, every prefix of them, and bytes flipped at random.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "watch/watch_decode.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A value from a spread that reaches the varint edge cases: 0, small, negative, huge. */
static int64_t any_int(void)
{
    switch (next_rand() % 5) {
    case 0:
        return 0;
    case 1:
        return (int64_t)(next_rand() % 300);
    case 2:
        return -(int64_t)(next_rand() % 1000) - 1;
    case 3:
        return INT64_MAX - (int64_t)(next_rand() % 3);
    default:
        return (int64_t)next_rand();
    }
}

static uint8_t pool[4096];

static ProtobufCBinaryData any_bytes(void)
{
    size_t n = next_rand() % 4 == 0 ? 0 : next_rand() % 300;
    return (ProtobufCBinaryData){n, n ? pool + next_rand() % (sizeof pool - n) : NULL};
}

static void fill_kv(Mvccpb__KeyValue *kv)
{
    mvccpb__key_value__init(kv);
    kv->key = any_bytes();
    kv->value = any_bytes();
    kv->create_revision = any_int();
    kv->mod_revision = any_int();
    kv->version = any_int();
    kv->lease = any_int();
}

/* Packs a random WatchResponse into *out (malloc'd). */
static size_t random_message(uint8_t **out)
{
    Etcdserverpb__WatchResponse m = ETCDSERVERPB__WATCH_RESPONSE__INIT;
    Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
    enum { MAX_EV = 12 };
    Mvccpb__Event evs[MAX_EV], *ptrs[MAX_EV];
    Mvccpb__KeyValue kvs[MAX_EV], prevs[MAX_EV];
    if (next_rand() % 4) {
        h.cluster_id = (uint64_t)any_int();
        h.member_id = (uint64_t)any_int();
        h.revision = any_int();
        h.raft_term = (uint64_t)any_int();
        m.header = &h;
    }
    m.watch_id = any_int();
    m.created = next_rand() % 3 == 0;
    m.canceled = next_rand() % 5 == 0;
    m.compact_revision = next_rand() % 4 == 0 ? any_int() : 0;
    m.fragment = next_rand() % 4 == 0;
    char reason[40];
    if (next_rand() % 4 == 0) {
        snprintf(reason, sizeof reason, "reason %llu", (unsigned long long)(next_rand() % 1000));
        m.cancel_reason = reason;
    }
    m.n_events = next_rand() % (MAX_EV + 1);
    for (size_t i = 0; i < m.n_events; i++) {
        mvccpb__event__init(&evs[i]);
        evs[i].type = next_rand() % 2 ? MVCCPB__EVENT__EVENT_TYPE__DELETE : MVCCPB__EVENT__EVENT_TYPE__PUT;
        if (next_rand() % 8) {
            fill_kv(&kvs[i]);
            evs[i].kv = &kvs[i];
        }
        if (next_rand() % 3 == 0) {
            fill_kv(&prevs[i]);
            evs[i].prev_kv = &prevs[i];
        }
        ptrs[i] = &evs[i];
    }
    m.events = ptrs;
    size_t n = protobuf_c_message_get_packed_size(&m.base);
    *out = malloc(n ? n : 1);
    protobuf_c_message_pack(&m.base, *out);
    return n;
}

static void assert_same_bytes(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_memory_equal(a.data, b.data, a.len);
}

static void assert_same_kv(const Mvccpb__KeyValue *a, const Mvccpb__KeyValue *b)
{
    assert_true((a == NULL) == (b == NULL));
    if (!a)
        return;
    assert_same_bytes(a->key, b->key);
    assert_same_bytes(a->value, b->value);
    assert_int_equal(a->create_revision, b->create_revision);
    assert_int_equal(a->mod_revision, b->mod_revision);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->lease, b->lease);
}

static void assert_same(const Etcdserverpb__WatchResponse *a, const Etcdserverpb__WatchResponse *b)
{
    assert_true((a->header == NULL) == (b->header == NULL));
    if (a->header) {
        assert_int_equal(a->header->cluster_id, b->header->cluster_id);
        assert_int_equal(a->header->member_id, b->header->member_id);
        assert_int_equal(a->header->revision, b->header->revision);
        assert_int_equal(a->header->raft_term, b->header->raft_term);
    }
    assert_int_equal(a->watch_id, b->watch_id);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->canceled, b->canceled);
    assert_int_equal(a->compact_revision, b->compact_revision);
    assert_int_equal(a->fragment, b->fragment);
    assert_string_equal(a->cancel_reason, b->cancel_reason);
    assert_int_equal(a->n_events, b->n_events);
    for (size_t i = 0; i < a->n_events; i++) {
        assert_int_equal(a->events[i]->type, b->events[i]->type);
        assert_same_kv(a->events[i]->kv, b->events[i]->kv);
        assert_same_kv(a->events[i]->prev_kv, b->events[i]->prev_kv);
    }
}

/* The property: whatever the direct reader reads, protobuf-c reads the same; what protobuf-c
 * refuses, the direct reader refuses. Returns whether the direct reader read it. */
static bool check(const uint8_t *data, size_t len)
{
    etcd_arena *a;
    Etcdserverpb__WatchResponse *mine = etcd_watch_decode_direct(data, len, &a);
    Etcdserverpb__WatchResponse *ref = etcdserverpb__watch_response__unpack(NULL, len, data);
    if (mine) {
        if (!ref)
            fail_msg("the direct reader accepted %zu bytes protobuf-c refuses", len);
        assert_same(mine, ref);
        /* Nothing points into the caller's buffer: the response outlives it. */
        for (size_t i = 0; i < mine->n_events; i++)
            if (mine->events[i]->kv && mine->events[i]->kv->key.len)
                assert_true(mine->events[i]->kv->key.data < data || mine->events[i]->kv->key.data >= data + len);
    }
    /* The same bytes in a buffer of their own, handed over: read alike, and read in place. */
    etcd_arena *ga, *oa;
    etcd_code code;
    const char *why;
    Etcdserverpb__WatchResponse *gen = etcd_watch_decode(data, len, &ga, &code, &why);
    uint8_t *own = malloc(len ? len : 1);
    assert_non_null(own);
    memcpy(own, data, len);
    Etcdserverpb__WatchResponse *owned = etcd_watch_decode_owned(own, len, &oa, &code, &why);
    assert_int_equal(owned != NULL, gen != NULL);
    if (owned) {
        assert_same(owned, gen);
        if (mine)
            for (size_t i = 0; i < owned->n_events; i++)
                if (owned->events[i]->kv && owned->events[i]->kv->key.len)
                    assert_true(owned->events[i]->kv->key.data >= own && owned->events[i]->kv->key.data < own + len);
    } else {
        assert_null(oa);
    }
    etcd_arena_free(oa); /* frees own when it was taken; ASan catches a leak or a double free */
    etcd_arena_free(ga);
    if (ref)
        etcdserverpb__watch_response__free_unpacked(ref, NULL);
    etcd_arena_free(a);
    return mine != NULL;
}

static void test_random_messages_read_as_protobuf_c_reads_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)next_rand();
    for (int round = 0; round < 2000; round++) {
        uint8_t *msg;
        size_t n = random_message(&msg);
        /* Well-formed messages of the known shape are read directly, not handed on. */
        assert_true(check(msg, n));
        free(msg);
    }
}

static void test_every_prefix_is_read_or_refused_as_protobuf_c_does(void **state)
{
    (void)state;
    for (int round = 0; round < 100; round++) {
        uint8_t *msg;
        size_t n = random_message(&msg);
        for (size_t cut = 0; cut <= n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, msg, cut);
            check(copy, cut);
            free(copy);
        }
        free(msg);
    }
}

static void test_flipped_bytes_never_read_differently(void **state)
{
    (void)state;
    for (int round = 0; round < 3000; round++) {
        uint8_t *msg;
        size_t n = random_message(&msg);
        if (n) {
            for (int flips = 1 + (int)(next_rand() % 3); flips > 0; flips--)
                msg[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
            check(msg, n);
        }
        free(msg);
    }
}

static void test_unknown_or_merged_fields_go_to_protobuf_c(void **state)
{
    (void)state;
    etcd_arena *a;
    etcd_code code;
    const char *why;
    /* watch_id = 5, then an unknown varint field 99: the generic path reads it. */
    const uint8_t unknown[] = {0x10, 0x05, 0x98, 0x06, 0x01};
    assert_null(etcd_watch_decode_direct(unknown, sizeof unknown, &a));
    Etcdserverpb__WatchResponse *m = etcd_watch_decode(unknown, sizeof unknown, &a, &code, &why);
    assert_non_null(m);
    assert_int_equal(m->watch_id, 5);
    etcd_arena_free(a);
    /* The header twice (revision 7, then raft_term 2): protobuf says merge, protobuf-c keeps
     * the last; either way it is protobuf-c's to decide. */
    const uint8_t twice[] = {0x0a, 0x02, 0x18, 0x07, 0x0a, 0x02, 0x20, 0x02};
    assert_null(etcd_watch_decode_direct(twice, sizeof twice, &a));
    m = etcd_watch_decode(twice, sizeof twice, &a, &code, &why);
    assert_non_null(m);
    Etcdserverpb__WatchResponse *ref = etcdserverpb__watch_response__unpack(NULL, sizeof twice, twice);
    assert_same(m, ref);
    assert_int_equal(m->header->raft_term, 2);
    etcdserverpb__watch_response__free_unpacked(ref, NULL);
    etcd_arena_free(a);
    /* Garbage: refused with the generic path's reason. */
    const uint8_t bad[] = {0x5a, 0x7f, 0x01};
    assert_null(etcd_watch_decode(bad, sizeof bad, &a, &code, &why));
    assert_null(a);
    assert_int_equal(code, ETCD_E_PROTOCOL);
    assert_non_null(why);
}

static void test_empty_message(void **state)
{
    (void)state;
    etcd_arena *a;
    Etcdserverpb__WatchResponse *m = etcd_watch_decode_direct((const uint8_t *)"", 0, &a);
    assert_non_null(m);
    assert_null(m->header);
    assert_int_equal(m->n_events, 0);
    assert_string_equal(m->cancel_reason, "");
    etcd_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_messages_read_as_protobuf_c_reads_them),
        cmocka_unit_test(test_every_prefix_is_read_or_refused_as_protobuf_c_does),
        cmocka_unit_test(test_flipped_bytes_never_read_differently),
        cmocka_unit_test(test_unknown_or_merged_fields_go_to_protobuf_c),
        cmocka_unit_test(test_empty_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
