/* Blocking the caller's thread until a call's closure has run on the loop thread. */
#ifndef ETCDC_SYNC_WAIT_H
#define ETCDC_SYNC_WAIT_H

#include <pthread.h>
#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

typedef struct etcd_sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    ProtobufCMessage *msg;      /* the response handed to the closure, or NULL */
} etcd_sync_wait;

void etcd_sync_wait_init(etcd_sync_wait *w);
/* From the closure: records the response and wakes the waiter. */
void etcd_sync_wait_signal(etcd_sync_wait *w, const ProtobufCMessage *msg);
/* Waits for the signal, returns the response, and releases the waiter's resources. */
ProtobufCMessage *etcd_sync_wait_finish(etcd_sync_wait *w);

#endif
