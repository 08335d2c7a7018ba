/* Compares and transactions. A txn keeps its TxnRequest current as compares and ops are added. */
#include <stdlib.h>
#include <string.h>

#include "error/error_internal.h"
#include "op_internal.h"
#include "rpc/depth.h"

/* ---- compares ---- */

static etcd_cmp *cmp_new(const void *key, size_t key_len, etcd_cmp_result result,
                         Etcdserverpb__Compare__CompareTarget target)
{
    etcd_cmp *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    etcdserverpb__compare__init(&c->msg);
    c->msg.target = target;
    c->msg.result = (Etcdserverpb__Compare__CompareResult)result;
    if ((int)result < ETCD_CMP_EQUAL || (int)result > ETCD_CMP_NOT_EQUAL)
        etcd_sticky_fail(&c->error, ETCD_E_INVALID_ARGUMENT, "compare: unknown result %d", (int)result);
    if (key_len == 0 || !key) {
        etcd_sticky_fail(&c->error, ETCD_E_INVALID_ARGUMENT, "compare: key is empty");
        return c;
    }
    c->msg.key.data = malloc(key_len);
    if (!c->msg.key.data) {
        etcd_cmp_free(c);
        return NULL;
    }
    memcpy(c->msg.key.data, key, key_len);
    c->msg.key.len = key_len;
    return c;
}

etcd_cmp *etcd_cmp_value(const void *key, size_t key_len, etcd_cmp_result result, const void *value,
                         size_t value_len)
{
    etcd_cmp *c = cmp_new(key, key_len, result, ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE);
    if (!c)
        return NULL;
    c->msg.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE;
    c->msg.value.len = 0;
    c->msg.value.data = NULL;
    if (value_len && !value) {
        etcd_sticky_fail(&c->error, ETCD_E_INVALID_ARGUMENT, "compare: value is NULL but value_len is %zu",
                         value_len);
    } else if (value_len) {
        c->msg.value.data = malloc(value_len);
        if (!c->msg.value.data) {
            etcd_cmp_free(c);
            return NULL;
        }
        memcpy(c->msg.value.data, value, value_len);
        c->msg.value.len = value_len;
    }
    return c;
}

