/*
 * etcdc/txn.h - transactions: If(compares) Then(ops) Else(ops), as in clientv3.
 *
 *   etcd_txn *t = etcd_txn_new();
 *   etcd_txn_if(t, etcd_cmp_value("k", 1, ETCD_CMP_EQUAL, "old", 3));
 *   etcd_txn_then(t, etcd_op_put("k", 1, "new", 3));
 *   etcd_txn_else(t, etcd_op_get("k", 1));
 *   rc = etcd_kv_txn(kv, t, &resp, &err);        // etcd_response_succeeded(resp) says which branch ran
 *   etcd_txn_free(t);
 *
 * Ownership: etcd_txn_if(), etcd_txn_then() and etcd_txn_else() take over the cmp or op they are
 * given, always, even when they fail (etcd_cmp_with_*() only modify their cmp). Passing
 * the NULL that a failed constructor returned is fine: the txn records ETCD_E_NOMEM. The caller
 * frees the txn itself with etcd_txn_free(), unless it handed it to etcd_op_txn().
 *
 * Errors in building are sticky: the first one is kept and reported when the txn is sent.
 */
#ifndef ETCDC_TXN_H
#define ETCDC_TXN_H

#include <etcdc/common.h>
#include <etcdc/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a compare relates the key's field (left) to the given value (right). Values are etcd's. */
typedef enum etcd_cmp_result {
    ETCD_CMP_EQUAL = 0,
    ETCD_CMP_GREATER = 1,
    ETCD_CMP_LESS = 2,
    ETCD_CMP_NOT_EQUAL = 3
} etcd_cmp_result;

/* Compares the key's value with `value`. */
ETCD_API etcd_cmp *etcd_cmp_value(const void *key, size_t key_len, etcd_cmp_result result,
                                  const void *value, size_t value_len);
/* Compares the key's version (0 when it does not exist). */
ETCD_API etcd_cmp *etcd_cmp_version(const void *key, size_t key_len, etcd_cmp_result result, int64_t version);
/* Compares the key's creation revision (0 when it does not exist). */
ETCD_API etcd_cmp *etcd_cmp_create_rev(const void *key, size_t key_len, etcd_cmp_result result, int64_t revision);
/* Compares the key's last modification revision (0 when it does not exist). */
ETCD_API etcd_cmp *etcd_cmp_mod_rev(const void *key, size_t key_len, etcd_cmp_result result, int64_t revision);
/* Compares the key's lease ID (0 when none). */
ETCD_API etcd_cmp *etcd_cmp_lease(const void *key, size_t key_len, etcd_cmp_result result, int64_t lease_id);
/* Makes the compare hold for every key in [key, end). */
ETCD_API etcd_code etcd_cmp_with_range_end(etcd_cmp *cmp, const void *end, size_t end_len);
/* Makes the compare hold for every key with the compare's key as prefix. */
ETCD_API etcd_code etcd_cmp_with_prefix(etcd_cmp *cmp);
/* Frees a compare that was not handed to a txn. NULL is fine. */
ETCD_API void etcd_cmp_free(etcd_cmp *cmp);

/* A new, empty transaction, or NULL when out of memory. */
ETCD_API etcd_txn *etcd_txn_new(void);
/* Adds a compare; every compare must hold for the Then branch to run. Takes ownership of cmp. */
ETCD_API etcd_code etcd_txn_if(etcd_txn *txn, etcd_cmp *cmp);
/* Adds an op (get, put, delete or txn) to the branch run when the compares hold. Takes ownership. */
ETCD_API etcd_code etcd_txn_then(etcd_txn *txn, etcd_op *op);
/* Adds an op to the branch run when a compare fails. Takes ownership. */
ETCD_API etcd_code etcd_txn_else(etcd_txn *txn, etcd_op *op);
/* The first building error, or ETCD_OK; *err (optional) receives its details. */
ETCD_API etcd_code etcd_txn_check(const etcd_txn *txn, etcd_error **err);
/* Frees a txn and everything it owns. NULL is fine. */
ETCD_API void etcd_txn_free(etcd_txn *txn);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_TXN_H */
