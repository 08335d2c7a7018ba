/* The direct WatchResponse reader (see watch_decode.h). Field numbers are etcd's wire facts. */
#include <stdlib.h>
#include <string.h>

#include "transport/decode.h"
#include "watch_decode.h"

enum { WT_VARINT = 0, WT_LEN = 2 };

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static bool rd_varint_long(rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return false;
        uint8_t b = *r->p++;
        /* The tenth byte has room for bit 63 only; protobuf-c drops the rest too. */
        v |= i < 9 ? (uint64_t)(b & 0x7f) << (7 * i) : (uint64_t)(b & 0x01) << 63;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false; /* longer than ten bytes */
}

/* Tags, lengths under 128 and small numbers are one byte: most varints of an event. */
static inline bool rd_varint(rd *r, uint64_t *out)
{
    if (r->p < r->end && !(*r->p & 0x80)) {
        *out = *r->p++;
        return true;
    }
    return rd_varint_long(r, out);
}

static bool rd_tag(rd *r, uint32_t *field, unsigned *wire)
{
    uint64_t t;
    if (!rd_varint(r, &t) || t > UINT32_MAX || (t >> 3) == 0)
        return false;
    *field = (uint32_t)(t >> 3);
    *wire = (unsigned)(t & 7);
    return true;
}

