/*
 * Unary KV requests (and lease grants) kept in flight: each slot is one request at a time; its completion checks the
 * answer and starts the slot's next request, so `inflight` requests stay in flight without a
 * thread per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

typedef struct kv_runner kv_runner;

typedef struct kv_slot {
    bare_tag tag;
    kv_runner *r;
    grpc_call *call;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array init_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    uint64_t idx, t0;
    bare_arena *arena;
} kv_slot;

struct kv_runner {
    bare_conn *c;
    const kv_spec *s;
    bool fixed;                 /* the same request every time (get, sget, one put), packed once */
    grpc_slice fixed_req;
    size_t prefix_len;
    uint64_t n, next, done, errors;
    int64_t rev;                /* the header revision of the last put answered */
    bool finished, reported;
};

static void report(kv_runner *r, const char *what, const kv_slot *sl)
{
    r->errors++;
    if (r->reported)
        return; /* one message is enough to see what goes wrong */
    r->reported = true;
    if (sl && sl->status != GRPC_STATUS_OK)
        fprintf(stderr, "request %llu: %s: status %d: %.*s\n", (unsigned long long)sl->idx, what, (int)sl->status,
                (int)GRPC_SLICE_LENGTH(sl->details), (const char *)GRPC_SLICE_START_PTR(sl->details));
    else
        fprintf(stderr, "request %llu: %s\n", sl ? (unsigned long long)sl->idx : 0ull, what);
}

static grpc_byte_buffer *put_request(kv_runner *r, uint64_t i)
{
    char key[64];
    memcpy(key, r->s->key_prefix, r->prefix_len);
    size_t n = r->prefix_len;
    if (i < 10000000000ull) {
        for (int d = 9; d >= 0; d--) {
            key[n + (size_t)d] = (char)('0' + i % 10);
            i /= 10;
        }
        n += 10;
    } else
        n += (size_t)snprintf(key + n, sizeof key - n, "%llu", (unsigned long long)i);
    Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
    req.key = (ProtobufCBinaryData){.len = n, .data = (uint8_t *)key};
    req.value = (ProtobufCBinaryData){.len = r->s->val_size, .data = (uint8_t *)r->s->val};
    grpc_slice s = bare_pack(&req.base);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static void slot_done(bare_tag *tag, bool ok);

static void slot_start(kv_slot *sl)
{
    kv_runner *r = sl->r;
    sl->idx = r->next++;
    bool put = r->s->kind == KV_PUT;
    sl->send = r->fixed ? grpc_raw_byte_buffer_create(&r->fixed_req, 1) : put_request(r, sl->idx);
    sl->recv = NULL;
    sl->details = grpc_empty_slice();
    grpc_metadata_array_init(&sl->init_md);
    grpc_metadata_array_init(&sl->trailing_md);
    sl->t0 = bare_now_ns();
    sl->call = bare_conn_call(r->c, put ? BARE_PUT : r->s->kind == KV_GRANT ? BARE_LEASE_GRANT : BARE_RANGE);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = sl->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &sl->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &sl->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &sl->trailing_md;
    ops[5].data.recv_status_on_client.status = &sl->status;
    ops[5].data.recv_status_on_client.status_details = &sl->details;
    if (!sl->call || grpc_call_start_batch(sl->call, ops, 6, &sl->tag, NULL) != GRPC_CALL_OK) {
        /* No completion will come: answer it here. */
        sl->status = GRPC_STATUS_INTERNAL;
        slot_done(&sl->tag, false);
    }
}

static bool check(kv_runner *r, kv_slot *sl)
{
    ProtobufCAllocator alloc = bare_arena_allocator(sl->arena);
    if (r->s->kind == KV_PUT) {
        Etcdserverpb__PutResponse *p =
            (Etcdserverpb__PutResponse *)bare_unpack(&etcdserverpb__put_response__descriptor, sl->recv, &alloc);
        if (p && p->header)
            r->rev = p->header->revision;
        return p != NULL;
    }
    if (r->s->kind == KV_GRANT) {
        Etcdserverpb__LeaseGrantResponse *g = (Etcdserverpb__LeaseGrantResponse *)bare_unpack(
            &etcdserverpb__lease_grant_response__descriptor, sl->recv, &alloc);
        if (!g || g->id == 0 || g->ttl <= 0)
            return false;
        r->s->ids[sl->idx] = g->id;
        return true;
    }
    Etcdserverpb__RangeResponse *g =
        (Etcdserverpb__RangeResponse *)bare_unpack(&etcdserverpb__range_response__descriptor, sl->recv, &alloc);
    return g && g->n_kvs == 1 && g->kvs[0]->value.len == r->s->val_size;
}

static void slot_done(bare_tag *tag, bool ok)
{
    kv_slot *sl = (kv_slot *)tag;
    kv_runner *r = sl->r;
    if (!ok || sl->status != GRPC_STATUS_OK)
        report(r, "failed", sl);
    else if (!check(r, sl))
        report(r, r->s->kind == KV_PUT ? "bad put response" : r->s->kind == KV_GRANT ? "bad grant response" : "bad get response", sl);
    if (r->s->lat_ns)
        r->s->lat_ns[sl->idx] = bare_now_ns() - sl->t0;
    bare_arena_reset(sl->arena);
    grpc_metadata_array_destroy(&sl->init_md);
    grpc_metadata_array_destroy(&sl->trailing_md);
    grpc_byte_buffer_destroy(sl->send);
    if (sl->recv)
        grpc_byte_buffer_destroy(sl->recv);
    grpc_slice_unref(sl->details);
    if (sl->call)
        grpc_call_unref(sl->call);
    sl->call = NULL;
    if (++r->done == r->n)
        r->finished = true;
    else if (r->next < r->n)
        slot_start(sl);
}

/* Runs r->n requests of r->s, inflight at a time. */
static bool run(kv_runner *r, size_t inflight)
{
    if (inflight > r->n)
        inflight = (size_t)r->n;
    kv_slot *slots = calloc(inflight, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "out of memory\n");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < inflight && ok; i++) {
        slots[i].tag.done = slot_done;
        slots[i].r = r;
        /* A range of one 256-byte value unpacks into well under 1 KB. */
        slots[i].arena = bare_arena_new(1024 + 2 * r->s->val_size);
        ok = slots[i].arena != NULL;
    }
    if (ok) {
        for (size_t i = 0; i < inflight; i++)
            slot_start(&slots[i]);
        ok = bare_conn_run(r->c, &r->finished);
    } else
        fprintf(stderr, "out of memory\n");
    for (size_t i = 0; i < inflight; i++)
        bare_arena_free(slots[i].arena);
    free(slots);
    return ok;
}

