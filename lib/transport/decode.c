/* Checked unpacking into an arena. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "rpc/depth.h"

/* With the arena and block headers this stays under glibc's tcache limit (1,032 bytes). */
#define SMALL_ARENA 960

ProtobufCMessage *etcd_decode_bytes(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                                    etcd_arena **arena, etcd_code *code, const char **why)
{
    *arena = NULL;
    *code = ETCD_E_PROTOCOL;
    *why = etcd_response_wire_problem(d, data, len);
    if (*why)
        return NULL;
    /* Unpacked structs take about as much room as their wire form again, plus fixed overhead.
     * A small answer's arena stays within malloc's per-thread cache (requests up to about 1 KB),
     * which serves it far cheaper: a value of a few hundred bytes must not cost a trip through
     * the heap; what does not fit goes to a second block. */
    size_t hint = 2 * len + 512;
    if (hint > SMALL_ARENA && len <= SMALL_ARENA / 2)
        hint = SMALL_ARENA;
    etcd_arena *a = etcd_arena_new(hint);
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

bool etcd_byte_buffer_bytes(grpc_byte_buffer *bb, grpc_slice *hold, const uint8_t **data, size_t *len)
{
    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
        bb->data.raw.slice_buffer.count == 1) {
        *hold = grpc_slice_ref(bb->data.raw.slice_buffer.slices[0]);
    } else {
        grpc_byte_buffer_reader r;
        if (!grpc_byte_buffer_reader_init(&r, bb))
            return false;
        *hold = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    *data = GRPC_SLICE_START_PTR(*hold);
    *len = GRPC_SLICE_LENGTH(*hold);
    return true;
}

/* Kept between messages up to this size; a larger one is freed after its message. */
#define FLAT_KEEP (4u << 20)

bool etcd_byte_buffer_flatten(grpc_byte_buffer *bb, etcd_flat *flat, grpc_slice *hold, const uint8_t **data,
                              size_t *len)
{
    if (bb->type != GRPC_BB_RAW || bb->data.raw.compression != GRPC_COMPRESS_NONE ||
        bb->data.raw.slice_buffer.count == 1)
        return etcd_byte_buffer_bytes(bb, hold, data, len);
    const grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;
    size_t n = sb->length;
    if (n > flat->cap) {
        uint8_t *nb = realloc(flat->buf, n);
        if (!nb)
            return false;
        flat->buf = nb;
        flat->cap = n;
    }
    size_t at = 0;
    for (size_t i = 0; i < sb->count; i++) {
        size_t sl = GRPC_SLICE_LENGTH(sb->slices[i]);
        memcpy(flat->buf + at, GRPC_SLICE_START_PTR(sb->slices[i]), sl);
        at += sl;
    }
    *hold = grpc_empty_slice();
    *data = flat->buf;
    *len = at;
    return true;
}

uint8_t *etcd_flat_take(etcd_flat *flat, const uint8_t *data, size_t len)
{
    if (!flat->buf || data != flat->buf)
        return NULL;
    uint8_t *buf = flat->buf;
    /* Grown for a larger message before: give back the rest (glibc shrinks in place). */
    if (flat->cap > len + len / 4) {
        uint8_t *nb = realloc(buf, len ? len : 1);
        if (nb)
            buf = nb;
    }
    flat->buf = NULL;
    flat->cap = 0;
    return buf;
}

void etcd_flat_trim(etcd_flat *flat)
{
    if (flat->cap > FLAT_KEEP)
        etcd_flat_free(flat);
}

void etcd_flat_free(etcd_flat *flat)
{
    free(flat->buf);
    flat->buf = NULL;
    flat->cap = 0;
}

ProtobufCMessage *etcd_decode(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, etcd_arena **arena,
                              etcd_code *code, const char **why)
{
    grpc_slice hold;
    const uint8_t *data;
    size_t len;
    if (!etcd_byte_buffer_bytes(bb, &hold, &data, &len)) {
        *arena = NULL;
        *code = ETCD_E_PROTOCOL;
        *why = "the response could not be read";
        return NULL;
    }
    ProtobufCMessage *m = etcd_decode_bytes(d, data, len, arena, code, why);
    grpc_slice_unref(hold);
    return m;
}
