/*
 * What every example needs first: a client for $ETCDC_ENDPOINTS (default 127.0.0.1:2379).
 * Header-only so each example stays a single file to read.
 */
#ifndef ETCDC_EXAMPLES_COMMON_H
#define ETCDC_EXAMPLES_COMMON_H

#include <etcdc/etcdc.h>
#include <stdio.h>
#include <stdlib.h>

static inline etcd_client *example_connect(etcd_dispatch mode)
{
    const char *endpoints = getenv("ETCDC_ENDPOINTS");
    etcd_error *err = NULL;
    etcd_config *cfg = etcd_config_new();
    etcd_client *client = NULL;
    if (!cfg) {
        fprintf(stderr, "out of memory\n");
        return NULL;
    }
    if (etcd_config_set_endpoints(cfg, endpoints && *endpoints ? endpoints : "127.0.0.1:2379", &err) == ETCD_OK &&
        etcd_config_set_dispatch(cfg, mode) == ETCD_OK)
        etcd_client_new(cfg, &client, &err);
    if (!client)
        fprintf(stderr, "connect: %s\n", err ? etcd_error_message(err) : "invalid settings");
    etcd_error_free(err);
    etcd_config_free(cfg);
    return client;
}

#endif
