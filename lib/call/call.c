/*
 * Async calls and unary calls of any method. A unary call's request travels already serialized
 * (rpc.packed): packed once at submit, sent as is on every attempt, so the caller may free its
 * request at once.
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "retry/policy.h"
#include "retry/retry_service.h"

void etcd_call_init(etcd_call *c, etcd_context *ctx, etcd_callback cb, void *user_data, bool handle)
{
    atomic_init(&c->refs, handle ? 3 : 2);
    c->ctx = ctx;
    etcd_cancel_init(&c->cancel);
    c->cb = cb;
    c->user_data = user_data;
    c->final.call = c;
    c->final.last = true;
    atomic_init(&c->submitting, false);
}

void etcd_call_unref(etcd_call *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    etcd_cancel_destroy(&c->cancel);
    if (c->destroy)
        c->destroy(c);
    else
        free(c);
}

void etcd_delivery_run(etcd_delivery *d)
{
    etcd_call *c = d->call;
    bool last = d->last;
    /* Read first: a delivery without release may live in its response, which the callback may
     * free. */
    void (*release)(etcd_delivery *) = d->release;
    c->cb(c, d->code, d->resp, d->err, c->user_data);
    if (release)
        release(d);
    if (last) {
        etcd_context *ctx = c->ctx;
        etcd_call_unref(c);
        etcd_context_end(ctx);
    }
}

void etcd_call_cancel(etcd_call *call)
{
    if (call)
        etcd_cancel_fire(&call->cancel);
}

void etcd_call_release(etcd_call *call)
{
    if (call)
        etcd_call_unref(call);
}

/* ---- unary calls ---- */

typedef struct unary {
    etcd_call base;                 /* first: the call is the unary */
    etcd_rpc rpc;
    const char *what;
    etcd_response_kind kind;
    int op_type;
    bool write;                     /* a side effect: outcome rules apply */
    grpc_slice packed;
    /* the retry attempt's and the gRPC call's state: one allocation per call, not three */
    _Alignas(16) unsigned char scratch[ETCD_RPC_SCRATCH_BYTES];
} unary;

/* glibc serves requests under 1 KiB from the thread's cache; a larger one makes malloc
 * consolidate its fast bins first, which cost more than the rest of the call's allocation. */
_Static_assert(sizeof(unary) <= 1000, "an async call's allocation must stay under 1 KiB");

/* A sync call lives on its caller's stack, beside what it waits on. */
typedef struct sync_unary {
    unary u;
    etcd_sync_wait wait;
} sync_unary;

static bool is_write(etcd_context *ctx, const etcd_unary_req *r)
{
    if (r->read_only)
        return false;
    return etcd_retry_service_class(ctx->services[r->service], r->method) == ETCD_RETRY_NON_REPEATABLE;
}

/* Clears the call's header (the layers zero what they take of the scratch) and fills it in. */
static void init_rpc(unary *u, etcd_context *ctx, const etcd_unary_req *r)
{
    memset(u, 0, offsetof(unary, scratch));
    u->kind = r->kind;
    u->op_type = r->op_type;
    u->what = r->what;
    u->write = is_write(ctx, r);
    u->rpc.grpc_status = -1;
    u->rpc.deadline_ms = etcd_context_deadline(ctx, r->timeout_ms);
    u->rpc.require_leader = etcd_context_require_leader(ctx, r->require_leader);
    u->rpc.read_only = !u->write;
    u->rpc.scratch = u->scratch;
    u->rpc.scratch_len = sizeof u->scratch;
}

static etcd_response *make_response(unary *u, ProtobufCMessage *msg)
{
    etcd_arena *arena = etcd_rpc_take_arena(&u->rpc);
    if (u->kind == ETCD_RESPONSE_KV)
        return etcd_response_new((etcd_op_type)u->op_type, msg, arena);
    return etcd_response_new_kind(u->kind, msg, arena);
}

/* Turns the rpc result into a response or an error. */
static etcd_code settle(unary *u, ProtobufCMessage *msg, etcd_response **resp, etcd_error **err)
{
    *resp = NULL;
    etcd_rpc *rpc = &u->rpc;
    if (rpc->code == ETCD_OK) {
        *resp = make_response(u, msg);
        if (*resp)
            return ETCD_OK;
        /* The server answered; losing its answer must not read as "not applied". */
        if (etcd_retry_outcome_unknown(u->write ? ETCD_RETRY_NON_REPEATABLE : ETCD_RETRY_REPEATABLE, ETCD_OK, true)) {
            if (err)
                *err = etcd_error_new_call(ETCD_E_OUTCOME_UNKNOWN, ETCD_E_NOMEM, -1, "out of memory reading the response",
                                           NULL, u->what);
            return ETCD_E_OUTCOME_UNKNOWN;
        }
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory reading the response", u->what);
    }
    etcd_code rc = rpc->outcome_unknown ? ETCD_E_OUTCOME_UNKNOWN : rpc->code;
    etcd_code cause = rpc->cause != ETCD_OK ? rpc->cause : rpc->code;
    if (err)
        *err = etcd_error_new_call(rc, cause, rpc->grpc_status, rpc->details, rpc->endpoint_name, u->what);
    return rc;
}

