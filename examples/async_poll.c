/*
 * async_poll: async calls in a program with its own event loop. The client is created in
 * ETCD_DISPATCH_CALLER mode: its file descriptor becomes readable when callbacks are ready,
 * and etcd_client_dispatch() runs them on this thread. Here the loop is a plain poll().
 */
#include <poll.h>
#include <string.h>

#include "common.h"

#define CALLS 100

typedef struct state {
    int done, failed;
} state;

/* Runs once per call, on the thread that calls etcd_client_dispatch(); owns resp and err. */
static void on_put(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    state *st = user_data;
    st->done++;
    if (code != ETCD_OK) {
        st->failed++;
        fprintf(stderr, "put: %s\n", etcd_error_message(err));
    }
    etcd_response_free(resp);
    etcd_error_free(err);
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_CALLER);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    state st = {0, 0};

    /* All in flight at once, multiplexed on one connection. */
    for (int i = 0; i < CALLS; i++) {
        char k[48];
        snprintf(k, sizeof k, "examples/async/%03d", i);
        etcd_error *err = NULL;
        if (etcd_kv_put_async(kv, k, strlen(k), "v", 1, on_put, &st, NULL, &err) != ETCD_OK) {
            /* Not submitted: its callback will never run. */
            fprintf(stderr, "submit: %s\n", etcd_error_message(err));
            etcd_error_free(err);
            st.done++;
            st.failed++;
        }
    }

    struct pollfd pfd = {.fd = etcd_client_fd(client), .events = POLLIN};
    while (st.done < CALLS) {
        /* Other descriptors of the program would be polled here too. */
        if (poll(&pfd, 1, 5000) <= 0) {
            fprintf(stderr, "no completions for 5 s\n");
            break;
        }
        etcd_client_dispatch(client);
    }
    printf("%d puts completed, %d failed\n", st.done, st.failed);
    etcd_client_free(client);
    return st.done == CALLS && st.failed == 0 ? 0 : 1;
}
