/*
 * print_simple.c - etcdctl's "simple" output: keys and values on lines of their own, "OK" for a
 * put, the deleted count for a delete, SUCCESS/FAILURE and each response for a txn. With --hex,
 * every byte of keys and values is written as \xNN.
 */
#include "ctl.h"
#include "gotext.h"

static void print_bytes(ctl_buf *out, const uint8_t *p, size_t n, bool hex)
{
    static const char digits[] = "0123456789abcdef";
    if (!hex) {
        buf_add(out, p, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char q[4] = {'\\', 'x', digits[p[i] >> 4], digits[p[i] & 0xF]};
        buf_add(out, q, 4);
    }
}

static void print_kv(ctl_buf *out, const etcd_keyvalue *kv, bool hex, bool value_only)
{
    size_t klen, vlen;
    const uint8_t *k = etcd_keyvalue_key(kv, &klen);
    const uint8_t *v = etcd_keyvalue_value(kv, &vlen);
    if (!value_only) {
        print_bytes(out, k, klen, hex);
        buf_addc(out, '\n');
    }
    print_bytes(out, v, vlen, hex);
    buf_addc(out, '\n');
}

void ctl_print_simple(ctl_buf *out, const etcd_response *resp, bool hex, bool value_only)
{
    switch (etcd_response_type(resp)) {
    case ETCD_OP_GET:
        for (size_t i = 0; i < etcd_response_kv_count(resp); i++)
            print_kv(out, etcd_response_kv_at(resp, i), hex, value_only);
        break;
    case ETCD_OP_PUT:
        buf_adds(out, "OK\n");
        if (etcd_response_prev_kv_count(resp))
            print_kv(out, etcd_response_prev_kv_at(resp, 0), hex, value_only);
        break;
    case ETCD_OP_DELETE:
        buf_printf(out, "%lld\n", (long long)etcd_response_deleted(resp));
        for (size_t i = 0; i < etcd_response_prev_kv_count(resp); i++)
            print_kv(out, etcd_response_prev_kv_at(resp, i), hex, value_only);
        break;
    case ETCD_OP_TXN:
        buf_adds(out, etcd_response_succeeded(resp) ? "SUCCESS\n" : "FAILURE\n");
        for (size_t i = 0; i < etcd_response_txn_count(resp); i++) {
            const etcd_response *sub = etcd_response_txn_at(resp, i);
            buf_addc(out, '\n');
            if (etcd_response_type(sub) == ETCD_OP_TXN)
                buf_adds(out, "unexpected response (nested txn)\n"); /* etcdctl's txn cannot nest */
            else
                ctl_print_simple(out, sub, hex, value_only);
        }
        break;
    case ETCD_OP_COMPACT:
        break;
    }
}

void ctl_print_health_simple(ctl_buf *out, const ctl_health *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (h[i].healthy) {
            buf_printf(out, "%s is healthy: successfully committed proposal: took = ", h[i].endpoint);
            go_duration_string(out, h[i].took_ns);
            buf_addc(out, '\n');
        } else {
            buf_printf(out, "%s is unhealthy: failed to commit proposal: %s\n", h[i].endpoint, h[i].error);
        }
    }
}

void ctl_lease_hex(ctl_buf *out, int64_t id)
{
    /* Go pads after the sign: -1 is "-000000000000001". */
    if (id < 0)
        buf_printf(out, "-%015llx", (unsigned long long)-(uint64_t)id);
    else
        buf_printf(out, "%016llx", (unsigned long long)id);
}

void ctl_print_lease_simple(ctl_buf *out, const etcd_response *r, int64_t id, bool keys)
{
    switch (etcd_response_get_kind(r)) {
    case ETCD_RESPONSE_LEASE_GRANT:
        buf_adds(out, "lease ");
        ctl_lease_hex(out, etcd_lease_response_id(r));
        buf_printf(out, " granted with TTL(%llds)\n", (long long)etcd_lease_response_ttl(r));
        break;
    case ETCD_RESPONSE_LEASE_REVOKE:
        buf_adds(out, "lease ");
        ctl_lease_hex(out, id);
        buf_adds(out, " revoked\n");
        break;
    case ETCD_RESPONSE_LEASE_KEEP_ALIVE:
        buf_adds(out, "lease ");
        ctl_lease_hex(out, etcd_lease_response_id(r));
        buf_printf(out, " keepalived with TTL(%lld)\n", (long long)etcd_lease_response_ttl(r));
        break;
    case ETCD_RESPONSE_LEASE_TIME_TO_LIVE:
        buf_adds(out, "lease ");
        ctl_lease_hex(out, etcd_lease_response_id(r));
        if (etcd_lease_response_granted_ttl(r) == 0 && etcd_lease_response_ttl(r) == -1) {
            buf_adds(out, " already expired\n");
            break;
        }
        buf_printf(out, " granted with TTL(%llds), remaining(%llds)", (long long)etcd_lease_response_granted_ttl(r),
                   (long long)etcd_lease_response_ttl(r));
        if (keys) {
            /* Go's %v of a list of strings: [a b c]. */
            buf_adds(out, ", attached keys([");
            for (size_t i = 0; i < etcd_lease_response_key_count(r); i++) {
                size_t n;
                const uint8_t *k = etcd_lease_response_key_at(r, i, &n);
                if (i)
                    buf_addc(out, ' ');
                buf_add(out, k, n);
            }
            buf_adds(out, "])");
        }
        buf_addc(out, '\n');
        break;
    case ETCD_RESPONSE_LEASE_LEASES:
        buf_printf(out, "found %zu leases\n", etcd_lease_response_lease_count(r));
        for (size_t i = 0; i < etcd_lease_response_lease_count(r); i++) {
            ctl_lease_hex(out, etcd_lease_response_lease_at(r, i));
            buf_addc(out, '\n');
        }
        break;
    default:
        break;
    }
}

void ctl_print_watch_simple(ctl_buf *out, const ctl_watch_view *v, bool hex)
{
    if (!v->resp)
        return;
    for (size_t i = 0; i < etcd_watch_response_event_count(v->resp); i++) {
        const etcd_event *ev = etcd_watch_response_event_at(v->resp, i);
        buf_adds(out, etcd_event_get_type(ev) == ETCD_EVENT_DELETE ? "DELETE\n" : "PUT\n");
        if (etcd_event_prev_kv(ev))
            print_kv(out, etcd_event_prev_kv(ev), hex, false);
        print_kv(out, etcd_event_kv(ev), hex, false);
    }
}
