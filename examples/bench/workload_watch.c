/*
 * watch: as etcd's "benchmark watch": --streams x --watch-per-stream watches on
 * --watched-key-total keys (varint numbers below --key-space-size in --key-size bytes, in order
 * with --sequential-keys, else random), then --put-total puts on those keys, round-robin,
 * --clients in flight over --conns clients, at most --put-rate a second (0: no limit).
 *
 * etcdc puts every watch of a client on one stream, so each stream is a client of its own (one
 * connection each). Two reports: watch creation (each watch from etcd_watch() to the server's
 * "created") and events received (each event from the moment its put was issued: the put's
 * number travels in its 8-byte value), with client CPU per 10k watches / events.
 */
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

static long long streams = 10, per_stream = 100, key_total = 1, put_rate = 0, put_total = 1000, key_size = 32,
                 key_space = 1;
static bool sequential;

static flag_def watch_flags[] = {
    {"streams", FLAG_INT, &streams, "watch streams (etcdc clients, one stream each)", false},
    {"watch-per-stream", FLAG_INT, &per_stream, "watches per stream", false},
    {"watched-key-total", FLAG_INT, &key_total, "keys to be watched", false},
    {"put-rate", FLAG_INT, &put_rate, "puts per second; 0: no limit", false},
    {"put-total", FLAG_INT, &put_total, "puts", false},
    {"key-size", FLAG_INT, &key_size, "key size in bytes", false},
    {"key-space-size", FLAG_INT, &key_space, "maximum possible keys", false},
    {"sequential-keys", FLAG_BOOL, &sequential, "use sequential keys instead of random ones", false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

/* Bounds, so that a run that lost its server ends: creates, and events after the last put. */
#define CREATE_WAIT_MS (120LL * 1000)
#define EVENTS_WAIT_MS (30LL * 1000)

typedef struct watch_bench watch_bench;

typedef struct one_watch {
    watch_bench *b;
    uint64_t idx;
    uint64_t start_ns;
    etcd_call *call;
    bool answered;           /* its creation was counted; only its own callbacks touch it */
} one_watch;

struct watch_bench {
    /* creation */
    bench_latch created;
    uint64_t *create_lat;
    uint8_t *create_failed;
    _Atomic uint64_t create_errors;
    /* events */
    uint64_t put_base_ns;
    _Atomic uint64_t *issued;  /* per put: ns after put_base_ns when issued; 0 not yet */
    uint64_t nputs;
    bench_latch events;
    uint64_t *event_lat;       /* in arrival order */
    _Atomic uint64_t nevents;  /* slots of event_lat handed out */
    _Atomic uint64_t unattributed;
    /* puts */
    sem_t slots;
    _Atomic uint64_t put_errors;
    bench_errors put_errs;
};

static void on_watch(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    one_watch *w = ud;
    watch_bench *b = w->b;
    uint64_t now = bench_now_ns();
    if (!w->answered) {
        w->answered = true;
        b->create_lat[w->idx] = now - w->start_ns;
        if (!(resp && etcd_watch_response_created(resp))) {
            b->create_failed[w->idx] = 1;
            atomic_fetch_add_explicit(&b->create_errors, 1, memory_order_relaxed);
            fprintf(stderr, "watch %llu: %s\n", (unsigned long long)w->idx,
                    err ? etcd_error_message(err) : resp ? "first answer was not \"created\"" : etcd_strerror(code));
        }
        bench_latch_add(&b->created, 1);
    }
    if (resp) {
        size_t n = etcd_watch_response_event_count(resp);
        for (size_t i = 0; i < n; i++) {
            size_t vl = 0;
            const uint8_t *v = etcd_keyvalue_value(etcd_event_kv(etcd_watch_response_event_at(resp, i)), &vl);
            uint64_t seq = 0;
            for (size_t k = 0; vl == 8 && k < 8; k++)
                seq = seq << 8 | v[k];
            uint64_t at = vl == 8 && seq < b->nputs ? atomic_load_explicit(&b->issued[seq], memory_order_acquire) : 0;
            uint64_t slot = atomic_fetch_add_explicit(&b->nevents, 1, memory_order_relaxed);
            if (at == 0)
                atomic_fetch_add_explicit(&b->unattributed, 1, memory_order_relaxed);
            else if (slot < b->events.target)
                b->event_lat[slot] = now - (b->put_base_ns + at);
        }
        if (n)
            bench_latch_add(&b->events, n);
    }
    etcd_response_free(resp);
    etcd_error_free(err);
}

static void on_put(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    watch_bench *b = ud;
    if (code != ETCD_OK) {
        atomic_fetch_add_explicit(&b->put_errors, 1, memory_order_relaxed);
        bench_note_error(&b->put_errs, err ? etcd_error_message(err) : etcd_strerror(code));
    }
    etcd_response_free(resp);
    etcd_error_free(err);
    sem_post(&b->slots);
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void sleep_until_ns(uint64_t t)
{
    uint64_t now = bench_now_ns();
    if (now >= t)
        return;
    struct timespec ts = {.tv_sec = (time_t)((t - now) / 1000000000u), .tv_nsec = (long)((t - now) % 1000000000u)};
    nanosleep(&ts, NULL);
}

typedef struct key_num {
    uint64_t num, idx;
} key_num;

static int cmp_key_num(const void *a, const void *b)
{
    const key_num *x = a, *y = b;
    return x->num < y->num ? -1 : x->num > y->num;
}

/* Watches per watched key, counting every watch on an equal key (random keys may repeat). */
static uint64_t *watchers_per_key(const uint64_t *nums, uint64_t nkeys, uint64_t nwatches)
{
    uint64_t *per = calloc(nkeys, sizeof *per);
    key_num *kn = calloc(nkeys, sizeof *kn);
    if (!per || !kn) {
        free(per);
        free(kn);
        return NULL;
    }
    for (uint64_t i = 0; i < nkeys; i++)
        kn[i] = (key_num){nums[i], i};
    qsort(kn, nkeys, sizeof *kn, cmp_key_num);
    for (uint64_t s = 0; s < nkeys;) {
        uint64_t e = s, sum = 0;
        for (; e < nkeys && kn[e].num == kn[s].num; e++) /* watch j is on key j % nkeys */
            sum += nwatches / nkeys + (kn[e].idx < nwatches % nkeys);
        for (uint64_t k = s; k < e; k++)
            per[kn[k].idx] = sum;
        s = e;
    }
    free(kn);
    return per;
}

static bool check_flags(const bench_global *g)
{
    if (streams < 1 || per_stream < 1 || key_total < 1 || put_total < 0 || put_rate < 0) {
        fprintf(stderr, "--streams, --watch-per-stream and --watched-key-total must be at least 1, --put-total and "
                        "--put-rate not negative\n");
        return false;
    }
    if (g->conns < 1 || g->clients < 1) {
        fprintf(stderr, "--conns and --clients must be at least 1\n");
        return false;
    }
    return bench_check_key_size(key_size, key_space);
}

static int watch_run(bench_global *g, const char **args, size_t nargs)
{
    (void)args;
    (void)nargs;
    if (!check_flags(g))
        return 2;
    etcd_dispatch mode;
    if (!bench_parse_dispatch(g->dispatch, &mode))
        return 2;
    uint64_t nwatches = (uint64_t)streams * (uint64_t)per_stream, nkeys = (uint64_t)key_total;
    uint64_t nputs = (uint64_t)put_total;

    watch_bench b;
    memset(&b, 0, sizeof b);
    bench_latch_init(&b.created, nwatches);
    pthread_mutex_init(&b.put_errs.mu, NULL);
    sem_init(&b.slots, 0, (unsigned)g->clients);
    b.nputs = nputs;
    int rc = 1;
    bench_clients wcl = {0}, pcl = {0};
    bench_dispatcher wd = {0}, pd = {0};
    bool events_init = false;
    uint64_t *nums = calloc(nkeys, sizeof *nums), *per_key = NULL;
    uint8_t *keys = calloc(nkeys, (size_t)key_size);
    one_watch *ws = calloc(nwatches, sizeof *ws);
    b.create_lat = calloc(nwatches, sizeof *b.create_lat);
    b.create_failed = calloc(nwatches, 1);
    b.issued = calloc(nputs ? nputs : 1, sizeof *b.issued);
    if (!nums || !keys || !ws || !b.create_lat || !b.create_failed || !b.issued) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    uint64_t seed = bench_mix64((uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)ws);
    for (uint64_t i = 0; i < nkeys; i++) {
        nums[i] = (sequential ? i : bench_mix64(seed ^ i)) % (uint64_t)key_space;
        bench_varint_key(keys + i * (size_t)key_size, (size_t)key_size, (int64_t)nums[i]); /* fits: checked */
    }
    if (!(per_key = watchers_per_key(nums, nkeys, nwatches))) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    uint64_t nevents = 0;
    for (uint64_t p = 0; p < nputs; p++)
        nevents += per_key[p % nkeys];
    b.event_lat = calloc(nevents ? nevents : 1, sizeof *b.event_lat);
    if (!b.event_lat) {
        fprintf(stderr, "out of memory for %llu events\n", (unsigned long long)nevents);
        goto out;
    }
    bench_latch_init(&b.events, nevents);
    events_init = true;

    if (!bench_clients_open(&wcl, g->endpoints, (size_t)streams, mode, g->request_timeout_ms) ||
        !bench_clients_open(&pcl, g->endpoints, (size_t)g->conns, mode, g->request_timeout_ms) ||
        !bench_dispatcher_start(&wd, &wcl) || !bench_dispatcher_start(&pd, &pcl))
        goto out;

    /* ---- creation ---- */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = bench_now_ns();
    for (uint64_t j = 0; j < nwatches; j++) {
        one_watch *w = &ws[j];
        w->b = &b;
        w->idx = j;
        etcd_error *err = NULL;
        const uint8_t *key = keys + (j % nkeys) * (size_t)key_size;
        etcd_watch_opts *o = etcd_watch_opts_new(key, (size_t)key_size);
        w->start_ns = bench_now_ns();
        if (!o || etcd_watch_opts_with_created_notify(o) != ETCD_OK ||
            etcd_watch(etcd_client_watcher(wcl.c[j % wcl.n]), o, on_watch, w, &w->call, &err) != ETCD_OK) {
            w->answered = true;
            b.create_failed[j] = 1;
            atomic_fetch_add_explicit(&b.create_errors, 1, memory_order_relaxed);
            fprintf(stderr, "watch %llu: %s\n", (unsigned long long)j, err ? etcd_error_message(err) : "out of memory");
            etcd_error_free(err);
            bench_latch_add(&b.created, 1);
        }
        etcd_watch_opts_free(o);
    }
    bool all_created = bench_latch_wait(&b.created, CREATE_WAIT_MS);
    uint64_t t1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &ru1);
    if (!all_created) {
        fprintf(stderr, "only %llu of %llu watches were created within %lld s\n",
                (unsigned long long)atomic_load(&b.created.count), (unsigned long long)nwatches,
                CREATE_WAIT_MS / 1000);
        goto out;
    }
    bench_result cr = {
        .total = nwatches,
        .lat_ns = b.create_lat,
        .failed = b.create_failed,
        .errors = atomic_load(&b.create_errors),
        .wall_s = (double)(t1 - t0) / 1e9,
        .cpu_user_s = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime),
        .cpu_sys_s = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime),
        .unit = "watches",
    };
    printf("Watch creation summary:\n");
    bench_report(stdout, &cr);

    /* ---- puts and the events they cause ---- */
    uint8_t val[8];
    getrusage(RUSAGE_SELF, &ru0);
    t0 = b.put_base_ns = bench_now_ns();
    for (uint64_t p = 0; p < nputs; p++) {
        if (put_rate > 0)
            sleep_until_ns(t0 + p * 1000000000u / (uint64_t)put_rate);
        while (sem_wait(&b.slots) != 0)
            ;
        for (int k = 0; k < 8; k++)
            val[k] = (uint8_t)(p >> (56 - 8 * k));
        /* Issued before the put is sent: its event may arrive before the put's answer. */
        uint64_t at = bench_now_ns() - b.put_base_ns;
        atomic_store_explicit(&b.issued[p], at ? at : 1, memory_order_release);
        etcd_error *err = NULL;
        const uint8_t *key = keys + (p % nkeys) * (size_t)key_size;
        if (etcd_kv_put_async(etcd_client_kv(pcl.c[p % pcl.n]), key, (size_t)key_size, val, sizeof val, on_put, &b,
                              NULL, &err) != ETCD_OK) {
            atomic_fetch_add_explicit(&b.put_errors, 1, memory_order_relaxed);
            bench_note_error(&b.put_errs, err ? etcd_error_message(err) : "put not started");
            etcd_error_free(err);
            sem_post(&b.slots);
        }
    }
    for (long long k = 0; k < g->clients; k++) /* every put answered */
        while (sem_wait(&b.slots) != 0)
            ;
    bool all_events = bench_latch_wait(&b.events, EVENTS_WAIT_MS);
    t1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &ru1);

    /* Latencies of the events that came, in their slots; the rest are missing (failed). */
    uint64_t got = atomic_load(&b.nevents), unattributed = atomic_load(&b.unattributed);
    uint8_t *ev_failed = calloc(nevents ? nevents : 1, 1);
    if (!ev_failed) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    /* Unattributed events took a slot without a latency; count them with the missing ones. */
    uint64_t timed = got < nevents ? got : nevents;
    for (uint64_t i = 0; i < nevents; i++)
        ev_failed[i] = i >= timed || b.event_lat[i] == 0;
    bench_result er = {
        .total = nevents,
        .lat_ns = b.event_lat,
        .failed = ev_failed,
        .wall_s = (double)(t1 - t0) / 1e9,
        .cpu_user_s = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime),
        .cpu_sys_s = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime),
        .unit = "events",
    };
    er.errs = b.put_errs;
    er.errors = atomic_load(&b.put_errors);
    if (got < nevents) {
        er.errors += nevents - got;
        fprintf(stderr, "%llu of %llu events did not arrive within %lld s of the last put\n",
                (unsigned long long)(nevents - got), (unsigned long long)nevents, EVENTS_WAIT_MS / 1000);
    }
    if (unattributed) {
        er.errors += unattributed;
        fprintf(stderr, "%llu events could not be matched to a put\n", (unsigned long long)unattributed);
    }
    if (got > nevents)
        fprintf(stderr, "%llu more events than expected\n", (unsigned long long)(got - nevents));
    printf("\nWatch events received summary:\n");
    bench_report(stdout, &er);
    free(ev_failed);
    rc = all_events && cr.errors == 0 && er.errors == 0 ? 0 : 1;
