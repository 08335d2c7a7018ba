/*
 * print_json.c - etcdctl's "json" output: the response message as Go's encoding/json writes it.
 *
 * That means etcd's protobuf field names, fields left out when zero or empty (omitempty),
 * integers in plain decimal, byte strings in base64, and a txn's responses wrapped as Go names
 * the oneof: {"Response":{"ResponsePut":{...}}}.
 */
#include <string.h>

#include "ctl.h"
#include "gotext.h"

/* Writes `"name":` with the comma that separates it from the previous field. */
static void field(ctl_buf *out, bool *first, const char *name)
{
    if (!*first)
        buf_addc(out, ',');
    *first = false;
    buf_printf(out, "\"%s\":", name);
}

static void int_field(ctl_buf *out, bool *first, const char *name, int64_t v)
{
    if (v == 0)
        return;
    field(out, first, name);
    buf_printf(out, "%lld", (long long)v);
}

static void uint_field(ctl_buf *out, bool *first, const char *name, uint64_t v)
{
    if (v == 0)
        return;
    field(out, first, name);
    buf_printf(out, "%llu", (unsigned long long)v);
}

static void bytes_field(ctl_buf *out, bool *first, const char *name, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    field(out, first, name);
    buf_addc(out, '"');
    go_base64(out, p, n);
    buf_addc(out, '"');
}

/* A ResponseHeader's fields, into an object already open. */
static void header_fields(ctl_buf *out, bool *first, uint64_t cluster_id, uint64_t member_id, int64_t revision,
                          uint64_t raft_term)
{
    uint_field(out, first, "cluster_id", cluster_id);
    uint_field(out, first, "member_id", member_id);
    int_field(out, first, "revision", revision);
    uint_field(out, first, "raft_term", raft_term);
}

static void response_header_fields(ctl_buf *out, bool *first, const etcd_response *r)
{
    header_fields(out, first, etcd_response_cluster_id(r), etcd_response_member_id(r), etcd_response_revision(r),
                  etcd_response_raft_term(r));
}

static void header(ctl_buf *out, bool *first, const etcd_response *r)
{
    field(out, first, "header");
    bool f = true;
    buf_addc(out, '{');
    response_header_fields(out, &f, r);
    buf_addc(out, '}');
}

static void keyvalue(ctl_buf *out, const etcd_keyvalue *kv)
{
    bool f = true;
    size_t klen, vlen;
    const uint8_t *k = etcd_keyvalue_key(kv, &klen);
    const uint8_t *v = etcd_keyvalue_value(kv, &vlen);
    buf_addc(out, '{');
    bytes_field(out, &f, "key", k, klen);
    int_field(out, &f, "create_revision", etcd_keyvalue_create_revision(kv));
    int_field(out, &f, "mod_revision", etcd_keyvalue_mod_revision(kv));
    int_field(out, &f, "version", etcd_keyvalue_version(kv));
    bytes_field(out, &f, "value", v, vlen);
    int_field(out, &f, "lease", etcd_keyvalue_lease(kv));
    buf_addc(out, '}');
}

static void kv_list(ctl_buf *out, bool *first, const char *name, size_t n,
                    const etcd_keyvalue *(*at)(const etcd_response *, size_t), const etcd_response *r)
{
    if (n == 0)
        return;
    field(out, first, name);
    buf_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(out, ',');
        keyvalue(out, at(r, i));
    }
    buf_addc(out, ']');
}

static void message(ctl_buf *out, const etcd_response *r);

static void txn_responses(ctl_buf *out, bool *first, const etcd_response *r)
{
    size_t n = etcd_response_txn_count(r);
    if (n == 0)
        return;
    field(out, first, "responses");
    buf_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        const etcd_response *sub = etcd_response_txn_at(r, i);
        const char *name = "ResponseRange";
        switch (etcd_response_type(sub)) {
        case ETCD_OP_PUT:
            name = "ResponsePut";
            break;
        case ETCD_OP_DELETE:
            name = "ResponseDeleteRange";
            break;
        case ETCD_OP_TXN:
            name = "ResponseTxn";
            break;
        default:
            break;
        }
        if (i)
            buf_addc(out, ',');
        buf_printf(out, "{\"Response\":{\"%s\":", name);
        message(out, sub);
        buf_adds(out, "}}");
    }
    buf_addc(out, ']');
}

static void message(ctl_buf *out, const etcd_response *r)
{
    bool f = true;
    buf_addc(out, '{');
    header(out, &f, r);
    switch (etcd_response_type(r)) {
    case ETCD_OP_GET:
        kv_list(out, &f, "kvs", etcd_response_kv_count(r), etcd_response_kv_at, r);
        if (etcd_response_more(r)) {
            field(out, &f, "more");
            buf_adds(out, "true");
        }
        int_field(out, &f, "count", etcd_response_count(r));
        break;
    case ETCD_OP_PUT:
        if (etcd_response_prev_kv_count(r)) {
            field(out, &f, "prev_kv");
            keyvalue(out, etcd_response_prev_kv_at(r, 0));
        }
        break;
    case ETCD_OP_DELETE:
        int_field(out, &f, "deleted", etcd_response_deleted(r));
        kv_list(out, &f, "prev_kvs", etcd_response_prev_kv_count(r), etcd_response_prev_kv_at, r);
        break;
    case ETCD_OP_TXN:
        if (etcd_response_succeeded(r)) {
            field(out, &f, "succeeded");
            buf_adds(out, "true");
        }
        txn_responses(out, &f, r);
        break;
    case ETCD_OP_COMPACT:
        break;
    }
    buf_addc(out, '}');
}

