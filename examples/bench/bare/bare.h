/*
 * etcdc-bare-peer: the shared peer workloads (put, get, sget, watch, watchers, keepalive) on gRPC
 * core and the protobuf-c messages alone, without etcdc: one channel, one completion queue
 * driven by the main thread, registered methods, no retries, no balancer. The floor for what a
 * client on gRPC core can cost per request.
 */
#ifndef BARE_H
#define BARE_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.pb-c.h"

/* gopeer's flags, with its defaults. */
typedef struct bare_flags {
    const char *endpoint, *op, *label;
    long long total, warmup, inflight, val_size, seconds;
} bare_flags;

/* 0: parsed; 1: --help was printed; 2: a bad flag (said on stderr). */
int bare_parse_flags(int argc, char **argv, bare_flags *f);

/* Every completion queue tag is one of these; done runs on the thread that drives the queue. */
typedef struct bare_tag {
    void (*done)(struct bare_tag *tag, bool ok);
} bare_tag;

enum { BARE_PUT, BARE_RANGE, BARE_WATCH, BARE_LEASE_GRANT, BARE_LEASE_KEEPALIVE, BARE_N_METHODS };

typedef struct bare_conn {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    void *method[BARE_N_METHODS];   /* registered call handles */
} bare_conn;

/* Connects to host:port and waits for the channel to be ready, as clientv3's DialTimeout does. */
bool bare_conn_open(bare_conn *c, const char *endpoint, int dial_timeout_ms);
void bare_conn_close(bare_conn *c);
/* Runs completions until *stop is set (or, with until_ns, until bare_now_ns() reaches it). False
 * when the queue shut down first. */
bool bare_conn_run(bare_conn *c, const bool *stop);
bool bare_conn_run_until(bare_conn *c, const bool *stop, uint64_t until_ns);
grpc_call *bare_conn_call(bare_conn *c, int method);

/* A bump allocator for unpacking, reset between responses: steady state allocates nothing. */
typedef struct bare_arena bare_arena;
bare_arena *bare_arena_new(size_t first_block);
void bare_arena_reset(bare_arena *a);
void bare_arena_free(bare_arena *a);
ProtobufCAllocator bare_arena_allocator(bare_arena *a);

/* Unpacks a received message into the arena; NULL when it cannot be read or decoded. */
ProtobufCMessage *bare_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, ProtobufCAllocator *alloc);
/* Packs a message into a new slice. */
grpc_slice bare_pack(const ProtobufCMessage *msg);

/* Monotonic nanoseconds; process CPU seconds (user, system). */
uint64_t bare_now_ns(void);
void bare_cpu(double *user_s, double *sys_s);
long bare_maxrss_kb(void);

/* The KV workloads and the watch preload: n requests, inflight at a time, on the one queue. */
typedef enum { KV_PUT, KV_GET, KV_SGET, KV_GRANT } kv_kind;
typedef struct kv_spec {
    kv_kind kind;
    int64_t ttl;                /* grant: the TTL asked for */
    int64_t *ids;               /* grant: the granted IDs, one per request */
    const char *key_prefix;     /* put: keys prefix + %010d */
    const uint8_t *val;
    size_t val_size;
    uint64_t *lat_ns;           /* per request, or NULL */
} kv_spec;
/* Errors go to *errors; false when the workload could not run at all. */
bool bare_kv_run(bare_conn *c, const kv_spec *s, uint64_t n, size_t inflight, uint64_t *errors);
/* One put; its response's header revision in *rev. */
bool bare_put_once(bare_conn *c, const char *key, const uint8_t *val, size_t val_size, int64_t *rev);

/* One bidirectional stream on the queue (stream.c): messages sent in order, each received message
 * handed to on_msg (which must not keep it). */
typedef struct bare_stream bare_stream;
typedef void (*bare_stream_msg_fn)(bare_stream *s, grpc_byte_buffer *msg, void *ud);
bare_stream *bare_stream_open(bare_conn *c, int method, bare_stream_msg_fn on_msg, void *ud);
/* Packs msg and queues it; false once the stream was cancelled or memory ran out. */
bool bare_stream_send(bare_stream *s, const ProtobufCMessage *msg);
void bare_stream_cancel(bare_stream *s);
/* Runs the queue until the stream is over (cancelled or failed, every batch completed) or, with
 * until_ns, until then. False when the queue shut down. */
bool bare_stream_run(bare_stream *s, uint64_t until_ns);
bool bare_stream_failed(const bare_stream *s);
/* Cancels, waits until the stream is over; true when it never failed. */
bool bare_stream_finish(bare_stream *s);
void bare_stream_free(bare_stream *s);

/* The watch workload's timed part: events of one prefix watch from start_rev until n arrived. */
bool bare_watch_run(bare_conn *c, const char *prefix, int64_t start_rev, uint64_t n, size_t val_size,
                    uint64_t *count, uint64_t *errors);

/* The watchers workload's timed part: n watches of prefix%010d on one stream, until the server
 * confirmed every one. */
bool bare_watchers_run(bare_conn *c, const char *prefix, uint64_t n, uint64_t *count, uint64_t *errors);
/* The keepalive workload's timed part: the n leases of ids renewed in bursts, every ttl/3
 * seconds from the start, for seconds; every answer counted. */
bool bare_keepalive_run(bare_conn *c, const int64_t *ids, uint64_t n, int64_t ttl, int64_t seconds,
                        uint64_t *count, uint64_t *errors);

/* gopeer's RESULT line. */
typedef struct bare_result {
    const bare_flags *f;
    uint64_t n, errors, count;
    double wall_s, user_s, sys_s;
    uint64_t *lat_ns;           /* KV: sorted in place; NULL for the stream workloads */
    long maxrss_kb;             /* stream workloads only */
} bare_result;
void bare_print_result(bare_result *r);

#endif
