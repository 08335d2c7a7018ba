/* Creating one gRPC channel for one endpoint, with the client's settings. */
#ifndef ETCDC_CHANNEL_H
#define ETCDC_CHANNEL_H

#include <stdint.h>
#include <grpc/grpc.h>

typedef struct etcd_channel_settings {
    int64_t keepalive_time_ms;      /* 0: no pings */
    int64_t keepalive_timeout_ms;
    int32_t max_send_bytes;
    int32_t max_recv_bytes;
} etcd_channel_settings;

grpc_channel *etcd_channel_create(const char *target, const etcd_channel_settings *s);

#endif
