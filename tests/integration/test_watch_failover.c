/*
 * Watches across member failures, against a real 3-member cluster with a fault proxy in front of
 * each member's client port. The watching client reaches the members through the proxies only;
 * writers and checks talk to the members directly, so a proxy fault isolates the watch alone.
 * Recovery times are printed ("WATCH-FAILOVER ...") so runs can be compared; nothing asserts on
 * speed beyond generous deadlines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "proxied_cluster.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A client that reaches the members only through the proxies, with keepalive short enough to
 * find a black-holed connection in about two seconds. */
static etcd_client *watch_client(void)
{
    etcd_config *cfg = itest_config(pc_proxy_list);
    assert_int_equal(etcd_config_set_keepalive(cfg, 1000, 1000), ETCD_OK);
    return itest_client_from(cfg);
}

/* A client straight to the members (all of them, or one). */
static etcd_client *direct_client(int member)
{
    return itest_client(member < 0 ? eh_endpoints(itest_cluster) : eh_member_endpoint(itest_cluster, member));
}

static long accepted_total(void)
{
    long n = 0;
    for (int i = 0; i < PC_MEMBERS; i++)
        n += fp_connections_accepted(pc_proxy[i]);
    return n;
}

/* ---- what a watch delivered ---- */

typedef struct seen {
    int64_t rev;
    int key;            /* the number after the key's last '/', -1 when none */
    int value;          /* the value as a number, -1 when not one */
    int member;         /* who sent the batch, -1 when unknown */
    bool put;
    int64_t at_ms;
} seen;

typedef struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seen *ev;
    size_t n, cap;
    bool created;
    int last_member;    /* of the latest batch with events */
    int finals;
    etcd_code final_code;
    int64_t compact_rev;
    char final_msg[256];
    int after_final;    /* callbacks after the final one: must stay 0 */
    bool nomem;
} recorder;

static void rec_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->last_member = -1;
}

