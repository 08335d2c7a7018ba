/* Ops: constructors and option setters. Each op holds its protobuf request, filled in place. */
#include <stdlib.h>
#include <string.h>

#include "error/error_internal.h"
#include "op_internal.h"

static const char *const op_names[] = {"get", "put", "delete", "txn", "compact"};

const char *etcd_op_type_name(etcd_op_type type)
{
    return (unsigned)type < sizeof op_names / sizeof op_names[0] ? op_names[type] : "op";
}

static const char *op_name(const etcd_op *op)
{
    return etcd_op_type_name(op->type);
}

/* Copies bytes into a protobuf bytes field. Empty input leaves the field empty. */
static bool set_bytes(ProtobufCBinaryData *f, const void *data, size_t len)
{
    free(f->data);
    f->data = NULL;
    f->len = 0;
    if (len == 0)
        return true;
    f->data = malloc(len);
    if (!f->data)
        return false;
    memcpy(f->data, data, len);
    f->len = len;
    return true;
}

static etcd_op *op_alloc(etcd_op_type type)
{
    etcd_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->type = type;
    op->require_leader = -1;
    return op;
}

static ProtobufCBinaryData *key_of(etcd_op *op);

/* Fills a get / put / delete op's request. Copies key and value unless `borrow`, in which case
 * the request points at the caller's bytes. False only when out of memory. */
static bool init_key_op(etcd_op *op, etcd_op_type type, const void *key, size_t key_len, const void *value,
                        size_t value_len, bool borrow)
{
    op->type = type;
    op->require_leader = -1;
    switch (type) {
    case ETCD_OP_GET:
        etcdserverpb__range_request__init(&op->req.range);
        break;
    case ETCD_OP_PUT:
        etcdserverpb__put_request__init(&op->req.put);
        break;
    default:
        etcdserverpb__delete_range_request__init(&op->req.del);
        break;
    }
    if (key_len && !key) {
        etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "%s: key is NULL but key_len is %zu", op_name(op),
                         key_len);
        return true;
    }
    if (type == ETCD_OP_PUT && key_len == 0)
        etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "put: key is empty");
    if (type == ETCD_OP_PUT && value_len && !value) {
        etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "put: value is NULL but value_len is %zu", value_len);
        return true;
    }
    if (borrow) {
        *key_of(op) = (ProtobufCBinaryData){key_len, (uint8_t *)key};
        if (type == ETCD_OP_PUT)
            op->req.put.value = (ProtobufCBinaryData){value_len, (uint8_t *)value};
        return true;
    }
    return set_bytes(key_of(op), key, key_len) && (type != ETCD_OP_PUT || set_bytes(&op->req.put.value, value, value_len));
}

static etcd_op *new_key_op(etcd_op_type type, const void *key, size_t key_len, const void *value, size_t value_len)
{
    etcd_op *op = op_alloc(type);
    if (op && !init_key_op(op, type, key, key_len, value, value_len, false)) {
        etcd_op_free(op);
        return NULL;
    }
    return op;
}

void etcd_op_borrow(etcd_op *op, etcd_op_type type, const void *key, size_t key_len, const void *value,
                    size_t value_len)
{
    memset(op, 0, sizeof *op);
    op->borrowed = true;
    init_key_op(op, type, key, key_len, value, value_len, true);
}

void etcd_op_borrow_release(etcd_op *op)
{
    etcd_sticky_clear(&op->error);
}

static ProtobufCBinaryData *key_of(etcd_op *op)
{
    switch (op->type) {
    case ETCD_OP_GET:
        return &op->req.range.key;
    case ETCD_OP_PUT:
        return &op->req.put.key;
    case ETCD_OP_DELETE:
        return &op->req.del.key;
    default:
        return NULL;
    }
}

static ProtobufCBinaryData *end_of(etcd_op *op)
{
    switch (op->type) {
    case ETCD_OP_GET:
        return &op->req.range.range_end;
    case ETCD_OP_DELETE:
        return &op->req.del.range_end;
    default:
        return NULL;
    }
}

etcd_op *etcd_op_get(const void *key, size_t key_len)
{
    return new_key_op(ETCD_OP_GET, key, key_len, NULL, 0);
}

etcd_op *etcd_op_delete(const void *key, size_t key_len)
{
    return new_key_op(ETCD_OP_DELETE, key, key_len, NULL, 0);
}

etcd_op *etcd_op_put(const void *key, size_t key_len, const void *value, size_t value_len)
{
    return new_key_op(ETCD_OP_PUT, key, key_len, value, value_len);
}

