/* Streaming calls: one send in flight with a queue behind it, one receive at a time, one end. */
#include <grpc/byte_buffer_reader.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error/error_internal.h"
#include "stream.h"
#include "tsan.h"

typedef struct send_item {
    grpc_slice msg;
    struct send_item *next;
} send_item;

struct etcd_stream {
    etcd_tracked_call tracked;
    etcd_transport *t;
    etcd_endpoint *ep;
    const etcd_stream_handler *h;
    void *arg;
    atomic_int refs;            /* the owner's, and the call's until on_end has run */
    etcd_tag start_tag, send_tag, recv_tag, status_tag;

    pthread_mutex_t mu;         /* serialises start_batch, guards everything below */
    int pending;                /* batches in flight */
    bool sending, receiving, paused, recv_over, status_over, ended, cancelled;
    bool resume_early;          /* resumed while its on_message was still running: do not pause */
    bool close_after_first, closed_send;
    int corked;                 /* etcd_stream_cork() depth: nothing new is handed to gRPC */
    send_item *q_head, *q_tail;
    size_t queued_bytes;

    grpc_byte_buffer *send_bb, *recv_bb;
    etcd_flat flat;             /* messages in several slices are put together here */
    grpc_metadata md[1];
    size_t n_md;
    grpc_metadata_array init_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
};

#define STREAM_OF(tag, field) ((etcd_stream *)((char *)(tag) - offsetof(etcd_stream, field)))

