/* The lease interface's unary calls, through the one call machinery, and response accessors. */
#include <stdlib.h>
#include <string.h>

#include "call/call.h"
#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "lease_internal.h"
#include "rpc.pb-c.h"
#include "rpc/sync_wait.h"

enum { M_GRANT, M_REVOKE, M_TTL, M_LEASES };
static const char *const method_names[4] = {"LeaseGrant", "LeaseRevoke", "LeaseTimeToLive", "LeaseLeases"};

bool etcd_lease_init(etcd_lease *l, etcd_context *ctx)
{
    memset(l, 0, sizeof *l);
    l->ctx = ctx;
    pthread_mutex_init(&l->mu, NULL);
    etcd_lease_keeper_init(l);
    for (int i = 0; i < 4; i++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(&etcdserverpb__lease__descriptor, method_names[i]);
        if (!m)
            return false;
        l->methods[i] = (unsigned)(m - etcdserverpb__lease__descriptor.methods);
    }
    return true;
}

static void describe(const etcd_lease *l, int m, const ProtobufCMessage *msg, etcd_response_kind kind,
                     const char *what, bool repeatable, etcd_unary_req *r)
{
    memset(r, 0, sizeof *r);
    r->service = ETCD_SVC_LEASE;
    r->method = l->methods[m];
    r->msg = msg;
    r->kind = kind;
    r->what = what;
    r->require_leader = -1;
    r->read_only = repeatable;
}

/* One helper for the sync and async forms of every unary lease call. */
static etcd_code run(etcd_lease *l, const etcd_unary_req *r, etcd_response **resp, etcd_callback cb,
                     void *user_data, etcd_call **call, etcd_error **err)
{
    if (cb)
        return etcd_unary_async(l->ctx, r, cb, user_data, call, err);
    return etcd_unary_sync(l->ctx, r, resp, err);
}

static etcd_code check(etcd_lease *l, etcd_response **resp, etcd_callback cb, etcd_call **call, bool async,
                       etcd_error **err, const char *what)
{
    if (resp)
        *resp = NULL;
    if (call)
        *call = NULL;
    if (!l)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: lease interface is NULL", what);
    if (async && !cb)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: callback is NULL", what);
    if (!async && !resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: resp (the out-pointer) is NULL", what);
    return ETCD_OK;
}

static etcd_code grant(etcd_lease *l, int64_t ttl_s, int64_t id, etcd_response **resp, etcd_callback cb,
                       void *user_data, etcd_call **call, etcd_error **err)
{
    etcd_code rc = check(l, resp, cb, call, resp == NULL, err, "lease grant");
    if (rc != ETCD_OK)
        return rc;
    if (ttl_s <= 0 || id < 0)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease grant: %s must be %s", ttl_s <= 0 ? "TTL" : "ID",
                              ttl_s <= 0 ? "> 0" : ">= 0 (0: etcd picks one)");
    Etcdserverpb__LeaseGrantRequest req = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
    req.ttl = ttl_s;
    req.id = id;
    etcd_unary_req r;
    /* With an ID a retry cannot create a second lease; without one it could. */
    describe(l, M_GRANT, &req.base, ETCD_RESPONSE_LEASE_GRANT, "lease grant", id != 0, &r);
    return run(l, &r, resp, cb, user_data, call, err);
}

