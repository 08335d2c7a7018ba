/*
 * What the lease tests record of kept leases: per lease, every renewal and the one final
 * callback, with times, the serving member and whether the callback contract held. Waiting
 * also runs the callbacks of a client in caller-dispatch mode, so one test body serves both
 * dispatch modes. Header-only, for the lease test programs.
 */
#ifndef ETCDC_LEASE_LOG_H
#define ETCDC_LEASE_LOG_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>

#include "itest.h"
#include "server_counts.h"

typedef struct lease_log lease_log;

typedef struct kept_entry {
    lease_log *log;
    int64_t id;
    etcd_call *call;
    int renewals, finals;
    etcd_code final_code;
    char final_msg[256];
    int64_t final_ms;           /* when the final callback ran */
    int64_t last_renew_ms;      /* when the last renewal callback ran */
    int64_t max_gap_ms;         /* longest time between two renewals (from the mark on) */
    int64_t expiry_ms;          /* etcd_lease_keep_alive_expiry_ms() read in the last renewal */
    uint64_t member;            /* the member that answered the last renewal */
    int64_t ttl;                /* the TTL of the last renewal */
    bool ended_seen;            /* a renewal read no expiry: the keepalive had ended already */
} kept_entry;

struct lease_log {
    pthread_mutex_t mu;
    int n;
    kept_entry *e;
    etcd_client *pump;          /* a caller-dispatch client whose callbacks waiting runs, or NULL */
    int renewals, finals;
    int violations;             /* callbacks that broke the contract */
    char violation[256];
};

static inline lease_log *lease_log_new(int n, etcd_client *pump)
{
    lease_log *g = calloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    g->n = n;
    g->e = calloc((size_t)n, sizeof *g->e);
    g->pump = pump;
    for (int i = 0; i < n; i++)
        g->e[i].log = g;
    return g;
}

static inline void lease_log_free(lease_log *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g->e);
    free(g);
}

static inline void log_violation(lease_log *g, const char *what, const kept_entry *e)
{
    if (g->violations++ == 0)
        snprintf(g->violation, sizeof g->violation, "lease %lld: %s", (long long)e->id, what);
}

