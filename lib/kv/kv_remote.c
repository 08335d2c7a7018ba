/*
 * The client's KV implementation: an op's request goes, as a unary call of the KV service,
 * through the one call machinery (lib/call) that every service uses.
 */
#include <stdlib.h>
#include <string.h>

#include "call/call.h"
#include "kv_remote.h"
#include "op_internal.h"
#include "rpc.pb-c.h"

static const char *const method_names[5] = {
    [ETCD_OP_GET] = "Range",
    [ETCD_OP_PUT] = "Put",
    [ETCD_OP_DELETE] = "DeleteRange",
    [ETCD_OP_TXN] = "Txn",
    [ETCD_OP_COMPACT] = "Compact",
};

static void describe(const etcd_remote_kv *kv, const etcd_op *op, etcd_unary_req *r)
{
    memset(r, 0, sizeof *r);
    r->service = ETCD_SVC_KV;
    r->method = kv->methods[op->type];
    r->msg = etcd_op_message(op);
    r->kind = ETCD_RESPONSE_KV;
    r->op_type = op->type;
    r->what = etcd_op_type_name(op->type);
    r->timeout_ms = op->timeout_ms;
    r->require_leader = op->require_leader;
    r->read_only = op->type == ETCD_OP_GET || (op->type == ETCD_OP_TXN && etcd_txn_is_read_only(op->txn));
}

static etcd_code remote_do(etcd_kv *base, const etcd_op *op, etcd_response **resp, etcd_error **err)
{
    etcd_remote_kv *kv = (etcd_remote_kv *)base;
    etcd_unary_req r;
    describe(kv, op, &r);
    return etcd_unary_sync(kv->ctx, &r, resp, err);
}

static etcd_code remote_do_async(etcd_kv *base, const etcd_op *op, etcd_callback cb, void *user_data,
                                 etcd_call **call, etcd_error **err)
{
    etcd_remote_kv *kv = (etcd_remote_kv *)base;
    etcd_unary_req r;
    describe(kv, op, &r);
    r.packed = etcd_op_packed(op);
    return etcd_unary_async(kv->ctx, &r, cb, user_data, call, err);
}

static const etcd_kv_ops remote_ops = {
    .do_op = remote_do,
    .do_async = remote_do_async,
};

bool etcd_remote_kv_init(etcd_remote_kv *kv, etcd_context *ctx)
{
    kv->base.ops = &remote_ops;
    kv->ctx = ctx;
    for (int t = 0; t < 5; t++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(&etcdserverpb__kv__descriptor, method_names[t]);
        if (!m)
            return false;
        kv->methods[t] = (unsigned)(m - etcdserverpb__kv__descriptor.methods);
    }
    return true;
}
