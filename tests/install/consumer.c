/*
 * consumer: a program outside the etcdc tree, built only with the flags pkg-config gives for
 * an installed etcdc. Connects to $ETCDC_ENDPOINTS, puts a key, reads it back synchronously
 * and asynchronously (callbacks on the library's thread and on the caller's thread), and
 * exits 0 when every answer is as expected.
 *
 *   consumer [KEY-PREFIX]
 */
#define _POSIX_C_SOURCE 200809L
#include <etcdc/etcdc.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 15000

struct outcome {
    atomic_int done;
    etcd_code code;
    int matched; /* the response held the expected value (gets) or a revision (puts) */
    const char *want;
};

static void fail_err(const char *what, etcd_code rc, etcd_error *err)
{
    fprintf(stderr, "consumer: %s: %s (%s)\n", what, err ? etcd_error_message(err) : etcd_strerror(rc),
            etcd_code_name(rc));
    etcd_error_free(err);
}

static int value_is(const etcd_response *resp, const char *want)
{
    if (etcd_response_kv_count(resp) != 1)
        return 0;
    size_t len;
    const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(resp, 0), &len);
    return len == strlen(want) && memcmp(v, want, len) == 0;
}

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    struct outcome *o = user_data;
    o->code = code;
    if (code == ETCD_OK)
        o->matched = o->want ? value_is(resp, o->want) : etcd_response_revision(resp) > 0;
    else
        fail_err("async call", code, err); /* frees err */
    etcd_response_free(resp);
    atomic_store(&o->done, 1);
}

static etcd_client *connect_to(const char *endpoints, int caller_dispatch)
{
    etcd_error *err = NULL;
    etcd_config *cfg = etcd_config_new();
    if (!cfg) {
        fprintf(stderr, "consumer: out of memory\n");
        return NULL;
    }
    etcd_code rc = etcd_config_set_endpoints(cfg, endpoints, &err);
    if (rc == ETCD_OK && caller_dispatch)
        rc = etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER);
    etcd_client *client = NULL;
    if (rc == ETCD_OK)
        rc = etcd_client_new(cfg, &client, &err);
    etcd_config_free(cfg);
    if (rc != ETCD_OK) {
        fail_err("connect", rc, err);
        return NULL;
    }
    return client;
}

/* Default dispatch: the callback runs on the library's thread; wait for its flag. */
static int async_get_on_library_thread(etcd_kv *kv, const char *key, const char *want)
{
    struct outcome o = {.want = want};
    atomic_init(&o.done, 0);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_get_async(kv, key, strlen(key), on_done, &o, &call, &err);
    if (rc != ETCD_OK) {
        fail_err("get_async", rc, err);
        return 0;
    }
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int waited = 0; !atomic_load(&o.done) && waited < WAIT_MS; waited += 10)
        nanosleep(&tick, NULL);
    int done = atomic_load(&o.done);
    if (!done) {
        fprintf(stderr, "consumer: get_async: no callback within %d ms\n", WAIT_MS);
        etcd_call_cancel(call);
        while (!atomic_load(&o.done))
            nanosleep(&tick, NULL);
    }
    etcd_call_release(call);
    return done && o.code == ETCD_OK && o.matched;
}

/* Caller dispatch: wait on the client's descriptor and run the callback here. *o must outlive
 * the client: when this gives up, etcd_client_free() still runs the callback. */
static int async_put_on_caller_thread(etcd_client *client, const char *key, const char *value,
                                      struct outcome *o)
{
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_put_async(etcd_client_kv(client), key, strlen(key), value, strlen(value), on_done,
                                     o, NULL, &err);
    if (rc != ETCD_OK) {
        fail_err("put_async", rc, err);
        return 0;
    }
    int fd = etcd_client_fd(client);
    if (fd < 0) {
        fprintf(stderr, "consumer: etcd_client_fd() = %d in caller dispatch mode\n", fd);
        return 0;
    }
    for (int waited = 0; !atomic_load(&o->done) && waited < WAIT_MS; waited += 100) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            etcd_client_dispatch(client);
    }
    if (!atomic_load(&o->done)) {
        fprintf(stderr, "consumer: put_async: no callback within %d ms\n", WAIT_MS);
        return 0;
    }
    return o->code == ETCD_OK && o->matched;
}

int main(int argc, char **argv)
{
    const char *endpoints = getenv("ETCDC_ENDPOINTS");
    if (!endpoints || !*endpoints) {
        fprintf(stderr, "consumer: ETCDC_ENDPOINTS is not set\n");
        return 2;
    }
    const char *prefix = argc > 1 ? argv[1] : "consumer";
    char key[256], async_key[256], value[64], async_value[64];
    snprintf(key, sizeof key, "%s/key", prefix);
    snprintf(async_key, sizeof async_key, "%s/async-key", prefix);
    snprintf(value, sizeof value, "value from etcdc %s", etcd_version());
    snprintf(async_value, sizeof async_value, "async value from etcdc %s", etcd_version());

    if (strcmp(etcd_version(), ETCDC_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers are %s, library is %s\n", ETCDC_VERSION_STRING, etcd_version());
        return 1;
    }

    int ok = 1;
    etcd_client *client = connect_to(endpoints, 0);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_put(kv, key, strlen(key), value, strlen(value), &resp, &err);
    if (rc != ETCD_OK) {
        fail_err("put", rc, err);
        ok = 0;
    }
    etcd_response_free(resp);
    resp = NULL;
    if (ok) {
        rc = etcd_kv_get(kv, key, strlen(key), &resp, &err);
        if (rc != ETCD_OK) {
            fail_err("get", rc, err);
            ok = 0;
        } else if (!value_is(resp, value)) {
            fprintf(stderr, "consumer: get %s: not the value just put\n", key);
            ok = 0;
        }
        etcd_response_free(resp);
        resp = NULL;
    }
    if (ok && !async_get_on_library_thread(kv, key, value)) {
        fprintf(stderr, "consumer: async get on the library's thread failed\n");
        ok = 0;
    }

    struct outcome put_outcome = {.want = NULL};
    atomic_init(&put_outcome.done, 0);
    etcd_client *caller = ok ? connect_to(endpoints, 1) : NULL;
    if (ok && !caller)
        ok = 0;
    if (ok && !async_put_on_caller_thread(caller, async_key, async_value, &put_outcome)) {
        fprintf(stderr, "consumer: async put dispatched on the caller's thread failed\n");
        ok = 0;
    }
    etcd_client_free(caller);

    if (ok) {
        rc = etcd_kv_get(kv, async_key, strlen(async_key), &resp, &err);
        if (rc != ETCD_OK) {
            fail_err("get after async put", rc, err);
            ok = 0;
        } else if (!value_is(resp, async_value)) {
            fprintf(stderr, "consumer: get %s: not the value put asynchronously\n", async_key);
            ok = 0;
        }
        etcd_response_free(resp);
    }
    etcd_client_free(client);

    printf("consumer (etcdc %s): %s\n", etcd_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