/* The keepalive callback: checks the contract of async.h and lease.h and records. */
static inline void on_kept(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    kept_entry *e = ud;
    lease_log *g = e->log;
    int64_t now = sc_now_ms();
    /* Read outside the log's lock: it takes the lease interface's lock. */
    int64_t expiry = resp ? etcd_lease_keep_alive_expiry_ms(call) : 0;
    pthread_mutex_lock(&g->mu);
    if (e->call && call != e->call)
        log_violation(g, "callback got another call handle than the one stored", e);
    if (e->finals)
        log_violation(g, "callback after the final one", e);
    if (resp) {
        if (code != ETCD_OK || err)
            log_violation(g, "renewal with a failure code or an error", e);
        if (etcd_response_get_kind(resp) != ETCD_RESPONSE_LEASE_KEEP_ALIVE)
            log_violation(g, "renewal response of another kind", e);
        if (etcd_lease_response_id(resp) != e->id)
            log_violation(g, "renewal of another lease", e);
        if (etcd_lease_response_ttl(resp) <= 0)
            log_violation(g, "renewal with TTL <= 0 delivered as a renewal", e);
        /* A renewal still on its way when the keepalive ended reads 0 (lease.h); from then on
         * every read is 0, and the final callback must follow. */
        if (expiry <= 0)
            e->ended_seen = true;
        else if (e->ended_seen)
            log_violation(g, "an expiry estimate again after one read as ended", e);
        if (e->last_renew_ms && now - e->last_renew_ms > e->max_gap_ms)
            e->max_gap_ms = now - e->last_renew_ms;
        e->last_renew_ms = now;
        e->expiry_ms = expiry;
        e->member = etcd_response_member_id(resp);
        e->ttl = etcd_lease_response_ttl(resp);
        e->renewals++;
        g->renewals++;
    } else {
        if (code >= 0 || !err || etcd_error_code(err) != code)
            log_violation(g, "final callback without a failure code and a matching error", e);
        e->final_code = code;
        snprintf(e->final_msg, sizeof e->final_msg, "%s", err ? etcd_error_message(err) : "");
        e->final_ms = now;
        e->finals++;
        g->finals++;
    }
    pthread_mutex_unlock(&g->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

/* Runs ready callbacks (caller dispatch) or just lets time pass, for up to ~10 ms. */
static inline void lease_log_step(lease_log *g)
{
    if (g->pump) {
        struct pollfd p = {.fd = etcd_client_fd(g->pump), .events = POLLIN};
        poll(&p, 1, 10);
        etcd_client_dispatch(g->pump);
    } else {
        sc_sleep_ms(5); /* polling a condition */
    }
}

typedef bool (*log_pred)(lease_log *g, void *arg);

/* Waits until pred holds (checked under the log's lock); false after timeout_ms. */
static inline bool lease_log_wait(lease_log *g, log_pred pred, void *arg, int64_t timeout_ms)
{
    int64_t end = sc_now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool ok = pred(g, arg);
        pthread_mutex_unlock(&g->mu);
        if (ok)
            return true;
        if (sc_now_ms() >= end)
            return false;
        lease_log_step(g);
    }
}

/* Keeps the callbacks running for ms (for tests that watch something last). */
static inline void lease_log_run_for(lease_log *g, int64_t ms)
{
    int64_t end = sc_now_ms() + ms;
    while (sc_now_ms() < end)
        lease_log_step(g);
}

/* Totals, read while callbacks may still run. */
static inline int log_finals(lease_log *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->finals;
    pthread_mutex_unlock(&g->mu);
    return n;
}

static inline int log_renewals(lease_log *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->renewals;
    pthread_mutex_unlock(&g->mu);
    return n;
}

static inline bool pred_finals(lease_log *g, void *arg)
{
    return g->finals >= *(int *)arg;
}

/* Every lease renewed at least *arg times. */
static inline bool pred_each_renewed(lease_log *g, void *arg)
{
    for (int i = 0; i < g->n; i++)
        if (g->e[i].renewals < *(int *)arg)
            return false;
    return true;
}

/* Resets the gap measurement: gaps are measured from now on. */
static inline void lease_log_mark(lease_log *g)
{
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++)
        g->e[i].max_gap_ms = 0;
    pthread_mutex_unlock(&g->mu);
}

static inline int64_t lease_log_max_gap(lease_log *g)
{
    int64_t m = 0;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++) {
        int64_t gap = g->e[i].max_gap_ms;
        /* A lease still waiting for its next renewal has a gap too. */
        if (g->e[i].last_renew_ms && !g->e[i].finals && sc_now_ms() - g->e[i].last_renew_ms > gap)
            gap = sc_now_ms() - g->e[i].last_renew_ms;
        if (gap > m)
            m = gap;
    }
    pthread_mutex_unlock(&g->mu);
    return m;
}

static inline void assert_no_violation(lease_log *g)
{
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++)
        if (g->e[i].ended_seen && !g->e[i].finals)
            log_violation(g, "no expiry estimate in a renewal, and no final callback", &g->e[i]);
    int n = g->violations;
    pthread_mutex_unlock(&g->mu);
    if (n)
        fail_msg("%d callback contract violations, first: %s", n, g->violation);
}

/* ---- granting and checking many leases, through a thread-dispatch client ---- */

typedef struct grant_batch {
    pthread_mutex_t mu;
    int done, failed;
    int64_t *ids;
    int64_t *ttls;
} grant_batch;

typedef struct grant_slot {
    grant_batch *b;
    int i;
} grant_slot;

