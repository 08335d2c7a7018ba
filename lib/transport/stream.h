/*
 * Streaming calls over gRPC core, beside the unary ones: bidirectional (Watch, LeaseKeepAlive)
 * and server-streaming (Snapshot, election Observe), on one chosen endpoint.
 *
 * - Outgoing messages are queued: gRPC core allows one send in flight per call, so the queue
 *   never blocks the caller; any thread may send. Messages queued together leave together, in
 *   one write.
 * - Incoming messages are received one at a time and handed, still serialized, to the owner's
 *   on_message on the loop thread. on_message returns false to stop receiving: no further
 *   message is read until etcd_stream_resume(), so HTTP/2 flow control pushes back on the
 *   server instead of the client buffering without limit.
 * - on_end runs exactly once, on the loop thread, after the last on_message, with the call's
 *   status; nothing runs after it.
 * - Cancel from any thread. Streams are tracked by the transport, so closing the client ends
 *   every stream (on_end then reports ETCD_E_CANCELLED).
 *
 * A stream resumes nowhere by itself: the layer that owns it (the watcher, the keepalive loop)
 * knows what to replay, and starts a new stream.
 */
#ifndef ETCDC_STREAM_H
#define ETCDC_STREAM_H

#include <stdbool.h>
#include <grpc/slice.h>
#include <etcdc/error.h>

#include "balancer/endpoints.h"
#include "transport.h"

typedef struct etcd_stream etcd_stream;

/* How a stream ended. */
typedef struct etcd_stream_status {
    etcd_code code;             /* ETCD_OK when the server ended the stream with status OK */
    int grpc_status;            /* -1 when the call never started */
    const char *details;        /* the status message, or NULL; valid during on_end only */
    const char *endpoint;       /* the endpoint's name; valid during on_end only */
} etcd_stream_status;

typedef struct etcd_stream_handler {
    /* One message, serialized; valid during the call only. Return false to stop receiving. */
    bool (*on_message)(etcd_stream *s, const uint8_t *data, size_t len, void *arg);
    /* The end, exactly once. The owner still holds its reference and drops it with unref. */
    void (*on_end)(etcd_stream *s, const etcd_stream_status *st, void *arg);
} etcd_stream_handler;

typedef struct etcd_stream_opts {
    bool require_leader;        /* send etcd's hasleader metadata */
    bool close_after_first;     /* server-streaming: half-close after the first message */
} etcd_stream_opts;

/* Starts `path` ("/etcdserverpb.Watch/Watch") on ep. On success *out holds the owner's
 * reference; on failure (closing, out of memory, gRPC refused) nothing runs and *err says why. */
etcd_code etcd_stream_start(etcd_transport *t, etcd_endpoint *ep, const char *path, const etcd_stream_opts *opts,
                            const etcd_stream_handler *h, void *arg, etcd_stream **out, etcd_error **err);
/* Queues a serialized message (the stream takes the slice). False when the stream has ended
 * or is ending: the message is dropped. Any thread. */
bool etcd_stream_send(etcd_stream *s, grpc_slice msg);
/* Between cork and uncork, messages sent are only queued; uncork hands the whole queue to gRPC
 * to leave in one write. For owners that send a burst (every watch again on a new stream, the
 * renewals that fall due together). Nests. Any thread. */
void etcd_stream_cork(etcd_stream *s);
void etcd_stream_uncork(etcd_stream *s);
/* Bytes queued and not yet handed to gRPC (for owners that bound what they queue). */
size_t etcd_stream_queued_bytes(etcd_stream *s);
/* During on_message only: when the message arrived in several slices, the stream put it
 * together in a buffer of its own; this hands that buffer (data, len bytes) to the owner, who
 * frees it, so that an owner keeping the message (a watch's events) need not copy it again.
 * NULL when data is a slice's, borrowed for the call. Loop thread. */
uint8_t *etcd_stream_take_message(etcd_stream *s, const uint8_t *data, size_t len);
/* Receives again after on_message returned false, or, called while on_message is still
 * running, keeps that on_message's false from pausing. Any thread. */
void etcd_stream_resume(etcd_stream *s);
/* Ends the stream early; on_end follows with ETCD_E_CANCELLED (or the status that came
 * first). Any thread, any number of times. */
void etcd_stream_cancel(etcd_stream *s);
/* The endpoint the stream runs on (referenced by the stream). */
etcd_endpoint *etcd_stream_endpoint(etcd_stream *s);
/* Drops the owner's reference. The stream is freed once it has ended as well. */
void etcd_stream_unref(etcd_stream *s);

#endif
