/*
 * The loop thread: completion queue next() with the nearest timer as deadline. To wake it
 * early (a timer armed or moved from another thread), a call is started on a lame channel:
 * gRPC fails it at once, and its completion returns next().
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "loop.h"
#include "tsan.h"
#include "rpc/rpc.h"

/* One wake-up call in flight at a time; more wake-ups meanwhile are covered by it. */
typedef struct waker {
    etcd_tag tag;
    grpc_channel *lame;
    grpc_call *call;
    grpc_metadata_array trailing;
    grpc_status_code status;
    grpc_slice details;
    atomic_bool pending;
} waker;

/* A heap entry holds its timer's due time (the only copy) beside the pointer: sifting compares
 * without reading timers. */
typedef struct heap_slot {
    int64_t when_ms;
    etcd_timer *t;
} heap_slot;

struct etcd_loop {
    grpc_completion_queue *cq;
    pthread_t thread;
    pthread_mutex_t mu;         /* guards the heap */
    heap_slot *heap;            /* min-heap on when_ms */
    size_t n, cap;
    int64_t wake_at_ms;         /* when the loop returns from next() at the latest */
    waker wake;
    etcd_idle_task *idle_head;  /* loop thread only */
    int idle_events;            /* completions handled since the first task was deferred */
};

/* Moves slot s to index i and tells its timer where it is now. */
static void heap_place(etcd_loop *l, size_t i, heap_slot s)
{
    l->heap[i] = s;
    s.t->heap_index = i;
}

/* Both sifts carry one slot through a hole and compare the keys in the array, so a pass reads
 * no timer: with thousands armed (a keepalive's leases) each timer is a likely cache miss. */
static void heap_up(etcd_loop *l, size_t i)
{
    heap_slot s = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p].when_ms <= s.when_ms)
            break;
        heap_place(l, i, l->heap[p]);
        i = p;
    }
    heap_place(l, i, s);
}

static void heap_down(etcd_loop *l, size_t i)
{
    heap_slot s = l->heap[i];
    for (;;) {
        size_t m = 2 * i + 1;
        if (m >= l->n)
            break;
        if (m + 1 < l->n && l->heap[m + 1].when_ms < l->heap[m].when_ms)
            m++;
        if (l->heap[m].when_ms >= s.when_ms)
            break;
        heap_place(l, i, l->heap[m]);
        i = m;
    }
    heap_place(l, i, s);
}

static etcd_timer *heap_pop(etcd_loop *l)
{
    etcd_timer *t = l->heap[0].t;
    l->heap[0] = l->heap[--l->n];
    if (l->n)
        heap_down(l, 0);
    t->heap_index = SIZE_MAX;
    return t;
}

static bool heap_holds(const etcd_loop *l, const etcd_timer *t)
{
    return t->heap_index < l->n && l->heap[t->heap_index].t == t;
}

static void wake_done(etcd_tag *tag, bool ok)
{
    (void)ok;
    waker *w = (waker *)tag;
    grpc_metadata_array_destroy(&w->trailing);
    grpc_slice_unref(w->details);
    grpc_call_unref(w->call);
    w->call = NULL;
    atomic_store(&w->pending, false);
}

/* Returns the loop from next() soon. Safe from any thread. */
static void loop_wake(etcd_loop *l)
{
    waker *w = &l->wake;
    if (etcd_loop_on_thread(l) || atomic_exchange(&w->pending, true))
        return;
    grpc_metadata_array_init(&w->trailing);
    w->details = grpc_empty_slice();
    /* The waker belongs to the loop thread from the handoff on: start the call from a local. */
    grpc_call *call = grpc_channel_create_call(w->lame, NULL, GRPC_PROPAGATE_DEFAULTS, l->cq,
                                               grpc_slice_from_static_string("/etcdc/wake"), NULL,
                                               gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    w->call = call;
    grpc_op ops[2] = {{0}};
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[1].data.recv_status_on_client.trailing_metadata = &w->trailing;
    ops[1].data.recv_status_on_client.status = &w->status;
    ops[1].data.recv_status_on_client.status_details = &w->details;
    ETCD_HANDOFF_RELEASE(&w->tag);
    if (grpc_call_start_batch(call, ops, 2, &w->tag, NULL) != GRPC_CALL_OK)
        wake_done(&w->tag, false);
}

bool etcd_loop_timer_add(etcd_loop *l, etcd_timer *t, int64_t when_ms)
{
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        heap_slot *h = realloc(l->heap, cap * sizeof *h);
        if (!h) {
            pthread_mutex_unlock(&l->mu);
            return false;
        }
        l->heap = h;
        l->cap = cap;
    }
    l->heap[l->n] = (heap_slot){when_ms, t};
    heap_up(l, l->n++);
    /* Request deadlines are seconds away: they almost never need a wake-up, which would cost a call. */
    bool sooner = when_ms < l->wake_at_ms;
    pthread_mutex_unlock(&l->mu);
    if (sooner)
        loop_wake(l);
    return true;
}

void etcd_loop_timer_cancel(etcd_loop *l, etcd_timer *t)
{
    pthread_mutex_lock(&l->mu);
    if (heap_holds(l, t)) {
        size_t i = t->heap_index;
        l->heap[i] = l->heap[--l->n];
        if (i < l->n) {
            etcd_timer *moved = l->heap[i].t;
            heap_up(l, i);
            heap_down(l, moved->heap_index);
        }
        t->heap_index = SIZE_MAX;
    }
    pthread_mutex_unlock(&l->mu);
}

