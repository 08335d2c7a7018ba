/*
 * Reading a WatchResponse, the one message a watch receives per batch of events. Events are
 * most of what a watching client reads, and protobuf-c copies every key and value into a
 * separate allocation, walking each field through its descriptor. This reads the message's
 * known shape directly: the wire bytes are copied once (into the response's arena, or by the
 * stream into a buffer the response then owns) and the keys and values point into that copy. The structs are protobuf-c's own, so everything downstream
 * reads them as usual.
 *
 * Anything outside that shape (a field this version does not know, a wire type or a length
 * that does not fit, a message field given twice, which protobuf merges) goes to the checked
 * protobuf-c path instead, which then accepts or refuses it as for any other answer.
 */
#ifndef ETCDC_WATCH_DECODE_H
#define ETCDC_WATCH_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <etcdc/error.h>

#include "rpc.pb-c.h"
#include "rpc/arena.h"

/* The message in data, living in *arena (the caller frees the arena), or NULL with *code and
 * *why set (as etcd_decode_bytes). */
Etcdserverpb__WatchResponse *etcd_watch_decode(const uint8_t *data, size_t len, etcd_arena **arena, etcd_code *code,
                                               const char **why);
/* The same for a message in buf, a malloc'd buffer the call takes: on success it is freed
 * with *arena (and the keys and values point into it); on failure it is freed at once. Saves the
 * copy for a message the stream already put together in a buffer of its own. */
Etcdserverpb__WatchResponse *etcd_watch_decode_owned(uint8_t *buf, size_t len, etcd_arena **arena, etcd_code *code,
                                                     const char **why);
/* The direct reader alone: NULL when the message is not of the shape it reads (or memory ran
 * out); the generic path then decides. For the tests. */
Etcdserverpb__WatchResponse *etcd_watch_decode_direct(const uint8_t *data, size_t len, etcd_arena **arena);

#endif
