/*
 * peer --op watch | watchers: the shared stream workloads (shared/peers/README.md, "Stream
 * workloads"), field for field what the Go peer does and prints:
 *   watch:    untimed, put "bench-w/start" and --total keys "bench-w/%010d" (64 in flight);
 *             timed, one watch of the prefix "bench-w/" from the revision after the start key
 *             until --total events have come, each value's length checked;
 *   watchers: timed, --total watches of the keys "bench-w/%010d" with created notify, until the
 *             server has confirmed every one (a watch whose first answer is not "created" is an
 *             error).
 * avg/p50/p99 are all wall time per item, as the Go peer prints them.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

/* Bounds on the waits, so that a run never hangs: far above what either workload needs. */
#define TIMED_WAIT_MS (10LL * 60 * 1000)

static const char prefix[] = "bench-w/";

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- preload (watch): the runner with 64 puts in flight ---- */
typedef struct preload_ctx {
    const uint8_t *val;
    size_t val_size;
} preload_ctx;

static etcd_code preload_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    const preload_ctx *p = ctx;
    char key[40];
    size_t n = bench_numbered_key(key, sizeof key, prefix, i);
    return etcd_kv_put_async(kv, key, n, p->val, p->val_size, cb, ud, NULL, err);
}

/* Puts the start key and n numbered keys; *start_rev = the revision after the start key's. */
static bool preload(bench_clients *cl, uint64_t n, const uint8_t *val, size_t val_size, int64_t *start_rev)
{
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    static const char start_key[] = "bench-w/start";
    if (etcd_kv_put(etcd_client_kv(cl->c[0]), start_key, strlen(start_key), val, val_size, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "preload: %s\n", err ? etcd_error_message(err) : "failed");
        etcd_error_free(err);
        return false;
    }
    *start_rev = etcd_response_revision(resp) + 1;
    etcd_response_free(resp);
    preload_ctx p = {.val = val, .val_size = val_size};
    bench_workload w = {.submit = preload_submit, .check = NULL, .ctx = &p};
    bench_result res;
    if (!bench_run(cl, &w, n, 64, &res))
        return false;
    bool ok = res.errors == 0;
    if (!ok) {
        fprintf(stderr, "preload: %llu puts failed:\n", (unsigned long long)res.errors);
        bench_print_errors(stderr, &res, 3);
    }
    bench_result_free(&res);
    return ok;
}

/* ---- the timed parts ---- */
typedef struct stream_run {
    bench_latch items;       /* events (watch) or confirmed watches (watchers) */
    _Atomic uint64_t errors;
    size_t val_size;
    pthread_mutex_t mu;      /* guards end_msg */
    char end_msg[256];       /* why the watch ended early (watch) */
} stream_run;

typedef struct one_watcher {
    stream_run *run;
    etcd_call *call;
    bool answered;           /* its first answer was counted; only its own callbacks touch it */
} one_watcher;

static void on_replay(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    stream_run *r = ud;
    if (resp) {
        size_t n = etcd_watch_response_event_count(resp);
        uint64_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            size_t vl = 0;
            etcd_keyvalue_value(etcd_event_kv(etcd_watch_response_event_at(resp, i)), &vl);
            bad += vl != r->val_size;
        }
        if (bad)
            atomic_fetch_add_explicit(&r->errors, bad, memory_order_relaxed);
        etcd_response_free(resp);
        if (n)
            bench_latch_add(&r->items, n);
        return;
    }
    /* The end: expected once we cancelled after the last event, a failure before that. */
    if (atomic_load(&r->items.count) < r->items.target) {
        pthread_mutex_lock(&r->mu);
        snprintf(r->end_msg, sizeof r->end_msg, "%s", err ? etcd_error_message(err) : etcd_strerror(code));
        pthread_mutex_unlock(&r->mu);
        bench_latch_fail(&r->items);
    }
    etcd_error_free(err);
}

static void on_created(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    (void)code;
    one_watcher *w = ud;
    bool first = !w->answered;
    w->answered = true;
    if (first && !(resp && etcd_watch_response_created(resp)))
        atomic_fetch_add_explicit(&w->run->errors, 1, memory_order_relaxed);
    etcd_response_free(resp);
    etcd_error_free(err);
    if (first)
        bench_latch_add(&w->run->items, 1);
}