etcd_op *etcd_op_compact(int64_t revision)
{
    etcd_op *op = op_alloc(ETCD_OP_COMPACT);
    if (!op)
        return NULL;
    etcdserverpb__compaction_request__init(&op->req.compact);
    op->req.compact.revision = revision;
    if (revision <= 0)
        etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "compact: revision must be > 0 (got %lld)",
                         (long long)revision);
    return op;
}

etcd_op *etcd_op_txn(etcd_txn *txn)
{
    if (!txn)
        return NULL;
    etcd_op *op = op_alloc(ETCD_OP_TXN);
    if (!op) {
        etcd_txn_free(txn);
        return NULL;
    }
    op->txn = txn;
    return op;
}

void etcd_op_wrap_txn(etcd_op *op, const etcd_txn *txn)
{
    memset(op, 0, sizeof *op);
    op->type = ETCD_OP_TXN;
    op->require_leader = -1;
    op->txn = (etcd_txn *)txn;
    op->txn_borrowed = true;
}

void etcd_op_free(etcd_op *op)
{
    if (!op)
        return;
    switch (op->type) {
    case ETCD_OP_GET:
        free(op->req.range.key.data);
        free(op->req.range.range_end.data);
        break;
    case ETCD_OP_PUT:
        free(op->req.put.key.data);
        free(op->req.put.value.data);
        break;
    case ETCD_OP_DELETE:
        free(op->req.del.key.data);
        free(op->req.del.range_end.data);
        break;
    case ETCD_OP_TXN:
        if (!op->txn_borrowed)
            etcd_txn_free(op->txn);
        break;
    case ETCD_OP_COMPACT:
        break;
    }
    etcd_sticky_clear(&op->error);
    if (atomic_load_explicit(&op->pack_state, memory_order_acquire) == 2)
        grpc_slice_unref(op->packed);
    if (!op->txn_borrowed)
        free(op);
}

/* A setter changes the request: the packed form kept from an earlier send is stale. Setters
 * never run while the op is being sent (the header's rule), so this needs no more care. */
static void unpack_cache(etcd_op *op)
{
    if (atomic_load_explicit(&op->pack_state, memory_order_acquire) == 2)
        grpc_slice_unref(op->packed);
    atomic_store_explicit(&op->pack_state, 0, memory_order_release);
}

const grpc_slice *etcd_op_packed(const etcd_op *cop)
{
    etcd_op *op = (etcd_op *)cop; /* the cache is not part of what the op says */
    if (op->borrowed || op->type == ETCD_OP_TXN)
        return NULL;
    int st = atomic_load_explicit(&op->pack_state, memory_order_acquire);
    if (st == 2)
        return &op->packed;
    if (st != 0 || !atomic_compare_exchange_strong_explicit(&op->pack_state, &st, 1, memory_order_acq_rel,
                                                            memory_order_acquire))
        return NULL;
    const ProtobufCMessage *m = etcd_op_message(op);
    op->packed = grpc_slice_malloc(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(op->packed));
    atomic_store_explicit(&op->pack_state, 2, memory_order_release);
    return &op->packed;
}

etcd_op_type etcd_op_get_type(const etcd_op *op)
{
    return op ? op->type : ETCD_OP_GET;
}

etcd_code etcd_op_check(const etcd_op *op, etcd_error **err)
{
    if (!op)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "op is NULL");
    if (op->error.code != ETCD_OK)
        return etcd_sticky_report(&op->error, err);
    if (op->type == ETCD_OP_TXN)
        return etcd_txn_check(op->txn, err);
    /* etcd refuses an empty key ("key is not provided"), with or without a range end; prefix
     * and from-key on an empty key have already made it "\0". */
    if (op->type == ETCD_OP_GET || op->type == ETCD_OP_DELETE) {
        etcd_op *m = (etcd_op *)op;
        if (key_of(m)->len == 0)
            return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT,
                                  "%s: key is empty (use a prefix or from-key for all keys)", op_name(op));
    }
    return ETCD_OK;
}

const ProtobufCMessage *etcd_op_message(const etcd_op *op)
{
    switch (op->type) {
    case ETCD_OP_GET:
        return &op->req.range.base;
    case ETCD_OP_PUT:
        return &op->req.put.base;
    case ETCD_OP_DELETE:
        return &op->req.del.base;
    case ETCD_OP_TXN:
        return &op->txn->req.base;
    case ETCD_OP_COMPACT:
        return &op->req.compact.base;
    }
    return NULL;
}

