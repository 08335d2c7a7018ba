/* Internal shape of the lease interface: unary calls and the keepalive loop of one client. */
#ifndef ETCDC_LEASE_INTERNAL_H
#define ETCDC_LEASE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <etcdc/lease.h>

#include "call/id_table.h"
#include "client/context.h"

typedef struct kept kept;

struct etcd_lease {
    etcd_context *ctx;
    unsigned methods[4];            /* Lease service method index: grant, revoke, ttl, leases */
    pthread_mutex_t mu;             /* the keepalive loop's state below */
    struct etcd_stream *stream;
    struct etcd_stream *corked;     /* the stream while this loop pass's renewals queue on it */
    etcd_idle_task uncork;          /* runs when the loop is idle: uncorks it */
    int state;                      /* idle, connecting, open */
    etcd_timer timer;               /* reconnect: handoff, backoff, or the park's guard */
    bool timer_armed, parked;
    etcd_ready_waiter waiter;
    int failures;
    etcd_endpoint *last;
    etcd_id_table kept;             /* kept leases and pending renew-once calls, by lease ID */
};

bool etcd_lease_init(etcd_lease *l, etcd_context *ctx);
/* The keepalive loop's part of init (lib/lease/keeper.c). */
void etcd_lease_keeper_init(etcd_lease *l);
void etcd_lease_destroy(etcd_lease *l);
/* Submits a renew-once call through the keepalive stream (lib/lease/keeper.c). */
etcd_code etcd_lease_keep_alive_once_submit(etcd_lease *l, int64_t id, etcd_callback cb, void *user_data,
                                            etcd_call **call, etcd_error **err);

#endif
