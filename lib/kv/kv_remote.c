/*
 * The client's KV implementation: an op's request goes to the generated KV stub, which drives
 * the retry service. Sync calls wait on the caller's thread; async calls complete through a
 * callback, run on the loop thread or queued for etcd_client_dispatch().
 */
#include <stdlib.h>
#include <string.h>

#include "error/error_internal.h"
#include "kv_call.h"
#include "kv_iface.h"
#include "op_internal.h"
#include "response_internal.h"
#include "rpc.pb-c.h"

static void kv_call_unref(kv_call *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    grpc_slice_unref(c->packed);
    etcd_cancel_destroy(&c->cancel);
    free(c);
}

/* Turns the rpc result into a response or an error. */
static etcd_code settle(kv_call *c, ProtobufCMessage *msg, etcd_response **resp, etcd_error **err)
{
    *resp = NULL;
    if (c->rpc.code == ETCD_OK) {
        *resp = etcd_response_new(c->type, msg, etcd_rpc_take_arena(&c->rpc));
        if (*resp)
            return ETCD_OK;
        /* The server applied a write whose answer we cannot hold: "not applied" would be a lie. */
        if (!c->rpc.read_only) {
            if (err)
                *err = etcd_error_new_call(ETCD_E_OUTCOME_UNKNOWN, ETCD_E_NOMEM, 0, "out of memory reading the response",
                                           NULL, etcd_op_type_name(c->type));
            return ETCD_E_OUTCOME_UNKNOWN;
        }
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", etcd_op_type_name(c->type));
    }
    etcd_code rc = c->rpc.outcome_unknown ? ETCD_E_OUTCOME_UNKNOWN : c->rpc.code;
    if (err)
        *err = etcd_error_new_call(rc, c->rpc.code, c->rpc.grpc_status, c->rpc.details, c->rpc.endpoint_name,
                                   etcd_op_type_name(c->type));
    return rc;
}

void etcd_kv_call_run_callback(kv_call *c)
{
    etcd_client *client = c->client;
    c->cb(c->code, c->resp, c->err, c->user_data);
    kv_call_unref(c);
    etcd_client_call_end(client);
}

static void sync_done(const ProtobufCMessage *msg, void *data)
{
    etcd_sync_wait_signal(&((kv_call *)data)->wait, msg);
}

static void async_done(const ProtobufCMessage *msg, void *data)
{
    kv_call *c = data;
    c->code = settle(c, (ProtobufCMessage *)msg, &c->resp, &c->err);
    etcd_rpc_reset_result(&c->rpc);
    /* Failed inside start() itself (closing, out of memory): the submit call reports it and the
     * callback never runs, as the contract says. */
    if (atomic_load_explicit(&c->submitting, memory_order_acquire) && pthread_equal(c->submitter, pthread_self())) {
        c->failed_in_submit = true;
        return;
    }
    if (c->client->cfg.dispatch == ETCD_DISPATCH_CALLER)
        etcd_client_queue_ready(c->client, c);
    else
        etcd_kv_call_run_callback(c);
}

/* Hands the request to the generated stub for its method. */
static void start(kv_call *c, ProtobufCClosure done)
{
    ProtobufCService *svc = c->client->kv_service;
    switch (c->type) {
    case ETCD_OP_GET:
        etcdserverpb__kv__range(svc, (const Etcdserverpb__RangeRequest *)c->req,
                                (Etcdserverpb__RangeResponse_Closure)done, c);
        break;
    case ETCD_OP_PUT:
        etcdserverpb__kv__put(svc, (const Etcdserverpb__PutRequest *)c->req, (Etcdserverpb__PutResponse_Closure)done,
                              c);
        break;
    case ETCD_OP_DELETE:
        etcdserverpb__kv__delete_range(svc, (const Etcdserverpb__DeleteRangeRequest *)c->req,
                                       (Etcdserverpb__DeleteRangeResponse_Closure)done, c);
        break;
    case ETCD_OP_TXN:
        etcdserverpb__kv__txn(svc, (const Etcdserverpb__TxnRequest *)c->req, (Etcdserverpb__TxnResponse_Closure)done,
                              c);
        break;
    case ETCD_OP_COMPACT:
        etcdserverpb__kv__compact(svc, (const Etcdserverpb__CompactionRequest *)c->req,
                                  (Etcdserverpb__CompactionResponse_Closure)done, c);
        break;
    }
}

