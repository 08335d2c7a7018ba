/*
 * The runner: keeps `inflight` requests going with etcdc's async API. Each slot holds one request
 * in flight; its callback records the latency and starts the slot's next request, so no thread
 * of ours blocks on a call. Request numbers come from one atomic counter, which is all the slots
 * share (with ETCD_DISPATCH_THREAD and several clients, callbacks run on several threads).
 *
 * The window opens from the first request's callback: the first request starts on the calling
 * thread, the other slots from its completion, so that every request starts on the thread that
 * completes them, as in an event-driven program. Started from two threads, the window's memory
 * would sit in two of glibc's malloc arenas (one of them idle) instead of one.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

typedef struct runner runner;

typedef struct slot {
    runner *r;
    etcd_kv *kv;
    uint64_t idx;             /* the request in flight */
    uint64_t start_ns;
} slot;

struct runner {
    const bench_workload *w;
    uint64_t total;
    atomic_uint_fast64_t next;  /* next request number to hand out */
    atomic_size_t active;       /* slots that have not run out of requests */
    atomic_uint_fast64_t errors;
    uint64_t *lat;              /* NULL when not recording */
    uint8_t *failed;
    bench_errors *errs;
    int done_pipe[2];           /* the last slot to finish writes a byte */
    slot *slots;
    size_t nslots;
    atomic_bool opened;         /* every slot has been started */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void note_error(runner *r, uint64_t i, const char *msg)
{
    atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
    if (r->failed)
        r->failed[i] = 1;
    bench_note_error(r->errs, msg);
}

void bench_note_error(bench_errors *e, const char *msg)
{
    pthread_mutex_lock(&e->mu);
    size_t k = 0;
    while (k < e->n && strcmp(e->msg[k], msg) != 0)
        k++;
    if (k < e->n)
        e->count[k]++;
    else if (e->n < BENCH_MAX_ERROR_KINDS && (e->msg[e->n] = strdup(msg)) != NULL)
        e->count[e->n++] = 1;
    else
        e->other++;
    pthread_mutex_unlock(&e->mu);
}

static void slot_finish(slot *s)
{
    runner *r = s->r;
    if (atomic_fetch_sub_explicit(&r->active, 1, memory_order_acq_rel) == 1) {
        ssize_t w = write(r->done_pipe[1], "", 1);
        (void)w;
    }
}

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud);
static void slot_next(slot *s);

/* Starts slots 1.. once, from the first completion (or from slot 0 running out of requests,
 * so that a run whose every start fails still ends). */
static void open_window(runner *r)
{
    if (atomic_load_explicit(&r->opened, memory_order_relaxed) || atomic_exchange(&r->opened, true))
        return;
    for (size_t k = 1; k < r->nslots; k++)
        slot_next(&r->slots[k]);
}

/*
 * Starts the slot's next request; on a failed start counts the error and tries the next one.
 * etcdc never runs a callback inside the submitting call, so this does not recurse.
 */
static void slot_next(slot *s)
{
    runner *r = s->r;
    for (;;) {
        uint64_t i = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
        if (i >= r->total) {
            open_window(r);
            slot_finish(s);
            return;
        }
        s->idx = i;
        s->start_ns = now_ns();
        etcd_error *err = NULL;
        etcd_code rc = r->w->submit(r->w->ctx, s->kv, i, on_done, s, &err);
        if (rc == ETCD_OK)
            return; /* s now belongs to the callback: do not touch it */
        if (r->lat)
            r->lat[i] = now_ns() - s->start_ns;
        note_error(r, i, err ? etcd_error_message(err) : etcd_strerror(rc));
        etcd_error_free(err);
    }
}

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    slot *s = ud;
    runner *r = s->r;
    uint64_t end = now_ns();
    if (r->lat)
        r->lat[s->idx] = end - s->start_ns;
    if (code != ETCD_OK) {
        note_error(r, s->idx, err ? etcd_error_message(err) : etcd_strerror(code));
    } else if (r->w->check) {
        const char *bad = r->w->check(r->w->ctx, resp);
        if (bad)
            note_error(r, s->idx, bad);
    }
    etcd_response_free(resp);
    etcd_error_free(err);
    open_window(r);
    slot_next(s);
}

