/*
 * The watcher: watches grouped by require-leader, each group on one Watch stream. Creates are
 * pipelined with client-chosen IDs; a failed stream is reopened on another connected member and
 * every live watch created again from its next revision (resume.c). Stream callbacks run on the
 * loop thread; results go to the application through the context's stream delivery, never
 * while the watcher's lock is held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/call.h"
#include "call/id_table.h"
#include "call/outbox.h"
#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "resume.h"
#include "transport/stream.h"
#include "watch_decode.h"
#include "watch_internal.h"

static const char watch_path[] = "/etcdserverpb.Watch/Watch";

typedef enum wstate {
    W_WAITING,      /* no create sent on the current stream yet */
    W_CREATING,     /* create sent, no answer yet */
    W_LIVE,
    W_CANCELLING,   /* the caller cancelled; waiting for the server's answer */
    W_ENDED
} wstate;

typedef struct watch watch;

struct watch {
    etcd_call base;                 /* first: the handle is the watch */
    etcd_callback user_cb;          /* the application's; base.cb screens batches for it */
    void *user_data;
    etcd_watch_group *g;
    etcd_id_link link;              /* in its group's table, by watch ID */
    etcd_watch_opts opts;           /* a copy: the create request, its key and range end owned */
    int64_t next_rev;               /* 0: "now", until the created answer says which revision */
    wstate state;
    bool notified_created;
    etcd_timer cancel_timer;        /* moves a cancel to the loop thread */
    atomic_bool registered;         /* in its group's table: a cancel may be moved now */
    atomic_bool cancel_armed;       /* the cancel timer is armed once, however often cancelled */
    /* a fragmented batch being put together */
    Mvccpb__Event **frag_events;
    size_t frag_n, frag_cap;
    etcd_arena **frag_arenas;
    size_t frag_na, frag_acap;
    Etcdserverpb__WatchResponse *frag_first;
    watch *pnext;                   /* creates awaiting an answer, in order */
    bool in_pending;
};

typedef enum gstate { G_IDLE, G_CONNECTING, G_OPEN } gstate;

struct etcd_watch_group {
    etcd_watcher *w;
    etcd_context *ctx;
    bool require_leader;
    gstate state;
    etcd_stream *stream;
    etcd_id_table watches;
    watch *pend_head, *pend_tail;
    etcd_timer timer;               /* reconnect: handoff, backoff, or the park's guard */
    etcd_timer resume_timer;        /* moves a resume of reading to the loop thread */
    bool resume_armed;
    bool timer_armed, parked;
    etcd_ready_waiter waiter;
    int failures;                   /* consecutive failed streams, for the backoff */
    size_t no_leader;               /* consecutive streams ended by "no leader" */
    etcd_endpoint *last;            /* where the last stream failed, to avoid next time */
    int64_t undelivered;            /* bytes handed to the application and not yet consumed */
    bool paused;                    /* the stream stopped reading for it */
    /* While not idle, the group holds the client in flight (etcd_context_begin), so closing waits
     * until its stream has ended and its timer is off: they call back into the group. */
    bool release_hold;              /* went idle: drop the hold once nothing touches the group */
};

typedef struct batch_delivery {
    etcd_delivery d;
    etcd_watch_group *g;
    int64_t bytes;
} batch_delivery;

/* ---- the id table ---- */

#define WATCH_OF(e) ((watch *)((char *)(e) - offsetof(watch, link)))

static watch *table_find(etcd_watch_group *g, int64_t id)
{
    etcd_id_link *e = etcd_id_table_find(&g->watches, id);
    return e ? WATCH_OF(e) : NULL;
}

/* ---- deliveries ---- */

static void batch_release(etcd_delivery *d)
{
    batch_delivery *bd = (batch_delivery *)d;
    etcd_watch_group *g = bd->g;
    etcd_watcher *w = g->w;
    pthread_mutex_lock(&w->mu);
    g->undelivered -= bd->bytes;
    if (g->paused && g->stream && g->undelivered <= w->buffer_bytes / 2) {
        g->paused = false;
        /* Not from here: the on_message that paused the stream may not have returned yet, and a
         * resume before the pause took effect would be lost. The loop thread runs after it. */
        if (!g->resume_armed)
            g->resume_armed = etcd_loop_timer_add(g->ctx->loop, &g->resume_timer, 0);
        if (!g->resume_armed)
            etcd_stream_resume(g->stream); /* out of memory: the best there is */
    }
    pthread_mutex_unlock(&w->mu);
    free(bd);
}

