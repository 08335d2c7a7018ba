/*
 * The client's KV implementation: an op's request goes to the generated KV stub, which drives
 * the retry service; the caller's thread waits for the closure.
 */
#include <pthread.h>
#include <stdlib.h>

#include "client/client_internal.h"
#include "error/error_internal.h"
#include "op_internal.h"
#include "response_internal.h"
#include "rpc.pb-c.h"
#include "rpc/rpc.h"

typedef struct sync_call {
    etcd_rpc rpc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    ProtobufCMessage *msg;
} sync_call;

static void sync_done(const ProtobufCMessage *msg, void *data)
{
    sync_call *s = data;
    pthread_mutex_lock(&s->mu);
    s->msg = (ProtobufCMessage *)msg;
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static const char *const op_names[] = {"get", "put", "delete", "txn", "compact"};

/* Hands the op's request to the generated stub for its method. */
static void start(ProtobufCService *svc, const etcd_op *op, sync_call *s)
{
    switch (op->type) {
    case ETCD_OP_GET:
        etcdserverpb__kv__range(svc, &op->req.range, (Etcdserverpb__RangeResponse_Closure)sync_done, s);
        break;
    case ETCD_OP_PUT:
        etcdserverpb__kv__put(svc, &op->req.put, (Etcdserverpb__PutResponse_Closure)sync_done, s);
        break;
    case ETCD_OP_DELETE:
        etcdserverpb__kv__delete_range(svc, &op->req.del, (Etcdserverpb__DeleteRangeResponse_Closure)sync_done, s);
        break;
    case ETCD_OP_TXN:
        etcdserverpb__kv__txn(svc, &op->txn->req, (Etcdserverpb__TxnResponse_Closure)sync_done, s);
        break;
    case ETCD_OP_COMPACT:
        etcdserverpb__kv__compact(svc, &op->req.compact, (Etcdserverpb__CompactionResponse_Closure)sync_done, s);
        break;
    }
}

static etcd_code remote_do(etcd_kv *kv, const etcd_op *op, etcd_response **resp, etcd_error **err)
{
    etcd_client *c = (etcd_client *)kv;
    etcd_code rc = etcd_client_call_begin(c, err);
    if (rc != ETCD_OK)
        return rc;

    sync_call s = {.rpc.grpc_status = -1};
    int64_t timeout = op->timeout_ms > 0 ? op->timeout_ms : c->cfg.request_timeout_ms;
    s.rpc.deadline_ms = timeout > 0 ? etcd_now_ms() + timeout : 0;
    s.rpc.require_leader = op->require_leader >= 0 ? op->require_leader != 0 : c->cfg.require_leader;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);

    start(c->kv_service, op, &s);

    pthread_mutex_lock(&s.mu);
    while (!s.done)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);

    if (s.rpc.code == ETCD_OK) {
        *resp = etcd_response_new(op->type, s.msg);
        rc = *resp ? ETCD_OK : etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", op_names[op->type]);
    } else {
        rc = s.rpc.outcome_unknown ? ETCD_E_OUTCOME_UNKNOWN : s.rpc.code;
        if (err) {
            *err = etcd_error_new_call(rc, s.rpc.code, s.rpc.grpc_status, s.rpc.details, s.rpc.endpoint_name,
                                       op_names[op->type]);
        }
    }
    etcd_rpc_reset_result(&s.rpc);
    etcd_client_call_end(c);
    return rc;
}

const etcd_kv_ops etcd_remote_kv_ops = {
    .do_op = remote_do,
};