static void rec_destroy(recorder *r)
{
    free(r->ev);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static int number_after_slash(const uint8_t *p, size_t n)
{
    size_t i = n;
    while (i > 0 && p[i - 1] != '/')
        i--;
    if (i == n)
        return -1;
    int v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int number_of(const uint8_t *p, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static void rec_cb(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    recorder *r = user_data;
    pthread_mutex_lock(&r->mu);
    if (r->finals > 0) {
        r->after_final++;
    } else if (!resp) {
        r->finals++;
        r->final_code = code;
        r->compact_rev = etcd_error_compact_revision(err);
        snprintf(r->final_msg, sizeof r->final_msg, "%s", err ? etcd_error_message(err) : "-");
    } else {
        if (etcd_watch_response_created(resp))
            r->created = true;
        size_t n = etcd_watch_response_event_count(resp);
        int member = pc_member_index(etcd_response_member_id(resp));
        if (n)
            r->last_member = member;
        int64_t t = now_ms();
        for (size_t i = 0; i < n; i++) {
            if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 1024;
                seen *e = realloc(r->ev, cap * sizeof *e);
                if (!e) {
                    r->nomem = true;
                    break;
                }
                r->ev = e;
                r->cap = cap;
            }
            const etcd_event *ev = etcd_watch_response_event_at(resp, i);
            const etcd_keyvalue *kv = etcd_event_kv(ev);
            size_t kl, vl;
            const uint8_t *k = etcd_keyvalue_key(kv, &kl);
            const uint8_t *v = etcd_keyvalue_value(kv, &vl);
            r->ev[r->n++] = (seen){.rev = etcd_keyvalue_mod_revision(kv),
                                   .key = number_after_slash(k, kl),
                                   .value = number_of(v, vl),
                                   .member = member,
                                   .put = etcd_event_get_type(ev) == ETCD_EVENT_PUT,
                                   .at_ms = t};
        }
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

typedef bool (*rec_pred)(const recorder *r, const void *arg);

/* Waits (polling the recorder's condition as callbacks arrive) until pred holds or timeout_ms. */
static bool rec_wait(recorder *r, rec_pred pred, const void *arg, int64_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    bool ok;
    while (!(ok = pred(r, arg)))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) {
            ok = pred(r, arg);
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static bool is_created(const recorder *r, const void *arg)
{
    (void)arg;
    return r->created || r->finals;
}

static bool has_final(const recorder *r, const void *arg)
{
    (void)arg;
    return r->finals > 0;
}

static bool has_events(const recorder *r, const void *arg)
{
    return r->finals || r->n >= *(const size_t *)arg;
}

static bool reached_rev(const recorder *r, const void *arg)
{
    return r->finals || (r->n && r->ev[r->n - 1].rev >= *(const int64_t *)arg);
}

typedef struct moved_arg {
    size_t from;        /* events before this index are not considered */
    int victim;
} moved_arg;

/* An event sent by a member other than the victim, at or after `from`. */
static bool moved(const recorder *r, const void *arg)
{
    const moved_arg *m = arg;
    if (r->finals)
        return true;
    for (size_t i = m->from; i < r->n; i++)
        if (r->ev[i].member != m->victim)
            return true;
    return false;
}

/* How many final callbacks ran, read under the lock while callbacks may still run. */
static int rec_finals(recorder *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->finals;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static size_t rec_count(recorder *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* A copy of the events so far, to check without holding the recorder's lock (a failed check
 * leaves the test function at once). */
static seen *rec_snapshot(recorder *r, size_t *n)
{
    pthread_mutex_lock(&r->mu);
    *n = r->n;
    seen *copy = malloc((r->n ? r->n : 1) * sizeof *copy);
    if (copy && r->n)
        memcpy(copy, r->ev, r->n * sizeof *copy);
    pthread_mutex_unlock(&r->mu);
    assert_non_null(copy);
    return copy;
}

/* Starts a watch reporting to r; with created notify, and waits for the created answer. */
static etcd_call *start_watch(etcd_client *c, const char *key, bool prefix, int require_leader, recorder *r)
{
    etcd_watch_opts *o = etcd_watch_opts_new(key, strlen(key));
    assert_non_null(o);
    if (prefix)
        assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_set_require_leader(o, require_leader), ETCD_OK);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_watch(etcd_client_watcher(c), o, rec_cb, r, &call, &err), err);
    etcd_watch_opts_free(o);
    assert_true(rec_wait(r, is_created, NULL, 15000));
    assert_int_equal(rec_finals(r), 0);
    return call;
}

/* Cancels a watch that must still be running and checks it ends exactly once, cancelled. */
static void cancel_watch(etcd_call *call, recorder *r)
{
    assert_int_equal(rec_finals(r), 0);
    etcd_call_cancel(call);
    assert_true(rec_wait(r, has_final, NULL, 15000));
    assert_int_equal(r->final_code, ETCD_E_CANCELLED);
    etcd_call_release(call);
}

/* Puts a numbered value with its own deadline; the response revision, or 0 on failure. */
static int64_t put_number(etcd_kv *kv, const char *key, int value, etcd_code *rc_out)
{
    char v[16];
    snprintf(v, sizeof v, "%d", value);
    etcd_op *op = etcd_op_put(key, strlen(key), v, strlen(v));
    etcd_op_set_timeout_ms(op, 3000);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    etcd_op_free(op);
    int64_t rev = rc == ETCD_OK ? etcd_response_revision(r) : 0;
    etcd_response_free(r);
    etcd_error_free(err);
    if (rc_out)
        *rc_out = rc;
    return rev;
}

/* ---- 1: every revision exactly once while the serving member is killed, black-holed, stopped ---- */

#define MIN_VALUES 2000
#define MAX_VALUES 100000

typedef enum wresult { WR_NONE, WR_ACKED, WR_UNKNOWN, WR_FAILED } wresult;

typedef struct writer {
    etcd_kv *kv;
    atomic_bool stop;
    atomic_int n;           /* puts attempted */
    wresult *res;
    int64_t *rev;
    _Atomic int64_t *acked_at;  /* when each put was acknowledged, 0 when it was not */
} writer;

/* Puts wf/00000, wf/00001, ... (value: the number) at a steady pace, one attempt each, until told
 * to stop and at least MIN_VALUES were attempted. */
static void *write_loop(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < MAX_VALUES; i++) {
        if (atomic_load(&w->stop) && i >= MIN_VALUES)
            break;
        char key[16];
        snprintf(key, sizeof key, "wf/%05d", i);
        etcd_code rc;
        int64_t rev = put_number(w->kv, key, i, &rc);
        w->rev[i] = rev;
        if (rc == ETCD_OK)
            atomic_store(&w->acked_at[i], now_ms());
        w->res[i] = rc == ETCD_OK ? WR_ACKED : rc == ETCD_E_OUTCOME_UNKNOWN ? WR_UNKNOWN : WR_FAILED;
        atomic_store(&w->n, i + 1);
        pause_ms(3); /* the writer's pace, not a synchronisation */
    }
    return NULL;
}

typedef enum fault { F_KILL, F_BLACKHOLE, F_STOP } fault;
static const char *const fault_name[] = {"kill", "blackhole", "stop"};

/* Applies one fault to the member serving the watch, waits for the watch to go on elsewhere,
 * heals the member and waits for the cluster. */
static void fault_round(fault f, recorder *rec, writer *w)
{
    /* The watch is live again: fresh events since the last round name the serving member. */
    size_t base = rec_count(rec) + 20;
    assert_true(rec_wait(rec, has_events, &base, 30000));
    pthread_mutex_lock(&rec->mu);
    int victim = rec->last_member;
    size_t from = rec->n;
    pthread_mutex_unlock(&rec->mu);
    assert_true(victim >= 0 && victim < PC_MEMBERS);
    int64_t t0 = now_ms();
    int first_put = atomic_load(&w->n);
    switch (f) {
    case F_KILL:
        assert_int_equal(eh_member_kill(itest_cluster, victim), 0);
        break;
    case F_BLACKHOLE:
        fp_set_mode(pc_proxy[victim], FP_BLACKHOLE);
        break;
    case F_STOP:
        assert_int_equal(eh_member_stop(itest_cluster, victim), 0);
        break;
    }
    moved_arg m = {from, victim};
    assert_true(rec_wait(rec, moved, &m, 30000));
    assert_int_equal(rec_finals(rec), 0);
    int64_t when = 0;
    int to = -1, key = -1;
    pthread_mutex_lock(&rec->mu);
    for (size_t i = from; i < rec->n && to < 0; i++)
        if (rec->ev[i].member != victim) {
            when = rec->ev[i].at_ms;
            to = rec->ev[i].member;
            key = rec->ev[i].key;
        }
    pthread_mutex_unlock(&rec->mu);
    /* The watch can only show a new member's event once the writer got a put through: a killed
     * leader holds the writer up for an election, or for a put's whole deadline. */
    int64_t ack = 0;
    for (int i = first_put > 0 ? first_put - 1 : 0, n = atomic_load(&w->n); i < n && !ack; i++)
        if (atomic_load(&w->acked_at[i]) > t0)
            ack = atomic_load(&w->acked_at[i]);
    /* How far the watch was behind the writer: that event's delivery after its put's ack. */
    int64_t put_ack = key >= 0 ? atomic_load(&w->acked_at[key]) : 0;
    char acked[40] = "-", behind[40] = "-";
    if (ack)
        snprintf(acked, sizeof acked, "%lld ms", (long long)(ack - t0));
    if (put_ack)
        snprintf(behind, sizeof behind, "%lld ms", (long long)(when - put_ack));
    print_message("WATCH-FAILOVER %s: first event after %lld ms (m%d -> m%d; writer's first ack after the fault: %s; "
                  "that event came %s after its put's ack)\n",
                  fault_name[f], (long long)(when - t0), victim, to, acked, behind);
    if (f == F_BLACKHOLE)
        fp_set_mode(pc_proxy[victim], FP_PASS);
    else
        assert_int_equal(eh_member_restart(itest_cluster, victim), 0);
    assert_int_equal(eh_cluster_wait_ready(itest_cluster, 30000), 0);
}

static void test_every_revision_once_across_faults(void **state)
{
    (void)state;
    etcd_client *wc = watch_client();
    etcd_client *dc = direct_client(-1);
    recorder rec;
    rec_init(&rec);
    etcd_call *call = start_watch(wc, "wf/", true, 0, &rec);

    writer w = {.kv = etcd_client_kv(dc)};
    atomic_init(&w.stop, false);
    atomic_init(&w.n, 0);
    w.res = calloc(MAX_VALUES, sizeof *w.res);
    w.rev = calloc(MAX_VALUES, sizeof *w.rev);
    w.acked_at = calloc(MAX_VALUES, sizeof *w.acked_at);
    assert_non_null(w.acked_at);
    assert_non_null(w.res);
    assert_non_null(w.rev);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_loop, &w), 0);

    static const fault plan[] = {F_KILL, F_BLACKHOLE, F_STOP, F_KILL, F_BLACKHOLE, F_STOP, F_KILL, F_BLACKHOLE, F_STOP};
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++)
        fault_round(plan[i], &rec, &w);
    atomic_store(&w.stop, true);
    pthread_join(th, NULL);
    int attempted = atomic_load(&w.n);

    /* What exists: every wf/ key was put at most once, so its mod revision is its only one. */
    etcd_op *op = etcd_op_get("wf/", 3);
    etcd_op_with_prefix(op);
    etcd_response *r = itest_do(etcd_client_kv(dc), op);
    size_t stored = etcd_response_kv_count(r);
    int64_t *store_rev = calloc(MAX_VALUES, sizeof *store_rev);
    assert_non_null(store_rev);
    int64_t max_rev = 0;
    for (size_t i = 0; i < stored; i++) {
        const etcd_keyvalue *kv = etcd_response_kv_at(r, i);
        size_t kl, vl;
        const uint8_t *k = etcd_keyvalue_key(kv, &kl);
        const uint8_t *v = etcd_keyvalue_value(kv, &vl);
        int num = number_after_slash(k, kl);
        assert_true(num >= 0 && num < attempted);
        assert_int_equal(number_of(v, vl), num);
        assert_int_equal(etcd_keyvalue_version(kv), 1);
        store_rev[num] = etcd_keyvalue_mod_revision(kv);
        if (store_rev[num] > max_rev)
            max_rev = store_rev[num];
    }
    etcd_response_free(r);
    assert_true(rec_wait(&rec, reached_rev, &max_rev, 30000));

    size_t events;
    seen *ev = rec_snapshot(&rec, &events);
    int acked = 0, unknown = 0, failed = 0, unknown_seen = 0;
    bool *in_watch = calloc(MAX_VALUES, sizeof *in_watch);
    assert_non_null(in_watch);
    int64_t prev = 0;
    for (size_t i = 0; i < events; i++) {
        const seen *e = &ev[i];
        /* In order, never twice, only what the store has, with the store's revision. */
        if (e->rev <= prev)
            fail_msg("event %zu: revision %lld after %lld (duplicate or out of order)", i, (long long)e->rev,
                     (long long)prev);
        prev = e->rev;
        assert_true(e->put);
        assert_true(e->member >= 0);
        assert_true(e->key >= 0 && e->key < attempted);
        assert_int_equal(e->value, e->key);
        if (store_rev[e->key] != e->rev)
            fail_msg("event for wf/%05d at revision %lld; the store has it at %lld", e->key, (long long)e->rev,
                     (long long)store_rev[e->key]);
        assert_false(in_watch[e->key]);
        in_watch[e->key] = true;
    }
    /* No gap: every key the store has was seen. */
    if (events != stored)
        fail_msg("the watch saw %zu events; the store has %zu keys", events, stored);
    for (int i = 0; i < attempted; i++) {
        switch (w.res[i]) {
        case WR_ACKED:
            acked++;
            assert_true(in_watch[i]);
            assert_int_equal(store_rev[i], w.rev[i]);
            break;
        case WR_UNKNOWN:
            unknown++;
            unknown_seen += in_watch[i];
            break;
        default:
            failed++;
            assert_false(in_watch[i]); /* a definite failure was not applied */
            break;
        }
    }
    assert_int_equal(rec_finals(&rec), 0);
    assert_false(rec.nomem);
    free(ev);
    print_message("WATCH-FAILOVER writes: attempted=%d acked=%d unknown=%d (seen %d) failed=%d events=%zu\n",
                  attempted, acked, unknown, unknown_seen, failed, events);
    assert_true(acked >= MIN_VALUES / 2);

    cancel_watch(call, &rec);
    assert_int_equal(rec.after_final, 0);
    free(in_watch);
    free(store_rev);
    free(w.res);
    free(w.rev);
    free((void *)w.acked_at);
    etcd_client_free(wc);
    etcd_client_free(dc);
    rec_destroy(&rec);
}