static void sync_done(const ProtobufCMessage *msg, void *data)
{
    sync_unary *su = (sync_unary *)((char *)data - offsetof(sync_unary, u.rpc));
    etcd_sync_wait_signal(&su->wait, msg);
}

static void invoke(etcd_context *ctx, const etcd_unary_req *r, unary *u, const ProtobufCMessage *input,
                   ProtobufCClosure done)
{
    ProtobufCService *svc = ctx->services[r->service];
    svc->invoke(svc, r->method, input, done, &u->rpc);
}

etcd_code etcd_unary_sync(etcd_context *ctx, const etcd_unary_req *r, etcd_response **resp, etcd_error **err)
{
    /* Only the loop thread would wait for itself: callbacks on the stream thread or in caller
     * dispatch may make sync calls. */
    if (etcd_loop_on_thread(ctx->loop))
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT,
                              "%s: a sync call from a callback of the same client would wait for itself", r->what);
    etcd_code rc = etcd_context_begin(ctx, err);
    if (rc != ETCD_OK)
        return rc;
    sync_unary su;
    unary *u = &su.u;
    init_rpc(u, ctx, r);
    etcd_sync_wait_init(&su.wait);
    /* Closing the client cancels sync calls through the transport; no token needed. */
    invoke(ctx, r, u, r->msg, sync_done);
    ProtobufCMessage *msg = etcd_sync_wait_finish(&su.wait);
    rc = settle(u, msg, resp, err);
    etcd_rpc_reset_result(&u->rpc);
    etcd_context_end(ctx);
    return rc;
}

static void unary_destroy(etcd_call *c)
{
    unary *u = (unary *)c;
    grpc_slice_unref(u->packed);
    free(u);
}

static void async_done(const ProtobufCMessage *msg, void *data)
{
    unary *u = (unary *)((char *)data - offsetof(unary, rpc));
    etcd_call *c = &u->base;
    c->final.code = settle(u, (ProtobufCMessage *)msg, &c->final.resp, &c->final.err);
    etcd_rpc_reset_result(&u->rpc);
    /* Failed inside the start itself (closing, out of memory): the submit reports it and the
     * callback never runs, as the contract says. */
    if (atomic_load_explicit(&c->submitting, memory_order_acquire) && pthread_equal(c->submitter, pthread_self())) {
        c->failed_in_submit = true;
        return;
    }
    etcd_context_deliver(c->ctx, &c->final);
}

etcd_code etcd_unary_async(etcd_context *ctx, const etcd_unary_req *r, etcd_callback cb, void *user_data,
                           etcd_call **handle, etcd_error **err)
{
    if (handle)
        *handle = NULL;
    unary *u = malloc(sizeof *u);
    if (!u)
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", r->what);
    init_rpc(u, ctx, r);
    etcd_call *c = &u->base;
    etcd_call_init(c, ctx, cb, user_data, handle != NULL);
    c->destroy = unary_destroy;
    if (r->packed) {
        u->packed = grpc_slice_ref(*r->packed);
    } else {
        u->packed = grpc_slice_malloc(protobuf_c_message_get_packed_size(r->msg));
        protobuf_c_message_pack(r->msg, GRPC_SLICE_START_PTR(u->packed));
    }
    u->rpc.packed = &u->packed;
    /* Without a handle nobody can cancel the call before its callback: the layers skip the
     * token (two lock pairs per attempt), as they do for sync calls. */
    u->rpc.cancel = handle ? &c->cancel : NULL;
    etcd_code rc = etcd_context_begin(ctx, err);
    if (rc != ETCD_OK) {
        atomic_store(&c->refs, 1);
        etcd_call_unref(c);
        return rc;
    }
    /* The handle exists before the call starts: a callback may run before we return. */
    if (handle)
        *handle = c;
    c->submitter = pthread_self();
    atomic_store_explicit(&c->submitting, true, memory_order_release);
    invoke(ctx, r, u, NULL, async_done); /* the request travels in rpc.packed */
    atomic_store_explicit(&c->submitting, false, memory_order_release);
    if (c->failed_in_submit) {
        rc = c->final.code;
        if (err)
            *err = c->final.err;
        else
            etcd_error_free(c->final.err);
        etcd_response_free(c->final.resp);
        if (handle)
            *handle = NULL;
        atomic_store(&c->refs, 1);
        etcd_call_unref(c);
        etcd_context_end(ctx);
        return rc;
    }
    etcd_call_unref(c); /* the submit's reference */
    return ETCD_OK;
}
