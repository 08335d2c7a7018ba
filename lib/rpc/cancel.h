/*
 * A cancellation token shared by the layers of one call: the caller fires it from any thread;
 * the transport cancels the gRPC call it is running, and the retry layer stops retrying.
 */
#ifndef ETCDC_CANCEL_H
#define ETCDC_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <grpc/grpc.h>

typedef struct etcd_cancel {
    pthread_mutex_t mu;
    atomic_bool fired;          /* read without the lock on every attempt */
    grpc_call *call;            /* the attempt in flight, or NULL */
    void (*hook)(void *arg);    /* run (under the lock) when fired: e.g. end a backoff wait now */
    void *hook_arg;
} etcd_cancel;

void etcd_cancel_init(etcd_cancel *c);
void etcd_cancel_destroy(etcd_cancel *c);
void etcd_cancel_fire(etcd_cancel *c);
bool etcd_cancel_fired(etcd_cancel *c);
/* Records the call about to start; false (nothing recorded) when already fired. NULL c: true. */
bool etcd_cancel_attach(etcd_cancel *c, grpc_call *call);
void etcd_cancel_detach(etcd_cancel *c);
/* Sets the hook run when the token fires; false (nothing set) when it has fired already.
 * NULL c: false. */
bool etcd_cancel_set_hook(etcd_cancel *c, void (*hook)(void *arg), void *arg);
void etcd_cancel_clear_hook(etcd_cancel *c);

#endif