static void resume_fired(etcd_timer *t)
{
    etcd_watch_group *g = (etcd_watch_group *)((char *)t - offsetof(etcd_watch_group, resume_timer));
    pthread_mutex_lock(&g->w->mu);
    g->resume_armed = false;
    if (g->stream && !g->paused)
        etcd_stream_resume(g->stream);
    pthread_mutex_unlock(&g->w->mu);
}

/* Queues a batch for the watch; false when out of memory (the batch is dropped and the watch
 * ends: losing events silently is not an option). Under the lock. */
static bool queue_batch(watch *wt, etcd_response *resp, int64_t bytes, etcd_outbox *o)
{
    batch_delivery *bd = calloc(1, sizeof *bd);
    if (!bd) {
        etcd_response_free(resp);
        return false;
    }
    bd->d.call = &wt->base;
    bd->d.code = ETCD_OK;
    bd->d.resp = resp;
    bd->d.release = batch_release;
    bd->g = wt->g;
    bd->bytes = bytes;
    wt->g->undelivered += bytes;
    etcd_outbox_add(o, &bd->d);
    return true;
}

static void frag_reset(watch *wt)
{
    for (size_t i = 0; i < wt->frag_na; i++)
        etcd_arena_free(wt->frag_arenas[i]);
    free(wt->frag_arenas);
    free(wt->frag_events);
    wt->frag_arenas = NULL;
    wt->frag_events = NULL;
    wt->frag_n = wt->frag_cap = wt->frag_na = wt->frag_acap = 0;
    wt->frag_first = NULL;
}

static void pend_remove(etcd_watch_group *g, watch *wt)
{
    if (!wt->in_pending)
        return;
    for (watch **p = &g->pend_head; *p; p = &(*p)->pnext)
        if (*p == wt) {
            *p = wt->pnext;
            if (g->pend_tail == wt) {
                watch *t = g->pend_head;
                while (t && t->pnext)
                    t = t->pnext;
                g->pend_tail = t;
            }
            break;
        }
    wt->pnext = NULL;
    wt->in_pending = false;
}

/* Ends a watch: its last callback is queued with code and err. Under the lock, on the loop
 * thread or before the watch was ever visible to it. */
static void end_watch(watch *wt, etcd_code code, etcd_error *err, etcd_outbox *o)
{
    if (wt->state == W_ENDED)
        return;
    etcd_watch_group *g = wt->g;
    wt->state = W_ENDED;
    etcd_cancel_clear_hook(&wt->base.cancel);
    etcd_loop_timer_cancel(g->ctx->loop, &wt->cancel_timer);
    pend_remove(g, wt);
    etcd_id_table_remove(&g->watches, &wt->link);
    frag_reset(wt);
    if (code != ETCD_OK && !err)
        err = etcd_error_new_call(code, code, -1, NULL, NULL, "watch");
    wt->base.final.code = code;
    wt->base.final.err = err;
    wt->base.final.resp = NULL;
    etcd_outbox_add(o, &wt->base.final);
}

static etcd_error *server_error(etcd_code code, const char *reason, const char *endpoint)
{
    etcd_error *e = etcd_error_new_call(code, code, -1, reason && *reason ? reason : NULL, endpoint, "watch");
    return e;
}

/* What a server's cancel of one watch means. */
static void send_cancel(etcd_watch_group *g, watch *wt);

static void end_by_server(watch *wt, const Etcdserverpb__WatchResponse *r, const char *endpoint, etcd_outbox *o)
{
    if (r->compact_revision > 0) {
        /* etcd keeps a compacted watcher on the stream until it is cancelled: cancel it, or the
         * server holds it for as long as the stream lives. Its answer finds no watch: ignored. */
        if (wt->g->stream && wt->state != W_CANCELLING)
            send_cancel(wt->g, wt);
        char msg[160];
        snprintf(msg, sizeof msg, "revision %lld was compacted (compact revision %lld)", (long long)wt->next_rev,
                 (long long)r->compact_revision);
        etcd_error *e = server_error(ETCD_E_COMPACTED, msg, endpoint);
        if (e)
            e->compact_revision = r->compact_revision;
        end_watch(wt, ETCD_E_COMPACTED, e, o);
        return;
    }
    if (wt->state == W_CANCELLING) {
        end_watch(wt, ETCD_E_CANCELLED, NULL, o);
        return;
    }
    const char *reason = r->cancel_reason;
    etcd_code code = reason && strstr(reason, "permission denied") ? ETCD_E_PERMISSION_DENIED : ETCD_E_WATCH_CANCELED;
    end_watch(wt, code, server_error(code, reason && *reason ? reason : "the server cancelled the watch", endpoint), o);
}

