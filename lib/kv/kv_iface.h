/*
 * The KV interface as an ops table, so wrappers (a namespace prefixer, say) can present an
 * etcd_kv of their own that transforms ops and responses around another etcd_kv.
 */
#ifndef ETCDC_KV_IFACE_H
#define ETCDC_KV_IFACE_H

#include <etcdc/async.h>
#include <etcdc/kv.h>

typedef struct etcd_kv_ops {
    /* Sends a checked op. Same contract as etcd_kv_do(). */
    etcd_code (*do_op)(etcd_kv *kv, const etcd_op *op, etcd_response **resp, etcd_error **err);
    /* Submits a checked op. Same contract as etcd_kv_do_async(). */
    etcd_code (*do_async)(etcd_kv *kv, const etcd_op *op, etcd_callback cb, void *user_data, etcd_call **call,
                          etcd_error **err);
} etcd_kv_ops;

struct etcd_kv {
    const etcd_kv_ops *ops;
};

#endif
