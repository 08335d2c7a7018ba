/* Deliveries collected under a lock, handed on after it (see outbox.h). */
#include "outbox.h"

void etcd_outbox_add(etcd_outbox *o, etcd_delivery *d)
{
    d->next = NULL;
    if (o->tail)
        o->tail->next = d;
    else
        o->head = d;
    o->tail = d;
}

void etcd_outbox_flush(etcd_context *ctx, etcd_outbox *o, bool (*run_here)(const etcd_delivery *d))
{
    etcd_delivery *d = o->head;
    o->head = o->tail = NULL;
    while (d) {
        etcd_delivery *next = d->next; /* read first: running it may free it */
        if ((run_here && run_here(d)) || !etcd_context_deliver_stream(ctx, d))
            etcd_delivery_run(d);
        d = next;
    }
}
