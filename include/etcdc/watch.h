/*
 * etcdc/watch.h - watching keys: every change to a key or a range, in revision order, exactly
 * once, across member failures.
 *
 * etcd_client_watcher() returns a client's watcher. etcd_watch() starts a watch described by an
 * etcd_watch_opts and reports to an etcd_callback (async.h), on the client's thread or in
 * etcd_client_dispatch() like every other call:
 *  - each batch of events arrives as a response of kind ETCD_RESPONSE_WATCH (code ETCD_OK),
 *    read with the accessors below; events of one watch arrive in revision order and each
 *    exactly once;
 *  - the watch then ends exactly once with resp NULL and a code that says why:
 *      ETCD_E_CANCELLED          etcd_call_cancel(), or the client was closed
 *      ETCD_E_COMPACTED          the revision it needed was compacted (etcd_error_compact_revision())
 *      ETCD_E_PERMISSION_DENIED  the server refused it
 *      ETCD_E_NO_LEADER          require-leader, and no member has a leader
 *      ETCD_E_WATCH_CANCELED     the server cancelled it for another reason (the message says which)
 *
 * All watches of a client with the same require-leader setting share one gRPC stream (one HTTP/2
 * stream), as clientv3's do. Creating watches pipelines their requests: etcd answers creates on a
 * stream in order and takes client-chosen watch IDs, so creating 10,000 watches takes no more
 * round trips than creating one.
 *
 * Resume: each watch remembers the revision it needs next (the last delivered event's
 * mod_revision + 1, or the revision a periodic progress notification or the creation reported,
 * + 1). When the stream fails (member killed, black-holed, restarted, GOAWAY, "no leader" under
 * require-leader) it is reopened on another connected member, with backoff, and every live watch
 * is created again from its next revision; events below it are dropped, so none is delivered
 * twice. A watch whose next revision was compacted meanwhile ends with ETCD_E_COMPACTED: no
 * history is skipped silently.
 *
 * Callbacks and memory: a watch callback must not block for long. In ETCD_DISPATCH_THREAD mode
 * watch callbacks run on a thread of their own (not the one that completes KV calls and runs
 * deadlines), so a slow watch callback delays other watches only. Undelivered events are
 * bounded (etcd_config_set_watch_buffer_bytes()): past the bound the client stops reading the
 * stream, HTTP/2 flow control pushes back, and etcd holds the events (a slow watcher, replayed
 * from history) instead of the client buffering without limit.
 */
#ifndef ETCDC_WATCH_H
#define ETCDC_WATCH_H

#include <etcdc/common.h>
#include <etcdc/async.h>
#include <etcdc/error.h>
#include <etcdc/response.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct etcd_watcher etcd_watcher;       /* a client's watch interface */
typedef struct etcd_watch_opts etcd_watch_opts; /* what to watch, and how */
typedef struct etcd_event etcd_event;           /* one change, inside a watch response */
typedef struct etcd_watch_stream etcd_watch_stream; /* a watch read with etcd_watch_stream_next() */

#define ETCD_DEFAULT_WATCH_BUFFER_BYTES (64 * 1024 * 1024)

/* How many bytes of received, undelivered watch events a client holds before it stops reading
 * (> 0; default ETCD_DEFAULT_WATCH_BUFFER_BYTES). */
ETCD_API etcd_code etcd_config_set_watch_buffer_bytes(etcd_config *cfg, int64_t bytes);

/* The client's watcher. Borrowed: valid until the client is freed. */
ETCD_API etcd_watcher *etcd_client_watcher(etcd_client *client);

/* A watch of one key (bytes; an empty key means the key "\0"). NULL when out of memory. */
ETCD_API etcd_watch_opts *etcd_watch_opts_new(const void *key, size_t key_len);
ETCD_API void etcd_watch_opts_free(etcd_watch_opts *opts);
/* Every key in [key, end). */
ETCD_API etcd_code etcd_watch_opts_with_range_end(etcd_watch_opts *opts, const void *end, size_t end_len);
/* Every key that starts with the key. */
ETCD_API etcd_code etcd_watch_opts_with_prefix(etcd_watch_opts *opts);
/* Every key >= the key. */
ETCD_API etcd_code etcd_watch_opts_with_from_key(etcd_watch_opts *opts);
/* Start at this revision (> 0), replaying history from it; default: changes after now. */
ETCD_API etcd_code etcd_watch_opts_with_rev(etcd_watch_opts *opts, int64_t revision);
/* Deliver each event's previous key-value too. */
ETCD_API etcd_code etcd_watch_opts_with_prev_kv(etcd_watch_opts *opts);
/* Leave out puts (etcd's NOPUT filter) or deletes (NODELETE). */
ETCD_API etcd_code etcd_watch_opts_with_filter_put(etcd_watch_opts *opts);
ETCD_API etcd_code etcd_watch_opts_with_filter_delete(etcd_watch_opts *opts);
/* Ask etcd for periodic progress notifications (empty batches with the current revision) while
 * the watch is idle; they also advance the resume point. */