/* ---- requests ---- */

static bool send_request(etcd_stream *s, const Etcdserverpb__WatchRequest *req)
{
    size_t n = protobuf_c_message_get_packed_size(&req->base);
    grpc_slice sl = grpc_slice_malloc(n);
    protobuf_c_message_pack(&req->base, GRPC_SLICE_START_PTR(sl));
    return etcd_stream_send(s, sl);
}

/* Sends the watch's create on the open stream, from its next revision. Under the lock. */
static void send_create(etcd_watch_group *g, watch *wt)
{
    Etcdserverpb__WatchCreateRequest cr = wt->opts.req;
    cr.watch_id = wt->link.id;
    if (wt->next_rev > 0)
        cr.start_revision = wt->next_rev;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
    req.create_request = &cr;
    wt->state = W_CREATING;
    wt->pnext = NULL;
    wt->in_pending = true;
    if (g->pend_tail)
        g->pend_tail->pnext = wt;
    else
        g->pend_head = wt;
    g->pend_tail = wt;
    send_request(g->stream, &req); /* a stream that ended meanwhile re-creates it on the next */
}

static void send_cancel(etcd_watch_group *g, watch *wt)
{
    Etcdserverpb__WatchCancelRequest cr = ETCDSERVERPB__WATCH_CANCEL_REQUEST__INIT;
    cr.watch_id = wt->link.id;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CANCEL_REQUEST;
    req.cancel_request = &cr;
    send_request(g->stream, &req);
}

/* ---- connecting ---- */

static void group_connect(etcd_watch_group *g, etcd_outbox *o);

static void arm_group_timer(etcd_watch_group *g, int64_t when_ms)
{
    /* Always cancel first: arming a timer that is still in the heap would put it there twice. */
    etcd_loop_timer_cancel(g->ctx->loop, &g->timer);
    g->timer_armed = etcd_loop_timer_add(g->ctx->loop, &g->timer, when_ms);
}

/* Goes idle: no stream, no timer, no park. Loop thread, locked; the caller drops the hold
 * (group_release) as its very last step. */
static void go_idle(etcd_watch_group *g)
{
    if (g->timer_armed) {
        etcd_loop_timer_cancel(g->ctx->loop, &g->timer);
        g->timer_armed = false;
    }
    if (g->parked) {
        etcd_ready_gate_cancel(g->ctx->gate, &g->waiter);
        g->parked = false;
    }
    if (g->resume_armed) {
        etcd_loop_timer_cancel(g->ctx->loop, &g->resume_timer);
        g->resume_armed = false;
    }
    if (g->state != G_IDLE)
        g->release_hold = true;
    g->state = G_IDLE;
}

/* Under the lock: whether the caller must drop the group's hold after unlocking. */
static bool take_release(etcd_watch_group *g)
{
    bool r = g->release_hold;
    g->release_hold = false;
    return r;
}

/* Leaves the group's lock: then delivers what was collected under it, and drops the group's
 * hold on the client last, if it went idle (closing may free the group from then on). */
static void unlock_and_deliver(etcd_watch_group *g, etcd_outbox *o)
{
    etcd_context *ctx = g->ctx;
    bool release = take_release(g);
    pthread_mutex_unlock(&g->w->mu);
    etcd_outbox_flush(ctx, o, NULL);
    if (release)
        etcd_context_end(ctx);
}

static void group_timer_fired(etcd_timer *t)
{
    etcd_watch_group *g = (etcd_watch_group *)((char *)t - offsetof(etcd_watch_group, timer));
    etcd_outbox o = {0};
    pthread_mutex_lock(&g->w->mu);
    g->timer_armed = false;
    if (g->parked) {
        etcd_ready_gate_cancel(g->ctx->gate, &g->waiter);
        g->parked = false;
    }
    if (g->state == G_CONNECTING)
        group_connect(g, &o);
    unlock_and_deliver(g, &o);
}