/* ---- 2: compacted while the watch was cut off ---- */

static void test_compaction_during_outage_ends_watch(void **state)
{
    (void)state;
    etcd_client *wc = watch_client();
    etcd_client *dc = direct_client(-1);
    etcd_kv *kv = etcd_client_kv(dc);
    recorder rec;
    rec_init(&rec);
    etcd_call *call = start_watch(wc, "wc/k", false, 0, &rec);
    int64_t r1 = put_number(kv, "wc/k", 1, NULL);
    assert_true(r1 > 0);
    assert_true(rec_wait(&rec, reached_rev, &r1, 15000));

    /* Cut the watching client off from every member; the cluster goes on without it. */
    long accepted = accepted_total();
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_set_mode(pc_proxy[i], FP_BLACKHOLE);
    int64_t last = 0;
    for (int v = 2; v <= 5; v++) {
        last = put_number(kv, "wc/k", v, NULL);
        assert_true(last > 0);
    }
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_compact(kv, last, 1, &r, &err), err);
    etcd_response_free(r);
    /* Wait until keepalive has found the dead connection and the client dials again. */
    int64_t t0 = now_ms();
    while (accepted_total() == accepted && now_ms() - t0 < 20000)
        pause_ms(10);
    assert_true(accepted_total() > accepted);
    print_message("WATCH-FAILOVER compaction: dead connection found after %lld ms\n", (long long)(now_ms() - t0));
    assert_int_equal(rec_finals(&rec), 0);
    int64_t t1 = now_ms();
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_set_mode(pc_proxy[i], FP_PASS);

    assert_true(rec_wait(&rec, has_final, NULL, 30000));
    print_message("WATCH-FAILOVER compaction: ended %lld ms after the members were reachable again\n",
                  (long long)(now_ms() - t1));
    if (rec.final_code != ETCD_E_COMPACTED)
        fail_msg("the watch ended with %s (%s), expected ETCD_E_COMPACTED", etcd_code_name(rec.final_code),
                 rec.final_msg);
    assert_int_equal(rec.compact_rev, last);
    /* Only the value from before the outage was delivered; nothing after the end. */
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.ev[0].rev, r1);
    etcd_call_cancel(call); /* after the end: changes nothing */
    etcd_call_release(call);
    etcd_client_free(wc);
    assert_int_equal(rec.finals, 1);
    assert_int_equal(rec.after_final, 0);
    etcd_client_free(dc);
    rec_destroy(&rec);
}

