/*
 * etcdc/op.h - operations: get, put, delete, txn and compact, with their options.
 *
 * An op describes one request; etcd_kv_do() sends it. Ops are built by a constructor and then
 * refined by setters. A setter that gets bad input (or an option that does not apply to the op's
 * kind) returns an error code *and* marks the op invalid: sending an invalid op fails with that
 * first error and sends nothing, so chains of setters need not be checked one by one.
 *
 * Keys, values and range ends are bytes (pointer + length) and are copied into the op; they may
 * contain NUL and 0xff bytes. Constructors return NULL only when out of memory.
 *
 * Ownership: the caller owns every op it creates and frees it with etcd_op_free(), except an op
 * handed to etcd_txn_then() / etcd_txn_else(), which takes it over. etcd_kv_do() only reads the
 * op; it may be sent again, from several threads at once, and an op sent many times is packed
 * for the wire only once. A setter must not run while a send of the same op is in progress
 * (until that etcd_kv_do() or etcd_kv_do_async() has returned).
 */
#ifndef ETCDC_OP_H
#define ETCDC_OP_H

#include <etcdc/common.h>
#include <etcdc/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum etcd_op_type {
    ETCD_OP_GET = 0,
    ETCD_OP_PUT = 1,
    ETCD_OP_DELETE = 2,
    ETCD_OP_TXN = 3,
    ETCD_OP_COMPACT = 4
} etcd_op_type;

/* What a get sorts by. Values are etcd's. */
typedef enum etcd_sort_target {
    ETCD_SORT_BY_KEY = 0,
    ETCD_SORT_BY_VERSION = 1,
    ETCD_SORT_BY_CREATE_REVISION = 2,
    ETCD_SORT_BY_MOD_REVISION = 3,
    ETCD_SORT_BY_VALUE = 4
} etcd_sort_target;

typedef enum etcd_sort_order {
    ETCD_SORT_NONE = 0,
    ETCD_SORT_ASCEND = 1,
    ETCD_SORT_DESCEND = 2
} etcd_sort_order;

/* Reads `key` (one key, or a range with the setters below). etcd refuses an empty key, so an
 * empty key is allowed only with etcd_op_with_from_key() or etcd_op_with_prefix(), which make
 * it "\0" (every key), as clientv3 does. */
ETCD_API etcd_op *etcd_op_get(const void *key, size_t key_len);
/* Writes `value` under `key`. The key must not be empty. */
ETCD_API etcd_op *etcd_op_put(const void *key, size_t key_len, const void *value, size_t value_len);
/* Deletes `key` (or a range, as for get). */
ETCD_API etcd_op *etcd_op_delete(const void *key, size_t key_len);
/* Compacts the key-value history up to `revision` (> 0). */
ETCD_API etcd_op *etcd_op_compact(int64_t revision);
/* Makes a transaction an op, so it can be sent with etcd_kv_do() or nested in another txn.
 * Takes ownership of `txn`, even on failure (NULL txn: returns NULL). See txn.h. */
ETCD_API etcd_op *etcd_op_txn(etcd_txn *txn);
/* Frees an op. NULL is fine. */
ETCD_API void etcd_op_free(etcd_op *op);

ETCD_API etcd_op_type etcd_op_get_type(const etcd_op *op);
/* The first error a setter met, or ETCD_OK; *err (optional) receives its details. */
ETCD_API etcd_code etcd_op_check(const etcd_op *op, etcd_error **err);

/* --- ranges: get and delete --- */
/* Operate on [key, end). */
ETCD_API etcd_code etcd_op_with_range_end(etcd_op *op, const void *end, size_t end_len);
/* Operate on every key that starts with the op's key. */
ETCD_API etcd_code etcd_op_with_prefix(etcd_op *op);
/* Operate on every key >= the op's key. */
ETCD_API etcd_code etcd_op_with_from_key(etcd_op *op);

/* --- get --- */
/* At most `limit` keys (>= 0; 0 = no limit). */
ETCD_API etcd_code etcd_op_with_limit(etcd_op *op, int64_t limit);
/* Read at this revision (>= 0; 0 = latest). */
ETCD_API etcd_code etcd_op_with_rev(etcd_op *op, int64_t revision);
/* Sort the result. Sorting by key ascending is what etcd returns anyway, so it is sent as "no
 * sort" (as clientv3 does), sparing the server a full scan. */
ETCD_API etcd_code etcd_op_with_sort(etcd_op *op, etcd_sort_target target, etcd_sort_order order);
/* Serve the read from the member's local state (faster, may be stale). */
ETCD_API etcd_code etcd_op_with_serializable(etcd_op *op);
/* Return keys without values. */
ETCD_API etcd_code etcd_op_with_keys_only(etcd_op *op);
/* Return only the count of matching keys. */
ETCD_API etcd_code etcd_op_with_count_only(etcd_op *op);
/* Filter by modification / creation revision (>= 0; 0 = no bound). */
ETCD_API etcd_code etcd_op_with_min_mod_rev(etcd_op *op, int64_t revision);
ETCD_API etcd_code etcd_op_with_max_mod_rev(etcd_op *op, int64_t revision);
ETCD_API etcd_code etcd_op_with_min_create_rev(etcd_op *op, int64_t revision);
ETCD_API etcd_code etcd_op_with_max_create_rev(etcd_op *op, int64_t revision);

/* --- put and delete --- */
/* Return the key-value(s) as they were before the write. */
ETCD_API etcd_code etcd_op_with_prev_kv(etcd_op *op);

/* --- put --- */
/* Attach the key to a lease (a lease ID from etcd; 0 = none). */
ETCD_API etcd_code etcd_op_with_lease(etcd_op *op, int64_t lease_id);
/* Keep the key's current value (the key must exist; the op's value must be empty). */
ETCD_API etcd_code etcd_op_with_ignore_value(etcd_op *op);
/* Keep the key's current lease (the key must exist; no lease may be set). */
ETCD_API etcd_code etcd_op_with_ignore_lease(etcd_op *op);

/* --- compact --- */
/* Wait until the compaction is physically applied to the backend before returning. */
ETCD_API etcd_code etcd_op_with_physical(etcd_op *op);

/* --- per call: any op sent on its own (ignored for ops nested in a txn) --- */
/* This call's deadline in ms from when it is sent (> 0); overrides the client default. */
ETCD_API etcd_code etcd_op_set_timeout_ms(etcd_op *op, int64_t ms);
/* Overrides the client's require-leader setting for this call (see client.h). */
ETCD_API etcd_code etcd_op_set_require_leader(etcd_op *op, int on);

/*
 * The range end that selects every key starting with `prefix`: the prefix with its last byte
 * below 0xff incremented and what follows dropped. A prefix made only of 0xff bytes (or empty)
 * has no such end: the result is the single byte "\0", which etcd reads as "every key >= key".
 * `end` must hold max(prefix_len, 1) bytes; returns how many were written.
 */
ETCD_API size_t etcd_prefix_range_end(const void *prefix, size_t prefix_len, uint8_t *end);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_OP_H */
