/*
 * print_protobuf.c - etcdctl's "protobuf" output: the response message in protobuf's binary
 * encoding, as etcd's Go types marshal it (fields in number order, zero scalars and empty
 * bytes left out, the header always present), with nothing after it.
 */
#include "ctl.h"

/* Field numbers, from etcd's rpc.proto and kv.proto. */
enum {
    HEADER = 1,
    HDR_CLUSTER_ID = 1, HDR_MEMBER_ID = 2, HDR_REVISION = 3, HDR_RAFT_TERM = 4,
    KV_KEY = 1, KV_CREATE_REVISION = 2, KV_MOD_REVISION = 3, KV_VERSION = 4, KV_VALUE = 5, KV_LEASE = 6,
    RANGE_KVS = 2, RANGE_MORE = 3, RANGE_COUNT = 4,
    PUT_PREV_KV = 2,
    DELETE_DELETED = 2, DELETE_PREV_KVS = 3,
    TXN_SUCCEEDED = 2, TXN_RESPONSES = 3,
    WATCH_CANCELED = 4, WATCH_COMPACT_REVISION = 5, WATCH_EVENTS = 11,
    EVENT_TYPE = 1, EVENT_KV = 2, EVENT_PREV_KV = 3,
    OP_RANGE = 1, OP_PUT = 2, OP_DELETE = 3, OP_TXN = 4,
};

static void varint(ctl_buf *out, uint64_t v)
{
    while (v >= 0x80) {
        buf_addc(out, (char)(v | 0x80));
        v >>= 7;
    }
    buf_addc(out, (char)v);
}

static void int_field(ctl_buf *out, int num, uint64_t v)
{
    if (v == 0)
        return;
    varint(out, (uint64_t)num << 3);
    varint(out, v);
}

static void bytes_field(ctl_buf *out, int num, const void *p, size_t n, bool always)
{
    if (n == 0 && !always)
        return;
    varint(out, (uint64_t)num << 3 | 2);
    varint(out, n);
    buf_add(out, p, n);
}

static void keyvalue(ctl_buf *out, int num, const etcd_keyvalue *kv)
{
    ctl_buf m = {0};
    size_t klen, vlen;
    const uint8_t *k = etcd_keyvalue_key(kv, &klen);
    const uint8_t *v = etcd_keyvalue_value(kv, &vlen);
    bytes_field(&m, KV_KEY, k, klen, false);
    int_field(&m, KV_CREATE_REVISION, (uint64_t)etcd_keyvalue_create_revision(kv));
    int_field(&m, KV_MOD_REVISION, (uint64_t)etcd_keyvalue_mod_revision(kv));
    int_field(&m, KV_VERSION, (uint64_t)etcd_keyvalue_version(kv));
    bytes_field(&m, KV_VALUE, v, vlen, false);
    int_field(&m, KV_LEASE, (uint64_t)etcd_keyvalue_lease(kv));
    bytes_field(out, num, m.data, m.len, true);
    buf_free(&m);
}

/* A ResponseHeader message's own encoding, without a field around it. */
static void header_message(ctl_buf *h, uint64_t cluster_id, uint64_t member_id, int64_t revision, uint64_t raft_term)
{
    int_field(h, HDR_CLUSTER_ID, cluster_id);
    int_field(h, HDR_MEMBER_ID, member_id);
    int_field(h, HDR_REVISION, (uint64_t)revision);
    int_field(h, HDR_RAFT_TERM, raft_term);
}

static void response_header_message(ctl_buf *h, const etcd_response *r)
{
    header_message(h, etcd_response_cluster_id(r), etcd_response_member_id(r), etcd_response_revision(r),
                   etcd_response_raft_term(r));
}

