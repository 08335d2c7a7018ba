/* protobuf-c messages to and from gRPC byte buffers. */
#include <grpc/byte_buffer_reader.h>

#include "bare.h"

grpc_slice bare_pack(const ProtobufCMessage *msg)
{
    grpc_slice s = grpc_slice_malloc(protobuf_c_message_get_packed_size(msg));
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    return s;
}

ProtobufCMessage *bare_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, ProtobufCAllocator *alloc)
{
    grpc_byte_buffer_reader r;
    if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    /* One slice, as a small response arrives, is only referenced; more are joined. */
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, alloc, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}
