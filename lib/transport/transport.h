/*
 * The transport: the loop plus the set of unary calls in flight, so that closing a client can
 * cancel them all. Its channel service (a ProtobufCService per gRPC service descriptor) sends
 * each call to the endpoint named in its etcd_rpc.
 */
#ifndef ETCDC_TRANSPORT_H
#define ETCDC_TRANSPORT_H

#include <protobuf-c/protobuf-c.h>

#include "loop.h"

typedef struct etcd_transport etcd_transport;

etcd_transport *etcd_transport_new(etcd_loop *loop);
etcd_loop *etcd_transport_loop(etcd_transport *t);
/* Cancels every call in flight; their closures run with ETCD_E_CANCELLED. */
void etcd_transport_cancel_all(etcd_transport *t);
void etcd_transport_free(etcd_transport *t);

/* A service whose invoke() makes the gRPC call described by the descriptor's method. */
ProtobufCService *etcd_channel_service_new(etcd_transport *t, const ProtobufCServiceDescriptor *desc);

#endif
