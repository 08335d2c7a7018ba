/*
 * peer --op keepalive: the shared keepalive workload (shared/peers/README.md, "Stream
 * workloads"), field for field what the Go peer does and prints:
 *   untimed, grant --total leases of TTL 9 s, 64 grants in flight;
 *   timed, keep every one alive with the client's automatic keepalive for --seconds, counting
 *   the answers; then cancel them all and wait until every keepalive has ended (the Go peer
 *   waits for every channel to close).
 * Both clients renew at once, then every TTL/3 (3 s), so each lease is answered about
 * seconds / 3 + 1 times. An answer with TTL <= 0 ends etcdc's keepalive with
 * ETCD_E_LEASE_NOT_FOUND (clientv3 closes the channel instead, without passing it on): it is
 * counted as an error, as is any other end before we cancel.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

#define LEASE_TTL_S 9
#define GRANTS_IN_FLIGHT 64
/* Bounds on the waits, so that a run never hangs: far above what the workload needs. */
#define GRANT_WAIT_MS (10LL * 60 * 1000)
#define END_WAIT_MS (60LL * 1000)

typedef struct ka_run {
    etcd_lease *lease;
    uint64_t total;
    int64_t *ids;               /* granted lease IDs, by grant number */
    etcd_call **calls;          /* the keepalives, by lease */
    atomic_uint_fast64_t next_grant;
    bench_latch granted;        /* grants answered */
    bench_latch ended;          /* keepalives ended (their last callback ran) */
    _Atomic uint64_t answers;
    _Atomic uint64_t errors;
    atomic_bool cancelling;     /* set before we cancel: ends after it are expected */
    pthread_mutex_t mu;         /* guards why */
    char why[256];              /* the first failure */
} ka_run;

typedef struct grant_slot {
    ka_run *r;
    uint64_t idx;
} grant_slot;

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void note_failure(ka_run *r, const char *what, etcd_code code, const etcd_error *err)
{
    pthread_mutex_lock(&r->mu);
    if (!r->why[0])
        snprintf(r->why, sizeof r->why, "%s: %s", what, err ? etcd_error_message(err) : etcd_strerror(code));
    pthread_mutex_unlock(&r->mu);
}

/* ---- the untimed grants: each slot starts its next grant from the last one's callback ---- */
static void on_granted(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud);

static void grant_next(grant_slot *s)
{
    ka_run *r = s->r;
    uint64_t i = atomic_fetch_add_explicit(&r->next_grant, 1, memory_order_relaxed);
    if (i >= r->total)
        return;
    s->idx = i;
    etcd_error *err = NULL;
    etcd_code rc = etcd_lease_grant_async(r->lease, LEASE_TTL_S, 0, on_granted, s, NULL, &err);
    if (rc != ETCD_OK) {
        /* The Go peer dies on a failed grant: so does the run. */
        note_failure(r, "grant", rc, err);
        etcd_error_free(err);
        bench_latch_fail(&r->granted);
    }
}

static void on_granted(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    grant_slot *s = ud;
    ka_run *r = s->r;
    if (code == ETCD_OK) {
        r->ids[s->idx] = etcd_lease_response_id(resp);
    } else {
        note_failure(r, "grant", code, err);
        bench_latch_fail(&r->granted);
    }
    etcd_response_free(resp);
    etcd_error_free(err);
    if (code != ETCD_OK)
        return;
    /* The slot's next grant first: once the last grant is counted, grant_all() frees the slots. */
    grant_next(s);
    bench_latch_add(&r->granted, 1);
}

static bool grant_all(ka_run *r)
{
    size_t nslots = r->total < GRANTS_IN_FLIGHT ? (size_t)r->total : GRANTS_IN_FLIGHT;
    grant_slot *slots = calloc(nslots, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "out of memory\n");
        return false;
    }
    for (size_t k = 0; k < nslots; k++) {
        slots[k].r = r;
        grant_next(&slots[k]);
    }
    bool ok = bench_latch_wait(&r->granted, GRANT_WAIT_MS);
    if (!ok) {
        pthread_mutex_lock(&r->mu);
        fprintf(stderr, "%s after %llu of %llu leases\n", r->why[0] ? r->why : "grant: timed out",
                (unsigned long long)atomic_load(&r->granted.count), (unsigned long long)r->total);
        pthread_mutex_unlock(&r->mu);
        /* Grants still in flight use the slots: the caller exits, it does not free them. */
        return false;
    }
    free(slots);
    return true;
}