static void group_ready(etcd_ready_waiter *wr)
{
    etcd_watch_group *g = (etcd_watch_group *)((char *)wr - offsetof(etcd_watch_group, waiter));
    etcd_outbox o = {0};
    pthread_mutex_lock(&g->w->mu);
    g->parked = false;
    if (g->timer_armed) {
        /* The park's guard: not needed any more. */
        etcd_loop_timer_cancel(g->ctx->loop, &g->timer);
        g->timer_armed = false;
    }
    if (g->state == G_CONNECTING)
        group_connect(g, &o);
    unlock_and_deliver(g, &o);
}

static void end_all(etcd_watch_group *g, etcd_code code, const char *why, etcd_outbox *o)
{
    for (etcd_id_link *l; (l = etcd_id_table_any(&g->watches)) != NULL;) {
        etcd_error *e = why ? etcd_error_new_call(code, code, -1, why, NULL, "watch") : NULL;
        end_watch(WATCH_OF(l), code, e, o);
    }
    go_idle(g);
}

static bool on_message(etcd_stream *s, const uint8_t *data, size_t len, void *arg);
static void on_end(etcd_stream *s, const etcd_stream_status *st, void *arg);
static const etcd_stream_handler handler = {on_message, on_end};

/* Far enough away never to fire, near enough not to overflow the loop's arithmetic. */
#define NO_DEADLINE_MS (INT64_MAX / 4)

/* Opens a stream on a connected member and creates every watch on it. Loop thread, locked. */
static void group_connect(etcd_watch_group *g, etcd_outbox *o)
{
    etcd_context *ctx = g->ctx;
    if (etcd_transport_closing(ctx->transport)) {
        end_all(g, ETCD_E_CANCELLED, "the client is closing", o);
        return;
    }
    if (g->watches.count == 0) {
        go_idle(g);
        return;
    }
    bool ready;
    etcd_endpoint *ep = etcd_endpoint_set_pick(ctx->eps, g->last, &ready);
    if (!ep || !ready) {
        etcd_endpoint_unref(ep);
        /* No member connected: park, with a far timer so that closing can end the wait. */
        etcd_ready_wait_result r = etcd_ready_gate_wait(ctx->gate, &g->waiter);
        if (r == ETCD_READY_PARKED) {
            g->parked = true;
            arm_group_timer(g, NO_DEADLINE_MS);
            return;
        }
        arm_group_timer(g, etcd_now_ms() + 25); /* connected meanwhile, or no memory: soon */
        return;
    }
    etcd_stream_opts so = {.require_leader = g->require_leader};
    etcd_stream *s = NULL;
    etcd_code rc = etcd_stream_start(ctx->transport, ep, watch_path, &so, &handler, g, &s, NULL);
    etcd_endpoint_unref(ep);
    if (rc != ETCD_OK) {
        if (rc == ETCD_E_CANCELLED) {
            end_all(g, ETCD_E_CANCELLED, "the client is closing", o);
            return;
        }
        arm_group_timer(g, etcd_now_ms() + 100);
        return;
    }
    g->stream = s;
    g->state = G_OPEN;
    g->paused = false;
    g->pend_head = g->pend_tail = NULL;
    ETCD_ID_TABLE_EACH(&g->watches, e) {
        watch *wt = WATCH_OF(e);
        wt->in_pending = false;
        if (wt->state == W_CANCELLING)
            end_watch(wt, ETCD_E_CANCELLED, NULL, o); /* never re-created once cancelled */
    }
    /* Every create in one write: corked while they queue. */
    etcd_stream_cork(s);
    ETCD_ID_TABLE_EACH(&g->watches, e)
        send_create(g, WATCH_OF(e));
    etcd_stream_uncork(s);
}

/* Starts connecting when nothing is under way. Locked; any thread. */
static void group_kick(etcd_watch_group *g)
{
    if (g->state != G_IDLE) /* an idle group's caller took the hold for it */
        return;
    g->state = G_CONNECTING;
    g->failures = 0;
    arm_group_timer(g, 0); /* on the loop thread, where the gate and the stream callbacks live */
}

/* ---- stream callbacks (loop thread) ---- */

static int64_t backoff_ms(int failures)
{
    if (failures <= 1)
        return 0;
    int64_t ms = 50;
    for (int i = 2; i < failures && ms < 1000; i++)
        ms *= 2;
    return ms > 1000 ? 1000 : ms;
}