static void init_call(kv_call *c, etcd_client *client, const etcd_op *op)
{
    c->client = client;
    c->type = op->type;
    c->rpc.grpc_status = -1;
    int64_t timeout = op->timeout_ms > 0 ? op->timeout_ms : client->cfg.request_timeout_ms;
    c->rpc.deadline_ms = timeout > 0 ? etcd_now_ms() + timeout : 0;
    c->rpc.require_leader = op->require_leader >= 0 ? op->require_leader != 0 : client->cfg.require_leader;
    c->rpc.read_only = op->type == ETCD_OP_GET || (op->type == ETCD_OP_TXN && etcd_txn_is_read_only(op->txn));
}

static etcd_code remote_do(etcd_kv *kv, const etcd_op *op, etcd_response **resp, etcd_error **err)
{
    etcd_client *client = (etcd_client *)kv;
    if (etcd_loop_on_thread(client->loop))
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT,
                              "%s: a sync call from a callback of the same client would wait for itself",
                              etcd_op_type_name(op->type));
    etcd_code rc = etcd_client_call_begin(client, err);
    if (rc != ETCD_OK)
        return rc;
    kv_call c;
    memset(&c, 0, sizeof c);
    init_call(&c, client, op);
    c.req = etcd_op_message(op);
    etcd_sync_wait_init(&c.wait);
    /* The client's close cancels sync calls through the transport; no token needed. */
    start(&c, sync_done);
    ProtobufCMessage *msg = etcd_sync_wait_finish(&c.wait);
    rc = settle(&c, msg, resp, err);
    etcd_rpc_reset_result(&c.rpc);
    etcd_client_call_end(client);
    return rc;
}

/* Empty requests of each kind: an async call's stub input only names the request type, since
 * its bytes travel already serialized (rpc.packed). */
static const Etcdserverpb__RangeRequest empty_range = ETCDSERVERPB__RANGE_REQUEST__INIT;
static const Etcdserverpb__PutRequest empty_put = ETCDSERVERPB__PUT_REQUEST__INIT;
static const Etcdserverpb__DeleteRangeRequest empty_delete = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
static const Etcdserverpb__TxnRequest empty_txn = ETCDSERVERPB__TXN_REQUEST__INIT;
static const Etcdserverpb__CompactionRequest empty_compact = ETCDSERVERPB__COMPACTION_REQUEST__INIT;

static const ProtobufCMessage *empty_request(etcd_op_type type)
{
    switch (type) {
    case ETCD_OP_GET:
        return &empty_range.base;
    case ETCD_OP_PUT:
        return &empty_put.base;
    case ETCD_OP_DELETE:
        return &empty_delete.base;
    case ETCD_OP_TXN:
        return &empty_txn.base;
    case ETCD_OP_COMPACT:
        return &empty_compact.base;
    }
    return NULL;
}

static etcd_code remote_do_async(etcd_kv *kv, const etcd_op *op, etcd_callback cb, void *user_data,
                                 etcd_call **handle, etcd_error **err)
{
    etcd_client *client = (etcd_client *)kv;
    kv_call *c = calloc(1, sizeof *c);
    if (!c)
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", etcd_op_type_name(op->type));
    init_call(c, client, op);
    /* Serialized now, once: the caller may free the op at once, and every attempt sends these
     * bytes without packing again. */
    const ProtobufCMessage *m = etcd_op_message(op);
    c->packed = grpc_slice_malloc(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(c->packed));
    c->rpc.packed = &c->packed;
    c->req = empty_request(op->type);
    c->cb = cb;
    c->user_data = user_data;
    etcd_cancel_init(&c->cancel);
    c->rpc.cancel = &c->cancel;
    /* References: the flight, the submit (held across start()), and the caller's handle. */
    atomic_init(&c->refs, handle ? 3 : 2);
    etcd_code rc = etcd_client_call_begin(client, err);
    if (rc != ETCD_OK) {
        atomic_store(&c->refs, 1);
        kv_call_unref(c);
        return rc;
    }
    c->submitter = pthread_self();
    atomic_store_explicit(&c->submitting, true, memory_order_release);
    start(c, async_done);
    atomic_store_explicit(&c->submitting, false, memory_order_release);
    if (c->failed_in_submit) {
        rc = c->code;
        if (err)
            *err = c->err;
        else
            etcd_error_free(c->err);
        etcd_response_free(c->resp);
        atomic_store(&c->refs, 1);
        kv_call_unref(c);
        etcd_client_call_end(client);
        return rc;
    }
    if (handle)
        *handle = (etcd_call *)c;
    kv_call_unref(c);
    return ETCD_OK;
}

void etcd_call_cancel(etcd_call *call)
{
    if (call)
        etcd_cancel_fire(&((kv_call *)call)->cancel);
}

void etcd_call_release(etcd_call *call)
{
    if (call)
        kv_call_unref((kv_call *)call);
}

const etcd_kv_ops etcd_remote_kv_ops = {
    .do_op = remote_do,
    .do_async = remote_do_async,
};
