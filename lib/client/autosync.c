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
#include "member_endpoints.h"
#include "rpc.pb-c.h"
#include "rpc/rpc.h"
#include "rpc/sync_wait.h"

typedef struct waiter {
    etcd_rpc rpc;               /* first: the closure's data is the waiter */
    etcd_sync_wait wait;
} waiter;

static void waiter_done(const ProtobufCMessage *msg, void *data)
{
    etcd_sync_wait_signal(&((waiter *)data)->wait, msg);
}

etcd_code etcd_autosync_once(etcd_client *c, etcd_error **err)
{
    etcd_code rc = etcd_client_call_begin(c, err);
    if (rc != ETCD_OK)
        return rc;
    waiter w = {.rpc.grpc_status = -1};
    int64_t timeout = c->cfg.request_timeout_ms > 0 ? c->cfg.request_timeout_ms : ETCD_DEFAULT_REQUEST_TIMEOUT_MS;
    w.rpc.deadline_ms = etcd_now_ms() + timeout;
    etcd_sync_wait_init(&w.wait);
    Etcdserverpb__MemberListRequest req = ETCDSERVERPB__MEMBER_LIST_REQUEST__INIT;
    etcdserverpb__cluster__member_list(c->cluster_service, &req, (Etcdserverpb__MemberListResponse_Closure)waiter_done,
                                       &w);
    ProtobufCMessage *msg = etcd_sync_wait_finish(&w.wait);
    if (w.rpc.code != ETCD_OK) {
        rc = w.rpc.code;
        if (err)
            *err = etcd_error_new_call(rc, rc, w.rpc.grpc_status, w.rpc.details, w.rpc.endpoint_name, "member list");
    } else {
        /* The endpoint set keeps itself (channels, round-robin cursor) when the members' URLs
         * name the endpoints it has already, however spelled or ordered. */
        char *urls = NULL;
        rc = etcd_member_endpoints((const Etcdserverpb__MemberListResponse *)msg, &urls);
        if (rc != ETCD_OK)
            etcd_error_set(err, rc, "auto-sync: out of memory");
        else if (urls)
            rc = etcd_client_set_endpoints(c, urls, err);
        free(urls);
        etcd_arena_free(etcd_rpc_take_arena(&w.rpc));
    }
    etcd_rpc_reset_result(&w.rpc);
    etcd_client_call_end(c);
    return rc;
}

static void *autosync_main(void *arg)
{
    etcd_client *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->closing) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (c->cfg.auto_sync_ms % 1000) * 1000000;
        ts.tv_sec += c->cfg.auto_sync_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&c->sync_cv, &c->mu, &ts);
        if (c->closing)
            break;
        pthread_mutex_unlock(&c->mu);
        /* A failed sync keeps the current endpoints; the next interval tries again. */
        etcd_autosync_once(c, NULL);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
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
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->sync_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->sync_thread, NULL);
    c->sync_running = false;
}
