/* The client: wires loop, transport, endpoints and services together; closing in order. */
#include <grpc/grpc.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/endpoint_parse.h"
#include "client_internal.h"
#include "error/error_internal.h"
#include "retry/retry_service.h"
#include "rpc.pb-c.h"

etcd_code etcd_client_call_begin(etcd_client *c, etcd_error **err)
{
    pthread_mutex_lock(&c->mu);
    bool closing = c->closing;
    if (!closing)
        c->inflight++;
    pthread_mutex_unlock(&c->mu);
    return closing ? etcd_error_set(err, ETCD_E_CLOSED, "the client is closing") : ETCD_OK;
}

void etcd_client_call_end(etcd_client *c)
{
    pthread_mutex_lock(&c->mu);
    if (--c->inflight == 0)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
}

static void client_destroy(etcd_client *c)
{
    if (c->kv_service)
        c->kv_service->destroy(c->kv_service);
    /* Channels go before the loop: gRPC finishes their internal work on its own threads. */
    etcd_endpoint_set_free(c->eps);
    etcd_loop_free(c->loop);
    etcd_transport_free(c->transport);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    free(c);
    grpc_shutdown();
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
    if (rc != ETCD_OK)
        return rc;

    etcd_client *c = calloc(1, sizeof *c);
    if (!c) {
        etcd_endpoint_specs_free(specs, n);
        return etcd_error_set(err, ETCD_E_NOMEM, "client_new: out of memory");
    }
    grpc_init();
    c->kv.ops = &etcd_remote_kv_ops;
    c->cfg = *cfg;
    c->cfg.endpoints = NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    c->loop = etcd_loop_new();
    c->transport = c->loop ? etcd_transport_new(c->loop) : NULL;
    c->eps = etcd_endpoint_set_new(&cfg->channel);
    if (!c->loop || !c->transport || !c->eps) {
        etcd_endpoint_specs_free(specs, n);
        client_destroy(c);
        return etcd_error_set(err, ETCD_E_NOMEM, "client_new: out of memory");
    }
    rc = etcd_endpoint_set_replace(c->eps, specs, n, err);
    etcd_endpoint_specs_free(specs, n);
    if (rc != ETCD_OK) {
        client_destroy(c);
        return rc;
    }
    ProtobufCService *chan = etcd_channel_service_new(c->transport, &etcdserverpb__kv__descriptor);
    c->kv_service = chan ? etcd_retry_service_new(chan, c->eps, c->loop, &cfg->retry) : NULL;
    if (!c->kv_service) {
        client_destroy(c);
        return etcd_error_set(err, ETCD_E_NOMEM, "client_new: out of memory");
    }
    rc = etcd_dial_wait(c->eps, cfg->dial_timeout_ms, err);
    if (rc != ETCD_OK) {
        client_destroy(c);
        return rc;
    }
    *out = c;
    return ETCD_OK;
}

void etcd_client_free(etcd_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    pthread_mutex_unlock(&c->mu);
    etcd_transport_cancel_all(c->transport);
    pthread_mutex_lock(&c->mu);
    while (c->inflight > 0) {
        pthread_mutex_unlock(&c->mu);
        /* A call may have been between attempts when we cancelled: cancel again until idle. */
        etcd_transport_cancel_all(c->transport);
        pthread_mutex_lock(&c->mu);
        if (c->inflight > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->idle, &c->mu, &ts);
        }
    }
    pthread_mutex_unlock(&c->mu);
    client_destroy(c);
}

etcd_kv *etcd_client_kv(etcd_client *c)
{
    return c ? &c->kv : NULL;
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
    rc = etcd_endpoint_set_replace(c->eps, specs, n, err);
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
    return etcd_endpoint_set_names(c->eps, buf, len);
}
