/* The public KV entry points: argument checks, then everything goes through do_op. */
#include <stdbool.h>

#include "error/error_internal.h"
#include "kv_iface.h"
#include "op_internal.h"

static etcd_code check_common(etcd_kv *kv, etcd_response **resp, etcd_error **err, const char *what)
{
    if (resp)
        *resp = NULL;
    if (!kv)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: kv is NULL", what);
    if (!resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: resp (the out-pointer) is NULL", what);
    return ETCD_OK;
}

etcd_code etcd_kv_do(etcd_kv *kv, const etcd_op *op, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "do");
    if (rc != ETCD_OK)
        return rc;
    rc = etcd_op_check(op, err);
    if (rc != ETCD_OK)
        return rc;
    return kv->ops->do_op(kv, op, resp, err);
}

/* Builds an op, sends it through do, frees it. */
static etcd_code do_built(etcd_kv *kv, etcd_op *op, etcd_response **resp, etcd_error **err, const char *what)
{
    if (!op)
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", what);
    etcd_code rc = etcd_kv_do(kv, op, resp, err);
    etcd_op_free(op);
    return rc;
}

/* The one-shot calls send a stack op over the caller's own bytes: no allocation, no copy. */
static etcd_code do_borrowed(etcd_kv *kv, etcd_op_type type, const void *key, size_t key_len, const void *value,
                             size_t value_len, etcd_response **resp, etcd_error **err)
{
    etcd_op op;
    etcd_op_borrow(&op, type, key, key_len, value, value_len);
    etcd_code rc = etcd_kv_do(kv, &op, resp, err);
    etcd_op_borrow_release(&op);
    return rc;
}

etcd_code etcd_kv_put(etcd_kv *kv, const void *key, size_t key_len, const void *value, size_t value_len,
                      etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "put");
    return rc != ETCD_OK ? rc : do_borrowed(kv, ETCD_OP_PUT, key, key_len, value, value_len, resp, err);
}

etcd_code etcd_kv_get(etcd_kv *kv, const void *key, size_t key_len, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "get");
    return rc != ETCD_OK ? rc : do_borrowed(kv, ETCD_OP_GET, key, key_len, NULL, 0, resp, err);
}

etcd_code etcd_kv_delete(etcd_kv *kv, const void *key, size_t key_len, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "delete");
    return rc != ETCD_OK ? rc : do_borrowed(kv, ETCD_OP_DELETE, key, key_len, NULL, 0, resp, err);
}

etcd_code etcd_kv_compact(etcd_kv *kv, int64_t revision, int physical, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "compact");
    if (rc != ETCD_OK)
        return rc;
    etcd_op *op = etcd_op_compact(revision);
    if (op && physical)
        etcd_op_with_physical(op);
    return do_built(kv, op, resp, err, "compact");
}

etcd_code etcd_kv_txn(etcd_kv *kv, const etcd_txn *txn, etcd_response **resp, etcd_error **err)
{
    etcd_code rc = check_common(kv, resp, err, "txn");
    if (rc != ETCD_OK)
        return rc;
    rc = etcd_txn_check(txn, err);
    if (rc != ETCD_OK)
        return rc;
    etcd_op op;
    etcd_op_wrap_txn(&op, txn);
    return kv->ops->do_op(kv, &op, resp, err);
}

/* ---- async forms: the same checks, then do_async ---- */

static etcd_code check_async(etcd_kv *kv, etcd_callback cb, etcd_call **call, etcd_error **err, const char *what)
{
    if (call)
        *call = NULL;
    if (!kv)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: kv is NULL", what);
    if (!cb)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: callback is NULL", what);
    return ETCD_OK;
}

etcd_code etcd_kv_do_async(etcd_kv *kv, const etcd_op *op, etcd_callback cb, void *user_data, etcd_call **call,
                           etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "do_async");
    if (rc != ETCD_OK)
        return rc;
    rc = etcd_op_check(op, err);
    if (rc != ETCD_OK)
        return rc;
    return kv->ops->do_async(kv, op, cb, user_data, call, err);
}

static etcd_code async_built(etcd_kv *kv, etcd_op *op, etcd_callback cb, void *user_data, etcd_call **call,
                             etcd_error **err, const char *what)
{
    if (!op)
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", what);
    etcd_code rc = etcd_kv_do_async(kv, op, cb, user_data, call, err);
    etcd_op_free(op);
    return rc;
}

/* Async one-shot calls borrow too: the request is serialized before the submit returns. */
static etcd_code async_borrowed(etcd_kv *kv, etcd_op_type type, const void *key, size_t key_len, const void *value,
                                size_t value_len, etcd_callback cb, void *user_data, etcd_call **call,
                                etcd_error **err)
{
    etcd_op op;
    etcd_op_borrow(&op, type, key, key_len, value, value_len);
    etcd_code rc = etcd_kv_do_async(kv, &op, cb, user_data, call, err);
    etcd_op_borrow_release(&op);
    return rc;
}

etcd_code etcd_kv_put_async(etcd_kv *kv, const void *key, size_t key_len, const void *value, size_t value_len,
                            etcd_callback cb, void *user_data, etcd_call **call, etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "put_async");
    return rc != ETCD_OK ? rc
                         : async_borrowed(kv, ETCD_OP_PUT, key, key_len, value, value_len, cb, user_data, call, err);
}

etcd_code etcd_kv_get_async(etcd_kv *kv, const void *key, size_t key_len, etcd_callback cb, void *user_data,
                            etcd_call **call, etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "get_async");
    return rc != ETCD_OK ? rc : async_borrowed(kv, ETCD_OP_GET, key, key_len, NULL, 0, cb, user_data, call, err);
}

etcd_code etcd_kv_delete_async(etcd_kv *kv, const void *key, size_t key_len, etcd_callback cb, void *user_data,
                               etcd_call **call, etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "delete_async");
    return rc != ETCD_OK ? rc : async_borrowed(kv, ETCD_OP_DELETE, key, key_len, NULL, 0, cb, user_data, call, err);
}

etcd_code etcd_kv_compact_async(etcd_kv *kv, int64_t revision, int physical, etcd_callback cb, void *user_data,
                                etcd_call **call, etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "compact_async");
    if (rc != ETCD_OK)
        return rc;
    etcd_op *op = etcd_op_compact(revision);
    if (op && physical)
        etcd_op_with_physical(op);
    return async_built(kv, op, cb, user_data, call, err, "compact_async");
}

etcd_code etcd_kv_txn_async(etcd_kv *kv, const etcd_txn *txn, etcd_callback cb, void *user_data, etcd_call **call,
                            etcd_error **err)
{
    etcd_code rc = check_async(kv, cb, call, err, "txn_async");
    if (rc != ETCD_OK)
        return rc;
    rc = etcd_txn_check(txn, err);
    if (rc != ETCD_OK)
        return rc;
    etcd_op op;
    etcd_op_wrap_txn(&op, txn);
    return kv->ops->do_async(kv, &op, cb, user_data, call, err);
}
