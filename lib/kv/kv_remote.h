/* The client's own KV implementation, over the context's retrying KV service. */
#ifndef ETCDC_KV_REMOTE_H
#define ETCDC_KV_REMOTE_H

#include "client/context.h"
#include "kv_iface.h"

typedef struct etcd_remote_kv {
    etcd_kv base;                   /* first: the etcd_kv handed out is the remote KV */
    etcd_context *ctx;
    unsigned methods[5];            /* KV service method index, by etcd_op_type */
} etcd_remote_kv;

/* Fills kv for ctx; false when the KV service descriptor lacks a method (never, in practice). */
bool etcd_remote_kv_init(etcd_remote_kv *kv, etcd_context *ctx);

#endif