static void stream_free(etcd_stream *s)
{
    while (s->q_head) {
        send_item *it = s->q_head;
        s->q_head = it->next;
        grpc_slice_unref(it->msg);
        free(it);
    }
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_slice_unref(s->details);
    etcd_flat_free(&s->flat);
    if (s->tracked.call)
        grpc_call_unref(s->tracked.call);
    etcd_endpoint_unref(s->ep);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void etcd_stream_unref(etcd_stream *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        stream_free(s);
}

/* Under s->mu. */
static bool start_locked(etcd_stream *s, grpc_op *ops, size_t n, etcd_tag *tag)
{
    ETCD_HANDOFF_RELEASE(tag);
    if (grpc_call_start_batch(s->tracked.call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return false;
    s->pending++;
    return true;
}

/* Under s->mu: hands the head of the queue to gRPC when nothing is being sent. A message with
 * more queued behind it carries GRPC_WRITE_BUFFER_HINT: gRPC core then holds it (its send still
 * completes at once) and writes it with the next message that has no hint, so a burst of
 * queued messages leaves in one write instead of one each. */
static void send_next_locked(etcd_stream *s)
{
    if (s->sending || !s->q_head || s->status_over || s->cancelled || s->corked)
        return;
    send_item *it = s->q_head;
    s->q_head = it->next;
    if (!s->q_head)
        s->q_tail = NULL;
    s->queued_bytes -= GRPC_SLICE_LENGTH(it->msg);
    s->send_bb = grpc_raw_byte_buffer_create(&it->msg, 1);
    grpc_slice_unref(it->msg);
    free(it);
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 1;
    ops[0].op = GRPC_OP_SEND_MESSAGE;
    ops[0].flags = s->q_head ? GRPC_WRITE_BUFFER_HINT : 0;
    ops[0].data.send_message.send_message = s->send_bb;
    if (s->close_after_first && !s->closed_send) {
        ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        s->closed_send = true;
        n = 2;
    }
    s->sending = start_locked(s, ops, n, &s->send_tag);
    if (!s->sending) {
        grpc_byte_buffer_destroy(s->send_bb);
        s->send_bb = NULL;
    }
}

/* Under s->mu. */
static void recv_next_locked(etcd_stream *s)
{
    if (s->receiving || s->recv_over || s->cancelled)
        return;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->recv_bb;
    s->receiving = start_locked(s, &op, 1, &s->recv_tag);
    if (!s->receiving)
        s->recv_over = true;
}

/* Runs on_end once every batch has completed and the status is in. Called with s->mu held;
 * returns with it released. */
static void finish_unlock(etcd_stream *s)
{
    if (s->ended || !s->status_over || s->pending > 0) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->ended = true;
    pthread_mutex_unlock(&s->mu);
    etcd_transport_untrack(s->t, &s->tracked);
    size_t dlen = GRPC_SLICE_LENGTH(s->details);
    char *details = dlen ? strndup((const char *)GRPC_SLICE_START_PTR(s->details), dlen) : NULL;
    etcd_stream_status st = {
        .code = etcd_status_to_code((int)s->status, details, dlen),
        .grpc_status = (int)s->status,
        .details = details,
        .endpoint = s->ep->name,
    };
    s->h->on_end(s, &st, s->arg);
    free(details);
    etcd_stream_unref(s); /* the call's reference */
}

static void start_done(etcd_tag *tag, bool ok)
{
    (void)ok; /* a failed send of metadata shows in the status */
    etcd_stream *s = STREAM_OF(tag, start_tag);
    pthread_mutex_lock(&s->mu);
    s->pending--;
    finish_unlock(s);
}

static void send_done(etcd_tag *tag, bool ok)
{
    etcd_stream *s = STREAM_OF(tag, send_tag);
    pthread_mutex_lock(&s->mu);
    s->pending--;
    s->sending = false;
    grpc_byte_buffer_destroy(s->send_bb);
    s->send_bb = NULL;
    if (ok)
        send_next_locked(s);
    finish_unlock(s);
}

static void recv_done(etcd_tag *tag, bool ok)
{
    etcd_stream *s = STREAM_OF(tag, recv_tag);
    pthread_mutex_lock(&s->mu);
    s->pending--;
    s->receiving = false;
    grpc_byte_buffer *bb = s->recv_bb;
    s->recv_bb = NULL;
    bool deliver = ok && bb && !s->cancelled;
    if (!ok || !bb)
        s->recv_over = true; /* the server is done sending; the status follows */
    pthread_mutex_unlock(&s->mu);
    bool more = true;
    if (deliver) {
        grpc_slice hold;
        const uint8_t *data;
        size_t len;
        /* One receive at a time: the flat buffer is this message's alone. */
        if (etcd_byte_buffer_flatten(bb, &s->flat, &hold, &data, &len)) {
            more = s->h->on_message(s, data, len, s->arg);
            grpc_slice_unref(hold);
            etcd_flat_trim(&s->flat);
        } else {
            /* Unreadable here (out of memory): skipping it could lose events, so the stream
             * ends and its owner resumes on a new one. */
            etcd_stream_cancel(s);
            more = false;
        }
    }
    if (bb)
        grpc_byte_buffer_destroy(bb);
    pthread_mutex_lock(&s->mu);
    /* A resume that came while on_message ran (from another thread) wins over its pause. */
    if (!more && !s->resume_early)
        s->paused = true;
    else
        recv_next_locked(s);
    s->resume_early = false;
    finish_unlock(s);
}

uint8_t *etcd_stream_take_message(etcd_stream *s, const uint8_t *data, size_t len)
{
    /* One receive at a time, on the loop thread: the flat buffer is not shared. */
    return etcd_flat_take(&s->flat, data, len);
}

static void status_done(etcd_tag *tag, bool ok)
{
    (void)ok;
    etcd_stream *s = STREAM_OF(tag, status_tag);
    pthread_mutex_lock(&s->mu);
    s->pending--;
    s->status_over = true;
    finish_unlock(s);
}

etcd_code etcd_stream_start(etcd_transport *t, etcd_endpoint *ep, const char *path, const etcd_stream_opts *opts,
                            const etcd_stream_handler *h, void *arg, etcd_stream **out, etcd_error **err)
{
    *out = NULL;
    etcd_stream *s = calloc(1, sizeof *s);
    if (!s)
        return etcd_error_set(err, ETCD_E_NOMEM, "stream %s: out of memory", path);
    s->t = t;
    s->ep = etcd_endpoint_ref(ep);
    s->h = h;
    s->arg = arg;
    atomic_init(&s->refs, 2);
    s->start_tag.done = start_done;
    s->send_tag.done = send_done;
    s->recv_tag.done = recv_done;
    s->status_tag.done = status_done;
    pthread_mutex_init(&s->mu, NULL);
    s->close_after_first = opts && opts->close_after_first;
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->details = grpc_empty_slice();
    if (opts && opts->require_leader) {
        s->md[0].key = grpc_slice_from_static_string("hasleader");
        s->md[0].value = grpc_slice_from_static_string("true");
        s->n_md = 1;
    }
    grpc_completion_queue *cq = etcd_loop_cq(etcd_transport_loop(t));
    int id = etcd_transport_method_id(t, path);
    void *reg = etcd_endpoint_method(ep, id, path);
    gpr_timespec never = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    s->tracked.call = reg ? grpc_channel_create_registered_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, reg,
                                                                never, NULL)
                          : grpc_channel_create_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                     grpc_slice_from_static_string(path), NULL, never, NULL);
    if (!s->tracked.call) {
        stream_free(s);
        return etcd_error_set(err, ETCD_E_INTERNAL, "stream %s to %s: could not create the call", path, ep->name);
    }
    if (!etcd_transport_track(t, &s->tracked)) {
        stream_free(s);
        return etcd_error_set(err, ETCD_E_CANCELLED, "stream %s: the client is closing", path);
    }
    grpc_op start[2], status;
    memset(start, 0, sizeof start);
    memset(&status, 0, sizeof status);
    start[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    start[0].data.send_initial_metadata.count = s->n_md;
    start[0].data.send_initial_metadata.metadata = s->md;
    start[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    start[1].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    status.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    status.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    status.data.recv_status_on_client.status = &s->status;
    status.data.recv_status_on_client.status_details = &s->details;
    pthread_mutex_lock(&s->mu);
    bool started = start_locked(s, start, 2, &s->start_tag);
    if (started && !start_locked(s, &status, 1, &s->status_tag)) {
        /* Cannot happen after a good first batch; end the call rather than leave it unwatched. */
        grpc_call_cancel(s->tracked.call, NULL);
    }
    if (started)
        recv_next_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (!started) {
        etcd_transport_untrack(t, &s->tracked);
        stream_free(s);
        return etcd_error_set(err, ETCD_E_INTERNAL, "stream %s to %s: could not start the call", path, ep->name);
    }
    *out = s;
    return ETCD_OK;
}

bool etcd_stream_send(etcd_stream *s, grpc_slice msg)
{
    send_item *it = malloc(sizeof *it);
    pthread_mutex_lock(&s->mu);
    bool open = it && !s->status_over && !s->cancelled && !s->closed_send;
    if (open) {
        it->msg = msg;
        it->next = NULL;
        if (s->q_tail)
            s->q_tail->next = it;
        else
            s->q_head = it;
        s->q_tail = it;
        s->queued_bytes += GRPC_SLICE_LENGTH(msg);
        send_next_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (!open) {
        free(it);
        grpc_slice_unref(msg);
    }
    return open;
}

void etcd_stream_cork(etcd_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->corked++;
    pthread_mutex_unlock(&s->mu);
}

void etcd_stream_uncork(etcd_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->corked > 0 && --s->corked == 0)
        send_next_locked(s);
    pthread_mutex_unlock(&s->mu);
}

size_t etcd_stream_queued_bytes(etcd_stream *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->queued_bytes;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void etcd_stream_resume(etcd_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->paused && !s->ended) {
        s->paused = false;
        recv_next_locked(s);
    } else if (!s->paused && !s->receiving && !s->ended) {
        s->resume_early = true; /* its on_message is running and may be about to pause */
    }
    pthread_mutex_unlock(&s->mu);
}

void etcd_stream_cancel(etcd_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->cancelled = true;
    if (!s->ended)
        grpc_call_cancel(s->tracked.call, NULL);
    pthread_mutex_unlock(&s->mu);
}

etcd_endpoint *etcd_stream_endpoint(etcd_stream *s)
{
    return s->ep;
}
