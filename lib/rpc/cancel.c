/* Cancellation tokens. */
#include "cancel.h"

void etcd_cancel_init(etcd_cancel *c)
{
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->fired, false);
    c->call = NULL;
    c->hook = NULL;
    c->hook_arg = NULL;
}

void etcd_cancel_destroy(etcd_cancel *c)
{
    pthread_mutex_destroy(&c->mu);
}

void etcd_cancel_fire(etcd_cancel *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->fired, true);
    if (c->call)
        grpc_call_cancel(c->call, NULL);
    if (c->hook)
        c->hook(c->hook_arg);
    pthread_mutex_unlock(&c->mu);
}

bool etcd_cancel_fired(etcd_cancel *c)
{
    return c && atomic_load_explicit(&c->fired, memory_order_acquire);
}

bool etcd_cancel_attach(etcd_cancel *c, grpc_call *call)
{
    if (!c)
        return true;
    pthread_mutex_lock(&c->mu);
    bool ok = !atomic_load_explicit(&c->fired, memory_order_relaxed);
    if (ok)
        c->call = call;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void etcd_cancel_detach(etcd_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->call = NULL;
    pthread_mutex_unlock(&c->mu);
}

bool etcd_cancel_set_hook(etcd_cancel *c, void (*hook)(void *arg), void *arg)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool ok = !atomic_load_explicit(&c->fired, memory_order_relaxed);
    if (ok) {
        c->hook = hook;
        c->hook_arg = arg;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void etcd_cancel_clear_hook(etcd_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->hook = NULL;
    c->hook_arg = NULL;
    pthread_mutex_unlock(&c->mu);
}