bool bare_kv_run(bare_conn *c, const kv_spec *s, uint64_t n, size_t inflight, uint64_t *errors)
{
    kv_runner r = {.c = c, .s = s, .n = n, .prefix_len = s->key_prefix ? strlen(s->key_prefix) : 0};
    *errors = 0;
    if (n == 0)
        return true;
    if (r.prefix_len > 32) {
        fprintf(stderr, "key prefix \"%s\" is too long\n", s->key_prefix);
        return false;
    }
    if (s->kind == KV_GRANT) {
        Etcdserverpb__LeaseGrantRequest req = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
        req.ttl = s->ttl;
        r.fixed = true;
        r.fixed_req = bare_pack(&req.base);
    } else if (s->kind != KV_PUT) {
        static const char get_key[] = "bench-getkey-000";
        Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
        req.key = (ProtobufCBinaryData){.len = sizeof get_key - 1, .data = (uint8_t *)get_key};
        req.serializable = s->kind == KV_SGET;
        r.fixed = true;
        r.fixed_req = bare_pack(&req.base);
    }
    bool ok = run(&r, inflight);
    if (r.fixed)
        grpc_slice_unref(r.fixed_req);
    *errors = r.errors;
    return ok;
}

bool bare_put_once(bare_conn *c, const char *key, const uint8_t *val, size_t val_size, int64_t *rev)
{
    kv_spec s = {.kind = KV_PUT, .val = val, .val_size = val_size};
    kv_runner r = {.c = c, .s = &s, .n = 1, .fixed = true};
    Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
    req.key = (ProtobufCBinaryData){.len = strlen(key), .data = (uint8_t *)key};
    req.value = (ProtobufCBinaryData){.len = val_size, .data = (uint8_t *)val};
    r.fixed_req = bare_pack(&req.base);
    bool ok = run(&r, 1);
    grpc_slice_unref(r.fixed_req);
    if (rev)
        *rev = r.rev;
    return ok && r.errors == 0;
}
