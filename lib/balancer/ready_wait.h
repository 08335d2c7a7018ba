/*
 * Waiting for a connection without costing anything per waiting call: calls that find no
 * endpoint READY park here, and one connectivity watch per endpoint (armed only while someone
 * waits) wakes them all when a channel becomes READY. A parked call was never started, so it
 * provably never left the client. Everything here runs on the loop thread.
 */
#ifndef ETCDC_READY_WAIT_H
#define ETCDC_READY_WAIT_H

#include <stdbool.h>

#include "endpoints.h"
#include "transport/loop.h"

typedef struct etcd_ready_waiter {
    void (*ready)(struct etcd_ready_waiter *w);    /* runs on the loop thread, once per wait */
    struct etcd_ready_waiter *prev, *next;
    bool queued;
} etcd_ready_waiter;

typedef struct etcd_ready_gate etcd_ready_gate;

etcd_ready_gate *etcd_ready_gate_new(etcd_endpoint_set *set, etcd_loop *loop);
typedef enum etcd_ready_wait_result {
    ETCD_READY_NOW,         /* an endpoint is READY: nothing was parked */
    ETCD_READY_PARKED,      /* w is parked until one is */
    ETCD_READY_NOMEM        /* nothing was parked: out of memory */
} etcd_ready_wait_result;

/* Parks w until an endpoint is READY. Loop thread only. */
etcd_ready_wait_result etcd_ready_gate_wait(etcd_ready_gate *g, etcd_ready_waiter *w);
/* Unparks w if it is still parked (its ready() then never runs). Loop thread only. */
void etcd_ready_gate_cancel(etcd_ready_gate *g, etcd_ready_waiter *w);
/* How many calls are parked (for tests and diagnostics). */
size_t etcd_ready_gate_parked(etcd_ready_gate *g);
/* "a: connecting; b: unreachable", for messages about calls that found no endpoint connected;
 * malloc'd, or NULL when out of memory. Any thread. */
char *etcd_ready_gate_describe(etcd_ready_gate *g);
/* Stops arming watches; call before the loop is shut down. */
void etcd_ready_gate_close(etcd_ready_gate *g);
/* After the loop is gone (its pending watches have completed). NULL is fine. */
void etcd_ready_gate_free(etcd_ready_gate *g);

#endif