out:
    for (uint64_t j = 0; ws && j < nwatches; j++)
        etcd_call_cancel(ws[j].call);
    /* Closing the clients ends every watch and runs the last callbacks: only then can their
     * memory go. The dispatch threads go first (one dispatcher per client at a time). */
    bench_dispatcher_stop(&wd);
    bench_dispatcher_stop(&pd);
    bench_clients_close(&wcl);
    bench_clients_close(&pcl);
    for (uint64_t j = 0; ws && j < nwatches; j++)
        etcd_call_release(ws[j].call);
    for (size_t k = 0; k < b.put_errs.n; k++)
        free(b.put_errs.msg[k]);
    pthread_mutex_destroy(&b.put_errs.mu);
    sem_destroy(&b.slots);
    if (events_init)
        bench_latch_destroy(&b.events);
    bench_latch_destroy(&b.created);
    free(ws);
    free(nums);
    free(per_key);
    free(keys);
    free(b.create_lat);
    free(b.create_failed);
    free((void *)b.issued);
    free(b.event_lat);
    return rc;
}

const bench_command bench_watch_command = {
    .name = "watch",
    .args = NULL,
    .summary = "Benchmark watch: creating watches, then the events of puts on the watched keys",
    .flags = watch_flags,
    .global_flags = true,
    .min_args = 0,
    .max_args = 0,
    .run = watch_run,
};