/* Waits for the last slot: on the pipe alone, or running the callbacks ourselves (caller mode). */
static void wait_done(runner *r, bench_clients *cl)
{
    if (cl->mode == ETCD_DISPATCH_THREAD) {
        char b;
        while (read(r->done_pipe[0], &b, 1) < 0 && errno == EINTR)
            ;
        return;
    }
    struct pollfd *p = calloc(cl->n + 1, sizeof *p);
    if (!p) {
        /* No memory for the poll set: dispatch by polling each client in turn. */
        while (atomic_load(&r->active) > 0)
            for (size_t k = 0; k < cl->n; k++)
                etcd_client_dispatch(cl->c[k]);
        return;
    }
    for (size_t k = 0; k < cl->n; k++) {
        p[k].fd = etcd_client_fd(cl->c[k]);
        p[k].events = POLLIN;
    }
    p[cl->n].fd = r->done_pipe[0];
    p[cl->n].events = POLLIN;
    while (atomic_load(&r->active) > 0) {
        if (poll(p, cl->n + 1, -1) < 0 && errno != EINTR)
            break;
        for (size_t k = 0; k < cl->n; k++)
            if (p[k].revents & POLLIN)
                etcd_client_dispatch(cl->c[k]);
    }
    free(p);
}

bool bench_run(bench_clients *cl, const bench_workload *w, uint64_t total, size_t inflight, bench_result *res)
{
    runner r;
    memset(&r, 0, sizeof r);
    bench_errors scratch; /* a warm-up's errors are counted, then dropped */
    memset(&scratch, 0, sizeof scratch);
    pthread_mutex_init(&scratch.mu, NULL);
    r.w = w;
    r.total = total;
    r.errs = &scratch;
    if (res) {
        memset(res, 0, sizeof *res);
        pthread_mutex_init(&res->errs.mu, NULL);
        res->total = total;
        res->lat_ns = calloc(total ? total : 1, sizeof *res->lat_ns);
        res->failed = calloc(total ? total : 1, 1);
        if (!res->lat_ns || !res->failed) {
            fprintf(stderr, "out of memory for %llu latencies\n", (unsigned long long)total);
            bench_result_free(res);
            pthread_mutex_destroy(&scratch.mu);
            return false;
        }
        /* Fault the pages in now, not inside the timed part. */
        memset(res->lat_ns, 0, total * sizeof *res->lat_ns);
        memset(res->failed, 0, total);
        r.lat = res->lat_ns;
        r.failed = res->failed;
        r.errs = &res->errs;
    }
    size_t nslots = inflight < total ? inflight : (size_t)total;
    if (nslots == 0)
        nslots = 1;
    r.slots = calloc(nslots, sizeof *r.slots);
    if (!r.slots || pipe(r.done_pipe) != 0) {
        fprintf(stderr, "could not set up the run\n");
        free(r.slots);
        if (res)
            bench_result_free(res);
        pthread_mutex_destroy(&scratch.mu);
        return false;
    }
    r.nslots = nslots;
    atomic_init(&r.opened, nslots == 1);
    atomic_init(&r.next, 0);
    atomic_init(&r.active, nslots);
    atomic_init(&r.errors, 0);
    for (size_t k = 0; k < nslots; k++) {
        r.slots[k].r = &r;
        r.slots[k].kv = etcd_client_kv(cl->c[k % cl->n]);
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = now_ns();
    slot_next(&r.slots[0]);
    wait_done(&r, cl);
    uint64_t t1 = now_ns();
    getrusage(RUSAGE_SELF, &ru1);

    if (res) {
        res->errors = atomic_load(&r.errors);
        res->wall_s = (double)(t1 - t0) / 1e9;
        res->cpu_user_s = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
        res->cpu_sys_s = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
    }
    close(r.done_pipe[0]);
    close(r.done_pipe[1]);
    free(r.slots);
    for (size_t k = 0; k < scratch.n; k++)
        free(scratch.msg[k]);
    pthread_mutex_destroy(&scratch.mu);
    return true;
}

void bench_result_free(bench_result *res)
{
    free(res->lat_ns);
    free(res->failed);
    for (size_t k = 0; k < res->errs.n; k++)
        free(res->errs.msg[k]);
    pthread_mutex_destroy(&res->errs.mu);
    memset(res, 0, sizeof *res);
}
