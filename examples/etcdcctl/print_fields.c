/*
 * print_fields.c - etcdctl's "fields" output: every field of the response on a line of its own,
 * "Name" : value, strings quoted as Go's %q quotes them. A txn prints its header, whether it
 * succeeded, then each response with its own header.
 */
#include <string.h>

#include "ctl.h"
#include "gotext.h"

static void header_of(ctl_buf *out, uint64_t cluster_id, uint64_t member_id, int64_t revision, uint64_t raft_term)
{
    buf_printf(out, "\"ClusterID\" : %llu\n", (unsigned long long)cluster_id);
    buf_printf(out, "\"MemberID\" : %llu\n", (unsigned long long)member_id);
    buf_printf(out, "\"Revision\" : %lld\n", (long long)revision);
    buf_printf(out, "\"RaftTerm\" : %llu\n", (unsigned long long)raft_term);
}

static void header(ctl_buf *out, const etcd_response *r)
{
    header_of(out, etcd_response_cluster_id(r), etcd_response_member_id(r), etcd_response_revision(r),
              etcd_response_raft_term(r));
}

static void keyvalue(ctl_buf *out, const char *prefix, const etcd_keyvalue *kv)
{
    size_t klen, vlen;
    const uint8_t *k = etcd_keyvalue_key(kv, &klen);
    const uint8_t *v = etcd_keyvalue_value(kv, &vlen);
    buf_printf(out, "\"%sKey\" : ", prefix);
    go_quote(out, k, klen);
    buf_printf(out, "\n\"%sCreateRevision\" : %lld\n", prefix, (long long)etcd_keyvalue_create_revision(kv));
    buf_printf(out, "\"%sModRevision\" : %lld\n", prefix, (long long)etcd_keyvalue_mod_revision(kv));
    buf_printf(out, "\"%sVersion\" : %lld\n", prefix, (long long)etcd_keyvalue_version(kv));
    buf_printf(out, "\"%sValue\" : ", prefix);
    go_quote(out, v, vlen);
    buf_printf(out, "\n\"%sLease\" : %lld\n", prefix, (long long)etcd_keyvalue_lease(kv));
}

void ctl_print_fields(ctl_buf *out, const etcd_response *r)
{
    header(out, r);
    switch (etcd_response_type(r)) {
    case ETCD_OP_GET:
        for (size_t i = 0; i < etcd_response_kv_count(r); i++)
            keyvalue(out, "", etcd_response_kv_at(r, i));
        buf_printf(out, "\"More\" : %s\n", etcd_response_more(r) ? "true" : "false");
        buf_printf(out, "\"Count\" : %lld\n", (long long)etcd_response_count(r));
        break;
    case ETCD_OP_PUT:
        if (etcd_response_prev_kv_count(r))
            keyvalue(out, "Prev", etcd_response_prev_kv_at(r, 0));
        break;
    case ETCD_OP_DELETE:
        buf_printf(out, "\"Deleted\" : %lld\n", (long long)etcd_response_deleted(r));
        for (size_t i = 0; i < etcd_response_prev_kv_count(r); i++)
            keyvalue(out, "Prev", etcd_response_prev_kv_at(r, i));
        break;
    case ETCD_OP_TXN:
        buf_printf(out, "\"Succeeded\" : %s\n", etcd_response_succeeded(r) ? "true" : "false");
        for (size_t i = 0; i < etcd_response_txn_count(r); i++)
            ctl_print_fields(out, etcd_response_txn_at(r, i)); /* etcdctl's txn input cannot nest */
        break;
    case ETCD_OP_COMPACT:
        break;
    }
}

void ctl_print_health_fields(ctl_buf *out, const ctl_health *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf_adds(out, "\"Endpoint\" : ");
        go_quote(out, h[i].endpoint, strlen(h[i].endpoint));
        buf_printf(out, "\n\"Health\" : %s\n\"Took\" : ", h[i].healthy ? "true" : "false");
        go_duration_string(out, h[i].took_ns);
        buf_printf(out, "\n\"Error\" : %s\n\n", h[i].error ? h[i].error : "");
    }
}

void ctl_print_lease_fields(ctl_buf *out, const etcd_response *r)
{
    header(out, r);
    switch (etcd_response_get_kind(r)) {
    case ETCD_RESPONSE_LEASE_GRANT:
    case ETCD_RESPONSE_LEASE_KEEP_ALIVE:
        buf_printf(out, "\"ID\" : %lld\n\"TTL\" : %lld\n", (long long)etcd_lease_response_id(r),
                   (long long)etcd_lease_response_ttl(r));
        break;
    case ETCD_RESPONSE_LEASE_TIME_TO_LIVE:
        buf_printf(out, "\"ID\" : %lld\n\"TTL\" : %lld\n\"GrantedTTL\" : %lld\n", (long long)etcd_lease_response_id(r),
                   (long long)etcd_lease_response_ttl(r), (long long)etcd_lease_response_granted_ttl(r));
        for (size_t i = 0; i < etcd_lease_response_key_count(r); i++) {
            size_t n;
            const uint8_t *k = etcd_lease_response_key_at(r, i, &n);
            buf_adds(out, "\"Key\" : ");
            go_quote(out, k, n);
            buf_addc(out, '\n');
        }
        break;
    case ETCD_RESPONSE_LEASE_LEASES:
        for (size_t i = 0; i < etcd_lease_response_lease_count(r); i++)
            buf_printf(out, "\"ID\" : %lld\n", (long long)etcd_lease_response_lease_at(r, i));
        break;
    default: /* revoke: the header only */
        break;
    }
}

void ctl_print_watch_fields(ctl_buf *out, const ctl_watch_view *v)
{
    header_of(out, v->cluster_id, v->member_id, v->revision, v->raft_term);
    size_t n = v->resp ? etcd_watch_response_event_count(v->resp) : 0;
    for (size_t i = 0; i < n; i++) {
        const etcd_event *ev = etcd_watch_response_event_at(v->resp, i);
        buf_adds(out, etcd_event_get_type(ev) == ETCD_EVENT_DELETE ? "\"Type\" : DELETE\n" : "\"Type\" : PUT\n");
        if (etcd_event_prev_kv(ev))
            keyvalue(out, "Prev", etcd_event_prev_kv(ev));
        keyvalue(out, "", etcd_event_kv(ev));
    }
}