void etcd_op_to_request_op(etcd_op *op, Etcdserverpb__RequestOp *out)
{
    etcdserverpb__request_op__init(out);
    switch (op->type) {
    case ETCD_OP_GET:
        out->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
        out->request_range = &op->req.range;
        break;
    case ETCD_OP_PUT:
        out->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
        out->request_put = &op->req.put;
        break;
    case ETCD_OP_DELETE:
        out->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
        out->request_delete_range = &op->req.del;
        break;
    case ETCD_OP_TXN:
        out->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN;
        out->request_txn = &op->txn->req;
        break;
    case ETCD_OP_COMPACT:
        break;
    }
}

/* ---- setters ---- */

/* NULL op, or an op of a kind the option does not apply to: report and mark the op. */
#define REQUIRE(op, cond, what)                                                                                   \
    do {                                                                                                          \
        if (!(op))                                                                                                \
            return ETCD_E_INVALID_ARGUMENT;                                                                       \
        unpack_cache(op);                                                                                         \
        if (!(cond))                                                                                              \
            return etcd_sticky_fail(&(op)->error, ETCD_E_INVALID_ARGUMENT, "%s does not apply to a %s op", what, \
                                    op_name(op));                                                                 \
    } while (0)

#define IS_RANGE(op) ((op)->type == ETCD_OP_GET || (op)->type == ETCD_OP_DELETE)

static etcd_code set_end(etcd_op *op, const void *end, size_t len)
{
    if (!set_bytes(end_of(op), end, len))
        return etcd_sticky_fail(&op->error, ETCD_E_NOMEM, "%s: out of memory", op_name(op));
    return ETCD_OK;
}

etcd_code etcd_op_with_range_end(etcd_op *op, const void *end, size_t end_len)
{
    REQUIRE(op, IS_RANGE(op), "range end");
    if (end_len && !end)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "%s: range end is NULL but its length is %zu",
                                op_name(op), end_len);
    op->prefix = false;
    return set_end(op, end, end_len);
}

/* As clientv3: an empty key with prefix or from-key means every key, sent as key "\0". */
static etcd_code widen_empty_key(etcd_op *op)
{
    ProtobufCBinaryData *k = key_of(op);
    if (k->len)
        return ETCD_OK;
    if (!set_bytes(k, "", 1))
        return etcd_sticky_fail(&op->error, ETCD_E_NOMEM, "%s: out of memory", op_name(op));
    return ETCD_OK;
}

etcd_code etcd_op_with_prefix(etcd_op *op)
{
    REQUIRE(op, IS_RANGE(op), "prefix");
    ProtobufCBinaryData *k = key_of(op);
    if (k->len == 0) {
        etcd_code rc = widen_empty_key(op);
        return rc != ETCD_OK ? rc : set_end(op, "", 1);
    }
    uint8_t *end = malloc(k->len);
    if (!end)
        return etcd_sticky_fail(&op->error, ETCD_E_NOMEM, "%s: out of memory", op_name(op));
    size_t n = etcd_prefix_range_end(k->data, k->len, end);
    etcd_code rc = set_end(op, end, n);
    free(end);
    op->prefix = true;
    return rc;
}

etcd_code etcd_op_with_from_key(etcd_op *op)
{
    REQUIRE(op, IS_RANGE(op), "from-key");
    etcd_code rc = widen_empty_key(op);
    op->prefix = false;
    return rc != ETCD_OK ? rc : set_end(op, "", 1);
}

static etcd_code non_negative(etcd_op *op, int64_t v, const char *what)
{
    if (v < 0)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "%s: %s must be >= 0 (got %lld)", op_name(op),
                                what, (long long)v);
    return ETCD_OK;
}

etcd_code etcd_op_with_limit(etcd_op *op, int64_t limit)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "limit");
    if (non_negative(op, limit, "limit") != ETCD_OK)
        return ETCD_E_INVALID_ARGUMENT;
    op->req.range.limit = limit;
    return ETCD_OK;
}

etcd_code etcd_op_with_rev(etcd_op *op, int64_t revision)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "revision");
    if (non_negative(op, revision, "revision") != ETCD_OK)
        return ETCD_E_INVALID_ARGUMENT;
    op->req.range.revision = revision;
    return ETCD_OK;
}

