/* The transport object: calls in flight, the closing flag, and the method table. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct etcd_transport {
    etcd_loop *loop;
    int32_t max_send_bytes;
    pthread_mutex_t mu;
    etcd_tracked_call *active;  /* calls in flight */
    atomic_bool closing;        /* set by cancel_all (under mu): no new calls start */
    char *methods[ETCD_MAX_METHODS];
    int n_methods;
};

etcd_transport *etcd_transport_new(etcd_loop *loop, int32_t max_send_bytes)
{
    etcd_transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->loop = loop;
    t->max_send_bytes = max_send_bytes;
    atomic_init(&t->closing, false);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

etcd_loop *etcd_transport_loop(etcd_transport *t)
{
    return t->loop;
}

int32_t etcd_transport_max_send_bytes(etcd_transport *t)
{
    return t->max_send_bytes;
}

int etcd_transport_method_id(etcd_transport *t, const char *path)
{
    int id = -1;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n_methods && id < 0; i++)
        if (strcmp(t->methods[i], path) == 0)
            id = i;
    if (id < 0 && t->n_methods < ETCD_MAX_METHODS && (t->methods[t->n_methods] = strdup(path)) != NULL)
        id = t->n_methods++;
    pthread_mutex_unlock(&t->mu);
    return id;
}

void etcd_transport_lock(etcd_transport *t)
{
    pthread_mutex_lock(&t->mu);
}

void etcd_transport_unlock(etcd_transport *t)
{
    pthread_mutex_unlock(&t->mu);
}

bool etcd_transport_track_locked(etcd_transport *t, etcd_tracked_call *tc)
{
    if (atomic_load_explicit(&t->closing, memory_order_relaxed))
        return false;
    tc->prev = NULL;
    tc->next = t->active;
    if (tc->next)
        tc->next->prev = tc;
    t->active = tc;
    return true;
}

void etcd_transport_untrack_locked(etcd_transport *t, etcd_tracked_call *tc)
{
    if (tc->prev)
        tc->prev->next = tc->next;
    else if (t->active == tc)
        t->active = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    tc->prev = tc->next = NULL;
}

bool etcd_transport_track(etcd_transport *t, etcd_tracked_call *tc)
{
    pthread_mutex_lock(&t->mu);
    bool ok = etcd_transport_track_locked(t, tc);
    pthread_mutex_unlock(&t->mu);
    return ok;
}

void etcd_transport_untrack(etcd_transport *t, etcd_tracked_call *tc)
{
    pthread_mutex_lock(&t->mu);
    etcd_transport_untrack_locked(t, tc);
    pthread_mutex_unlock(&t->mu);
}

bool etcd_transport_closing(etcd_transport *t)
{
    /* A hint for callers deciding whether to start; track_locked is the authoritative check. */
    return atomic_load_explicit(&t->closing, memory_order_acquire);
}

void etcd_transport_cancel_all(etcd_transport *t)
{
    pthread_mutex_lock(&t->mu);
    atomic_store_explicit(&t->closing, true, memory_order_release);
    for (etcd_tracked_call *c = t->active; c; c = c->next)
        grpc_call_cancel(c->call, NULL);
    pthread_mutex_unlock(&t->mu);
}

void etcd_transport_free(etcd_transport *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_methods; i++)
        free(t->methods[i]);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
