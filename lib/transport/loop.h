/*
 * The client's event loop: one gRPC completion queue and the one library thread that drives it.
 * Every completion (call finished, connectivity changed) and every timer runs on that thread.
 * Timers may be armed and moved from any thread: the loop is woken only when a timer is due before
 * the loop would wake anyway, which it does at least once a second.
 */
#ifndef ETCDC_LOOP_H
#define ETCDC_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <grpc/grpc.h>

/* Every tag given to the completion queue is one of these; `done` runs on the loop thread. */
typedef struct etcd_tag {
    void (*done)(struct etcd_tag *tag, bool ok);
} etcd_tag;

typedef struct etcd_timer {
    void (*fire)(struct etcd_timer *t);
    size_t heap_index;          /* internal; SIZE_MAX when not armed */
} etcd_timer;

/* Work put off until the loop has nothing ready (see etcd_loop_defer). */
typedef struct etcd_idle_task {
    void (*run)(struct etcd_idle_task *t);
    struct etcd_idle_task *next;
    bool queued;                /* internal */
} etcd_idle_task;

typedef struct etcd_loop etcd_loop;

/* Creates the queue and starts the thread. NULL on failure. */
etcd_loop *etcd_loop_new(void);
grpc_completion_queue *etcd_loop_cq(etcd_loop *loop);
/* Whether the caller is the loop thread. */
bool etcd_loop_on_thread(const etcd_loop *loop);
/* Arms a timer to fire at when_ms on the loop thread. Returns false when out of memory. */
bool etcd_loop_timer_add(etcd_loop *loop, etcd_timer *t, int64_t when_ms);
/* Disarms a timer that has not fired; does nothing otherwise. Called on the loop thread, the
 * timer is certain not to fire afterwards. */
void etcd_loop_timer_cancel(etcd_loop *loop, etcd_timer *t);
/* Makes an armed timer fire now; does nothing when it is not armed (it fired already). */
void etcd_loop_timer_expedite(etcd_loop *loop, etcd_timer *t);
/* Loop thread only: runs t once the completion queue has nothing ready (or after at most 64
 * more completions), so that what a burst of completions produces goes out once: one wake-up
 * of another thread, one write. Deferring a task already queued does nothing. */
void etcd_loop_defer(etcd_loop *loop, etcd_idle_task *t);
/* Makes every armed timer fire now (used when closing). */
void etcd_loop_expedite_all(etcd_loop *loop);
/* Shuts the queue down and joins the thread. Everything that can complete on the queue must
 * have completed or been cancelled first; timers still armed fire before the thread ends. */
void etcd_loop_free(etcd_loop *loop);

#endif