etcd_code etcd_lease_grant(etcd_lease *l, int64_t ttl_s, int64_t id, etcd_response **resp, etcd_error **err)
{
    if (!resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease grant: resp (the out-pointer) is NULL");
    return grant(l, ttl_s, id, resp, NULL, NULL, NULL, err);
}

etcd_code etcd_lease_grant_async(etcd_lease *l, int64_t ttl_s, int64_t id, etcd_callback cb, void *user_data,
                                 etcd_call **call, etcd_error **err)
{
    return grant(l, ttl_s, id, NULL, cb, user_data, call, err);
}

static etcd_code revoke(etcd_lease *l, int64_t id, etcd_response **resp, etcd_callback cb, void *user_data,
                        etcd_call **call, etcd_error **err)
{
    etcd_code rc = check(l, resp, cb, call, resp == NULL, err, "lease revoke");
    if (rc != ETCD_OK)
        return rc;
    if (id <= 0)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease revoke: ID must be > 0");
    Etcdserverpb__LeaseRevokeRequest req = ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
    req.id = id;
    etcd_unary_req r;
    describe(l, M_REVOKE, &req.base, ETCD_RESPONSE_LEASE_REVOKE, "lease revoke", true, &r);
    return run(l, &r, resp, cb, user_data, call, err);
}

etcd_code etcd_lease_revoke(etcd_lease *l, int64_t id, etcd_response **resp, etcd_error **err)
{
    if (!resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease revoke: resp (the out-pointer) is NULL");
    return revoke(l, id, resp, NULL, NULL, NULL, err);
}

etcd_code etcd_lease_revoke_async(etcd_lease *l, int64_t id, etcd_callback cb, void *user_data, etcd_call **call,
                                  etcd_error **err)
{
    return revoke(l, id, NULL, cb, user_data, call, err);
}

static etcd_code ttl(etcd_lease *l, int64_t id, int keys, etcd_response **resp, etcd_callback cb, void *user_data,
                     etcd_call **call, etcd_error **err)
{
    etcd_code rc = check(l, resp, cb, call, resp == NULL, err, "lease time-to-live");
    if (rc != ETCD_OK)
        return rc;
    if (id <= 0)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease time-to-live: ID must be > 0");
    Etcdserverpb__LeaseTimeToLiveRequest req = ETCDSERVERPB__LEASE_TIME_TO_LIVE_REQUEST__INIT;
    req.id = id;
    req.keys = keys != 0;
    etcd_unary_req r;
    describe(l, M_TTL, &req.base, ETCD_RESPONSE_LEASE_TIME_TO_LIVE, "lease time-to-live", true, &r);
    return run(l, &r, resp, cb, user_data, call, err);
}

etcd_code etcd_lease_time_to_live(etcd_lease *l, int64_t id, int keys, etcd_response **resp, etcd_error **err)
{
    if (!resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease time-to-live: resp (the out-pointer) is NULL");
    return ttl(l, id, keys, resp, NULL, NULL, NULL, err);
}

etcd_code etcd_lease_time_to_live_async(etcd_lease *l, int64_t id, int keys, etcd_callback cb, void *user_data,
                                        etcd_call **call, etcd_error **err)
{
    return ttl(l, id, keys, NULL, cb, user_data, call, err);
}

static etcd_code leases(etcd_lease *l, etcd_response **resp, etcd_callback cb, void *user_data, etcd_call **call,
                        etcd_error **err)
{
    etcd_code rc = check(l, resp, cb, call, resp == NULL, err, "lease leases");
    if (rc != ETCD_OK)
        return rc;
    Etcdserverpb__LeaseLeasesRequest req = ETCDSERVERPB__LEASE_LEASES_REQUEST__INIT;
    etcd_unary_req r;
    describe(l, M_LEASES, &req.base, ETCD_RESPONSE_LEASE_LEASES, "lease leases", true, &r);
    return run(l, &r, resp, cb, user_data, call, err);
}

etcd_code etcd_lease_leases(etcd_lease *l, etcd_response **resp, etcd_error **err)
{
    if (!resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "lease leases: resp (the out-pointer) is NULL");
    return leases(l, resp, NULL, NULL, NULL, err);
}

etcd_code etcd_lease_leases_async(etcd_lease *l, etcd_callback cb, void *user_data, etcd_call **call,
                                  etcd_error **err)
{
    return leases(l, NULL, cb, user_data, call, err);
}

/* ---- renew once, sync: an async renew-once and a wait ---- */

typedef struct once_wait {
    etcd_sync_wait wait;
    etcd_code code;
    etcd_response *resp;
    etcd_error *err;
} once_wait;

static void once_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    once_wait *w = ud;
    w->code = code;
    w->resp = resp;
    w->err = err;
    etcd_sync_wait_signal(&w->wait, NULL);
}

etcd_code etcd_lease_keep_alive_once(etcd_lease *l, int64_t id, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check(l, resp, NULL, NULL, false, err, "lease keep-alive-once");
    if (rc != ETCD_OK)
        return rc;
    if (etcd_loop_on_thread(l->ctx->loop))
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT,
                              "lease keep-alive-once: a sync call from a callback of the same client would wait for itself");
    once_wait w = {.code = ETCD_OK};
    etcd_sync_wait_init(&w.wait);
    rc = etcd_lease_keep_alive_once_submit(l, id, once_done, &w, NULL, err);
    if (rc != ETCD_OK) {
        etcd_sync_wait_signal(&w.wait, NULL);
        etcd_sync_wait_finish(&w.wait);
        return rc;
    }
    etcd_sync_wait_finish(&w.wait);
    *resp = w.resp;
    if (err)
        *err = w.err;
    else
        etcd_error_free(w.err);
    return w.code;
}

/* ---- accessors ---- */

#define AS(r, T, k) ((r) && (r)->msg && (r)->kind == (k) ? (const T *)(r)->msg : NULL)

int64_t etcd_lease_response_id(const etcd_response *resp)
{
    const Etcdserverpb__LeaseGrantResponse *g = AS(resp, Etcdserverpb__LeaseGrantResponse, ETCD_RESPONSE_LEASE_GRANT);
    const Etcdserverpb__LeaseTimeToLiveResponse *t =
        AS(resp, Etcdserverpb__LeaseTimeToLiveResponse, ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    const Etcdserverpb__LeaseKeepAliveResponse *k =
        AS(resp, Etcdserverpb__LeaseKeepAliveResponse, ETCD_RESPONSE_LEASE_KEEP_ALIVE);
    return g ? g->id : t ? t->id : k ? k->id : 0;
}

int64_t etcd_lease_response_ttl(const etcd_response *resp)
{
    const Etcdserverpb__LeaseGrantResponse *g = AS(resp, Etcdserverpb__LeaseGrantResponse, ETCD_RESPONSE_LEASE_GRANT);
    const Etcdserverpb__LeaseTimeToLiveResponse *t =
        AS(resp, Etcdserverpb__LeaseTimeToLiveResponse, ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    const Etcdserverpb__LeaseKeepAliveResponse *k =
        AS(resp, Etcdserverpb__LeaseKeepAliveResponse, ETCD_RESPONSE_LEASE_KEEP_ALIVE);
    return g ? g->ttl : t ? t->ttl : k ? k->ttl : 0;
}

int64_t etcd_lease_response_granted_ttl(const etcd_response *resp)
{
    const Etcdserverpb__LeaseTimeToLiveResponse *t =
        AS(resp, Etcdserverpb__LeaseTimeToLiveResponse, ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    return t ? t->grantedttl : 0;
}

size_t etcd_lease_response_key_count(const etcd_response *resp)
{
    const Etcdserverpb__LeaseTimeToLiveResponse *t =
        AS(resp, Etcdserverpb__LeaseTimeToLiveResponse, ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    return t ? t->n_keys : 0;
}

const uint8_t *etcd_lease_response_key_at(const etcd_response *resp, size_t i, size_t *len)
{
    const Etcdserverpb__LeaseTimeToLiveResponse *t =
        AS(resp, Etcdserverpb__LeaseTimeToLiveResponse, ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    if (!t || i >= t->n_keys) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = t->keys[i].len;
    return t->keys[i].data ? t->keys[i].data : (const uint8_t *)"";
}

size_t etcd_lease_response_lease_count(const etcd_response *resp)
{
    const Etcdserverpb__LeaseLeasesResponse *r = AS(resp, Etcdserverpb__LeaseLeasesResponse, ETCD_RESPONSE_LEASE_LEASES);
    return r ? r->n_leases : 0;
}

int64_t etcd_lease_response_lease_at(const etcd_response *resp, size_t i)
{
    const Etcdserverpb__LeaseLeasesResponse *r = AS(resp, Etcdserverpb__LeaseLeasesResponse, ETCD_RESPONSE_LEASE_LEASES);
    return r && i < r->n_leases && r->leases[i] ? r->leases[i]->id : 0;
}
