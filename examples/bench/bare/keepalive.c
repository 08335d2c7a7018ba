/*
 * The keepalive workload's timed part: one LeaseKeepAlive stream; every ttl/3 seconds from the
 * start, one renewal per lease, queued together so that gRPC core can write a burst at once;
 * every answer counted (an answer with TTL <= 0 is an error). A whole burst on one tick is the
 * cheapest schedule a client can have: the floor, not a policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

typedef struct keepalive_state {
    bare_arena *arena;
    uint64_t count, errors;
} keepalive_state;

static void on_msg(bare_stream *s, grpc_byte_buffer *msg, void *ud)
{
    (void)s;
    keepalive_state *k = ud;
    ProtobufCAllocator alloc = bare_arena_allocator(k->arena);
    Etcdserverpb__LeaseKeepAliveResponse *r = (Etcdserverpb__LeaseKeepAliveResponse *)bare_unpack(
        &etcdserverpb__lease_keep_alive_response__descriptor, msg, &alloc);
    if (!r || r->ttl <= 0)
        k->errors++;
    k->count++;
    bare_arena_reset(k->arena);
}

bool bare_keepalive_run(bare_conn *c, const int64_t *ids, uint64_t n, int64_t ttl, int64_t seconds,
                        uint64_t *count, uint64_t *errors)
{
    *count = *errors = 0;
    keepalive_state k = {.arena = bare_arena_new(256)};
    bare_stream *s = k.arena ? bare_stream_open(c, BARE_LEASE_KEEPALIVE, on_msg, &k) : NULL;
    if (!s) {
        fprintf(stderr, "keepalive: could not start the call\n");
        bare_arena_free(k.arena);
        return false;
    }
    uint64_t start = bare_now_ns(), end = start + (uint64_t)seconds * 1000000000u;
    uint64_t period = (uint64_t)ttl * 1000000000u / 3, next = start;
    bool ok = true;
    while (ok && !bare_stream_failed(s)) {
        uint64_t now = bare_now_ns();
        if (now >= end)
            break;
        if (now >= next) {
            for (uint64_t i = 0; i < n && ok; i++) {
                Etcdserverpb__LeaseKeepAliveRequest req = ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
                req.id = ids[i];
                ok = bare_stream_send(s, &req.base);
            }
            next += period;
        }
        ok = ok && bare_stream_run(s, next < end ? next : end);
    }
    ok = bare_stream_finish(s) && ok;
    bare_stream_free(s);
    bare_arena_free(k.arena);
    *count = k.count;
    *errors = k.errors;
    return ok;
}
