/*
 * A program that has its own protobuf-c code for etcd's protos, linked statically against
 * libetcdc.a. It compiles kv.proto's generated code itself and defines its own, deliberately
 * different, etcdserverpb__range_request__descriptor and etcdserverpb__kv__range. The link only
 * succeeds when libetcdc.a defines none of these names, and the library must keep using its
 * own copies: with this program's RangeRequest (no fields) a get would send an empty request,
 * which etcd rejects, and this program's etcdserverpb__kv__range aborts.
 *
 * Connects to $ETCDC_ENDPOINTS (run it under run-with-etcd).
 */
#include <etcdc/etcdc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.pb-c.h"

extern const ProtobufCMessageDescriptor etcdserverpb__range_request__descriptor;
void etcdserverpb__kv__range(ProtobufCService *service, const void *input,
                             void (*closure)(const void *response, void *closure_data), void *closure_data);

const ProtobufCMessageDescriptor etcdserverpb__range_request__descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "etcdserverpb.RangeRequest",
    .short_name = "RangeRequest",
    .c_name = "Etcdserverpb__RangeRequest",
    .package_name = "etcdserverpb",
    .sizeof_message = sizeof(ProtobufCMessage),
};

void etcdserverpb__kv__range(ProtobufCService *service, const void *input,
                             void (*closure)(const void *response, void *closure_data), void *closure_data)
{
    (void)service, (void)input, (void)closure, (void)closure_data;
    fprintf(stderr, "FAIL: libetcdc called this program's etcdserverpb__kv__range\n");
    abort();
}

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

/* The program's own mvccpb code round-trips a KeyValue. */
static void own_protos_work(void)
{
    Mvccpb__KeyValue kv = MVCCPB__KEY_VALUE__INIT;
    kv.key.data = (uint8_t *)"own-key";
    kv.key.len = strlen("own-key");
    kv.mod_revision = 42;
    uint8_t buf[64];
    size_t n = mvccpb__key_value__get_packed_size(&kv);
    check(n <= sizeof buf, "KeyValue fits the buffer");
    if (n > sizeof buf)
        return;
    mvccpb__key_value__pack(&kv, buf);
    Mvccpb__KeyValue *back = mvccpb__key_value__unpack(NULL, n, buf);
    check(back && back->mod_revision == 42 && back->key.len == kv.key.len &&
              memcmp(back->key.data, kv.key.data, kv.key.len) == 0,
          "the program's own mvccpb code packs and unpacks a KeyValue");
    mvccpb__key_value__free_unpacked(back, NULL);
    check(etcdserverpb__range_request__descriptor.n_fields == 0, "the program sees its own RangeRequest");
}

static int report(const char *what, etcd_code rc, etcd_error *err)
{
    fprintf(stderr, "%s: %s (%s)\n", what, err ? etcd_error_message(err) : etcd_strerror(rc), etcd_code_name(rc));
    etcd_error_free(err);
    return 0;
}

/* libetcdc's own protobuf code carries a put and a get to etcd and back. */
static int library_protos_work(const char *endpoints)
{
    static const char key[] = "static-own-protos/key", value[] = "the library's own RangeRequest";
    etcd_error *err = NULL;
    etcd_config *cfg = etcd_config_new();
    if (!cfg)
        return report("etcd_config_new", ETCD_E_NOMEM, NULL);
    etcd_client *client = NULL;
    etcd_code rc = etcd_config_set_endpoints(cfg, endpoints, &err);
    if (rc == ETCD_OK)
        rc = etcd_client_new(cfg, &client, &err);
    etcd_config_free(cfg);
    if (rc != ETCD_OK)
        return report("connect", rc, err);

    int ok = 0;
    etcd_kv *kv = etcd_client_kv(client);
    etcd_response *resp = NULL;
    rc = etcd_kv_put(kv, key, strlen(key), value, strlen(value), &resp, &err);
    etcd_response_free(resp);
    resp = NULL;
    if (rc != ETCD_OK)
        report("put", rc, err);
    else if ((rc = etcd_kv_get(kv, key, strlen(key), &resp, &err)) != ETCD_OK)
        report("get", rc, err);
    else if (etcd_response_kv_count(resp) != 1)
        fprintf(stderr, "get: %zu keys, expected 1\n", etcd_response_kv_count(resp));
    else {
        size_t len;
        const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(resp, 0), &len);
        ok = len == strlen(value) && memcmp(v, value, len) == 0;
        if (!ok)
            fprintf(stderr, "get: not the value just put\n");
    }
    etcd_response_free(resp);
    etcd_client_free(client);
    return ok;
}

int main(void)
{
    const char *endpoints = getenv("ETCDC_ENDPOINTS");
    if (!endpoints || !*endpoints) {
        fprintf(stderr, "ETCDC_ENDPOINTS is not set\n");
        return 2;
    }
    own_protos_work();
    check(library_protos_work(endpoints), "libetcdc.a puts and gets with its own protobuf code");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