/* ---- 3: require-leader watches and members without a leader ---- */

/* The serving member of a watch on `key`, found from an event it sends. */
static int serving_member(etcd_kv *kv, const char *key, int value, recorder *rec)
{
    int64_t rev = put_number(kv, key, value, NULL);
    assert_true(rev > 0);
    assert_true(rec_wait(rec, reached_rev, &rev, 15000));
    assert_int_equal(rec_finals(rec), 0);
    pthread_mutex_lock(&rec->mu);
    int m = rec->last_member;
    pthread_mutex_unlock(&rec->mu);
    assert_true(m >= 0 && m < PC_MEMBERS);
    return m;
}

static void test_require_leader_watch_ends_without_leader(void **state)
{
    (void)state;
    etcd_client *wc = watch_client();
    recorder rec;
    rec_init(&rec);
    etcd_call *call = start_watch(wc, "wl/a", false, 1, &rec);
    etcd_client *dc = direct_client(-1);
    int survivor = serving_member(etcd_client_kv(dc), "wl/a", 1, &rec);
    etcd_client_free(dc);

    /* Two of three gone: the survivor loses its leader, cancels the stream after three election
     * timeouts and refuses new ones; the others are unreachable. */
    int64_t t0 = now_ms();
    for (int i = 0; i < PC_MEMBERS; i++)
        if (i != survivor)
            assert_int_equal(eh_member_kill(itest_cluster, i), 0);
    assert_true(rec_wait(&rec, has_final, NULL, 30000));
    print_message("WATCH-FAILOVER no-leader: watch ended %lld ms after 2 of 3 members died\n",
                  (long long)(now_ms() - t0));
    if (rec.final_code != ETCD_E_NO_LEADER)
        fail_msg("the watch ended with %s (%s), expected ETCD_E_NO_LEADER", etcd_code_name(rec.final_code),
                 rec.final_msg);
    assert_int_equal(rec.n, 1);
    etcd_call_release(call);
    etcd_client_free(wc);
    assert_int_equal(rec.finals, 1);
    assert_int_equal(rec.after_final, 0);
    rec_destroy(&rec);
}