static inline void on_batch(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    grant_slot *s = ud;
    grant_batch *b = s->b;
    pthread_mutex_lock(&b->mu);
    if (code == ETCD_OK) {
        if (b->ids && etcd_response_get_kind(resp) == ETCD_RESPONSE_LEASE_GRANT)
            b->ids[s->i] = etcd_lease_response_id(resp);
        if (b->ttls)
            b->ttls[s->i] = etcd_lease_response_ttl(resp);
    } else {
        b->failed++;
    }
    b->done++;
    pthread_mutex_unlock(&b->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

static inline void batch_wait(grant_batch *b, int n)
{
    for (int i = 0; i < 6000; i++) {
        pthread_mutex_lock(&b->mu);
        int done = b->done;
        pthread_mutex_unlock(&b->mu);
        if (done >= n)
            return;
        sc_sleep_ms(10); /* polling a condition */
    }
    fail_msg("only %d of %d lease calls answered within 60 s", b->done, n);
}

/* Grants n leases of ttl_s seconds (IDs chosen by etcd) into ids. */
static inline void grant_many(etcd_lease *l, int n, int64_t ttl_s, int64_t *ids)
{
    grant_batch b = {.ids = ids};
    pthread_mutex_init(&b.mu, NULL);
    grant_slot *slots = calloc((size_t)n, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < n; i++) {
        slots[i] = (grant_slot){&b, i};
        ASSERT_OK(etcd_lease_grant_async(l, ttl_s, 0, on_batch, &slots[i], NULL, &err), err);
    }
    batch_wait(&b, n);
    assert_int_equal(b.failed, 0);
    for (int i = 0; i < n; i++)
        assert_true(ids[i] > 0);
    free(slots);
    pthread_mutex_destroy(&b.mu);
}

/* How many of the n leases the server still has (time-to-live answers TTL > 0). */
static inline int count_alive(etcd_lease *l, int n, const int64_t *ids)
{
    int64_t *ttls = calloc((size_t)n, sizeof *ttls);
    grant_batch b = {.ttls = ttls};
    pthread_mutex_init(&b.mu, NULL);
    grant_slot *slots = calloc((size_t)n, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < n; i++) {
        slots[i] = (grant_slot){&b, i};
        ASSERT_OK(etcd_lease_time_to_live_async(l, ids[i], 0, on_batch, &slots[i], NULL, &err), err);
    }
    batch_wait(&b, n);
    assert_int_equal(b.failed, 0);
    int alive = 0;
    for (int i = 0; i < n; i++)
        alive += ttls[i] > 0;
    free(ttls);
    free(slots);
    pthread_mutex_destroy(&b.mu);
    return alive;
}

/* Revokes the n leases, waiting for every answer. */
static inline void revoke_many(etcd_lease *l, int n, const int64_t *ids)
{
    grant_batch b = {0};
    pthread_mutex_init(&b.mu, NULL);
    grant_slot *slots = calloc((size_t)n, sizeof *slots);
    etcd_error *err = NULL;
    for (int i = 0; i < n; i++) {
        slots[i] = (grant_slot){&b, i};
        ASSERT_OK(etcd_lease_revoke_async(l, ids[i], on_batch, &slots[i], NULL, &err), err);
    }
    batch_wait(&b, n);
    assert_int_equal(b.failed, 0);
    free(slots);
    pthread_mutex_destroy(&b.mu);
}

/* Starts keepalives for entries [from, to) of the log (with handles when want_calls). */
static inline void keep_range(etcd_lease *l, lease_log *g, const int64_t *ids, int from, int to, int renewals,
                              bool want_calls)
{
    etcd_error *err = NULL;
    for (int i = from; i < to; i++) {
        g->e[i].id = ids[i];
        /* The handle is stored before the call starts, so the callback can compare it. */
        ASSERT_OK(etcd_lease_keep_alive(l, ids[i], renewals, on_kept, &g->e[i], want_calls ? &g->e[i].call : NULL,
                                        &err),
                  err);
        if (want_calls)
            assert_non_null(g->e[i].call);
    }
}

/* Starts a keepalive for each entry of the log. */
static inline void keep_all(etcd_lease *l, lease_log *g, const int64_t *ids, int renewals, bool want_calls)
{
    keep_range(l, g, ids, 0, g->n, renewals, want_calls);
}

/* A Prometheus counter of a member summed over the lines that start with `prefix` (0 when none
 * does); -1 when the metrics could not be read. */
static inline long metric_sum(int port, const char *prefix)
{
    bool found;
    return (long)sc_metric(port, prefix, &found);
}

#define KEEPALIVE_STREAMS_STARTED "grpc_server_started_total{grpc_method=\"LeaseKeepAlive\","
#define KEEPALIVE_MSGS_RECEIVED "grpc_server_msg_received_total{grpc_method=\"LeaseKeepAlive\","

#endif