void etcd_loop_timer_expedite(etcd_loop *l, etcd_timer *t)
{
    pthread_mutex_lock(&l->mu);
    bool armed = heap_holds(l, t);
    if (armed) {
        l->heap[t->heap_index].when_ms = 0;
        heap_up(l, t->heap_index);
    }
    pthread_mutex_unlock(&l->mu);
    if (armed)
        loop_wake(l);
}

void etcd_loop_expedite_all(etcd_loop *l)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++)
        l->heap[i].when_ms = 0;
    bool any = l->n > 0;
    pthread_mutex_unlock(&l->mu);
    if (any)
        loop_wake(l);
}

/* The loop sleeps at most this long, so that arming a later timer needs no wake-up. */
#define MAX_SLEEP_MS 1000

/* Fires the timers due at `now` (all of them when `all`), each without the lock held, and
 * returns when the next one is due (at most MAX_SLEEP_MS on). The look that finds none due also records that time as the loop's wake-up when the loop
 * is about to sleep (no deferred work): one clock read and one lock per pass of the loop. */
static int64_t run_due_timers(etcd_loop *l, int64_t now, bool all)
{
    for (;;) {
        pthread_mutex_lock(&l->mu);
        if (l->n && (all || l->heap[0].when_ms <= now)) {
            etcd_timer *t = heap_pop(l);
            pthread_mutex_unlock(&l->mu);
            t->fire(t);
            continue;
        }
        int64_t when = now + MAX_SLEEP_MS;
        if (l->n && l->heap[0].when_ms < when)
            when = l->heap[0].when_ms;
        if (!l->idle_head)
            l->wake_at_ms = when;
        pthread_mutex_unlock(&l->mu);
        return when;
    }
}

/* gRPC's monotonic clock and ours tick together; the offset between them is read once. */
static gpr_timespec loop_deadline(int64_t when_ms, int64_t gpr_offset_ms)
{
    return gpr_time_from_millis(when_ms + gpr_offset_ms, GPR_CLOCK_MONOTONIC);
}

/* Bounds how long deferred work waits while completions keep coming. */
#define MAX_IDLE_EVENTS 64

void etcd_loop_defer(etcd_loop *l, etcd_idle_task *t)
{
    if (t->queued)
        return;
    t->queued = true;
    t->next = l->idle_head;
    if (!l->idle_head)
        l->idle_events = 0;
    l->idle_head = t;
}

static void run_idle(etcd_loop *l)
{
    while (l->idle_head) {
        etcd_idle_task *list = l->idle_head;
        l->idle_head = NULL;
        while (list) {
            etcd_idle_task *t = list;
            list = t->next;
            t->queued = false;
            t->run(t);
        }
    }
}

static __thread const etcd_loop *current_loop;

static void *loop_main(void *arg)
{
    etcd_loop *l = arg;
    current_loop = l;
    gpr_timespec g = gpr_now(GPR_CLOCK_MONOTONIC);
    int64_t now = etcd_now_ms();
    int64_t gpr_offset_ms = g.tv_sec * 1000 + g.tv_nsec / 1000000 - now;
    int64_t wake = run_due_timers(l, now, false);
    for (;;) {
        /* With deferred work, only look: an empty queue is the moment to run it. */
        gpr_timespec until = l->idle_head ? gpr_inf_past(GPR_CLOCK_MONOTONIC) : loop_deadline(wake, gpr_offset_ms);
        grpc_event ev = grpc_completion_queue_next(l->cq, until, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE) {
            etcd_tag *tag = ev.tag;
            ETCD_HANDOFF_ACQUIRE(tag);
            tag->done(tag, ev.success != 0);
        }
        if (l->idle_head && (ev.type == GRPC_QUEUE_TIMEOUT || ++l->idle_events >= MAX_IDLE_EVENTS))
            run_idle(l);
        wake = run_due_timers(l, etcd_now_ms(), false);
    }
    run_due_timers(l, etcd_now_ms(), true);
    run_idle(l);
    return NULL;
}

bool etcd_loop_on_thread(const etcd_loop *loop)
{
    return current_loop == loop;
}

etcd_loop *etcd_loop_new(void)
{
    etcd_loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->wake.tag.done = wake_done;
    atomic_init(&l->wake.pending, false);
    l->wake.lame = grpc_lame_client_channel_create(NULL, GRPC_STATUS_UNAVAILABLE, "etcdc loop wake-up");
    l->cq = grpc_completion_queue_create_for_next(NULL);
    if (!l->cq || !l->wake.lame || pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        if (l->cq)
            grpc_completion_queue_destroy(l->cq);
        if (l->wake.lame)
            grpc_channel_destroy(l->wake.lame);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    return l;
}

grpc_completion_queue *etcd_loop_cq(etcd_loop *loop)
{
    return loop->cq;
}

void etcd_loop_free(etcd_loop *l)
{
    if (!l)
        return;
    grpc_completion_queue_shutdown(l->cq);
    pthread_join(l->thread, NULL);
    grpc_completion_queue_destroy(l->cq);
    grpc_channel_destroy(l->wake.lame);
    pthread_mutex_destroy(&l->mu);
    free(l->heap);
    free(l);
}
