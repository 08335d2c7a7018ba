/*
 * Decoding a server's message, for unary answers and stream messages alike: a response is
 * untrusted input, so its wire bytes are checked (nesting, lengths: lib/rpc/depth.h) before
 * protobuf-c unpacks them into an arena of their own.
 */
#ifndef ETCDC_DECODE_H
#define ETCDC_DECODE_H

#include <stdbool.h>
#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>
#include <etcdc/error.h>

#include "rpc/arena.h"

/* The message in bb, living in *arena (the caller frees the arena). On failure NULL, *arena
 * NULL, and *why a static message: ETCD_E_PROTOCOL ("response nested deeper than 64 levels",
 * "malformed response", "the response could not be decoded") or ETCD_E_NOMEM in *code. */
ProtobufCMessage *etcd_decode(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, etcd_arena **arena,
                              etcd_code *code, const char **why);
/* The same for bytes already in one piece. */
ProtobufCMessage *etcd_decode_bytes(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                                    etcd_arena **arena, etcd_code *code, const char **why);

/* The bytes of bb in one piece: in place when it is one uncompressed slice, else copied. *hold
 * keeps them alive: unref it when done. False when bb cannot be read. */
bool etcd_byte_buffer_bytes(grpc_byte_buffer *bb, grpc_slice *hold, const uint8_t **data, size_t *len);

/* A buffer a stream keeps for the messages that arrive in several slices, so that each such
 * message is not a fresh allocation of its size (for large messages glibc maps and unmaps
 * them, and the pages fault in again every time). */
typedef struct etcd_flat {
    uint8_t *buf;
    size_t cap;
} etcd_flat;

/* As etcd_byte_buffer_bytes, but a message in several uncompressed slices is copied into flat
 * (grown as needed) instead of a new slice; *hold is then an empty slice. */
bool etcd_byte_buffer_flatten(grpc_byte_buffer *bb, etcd_flat *flat, grpc_slice *hold, const uint8_t **data,
                              size_t *len);
/* When data is flat's buffer, hands that buffer (len bytes of message) to the caller, who
 * frees it, and leaves flat empty; NULL when data lives elsewhere (in a slice). */
uint8_t *etcd_flat_take(etcd_flat *flat, const uint8_t *data, size_t len);
/* Called after each message: drops a buffer grown past what is worth keeping. */
void etcd_flat_trim(etcd_flat *flat);
void etcd_flat_free(etcd_flat *flat);

#endif
