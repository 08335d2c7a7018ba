/* Parsing endpoint lists ("127.0.0.1:2379,http://h:2379,[::1]:2379,unix:///run/etcd.sock"). Pure. */
#ifndef ETCDC_ENDPOINT_PARSE_H
#define ETCDC_ENDPOINT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <etcdc/error.h>

typedef struct etcd_endpoint_spec {
    char *name;     /* as given, trimmed: used in messages */
    char *target;   /* gRPC target: "ipv4:1.2.3.4:2379", "ipv6:[::1]:2379", "dns:///host:2379", "unix:/path" */
    bool tls;       /* https:// or unixs://: needs TLS settings */
} etcd_endpoint_spec;

/* Parses a comma-separated list. Duplicates are dropped. On failure nothing is returned and
 * *err names the endpoint and what is wrong with it. */
etcd_code etcd_endpoints_parse(const char *list, etcd_endpoint_spec **out, size_t *count, etcd_error **err);
void etcd_endpoint_specs_free(etcd_endpoint_spec *specs, size_t count);
/* ETCD_OK when every endpoint fits the settings; else ETCD_E_TLS_NOT_CONFIGURED naming the
 * first secure endpoint (this version has no TLS settings). */
etcd_code etcd_endpoints_check_tls(const etcd_endpoint_spec *specs, size_t count, etcd_error **err);

#endif
