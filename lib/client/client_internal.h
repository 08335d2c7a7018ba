/* Internal shape of the client and its config. */
#ifndef ETCDC_CLIENT_INTERNAL_H
#define ETCDC_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <etcdc/client.h>

#include "balancer/endpoints.h"
#include "kv/kv_iface.h"
#include "retry/policy.h"
#include "transport/channel.h"
#include "transport/transport.h"

struct etcd_config {
    char *endpoints;
    int64_t dial_timeout_ms;
    int64_t request_timeout_ms;
    bool require_leader;
    int64_t auto_sync_ms;
    etcd_channel_settings channel;
    etcd_retry_policy retry;
    etcd_dispatch dispatch;
};

struct etcd_client {
    etcd_kv kv;                     /* first: the client's own KV interface */
    etcd_config cfg;                /* copy; cfg.endpoints is NULL */
    etcd_loop *loop;
    etcd_transport *transport;
    etcd_endpoint_set *eps;
    ProtobufCService *kv_service;   /* retry wrapper around the channel service */
    ProtobufCService *cluster_service;

    pthread_t sync_thread;          /* auto-sync, when enabled */
    bool sync_running;
    pthread_cond_t sync_cv;         /* wakes the sync thread on close */

    pthread_mutex_t mu;
    pthread_cond_t idle;
    int inflight;                   /* calls between begin and end */
    bool closing;

    /* ETCD_DISPATCH_CALLER: finished async calls waiting for etcd_client_dispatch(). */
    int event_fd;
    struct kv_call *ready_head, *ready_tail;
};

/* Queues a finished async call for etcd_client_dispatch() and wakes the caller's loop. */
void etcd_client_queue_ready(etcd_client *c, struct kv_call *call);

/* Every call brackets itself with these, so closing can wait for calls in flight. */
etcd_code etcd_client_call_begin(etcd_client *c, etcd_error **err);
void etcd_client_call_end(etcd_client *c);

/* The remote KV implementation: ops go through the generated KV stub. */
extern const etcd_kv_ops etcd_remote_kv_ops;

/* Waits until one endpoint's channel is ready or timeout_ms passes; on timeout, *err lists
 * every endpoint and why it could not be reached. */
etcd_code etcd_dial_wait(etcd_endpoint_set *eps, int64_t timeout_ms, etcd_error **err);

#endif
