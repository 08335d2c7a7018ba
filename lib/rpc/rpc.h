/*
 * The contract between the layers of the request path.
 *
 *   service (lib/kv, ...) --> lib/call --invoke(method index)--> retry service (lib/retry)
 *       --> channel service (lib/transport)
 *
 * Every layer below lib/call is a ProtobufCService (the generated service descriptors name the
 * methods), so a wrapper has the same interface as what it wraps and lib/call drives any of
 * them by method index.
 *
 * Our rules for invoke(service, method, input, closure, closure_data):
 *  - closure_data is an etcd_rpc: call options in, result out.
 *  - input must stay valid until the closure has run; it is NULL when rpc->packed carries the
 *    request already serialized.
 *  - the closure runs exactly once: with the unpacked response and rpc->code == ETCD_OK, or with
 *    NULL and a failure code. The response lives in rpc->arena; the closure takes both over
 *    (etcd_rpc_take_arena) and frees the arena, which frees the message.
 *  - it runs on the client's loop thread, or, when the call could not be started, inside invoke.
 */
#ifndef ETCDC_RPC_H
#define ETCDC_RPC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include <etcdc/error.h>
#include <grpc/slice.h>

#include "arena.h"

struct etcd_endpoint;
struct etcd_cancel;

typedef struct etcd_rpc {
    /* Pointers first, flags last: three of these live in each call's one allocation. */
    /* in */
    int64_t deadline_ms;            /* absolute, monotonic clock; 0: none */
    struct etcd_endpoint *endpoint; /* where the channel service sends it (set by the balancer) */
    struct etcd_cancel *cancel;     /* optional: fired when the caller cancels */
    const grpc_slice *packed;       /* optional: the request already serialized (input is NULL) */
    /* optional: memory the layers beneath keep their per-call state in instead of allocating
     * it (see etcd_rpc_state_new); the caller's until the closure has run */
    void *scratch;
    size_t scratch_len;
    /* out */
    char *details;                  /* owned: the status message, or NULL */
    char *endpoint_name;            /* owned: the endpoint the call went to, or NULL */
    etcd_arena *arena;              /* on success: where the response lives (see above) */
    etcd_code code;
    etcd_code cause;                /* what lies under code (see etcd_error_cause()); OK: code */
    int grpc_status;                /* -1: no call was made */
    bool maybe_sent;                /* the request may have reached a server */
    bool outcome_unknown;           /* set by the retry layer: a write that may have been applied */
    /* in */
    bool require_leader;
    bool read_only;                 /* no side effect (e.g. a txn of gets): retry as a read */
} etcd_rpc;

/* Takes the arena holding a successful call's response: the caller now frees it. */
etcd_arena *etcd_rpc_take_arena(etcd_rpc *rpc);

/* Clears the result fields (frees their strings) and sets "no call made". */
void etcd_rpc_reset_result(etcd_rpc *rpc);
/* Moves the result of `from` into `to` (to's old result is freed; from's is reset). */
void etcd_rpc_move_result(etcd_rpc *to, etcd_rpc *from);
/* Sets a failure that happened before any call was made. */
void etcd_rpc_fail(etcd_rpc *rpc, etcd_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What a call gives the layers beneath for their state: a retry attempt in the first
 * ETCD_RPC_SCRATCH_ATTEMPT bytes, its gRPC call in the rest. One allocation per call instead
 * of three, and small enough for malloc's per-thread cache (see lib/call/call.c). */
#define ETCD_RPC_SCRATCH_ATTEMPT 320
#define ETCD_RPC_SCRATCH_BYTES 640

/* A layer's zeroed per-call state: the first `size` bytes of rpc's scratch when they are there
 * (*borrowed true; they are taken from rpc), else allocated. NULL when out of memory. */
void *etcd_rpc_state_new(etcd_rpc *rpc, size_t size, bool *borrowed);
/* Releases it; the scratch is the caller's again (for the next attempt). */
void etcd_rpc_state_free(etcd_rpc *rpc, void *state, bool borrowed);

/* Now, on the monotonic clock, in ms. */
int64_t etcd_now_ms(void);

#endif