/* ---- the timed part ---- */
static void on_keepalive(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    ka_run *r = ud;
    if (resp) {
        if (etcd_lease_response_ttl(resp) <= 0)
            atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->answers, 1, memory_order_relaxed);
        etcd_response_free(resp);
        return;
    }
    /* The end: expected once we cancel; before that the lease was lost or is gone. */
    if (!(code == ETCD_E_CANCELLED && atomic_load(&r->cancelling))) {
        atomic_fetch_add_explicit(&r->errors, 1, memory_order_relaxed);
        note_failure(r, "keepalive", code, err);
    }
    etcd_error_free(err);
    bench_latch_add(&r->ended, 1);
}

/* Sleeps until the monotonic time `until_ns`, through signals. */
static void sleep_until(uint64_t until_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000u), .tv_nsec = (long)(until_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int bench_peer_keepalive(bench_clients *cl, const bench_peer_stream_args *a)
{
    int rc = 1;
    bench_dispatcher disp = {0};
    ka_run r;
    memset(&r, 0, sizeof r);
    r.total = (uint64_t)a->total;
    r.lease = etcd_client_lease(cl->c[0]);
    atomic_init(&r.next_grant, 0);
    atomic_init(&r.answers, 0);
    atomic_init(&r.errors, 0);
    atomic_init(&r.cancelling, false);
    bench_latch_init(&r.granted, r.total);
    bench_latch_init(&r.ended, r.total);
    pthread_mutex_init(&r.mu, NULL);
    r.ids = calloc(r.total, sizeof *r.ids);
    r.calls = calloc(r.total, sizeof *r.calls);
    if (!r.ids || !r.calls) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    /* The grants' callbacks need dispatching in caller mode too: start our thread first. */
    if (!bench_dispatcher_start(&disp, cl))
        goto out;
    if (!grant_all(&r))
        goto out;

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < r.total; i++) {
        etcd_error *err = NULL;
        etcd_code c = etcd_lease_keep_alive(r.lease, r.ids[i], 1, on_keepalive, &r, &r.calls[i], &err);
        if (c != ETCD_OK) {
            /* As the Go peer: a keepalive that cannot start ends the run. */
            fprintf(stderr, "keepalive of lease %lld: %s\n", (long long)r.ids[i],
                    err ? etcd_error_message(err) : etcd_strerror(c));
            etcd_error_free(err);
            goto out;
        }
    }
    sleep_until(t0 + (uint64_t)a->seconds * 1000000000u);
    atomic_store(&r.cancelling, true);
    for (uint64_t i = 0; i < r.total; i++)
        etcd_call_cancel(r.calls[i]);
    bool ended = bench_latch_wait(&r.ended, END_WAIT_MS);
    uint64_t t1 = bench_now_ns();
    getrusage(RUSAGE_SELF, &ru1);
    if (!ended) {
        fprintf(stderr, "keepalive: %llu of %llu keepalives did not end after the cancel\n",
                (unsigned long long)(r.total - atomic_load(&r.ended.count)), (unsigned long long)r.total);
        goto out;
    }

    uint64_t count = atomic_load(&r.answers);
    uint64_t errors = atomic_load(&r.errors);
    if (count == 0)
        count = 1;
    double wall = (double)(t1 - t0) / 1e9;
    double usr = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime), sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
    double per = wall / (double)count * 1e6;
    printf("RESULT peer=etcdc label=%s op=%s total=%lld inflight=%lld val=%lld errors=%llu wall_s=%.4f ops_s=%.1f "
           "avg_us=%.1f p50_us=%.1f p99_us=%.1f cpu_user_s=%.4f cpu_sys_s=%.4f cpu_s_per_10k=%.4f count=%llu "
           "maxrss_kb=%ld\n",
           a->label, a->op, a->total, a->inflight < 1 ? 1 : a->inflight, a->val_size, (unsigned long long)errors,
           wall, (double)count / wall, per, per, per, usr, sys, (usr + sys) * 10000 / (double)count,
           (unsigned long long)count, bench_peak_rss_kb());
    fflush(stdout);
    if (errors) {
        pthread_mutex_lock(&r.mu);
        if (r.why[0])
            fprintf(stderr, "first error: %s\n", r.why);
        pthread_mutex_unlock(&r.mu);
    }
    rc = 0;
out:
    if (r.calls)
        for (uint64_t i = 0; i < r.total; i++)
            etcd_call_cancel(r.calls[i]);
    /* Closing the client ends what is still going and runs the last callbacks, which use r:
     * r goes after it; the dispatch thread must be gone first (one dispatcher at a time). */
    bench_dispatcher_stop(&disp);
    bench_clients_close(cl);
    if (r.calls)
        for (uint64_t i = 0; i < r.total; i++)
            etcd_call_release(r.calls[i]);
    free(r.calls);
    free(r.ids);
    pthread_mutex_destroy(&r.mu);
    bench_latch_destroy(&r.ended);
    bench_latch_destroy(&r.granted);
    return rc;
}
