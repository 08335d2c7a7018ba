/*
 * service_registration: a service announces itself under a lease and keeps the lease alive;
 * the key disappears by itself if the service dies. When the lease is lost (expired, revoked,
 * or no renewal answered in time) the service must stop acting as registered: here it exits
 * cleanly. To end on its own, this program revokes its lease after a few renewals, as an
 * operator might.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "common.h"

static const char key[] = "examples/services/web-1";

typedef struct state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int renewals;
    bool lost;
    etcd_code why;
} state;

/* Runs after every renewal and, once, when the lease is lost. */
static void on_keepalive(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    state *st = user_data;
    pthread_mutex_lock(&st->mu);
    if (resp) {
        st->renewals++;
        printf("renewed: TTL %lld s, valid until %lld ms (monotonic)\n", (long long)etcd_lease_response_ttl(resp),
               (long long)etcd_lease_keep_alive_expiry_ms(call));
        etcd_response_free(resp);
    } else {
        st->lost = true;
        st->why = code;
        printf("lease lost: %s\n", err ? etcd_error_message(err) : etcd_strerror(code));
        etcd_error_free(err);
    }
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_THREAD);
    if (!client)
        return 1;
    etcd_lease *lease = etcd_client_lease(client);
    etcd_error *err = NULL;
    etcd_response *resp = NULL;

    /* 1. A lease, and the service's key attached to it. */
    if (etcd_lease_grant(lease, 5, 0, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "grant: %s\n", etcd_error_message(err));
        return 1;
    }
    int64_t id = etcd_lease_response_id(resp);
    etcd_response_free(resp);
    etcd_op *put = etcd_op_put(key, strlen(key), "10.0.0.7:8080", 13);
    etcd_op_with_lease(put, id);
    if (etcd_kv_do(etcd_client_kv(client), put, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "register: %s\n", etcd_error_message(err));
        return 1;
    }
    etcd_op_free(put);
    etcd_response_free(resp);
    printf("registered %s under lease %llx\n", key, (unsigned long long)id);

    /* 2. Keep it alive, hearing of every renewal. */
    state st = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    etcd_call *keepalive = NULL;
    if (etcd_lease_keep_alive(lease, id, 1, on_keepalive, &st, &keepalive, &err) != ETCD_OK) {
        fprintf(stderr, "keep-alive: %s\n", etcd_error_message(err));
        return 1;
    }

    /* 3. Serve while the lease holds. (An operator revokes it after a few renewals.) */
    pthread_mutex_lock(&st.mu);
    while (!st.lost && st.renewals < 2)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    if (etcd_lease_revoke(lease, id, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "revoke: %s\n", etcd_error_message(err));
        return 1;
    }
    etcd_response_free(resp);

    /* 4. Lost: stop serving and leave. */
    pthread_mutex_lock(&st.mu);
    while (!st.lost)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    etcd_call_release(keepalive);
    etcd_client_free(client);
    printf("stopped serving: %s\n", etcd_code_name(st.why));
    return st.why == ETCD_E_LEASE_NOT_FOUND ? 0 : 1;
}
