/*
 * libuv_adapter: plugging etcdc into a libuv loop. The adapter is the two functions at the
 * top: a uv_poll_t on etcd_client_fd() whose callback runs etcd_client_dispatch(). Everything
 * else is an ordinary libuv program issuing async gets.
 */
#include <string.h>
#include <uv.h>

#include "common.h"

/* ---- the adapter ---- */

typedef struct etcd_uv {
    uv_poll_t poll;
    etcd_client *client;
} etcd_uv;

static void etcd_uv_on_readable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    if (status == 0)
        etcd_client_dispatch(((etcd_uv *)handle->data)->client);
}

/* Starts dispatching the client's callbacks from `loop`. The client must be in
 * ETCD_DISPATCH_CALLER mode. Stop with uv_poll_stop + uv_close before freeing the client. */
static int etcd_uv_attach(etcd_uv *a, uv_loop_t *loop, etcd_client *client)
{
    a->client = client;
    a->poll.data = a;
    int rc = uv_poll_init(loop, &a->poll, etcd_client_fd(client));
    return rc ? rc : uv_poll_start(&a->poll, UV_READABLE, etcd_uv_on_readable);
}

/* ---- a program using it ---- */

typedef struct app {
    etcd_uv adapter;
    int remaining, failed;
} app;

static void on_get(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    app *a = user_data;
    if (code == ETCD_OK)
        printf("get: %zu key(s) at revision %lld\n", etcd_response_kv_count(resp),
               (long long)etcd_response_revision(resp));
    else {
        a->failed++;
        fprintf(stderr, "get: %s\n", etcd_error_message(err));
    }
    etcd_response_free(resp);
    etcd_error_free(err);
    if (--a->remaining == 0) {
        uv_poll_stop(&a->adapter.poll);
        uv_close((uv_handle_t *)&a->adapter.poll, NULL); /* the loop then has nothing left */
    }
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_CALLER);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    etcd_response *resp = NULL;
    if (etcd_kv_put(kv, "examples/uv", 11, "hello", 5, &resp, NULL) == ETCD_OK)
        etcd_response_free(resp);

    uv_loop_t *loop = uv_default_loop();
    app a = {.remaining = 3};
    if (etcd_uv_attach(&a.adapter, loop, client) != 0) {
        etcd_client_free(client);
        return 1;
    }
    for (int i = 0; i < 3; i++)
        if (etcd_kv_get_async(kv, "examples/uv", 11, on_get, &a, NULL, NULL) != ETCD_OK) {
            a.failed++;
            a.remaining--;
        }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    etcd_client_free(client);
    return a.failed ? 1 : 0;
}
