/*
 * One KV call in flight, sync or async: the request (borrowed from the caller's op for sync
 * calls, an owned copy for async ones), the rpc options and result, and how to complete.
 */
#ifndef ETCDC_KV_CALL_H
#define ETCDC_KV_CALL_H

#include <stdatomic.h>
#include <etcdc/async.h>

#include "client/client_internal.h"
#include "rpc/cancel.h"
#include "rpc/rpc.h"
#include "rpc/sync_wait.h"

typedef struct kv_call kv_call;

struct kv_call {
    etcd_rpc rpc;
    etcd_cancel cancel;
    etcd_client *client;
    etcd_op_type type;
    const ProtobufCMessage *req;    /* sync: the caller's op; async: an empty one naming the type */
    grpc_slice packed;              /* async: the serialized request */
    atomic_int refs;                /* the flight, plus the caller's handle when one was given */
    /* sync */
    etcd_sync_wait wait;
    /* async */
    etcd_callback cb;
    void *user_data;
    etcd_code code;
    etcd_response *resp;
    etcd_error *err;
    kv_call *next_ready;            /* caller-dispatch queue */
    atomic_bool submitting;         /* the submitting thread is still inside start() */
    pthread_t submitter;
    bool failed_in_submit;          /* ...and the call failed there: report it as a submit error */
};

/* Runs a finished async call's callback and ends it (caller-dispatch mode). */
void etcd_kv_call_run_callback(kv_call *c);

#endif
