/*
 * put_get: the smallest useful etcdc program. Connects to the endpoints in $ETCDC_ENDPOINTS
 * (default 127.0.0.1:2379), writes a key, reads it back and prints it.
 */
#include <etcdc/etcdc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *endpoints = getenv("ETCDC_ENDPOINTS");
    if (!endpoints || !*endpoints)
        endpoints = "127.0.0.1:2379";

    etcd_error *err = NULL;
    etcd_config *cfg = etcd_config_new();
    if (!cfg || etcd_config_set_endpoints(cfg, endpoints, &err) != ETCD_OK) {
        fprintf(stderr, "bad endpoints: %s\n", err ? etcd_error_message(err) : "out of memory");
        etcd_error_free(err);
        etcd_config_free(cfg);
        return 1;
    }
    etcd_client *client = NULL;
    etcd_code rc = etcd_client_new(cfg, &client, &err);
    etcd_config_free(cfg); /* the client keeps its own copy */
    if (rc != ETCD_OK) {
        fprintf(stderr, "connect: %s\n", etcd_error_message(err));
        etcd_error_free(err);
        return 1;
    }
    etcd_kv *kv = etcd_client_kv(client);

    const char *key = "greeting", *value = "hello from etcdc";
    etcd_response *resp = NULL;
    rc = etcd_kv_put(kv, key, strlen(key), value, strlen(value), &resp, &err);
    if (rc != ETCD_OK) {
        /* ETCD_E_OUTCOME_UNKNOWN means the put may or may not have happened. */
        fprintf(stderr, "put: %s\n", etcd_error_message(err));
        etcd_error_free(err);
        etcd_client_free(client);
        return 1;
    }
    printf("put %s at revision %lld\n", key, (long long)etcd_response_revision(resp));
    etcd_response_free(resp);

    rc = etcd_kv_get(kv, key, strlen(key), &resp, &err);
    if (rc != ETCD_OK) {
        fprintf(stderr, "get: %s\n", etcd_error_message(err));
        etcd_error_free(err);
        etcd_client_free(client);
        return 1;
    }
    for (size_t i = 0; i < etcd_response_kv_count(resp); i++) {
        const etcd_keyvalue *kvp = etcd_response_kv_at(resp, i); /* borrowed from resp */
        size_t kl, vl;
        const uint8_t *k = etcd_keyvalue_key(kvp, &kl);
        const uint8_t *v = etcd_keyvalue_value(kvp, &vl);
        printf("get %.*s = %.*s (version %lld)\n", (int)kl, (const char *)k, (int)vl, (const char *)v,
               (long long)etcd_keyvalue_version(kvp));
    }
    etcd_response_free(resp);
    etcd_client_free(client);
    return 0;
}