static void on_end(etcd_stream *s, const etcd_stream_status *st, void *arg)
{
    etcd_watch_group *g = arg;
    etcd_context *ctx = g->ctx;
    etcd_outbox o = {0};
    pthread_mutex_lock(&g->w->mu);
    if (g->stream != s) {
        pthread_mutex_unlock(&g->w->mu);
        etcd_stream_unref(s);
        return;
    }
    g->stream = NULL;
    g->pend_head = g->pend_tail = NULL;
    g->paused = false;
    ETCD_ID_TABLE_EACH(&g->watches, e) {
        watch *wt = WATCH_OF(e);
        wt->in_pending = false;
        frag_reset(wt); /* a partial batch comes again, whole, after the resume */
        if (wt->state != W_CANCELLING)
            wt->state = W_WAITING;
    }
    etcd_endpoint_unref(g->last);
    g->last = etcd_endpoint_ref(etcd_stream_endpoint(s));
    if (etcd_transport_closing(ctx->transport)) {
        end_all(g, ETCD_E_CANCELLED, "the client is closing", &o);
    } else {
        /* Watches the caller cancelled are done: the stream that would confirm it is gone. */
        ETCD_ID_TABLE_EACH(&g->watches, e)
            if (WATCH_OF(e)->state == W_CANCELLING)
                end_watch(WATCH_OF(e), ETCD_E_CANCELLED, NULL, &o);
        if (st->code == ETCD_E_NO_LEADER)
            g->no_leader++;
        if (g->require_leader && g->no_leader >= etcd_endpoint_set_count(ctx->eps)) {
            /* Every member said "no leader" in a row: the cluster has none. */
            end_all(g, ETCD_E_NO_LEADER, st->details ? st->details : "etcdserver: no leader", &o);
        } else if (g->watches.count == 0) {
            go_idle(g);
        } else {
            g->state = G_CONNECTING;
            g->failures++;
            arm_group_timer(g, etcd_now_ms() + backoff_ms(g->failures));
        }
    }
    bool release = take_release(g);
    pthread_mutex_unlock(&g->w->mu);
    etcd_stream_unref(s);
    etcd_outbox_flush(ctx, &o, NULL);
    if (release)
        etcd_context_end(ctx); /* last: closing may free the group from here on */
}

/* Adds a fragment's events to the watch's batch under construction; false when out of memory. */
static bool frag_add(watch *wt, Etcdserverpb__WatchResponse *r, etcd_arena *arena)
{
    if (wt->frag_na == wt->frag_acap) {
        size_t cap = wt->frag_acap ? wt->frag_acap * 2 : 4;
        etcd_arena **a = realloc(wt->frag_arenas, cap * sizeof *a);
        if (!a)
            return false;
        wt->frag_arenas = a;
        wt->frag_acap = cap;
    }
    if (wt->frag_n + r->n_events > wt->frag_cap) {
        size_t cap = wt->frag_cap ? wt->frag_cap * 2 : 64;
        while (cap < wt->frag_n + r->n_events)
            cap *= 2;
        Mvccpb__Event **e = realloc(wt->frag_events, cap * sizeof *e);
        if (!e)
            return false;
        wt->frag_events = e;
        wt->frag_cap = cap;
    }
    wt->frag_arenas[wt->frag_na++] = arena;
    memcpy(wt->frag_events + wt->frag_n, r->events, r->n_events * sizeof *r->events);
    wt->frag_n += r->n_events;
    if (!wt->frag_first)
        wt->frag_first = r;
    return true;
}

/* Delivers events (filtered against the resume point) of one whole batch. Takes the arenas. */
static void deliver_events(watch *wt, Etcdserverpb__WatchResponse *r, etcd_arena *arena, Mvccpb__Event **evs,
                           size_t n, etcd_arena **extra, size_t n_extra, int64_t bytes, etcd_outbox *o)
{
    size_t kept = etcd_resume_filter(&wt->next_rev, evs, n);
    if (kept == 0) {
        etcd_arena_free(arena);
        for (size_t i = 0; i < n_extra; i++)
            etcd_arena_free(extra[i]);
        return;
    }
    etcd_watch_batch b = {.events = evs, .n_events = kept, .watch_id = wt->link.id};
    etcd_response *resp = etcd_watch_response_new(r, arena, &b, extra, n_extra);
    if (!resp || !queue_batch(wt, resp, bytes, o))
        end_watch(wt, ETCD_E_NOMEM, etcd_error_new_call(ETCD_E_NOMEM, ETCD_E_NOMEM, -1, "out of memory delivering events",
                                                        NULL, "watch"),
                  o);
}