ETCD_API etcd_code etcd_watch_opts_with_progress_notify(etcd_watch_opts *opts);
/* Let etcd split batches larger than its request limit; the client reassembles them, so the
 * callback still sees whole batches. */
ETCD_API etcd_code etcd_watch_opts_with_fragment(etcd_watch_opts *opts);
/* Deliver the server's "created" answer as a first, empty batch (etcd_watch_response_created()). */
ETCD_API etcd_code etcd_watch_opts_with_created_notify(etcd_watch_opts *opts);
/* Require-leader for this watch (1), never (0), or the client's setting (-1, the default). */
ETCD_API etcd_code etcd_watch_opts_set_require_leader(etcd_watch_opts *opts, int on);

/*
 * Starts a watch. opts is copied. The callback contract is async.h's; see above for the codes a
 * watch ends with. *call (when call is not NULL) is set before the watch starts; cancel the
 * watch with etcd_call_cancel() and give the handle back with etcd_call_release().
 */
ETCD_API etcd_code etcd_watch(etcd_watcher *w, const etcd_watch_opts *opts, etcd_callback cb, void *user_data,
                              etcd_call **call, etcd_error **err);
/* Asks every member serving this client's watch streams for a progress notification now
 * (WatchProgressRequest). The answer reaches every watch of the stream as an empty batch with
 * etcd_watch_response_progress() set. On etcd 3.4 the answer may come while a watch is still
 * catching up, so it does not move the resume point. ETCD_E_UNAVAILABLE when no watch stream is
 * open (no watch, or every stream is being reopened): no member would be asked and nothing would
 * receive the answer, so call it again once a watch is live. */
ETCD_API etcd_code etcd_watch_request_progress(etcd_watcher *w, etcd_error **err);

/* A watch for programs without an event loop: batches queue (bounded like any watch) until
 * read with etcd_watch_stream_next(). */
ETCD_API etcd_code etcd_watch_open(etcd_watcher *w, const etcd_watch_opts *opts, etcd_watch_stream **out,
                                   etcd_error **err);
/* The next batch, waiting up to timeout_ms (< 0: forever; 0: do not wait). ETCD_OK with *resp
 * set; ETCD_E_DEADLINE when none came in time (the watch goes on); otherwise the code the watch
 * ended with (see above), returned again on every later call. */
ETCD_API etcd_code etcd_watch_stream_next(etcd_watch_stream *s, int64_t timeout_ms, etcd_response **resp,
                                          etcd_error **err);
/* Cancels the watch and frees the stream, with any batch not read. NULL is fine. */
ETCD_API void etcd_watch_stream_close(etcd_watch_stream *s);

/* Watch responses (kind ETCD_RESPONSE_WATCH). */
ETCD_API size_t etcd_watch_response_event_count(const etcd_response *resp);
ETCD_API const etcd_event *etcd_watch_response_event_at(const etcd_response *resp, size_t i);
/* The server's watch ID for this watch. */
ETCD_API int64_t etcd_watch_response_watch_id(const etcd_response *resp);
/* Non-zero for the "created" batch (with created notify). */
ETCD_API int etcd_watch_response_created(const etcd_response *resp);
/* Non-zero for a progress notification: no events, the header's revision is current. */
ETCD_API int etcd_watch_response_progress(const etcd_response *resp);
/* etcd_response_revision() gives the store revision the batch was sent at. */

typedef enum etcd_event_type {
    ETCD_EVENT_PUT = 0,
    ETCD_EVENT_DELETE = 1
} etcd_event_type;

ETCD_API etcd_event_type etcd_event_get_type(const etcd_event *ev);
/* The key-value after the change (for a delete: the key, with mod_revision the delete's). */
ETCD_API const etcd_keyvalue *etcd_event_kv(const etcd_event *ev);
/* The key-value before the change, with etcd_watch_opts_with_prev_kv(); NULL otherwise. */
ETCD_API const etcd_keyvalue *etcd_event_prev_kv(const etcd_event *ev);

/* ETCD_E_COMPACTED errors of a watch: the revision history was compacted to, > 0; 0 for any
 * other error. */
ETCD_API int64_t etcd_error_compact_revision(const etcd_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_WATCH_H */
