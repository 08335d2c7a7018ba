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

#endif