static void deliver_flag_batch(watch *wt, const uint8_t *data, size_t len, bool created, etcd_outbox *o)
{
    /* Each watch gets its own copy: responses own their memory. */
    etcd_arena *arena;
    etcd_code code;
    const char *why;
    Etcdserverpb__WatchResponse *r = etcd_watch_decode(data, len, &arena, &code, &why);
    if (!r)
        return;
    etcd_watch_batch b = {.watch_id = wt->link.id, .created = created, .progress = !created};
    etcd_response *resp = etcd_watch_response_new(r, arena, &b, NULL, 0);
    if (resp)
        queue_batch(wt, resp, (int64_t)len, o);
}

static bool on_message(etcd_stream *s, const uint8_t *data, size_t len, void *arg)
{
    etcd_watch_group *g = arg;
    etcd_watcher *w = g->w;
    etcd_arena *arena;
    etcd_code code;
    const char *why;
    /* A large batch arrives in several slices and was put together by the stream: decode it in
     * that buffer instead of copying it once more. Either way data stays valid until the arena
     * is freed (or handed on with the events). */
    uint8_t *own = etcd_stream_take_message(s, data, len);
    Etcdserverpb__WatchResponse *r =
        own ? etcd_watch_decode_owned(own, len, &arena, &code, &why) : etcd_watch_decode(data, len, &arena, &code, &why);
    if (!r) {
        /* An answer we cannot read could hide events: drop the stream; the resume replays. */
        etcd_stream_cancel(s);
        return false;
    }
    etcd_outbox o = {0};
    bool keep_arena = false;
    pthread_mutex_lock(&w->mu);
    if (g->stream != s)
        goto out;
    g->failures = 0;
    int64_t header_rev = r->header ? r->header->revision : 0;
    const char *endpoint = etcd_stream_endpoint(s)->name;
    if (r->created) {
        watch *wt = r->watch_id == -1 ? g->pend_head : table_find(g, r->watch_id);
        if (!wt)
            goto out;
        pend_remove(g, wt);
        g->no_leader = 0;
        if (r->canceled || r->watch_id == -1) {
            end_by_server(wt, r, endpoint, &o);
            goto out;
        }
        etcd_resume_created(&wt->next_rev, header_rev);
        if (wt->state == W_CREATING)
            wt->state = W_LIVE;
        if (wt->opts.created_notify && !wt->notified_created && wt->state == W_LIVE) {
            wt->notified_created = true;
            deliver_flag_batch(wt, data, len, true, &o);
        }
        goto out;
    }
    if (r->canceled) {
        watch *wt = table_find(g, r->watch_id);
        if (wt)
            end_by_server(wt, r, endpoint, &o);
        goto out;
    }
    if (r->watch_id == -1 && r->n_events == 0) {
        /* The answer to a progress request, sent to the whole stream: it may come while a watch
         * is still catching up (etcd 3.4), so it is passed on but moves no resume point. */
        ETCD_ID_TABLE_EACH(&g->watches, e)
            if (WATCH_OF(e)->state == W_LIVE)
                deliver_flag_batch(WATCH_OF(e), data, len, false, &o);
        goto out;
    }
    watch *wt = table_find(g, r->watch_id);
    if (!wt || wt->state != W_LIVE)
        goto out;
    if (r->fragment || wt->frag_na) {
        if (!frag_add(wt, r, arena)) {
            etcd_arena_free(arena);
            end_watch(wt, ETCD_E_NOMEM, NULL, &o);
            keep_arena = true;
            goto out;
        }
        keep_arena = true;
        if (r->fragment)
            goto out; /* more parts follow */
        /* The last part: deliver the whole batch. The first part's arena holds the response. */
        etcd_arena *first = wt->frag_arenas[0];
        Mvccpb__Event **evs = wt->frag_events;
        size_t n = wt->frag_n, na = wt->frag_na;
        etcd_arena **extra = wt->frag_arenas;
        Etcdserverpb__WatchResponse *fr = wt->frag_first;
        wt->frag_events = NULL;
        wt->frag_arenas = NULL;
        wt->frag_n = wt->frag_cap = wt->frag_na = wt->frag_acap = 0;
        wt->frag_first = NULL;
        deliver_events(wt, fr, first, evs, n, extra + 1, na - 1, (int64_t)len, &o);
        free(evs);
        free(extra);
        goto out;
    }
    if (r->n_events == 0) {
        /* A periodic progress notification for this watch: nothing below it will come. */
        etcd_resume_progress(&wt->next_rev, header_rev);
        if (wt->opts.req.progress_notify && wt->state == W_LIVE)
            deliver_flag_batch(wt, data, len, false, &o);
        goto out;
    }
    keep_arena = true;
    deliver_events(wt, r, arena, r->events, r->n_events, NULL, 0, (int64_t)len, &o);
out:;
    bool more = g->undelivered <= w->buffer_bytes;
    if (!more && g->stream == s)
        g->paused = true;
    pthread_mutex_unlock(&w->mu);
    if (!keep_arena)
        etcd_arena_free(arena);
    etcd_outbox_flush(g->ctx, &o, NULL);
    return more;
}