static void test_require_leader_watch_moves_to_member_with_leader(void **state)
{
    (void)state;
    etcd_client *wc = watch_client();
    recorder rec;
    rec_init(&rec);
    etcd_call *call = start_watch(wc, "wl/b/", true, 1, &rec);
    etcd_client *dc = direct_client(-1);
    int a = serving_member(etcd_client_kv(dc), "wl/b/0", 0, &rec);
    int b = (a + 1) % PC_MEMBERS, c = (a + 2) % PC_MEMBERS;

    /* The serving member loses its leader... */
    assert_int_equal(eh_member_kill(itest_cluster, b), 0);
    assert_int_equal(eh_member_kill(itest_cluster, c), 0);
    etcd_config *cfg = itest_config(eh_member_endpoint(itest_cluster, a));
    etcd_config_set_require_leader(cfg, 1);
    etcd_client *probe = itest_client_from(cfg);
    int64_t t0 = now_ms();
    etcd_code rc = ETCD_OK;
    while (rc != ETCD_E_NO_LEADER && now_ms() - t0 < 15000) {
        etcd_op *op = etcd_op_get("wl/b/0", 6);
        etcd_op_with_serializable(op);
        etcd_op_set_timeout_ms(op, 1000);
        etcd_response *r = NULL;
        rc = etcd_kv_do(etcd_client_kv(probe), op, &r, NULL);
        etcd_op_free(op);
        etcd_response_free(r);
        if (rc != ETCD_E_NO_LEADER)
            pause_ms(5);
    }
    assert_int_equal(rc, ETCD_E_NO_LEADER);
    etcd_client_free(probe);
    /* ...and, before it cancels the stream (three election timeouts later), the client's path to
     * it dies. A member comes back, so a quorum with a leader exists again, away from a. */
    int64_t t1 = now_ms();
    fp_set_mode(pc_proxy[a], FP_BLACKHOLE);
    assert_int_equal(rec_finals(&rec), 0);
    assert_int_equal(eh_member_restart(itest_cluster, b), 0);
    int64_t last = 0;
    for (int v = 1; v <= 20; v++) {
        char key[16];
        snprintf(key, sizeof key, "wl/b/%d", v);
        etcd_code prc;
        last = put_number(etcd_client_kv(dc), key, v, &prc);
        if (!last)
            fail_msg("put %s failed: %s", key, etcd_code_name(prc));
    }
    assert_true(rec_wait(&rec, reached_rev, &last, 30000));
    print_message("WATCH-FAILOVER no-leader move: later events from m%d %lld ms after the path to m%d died\n", b,
                  (long long)(now_ms() - t1), a);
    if (rec_finals(&rec))
        fail_msg("the watch ended with %s (%s) instead of moving", etcd_code_name(rec.final_code), rec.final_msg);
    size_t n;
    seen *ev = rec_snapshot(&rec, &n);
    for (size_t i = 0; i < n; i++)
        print_message("  event %zu: wl/b/%d rev %lld from m%d\n", i, ev[i].key, (long long)ev[i].rev, ev[i].member);
    assert_int_equal(n, 21);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].key, (int)i);
        if (i)
            assert_true(ev[i].rev > ev[i - 1].rev);
        if (i)
            assert_int_equal(ev[i].member, b); /* a is cut off and c is down */
    }
    free(ev);
    fp_set_mode(pc_proxy[a], FP_PASS);
    cancel_watch(call, &rec);
    etcd_client_free(wc);
    etcd_client_free(dc);
    assert_int_equal(rec.after_final, 0);
    rec_destroy(&rec);
}