void ctl_print_json(ctl_buf *out, const etcd_response *resp)
{
    message(out, resp);
    buf_addc(out, '\n');
}

void ctl_print_health_json(ctl_buf *out, const ctl_health *h, size_t n)
{
    buf_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        bool f = true;
        if (i)
            buf_addc(out, ',');
        buf_addc(out, '{');
        field(out, &f, "endpoint");
        go_json_string(out, h[i].endpoint, strlen(h[i].endpoint));
        field(out, &f, "health");
        buf_adds(out, h[i].healthy ? "true" : "false");
        ctl_buf took = {0};
        go_duration_string(&took, h[i].took_ns);
        field(out, &f, "took");
        go_json_string(out, buf_str(&took), took.len);
        buf_free(&took);
        if (h[i].error && *h[i].error) {
            field(out, &f, "error");
            go_json_string(out, h[i].error, strlen(h[i].error));
        }
        buf_addc(out, '}');
    }
    buf_adds(out, "]\n");
}

/* Always written, zero or not (no omitempty). */
static void plain_int_field(ctl_buf *out, bool *first, const char *name, int64_t v)
{
    field(out, first, name);
    buf_printf(out, "%lld", (long long)v);
}

/*
 * etcdctl prints its client's lease types, which embed the header (so its fields come first, at
 * the top level) and name their own fields as Go does ("ID", "TTL", "Error"), or with their
 * own tags ("id", "ttl", "granted-ttl", "keys"). A revoke answer is etcd's message as it is.
 */
void ctl_print_lease_json(ctl_buf *out, const etcd_response *r)
{
    bool f = true;
    buf_addc(out, '{');
    etcd_response_kind kind = etcd_response_get_kind(r);
    if (kind == ETCD_RESPONSE_LEASE_REVOKE)
        header(out, &f, r);
    else
        response_header_fields(out, &f, r);
    switch (kind) {
    case ETCD_RESPONSE_LEASE_GRANT:
    case ETCD_RESPONSE_LEASE_KEEP_ALIVE:
        plain_int_field(out, &f, "ID", etcd_lease_response_id(r));
        plain_int_field(out, &f, "TTL", etcd_lease_response_ttl(r));
        if (kind == ETCD_RESPONSE_LEASE_GRANT) {
            field(out, &f, "Error");
            buf_adds(out, "\"\"");
        }
        break;
    case ETCD_RESPONSE_LEASE_TIME_TO_LIVE: {
        plain_int_field(out, &f, "id", etcd_lease_response_id(r));
        plain_int_field(out, &f, "ttl", etcd_lease_response_ttl(r));
        plain_int_field(out, &f, "granted-ttl", etcd_lease_response_granted_ttl(r));
        field(out, &f, "keys");
        size_t n = etcd_lease_response_key_count(r);
        if (n == 0) {
            buf_adds(out, "null");
            break;
        }
        buf_addc(out, '[');
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const uint8_t *k = etcd_lease_response_key_at(r, i, &len);
            if (i)
                buf_addc(out, ',');
            buf_addc(out, '"');
            go_base64(out, k, len);
            buf_addc(out, '"');
        }
        buf_addc(out, ']');
        break;
    }
    case ETCD_RESPONSE_LEASE_LEASES:
        field(out, &f, "leases");
        buf_addc(out, '[');
        for (size_t i = 0; i < etcd_lease_response_lease_count(r); i++)
            buf_printf(out, "%s{\"id\":%lld}", i ? "," : "", (long long)etcd_lease_response_lease_at(r, i));
        buf_addc(out, ']');
        break;
    default:
        break;
    }
    buf_adds(out, "}\n");
}

/* etcdctl prints its client's WatchResponse: Go's field names, nothing left out, events as
 * etcd's Event messages (type left out for a put, which is 0). */
void ctl_print_watch_json(ctl_buf *out, const ctl_watch_view *v)
{
    bool f = true;
    buf_adds(out, "{\"Header\":{");
    header_fields(out, &f, v->cluster_id, v->member_id, v->revision, v->raft_term);
    buf_adds(out, "},\"Events\":[");
    size_t n = v->resp ? etcd_watch_response_event_count(v->resp) : 0;
    for (size_t i = 0; i < n; i++) {
        const etcd_event *ev = etcd_watch_response_event_at(v->resp, i);
        bool ef = true;
        if (i)
            buf_addc(out, ',');
        buf_addc(out, '{');
        int_field(out, &ef, "type", etcd_event_get_type(ev) == ETCD_EVENT_DELETE ? 1 : 0);
        field(out, &ef, "kv");
        keyvalue(out, etcd_event_kv(ev));
        if (etcd_event_prev_kv(ev)) {
            field(out, &ef, "prev_kv");
            keyvalue(out, etcd_event_prev_kv(ev));
        }
        buf_addc(out, '}');
    }
    buf_printf(out, "],\"CompactRevision\":%lld,\"Canceled\":%s,\"Created\":false}\n",
               (long long)v->compact_revision, v->canceled ? "true" : "false");
}
