/* Internal shape of the client and its config. */
#ifndef ETCDC_CLIENT_INTERNAL_H
#define ETCDC_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <etcdc/client.h>

#include "context.h"
#include "kv/kv_remote.h"
#include "lease/lease_internal.h"
#include "watch/watch_internal.h"
#include "retry/policy.h"
#include "transport/channel.h"

struct etcd_config {
    char *endpoints;
    int64_t dial_timeout_ms;
    bool dial_blocking;
    int64_t request_timeout_ms;
    bool require_leader;
    int64_t auto_sync_ms;
    etcd_channel_settings channel;
    etcd_retry_policy retry;
    etcd_dispatch dispatch;
    int64_t watch_buffer_bytes;
};

struct etcd_client {
    etcd_context ctx;               /* what services see of the client */
    etcd_remote_kv kv;
    etcd_watcher watcher;
    bool watcher_ready;
    etcd_lease lease;
    bool lease_ready;
    etcd_config cfg;                /* copy; cfg.endpoints is NULL */

    pthread_t sync_thread;          /* auto-sync, when enabled */
    bool sync_running;
    pthread_cond_t sync_cv;         /* wakes the sync thread on close (with ctx.mu) */
};

/* Waits until one endpoint's channel is ready or timeout_ms passes; on timeout, *err lists
 * every endpoint and why it could not be reached. */
etcd_code etcd_dial_wait(etcd_endpoint_set *eps, int64_t timeout_ms, etcd_error **err);

#endif
