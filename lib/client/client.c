/* The client: wires loop, transport, endpoints and services together; closing in order. */
#include <grpc/grpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "autosync.h"
#include "balancer/endpoint_parse.h"
#include "client_internal.h"
#include "error/error_internal.h"
#include "retry/retry_service.h"
#include "rpc.pb-c.h"

static const ProtobufCServiceDescriptor *const service_descriptors[ETCD_SVC_COUNT] = {
    [ETCD_SVC_KV] = &etcdserverpb__kv__descriptor,
    [ETCD_SVC_CLUSTER] = &etcdserverpb__cluster__descriptor,
    [ETCD_SVC_LEASE] = &etcdserverpb__lease__descriptor,
};

static void client_destroy(etcd_client *c)
{
    etcd_context *ctx = &c->ctx;
    for (int i = 0; i < ETCD_SVC_COUNT; i++)
        if (ctx->services[i])
            ctx->services[i]->destroy(ctx->services[i]);
    etcd_context_stop_streams(ctx);
    etcd_ready_gate_close(ctx->gate);
    /* Channels go before the loop: gRPC finishes their internal work on its own threads, and the
     * loop drains the connectivity watches still armed. */
    etcd_endpoint_set_free(ctx->eps);
    etcd_loop_free(ctx->loop);
    /* After the loop: a reconnect timer of theirs may have fired during the close. */
    if (c->watcher_ready)
        etcd_watcher_destroy(&c->watcher);
    if (c->lease_ready)
        etcd_lease_destroy(&c->lease);
    etcd_ready_gate_free(ctx->gate);
    etcd_transport_free(ctx->transport);
    if (ctx->event_fd >= 0)
        close(ctx->event_fd);
    pthread_cond_destroy(&c->sync_cv);
    pthread_cond_destroy(&ctx->stream_cv);
    pthread_cond_destroy(&ctx->idle);
    pthread_mutex_destroy(&ctx->mu);
    free(c);
    grpc_shutdown();
}

static etcd_code fail_new(etcd_client *c, etcd_error **err, etcd_code code, const char *what)
{
    client_destroy(c);
    return what ? etcd_error_set(err, code, "client_new: %s", what) : code;
}

etcd_code etcd_client_new(const etcd_config *cfg, etcd_client **out, etcd_error **err)
{
    if (out)
        *out = NULL;
    if (!cfg || !out)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "client_new: %s is NULL", cfg ? "out" : "config");
    if (!cfg->endpoints)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "client_new: no endpoints configured");
    etcd_endpoint_spec *specs;
    size_t n;
    etcd_code rc = etcd_endpoints_parse(cfg->endpoints, &specs, &n, err);
    /* Checked here, not in the setter: whether an endpoint fits depends on other settings. */
    if (rc == ETCD_OK && (rc = etcd_endpoints_check_tls(specs, n, err)) != ETCD_OK)
        etcd_endpoint_specs_free(specs, n);
    if (rc != ETCD_OK)
        return rc;

    etcd_client *c = calloc(1, sizeof *c);
    if (!c) {
        etcd_endpoint_specs_free(specs, n);
        return etcd_error_set(err, ETCD_E_NOMEM, "client_new: out of memory");
    }
    grpc_init();
    etcd_context *ctx = &c->ctx;
    c->cfg = *cfg;
    c->cfg.endpoints = NULL;
    ctx->request_timeout_ms = cfg->request_timeout_ms;
    ctx->require_leader = cfg->require_leader;
    ctx->dispatch = cfg->dispatch;
    pthread_mutex_init(&ctx->mu, NULL);
    pthread_cond_init(&ctx->idle, NULL);
    pthread_cond_init(&c->sync_cv, NULL);
    pthread_cond_init(&ctx->stream_cv, NULL);
    etcd_context_init_streams(ctx);
    ctx->event_fd = -1;
    if (cfg->dispatch == ETCD_DISPATCH_CALLER) {
        ctx->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (ctx->event_fd < 0) {
            etcd_endpoint_specs_free(specs, n);
            return fail_new(c, err, ETCD_E_INTERNAL, "eventfd failed");
        }
    }
    ctx->loop = etcd_loop_new();
    ctx->transport = ctx->loop ? etcd_transport_new(ctx->loop, cfg->channel.max_send_bytes) : NULL;
    ctx->eps = etcd_endpoint_set_new(&cfg->channel);
    ctx->gate = ctx->loop && ctx->eps ? etcd_ready_gate_new(ctx->eps, ctx->loop) : NULL;
    if (!ctx->loop || !ctx->transport || !ctx->eps || !ctx->gate) {
        etcd_endpoint_specs_free(specs, n);
        return fail_new(c, err, ETCD_E_NOMEM, "out of memory");
    }
    rc = etcd_endpoint_set_replace(ctx->eps, specs, n, err);
    etcd_endpoint_specs_free(specs, n);
    if (rc != ETCD_OK)
        return fail_new(c, err, rc, NULL);
    for (int i = 0; i < ETCD_SVC_COUNT; i++) {
        ProtobufCService *chan = etcd_channel_service_new(ctx->transport, service_descriptors[i]);
        ctx->services[i] = chan ? etcd_retry_service_new(chan, ctx->eps, ctx->gate, ctx->transport, &cfg->retry) : NULL;
        if (!ctx->services[i])
            return fail_new(c, err, ETCD_E_NOMEM, "out of memory");
    }
    etcd_watcher_init(&c->watcher, ctx, cfg->watch_buffer_bytes);
    c->watcher_ready = true;
    ctx->watcher = &c->watcher;
    c->lease_ready = etcd_lease_init(&c->lease, ctx);
    if (!c->lease_ready)
        return fail_new(c, err, ETCD_E_INTERNAL, "the Lease service descriptor lacks a method");
    if (!etcd_remote_kv_init(&c->kv, ctx))
        return fail_new(c, err, ETCD_E_INTERNAL, "the KV service descriptor lacks a method");
    if (cfg->dial_blocking)
        rc = etcd_dial_wait(ctx->eps, cfg->dial_timeout_ms, err);
    if (rc == ETCD_OK)
        rc = etcd_autosync_start(c, err);
    if (rc != ETCD_OK)
        return fail_new(c, err, rc, NULL);
    *out = c;
    return ETCD_OK;
}