/* ---- 4: closing the client during an outage ends each of many watches exactly once ---- */

#define MANY 100

typedef struct slot {
    atomic_int created, finals, after_final;
    atomic_int code;
} slot;

static void slot_cb(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    slot *s = user_data;
    if (atomic_load(&s->finals) > 0)
        atomic_fetch_add(&s->after_final, 1);
    else if (!resp) {
        atomic_store(&s->code, code);
        atomic_fetch_add(&s->finals, 1);
    } else if (etcd_watch_response_created(resp)) {
        atomic_fetch_add(&s->created, 1);
    }
    etcd_response_free(resp);
    etcd_error_free(err);
}

typedef enum close_when {
    CLOSE_AT_ONCE,          /* the stream still looks open */
    CLOSE_AFTER_DETECTION,  /* keepalive found the connection dead; the watches wait for a member */
    CLOSE_BEFORE_CREATED    /* the watches were started during the outage */
} close_when;

static void close_during_outage(close_when when)
{
    static const char *const names[] = {"at once", "after detection", "before created"};
    etcd_client *wc = watch_client();
    etcd_watcher *w = etcd_client_watcher(wc);
    slot *slots = calloc(MANY, sizeof *slots);
    assert_non_null(slots);
    etcd_call *calls[MANY];
    long accepted = accepted_total();
    if (when == CLOSE_BEFORE_CREATED) {
        /* The creates go out on connections that carry nothing any more. */
        for (int i = 0; i < PC_MEMBERS; i++)
            fp_set_mode(pc_proxy[i], FP_BLACKHOLE);
    }
    for (int i = 0; i < MANY; i++) {
        char key[16];
        snprintf(key, sizeof key, "wx/%03d", i);
        etcd_watch_opts *o = etcd_watch_opts_new(key, strlen(key));
        assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
        etcd_error *err = NULL;
        ASSERT_OK(etcd_watch(w, o, slot_cb, &slots[i], &calls[i], &err), err);
        etcd_watch_opts_free(o);
    }
    if (when != CLOSE_BEFORE_CREATED) {
        int64_t t0 = now_ms();
        int created = 0;
        while (created < MANY && now_ms() - t0 < 20000) {
            created = 0;
            for (int i = 0; i < MANY; i++)
                created += atomic_load(&slots[i].created) == 1;
            if (created < MANY)
                pause_ms(5);
        }
        assert_int_equal(created, MANY);
        accepted = accepted_total();
        for (int i = 0; i < PC_MEMBERS; i++)
            fp_set_mode(pc_proxy[i], FP_BLACKHOLE);
    }
    if (when == CLOSE_AFTER_DETECTION) {
        int64_t t0 = now_ms();
        while (accepted_total() == accepted && now_ms() - t0 < 20000)
            pause_ms(10);
        assert_true(accepted_total() > accepted);
    }
    for (int i = 0; i < MANY; i++)
        assert_int_equal(atomic_load(&slots[i].finals), 0);
    int64_t t0 = now_ms();
    etcd_client_free(wc);
    int64_t took = now_ms() - t0;
    print_message("WATCH-FAILOVER close %s: %d watches ended in %lld ms\n", names[when], MANY, (long long)took);
    assert_true(took < 15000);
    /* Every final ran inside etcd_client_free(), once, cancelled; none after. */
    for (int i = 0; i < MANY; i++) {
        if (atomic_load(&slots[i].finals) != 1)
            fail_msg("watch %d: %d final callbacks", i, atomic_load(&slots[i].finals));
        assert_int_equal(atomic_load(&slots[i].code), ETCD_E_CANCELLED);
        assert_int_equal(atomic_load(&slots[i].after_final), 0);
        etcd_call_release(calls[i]);
    }
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_set_mode(pc_proxy[i], FP_PASS);
    free(slots);
}

