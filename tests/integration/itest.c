/* Shared helpers for integration tests. */
#include "itest.h"

eh_cluster *itest_cluster;
etcd_client *itest_main;
etcd_kv *itest_kv;

int itest_group_setup(void **state)
{
    (void)state;
    itest_cluster = itest_start(NULL);
    if (!itest_cluster)
        return -1;
    itest_main = itest_client(NULL);
    itest_kv = etcd_client_kv(itest_main);
    return 0;
}

int itest_group_teardown(void **state)
{
    (void)state;
    etcd_client_free(itest_main);
    eh_cluster_stop(itest_cluster);
    return 0;
}

etcd_response *itest_do(etcd_kv *kv, etcd_op *op)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    assert_non_null(op);
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    ASSERT_OK(rc, err);
    return r;
}

eh_cluster *itest_start(const eh_opts *opts)
{
    char msg[2048];
    eh_clear_proxy_env();
    eh_opts def = {.members = 1};
    eh_cluster *c = NULL;
    if (eh_cluster_start(opts ? opts : &def, &c, msg, sizeof msg) != 0) {
        fprintf(stderr, "could not start etcd: %s\n", msg);
        return NULL;
    }
    return c;
}

etcd_config *itest_config(const char *endpoints)
{
    etcd_config *cfg = etcd_config_new();
    etcd_error *err = NULL;
    assert_non_null(cfg);
    ASSERT_OK(etcd_config_set_endpoints(cfg, endpoints ? endpoints : eh_endpoints(itest_cluster), &err), err);
    return cfg;
}

etcd_client *itest_client_from(etcd_config *cfg)
{
    etcd_error *err = NULL;
    etcd_client *c = NULL;
    etcd_code rc = etcd_client_new(cfg, &c, &err);
    etcd_config_free(cfg);
    ASSERT_OK(rc, err);
    return c;
}

etcd_client *itest_client(const char *endpoints)
{
    return itest_client_from(itest_config(endpoints));
}

char *itest_get_string(etcd_kv *kv, const char *key)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_get(kv, key, strlen(key), &r, &err), err);
    char *out = NULL;
    if (etcd_response_kv_count(r) > 0) {
        size_t n;
        const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
        out = malloc(n + 1);
        memcpy(out, v, n);
        out[n] = 0;
    }
    etcd_response_free(r);
    return out;
}

int64_t itest_put_string(etcd_kv *kv, const char *key, const char *value)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_put(kv, key, strlen(key), value, strlen(value), &r, &err), err);
    int64_t rev = etcd_response_revision(r);
    etcd_response_free(r);
    return rev;
}
