/*
 * Auto-sync, as clientv3's autoSync: every interval, ask the cluster for its members and use
 * the client URLs of its started voting members as the endpoint list, so members added or moved
 * are found without a restart.
 * It runs on a thread of its own because it blocks on a call; it exists only when enabled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autosync.h"
#include "error/error_internal.h"
#include "call/call.h"
#include "client_internal.h"
#include "kv/response_internal.h"
#include "member_endpoints.h"
#include "rpc.pb-c.h"

etcd_code etcd_autosync_once(etcd_client *c, etcd_error **err)
{
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(&etcdserverpb__cluster__descriptor, "MemberList");
    Etcdserverpb__MemberListRequest req = ETCDSERVERPB__MEMBER_LIST_REQUEST__INIT;
    etcd_unary_req r = {
        .service = ETCD_SVC_CLUSTER,
        .method = (unsigned)(m - etcdserverpb__cluster__descriptor.methods),
        .msg = &req.base,
        .kind = ETCD_RESPONSE_MEMBER_LIST,
        .what = "member list",
        .timeout_ms = c->cfg.request_timeout_ms > 0 ? 0 : ETCD_DEFAULT_REQUEST_TIMEOUT_MS,
        .require_leader = -1,
    };
    etcd_response *resp;
    etcd_code rc = etcd_unary_sync(&c->ctx, &r, &resp, err);
    if (rc != ETCD_OK)
        return rc;
    /* The endpoint set keeps itself (channels, round-robin cursor) when the members' URLs
     * name the endpoints it has already, however spelled or ordered. */
    char *urls = NULL;
    rc = etcd_member_endpoints((const Etcdserverpb__MemberListResponse *)etcd_response_message(resp), &urls);
    if (rc != ETCD_OK)
        etcd_error_set(err, rc, "auto-sync: out of memory");
    else if (urls)
        rc = etcd_client_set_endpoints(c, urls, err);
    free(urls);
    etcd_response_free(resp);
    return rc;
}

static void *autosync_main(void *arg)
{
    etcd_client *c = arg;
    pthread_mutex_lock(&c->ctx.mu);
    while (!c->ctx.closing) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (c->cfg.auto_sync_ms % 1000) * 1000000;
        ts.tv_sec += c->cfg.auto_sync_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&c->sync_cv, &c->ctx.mu, &ts);
        if (c->ctx.closing)
            break;
        pthread_mutex_unlock(&c->ctx.mu);
        /* A failed sync keeps the current endpoints; the next interval tries again. */
        etcd_autosync_once(c, NULL);
        pthread_mutex_lock(&c->ctx.mu);
    }
    pthread_mutex_unlock(&c->ctx.mu);
    return NULL;
}

etcd_code etcd_autosync_start(etcd_client *c, etcd_error **err)
{
    if (c->cfg.auto_sync_ms <= 0)
        return ETCD_OK;
    if (pthread_create(&c->sync_thread, NULL, autosync_main, c) != 0)
        return etcd_error_set(err, ETCD_E_INTERNAL, "client_new: could not start the auto-sync thread");
    c->sync_running = true;
    return ETCD_OK;
}

void etcd_autosync_stop(etcd_client *c)
{
    if (!c->sync_running)
        return;
    pthread_mutex_lock(&c->ctx.mu);
    pthread_cond_broadcast(&c->sync_cv);
    pthread_mutex_unlock(&c->ctx.mu);
    pthread_join(c->sync_thread, NULL);
    c->sync_running = false;
}
