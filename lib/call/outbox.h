/*
 * Results a stream's owner collects under its lock and hands on after releasing it, so that
 * no callback ever runs under a library lock.
 */
#ifndef ETCDC_OUTBOX_H
#define ETCDC_OUTBOX_H

#include <stdbool.h>

#include "call.h"

typedef struct etcd_outbox {
    etcd_delivery *head, *tail;
} etcd_outbox;

void etcd_outbox_add(etcd_outbox *o, etcd_delivery *d);
/* Hands every delivery to the stream thread (or the dispatch queue), in order; one for which
 * run_here (when given) says so, or one no thread can take, runs here, with no lock held. */
void etcd_outbox_flush(etcd_context *ctx, etcd_outbox *o, bool (*run_here)(const etcd_delivery *d));

#endif
