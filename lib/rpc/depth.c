/* Nesting and framing check of protobuf wire bytes, without recursion. */
#include <stdbool.h>

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "depth.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Reads a varint of at most 10 bytes ending before `end`. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*p == end)
            return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;                       /* an 11th byte would be over 64 bits */
}

typedef struct frame {
    const ProtobufCMessageDescriptor *desc;
    const uint8_t *end;                 /* where this message's bytes end */
} frame;

etcd_wire_verdict etcd_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                                  unsigned max_depth)
{
    if (max_depth > ETCD_WIRE_DEPTH_CAP)
        max_depth = ETCD_WIRE_DEPTH_CAP;
    if (max_depth == 0)
        return ETCD_WIRE_TOO_DEEP;
    if (len == 0)
        return ETCD_WIRE_OK;            /* an empty message: all fields at their defaults */
    if (!data)
        return ETCD_WIRE_MALFORMED;
    frame stack[ETCD_WIRE_DEPTH_CAP];
    unsigned depth = 1;                 /* frames in use; the top-level message is level 1 */
    stack[0] = (frame){d, data + len};
    const uint8_t *p = data;
    for (;;) {
        /* Messages that end here are done: back to their parents. */
        while (p == stack[depth - 1].end) {
            if (--depth == 0)
                return ETCD_WIRE_OK;
        }
        const uint8_t *end = stack[depth - 1].end;
        uint64_t tag;
        if (!read_varint(&p, end, &tag) || tag > UINT32_MAX || (tag >> 3) == 0)
            return ETCD_WIRE_MALFORMED;
        uint64_t skip;
        switch (tag & 7) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (!read_varint(&p, end, &skip))
                return ETCD_WIRE_MALFORMED;
            continue;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            skip = 8;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            skip = 4;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
            if (!read_varint(&p, end, &skip) || skip > (uint64_t)(end - p))
                return ETCD_WIRE_MALFORMED;
            const ProtobufCFieldDescriptor *f =
                stack[depth - 1].desc ? protobuf_c_message_descriptor_get_field(stack[depth - 1].desc, (unsigned)(tag >> 3))
                                      : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == max_depth)
                    return ETCD_WIRE_TOO_DEEP;
                stack[depth++] = (frame){f->descriptor, p + skip};
                continue;
            }
            break;
        }
        default:
            /* Groups (3, 4) are not proto3 and protobuf-c refuses them; 6 and 7 do not exist. */
            return ETCD_WIRE_MALFORMED;
        }
        if (skip > (uint64_t)(end - p))
            return ETCD_WIRE_MALFORMED;
        p += skip;
    }
}

/* The deepest nesting the schema of d allows, or UINT_MAX when its message fields form a cycle
 * (TxnResponse -> ResponseOp -> TxnResponse). Depth-first over the descriptors. */
static unsigned schema_depth(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **path, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (path[i] == d)
            return UINT_MAX;
    if (n >= ETCD_MAX_MESSAGE_DEPTH)
        return UINT_MAX;
    path[n] = d;
    unsigned deepest = 1;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        unsigned sub = schema_depth(fd->descriptor, path, n + 1);
        if (sub == UINT_MAX)
            return UINT_MAX;
        if (sub + 1 > deepest)
            deepest = sub + 1;
    }
    return deepest;
}

/* Whether a message of type d can be unpacked without the check: its schema has no cycle and
 * nests no deeper than the bound, so protobuf-c's recursion is bounded by the schema itself
 * (and protobuf-c refuses truncated data on its own). Remembered per descriptor: the check is
 * a second pass over every watch event otherwise. */
static bool schema_bounded(const ProtobufCMessageDescriptor *d)
{
    enum { SLOTS = 64 };
    static _Atomic(const ProtobufCMessageDescriptor *) keys[SLOTS];
    static atomic_int vals[SLOTS]; /* 0 unknown, 1 bounded, 2 not */
    size_t h = ((uintptr_t)d >> 4) % SLOTS;
    for (size_t i = 0; i < SLOTS; i++) {
        size_t slot = (h + i) % SLOTS;
        const ProtobufCMessageDescriptor *k = atomic_load_explicit(&keys[slot], memory_order_acquire);
        if (k == d) {
            int v = atomic_load_explicit(&vals[slot], memory_order_acquire);
            if (v)
                return v == 1;
            break;
        }
        if (!k) {
            const ProtobufCMessageDescriptor *path[ETCD_MAX_MESSAGE_DEPTH];
            bool bounded = schema_depth(d, path, 0) <= ETCD_MAX_MESSAGE_DEPTH;
            const ProtobufCMessageDescriptor *expected = NULL;
            if (atomic_compare_exchange_strong(&keys[slot], &expected, d) || expected == d)
                atomic_store_explicit(&vals[slot], bounded ? 1 : 2, memory_order_release);
            return bounded;
        }
    }
    const ProtobufCMessageDescriptor *path[ETCD_MAX_MESSAGE_DEPTH];
    return schema_depth(d, path, 0) <= ETCD_MAX_MESSAGE_DEPTH;
}

const char *etcd_response_wire_problem(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len)
{
    if (schema_bounded(d))
        return NULL;
    switch (etcd_wire_check(d, data, len, ETCD_MAX_MESSAGE_DEPTH)) {
    case ETCD_WIRE_OK:
        return NULL;
    case ETCD_WIRE_TOO_DEEP:
        return "response nested deeper than " STR(ETCD_MAX_MESSAGE_DEPTH) " levels";
    case ETCD_WIRE_MALFORMED:
        break;
    }
    return "malformed response";
}
