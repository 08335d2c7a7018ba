/* Internal shapes of the watch interface. */
#ifndef ETCDC_WATCH_INTERNAL_H
#define ETCDC_WATCH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <etcdc/watch.h>

#include "client/context.h"
#include "rpc.pb-c.h"
#include "rpc/arena.h"

struct etcd_watch_opts {
    Etcdserverpb__WatchCreateRequest req;   /* key, range_end owned */
    Etcdserverpb__WatchCreateRequest__FilterType filters[2];
    bool prefix;
    bool created_notify;
    int require_leader;                     /* -1: the client's */
    bool bad;                               /* a setter met bad input: watch() refuses */
};

/* A watch response's own part: the events delivered (a subset of the message's, or the parts
 * of a fragmented batch), and the extra arenas those parts live in. */
typedef struct etcd_watch_batch {
    Mvccpb__Event **events;
    size_t n_events;
    int64_t watch_id;
    bool created, progress;
} etcd_watch_batch;

typedef struct etcd_watch_group etcd_watch_group;

struct etcd_watcher {
    etcd_context *ctx;
    int64_t buffer_bytes;                   /* undelivered bytes before a stream stops reading */
    pthread_mutex_t mu;
    etcd_watch_group *groups[2];            /* by require-leader: 0 off, 1 on; created lazily */
    int64_t next_id;                        /* client-chosen watch IDs, unique per watcher */
};

void etcd_watcher_init(etcd_watcher *w, etcd_context *ctx, int64_t buffer_bytes);
/* Ends every stream (their watches end with ETCD_E_CANCELLED) and frees the groups; after the
 * client's calls have all ended. */
void etcd_watcher_destroy(etcd_watcher *w);

/* Builds a watch response over msg (which lives in arena, taken over); events, when not NULL,
 * are the ones to deliver (kept in the arena or in extra arenas, also taken over). NULL when out
 * of memory (everything is freed then). */
etcd_response *etcd_watch_response_new(Etcdserverpb__WatchResponse *msg, etcd_arena *arena,
                                       const etcd_watch_batch *batch, etcd_arena **extra, size_t n_extra);

#endif
