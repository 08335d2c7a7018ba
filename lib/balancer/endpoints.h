/*
 * The live endpoint set: one refcounted endpoint (with its gRPC channel) per configured address,
 * and round-robin picking that prefers connected members and skips failing ones.
 */
#ifndef ETCDC_ENDPOINTS_H
#define ETCDC_ENDPOINTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <grpc/grpc.h>

#include "endpoint_parse.h"
#include "transport/channel.h"
#include "transport/transport.h"

typedef struct etcd_endpoint {
    atomic_int refs;
    char *name;
    char *target;
    grpc_channel *channel;
    /* Registered-call handles by transport method id (etcd_transport_method_id), set once. */
    pthread_mutex_t reg_mu;
    _Atomic(void *) registered[ETCD_MAX_METHODS];
    atomic_bool watched;        /* a connectivity watch is armed (lib/balancer/ready_wait.c) */
} etcd_endpoint;

/* The channel's registered-call handle for a method (registering it on first use), or NULL when
 * the method has no id (the caller then makes an unregistered call). */
void *etcd_endpoint_method(etcd_endpoint *ep, int method_id, const char *path);
/* Whether the endpoint's channel is connected now. */
bool etcd_endpoint_ready(etcd_endpoint *ep);

typedef struct etcd_endpoint_set etcd_endpoint_set;

etcd_endpoint_set *etcd_endpoint_set_new(const etcd_channel_settings *settings);
/* Replaces the endpoints (taking the strings of the specs it makes endpoints of). Endpoints
 * whose target is unchanged keep their channel, their name and the round-robin turn; specs that
 * name the same targets as now, in any order, change nothing. Calls holding a removed endpoint
 * finish on it. On failure the set is as it was. */
etcd_code etcd_endpoint_set_replace(etcd_endpoint_set *set, etcd_endpoint_spec *specs, size_t n, etcd_error **err);
/* The next endpoint to use, referenced (drop with etcd_endpoint_unref()). Prefers READY
 * channels, then ones connecting or idle, then any; among those of one state, `avoid` is taken
 * only when it is the last choice. Never NULL while the set is not empty. *ready (when not
 * NULL) tells whether the endpoint picked was connected when picked. */
etcd_endpoint *etcd_endpoint_set_pick(etcd_endpoint_set *set, const etcd_endpoint *avoid, bool *ready);
/* A referenced copy of the current endpoints; free with etcd_endpoints_release(). */
size_t etcd_endpoint_set_snapshot(etcd_endpoint_set *set, etcd_endpoint ***out);
void etcd_endpoints_release(etcd_endpoint **eps, size_t n);
/* How many endpoints there are now. */
size_t etcd_endpoint_set_count(etcd_endpoint_set *set);
/* The current names, comma-separated, like snprintf. */
size_t etcd_endpoint_set_names(etcd_endpoint_set *set, char *buf, size_t len);
void etcd_endpoint_set_free(etcd_endpoint_set *set);

etcd_endpoint *etcd_endpoint_ref(etcd_endpoint *ep);
void etcd_endpoint_unref(etcd_endpoint *ep);

#endif
