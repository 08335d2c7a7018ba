/*
 * The dial wait: until one endpoint's channel is READY or the dial timeout passes. It watches
 * connectivity on a completion queue of its own, so it needs nothing from the client's loop.
 */
#include <grpc/grpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/probe.h"
#include "client_internal.h"
#include "error/error_internal.h"
#include "rpc/rpc.h"

/* Watches re-arm at this period, so shutting the queue down never waits longer. */
#define WATCH_SLICE_MS 100
/* After the timeout, all endpoints are probed together for at most this long to say why each
 * failed: the only time a failed dial takes beyond its timeout. */
#define PROBE_BUDGET_MS 250

static gpr_timespec mono_deadline(int64_t at_ms)
{
    int64_t left = at_ms - etcd_now_ms();
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(left > 0 ? left : 0, GPR_TIMESPAN));
}

static etcd_code timeout_error(etcd_endpoint **eps, size_t n, int64_t timeout_ms, etcd_error **err)
{
    if (!err)
        return ETCD_E_DEADLINE;
    size_t cap = 256, off = 0;
    for (size_t i = 0; i < n; i++)
        cap += strlen(eps[i]->name) + ETCD_PROBE_REASON_LEN + 4;
    char *msg = malloc(cap);
    const char **targets = calloc(n, sizeof *targets);
    char(*why)[ETCD_PROBE_REASON_LEN] = calloc(n, sizeof *why);
    if (!msg || !targets || !why) {
        free(msg);
        free(targets);
        free(why);
        return etcd_error_set(err, ETCD_E_DEADLINE, "no endpoint could be reached within the dial timeout");
    }
    for (size_t i = 0; i < n; i++)
        targets[i] = eps[i]->target;
    etcd_probe_reasons(targets, n, PROBE_BUDGET_MS, why);
    off += (size_t)snprintf(msg, cap, "no endpoint could be reached within the dial timeout of %lld ms:",
                            (long long)timeout_ms);
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(msg + off, cap - off, "%s %s: %s", i ? ";" : "", eps[i]->name, why[i]);
    etcd_error_set(err, ETCD_E_DEADLINE, "%s", msg);
    free(msg);
    free(targets);
    free(why);
    return ETCD_E_DEADLINE;
}

etcd_code etcd_dial_wait(etcd_endpoint_set *set, int64_t timeout_ms, etcd_error **err)
{
    etcd_endpoint **eps;
    size_t n = etcd_endpoint_set_snapshot(set, &eps);
    if (n == 0) {
        etcd_endpoints_release(eps, n);
        return etcd_error_set(err, ETCD_E_UNAVAILABLE, "no endpoints configured");
    }
    int64_t now = etcd_now_ms();
    int64_t deadline = timeout_ms > INT64_MAX - now ? INT64_MAX : now + timeout_ms; /* saturate */
    bool *watching = calloc(n, sizeof *watching);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    bool ready = false;
    for (size_t i = 0; i < n; i++)
        if (grpc_channel_check_connectivity_state(eps[i]->channel, 1) == GRPC_CHANNEL_READY)
            ready = true;
    while (!ready && watching && etcd_now_ms() < deadline) {
        int64_t slice = etcd_now_ms() + WATCH_SLICE_MS;
        for (size_t i = 0; i < n; i++) {
            if (watching[i])
                continue;
            grpc_connectivity_state st = grpc_channel_check_connectivity_state(eps[i]->channel, 1);
            if (st == GRPC_CHANNEL_READY) {
                ready = true;
                break;
            }
            grpc_channel_watch_connectivity_state(eps[i]->channel, st, mono_deadline(slice < deadline ? slice : deadline),
                                                  cq, (void *)(uintptr_t)(i + 1));
            watching[i] = true;
        }
        if (ready)
            break;
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        size_t i = (uintptr_t)ev.tag - 1;
        watching[i] = false;
        if (grpc_channel_check_connectivity_state(eps[i]->channel, 0) == GRPC_CHANNEL_READY)
            ready = true;
    }
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    free(watching);
    etcd_code rc = ETCD_OK;
    if (!ready)
        rc = timeout_error(eps, n, timeout_ms, err);
    etcd_endpoints_release(eps, n);
    return rc;
}
