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
    bare_conn *c;
    grpc_call *call;
    bare_tag send_tag, recv_tag, status_tag;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array init_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    bare_arena *arena;
    uint64_t n, count, errors;
    size_t val_size;
    int pending;                /* batches started and not completed */
    bool stop, cancelled, failed;
} watch_state;

static watch_state *of(bare_tag *t, size_t offset)
{
    return (watch_state *)((char *)t - offset);
}

static void batch_done(watch_state *w)
{
    if (--w->pending == 0)
        w->stop = true;
}

static void finish(watch_state *w, bool failed)
{
    if (w->cancelled)
        return;
    w->cancelled = true;
    w->failed = failed;
    grpc_call_cancel(w->call, NULL);
}

static void start_recv(watch_state *w)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &w->recv;
    w->recv = NULL;
    w->pending++;
    if (grpc_call_start_batch(w->call, &op, 1, &w->recv_tag, NULL) != GRPC_CALL_OK) {
        w->pending--;
        fprintf(stderr, "watch: could not read the stream\n");
        finish(w, true);
    }
}

static void on_send(bare_tag *t, bool ok)
{
    watch_state *w = of(t, offsetof(watch_state, send_tag));
    if (!ok && !w->cancelled) {
        fprintf(stderr, "watch: the create request was not sent\n");
        finish(w, true);
    }
    batch_done(w);
}

static void on_recv(bare_tag *t, bool ok)
{
    watch_state *w = of(t, offsetof(watch_state, recv_tag));
    batch_done(w);
    if (!ok || !w->recv) {
        /* The stream ended; after our cancel that is expected. */
        if (!w->cancelled) {
            fprintf(stderr, "watch: the stream ended after %llu events\n", (unsigned long long)w->count);
            finish(w, true);
        }
        return;
    }
    ProtobufCAllocator alloc = bare_arena_allocator(w->arena);
    Etcdserverpb__WatchResponse *r =
        (Etcdserverpb__WatchResponse *)bare_unpack(&etcdserverpb__watch_response__descriptor, w->recv, &alloc);
    grpc_byte_buffer_destroy(w->recv);
    w->recv = NULL;
    if (!r) {
        fprintf(stderr, "watch: a response could not be decoded\n");
        finish(w, true);
    } else if (r->canceled) {
        fprintf(stderr, "watch: cancelled by the server: %s\n", r->cancel_reason ? r->cancel_reason : "");
        finish(w, true);
    } else {
        for (size_t i = 0; i < r->n_events; i++) {
            const Mvccpb__KeyValue *kv = r->events[i]->kv;
            if (!kv || kv->value.len != w->val_size)
                w->errors++;
        }
        w->count += r->n_events;
        if (w->count >= w->n)
            finish(w, false);
    }
    bare_arena_reset(w->arena);
    if (!w->cancelled)
        start_recv(w);
}

static void on_status(bare_tag *t, bool ok)
{
    (void)ok;
    watch_state *w = of(t, offsetof(watch_state, status_tag));
    if (!w->cancelled) {
        fprintf(stderr, "watch: the stream closed: status %d: %.*s\n", (int)w->status,
                (int)GRPC_SLICE_LENGTH(w->details), (const char *)GRPC_SLICE_START_PTR(w->details));
        w->cancelled = w->failed = true;
    }
    batch_done(w);
}

static grpc_byte_buffer *create_request(const char *prefix, int64_t start_rev)
{
    /* The prefix's range end: its last byte plus one ("bench-w/" -> "bench-w0"). */
    size_t len = strlen(prefix);
    uint8_t end[64];
    memcpy(end, prefix, len);
    end[len - 1]++;
    Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
    cr.key = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)prefix};
    cr.range_end = (ProtobufCBinaryData){.len = len, .data = end};
    cr.start_revision = start_rev;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
    req.create_request = &cr;
    grpc_slice s = bare_pack(&req.base);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

bool bare_watch_run(bare_conn *c, const char *prefix, int64_t start_rev, uint64_t n, size_t val_size,
                    uint64_t *count, uint64_t *errors)
{
    *count = *errors = 0;
    if (!*prefix || strlen(prefix) > 64 || (uint8_t)prefix[strlen(prefix) - 1] == 0xff) {
        fprintf(stderr, "watch: prefix \"%s\" has no range end here\n", prefix);
        return false;
    }
    watch_state w = {.c = c, .n = n, .val_size = val_size};
    w.send_tag.done = on_send;
    w.recv_tag.done = on_recv;
    w.status_tag.done = on_status;
    /* A replayed batch holds many events: start with room for a few hundred. */
    w.arena = bare_arena_new(64 * 1024);
    w.call = bare_conn_call(c, BARE_WATCH);
    if (!w.arena || !w.call) {
        fprintf(stderr, "watch: could not start the call\n");
        bare_arena_free(w.arena);
        return false;
    }
    w.send = create_request(prefix, start_rev);
    w.details = grpc_empty_slice();
    grpc_metadata_array_init(&w.init_md);
    grpc_metadata_array_init(&w.trailing_md);

    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = w.send;
    ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[2].data.recv_initial_metadata.recv_initial_metadata = &w.init_md;
    grpc_op st;
    memset(&st, 0, sizeof st);
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &w.trailing_md;
    st.data.recv_status_on_client.status = &w.status;
    st.data.recv_status_on_client.status_details = &w.details;
    bool ok = grpc_call_start_batch(w.call, ops, 3, &w.send_tag, NULL) == GRPC_CALL_OK;
    w.pending += ok;
    if (ok) {
        ok = grpc_call_start_batch(w.call, &st, 1, &w.status_tag, NULL) == GRPC_CALL_OK;
        w.pending += ok;
    }
    if (ok)
        start_recv(&w);
    else {
        fprintf(stderr, "watch: could not start the call\n");
        finish(&w, true);
    }
    if (w.pending > 0)
        ok = bare_conn_run(c, &w.stop) && ok;
    ok = ok && !w.failed;

    grpc_metadata_array_destroy(&w.init_md);
    grpc_metadata_array_destroy(&w.trailing_md);
    grpc_byte_buffer_destroy(w.send);
    grpc_slice_unref(w.details);
    grpc_call_unref(w.call);
    bare_arena_free(w.arena);
    *count = w.count;
    *errors = w.errors;
    return ok;
}
