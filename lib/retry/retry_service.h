/*
 * The retrying wrapper: a ProtobufCService with the same interface as the one it wraps (like
 * clientv3's retryKVClient around pb.KVClient). For each attempt it picks a connected endpoint
 * from the balancer, parking the call at no cost while none is connected (the call then
 * provably never left the client); after a failure it decides, by the method's retry class,
 * whether to try again on another endpoint, and it reports writes that may have been applied
 * as "outcome unknown".
 */
#ifndef ETCDC_RETRY_SERVICE_H
#define ETCDC_RETRY_SERVICE_H

#include <protobuf-c/protobuf-c.h>

#include "balancer/endpoints.h"
#include "balancer/ready_wait.h"
#include "policy.h"
#include "transport/transport.h"

/* Takes ownership of `inner`; borrows the set, the gate and the transport, which must outlive
 * the service. */
ProtobufCService *etcd_retry_service_new(ProtobufCService *inner, etcd_endpoint_set *eps, etcd_ready_gate *gate,
                                         etcd_transport *transport, const etcd_retry_policy *policy);

/* The retry class of one of the service's methods (computed once, at creation). */
etcd_retry_class etcd_retry_service_class(ProtobufCService *service, unsigned method);

#endif
