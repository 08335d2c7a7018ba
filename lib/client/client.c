/* The client: wires loop, transport, endpoints and services together; closing in order. */
#include <grpc/grpc.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/endpoint_parse.h"
#include "client_internal.h"
#include "error/error_internal.h"
#include "autosync.h"
#include "kv/kv_call.h"
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
    if (c->cluster_service)
        c->cluster_service->destroy(c->cluster_service);
    /* Channels go before the loop: gRPC finishes their internal work on its own threads. */
    etcd_endpoint_set_free(c->eps);
    etcd_loop_free(c->loop);
    etcd_transport_free(c->transport);
    if (c->event_fd >= 0)
        close(c->event_fd);
    pthread_cond_destroy(&c->sync_cv);
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
    pthread_cond_init(&c->sync_cv, NULL);
    c->event_fd = -1;
    if (cfg->dispatch == ETCD_DISPATCH_CALLER) {
        c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (c->event_fd < 0) {
            etcd_endpoint_specs_free(specs, n);
            client_destroy(c);
            return etcd_error_set(err, ETCD_E_INTERNAL, "client_new: eventfd failed");
        }
    }
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
    chan = etcd_channel_service_new(c->transport, &etcdserverpb__cluster__descriptor);
    c->cluster_service = chan ? etcd_retry_service_new(chan, c->eps, c->loop, &cfg->retry) : NULL;
    if (!c->kv_service || !c->cluster_service) {
        client_destroy(c);
        return etcd_error_set(err, ETCD_E_NOMEM, "client_new: out of memory");
    }
    rc = etcd_dial_wait(c->eps, cfg->dial_timeout_ms, err);
    if (rc == ETCD_OK)
        rc = etcd_autosync_start(c, err);
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
    /* Cancel first: a member-list call in flight ends, so the sync thread can be joined. */
    etcd_transport_cancel_all(c->transport);
    etcd_loop_expedite_all(c->loop);
    etcd_autosync_stop(c);
    pthread_mutex_lock(&c->mu);
    while (c->inflight > 0) {
        pthread_mutex_unlock(&c->mu);
        /* A call may have been between attempts when we cancelled: cancel again until idle.
         * In caller-dispatch mode, finished calls are run here: nobody else will now. */
        etcd_transport_cancel_all(c->transport);
        etcd_loop_expedite_all(c->loop);
        etcd_client_dispatch(c);
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

void etcd_client_queue_ready(etcd_client *c, kv_call *call)
{
    pthread_mutex_lock(&c->mu);
    call->next_ready = NULL;
    if (c->ready_tail)
        c->ready_tail->next_ready = call;
    else
        c->ready_head = call;
    c->ready_tail = call;
    pthread_mutex_unlock(&c->mu);
    uint64_t one = 1;
    ssize_t w = write(c->event_fd, &one, sizeof one);
    (void)w; /* EAGAIN means the counter is already non-zero: the fd is readable anyway */
}

int etcd_client_fd(etcd_client *c)
{
    return c ? c->event_fd : -1;
}

int etcd_client_dispatch(etcd_client *c)
{
    if (!c || c->event_fd < 0)
        return 0;
    uint64_t n;
    ssize_t r = read(c->event_fd, &n, sizeof n);
    (void)r;
    pthread_mutex_lock(&c->mu);
    kv_call *list = c->ready_head;
    c->ready_head = c->ready_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    int ran = 0;
    while (list) {
        kv_call *next = list->next_ready;
        etcd_kv_call_run_callback(list);
        list = next;
        ran++;
    }
    return ran;
}