static void test_close_during_outage_at_once(void **state)
{
    (void)state;
    close_during_outage(CLOSE_AT_ONCE);
}

static void test_close_during_outage_after_detection(void **state)
{
    (void)state;
    close_during_outage(CLOSE_AFTER_DETECTION);
}

static void test_close_during_outage_before_created(void **state)
{
    (void)state;
    close_during_outage(CLOSE_BEFORE_CREATED);
}

/* ---- 5: closing right after the last watch ended, with the stream (or its reconnect) live ---- */

/* The client's watch machinery (its open stream, or the timer and wait for a member while cut
 * off) outlives the watches themselves; closing must wait for it before freeing anything. */
static void close_after_last_watch(bool outage)
{
    for (int round = 0; round < 10; round++) {
        etcd_client *wc = watch_client();
        recorder rec;
        rec_init(&rec);
        etcd_call *call = start_watch(wc, "wz/k", false, 0, &rec);
        if (outage) {
            long accepted = accepted_total();
            for (int i = 0; i < PC_MEMBERS; i++)
                fp_set_mode(pc_proxy[i], FP_BLACKHOLE);
            int64_t t0 = now_ms();
            while (accepted_total() == accepted && now_ms() - t0 < 20000)
                pause_ms(10);
            assert_true(accepted_total() > accepted);
        }
        cancel_watch(call, &rec);
        etcd_client_free(wc);
        assert_int_equal(rec.finals, 1);
        assert_int_equal(rec.after_final, 0);
        rec_destroy(&rec);
        for (int i = 0; i < PC_MEMBERS; i++)
            fp_set_mode(pc_proxy[i], FP_PASS);
        if (outage && round == 2)
            break; /* each outage round waits for keepalive: three are enough */
    }
}

