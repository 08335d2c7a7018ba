/* The loop thread: completion queue next() with the nearest timer as deadline. */
#include <pthread.h>
#include <stdlib.h>

#include "loop.h"
#include "rpc/rpc.h"

struct etcd_loop {
    grpc_completion_queue *cq;
    pthread_t thread;
    etcd_timer **heap;          /* min-heap on when_ms; touched only by the loop thread */
    size_t n, cap;
};

static void heap_swap(etcd_loop *l, size_t a, size_t b)
{
    etcd_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static void heap_up(etcd_loop *l, size_t i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->when_ms > l->heap[i]->when_ms) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(etcd_loop *l, size_t i)
{
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        if (a < l->n && l->heap[a]->when_ms < l->heap[m]->when_ms)
            m = a;
        if (b < l->n && l->heap[b]->when_ms < l->heap[m]->when_ms)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

static etcd_timer *heap_pop(etcd_loop *l)
{
    etcd_timer *t = l->heap[0];
    l->heap[0] = l->heap[--l->n];
    l->heap[0]->heap_index = 0;
    heap_down(l, 0);
    return t;
}

bool etcd_loop_timer_add(etcd_loop *l, etcd_timer *t, int64_t when_ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        etcd_timer **h = realloc(l->heap, cap * sizeof *h);
        if (!h)
            return false;
        l->heap = h;
        l->cap = cap;
    }
    t->when_ms = when_ms;
    t->heap_index = l->n;
    l->heap[l->n++] = t;
    heap_up(l, t->heap_index);
    return true;
}

static void run_due_timers(etcd_loop *l, bool all)
{
    int64_t now = etcd_now_ms();
    while (l->n && (all || l->heap[0]->when_ms <= now)) {
        etcd_timer *t = heap_pop(l);
        t->fire(t);
    }
}

static void *loop_main(void *arg)
{
    etcd_loop *l = arg;
    for (;;) {
        gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
        if (l->n) {
            int64_t wait = l->heap[0]->when_ms - etcd_now_ms();
            deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                    gpr_time_from_millis(wait > 0 ? wait : 0, GPR_TIMESPAN));
        }
        grpc_event ev = grpc_completion_queue_next(l->cq, deadline, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE) {
            etcd_tag *tag = ev.tag;
            tag->done(tag, ev.success != 0);
        }
        run_due_timers(l, false);
    }
    run_due_timers(l, true);
    return NULL;
}

static __thread const etcd_loop *current_loop;

static void *loop_thread(void *arg)
{
    current_loop = arg;
    return loop_main(arg);
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
    l->cq = grpc_completion_queue_create_for_next(NULL);
    if (!l->cq || pthread_create(&l->thread, NULL, loop_thread, l) != 0) {
        if (l->cq)
            grpc_completion_queue_destroy(l->cq);
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
    free(l->heap);
    free(l);
}
