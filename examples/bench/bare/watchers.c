/*
 * The watchers workload's timed part: one Watch stream, n create requests queued at once (each
 * with its own watch ID, as etcd 3.4 accepts), counted as the server confirms them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

typedef struct watchers_state {
    bare_arena *arena;
    uint64_t n, count, errors;
    bool done;
} watchers_state;

static void on_msg(bare_stream *s, grpc_byte_buffer *msg, void *ud)
{
    watchers_state *w = ud;
    ProtobufCAllocator alloc = bare_arena_allocator(w->arena);
    Etcdserverpb__WatchResponse *r =
        (Etcdserverpb__WatchResponse *)bare_unpack(&etcdserverpb__watch_response__descriptor, msg, &alloc);
    /* Every answer here is a confirmation of one create; anything else is an error. */
    if (!r || !r->created || r->canceled || r->watch_id < 1 || (uint64_t)r->watch_id > w->n)
        w->errors++;
    w->count++;
    bare_arena_reset(w->arena);
    if (w->count >= w->n && !w->done) {
        w->done = true;
        bare_stream_cancel(s);
    }
}

bool bare_watchers_run(bare_conn *c, const char *prefix, uint64_t n, uint64_t *count, uint64_t *errors)
{
    *count = *errors = 0;
    watchers_state w = {.n = n, .arena = bare_arena_new(1024)};
    bare_stream *s = w.arena ? bare_stream_open(c, BARE_WATCH, on_msg, &w) : NULL;
    if (!s) {
        fprintf(stderr, "watchers: could not start the call\n");
        bare_arena_free(w.arena);
        return false;
    }
    bool ok = true;
    for (uint64_t i = 0; i < n && ok; i++) {
        char key[64];
        int len = snprintf(key, sizeof key, "%s%010llu", prefix, (unsigned long long)i);
        Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
        cr.key = (ProtobufCBinaryData){.len = (size_t)len, .data = (uint8_t *)key};
        cr.watch_id = (int64_t)i + 1;
        Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
        req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
        req.create_request = &cr;
        ok = bare_stream_send(s, &req.base);
    }
    if (!ok)
        fprintf(stderr, "watchers: could not queue the creates\n");
    else
        ok = bare_stream_run(s, 0);
    if (ok && !w.done && !bare_stream_failed(s))
        fprintf(stderr, "watchers: the stream ended after %llu of %llu\n", (unsigned long long)w.count,
                (unsigned long long)n);
    ok = bare_stream_finish(s) && ok && w.done;
    bare_stream_free(s);
    bare_arena_free(w.arena);
    *count = w.count;
    *errors = w.errors;
    return ok;
}
