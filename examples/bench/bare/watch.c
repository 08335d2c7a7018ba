/*
 * The watch workload's timed part: one Watch stream, one create request for a prefix from a
 * revision, then messages read one after another until n events have arrived; then the call is
 * cancelled and its status awaited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

typedef struct watch_state {
    bare_arena *arena;
    uint64_t n, count, errors;
    size_t val_size;
    bool done, failed;
} watch_state;

static void on_msg(bare_stream *s, grpc_byte_buffer *msg, void *ud)
{
    watch_state *w = ud;
    ProtobufCAllocator alloc = bare_arena_allocator(w->arena);
    Etcdserverpb__WatchResponse *r =
        (Etcdserverpb__WatchResponse *)bare_unpack(&etcdserverpb__watch_response__descriptor, msg, &alloc);
    if (!r) {
        fprintf(stderr, "watch: a response could not be decoded\n");
        w->failed = w->done = true;
    } else if (r->canceled) {
        fprintf(stderr, "watch: cancelled by the server: %s\n", r->cancel_reason ? r->cancel_reason : "");
        w->failed = w->done = true;
    } else {
        for (size_t i = 0; i < r->n_events; i++) {
            const Mvccpb__KeyValue *kv = r->events[i]->kv;
            if (!kv || kv->value.len != w->val_size)
                w->errors++;
        }
        w->count += r->n_events;
        w->done = w->count >= w->n;
    }
    bare_arena_reset(w->arena);
    if (w->done)
        bare_stream_cancel(s);
}

/* The range end of a prefix into end (cap bytes); false, said on stderr, when it has none. */
static bool prefix_end(const char *prefix, uint8_t *end, size_t cap)
{
    /* The prefix's range end: its last byte plus one ("bench-w/" -> "bench-w0"). */
    size_t len = strlen(prefix);
    if (!len || len > cap || (uint8_t)prefix[len - 1] == 0xff) {
        fprintf(stderr, "watch: prefix \"%s\" has no range end here\n", prefix);
        return false;
    }
    memcpy(end, prefix, len);
    end[len - 1]++;
    return true;
}

bool bare_watch_run(bare_conn *c, const char *prefix, int64_t start_rev, uint64_t n, size_t val_size,
                    uint64_t *count, uint64_t *errors)
{
    *count = *errors = 0;
    uint8_t end[64];
    if (!prefix_end(prefix, end, sizeof end))
        return false;
    /* A replayed batch holds many events: start with room for a few hundred. */
    watch_state w = {.n = n, .val_size = val_size, .arena = bare_arena_new(64 * 1024)};
    bare_stream *s = w.arena ? bare_stream_open(c, BARE_WATCH, on_msg, &w) : NULL;
    if (!s) {
        fprintf(stderr, "watch: could not start the call\n");
        bare_arena_free(w.arena);
        return false;
    }
    Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
    cr.key = (ProtobufCBinaryData){.len = strlen(prefix), .data = (uint8_t *)prefix};
    cr.range_end = (ProtobufCBinaryData){.len = strlen(prefix), .data = end};
    cr.start_revision = start_rev;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
    req.create_request = &cr;
    bool ok = bare_stream_send(s, &req.base) && bare_stream_run(s, 0);
    if (!w.done && !bare_stream_failed(s))
        fprintf(stderr, "watch: the stream ended after %llu events\n", (unsigned long long)w.count);
    ok = bare_stream_finish(s) && ok && w.done && !w.failed;
    bare_stream_free(s);
    bare_arena_free(w.arena);
    *count = w.count;
    *errors = w.errors;
    return ok;
}
