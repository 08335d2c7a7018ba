/* Sync waits: a mutex and condition variable per call, on the caller's stack. */
#include "sync_wait.h"

void etcd_sync_wait_init(etcd_sync_wait *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->msg = NULL;
}

void etcd_sync_wait_signal(etcd_sync_wait *w, const ProtobufCMessage *msg)
{
    pthread_mutex_lock(&w->mu);
    w->msg = (ProtobufCMessage *)msg;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

ProtobufCMessage *etcd_sync_wait_finish(etcd_sync_wait *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return w->msg;
}