static void test_close_after_last_watch_with_stream_open(void **state)
{
    (void)state;
    close_after_last_watch(false);
}

static void test_close_after_last_watch_during_outage(void **state)
{
    (void)state;
    close_after_last_watch(true);
}

int main(void)
{
    /* ITEST_FILTER=test_name runs only the matching tests (cmocka's pattern). */
    if (getenv("ITEST_FILTER"))
        cmocka_set_test_filter(getenv("ITEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_revision_once_across_faults, pc_whole_cluster),
        cmocka_unit_test_setup(test_compaction_during_outage_ends_watch, pc_whole_cluster),
        cmocka_unit_test_setup(test_require_leader_watch_ends_without_leader, pc_whole_cluster),
        cmocka_unit_test_setup(test_require_leader_watch_moves_to_member_with_leader, pc_whole_cluster),
        cmocka_unit_test_setup(test_close_during_outage_at_once, pc_whole_cluster),
        cmocka_unit_test_setup(test_close_during_outage_after_detection, pc_whole_cluster),
        cmocka_unit_test_setup(test_close_during_outage_before_created, pc_whole_cluster),
        cmocka_unit_test_setup(test_close_after_last_watch_with_stream_open, pc_whole_cluster),
        cmocka_unit_test_setup(test_close_after_last_watch_during_outage, pc_whole_cluster),
    };
    return cmocka_run_group_tests_name("watch_failover", tests, pc_setup, pc_teardown);
}