static void message(ctl_buf *out, const etcd_response *r)
{
    ctl_buf h = {0};
    response_header_message(&h, r);
    bytes_field(out, HEADER, h.data, h.len, true);
    buf_free(&h);
    switch (etcd_response_type(r)) {
    case ETCD_OP_GET:
        for (size_t i = 0; i < etcd_response_kv_count(r); i++)
            keyvalue(out, RANGE_KVS, etcd_response_kv_at(r, i));
        int_field(out, RANGE_MORE, etcd_response_more(r) ? 1 : 0);
        int_field(out, RANGE_COUNT, (uint64_t)etcd_response_count(r));
        break;
    case ETCD_OP_PUT:
        if (etcd_response_prev_kv_count(r))
            keyvalue(out, PUT_PREV_KV, etcd_response_prev_kv_at(r, 0));
        break;
    case ETCD_OP_DELETE:
        int_field(out, DELETE_DELETED, (uint64_t)etcd_response_deleted(r));
        for (size_t i = 0; i < etcd_response_prev_kv_count(r); i++)
            keyvalue(out, DELETE_PREV_KVS, etcd_response_prev_kv_at(r, i));
        break;
    case ETCD_OP_TXN:
        int_field(out, TXN_SUCCEEDED, etcd_response_succeeded(r) ? 1 : 0);
        for (size_t i = 0; i < etcd_response_txn_count(r); i++) {
            const etcd_response *sub = etcd_response_txn_at(r, i);
            int num = OP_RANGE;
            switch (etcd_response_type(sub)) {
            case ETCD_OP_PUT:
                num = OP_PUT;
                break;
            case ETCD_OP_DELETE:
                num = OP_DELETE;
                break;
            case ETCD_OP_TXN:
                num = OP_TXN;
                break;
            default:
                break;
            }
            ctl_buf m = {0}, op = {0};
            message(&m, sub);
            bytes_field(&op, num, m.data, m.len, true);
            bytes_field(out, TXN_RESPONSES, op.data, op.len, true);
            buf_free(&m);
            buf_free(&op);
        }
        break;
    case ETCD_OP_COMPACT:
        break;
    }
}

void ctl_print_protobuf(ctl_buf *out, const etcd_response *resp)
{
    message(out, resp);
}

/*
 * etcdctl marshals what its client's lease types can marshal: they embed the header, so for
 * grant, time-to-live, leases and keepalive that is the header alone. A revoke answer cannot be
 * marshalled as etcdctl passes it, and etcdctl says so, quoting the header as protobuf text.
 */
bool ctl_print_lease_protobuf(ctl_buf *out, const etcd_response *r, ctl_buf *err)
{
    if (etcd_response_get_kind(r) == ETCD_RESPONSE_LEASE_REVOKE) {
        buf_adds(err, "marshal unsupported for type clientv3.LeaseRevokeResponse ({");
        if (etcd_response_cluster_id(r))
            buf_printf(err, "cluster_id:%llu ", (unsigned long long)etcd_response_cluster_id(r));
        if (etcd_response_member_id(r))
            buf_printf(err, "member_id:%llu ", (unsigned long long)etcd_response_member_id(r));
        if (etcd_response_revision(r))
            buf_printf(err, "revision:%lld ", (long long)etcd_response_revision(r));
        if (etcd_response_raft_term(r))
            buf_printf(err, "raft_term:%llu ", (unsigned long long)etcd_response_raft_term(r));
        buf_adds(err, "})");
        return false;
    }
    response_header_message(out, r);
    return true;
}

void ctl_print_watch_protobuf(ctl_buf *out, const ctl_watch_view *v)
{
    ctl_buf h = {0};
    header_message(&h, v->cluster_id, v->member_id, v->revision, v->raft_term);
    bytes_field(out, HEADER, h.data, h.len, true);
    buf_free(&h);
    int_field(out, WATCH_CANCELED, v->canceled ? 1 : 0);
    int_field(out, WATCH_COMPACT_REVISION, (uint64_t)v->compact_revision);
    size_t n = v->resp ? etcd_watch_response_event_count(v->resp) : 0;
    for (size_t i = 0; i < n; i++) {
        const etcd_event *ev = etcd_watch_response_event_at(v->resp, i);
        ctl_buf m = {0};
        int_field(&m, EVENT_TYPE, etcd_event_get_type(ev) == ETCD_EVENT_DELETE ? 1 : 0);
        keyvalue(&m, EVENT_KV, etcd_event_kv(ev));
        if (etcd_event_prev_kv(ev))
            keyvalue(&m, EVENT_PREV_KV, etcd_event_prev_kv(ev));
        bytes_field(out, WATCH_EVENTS, m.data, m.len, true);
        buf_free(&m);
    }
}
