/* Client configuration: typed setters with range checks. */
#include <stdlib.h>
#include <string.h>

#include "balancer/endpoint_parse.h"
#include "client_internal.h"
#include <etcdc/watch.h>
#include "error/error_internal.h"

etcd_config *etcd_config_new(void)
{
    etcd_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->dial_timeout_ms = ETCD_DEFAULT_DIAL_TIMEOUT_MS;
    c->dial_blocking = true;
    c->watch_buffer_bytes = ETCD_DEFAULT_WATCH_BUFFER_BYTES;
    c->request_timeout_ms = ETCD_DEFAULT_REQUEST_TIMEOUT_MS;
    c->channel.keepalive_time_ms = ETCD_DEFAULT_KEEPALIVE_TIME_MS;
    c->channel.keepalive_timeout_ms = ETCD_DEFAULT_KEEPALIVE_TIMEOUT_MS;
    c->channel.max_send_bytes = ETCD_DEFAULT_MAX_SEND_BYTES;
    c->channel.max_recv_bytes = ETCD_DEFAULT_MAX_RECV_BYTES;
    c->retry.max_attempts = ETCD_DEFAULT_RETRY_MAX_ATTEMPTS;
    c->retry.backoff_ms = ETCD_DEFAULT_RETRY_BACKOFF_MS;
    c->retry.jitter_percent = ETCD_DEFAULT_RETRY_JITTER_PERCENT;
    return c;
}

void etcd_config_free(etcd_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->endpoints);
    free(cfg);
}

#define CHECK_CFG(cfg)                                                                                            \
    do {                                                                                                          \
        if (!(cfg))                                                                                               \
            return ETCD_E_INVALID_ARGUMENT;                                                                       \
    } while (0)

etcd_code etcd_config_set_endpoints(etcd_config *cfg, const char *endpoints, etcd_error **err)
{
    if (!cfg)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "config is NULL");
    etcd_endpoint_spec *specs;
    size_t n;
    etcd_code rc = etcd_endpoints_parse(endpoints, &specs, &n, err);
    if (rc != ETCD_OK)
        return rc;
    etcd_endpoint_specs_free(specs, n);
    char *copy = strdup(endpoints);
    if (!copy)
        return etcd_error_set(err, ETCD_E_NOMEM, "out of memory");
    free(cfg->endpoints);
    cfg->endpoints = copy;
    return ETCD_OK;
}

etcd_code etcd_config_set_dial_timeout_ms(etcd_config *cfg, int64_t ms)
{
    CHECK_CFG(cfg);
    if (ms <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->dial_timeout_ms = ms;
    return ETCD_OK;
}

etcd_code etcd_config_set_dial_blocking(etcd_config *cfg, int on)
{
    CHECK_CFG(cfg);
    cfg->dial_blocking = on != 0;
    return ETCD_OK;
}

etcd_code etcd_config_set_request_timeout_ms(etcd_config *cfg, int64_t ms)
{
    CHECK_CFG(cfg);
    if (ms < 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->request_timeout_ms = ms;
    return ETCD_OK;
}

etcd_code etcd_config_set_require_leader(etcd_config *cfg, int on)
{
    CHECK_CFG(cfg);
    cfg->require_leader = on != 0;
    return ETCD_OK;
}

etcd_code etcd_config_set_keepalive(etcd_config *cfg, int64_t time_ms, int64_t timeout_ms)
{
    CHECK_CFG(cfg);
    if (time_ms < 0 || timeout_ms <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    /* gRPC takes ints: longer than 24 days is as good as never. */
    cfg->channel.keepalive_time_ms = time_ms > INT32_MAX ? INT32_MAX : time_ms;
    cfg->channel.keepalive_timeout_ms = timeout_ms > INT32_MAX ? INT32_MAX : timeout_ms;
    return ETCD_OK;
}

etcd_code etcd_config_set_max_send_bytes(etcd_config *cfg, int32_t bytes)
{
    CHECK_CFG(cfg);
    if (bytes <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->channel.max_send_bytes = bytes;
    return ETCD_OK;
}

etcd_code etcd_config_set_max_recv_bytes(etcd_config *cfg, int32_t bytes)
{
    CHECK_CFG(cfg);
    if (bytes <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->channel.max_recv_bytes = bytes;
    return ETCD_OK;
}

etcd_code etcd_config_set_retry(etcd_config *cfg, int max_attempts, int64_t backoff_ms, int jitter_percent)
{
    CHECK_CFG(cfg);
    if (max_attempts < 1 || backoff_ms < 0 || backoff_ms > 3600 * 1000 || jitter_percent < 0 || jitter_percent > 100)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->retry.max_attempts = max_attempts;
    cfg->retry.backoff_ms = backoff_ms;
    cfg->retry.jitter_percent = jitter_percent;
    return ETCD_OK;
}

etcd_code etcd_config_set_auto_sync_interval_ms(etcd_config *cfg, int64_t ms)
{
    CHECK_CFG(cfg);
    if (ms < 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->auto_sync_ms = ms;
    return ETCD_OK;
}

etcd_code etcd_config_set_dispatch(etcd_config *cfg, etcd_dispatch mode)
{
    CHECK_CFG(cfg);
    if (mode != ETCD_DISPATCH_THREAD && mode != ETCD_DISPATCH_CALLER)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->dispatch = mode;
    return ETCD_OK;
}

etcd_code etcd_config_set_watch_buffer_bytes(etcd_config *cfg, int64_t bytes)
{
    CHECK_CFG(cfg);
    if (bytes <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    cfg->watch_buffer_bytes = bytes;
    return ETCD_OK;
}
