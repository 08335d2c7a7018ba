/*
 * Bounds on message nesting, and a check of wire bytes against them before they are unpacked.
 *
 * protobuf-c unpacks (and packs) by recursing once per nesting level, with no bound: a server
 * answer nested a few thousand levels deep (a TxnResponse of some 34 KB) would overflow the loop
 * thread's stack. The check below walks the bytes without recursing, guided by the message
 * descriptors, so such an answer is refused as a protocol error instead.
 *
 * Why 64: legitimate etcd answers are shallow. A RangeResponse and its KeyValues are 2 levels;
 * each txn level adds 2 (TxnResponse, then ResponseOp), so a txn nested k levels answers with
 * at most 2k + 2 levels. 64 leaves room for 31 nested txns, far more than any sane use, while
 * 64 protobuf-c frames are a few tens of KB of stack at most.
 */
#ifndef ETCDC_DEPTH_H
#define ETCDC_DEPTH_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* The deepest nesting a response may have; the top-level message is level 1. */
#define ETCD_MAX_MESSAGE_DEPTH 64
/* The deepest txn nesting a request may have (the outer txn is level 1): the answer to such a
 * txn, 2k + 2 levels deep, always fits ETCD_MAX_MESSAGE_DEPTH. */
#define ETCD_MAX_TXN_NESTING ((ETCD_MAX_MESSAGE_DEPTH - 2) / 2)
/* The deepest TxnResponse an answer within ETCD_MAX_MESSAGE_DEPTH can hold (level k sits at
 * message depth 2k - 1): what building views of txn sub-responses must cope with. */
#define ETCD_MAX_RESPONSE_TXN_LEVELS ((ETCD_MAX_MESSAGE_DEPTH + 1) / 2)
/* The largest bound etcd_wire_check() accepts: the size of its fixed stack. */
#define ETCD_WIRE_DEPTH_CAP 256

typedef enum etcd_wire_verdict {
    ETCD_WIRE_OK = 0,
    ETCD_WIRE_TOO_DEEP,     /* a message field nests deeper than the bound */
    ETCD_WIRE_MALFORMED,    /* truncated varint or length, bad wire type, field number 0 */
} etcd_wire_verdict;

/* Scans `len` bytes meant to be a message of type `d`: nesting stays within max_depth levels
 * (capped at ETCD_WIRE_DEPTH_CAP) and every length fits inside its enclosing message. Only
 * fields the descriptor types as messages are entered; unknown fields, bytes and strings are
 * skipped whatever they contain. Iterative: uses a fixed amount of stack. */
etcd_wire_verdict etcd_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                                  unsigned max_depth);

/* The check for a server's answer, with ETCD_MAX_MESSAGE_DEPTH: NULL when it may be unpacked,
 * else a static message for the caller's ETCD_E_PROTOCOL ("response nested deeper than 64
 * levels", "malformed response"). */
const char *etcd_response_wire_problem(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len);

#endif
