/* The context's gate, deadlines and dispatch queue. */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "call/call.h"
#include "context.h"
#include "error/error_internal.h"

etcd_code etcd_context_begin(etcd_context *ctx, etcd_error **err)
{
    /* Count first, then look: closing sets the flag first, then waits for the count, so either
     * closing sees this call or this call sees closing. */
    atomic_fetch_add_explicit(&ctx->inflight, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&ctx->closing, memory_order_seq_cst)) {
        etcd_context_end(ctx);
        return etcd_error_set(err, ETCD_E_CLOSED, "the client is closing");
    }
    return ETCD_OK;
}

void etcd_context_end(etcd_context *ctx)
{
    if (atomic_fetch_sub_explicit(&ctx->inflight, 1, memory_order_seq_cst) == 1 &&
        atomic_load_explicit(&ctx->closing, memory_order_seq_cst)) {
        pthread_mutex_lock(&ctx->mu);
        pthread_cond_broadcast(&ctx->idle);
        pthread_mutex_unlock(&ctx->mu);
    }
}

int64_t etcd_context_deadline(const etcd_context *ctx, int64_t own_timeout_ms)
{
    int64_t timeout = own_timeout_ms > 0 ? own_timeout_ms : ctx->request_timeout_ms;
    if (timeout <= 0)
        return 0;
    int64_t now = etcd_now_ms();
    /* Too far away to represent: no deadline, rather than one in the past. */
    return timeout > INT64_MAX - now ? 0 : now + timeout;
}

bool etcd_context_require_leader(const etcd_context *ctx, int own)
{
    return own >= 0 ? own != 0 : ctx->require_leader;
}

/* The context whose callbacks this thread is running in caller-dispatch mode, if any. */
static __thread const etcd_context *dispatching;

void etcd_context_deliver(etcd_context *ctx, etcd_delivery *d)
{
    if (ctx->dispatch != ETCD_DISPATCH_CALLER) {
        etcd_delivery_run(d);
        return;
    }
    pthread_mutex_lock(&ctx->mu);
    d->next = NULL;
    /* A list already waiting has made the descriptor readable (dispatch reads it before it
     * takes the list): only the first result needs a write. */
    bool first = !ctx->ready_head;
    if (ctx->ready_tail)
        ctx->ready_tail->next = d;
    else
        ctx->ready_head = d;
    ctx->ready_tail = d;
    pthread_mutex_unlock(&ctx->mu);
    if (first) {
        uint64_t one = 1;
        ssize_t w = write(ctx->event_fd, &one, sizeof one);
        (void)w; /* EAGAIN means the counter is already non-zero: the fd is readable anyway */
    }
}

int etcd_context_dispatch(etcd_context *ctx)
{
    if (ctx->event_fd < 0)
        return 0;
    uint64_t n;
    ssize_t r = read(ctx->event_fd, &n, sizeof n);
    (void)r;
    pthread_mutex_lock(&ctx->mu);
    etcd_delivery *list = ctx->ready_head;
    ctx->ready_head = ctx->ready_tail = NULL;
    pthread_mutex_unlock(&ctx->mu);
    const etcd_context *outer = dispatching;
    dispatching = ctx;
    int ran = 0;
    while (list) {
        etcd_delivery *next = list->next;
        etcd_delivery_run(list);
        list = next;
        ran++;
    }
    dispatching = outer;
    return ran;
}

bool etcd_context_in_callback(const etcd_context *ctx)
{
    return etcd_loop_on_thread(ctx->loop) || dispatching == ctx;
}

static void *stream_main(void *arg)
{
    etcd_context *ctx = arg;
    dispatching = ctx;
    pthread_mutex_lock(&ctx->mu);
    for (;;) {
        while (!ctx->stream_head && !ctx->stream_stop) {
            ctx->stream_waiting = true;
            pthread_cond_wait(&ctx->stream_cv, &ctx->mu);
            ctx->stream_waiting = false;
        }
        etcd_delivery *list = ctx->stream_head;
        ctx->stream_head = ctx->stream_tail = NULL;
        if (!list && ctx->stream_stop)
            break;
        pthread_mutex_unlock(&ctx->mu);
        while (list) {
            etcd_delivery *next = list->next;
            etcd_delivery_run(list);
            list = next;
        }
        pthread_mutex_lock(&ctx->mu);
    }
    pthread_mutex_unlock(&ctx->mu);
    return NULL;
}

bool etcd_context_deliver_stream(etcd_context *ctx, etcd_delivery *d)
{
    if (ctx->dispatch == ETCD_DISPATCH_CALLER) {
        etcd_context_deliver(ctx, d);
        return true;
    }
    pthread_mutex_lock(&ctx->mu);
    if (!ctx->stream_thread_running) {
        if (pthread_create(&ctx->stream_thread, NULL, stream_main, ctx) != 0) {
            pthread_mutex_unlock(&ctx->mu);
            return false;
        }
        ctx->stream_thread_running = true;
    }
    d->next = NULL;
    if (ctx->stream_tail)
        ctx->stream_tail->next = d;
    else
        ctx->stream_head = d;
    ctx->stream_tail = d;
    /* Awake, it finds the list before it sleeps again. From the loop thread the wake-up waits
     * until the loop is idle, so the answers of one read cost one. */
    bool defer = ctx->stream_waiting && etcd_loop_on_thread(ctx->loop);
    if (ctx->stream_waiting && !defer)
        pthread_cond_signal(&ctx->stream_cv);
    pthread_mutex_unlock(&ctx->mu);
    if (defer)
        etcd_loop_defer(ctx->loop, &ctx->stream_wake);
    return true;
}

static void stream_wake_run(etcd_idle_task *t)
{
    etcd_context *ctx = (etcd_context *)((char *)t - offsetof(etcd_context, stream_wake));
    pthread_mutex_lock(&ctx->mu);
    if (ctx->stream_waiting && ctx->stream_head)
        pthread_cond_signal(&ctx->stream_cv);
    pthread_mutex_unlock(&ctx->mu);
}

void etcd_context_init_streams(etcd_context *ctx)
{
    ctx->stream_wake.run = stream_wake_run;
}

void etcd_context_stop_streams(etcd_context *ctx)
{
    pthread_mutex_lock(&ctx->mu);
    bool running = ctx->stream_thread_running;
    ctx->stream_stop = true;
    pthread_cond_signal(&ctx->stream_cv);
    pthread_mutex_unlock(&ctx->mu);
    if (running)
        pthread_join(ctx->stream_thread, NULL);
    ctx->stream_thread_running = false;
}
