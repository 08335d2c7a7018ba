/*
 * Internal shape of ops, compares and txns. An op *is* its protobuf request, built in place and
 * ready to send: sending reads it without building or copying anything.
 */
#ifndef ETCDC_OP_INTERNAL_H
#define ETCDC_OP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <grpc/slice.h>
#include <etcdc/op.h>
#include <etcdc/txn.h>

#include "rpc.pb-c.h"

/* The first error met while building, kept for the send. */
typedef struct etcd_sticky {
    etcd_code code;
    char *message;
} etcd_sticky;

etcd_code etcd_sticky_fail(etcd_sticky *s, etcd_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
etcd_code etcd_sticky_report(const etcd_sticky *s, etcd_error **err);
void etcd_sticky_clear(etcd_sticky *s);

struct etcd_op {
    etcd_op_type type;
    union {
        Etcdserverpb__RangeRequest range;
        Etcdserverpb__PutRequest put;
        Etcdserverpb__DeleteRangeRequest del;
        Etcdserverpb__CompactionRequest compact;
    } req;
    etcd_txn *txn;          /* ETCD_OP_TXN */
    bool txn_borrowed;      /* a stack op wrapping a caller's txn: do not free it */
    bool prefix;            /* range end follows the key as a prefix end */
    int64_t timeout_ms;     /* 0: client default */
    int require_leader;     /* -1: client default */
    bool borrowed;          /* etcd_op_borrow(): one call, never cached */
    etcd_sticky error;
    /* The request packed by its first async send, sent again as is by the next: an op that is
     * sent many times is packed once. Cleared by every setter. */
    atomic_int pack_state;  /* 0 none, 1 being packed, 2 `packed` is valid */
    grpc_slice packed;
};

struct etcd_cmp {
    Etcdserverpb__Compare msg;
    etcd_sticky error;
};

struct etcd_txn {
    Etcdserverpb__TxnRequest req;
    etcd_op **then_ops, **else_ops;          /* owned; req.success/failure point into them */
    Etcdserverpb__RequestOp *then_wrap, *else_wrap;
    size_t then_cap, else_cap, cmp_cap;
    etcd_cmp **cmps;                         /* owned; req.compare points at their messages */
    etcd_sticky error;
};

/* Whether a txn only reads (every op in both branches, nested txns included, is a get). */
bool etcd_txn_is_read_only(const etcd_txn *txn);
/* "get", "put", "delete", "txn" or "compact": for messages. */
const char *etcd_op_type_name(etcd_op_type type);
/* The request message to send for an op. */
const ProtobufCMessage *etcd_op_message(const etcd_op *op);
/* The op's packed request, packed now if it is not yet; NULL when it is not kept (txns,
 * borrowed ops, or another thread packing it right now): the caller packs its own. */
const grpc_slice *etcd_op_packed(const etcd_op *op);
/* A stack get / put / delete op whose request points at the caller's bytes (no copy), for the
 * one-shot calls. Release with etcd_op_borrow_release(), never etcd_op_free(); no setter may
 * be used on it. Invalid input is recorded as for the constructors. */
void etcd_op_borrow(etcd_op *op, etcd_op_type type, const void *key, size_t key_len, const void *value,
                    size_t value_len);
void etcd_op_borrow_release(etcd_op *op);
/* A stack op that sends `txn` without owning it (etcd_kv_txn()). */
void etcd_op_wrap_txn(etcd_op *op, const etcd_txn *txn);
/* Fills a RequestOp that points at op's request (op must be get/put/delete/txn). */
void etcd_op_to_request_op(etcd_op *op, Etcdserverpb__RequestOp *out);

#endif
