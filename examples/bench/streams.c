/*
 * What the stream workloads (watch, peer --op watch|watchers) need beside the runner: a latch
 * that etcdc's callbacks count into while the main thread waits, and a dispatch thread for
 * ETCD_DISPATCH_CALLER, so that the main thread can wait in either mode.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_latch_init(bench_latch *l, uint64_t target)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&l->count, 0);
    l->target = target;
    l->done = target == 0;
    l->failed = false;
}

void bench_latch_destroy(bench_latch *l)
{
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
}

void bench_latch_add(bench_latch *l, uint64_t n)
{
    uint64_t before = atomic_fetch_add_explicit(&l->count, n, memory_order_acq_rel);
    if (before < l->target && before + n >= l->target) {
        pthread_mutex_lock(&l->mu);
        l->done = true;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
}

void bench_latch_fail(bench_latch *l)
{
    pthread_mutex_lock(&l->mu);
    l->done = true;
    l->failed = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

bool bench_latch_wait(bench_latch *l, long long timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    int rc = 0;
    while (!l->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&l->cv, &l->mu, &until);
    bool ok = l->done && !l->failed;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static void *dispatch_main(void *arg)
{
    bench_dispatcher *d = arg;
    size_t n = d->cl->n;
    struct pollfd *p = calloc(n + 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory for the dispatch thread\n");
        exit(1);
    }
    for (size_t k = 0; k < n; k++) {
        p[k].fd = etcd_client_fd(d->cl->c[k]);
        p[k].events = POLLIN;
    }
    p[n].fd = d->stop_pipe[0];
    p[n].events = POLLIN;
    for (;;) {
        if (poll(p, n + 1, -1) < 0 && errno != EINTR)
            break;
        if (p[n].revents)
            break;
        for (size_t k = 0; k < n; k++)
            if (p[k].revents & POLLIN)
                etcd_client_dispatch(d->cl->c[k]);
    }
    free(p);
    return NULL;
}

bool bench_dispatcher_start(bench_dispatcher *d, bench_clients *cl)
{
    d->cl = cl;
    d->running = false;
    if (cl->mode != ETCD_DISPATCH_CALLER)
        return true;
    if (pipe(d->stop_pipe) != 0) {
        fprintf(stderr, "could not start the dispatch thread\n");
        return false;
    }
    if (pthread_create(&d->thread, NULL, dispatch_main, d) != 0) {
        fprintf(stderr, "could not start the dispatch thread\n");
        close(d->stop_pipe[0]);
        close(d->stop_pipe[1]);
        return false;
    }
    d->running = true;
    return true;
}

/* Stops the thread; callbacks still due run in etcd_client_free(), as async.h says. */
void bench_dispatcher_stop(bench_dispatcher *d)
{
    if (!d->running)
        return;
    ssize_t w = write(d->stop_pipe[1], "", 1);
    (void)w;
    pthread_join(d->thread, NULL);
    close(d->stop_pipe[0]);
    close(d->stop_pipe[1]);
    d->running = false;
}
