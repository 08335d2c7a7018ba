/* Checked unpacking into an arena. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "decode.h"
#include "rpc/depth.h"

ProtobufCMessage *etcd_decode_bytes(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                                    etcd_arena **arena, etcd_code *code, const char **why)
{
    *arena = NULL;
    *code = ETCD_E_PROTOCOL;
    *why = etcd_response_wire_problem(d, data, len);
    if (*why)
        return NULL;
    /* Unpacked structs take about as much room as their wire form again, plus fixed overhead. */
    etcd_arena *a = etcd_arena_new(2 * len + 512);
    if (!a) {
        *code = ETCD_E_NOMEM;
        *why = "out of memory decoding the response";
        return NULL;
    }
    ProtobufCAllocator alloc = etcd_arena_allocator(a);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &alloc, len, data);
    if (!m) {
        etcd_arena_free(a);
        *why = "the response could not be decoded";
        return NULL;
    }
    *arena = a;
    *code = ETCD_OK;
    return m;
}

ProtobufCMessage *etcd_decode(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, etcd_arena **arena,
                              etcd_code *code, const char **why)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb)) {
        *arena = NULL;
        *code = ETCD_E_PROTOCOL;
        *why = "the response could not be read";
        return NULL;
    }
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m = etcd_decode_bytes(d, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), arena, code, why);
    grpc_slice_unref(s);
    return m;
}
