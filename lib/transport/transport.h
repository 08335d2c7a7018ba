/*
 * The transport: the loop, the method table, and the set of gRPC calls in flight (unary and
 * streaming alike), so that closing a client cancels them all and no new one starts.
 *
 * Methods are registered once per transport by path ("/etcdserverpb.KV/Range") and known by a
 * small id after that; each endpoint's channel keeps its registered-call handle per id.
 */
#ifndef ETCDC_TRANSPORT_H
#define ETCDC_TRANSPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "loop.h"

#define ETCD_MAX_METHODS 96

typedef struct etcd_transport etcd_transport;

/* A call in flight, as the transport tracks it; embedded in the call that owns it. */
typedef struct etcd_tracked_call {
    grpc_call *call;
    struct etcd_tracked_call *prev, *next;
} etcd_tracked_call;

/* max_send_bytes: requests larger than this are refused before they start. */
etcd_transport *etcd_transport_new(etcd_loop *loop, int32_t max_send_bytes);
int32_t etcd_transport_max_send_bytes(etcd_transport *t);
etcd_loop *etcd_transport_loop(etcd_transport *t);
/* The id of a method path, registering it on first use; -1 when the table is full or out of
 * memory (calls then go unregistered). Paths are compared by content. */
int etcd_transport_method_id(etcd_transport *t, const char *path);

/* Tracks a call about to start; false (nothing tracked) when the transport is closing.
 * Must be paired with etcd_transport_untrack once the call has completed or failed to start. */
bool etcd_transport_track(etcd_transport *t, etcd_tracked_call *tc);
void etcd_transport_untrack(etcd_transport *t, etcd_tracked_call *tc);
/* The lock track/untrack take, for callers that must do more under it (arming a deadline). */
void etcd_transport_lock(etcd_transport *t);
void etcd_transport_unlock(etcd_transport *t);
/* Variants for a caller already holding the lock. */
bool etcd_transport_track_locked(etcd_transport *t, etcd_tracked_call *tc);
void etcd_transport_untrack_locked(etcd_transport *t, etcd_tracked_call *tc);
bool etcd_transport_closing(etcd_transport *t);

/* Cancels every call in flight; their closures run with ETCD_E_CANCELLED. No call starts after. */
void etcd_transport_cancel_all(etcd_transport *t);
void etcd_transport_free(etcd_transport *t);

/* A service whose invoke() makes the unary gRPC call described by the descriptor's method. */
ProtobufCService *etcd_channel_service_new(etcd_transport *t, const ProtobufCServiceDescriptor *desc);

#endif