int bench_peer_stream(bench_clients *cl, const bench_peer_stream_args *a)
{
    bool is_watch = strcmp(a->op, "watch") == 0;
    uint64_t total = (uint64_t)a->total;
    uint8_t *val = bench_random_bytes((size_t)a->val_size);
    one_watcher *ws = NULL;
    etcd_call *replay = NULL;
    bench_dispatcher disp = {0};
    int rc = 1;
    stream_run r;
    memset(&r, 0, sizeof r);
    bench_latch_init(&r.items, total);
    pthread_mutex_init(&r.mu, NULL);
    atomic_init(&r.errors, 0);
    r.val_size = (size_t)a->val_size;
    int64_t start_rev = 0;
    if (!val || (!is_watch && !(ws = calloc(total, sizeof *ws)))) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    /* The preload dispatches for itself in caller mode: start our dispatch thread after it. */
    if (is_watch && !preload(cl, total, val, r.val_size, &start_rev))
        goto out;
    if (!bench_dispatcher_start(&disp, cl))
        goto out;
    etcd_watcher *watcher = etcd_client_watcher(cl->c[0]);

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = bench_now_ns();
    etcd_error *err = NULL;
    if (is_watch) {
        etcd_watch_opts *o = etcd_watch_opts_new(prefix, strlen(prefix));
        if (!o || etcd_watch_opts_with_prefix(o) != ETCD_OK || etcd_watch_opts_with_rev(o, start_rev) != ETCD_OK ||
            etcd_watch(watcher, o, on_replay, &r, &replay, &err) != ETCD_OK) {
            fprintf(stderr, "watch: %s\n", err ? etcd_error_message(err) : "could not start");
            etcd_error_free(err);
            etcd_watch_opts_free(o);
            goto out;
        }
        etcd_watch_opts_free(o);
    } else {
        for (uint64_t i = 0; i < total; i++) {
            one_watcher *w = &ws[i];
            w->run = &r;
            char key[40];
            size_t n = bench_numbered_key(key, sizeof key, prefix, i);
            etcd_watch_opts *o = etcd_watch_opts_new(key, n);
            if (!o || etcd_watch_opts_with_created_notify(o) != ETCD_OK ||
                etcd_watch(watcher, o, on_created, w, &w->call, &err) != ETCD_OK) {
                /* Never started, so never answered: an error, as a closed channel is in Go. */
                w->answered = true;
                atomic_fetch_add_explicit(&r.errors, 1, memory_order_relaxed);
                bench_latch_add(&r.items, 1);
                etcd_error_free(err);
                err = NULL;
            }
            etcd_watch_opts_free(o);
        }
    }
    bool reached = bench_latch_wait(&r.items, TIMED_WAIT_MS);
    if (is_watch)
        etcd_call_cancel(replay);
    uint64_t t1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &ru1);
    if (!reached) {
        pthread_mutex_lock(&r.mu);
        fprintf(stderr, "%s: %s after %llu of %llu\n", a->op, r.end_msg[0] ? r.end_msg : "timed out",
                (unsigned long long)atomic_load(&r.items.count), (unsigned long long)total);
        pthread_mutex_unlock(&r.mu);
        goto out;
    }

    uint64_t count = atomic_load(&r.items.count);
    if (count == 0)
        count = 1;
    double wall = (double)(t1 - t0) / 1e9;
    double usr = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime), sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
    double per = wall / (double)count * 1e6;
    printf("RESULT peer=etcdc label=%s op=%s total=%lld inflight=%lld val=%lld errors=%llu wall_s=%.4f ops_s=%.1f "
           "avg_us=%.1f p50_us=%.1f p99_us=%.1f cpu_user_s=%.4f cpu_sys_s=%.4f cpu_s_per_10k=%.4f count=%llu "
           "maxrss_kb=%ld\n",
           a->label, a->op, a->total, a->inflight < 1 ? 1 : a->inflight, a->val_size,
           (unsigned long long)atomic_load(&r.errors), wall, (double)count / wall, per, per, per, usr, sys,
           (usr + sys) * 10000 / (double)count, (unsigned long long)count, bench_peak_rss_kb());
    fflush(stdout);
    rc = 0;
out:
    if (ws)
        for (uint64_t i = 0; i < total; i++)
            etcd_call_cancel(ws[i].call);
    /* Closing the client ends every watch and runs their last callbacks, so the watchers'
     * memory can go after it; the dispatch thread must be gone first (one dispatcher at a time). */
    bench_dispatcher_stop(&disp);
    bench_clients_close(cl);
    if (ws)
        for (uint64_t i = 0; i < total; i++)
            etcd_call_release(ws[i].call);
    etcd_call_release(replay);
    free(ws);
    free(val);
    pthread_mutex_destroy(&r.mu);
    bench_latch_destroy(&r.items);
    return rc;
}
