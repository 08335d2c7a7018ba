/*
 * etcdc/common.h - shared declarations: export macro and the opaque handle types.
 *
 * Every handle is an incomplete struct type, so the compiler tells one from another and
 * no struct layout is part of the ABI.
 */
#ifndef ETCDC_COMMON_H
#define ETCDC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define ETCD_API
#elif defined(__GNUC__) || defined(__clang__)
#define ETCD_API __attribute__((visibility("default")))
#else
#define ETCD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct etcd_config etcd_config;     /* client settings; see client.h */
typedef struct etcd_client etcd_client;     /* a connection to an etcd cluster; see client.h */
typedef struct etcd_kv etcd_kv;             /* the KV interface of a client; see kv.h */
typedef struct etcd_op etcd_op;             /* one get / put / delete / txn / compact; see op.h */
typedef struct etcd_cmp etcd_cmp;           /* one txn comparison; see txn.h */
typedef struct etcd_txn etcd_txn;           /* a transaction being built; see txn.h */
typedef struct etcd_response etcd_response; /* the answer to an op; see response.h */
typedef struct etcd_keyvalue etcd_keyvalue; /* one key-value inside a response; see response.h */
typedef struct etcd_error etcd_error;       /* details of a failure; see error.h */

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_COMMON_H */
