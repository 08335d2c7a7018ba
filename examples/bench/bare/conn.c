/* The one channel and the one completion queue. Channel arguments are those etcdc's transport gives
 * a KV call (lib/transport/channel.c with the client's defaults), so that only the client differs. */
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

static const char *const method_paths[BARE_N_METHODS] = {
    [BARE_PUT] = "/etcdserverpb.KV/Put",
    [BARE_RANGE] = "/etcdserverpb.KV/Range",
    [BARE_WATCH] = "/etcdserverpb.Watch/Watch",
    [BARE_LEASE_GRANT] = "/etcdserverpb.Lease/LeaseGrant",
    [BARE_LEASE_KEEPALIVE] = "/etcdserverpb.Lease/LeaseKeepAlive",
};

/* host:port (optionally after http://) as a gRPC target: ipv4: for an address, dns: for a name. */
static bool make_target(const char *endpoint, char *buf, size_t len)
{
    if (strncmp(endpoint, "http://", 7) == 0)
        endpoint += 7;
    const char *colon = strrchr(endpoint, ':');
    if (!colon || colon == endpoint || !colon[1]) {
        fprintf(stderr, "--endpoint \"%s\": expected host:port\n", endpoint);
        return false;
    }
    bool numeric = strspn(endpoint, "0123456789.") == (size_t)(colon - endpoint);
    int n = snprintf(buf, len, "%s%s", numeric ? "ipv4:" : "dns:///", endpoint);
    return n > 0 && (size_t)n < len;
}

static grpc_channel *channel_create(const char *target)
{
    grpc_arg args[] = {
#define INT_ARG(k, v) {.type = GRPC_ARG_INTEGER, .key = (char *)(k), .value.integer = (v)}
        INT_ARG(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 2 * 1024 * 1024),
        INT_ARG(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024),
        INT_ARG(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1),
        INT_ARG(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100),
        INT_ARG(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000),
        /* No replay copy of every request: the bare peer retries nothing. */
        INT_ARG(GRPC_ARG_ENABLE_RETRIES, 0),
        INT_ARG(GRPC_ARG_KEEPALIVE_TIME_MS, 10000),
        INT_ARG(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000),
        INT_ARG(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0),
        INT_ARG(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0),
#undef INT_ARG
    };
    grpc_channel_args ca = {.num_args = sizeof args / sizeof args[0], .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    return ch;
}

/* Drives the channel to READY on the queue itself; no other completion is pending yet. */
static bool wait_ready(bare_conn *c, int timeout_ms)
{
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_connectivity_state st = grpc_channel_check_connectivity_state(c->ch, 1);
    while (st != GRPC_CHANNEL_READY) {
        if (st == GRPC_CHANNEL_SHUTDOWN)
            return false;
        grpc_channel_watch_connectivity_state(c->ch, st, deadline, c->cq, NULL);
        grpc_event ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success)
            return false; /* the deadline passed */
        st = grpc_channel_check_connectivity_state(c->ch, 1);
    }
    return true;
}

bool bare_conn_open(bare_conn *c, const char *endpoint, int dial_timeout_ms)
{
    char target[512];
    memset(c, 0, sizeof *c);
    if (!make_target(endpoint, target, sizeof target))
        return false;
    c->cq = grpc_completion_queue_create_for_next(NULL);
    c->ch = channel_create(target);
    if (!c->cq || !c->ch) {
        fprintf(stderr, "%s: could not create the channel\n", endpoint);
        return false;
    }
    for (int m = 0; m < BARE_N_METHODS; m++)
        c->method[m] = grpc_channel_register_call(c->ch, method_paths[m], NULL, NULL);
    if (!wait_ready(c, dial_timeout_ms)) {
        fprintf(stderr, "dial: %s: not connected within %d ms\n", endpoint, dial_timeout_ms);
        return false;
    }
    return true;
}

void bare_conn_close(bare_conn *c)
{
    if (c->ch)
        grpc_channel_destroy(c->ch);
    if (c->cq) {
        grpc_completion_queue_shutdown(c->cq);
        while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(c->cq);
    }
}

bool bare_conn_run(bare_conn *c, const bool *stop)
{
    return bare_conn_run_until(c, stop, 0);
}

bool bare_conn_run_until(bare_conn *c, const bool *stop, uint64_t until_ns)
{
    /* gRPC's monotonic clock has its own origin: convert by distance, not by value. */
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (until_ns) {
        uint64_t now = bare_now_ns();
        int64_t left_ms = until_ns > now ? (int64_t)((until_ns - now + 999999) / 1000000) : 0;
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(left_ms, GPR_TIMESPAN));
    }
    while (!*stop) {
        grpc_event ev = grpc_completion_queue_next(c->cq, deadline, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT)
            return true;
        if (ev.type != GRPC_OP_COMPLETE)
            return false;
        bare_tag *t = ev.tag;
        t->done(t, ev.success != 0);
    }
    return true;
}

grpc_call *bare_conn_call(bare_conn *c, int method)
{
    return grpc_channel_create_registered_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, c->method[method],
                                               gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
}