/* ---- cancel ---- */

static void cancel_fired(etcd_timer *t)
{
    watch *wt = (watch *)((char *)t - offsetof(watch, cancel_timer));
    etcd_watch_group *g = wt->g;
    etcd_outbox o = {0};
    pthread_mutex_lock(&g->w->mu);
    if (wt->state == W_LIVE || wt->state == W_CREATING) {
        wt->state = W_CANCELLING;
        if (g->stream)
            send_cancel(g, wt);
        else
            end_watch(wt, ETCD_E_CANCELLED, NULL, &o);
    } else if (wt->state == W_WAITING) {
        end_watch(wt, ETCD_E_CANCELLED, NULL, &o);
    }
    pthread_mutex_unlock(&g->w->mu);
    etcd_outbox_flush(g->ctx, &o, NULL);
}

/* Cancel hook (any thread, under the token's lock): move the cancel to the loop thread, once.
 * Before the watch is registered the cancel is picked up by the registration instead. */
static void arm_cancel(watch *wt)
{
    if (atomic_load(&wt->registered) && !atomic_exchange(&wt->cancel_armed, true))
        etcd_loop_timer_add(wt->g->ctx->loop, &wt->cancel_timer, 0);
}

static void cancel_hook(void *arg)
{
    arm_cancel(arg);
}

/* ---- the public side ---- */

void etcd_watcher_init(etcd_watcher *w, etcd_context *ctx, int64_t buffer_bytes)
{
    w->ctx = ctx;
    w->buffer_bytes = buffer_bytes;
    pthread_mutex_init(&w->mu, NULL);
}

void etcd_watcher_destroy(etcd_watcher *w)
{
    for (int i = 0; i < 2; i++) {
        etcd_watch_group *g = w->groups[i];
        if (!g)
            continue;
        etcd_endpoint_unref(g->last);
        etcd_id_table_free(&g->watches);
        free(g);
    }
    pthread_mutex_destroy(&w->mu);
}

etcd_watcher *etcd_client_watcher(etcd_client *client);

static etcd_watch_group *group_of(etcd_watcher *w, bool require_leader)
{
    etcd_watch_group **slot = &w->groups[require_leader ? 1 : 0];
    if (!*slot) {
        etcd_watch_group *g = calloc(1, sizeof *g);
        if (!g)
            return NULL;
        g->w = w;
        g->ctx = w->ctx;
        g->require_leader = require_leader;
        g->timer.fire = group_timer_fired;
        g->timer.heap_index = SIZE_MAX;
        g->resume_timer.fire = resume_fired;
        g->resume_timer.heap_index = SIZE_MAX;
        g->waiter.ready = group_ready;
        *slot = g;
    }
    return *slot;
}

static void watch_destroy(etcd_call *c)
{
    watch *wt = (watch *)c;
    frag_reset(wt);
    free(wt->opts.req.key.data);
    free(wt->opts.req.range_end.data);
    free(wt);
}

/* Runs every callback of a watch. A batch still queued when the caller cancelled is dropped:
 * once etcd_call_cancel() has returned, only the final comes (async.h). */
static void screen_batch(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    watch *wt = ud;
    if (resp && etcd_cancel_fired(&call->cancel)) {
        etcd_response_free(resp);
        etcd_error_free(err);
        return;
    }
    wt->user_cb(call, code, resp, err, wt->user_data);
}

static bool copy_opts(etcd_watch_opts *dst, const etcd_watch_opts *src)
{
    *dst = *src;
    dst->req.key.data = malloc(src->req.key.len ? src->req.key.len : 1);
    dst->req.range_end.data = src->req.range_end.data ? malloc(src->req.range_end.len ? src->req.range_end.len : 1)
                                                      : NULL;
    if (!dst->req.key.data || (src->req.range_end.data && !dst->req.range_end.data)) {
        free(dst->req.key.data);
        free(dst->req.range_end.data);
        return false;
    }
    memcpy(dst->req.key.data, src->req.key.data, src->req.key.len);
    if (src->req.range_end.data)
        memcpy(dst->req.range_end.data, src->req.range_end.data, src->req.range_end.len);
    dst->req.filters = dst->filters;
    return true;
}