#define INT_CMP(fn, tgt, ucase, field)                                                                           \
    etcd_cmp *fn(const void *key, size_t key_len, etcd_cmp_result result, int64_t v)                           \
    {                                                                                                            \
        etcd_cmp *c = cmp_new(key, key_len, result, ETCDSERVERPB__COMPARE__COMPARE_TARGET__##tgt);             \
        if (c) {                                                                                                 \
            c->msg.target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_##ucase;                            \
            c->msg.field = v;                                                                                    \
        }                                                                                                        \
        return c;                                                                                                \
    }

INT_CMP(etcd_cmp_version, VERSION, VERSION, version)
INT_CMP(etcd_cmp_create_rev, CREATE, CREATE_REVISION, create_revision)
INT_CMP(etcd_cmp_mod_rev, MOD, MOD_REVISION, mod_revision)
INT_CMP(etcd_cmp_lease, LEASE, LEASE, lease)

static etcd_code cmp_set_end(etcd_cmp *c, const void *end, size_t len)
{
    free(c->msg.range_end.data);
    c->msg.range_end.data = NULL;
    c->msg.range_end.len = 0;
    if (!len)
        return ETCD_OK;
    c->msg.range_end.data = malloc(len);
    if (!c->msg.range_end.data)
        return etcd_sticky_fail(&c->error, ETCD_E_NOMEM, "compare: out of memory");
    memcpy(c->msg.range_end.data, end, len);
    c->msg.range_end.len = len;
    return ETCD_OK;
}

etcd_code etcd_cmp_with_range_end(etcd_cmp *cmp, const void *end, size_t end_len)
{
    if (!cmp)
        return ETCD_E_INVALID_ARGUMENT;
    if (end_len && !end)
        return etcd_sticky_fail(&cmp->error, ETCD_E_INVALID_ARGUMENT, "compare: range end is NULL but its length is %zu",
                                end_len);
    return cmp_set_end(cmp, end, end_len);
}

etcd_code etcd_cmp_with_prefix(etcd_cmp *cmp)
{
    if (!cmp)
        return ETCD_E_INVALID_ARGUMENT;
    if (cmp->msg.key.len == 0)
        return etcd_sticky_fail(&cmp->error, ETCD_E_INVALID_ARGUMENT, "compare: key is empty");
    uint8_t *end = malloc(cmp->msg.key.len);
    if (!end)
        return etcd_sticky_fail(&cmp->error, ETCD_E_NOMEM, "compare: out of memory");
    size_t n = etcd_prefix_range_end(cmp->msg.key.data, cmp->msg.key.len, end);
    etcd_code rc = cmp_set_end(cmp, end, n);
    free(end);
    return rc;
}

void etcd_cmp_free(etcd_cmp *cmp)
{
    if (!cmp)
        return;
    free(cmp->msg.key.data);
    free(cmp->msg.range_end.data);
    if (cmp->msg.target_union_case == ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE)
        free(cmp->msg.value.data);
    etcd_sticky_clear(&cmp->error);
    free(cmp);
}

/* ---- transactions ---- */

etcd_txn *etcd_txn_new(void)
{
    etcd_txn *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    etcdserverpb__txn_request__init(&t->req);
    return t;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 4;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = n;
    return true;
}

etcd_code etcd_txn_if(etcd_txn *txn, etcd_cmp *cmp)
{
    if (!txn) {
        etcd_cmp_free(cmp);
        return ETCD_E_INVALID_ARGUMENT;
    }
    if (!cmp)
        return etcd_sticky_fail(&txn->error, ETCD_E_NOMEM, "txn: compare is NULL (out of memory?)");
    if (cmp->error.code != ETCD_OK) {
        etcd_code rc = etcd_sticky_fail(&txn->error, cmp->error.code, "txn: %s", cmp->error.message);
        etcd_cmp_free(cmp);
        return rc;
    }
    size_t n = txn->req.n_compare;
    size_t cap = txn->cmp_cap;
    /* cmps and req.compare grow together: same capacity. */
    if (!grow((void **)&txn->cmps, &cap, n + 1, sizeof *txn->cmps) ||
        !grow((void **)&txn->req.compare, &txn->cmp_cap, n + 1, sizeof *txn->req.compare)) {
        etcd_cmp_free(cmp);
        return etcd_sticky_fail(&txn->error, ETCD_E_NOMEM, "txn: out of memory");
    }
    txn->cmps[n] = cmp;
    txn->req.compare[n] = &cmp->msg;
    txn->req.n_compare = n + 1;
    return ETCD_OK;
}

/* The txn levels in `txn` (1 when it nests none), or some number over `limit` as soon as that is
 * known: the walk recurses at most `limit` deep. Packing recurses once per level, as does the
 * answer's unpacking, whose depth the transport bounds: ETCD_MAX_TXN_NESTING keeps every answer
 * within that bound. */
static unsigned txn_levels(const etcd_txn *txn, unsigned limit)
{
    unsigned deepest = 0;
    for (int branch = 0; branch < 2; branch++) {
        etcd_op *const *ops = branch ? txn->else_ops : txn->then_ops;
        size_t n = branch ? txn->req.n_failure : txn->req.n_success;
        for (size_t i = 0; i < n; i++) {
            if (ops[i]->type != ETCD_OP_TXN)
                continue;
            if (limit <= 1)
                return limit + 1;
            unsigned d = txn_levels(ops[i]->txn, limit - 1);
            if (d > deepest)
                deepest = d;
            if (deepest + 1 > limit)
                return deepest + 1;
        }
    }
    return deepest + 1;
}

/* Adds op to one branch: the owned op array, the RequestOp wrappers, and the request's pointers. */
static etcd_code add_op(etcd_txn *txn, etcd_op *op, etcd_op ***ops, Etcdserverpb__RequestOp **wrap,
                        Etcdserverpb__RequestOp ***req_ops, size_t *n_req, size_t *cap, const char *branch)
{
    if (!txn) {
        etcd_op_free(op);
        return ETCD_E_INVALID_ARGUMENT;
    }
    if (!op)
        return etcd_sticky_fail(&txn->error, ETCD_E_NOMEM, "txn %s: op is NULL (out of memory?)", branch);
    etcd_error *e = NULL;
    if (etcd_op_check(op, &e) != ETCD_OK) {
        etcd_code rc = etcd_sticky_fail(&txn->error, etcd_error_code(e), "txn %s: %s", branch, etcd_error_message(e));
        etcd_error_free(e);
        etcd_op_free(op);
        return rc;
    }
    if (op->type == ETCD_OP_COMPACT) {
        etcd_op_free(op);
        return etcd_sticky_fail(&txn->error, ETCD_E_INVALID_ARGUMENT, "txn %s: compact cannot be part of a txn", branch);
    }
    if (op->type == ETCD_OP_TXN && txn_levels(op->txn, ETCD_MAX_TXN_NESTING - 1) > ETCD_MAX_TXN_NESTING - 1) {
        etcd_op_free(op);
        return etcd_sticky_fail(&txn->error, ETCD_E_INVALID_ARGUMENT, "txn %s: txns nested deeper than %d levels",
                                branch, ETCD_MAX_TXN_NESTING);
    }
    size_t n = *n_req;
    size_t c1 = *cap, c2 = *cap;
    if (!grow((void **)ops, &c1, n + 1, sizeof **ops) || !grow((void **)wrap, &c2, n + 1, sizeof **wrap) ||
        !grow((void **)req_ops, cap, n + 1, sizeof **req_ops)) {
        etcd_op_free(op);
        return etcd_sticky_fail(&txn->error, ETCD_E_NOMEM, "txn: out of memory");
    }
    (*ops)[n] = op;
    /* The wrappers may have moved: re-point every request entry. */
    for (size_t i = 0; i < n; i++)
        (*req_ops)[i] = &(*wrap)[i];
    etcd_op_to_request_op(op, &(*wrap)[n]);
    (*req_ops)[n] = &(*wrap)[n];
    *n_req = n + 1;
    return ETCD_OK;
}

etcd_code etcd_txn_then(etcd_txn *txn, etcd_op *op)
{
    if (!txn)
        return add_op(NULL, op, NULL, NULL, NULL, NULL, NULL, "then");
    return add_op(txn, op, &txn->then_ops, &txn->then_wrap, &txn->req.success, &txn->req.n_success, &txn->then_cap,
                  "then");
}

etcd_code etcd_txn_else(etcd_txn *txn, etcd_op *op)
{
    if (!txn)
        return add_op(NULL, op, NULL, NULL, NULL, NULL, NULL, "else");
    return add_op(txn, op, &txn->else_ops, &txn->else_wrap, &txn->req.failure, &txn->req.n_failure, &txn->else_cap,
                  "else");
}

etcd_code etcd_txn_check(const etcd_txn *txn, etcd_error **err)
{
    if (!txn)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "txn is NULL");
    etcd_code rc = etcd_sticky_report(&txn->error, err);
    if (rc != ETCD_OK)
        return rc;
    /* Checked again as a whole: a txn nested in another can still grow through its own handle. */
    if (txn_levels(txn, ETCD_MAX_TXN_NESTING) > ETCD_MAX_TXN_NESTING)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "txn: txns nested deeper than %d levels",
                              ETCD_MAX_TXN_NESTING);
    return ETCD_OK;
}