static bool rd_len(rd *r, rd *sub)
{
    uint64_t n;
    if (!rd_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
}

static bool rd_bytes(rd *r, ProtobufCBinaryData *b)
{
    rd sub;
    if (!rd_len(r, &sub))
        return false;
    b->len = (size_t)(sub.end - sub.p);
    b->data = b->len ? (uint8_t *)sub.p : NULL;
    return true;
}

/* One field of a known number: a varint or a length-delimited value, as the schema says. */
#define EXPECT(wire, want)                                                                                    \
    do {                                                                                                      \
        if ((wire) != (want))                                                                                 \
            return false;                                                                                     \
    } while (0)

/* Copied by assignment: the generated init functions are calls, once per event. */
static const Mvccpb__KeyValue kv_init = MVCCPB__KEY_VALUE__INIT;
static const Mvccpb__Event event_init = MVCCPB__EVENT__INIT;

/* An event and its key-value, the common case, in one piece of the arena. */
typedef struct event_kv {
    Mvccpb__Event ev;
    Mvccpb__KeyValue kv;
} event_kv;

static bool read_kv(rd r, Mvccpb__KeyValue *kv)
{
    *kv = kv_init;
    while (r.p < r.end) {
        uint32_t f;
        unsigned w;
        uint64_t v;
        if (!rd_tag(&r, &f, &w))
            return false;
        switch (f) {
        case 1:
            EXPECT(w, WT_LEN);
            if (!rd_bytes(&r, &kv->key))
                return false;
            break;
        case 5:
            EXPECT(w, WT_LEN);
            if (!rd_bytes(&r, &kv->value))
                return false;
            break;
        case 2:
        case 3:
        case 4:
        case 6:
            EXPECT(w, WT_VARINT);
            if (!rd_varint(&r, &v))
                return false;
            *(f == 2 ? &kv->create_revision : f == 3 ? &kv->mod_revision : f == 4 ? &kv->version : &kv->lease) =
                (int64_t)v;
            break;
        default:
            return false;
        }
    }
    return true;
}

static bool read_event(rd r, event_kv *ek, etcd_arena *a)
{
    Mvccpb__Event *ev = &ek->ev;
    *ev = event_init;
    bool own_used = false;
    while (r.p < r.end) {
        uint32_t f;
        unsigned w;
        uint64_t v;
        rd sub;
        if (!rd_tag(&r, &f, &w))
            return false;
        switch (f) {
        case 1:
            EXPECT(w, WT_VARINT);
            if (!rd_varint(&r, &v))
                return false;
            ev->type = (Mvccpb__Event__EventType)(int32_t)(uint32_t)v;
            break;
        case 2:
        case 3: {
            EXPECT(w, WT_LEN);
            Mvccpb__KeyValue **slot = f == 2 ? &ev->kv : &ev->prev_kv;
            if (*slot || !rd_len(&r, &sub)) /* twice: protobuf merges them */
                return false;
            if (!own_used) {
                *slot = &ek->kv;
                own_used = true;
            } else {
                *slot = etcd_arena_alloc(a, sizeof **slot);
            }
            if (!*slot || !read_kv(sub, *slot))
                return false;
            break;
        }
        default:
            return false;
        }
    }
    return true;
}

static bool read_header(rd r, Etcdserverpb__ResponseHeader *h)
{
    etcdserverpb__response_header__init(h);
    while (r.p < r.end) {
        uint32_t f;
        unsigned w;
        uint64_t v;
        if (!rd_tag(&r, &f, &w) || f < 1 || f > 4 || w != WT_VARINT || !rd_varint(&r, &v))
            return false;
        if (f == 1)
            h->cluster_id = v;
        else if (f == 2)
            h->member_id = v;
        else if (f == 3)
            h->revision = (int64_t)v;
        else
            h->raft_term = v;
    }
    return true;
}

/* Walks the top level once to count the events (and to refuse early what is not ours). */
static bool count_events(rd r, size_t *n)
{
    *n = 0;
    while (r.p < r.end) {
        uint32_t f;
        unsigned w;
        uint64_t v;
        rd sub;
        if (!rd_tag(&r, &f, &w))
            return false;
        if (w == WT_VARINT && f >= 2 && f <= 7 && f != 6) {
            if (!rd_varint(&r, &v))
                return false;
        } else if (w == WT_LEN && (f == 1 || f == 6 || f == 11)) {
            if (!rd_len(&r, &sub))
                return false;
            *n += f == 11;
        } else {
            return false;
        }
    }
    return true;
}

static bool read_response(rd r, Etcdserverpb__WatchResponse *m, size_t n_events, etcd_arena *a)
{
    etcdserverpb__watch_response__init(m);
    if (n_events) {
        m->events = etcd_arena_alloc(a, n_events * sizeof *m->events);
        if (!m->events)
            return false;
    }
    while (r.p < r.end) {
        uint32_t f;
        unsigned w;
        uint64_t v;
        rd sub;
        if (!rd_tag(&r, &f, &w))
            return false;
        if (w == WT_VARINT) {
            if (!rd_varint(&r, &v))
                return false;
            if (f == 2)
                m->watch_id = (int64_t)v;
            else if (f == 3)
                m->created = v != 0;
            else if (f == 4)
                m->canceled = v != 0;
            else if (f == 5)
                m->compact_revision = (int64_t)v;
            else if (f == 7)
                m->fragment = v != 0;
            else
                return false;
            continue;
        }
        if (w != WT_LEN || !rd_len(&r, &sub))
            return false;
        if (f == 1) {
            if (m->header) /* twice: protobuf merges them */
                return false;
            m->header = etcd_arena_alloc(a, sizeof *m->header);
            if (!m->header || !read_header(sub, m->header))
                return false;
        } else if (f == 6) {
            size_t n = (size_t)(sub.end - sub.p);
            char *s = etcd_arena_alloc(a, n + 1);
            if (!s)
                return false;
            memcpy(s, sub.p, n);
            s[n] = '\0';
            m->cancel_reason = s;
        } else if (f == 11) {
            if (m->n_events == n_events)
                return false;
            event_kv *ek = etcd_arena_alloc(a, sizeof *ek);
            if (!ek || !read_event(sub, ek, a))
                return false;
            m->events[m->n_events++] = &ek->ev;
        } else {
            return false;
        }
    }
    return true;
}

/* Reads data; the keys and values point into `own` when given (data itself, malloc'd, adopted
 * by the arena only on success), else into a copy in the arena. */
static Etcdserverpb__WatchResponse *decode_direct(const uint8_t *data, size_t len, uint8_t *own, etcd_arena **arena)
{
    *arena = NULL;
    size_t n_events;
    if (!count_events((rd){data, data + len}, &n_events))
        return NULL;
    /* Room for the copy (or the adoption), the structs of every event with one key-value, and
     * the rest. */
    size_t per = sizeof(event_kv) + sizeof(Mvccpb__Event *) + 16;
    etcd_arena *a = etcd_arena_new((own ? 32 : len) + n_events * per + 256);
    if (!a)
        return NULL;
    const uint8_t *bytes = own;
    if (!own && len) {
        uint8_t *copy = etcd_arena_alloc(a, len);
        if (!copy) {
            etcd_arena_free(a);
            return NULL;
        }
        memcpy(copy, data, len);
        bytes = copy;
    }
    Etcdserverpb__WatchResponse *m = etcd_arena_alloc(a, sizeof *m);
    if (!m || !read_response((rd){bytes, bytes + len}, m, n_events, a) || (own && !etcd_arena_adopt(a, own))) {
        etcd_arena_free(a);
        return NULL;
    }
    *arena = a;
    return m;
}

Etcdserverpb__WatchResponse *etcd_watch_decode_direct(const uint8_t *data, size_t len, etcd_arena **arena)
{
    return decode_direct(data, len, NULL, arena);
}

Etcdserverpb__WatchResponse *etcd_watch_decode_owned(uint8_t *buf, size_t len, etcd_arena **arena, etcd_code *code,
                                                     const char **why)
{
    Etcdserverpb__WatchResponse *m = decode_direct(buf, len, buf, arena);
    if (m) {
        *code = ETCD_OK;
        *why = NULL;
        return m;
    }
    m = (Etcdserverpb__WatchResponse *)etcd_decode_bytes(&etcdserverpb__watch_response__descriptor, buf, len, arena,
                                                         code, why);
    /* protobuf-c copied what it keeps, but the caller may still read the bytes as the message
     * (to hand a watch its own copy): they live as long as the arena here too. */
    if (m && !etcd_arena_adopt(*arena, buf)) {
        etcd_arena_free(*arena);
        *arena = NULL;
        m = NULL;
        *code = ETCD_E_NOMEM;
        *why = "out of memory decoding the response";
    }
    if (!m)
        free(buf);
    return m;
}

Etcdserverpb__WatchResponse *etcd_watch_decode(const uint8_t *data, size_t len, etcd_arena **arena, etcd_code *code,
                                               const char **why)
{
    Etcdserverpb__WatchResponse *m = etcd_watch_decode_direct(data, len, arena);
    if (m) {
        *code = ETCD_OK;
        *why = NULL;
        return m;
    }
    return (Etcdserverpb__WatchResponse *)etcd_decode_bytes(&etcdserverpb__watch_response__descriptor, data, len, arena,
                                                            code, why);
}
