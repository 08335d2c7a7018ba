/* Responses: read-only views over the unpacked message; key-values are the message's own. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "response_internal.h"
#include "rpc/depth.h"

static bool init_view(etcd_response *r, etcd_op_type type, const ProtobufCMessage *msg, etcd_arena *arena,
                      unsigned txn_level);

/* Zeroed memory from the arena when there is one, else from the heap. */
static void *zalloc(etcd_arena *arena, size_t size)
{
    if (!arena)
        return calloc(1, size);
    void *p = etcd_arena_alloc(arena, size);
    if (p)
        memset(p, 0, size);
    return p;
}

/* Views recurse once per txn level. The transport refuses answers nested deeper than
 * ETCD_MAX_MESSAGE_DEPTH, so no more than ETCD_MAX_RESPONSE_TXN_LEVELS can arrive; deeper ones are
 * refused here too, so that the recursion is bounded whatever the message's origin. */
static bool init_txn_subs(etcd_response *r, const Etcdserverpb__TxnResponse *t, etcd_arena *arena,
                          unsigned txn_level)
{
    if (txn_level > ETCD_MAX_RESPONSE_TXN_LEVELS)
        return false;
    if (t->n_responses == 0)
        return true;
    r->subs = zalloc(arena, t->n_responses * sizeof *r->subs);
    if (!r->subs)
        return false;
    r->n_subs = t->n_responses;
    for (size_t i = 0; i < t->n_responses; i++) {
        const Etcdserverpb__ResponseOp *op = t->responses[i];
        bool ok = true;
        switch (op->response_case) {
        case ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE:
            ok = init_view(&r->subs[i], ETCD_OP_GET, &op->response_range->base, arena, txn_level);
            break;
        case ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT:
            ok = init_view(&r->subs[i], ETCD_OP_PUT, &op->response_put->base, arena, txn_level);
            break;
        case ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE:
            ok = init_view(&r->subs[i], ETCD_OP_DELETE, &op->response_delete_range->base, arena, txn_level);
            break;
        case ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_TXN:
            ok = init_view(&r->subs[i], ETCD_OP_TXN, &op->response_txn->base, arena, txn_level + 1);
            break;
        default:
            /* An empty ResponseOp: leave a view with no message (every accessor returns 0). */
            r->subs[i].type = ETCD_OP_GET;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool init_view(etcd_response *r, etcd_op_type type, const ProtobufCMessage *msg, etcd_arena *arena,
                      unsigned txn_level)
{
    r->type = type;
    r->msg = msg;
    if (!msg)
        return true;
    switch (type) {
    case ETCD_OP_GET:
        r->header = ((const Etcdserverpb__RangeResponse *)msg)->header;
        break;
    case ETCD_OP_PUT:
        r->header = ((const Etcdserverpb__PutResponse *)msg)->header;
        break;
    case ETCD_OP_DELETE:
        r->header = ((const Etcdserverpb__DeleteRangeResponse *)msg)->header;
        break;
    case ETCD_OP_COMPACT:
        r->header = ((const Etcdserverpb__CompactionResponse *)msg)->header;
        break;
    case ETCD_OP_TXN:
        r->header = ((const Etcdserverpb__TxnResponse *)msg)->header;
        return init_txn_subs(r, (const Etcdserverpb__TxnResponse *)msg, arena, txn_level);
    }
    return true;
}

/* As deep as the views that init_view built: bounded the same way. */
static void free_views(etcd_response *r)
{
    for (size_t i = 0; i < r->n_subs; i++)
        free_views(&r->subs[i]);
    free(r->subs);
}

etcd_response *etcd_response_new(etcd_op_type type, ProtobufCMessage *msg, etcd_arena *arena)
{
    etcd_response *r = zalloc(arena, sizeof *r);
    if (!r) {
        if (arena)
            etcd_arena_free(arena);
        else
            protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    r->owned = msg;
    r->arena = arena;
    if (!init_view(r, type, msg, arena, 1)) {
        etcd_response_free(r);
        return NULL;
    }
    return r;
}

void etcd_response_free(etcd_response *resp)
{
    if (!resp)
        return;
    if (resp->extra) {
        for (size_t i = 0; i < resp->n_extra; i++)
            etcd_arena_free(resp->extra[i]);
        free(resp->extra);
    }
    if (resp->arena) {
        etcd_arena_free(resp->arena); /* the message, resp and its views with it */
        return;
    }
    free_views(resp);
    if (resp->owned)
        protobuf_c_message_free_unpacked(resp->owned, NULL);
    free(resp);
}

#define AS(r, T, op) ((r) && (r)->msg && (r)->kind == ETCD_RESPONSE_KV && (r)->type == (op) ? (const T *)(r)->msg : NULL)
#define RANGE(r) AS(r, Etcdserverpb__RangeResponse, ETCD_OP_GET)
#define PUT(r) AS(r, Etcdserverpb__PutResponse, ETCD_OP_PUT)
#define DEL(r) AS(r, Etcdserverpb__DeleteRangeResponse, ETCD_OP_DELETE)
#define TXN(r) AS(r, Etcdserverpb__TxnResponse, ETCD_OP_TXN)

etcd_op_type etcd_response_type(const etcd_response *resp)
{
    return resp ? resp->type : ETCD_OP_GET;
}

int64_t etcd_response_revision(const etcd_response *resp)
{
    return resp && resp->header ? resp->header->revision : 0;
}

uint64_t etcd_response_cluster_id(const etcd_response *resp)
{
    return resp && resp->header ? resp->header->cluster_id : 0;
}

uint64_t etcd_response_member_id(const etcd_response *resp)
{
    return resp && resp->header ? resp->header->member_id : 0;
}

uint64_t etcd_response_raft_term(const etcd_response *resp)
{
    return resp && resp->header ? resp->header->raft_term : 0;
}

size_t etcd_response_kv_count(const etcd_response *resp)
{
    const Etcdserverpb__RangeResponse *m = RANGE(resp);
    return m ? m->n_kvs : 0;
}

const etcd_keyvalue *etcd_response_kv_at(const etcd_response *resp, size_t i)
{
    const Etcdserverpb__RangeResponse *m = RANGE(resp);
    return m && i < m->n_kvs ? (const etcd_keyvalue *)m->kvs[i] : NULL;
}

int etcd_response_more(const etcd_response *resp)
{
    const Etcdserverpb__RangeResponse *m = RANGE(resp);
    return m ? m->more != 0 : 0;
}

int64_t etcd_response_count(const etcd_response *resp)
{
    const Etcdserverpb__RangeResponse *m = RANGE(resp);
    return m ? m->count : 0;
}

int64_t etcd_response_deleted(const etcd_response *resp)
{
    const Etcdserverpb__DeleteRangeResponse *m = DEL(resp);
    return m ? m->deleted : 0;
}

size_t etcd_response_prev_kv_count(const etcd_response *resp)
{
    const Etcdserverpb__PutResponse *p = PUT(resp);
    if (p)
        return p->prev_kv ? 1 : 0;
    const Etcdserverpb__DeleteRangeResponse *d = DEL(resp);
    return d ? d->n_prev_kvs : 0;
}

const etcd_keyvalue *etcd_response_prev_kv_at(const etcd_response *resp, size_t i)
{
    const Etcdserverpb__PutResponse *p = PUT(resp);
    if (p)
        return i == 0 ? (const etcd_keyvalue *)p->prev_kv : NULL;
    const Etcdserverpb__DeleteRangeResponse *d = DEL(resp);
    return d && i < d->n_prev_kvs ? (const etcd_keyvalue *)d->prev_kvs[i] : NULL;
}

int etcd_response_succeeded(const etcd_response *resp)
{
    const Etcdserverpb__TxnResponse *t = TXN(resp);
    return t ? t->succeeded != 0 : 0;
}

size_t etcd_response_txn_count(const etcd_response *resp)
{
    return resp && resp->type == ETCD_OP_TXN ? resp->n_subs : 0;
}

const etcd_response *etcd_response_txn_at(const etcd_response *resp, size_t i)
{
    return resp && resp->type == ETCD_OP_TXN && i < resp->n_subs ? &resp->subs[i] : NULL;
}

/* ---- key-values: an etcd_keyvalue is the unpacked mvccpb.KeyValue itself ---- */

#define KV(kv) ((const Mvccpb__KeyValue *)(kv))

static const uint8_t empty_bytes[1];

static const uint8_t *bytes_out(const ProtobufCBinaryData *b, size_t *len)
{
    if (len)
        *len = b->len;
    return b->len ? b->data : empty_bytes;
}

const uint8_t *etcd_keyvalue_key(const etcd_keyvalue *kv, size_t *len)
{
    if (!kv) {
        if (len)
            *len = 0;
        return NULL;
    }
    return bytes_out(&KV(kv)->key, len);
}

const uint8_t *etcd_keyvalue_value(const etcd_keyvalue *kv, size_t *len)
{
    if (!kv) {
        if (len)
            *len = 0;
        return NULL;
    }
    return bytes_out(&KV(kv)->value, len);
}

int64_t etcd_keyvalue_create_revision(const etcd_keyvalue *kv)
{
    return kv ? KV(kv)->create_revision : 0;
}

int64_t etcd_keyvalue_mod_revision(const etcd_keyvalue *kv)
{
    return kv ? KV(kv)->mod_revision : 0;
}

int64_t etcd_keyvalue_version(const etcd_keyvalue *kv)
{
    return kv ? KV(kv)->version : 0;
}

int64_t etcd_keyvalue_lease(const etcd_keyvalue *kv)
{
    return kv ? KV(kv)->lease : 0;
}

etcd_response *etcd_response_new_kind(etcd_response_kind kind, ProtobufCMessage *msg, etcd_arena *arena)
{
    etcd_response *r = zalloc(arena, sizeof *r);
    if (!r) {
        if (arena)
            etcd_arena_free(arena);
        else
            protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    r->kind = kind;
    r->owned = msg;
    r->arena = arena;
    r->msg = msg;
    /* Every etcd response has its ResponseHeader as field 1. */
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(msg->descriptor, 1);
    if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == &etcdserverpb__response_header__descriptor)
        r->header = *(const Etcdserverpb__ResponseHeader *const *)((const char *)msg + f->offset);
    return r;
}

void *etcd_response_scratch(etcd_response *resp, size_t size)
{
    return resp->arena ? zalloc(resp->arena, size) : NULL;
}

const ProtobufCMessage *etcd_response_message(const etcd_response *resp)
{
    return resp ? resp->msg : NULL;
}

etcd_response_kind etcd_response_get_kind(const etcd_response *resp)
{
    return resp ? resp->kind : ETCD_RESPONSE_KV;
}