void etcd_txn_free(etcd_txn *txn)
{
    if (!txn)
        return;
    for (size_t i = 0; i < txn->req.n_compare; i++)
        etcd_cmp_free(txn->cmps[i]);
    for (size_t i = 0; i < txn->req.n_success; i++)
        etcd_op_free(txn->then_ops[i]);
    for (size_t i = 0; i < txn->req.n_failure; i++)
        etcd_op_free(txn->else_ops[i]);
    free(txn->cmps);
    free(txn->req.compare);
    free(txn->then_ops);
    free(txn->then_wrap);
    free(txn->req.success);
    free(txn->else_ops);
    free(txn->else_wrap);
    free(txn->req.failure);
    etcd_sticky_clear(&txn->error);
    free(txn);
}

bool etcd_txn_is_read_only(const etcd_txn *txn)
{
    for (int branch = 0; branch < 2; branch++) {
        etcd_op *const *ops = branch ? txn->else_ops : txn->then_ops;
        size_t n = branch ? txn->req.n_failure : txn->req.n_success;
        for (size_t i = 0; i < n; i++) {
            if (ops[i]->type == ETCD_OP_TXN ? !etcd_txn_is_read_only(ops[i]->txn) : ops[i]->type != ETCD_OP_GET)
                return false;
        }
    }
    return true;
}
