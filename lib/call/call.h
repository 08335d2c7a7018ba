/*
 * The one async machinery of every service: an etcd_call (refcounted, cancellable from any
 * thread, released by its holder), the deliveries it hands to the application (each callback
 * exactly once; a stream's many messages, then one last), and unary calls of any method, sync
 * or async, through the retrying services. A service only says which method, which request,
 * and which kind of response to build.
 */
#ifndef ETCDC_CALL_H
#define ETCDC_CALL_H

#include <stdatomic.h>
#include <etcdc/async.h>

#include "client/context.h"
#include "rpc/cancel.h"
#include "rpc/rpc.h"
#include "rpc/sync_wait.h"

/* One result on its way to the application. */
typedef struct etcd_delivery {
    struct etcd_call *call;
    etcd_code code;
    etcd_response *resp;
    etcd_error *err;
    bool last;                      /* the call's final callback: the call ends after it */
    struct etcd_delivery *next;     /* caller-dispatch queue */
    /* Frees a delivery of its own, or NULL (embedded in its call, or in its response: then
     * nothing touches it once the callback has started). */
    void (*release)(struct etcd_delivery *d);
} etcd_delivery;

struct etcd_call {
    atomic_int refs;                /* the flight, the submit while it runs, the caller's handle */
    etcd_context *ctx;
    etcd_cancel cancel;
    etcd_callback cb;
    void *user_data;
    void (*destroy)(struct etcd_call *call);    /* frees the service's part; NULL: none */
    etcd_delivery final;            /* the last delivery lives in the call */
    atomic_bool submitting;         /* the submitting thread is inside the start */
    pthread_t submitter;
    bool failed_in_submit;          /* ...and the call failed there: the submit reports it */
};

/* Sets up a call; refs: the flight and the submit, plus one when the caller wants a handle. */
void etcd_call_init(struct etcd_call *c, etcd_context *ctx, etcd_callback cb, void *user_data, bool handle);
void etcd_call_unref(struct etcd_call *c);
/* Runs one delivery's callback, then ends the call when it was the last. */
void etcd_delivery_run(etcd_delivery *d);

/* What a unary call sends and what it answers with. */
typedef struct etcd_unary_req {
    etcd_service_id service;
    unsigned method;                /* index in the service descriptor */
    const ProtobufCMessage *msg;    /* the request; read before the submit returns */
    const grpc_slice *packed;       /* optional: msg already packed (async sends take a ref) */
    etcd_response_kind kind;
    int op_type;                    /* KV: the etcd_op_type, for the response's views */
    const char *what;               /* for messages: "put", "member list" */
    int64_t timeout_ms;             /* > 0: this call's own; else the client's */
    int require_leader;             /* >= 0: this call's own; else the client's */
    bool read_only;                 /* has no side effect whatever its method (a txn of gets) */
} etcd_unary_req;

/* Sends r and waits. Not from a callback of the same client (it would wait for itself). */
etcd_code etcd_unary_sync(etcd_context *ctx, const etcd_unary_req *r, etcd_response **resp, etcd_error **err);
/* Submits r; the callback runs once (see async.h). *call, when wanted, is set before the start. */
etcd_code etcd_unary_async(etcd_context *ctx, const etcd_unary_req *r, etcd_callback cb, void *user_data,
                           etcd_call **call, etcd_error **err);

#endif
