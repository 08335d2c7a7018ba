/*
 * The narrow context every service is given: what a call needs from its client (the loop, the
 * transport, the endpoints, the per-call defaults, the in-flight gate and the dispatch queue)
 * and nothing else. Services (lib/kv, and the ones to come) include this, never the client's
 * own header, so the client depends on services and not the other way round.
 */
#ifndef ETCDC_CONTEXT_H
#define ETCDC_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>
#include <etcdc/client.h>

#include "balancer/endpoints.h"
#include "balancer/ready_wait.h"
#include "retry/policy.h"
#include "transport/loop.h"
#include "transport/transport.h"

struct etcd_delivery;

/* The retrying services of a client, one per gRPC service it talks to. */
typedef enum etcd_service_id {
    ETCD_SVC_KV,
    ETCD_SVC_CLUSTER,
    ETCD_SVC_LEASE,
    ETCD_SVC_COUNT
} etcd_service_id;

typedef struct etcd_context {
    etcd_loop *loop;
    etcd_transport *transport;
    etcd_endpoint_set *eps;
    etcd_ready_gate *gate;
    ProtobufCService *services[ETCD_SVC_COUNT];

    /* per-call defaults */
    int64_t request_timeout_ms;     /* 0: none */
    bool require_leader;
    etcd_dispatch dispatch;

    /* in-flight gate, so closing can wait for every call: counted without the lock (every call
     * passes here twice); closing takes the lock to wait */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    atomic_int inflight;
    atomic_bool closing;

    /* ETCD_DISPATCH_CALLER: results waiting for etcd_client_dispatch() */
    int event_fd;
    struct etcd_delivery *ready_head, *ready_tail;

    /* ETCD_DISPATCH_THREAD: stream results run on a thread of their own (started with the first
     * stream), so a slow watch callback never holds up unary completions and deadlines. */
    pthread_t stream_thread;
    bool stream_thread_running, stream_stop;
    bool stream_waiting;            /* the stream thread sleeps on stream_cv */
    pthread_cond_t stream_cv;
    struct etcd_delivery *stream_head, *stream_tail;
    /* Results queued from the loop thread wake the stream thread once the loop has nothing
     * ready: one wake-up for every answer of a read, not one each. */
    etcd_idle_task stream_wake;

    struct etcd_watcher *watcher;   /* the watch interface, created with the client */
} etcd_context;

/* Every call brackets itself with these, so closing can wait for calls in flight. begin fails
 * with ETCD_E_CLOSED once the client is closing. */
etcd_code etcd_context_begin(etcd_context *ctx, etcd_error **err);
void etcd_context_end(etcd_context *ctx);

/* The absolute deadline for a call: its own timeout when > 0, else the client's request
 * timeout; 0 when there is none. Saturates instead of overflowing. */
int64_t etcd_context_deadline(const etcd_context *ctx, int64_t own_timeout_ms);
/* The require-leader flag for a call: its own setting when >= 0, else the client's. */
bool etcd_context_require_leader(const etcd_context *ctx, int own);

/* Hands a result to the application: runs its callback now on the loop thread, or queues it for
 * etcd_client_dispatch() in caller-dispatch mode. */
void etcd_context_deliver(etcd_context *ctx, struct etcd_delivery *d);
/* Hands a stream's result to the application: never on the caller's or the loop's thread. Out
 * of memory starting the stream thread: false, nothing queued. */
bool etcd_context_deliver_stream(etcd_context *ctx, struct etcd_delivery *d);
/* Sets up the stream thread's hand-off; once, when the context is made. */
void etcd_context_init_streams(etcd_context *ctx);
/* Stops the stream thread after running what it has queued; once no call is in flight. */
void etcd_context_stop_streams(etcd_context *ctx);
/* Runs the results queued for caller dispatch; returns how many ran. */
int etcd_context_dispatch(etcd_context *ctx);
/* Whether the calling thread is inside a callback of this context (loop thread or dispatch). */
bool etcd_context_in_callback(const etcd_context *ctx);

#endif
