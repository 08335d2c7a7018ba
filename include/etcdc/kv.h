/*
 * etcdc/kv.h - the KV interface: put, get, delete, compact, do and txn.
 *
 * etcd_client_kv() returns a client's etcd_kv. Every call sends one request and blocks until
 * the answer, the call's deadline, or a failure. On success *resp receives a response the caller
 * frees with etcd_response_free(); on failure *resp is set to NULL and, when err is not NULL,
 * *err receives the details (free with etcd_error_free()).
 *
 * put, get and delete build an op and send it through etcd_kv_do(), exactly as an op built by
 * hand would go. Nothing is sent when an argument is invalid.
 *
 * Writes (put, delete, txn with writes, compact) are never sent twice. A write that failed after
 * it may have reached the server returns ETCD_E_OUTCOME_UNKNOWN (see error.h); every other
 * failure means it was not applied.
 */
#ifndef ETCDC_KV_H
#define ETCDC_KV_H

#include <etcdc/common.h>
#include <etcdc/error.h>
#include <etcdc/op.h>
#include <etcdc/txn.h>
#include <etcdc/response.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sends any op (get, put, delete, txn, compact). The op is only read. */
ETCD_API etcd_code etcd_kv_do(etcd_kv *kv, const etcd_op *op, etcd_response **resp, etcd_error **err);
/* Puts value under key. */
ETCD_API etcd_code etcd_kv_put(etcd_kv *kv, const void *key, size_t key_len, const void *value,
                               size_t value_len, etcd_response **resp, etcd_error **err);
/* Gets one key (linearizable). For ranges and options, build an op with etcd_op_get(). */
ETCD_API etcd_code etcd_kv_get(etcd_kv *kv, const void *key, size_t key_len, etcd_response **resp,
                               etcd_error **err);
/* Deletes one key. For ranges and options, build an op with etcd_op_delete(). */
ETCD_API etcd_code etcd_kv_delete(etcd_kv *kv, const void *key, size_t key_len, etcd_response **resp,
                                  etcd_error **err);
/* Compacts history up to revision; physical waits for the backend to apply it. */
ETCD_API etcd_code etcd_kv_compact(etcd_kv *kv, int64_t revision, int physical, etcd_response **resp,
                                   etcd_error **err);
/* Commits a transaction. The txn is only read; the caller still frees it. */
ETCD_API etcd_code etcd_kv_txn(etcd_kv *kv, const etcd_txn *txn, etcd_response **resp, etcd_error **err);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_KV_H */
