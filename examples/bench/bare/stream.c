/*
 * One bidirectional stream on the one queue. gRPC core takes one send at a time per call, so
 * messages wait in a FIFO; each one leaves with GRPC_WRITE_BUFFER_HINT while more wait behind
 * it, which lets gRPC core put a burst into one write. One receive is kept armed; the status is
 * asked for at the start. The stream is over when every batch it started has completed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

struct bare_stream {
    bare_conn *c;
    grpc_call *call;
    bare_stream_msg_fn on_msg;
    void *ud;
    bare_tag start_tag, send_tag, recv_tag, status_tag;
    grpc_byte_buffer *sending, *recv;
    grpc_metadata_array init_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    grpc_slice *queue;          /* FIFO of packed messages: [head, head + queued) of cap */
    size_t head, queued, cap;
    int pending;                /* batches started and not completed */
    bool send_busy, cancelled, failed, over;
};

static bare_stream *of(bare_tag *t, size_t offset)
{
    return (bare_stream *)((char *)t - offset);
}

static void batch_done(bare_stream *s)
{
    if (--s->pending == 0)
        s->over = true;
}

static void fail(bare_stream *s, const char *what)
{
    if (s->cancelled)
        return;
    fprintf(stderr, "stream: %s\n", what);
    s->failed = true;
    bare_stream_cancel(s);
}

static void send_next(bare_stream *s)
{
    if (s->send_busy || s->queued == 0 || s->cancelled)
        return;
    grpc_slice msg = s->queue[s->head];
    s->head = (s->head + 1) % s->cap;
    s->queued--;
    s->sending = grpc_raw_byte_buffer_create(&msg, 1);
    grpc_slice_unref(msg);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.flags = s->queued ? GRPC_WRITE_BUFFER_HINT : 0;
    op.data.send_message.send_message = s->sending;
    s->send_busy = true;
    s->pending++;
    if (grpc_call_start_batch(s->call, &op, 1, &s->send_tag, NULL) != GRPC_CALL_OK) {
        s->pending--;
        s->send_busy = false;
        fail(s, "a message could not be sent");
    }
}

static void on_send(bare_tag *t, bool ok)
{
    bare_stream *s = of(t, offsetof(bare_stream, send_tag));
    grpc_byte_buffer_destroy(s->sending);
    s->sending = NULL;
    s->send_busy = false;
    if (!ok)
        fail(s, "a message was not sent");
    else
        send_next(s);
    batch_done(s);
}

static void on_start(bare_tag *t, bool ok)
{
    bare_stream *s = of(t, offsetof(bare_stream, start_tag));
    if (!ok)
        fail(s, "the call did not start");
    batch_done(s);
}

static void start_recv(bare_stream *s)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->recv;
    s->recv = NULL;
    s->pending++;
    if (grpc_call_start_batch(s->call, &op, 1, &s->recv_tag, NULL) != GRPC_CALL_OK) {
        s->pending--;
        fail(s, "the stream could not be read");
    }
}

static void on_recv(bare_tag *t, bool ok)
{
    bare_stream *s = of(t, offsetof(bare_stream, recv_tag));
    if (!ok || !s->recv) {
        fail(s, "the server ended the stream");
    } else {
        s->on_msg(s, s->recv, s->ud);
        grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
        if (!s->cancelled)
            start_recv(s);
    }
    batch_done(s);
}

static void on_status(bare_tag *t, bool ok)
{
    (void)ok;
    bare_stream *s = of(t, offsetof(bare_stream, status_tag));
    if (!s->cancelled) {
        fprintf(stderr, "stream: closed with status %d: %.*s\n", (int)s->status, (int)GRPC_SLICE_LENGTH(s->details),
                (const char *)GRPC_SLICE_START_PTR(s->details));
        s->failed = s->cancelled = true;
    }
    batch_done(s);
}

bare_stream *bare_stream_open(bare_conn *c, int method, bare_stream_msg_fn on_msg, void *ud)
{
    bare_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->c = c;
    s->on_msg = on_msg;
    s->ud = ud;
    s->start_tag.done = on_start;
    s->send_tag.done = on_send;
    s->recv_tag.done = on_recv;
    s->status_tag.done = on_status;
    s->details = grpc_empty_slice();
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->call = bare_conn_call(c, method);
    if (!s->call) {
        bare_stream_free(s);
        return NULL;
    }
    /* The server's initial metadata comes with its first message: ask for it with the status,
     * so that nothing waits on it. Messages may be sent as soon as the metadata batch started. */
    grpc_op md;
    memset(&md, 0, sizeof md);
    md.op = GRPC_OP_SEND_INITIAL_METADATA;
    grpc_op st[2];
    memset(st, 0, sizeof st);
    st[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    st[0].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    st[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st[1].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    st[1].data.recv_status_on_client.status = &s->status;
    st[1].data.recv_status_on_client.status_details = &s->details;
    if (grpc_call_start_batch(s->call, &md, 1, &s->start_tag, NULL) != GRPC_CALL_OK) {
        bare_stream_free(s);
        return NULL;
    }
    s->pending++;
    if (grpc_call_start_batch(s->call, st, 2, &s->status_tag, NULL) == GRPC_CALL_OK)
        s->pending++;
    else
        fail(s, "the status could not be asked for");
    start_recv(s);
    return s;
}

bool bare_stream_send(bare_stream *s, const ProtobufCMessage *msg)
{
    if (s->cancelled)
        return false;
    if (s->queued == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        grpc_slice *q = malloc(cap * sizeof *q);
        if (!q)
            return false;
        for (size_t i = 0; i < s->queued; i++)
            q[i] = s->queue[(s->head + i) % s->cap];
        free(s->queue);
        s->queue = q;
        s->head = 0;
        s->cap = cap;
    }
    s->queue[(s->head + s->queued) % s->cap] = bare_pack(msg);
    s->queued++;
    send_next(s);
    return true;
}

void bare_stream_cancel(bare_stream *s)
{
    if (s->cancelled)
        return;
    s->cancelled = true;
    grpc_call_cancel(s->call, NULL);
}

bool bare_stream_run(bare_stream *s, uint64_t until_ns)
{
    return bare_conn_run_until(s->c, &s->over, until_ns);
}

bool bare_stream_failed(const bare_stream *s)
{
    return s->failed;
}

bool bare_stream_finish(bare_stream *s)
{
    bare_stream_cancel(s);
    return bare_conn_run_until(s->c, &s->over, 0) && !s->failed;
}

void bare_stream_free(bare_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->queued; i++)
        grpc_slice_unref(s->queue[(s->head + i) % s->cap]);
    free(s->queue);
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_slice_unref(s->details);
    if (s->call)
        grpc_call_unref(s->call);
    free(s);
}
