/* Watch responses: a batch of events over the unpacked WatchResponse(s), read by accessors. */
#include <stdlib.h>
#include <string.h>

#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "watch_internal.h"

etcd_response *etcd_watch_response_new(Etcdserverpb__WatchResponse *msg, etcd_arena *arena,
                                       const etcd_watch_batch *batch, etcd_arena **extra, size_t n_extra)
{
    etcd_watch_batch *b = etcd_arena_alloc(arena, sizeof *b);
    Mvccpb__Event **evs = b && batch->n_events ? etcd_arena_alloc(arena, batch->n_events * sizeof *evs) : NULL;
    etcd_arena **xs = n_extra ? malloc(n_extra * sizeof *xs) : NULL;
    etcd_response *r = (b && (evs || !batch->n_events) && (xs || !n_extra))
                           ? etcd_response_new_kind(ETCD_RESPONSE_WATCH, &msg->base, arena)
                           : NULL;
    if (!r) {
        if (b && (evs || !batch->n_events) && (xs || !n_extra))
            arena = NULL; /* etcd_response_new_kind freed it */
        etcd_arena_free(arena);
        for (size_t i = 0; i < n_extra; i++)
            etcd_arena_free(extra[i]);
        free(xs);
        return NULL;
    }
    *b = *batch;
    if (batch->n_events)
        memcpy(evs, batch->events, batch->n_events * sizeof *evs);
    b->events = evs;
    if (n_extra)
        memcpy(xs, extra, n_extra * sizeof *xs);
    r->extra = xs;
    r->n_extra = n_extra;
    r->ext = b;
    return r;
}

static const etcd_watch_batch *batch_of(const etcd_response *r)
{
    return r && r->kind == ETCD_RESPONSE_WATCH ? r->ext : NULL;
}

size_t etcd_watch_response_event_count(const etcd_response *resp)
{
    const etcd_watch_batch *b = batch_of(resp);
    return b ? b->n_events : 0;
}

const etcd_event *etcd_watch_response_event_at(const etcd_response *resp, size_t i)
{
    const etcd_watch_batch *b = batch_of(resp);
    return b && i < b->n_events ? (const etcd_event *)b->events[i] : NULL;
}

int64_t etcd_watch_response_watch_id(const etcd_response *resp)
{
    const etcd_watch_batch *b = batch_of(resp);
    return b ? b->watch_id : 0;
}

int etcd_watch_response_created(const etcd_response *resp)
{
    const etcd_watch_batch *b = batch_of(resp);
    return b ? b->created : 0;
}

int etcd_watch_response_progress(const etcd_response *resp)
{
    const etcd_watch_batch *b = batch_of(resp);
    return b ? b->progress : 0;
}

etcd_event_type etcd_event_get_type(const etcd_event *ev)
{
    return ev && ((const Mvccpb__Event *)ev)->type == MVCCPB__EVENT__EVENT_TYPE__DELETE ? ETCD_EVENT_DELETE
                                                                                        : ETCD_EVENT_PUT;
}

const etcd_keyvalue *etcd_event_kv(const etcd_event *ev)
{
    return ev ? (const etcd_keyvalue *)((const Mvccpb__Event *)ev)->kv : NULL;
}

const etcd_keyvalue *etcd_event_prev_kv(const etcd_event *ev)
{
    return ev ? (const etcd_keyvalue *)((const Mvccpb__Event *)ev)->prev_kv : NULL;
}

int64_t etcd_error_compact_revision(const etcd_error *err)
{
    return err && err->code == ETCD_E_COMPACTED ? err->compact_revision : 0;
}