etcd_code etcd_watch(etcd_watcher *w, const etcd_watch_opts *opts, etcd_callback cb, void *user_data,
                     etcd_call **call, etcd_error **err)
{
    if (call)
        *call = NULL;
    if (!w || !opts || !cb)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "watch: %s is NULL", !w ? "watcher" : !opts ? "opts" : "callback");
    if (opts->bad)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "watch: the options were not built completely (out of memory)");
    etcd_context *ctx = w->ctx;
    watch *wt = calloc(1, sizeof *wt);
    if (!wt || !copy_opts(&wt->opts, opts)) {
        free(wt);
        return etcd_error_set(err, ETCD_E_NOMEM, "watch: out of memory");
    }
    wt->user_cb = cb;
    wt->user_data = user_data;
    etcd_call_init(&wt->base, ctx, screen_batch, wt, call != NULL);
    wt->base.destroy = watch_destroy;
    wt->cancel_timer.fire = cancel_fired;
    wt->cancel_timer.heap_index = SIZE_MAX;
    atomic_init(&wt->registered, false);
    atomic_init(&wt->cancel_armed, false);
    wt->next_rev = opts->req.start_revision;
    etcd_code rc = etcd_context_begin(ctx, err);
    if (rc != ETCD_OK) {
        atomic_store(&wt->base.refs, 1);
        etcd_call_unref(&wt->base);
        return rc;
    }
    bool rl = etcd_context_require_leader(ctx, opts->require_leader);
    etcd_cancel_set_hook(&wt->base.cancel, cancel_hook, wt); /* cannot have fired: nobody has it */
    pthread_mutex_lock(&w->mu);
    etcd_watch_group *g = group_of(w, rl);
    wt->g = g;
    wt->link.id = ++w->next_id;
    if (!g || !etcd_id_table_add(&g->watches, &wt->link)) {
        pthread_mutex_unlock(&w->mu);
        atomic_store(&wt->base.refs, 1);
        etcd_call_unref(&wt->base);
        etcd_context_end(ctx);
        return etcd_error_set(err, ETCD_E_NOMEM, "watch: out of memory");
    }
    if (g->state == G_IDLE && (rc = etcd_context_begin(ctx, err)) != ETCD_OK) {
        /* Closing meanwhile: no stream will start for it (the group's hold, see go_idle). */
        etcd_id_table_remove(&g->watches, &wt->link);
        pthread_mutex_unlock(&w->mu);
        atomic_store(&wt->base.refs, 1);
        etcd_call_unref(&wt->base);
        etcd_context_end(ctx);
        return rc;
    }
    /* The handle exists before the watch starts: a callback may run before we return. */
    if (call)
        *call = &wt->base;
    wt->state = W_WAITING;
    if (g->state == G_OPEN)
        send_create(g, wt);
    else
        group_kick(g);
    /* Under the lock, so the watch cannot have ended yet: a cancel that came before this is
     * moved to the loop thread now, later ones by the hook (set before the watch was visible,
     * so it is never set on a watch that has ended). */
    atomic_store(&wt->registered, true);
    if (etcd_cancel_fired(&wt->base.cancel))
        arm_cancel(wt);
    pthread_mutex_unlock(&w->mu);
    etcd_call_unref(&wt->base); /* the submit's reference */
    return ETCD_OK;
}

etcd_code etcd_watch_request_progress(etcd_watcher *w, etcd_error **err)
{
    if (!w)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "watch_request_progress: watcher is NULL");
    Etcdserverpb__WatchProgressRequest pr = ETCDSERVERPB__WATCH_PROGRESS_REQUEST__INIT;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_PROGRESS_REQUEST;
    req.progress_request = &pr;
    bool sent = false;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < 2; i++)
        if (w->groups[i] && w->groups[i]->stream)
            sent |= send_request(w->groups[i]->stream, &req);
    pthread_mutex_unlock(&w->mu);
    return sent ? ETCD_OK
                : etcd_error_set(err, ETCD_E_UNAVAILABLE, "watch_request_progress: no watch stream is open");
}