void etcd_client_free(etcd_client *c)
{
    if (!c)
        return;
    etcd_context *ctx = &c->ctx;
    if (etcd_context_in_callback(ctx)) {
        /* It would wait for the callback it is called from: a hang nobody could debug. */
        fprintf(stderr, "etcdc: etcd_client_free() called from a callback of the same client; aborting\n");
        abort();
    }
    pthread_mutex_lock(&ctx->mu);
    ctx->closing = true;
    pthread_mutex_unlock(&ctx->mu);
    /* Cancel first: a member-list call in flight ends, so the sync thread can be joined. */
    etcd_transport_cancel_all(ctx->transport);
    etcd_loop_expedite_all(ctx->loop);
    etcd_autosync_stop(c);
    pthread_mutex_lock(&ctx->mu);
    while (ctx->inflight > 0) {
        pthread_mutex_unlock(&ctx->mu);
        /* A call may have been between attempts when we cancelled: cancel again until idle.
         * In caller-dispatch mode, finished calls are run here: nobody else will now. */
        etcd_transport_cancel_all(ctx->transport);
        etcd_loop_expedite_all(ctx->loop);
        etcd_context_dispatch(ctx);
        pthread_mutex_lock(&ctx->mu);
        if (ctx->inflight > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&ctx->idle, &ctx->mu, &ts);
        }
    }
    pthread_mutex_unlock(&ctx->mu);
    client_destroy(c);
}

etcd_watcher *etcd_client_watcher(etcd_client *c)
{
    return c ? &c->watcher : NULL;
}

etcd_lease *etcd_client_lease(etcd_client *c)
{
    return c ? &c->lease : NULL;
}

etcd_kv *etcd_client_kv(etcd_client *c)
{
    return c ? &c->kv.base : NULL;
}

etcd_code etcd_client_set_endpoints(etcd_client *c, const char *endpoints, etcd_error **err)
{
    if (!c)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "set_endpoints: client is NULL");
    etcd_endpoint_spec *specs;
    size_t n;
    etcd_code rc = etcd_endpoints_parse(endpoints, &specs, &n, err);
    if (rc != ETCD_OK)
        return rc;
    rc = etcd_endpoints_check_tls(specs, n, err);
    if (rc == ETCD_OK)
        rc = etcd_endpoint_set_replace(c->ctx.eps, specs, n, err);
    etcd_endpoint_specs_free(specs, n);
    return rc;
}

size_t etcd_client_endpoints(etcd_client *c, char *buf, size_t len)
{
    if (!c) {
        if (buf && len)
            buf[0] = 0;
        return 0;
    }
    return etcd_endpoint_set_names(c->ctx.eps, buf, len);
}

int etcd_client_fd(etcd_client *c)
{
    return c ? c->ctx.event_fd : -1;
}

int etcd_client_dispatch(etcd_client *c)
{
    return c ? etcd_context_dispatch(&c->ctx) : 0;
}