etcd_code etcd_op_with_sort(etcd_op *op, etcd_sort_target target, etcd_sort_order order)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "sort");
    if ((int)target < ETCD_SORT_BY_KEY || (int)target > ETCD_SORT_BY_VALUE)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "get: unknown sort target %d", (int)target);
    if ((int)order < ETCD_SORT_NONE || (int)order > ETCD_SORT_DESCEND)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "get: unknown sort order %d", (int)order);
    /* Keys come back ascending anyway; asking for it explicitly makes etcd sort the whole range. */
    if (target == ETCD_SORT_BY_KEY && order == ETCD_SORT_ASCEND)
        order = ETCD_SORT_NONE;
    op->req.range.sort_target = (Etcdserverpb__RangeRequest__SortTarget)target;
    op->req.range.sort_order = (Etcdserverpb__RangeRequest__SortOrder)order;
    return ETCD_OK;
}

etcd_code etcd_op_with_serializable(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "serializable");
    op->req.range.serializable = 1;
    return ETCD_OK;
}

etcd_code etcd_op_with_keys_only(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "keys-only");
    op->req.range.keys_only = 1;
    return ETCD_OK;
}

etcd_code etcd_op_with_count_only(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_GET, "count-only");
    op->req.range.count_only = 1;
    return ETCD_OK;
}

#define REV_FILTER(fn, field, what)                                                                               \
    etcd_code fn(etcd_op *op, int64_t revision)                                                                   \
    {                                                                                                             \
        REQUIRE(op, op->type == ETCD_OP_GET, what);                                                               \
        if (non_negative(op, revision, what) != ETCD_OK)                                                          \
            return ETCD_E_INVALID_ARGUMENT;                                                                       \
        op->req.range.field = revision;                                                                           \
        return ETCD_OK;                                                                                           \
    }

REV_FILTER(etcd_op_with_min_mod_rev, min_mod_revision, "min mod revision")
REV_FILTER(etcd_op_with_max_mod_rev, max_mod_revision, "max mod revision")
REV_FILTER(etcd_op_with_min_create_rev, min_create_revision, "min create revision")
REV_FILTER(etcd_op_with_max_create_rev, max_create_revision, "max create revision")

etcd_code etcd_op_with_prev_kv(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_PUT || op->type == ETCD_OP_DELETE, "prev-kv");
    if (op->type == ETCD_OP_PUT)
        op->req.put.prev_kv = 1;
    else
        op->req.del.prev_kv = 1;
    return ETCD_OK;
}

etcd_code etcd_op_with_lease(etcd_op *op, int64_t lease_id)
{
    REQUIRE(op, op->type == ETCD_OP_PUT, "lease");
    if (op->req.put.ignore_lease && lease_id != 0)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "put: a lease cannot be set with ignore-lease");
    op->req.put.lease = lease_id;
    return ETCD_OK;
}

etcd_code etcd_op_with_ignore_value(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_PUT, "ignore-value");
    if (op->req.put.value.len)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT,
                                "put: ignore-value needs an empty value (got %zu bytes)", op->req.put.value.len);
    op->req.put.ignore_value = 1;
    return ETCD_OK;
}

etcd_code etcd_op_with_ignore_lease(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_PUT, "ignore-lease");
    if (op->req.put.lease)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "put: ignore-lease cannot be used with a lease");
    op->req.put.ignore_lease = 1;
    return ETCD_OK;
}

etcd_code etcd_op_with_physical(etcd_op *op)
{
    REQUIRE(op, op->type == ETCD_OP_COMPACT, "physical");
    op->req.compact.physical = 1;
    return ETCD_OK;
}

etcd_code etcd_op_set_timeout_ms(etcd_op *op, int64_t ms)
{
    if (!op)
        return ETCD_E_INVALID_ARGUMENT;
    if (ms <= 0)
        return etcd_sticky_fail(&op->error, ETCD_E_INVALID_ARGUMENT, "%s: timeout must be > 0 ms (got %lld)",
                                op_name(op), (long long)ms);
    op->timeout_ms = ms;
    return ETCD_OK;
}

etcd_code etcd_op_set_require_leader(etcd_op *op, int on)
{
    if (!op)
        return ETCD_E_INVALID_ARGUMENT;
    op->require_leader = on ? 1 : 0;
    return ETCD_OK;
}

size_t etcd_prefix_range_end(const void *prefix, size_t prefix_len, uint8_t *end)
{
    const uint8_t *p = prefix;
    for (size_t i = prefix_len; i-- > 0;) {
        if (p[i] < 0xff) {
            memcpy(end, p, i);
            end[i] = (uint8_t)(p[i] + 1);
            return i + 1;
        }
    }
    /* Only 0xff bytes (or nothing): no key is greater by prefix, so read to the end. */
    end[0] = 0;
    return 1;
}
