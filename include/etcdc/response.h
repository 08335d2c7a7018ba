/*
 * etcdc/response.h - reading what a call returned.
 *
 * Every service answers with an etcd_response: KV ops, and the other services' calls and stream
 * messages, each read through the accessors of its own header. etcd_response_get_kind() tells
 * which service's answer it is; the header accessors below apply to all of them.
 *
 * An etcd_response is immutable and owns everything reachable from it: key-values and txn
 * sub-responses are borrowed pointers, valid until the response is freed with
 * etcd_response_free(). Reading key-values copies nothing. A response may be read from several
 * threads at once.
 *
 * Accessors that do not apply to the response's kind return 0 / NULL.
 */
#ifndef ETCDC_RESPONSE_H
#define ETCDC_RESPONSE_H

#include <etcdc/common.h>
#include <etcdc/op.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which kind of call a response answers. Values are only ever appended. */
typedef enum etcd_response_kind {
    ETCD_RESPONSE_KV = 0,           /* a KV op: etcd_response_type() says which */
    ETCD_RESPONSE_MEMBER_LIST = 1,  /* Cluster.MemberList */
    ETCD_RESPONSE_WATCH = 2,        /* a batch of watch events (watch.h) */
    ETCD_RESPONSE_LEASE_GRANT = 3,  /* lease.h */
    ETCD_RESPONSE_LEASE_REVOKE = 4,
    ETCD_RESPONSE_LEASE_TIME_TO_LIVE = 5,
    ETCD_RESPONSE_LEASE_LEASES = 6,
    ETCD_RESPONSE_LEASE_KEEP_ALIVE = 7
} etcd_response_kind;

ETCD_API etcd_response_kind etcd_response_get_kind(const etcd_response *resp);
/* KV responses: which op this answers (ETCD_OP_GET, ETCD_OP_PUT, ...). */
ETCD_API etcd_op_type etcd_response_type(const etcd_response *resp);

/* The response header, which every etcd answer carries: the store revision when the request was
 * served, the cluster and member that served it, and the raft term. */
ETCD_API int64_t etcd_response_revision(const etcd_response *resp);
ETCD_API uint64_t etcd_response_cluster_id(const etcd_response *resp);
ETCD_API uint64_t etcd_response_member_id(const etcd_response *resp);
ETCD_API uint64_t etcd_response_raft_term(const etcd_response *resp);

/* get: the key-values found (none with count-only). */
ETCD_API size_t etcd_response_kv_count(const etcd_response *resp);
ETCD_API const etcd_keyvalue *etcd_response_kv_at(const etcd_response *resp, size_t i);
/* get: non-zero when the limit cut the result short. */
ETCD_API int etcd_response_more(const etcd_response *resp);
/* get: how many keys the range holds (regardless of limit). */
ETCD_API int64_t etcd_response_count(const etcd_response *resp);

/* delete: how many keys were deleted. */
ETCD_API int64_t etcd_response_deleted(const etcd_response *resp);
/* put and delete with prev-kv: the previous key-values (at most one for put). */
ETCD_API size_t etcd_response_prev_kv_count(const etcd_response *resp);
ETCD_API const etcd_keyvalue *etcd_response_prev_kv_at(const etcd_response *resp, size_t i);

/* txn: non-zero when the compares held (the Then branch ran). */
ETCD_API int etcd_response_succeeded(const etcd_response *resp);
/* txn: one sub-response per op of the branch that ran, in order; a nested txn gives a txn
 * response. Borrowed from resp. */
ETCD_API size_t etcd_response_txn_count(const etcd_response *resp);
ETCD_API const etcd_response *etcd_response_txn_at(const etcd_response *resp, size_t i);

/* Frees a response and everything borrowed from it. NULL is fine. Only for responses returned
 * by a call, never for ones from etcd_response_txn_at(). */
ETCD_API void etcd_response_free(etcd_response *resp);

/* A key-value. The key and value are bytes, not NUL-terminated; *len receives their length
 * (len may be NULL). An empty value gives a non-NULL pointer with length 0. */
ETCD_API const uint8_t *etcd_keyvalue_key(const etcd_keyvalue *kv, size_t *len);
ETCD_API const uint8_t *etcd_keyvalue_value(const etcd_keyvalue *kv, size_t *len);
ETCD_API int64_t etcd_keyvalue_create_revision(const etcd_keyvalue *kv);
ETCD_API int64_t etcd_keyvalue_mod_revision(const etcd_keyvalue *kv);
ETCD_API int64_t etcd_keyvalue_version(const etcd_keyvalue *kv);
ETCD_API int64_t etcd_keyvalue_lease(const etcd_keyvalue *kv);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_RESPONSE_H */
