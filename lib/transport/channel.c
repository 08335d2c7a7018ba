/* Channel creation: insecure credentials, our limits, keepalive and reconnect backoff. */
#include <grpc/grpc_security.h>

#include "channel.h"

grpc_channel *etcd_channel_create(const char *target, const etcd_channel_settings *s)
{
    grpc_arg args[13];
    int n = 0;
#define INT_ARG(k, v) args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = (char *)(k), .value.integer = (int)(v)}
    INT_ARG(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, s->max_send_bytes);
    INT_ARG(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, s->max_recv_bytes);
    /* One connection per client and endpoint: a client's view of a member is its own. */
    INT_ARG(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    /* A member that comes back is found within a second or two, not gRPC's default of minutes.
     * GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left alone on purpose: gRPC core uses it as the minimum
     * time a connection attempt may take (20 s by default, as Go's client), not as a backoff, so
     * a small value makes connects over a slow link time out before they can finish. */
    INT_ARG(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    INT_ARG(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    /* lib/retry decides every retry, knowing which requests are writes. gRPC's own retry layer would
     * only add a copy of each request kept for replay: about a tenth of the client's instructions. */
    INT_ARG(GRPC_ARG_ENABLE_RETRIES, 0);
    if (s->keepalive_time_ms > 0) {
        INT_ARG(GRPC_ARG_KEEPALIVE_TIME_MS, s->keepalive_time_ms);
        INT_ARG(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, s->keepalive_timeout_ms);
        INT_ARG(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
        INT_ARG(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    }
#undef INT_ARG
    grpc_channel_args ca = {.num_args = (size_t)n, .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    return ch;
}
