/*
 * Watches on one member: every option (key, range, prefix, from-key, start revision, prev_kv,
 * filters, progress notifications, created notify), pull mode, cancel, compaction, and a sync
 * KV call from a watch callback. etcd sends periodic progress notifications every 200 ms here.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "watch_rec.h"

static const char *const server_flags[] = {"--experimental-watch-progress-notify-interval=200ms", NULL};

static int setup(void **state)
{
    (void)state;
    eh_opts o = {.members = 1, .extra_args = server_flags};
    itest_cluster = itest_start(&o);
    if (!itest_cluster)
        return -1;
    itest_main = itest_client(NULL);
    itest_kv = etcd_client_kv(itest_main);
    return 0;
}

#define WAIT_MS 10000
#define WATCHERS "etcd_debugging_mvcc_watcher_total"

/* Starts a watch with created notify and waits for its "created" batch. */
static etcd_call *watch_live(etcd_client *c, etcd_watch_opts *o, wrec *r)
{
    assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
    etcd_call *call = wrec_watch(c, o, r);
    etcd_watch_opts_free(o);
    WREC_WAIT(r, r->n_batches >= 1, WAIT_MS, "the created batch");
    assert_true(r->batches[0].created);
    return call;
}

static void delete_key(const char *key)
{
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_delete(itest_kv, key, strlen(key), &resp, &err), err);
    etcd_response_free(resp);
}

/* Event i is (type, key, value). */
static void assert_event(wrec *r, size_t i, etcd_event_type type, const char *key, const char *value)
{
    assert_true(i < wrec_n(r));
    assert_int_equal(wrec_ev(r, i).type, type);
    assert_string_equal(wrec_ev(r, i).key, key);
    if (value)
        assert_string_equal(wrec_ev(r, i).value, value);
}

/* Cancels, waits for the final and checks it came once, as ETCD_E_CANCELLED; releases. */
static void cancel_and_check(etcd_call *call, wrec *r)
{
    etcd_call_cancel(call);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final callback");
    etcd_call_release(call);
    assert_int_equal(r->finals, 1);
    assert_int_equal(r->final_code, ETCD_E_CANCELLED);
    assert_true(r->final_had_err);
    assert_int_equal(r->after_final, 0);
    assert_int_equal(r->bad, 0);
}

static void test_key(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_call *call = watch_live(itest_main, wrec_opts("key/a"), r);
    itest_put_string(itest_kv, "key/a", "1");
    itest_put_string(itest_kv, "key/ab", "x"); /* a longer key: not watched */
    itest_put_string(itest_kv, "key/", "x");
    delete_key("key/a");
    WREC_WAIT(r, r->n_evs >= 2, WAIT_MS, "2 events");
    assert_event(r, 0, ETCD_EVENT_PUT, "key/a", "1");
    assert_event(r, 1, ETCD_EVENT_DELETE, "key/a", "");
    assert_true(wrec_ev(r, 1).mod_rev > wrec_ev(r, 0).mod_rev);
    assert_null(wrec_ev(r, 0).prev_value); /* no prev_kv asked for */
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 2);
    wrec_free(r);
}

static void test_range(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("rng/b");
    assert_int_equal(etcd_watch_opts_with_range_end(o, "rng/d", 5), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    const char *keys[] = {"rng/a", "rng/b", "rng/bz", "rng/c", "rng/d", "rng/e"};
    for (size_t i = 0; i < 6; i++)
        itest_put_string(itest_kv, keys[i], keys[i]);
    itest_put_string(itest_kv, "rng/c", "last");
    WREC_WAIT(r, r->n_evs >= 4, WAIT_MS, "4 events");
    assert_event(r, 0, ETCD_EVENT_PUT, "rng/b", "rng/b");
    assert_event(r, 1, ETCD_EVENT_PUT, "rng/bz", "rng/bz");
    assert_event(r, 2, ETCD_EVENT_PUT, "rng/c", "rng/c");
    assert_event(r, 3, ETCD_EVENT_PUT, "rng/c", "last"); /* nothing of rng/d or rng/e came between */
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 4);
    wrec_free(r);
}

static void test_prefix(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("pfx/");
    assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    itest_put_string(itest_kv, "pfx/1", "a");
    itest_put_string(itest_kv, "pfx", "no");
    itest_put_string(itest_kv, "pfx0", "no");
    itest_put_string(itest_kv, "pfx/deep/2", "b");
    WREC_WAIT(r, r->n_evs >= 2, WAIT_MS, "2 events");
    assert_event(r, 0, ETCD_EVENT_PUT, "pfx/1", "a");
    assert_event(r, 1, ETCD_EVENT_PUT, "pfx/deep/2", "b");
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 2);
    wrec_free(r);
}

static void test_from_key(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("zfrom/m");
    assert_int_equal(etcd_watch_opts_with_from_key(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    itest_put_string(itest_kv, "zfrom/a", "no");
    itest_put_string(itest_kv, "zfrom/m", "1");
    itest_put_string(itest_kv, "a-key-before", "no");
    itest_put_string(itest_kv, "zzz", "2");
    itest_put_string(itest_kv, "\xff\xff", "3");
    WREC_WAIT(r, r->n_evs >= 3, WAIT_MS, "3 events");
    assert_event(r, 0, ETCD_EVENT_PUT, "zfrom/m", "1");
    assert_event(r, 1, ETCD_EVENT_PUT, "zzz", "2");
    assert_event(r, 2, ETCD_EVENT_PUT, "\xff\xff", "3");
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 3);
    wrec_free(r);
}

static void test_start_revision_replays_history(void **state)
{
    (void)state;
    int64_t r1 = itest_put_string(itest_kv, "hist/1", "a");
    int64_t r2 = itest_put_string(itest_kv, "hist/2", "b");
    int64_t r3 = itest_put_string(itest_kv, "hist/3", "c");
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("hist/");
    assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_rev(o, r1), ETCD_OK);
    assert_int_equal(etcd_watch_opts_with_rev(o, 0), ETCD_E_INVALID_ARGUMENT);
    etcd_call *call = wrec_watch(itest_main, o, r);
    etcd_watch_opts_free(o);
    WREC_WAIT(r, r->n_evs >= 3, WAIT_MS, "3 replayed events");
    assert_event(r, 0, ETCD_EVENT_PUT, "hist/1", "a");
    assert_event(r, 1, ETCD_EVENT_PUT, "hist/2", "b");
    assert_event(r, 2, ETCD_EVENT_PUT, "hist/3", "c");
    assert_int_equal(wrec_ev(r, 0).mod_rev, r1);
    assert_int_equal(wrec_ev(r, 1).mod_rev, r2);
    assert_int_equal(wrec_ev(r, 2).mod_rev, r3);
    /* Live events follow the replay. */
    int64_t r4 = itest_put_string(itest_kv, "hist/4", "d");
    WREC_WAIT(r, r->n_evs >= 4, WAIT_MS, "the live event");
    assert_event(r, 3, ETCD_EVENT_PUT, "hist/4", "d");
    assert_int_equal(wrec_ev(r, 3).mod_rev, r4);
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 4);
    wrec_free(r);
}

static void test_prev_kv(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "prev/k", "old");
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("prev/k");
    assert_int_equal(etcd_watch_opts_with_prev_kv(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    itest_put_string(itest_kv, "prev/k", "new");
    delete_key("prev/k");
    itest_put_string(itest_kv, "prev/k", "again");
    WREC_WAIT(r, r->n_evs >= 3, WAIT_MS, "3 events");
    assert_event(r, 0, ETCD_EVENT_PUT, "prev/k", "new");
    assert_non_null(wrec_ev(r, 0).prev_value);
    assert_string_equal(wrec_ev(r, 0).prev_value, "old");
    assert_event(r, 1, ETCD_EVENT_DELETE, "prev/k", "");
    assert_non_null(wrec_ev(r, 1).prev_value);
    assert_string_equal(wrec_ev(r, 1).prev_value, "new");
    /* A key created anew had nothing before it. */
    assert_event(r, 2, ETCD_EVENT_PUT, "prev/k", "again");
    assert_null(wrec_ev(r, 2).prev_value);
    cancel_and_check(call, r);
    wrec_free(r);
}

static void test_filter_put(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("fput");
    assert_int_equal(etcd_watch_opts_with_filter_put(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    itest_put_string(itest_kv, "fput", "1");
    delete_key("fput");
    itest_put_string(itest_kv, "fput", "2");
    delete_key("fput");
    /* Both deletes came; every put before the last delete would have come before it. */
    WREC_WAIT(r, r->n_evs >= 2, WAIT_MS, "2 deletes");
    assert_event(r, 0, ETCD_EVENT_DELETE, "fput", "");
    assert_event(r, 1, ETCD_EVENT_DELETE, "fput", "");
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 2);
    wrec_free(r);
}

static void test_filter_delete(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("fdel");
    assert_int_equal(etcd_watch_opts_with_filter_delete(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    itest_put_string(itest_kv, "fdel", "1");
    delete_key("fdel");
    itest_put_string(itest_kv, "fdel", "2");
    WREC_WAIT(r, r->n_evs >= 2, WAIT_MS, "2 puts");
    assert_event(r, 0, ETCD_EVENT_PUT, "fdel", "1");
    assert_event(r, 1, ETCD_EVENT_PUT, "fdel", "2");
    cancel_and_check(call, r);
    assert_int_equal(wrec_n(r), 2);
    wrec_free(r);
}

static size_t count_progress(wrec *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_batches; i++)
        n += r->batches[i].progress != 0;
    return n;
}

static void test_progress_notify(void **state)
{
    (void)state;
    int64_t rev = itest_put_string(itest_kv, "prog/x", "1");
    wrec *r = wrec_new(), *plain = wrec_new();
    etcd_watch_opts *o = wrec_opts("prog/idle");
    assert_int_equal(etcd_watch_opts_with_progress_notify(o), ETCD_OK);
    etcd_call *call = watch_live(itest_main, o, r);
    etcd_call *pcall = watch_live(itest_main, wrec_opts("prog/idle"), plain);
    /* Two periodic notifications (200 ms apart) to the watch that asked for them. */
    WREC_WAIT(r, count_progress(r) >= 2, WAIT_MS, "2 progress notifications");
    pthread_mutex_lock(&r->mu);
    for (size_t i = 1; i < r->n_batches; i++) {
        assert_true(r->batches[i].progress);
        assert_false(r->batches[i].created);
        assert_int_equal(r->batches[i].n_events, 0);
        assert_true(r->batches[i].revision >= rev);
        assert_int_equal(r->batches[i].watch_id, r->batches[0].watch_id);
    }
    pthread_mutex_unlock(&r->mu);
    /* The watch that did not ask got none meanwhile. */
    pthread_mutex_lock(&plain->mu);
    assert_int_equal(count_progress(plain), 0);
    pthread_mutex_unlock(&plain->mu);
    cancel_and_check(call, r);
    cancel_and_check(pcall, plain);
    wrec_free(r);
    wrec_free(plain);
}

static void test_request_progress(void **state)
{
    (void)state;
    etcd_error *err = NULL;
    /* A client with no watch has no stream to ask on. */
    etcd_client *fresh = itest_client(NULL);
    ASSERT_FAILS(ETCD_E_UNAVAILABLE, etcd_watch_request_progress(etcd_client_watcher(fresh), &err), err);
    etcd_client_free(fresh);
    assert_int_equal(etcd_watch_request_progress(NULL, NULL), ETCD_E_INVALID_ARGUMENT);

    etcd_client *c = itest_client(NULL);
    wrec *r = wrec_new();
    etcd_call *call = watch_live(c, wrec_opts("reqprog/k"), r);
    int64_t rev = itest_put_string(itest_kv, "reqprog/other", "1");
    ASSERT_OK(etcd_watch_request_progress(etcd_client_watcher(c), &err), err);
    WREC_WAIT(r, count_progress(r) >= 1, WAIT_MS, "the requested progress notification");
    pthread_mutex_lock(&r->mu);
    wrec_batch b = r->batches[1];
    pthread_mutex_unlock(&r->mu);
    assert_true(b.progress);
    assert_int_equal(b.n_events, 0);
    assert_true(b.revision >= rev);
    /* The watch goes on after it. */
    itest_put_string(itest_kv, "reqprog/k", "v");
    WREC_WAIT(r, r->n_evs >= 1, WAIT_MS, "an event after the progress notification");
    assert_event(r, 0, ETCD_EVENT_PUT, "reqprog/k", "v");
    cancel_and_check(call, r);
    wrec_free(r);
    etcd_client_free(c);
}

static void test_created_notify(void **state)
{
    (void)state;
    int64_t rev = itest_put_string(itest_kv, "created/before", "1");
    wrec *r = wrec_new();
    etcd_call *call = watch_live(itest_main, wrec_opts("created/k"), r);
    pthread_mutex_lock(&r->mu);
    wrec_batch b = r->batches[0];
    pthread_mutex_unlock(&r->mu);
    assert_true(b.created);
    assert_false(b.progress);
    assert_int_equal(b.n_events, 0);
    assert_int_equal(b.revision, rev); /* nothing was written since: the store's revision */
    assert_true(b.watch_id != 0);
    itest_put_string(itest_kv, "created/k", "v");
    WREC_WAIT(r, r->n_evs >= 1, WAIT_MS, "the event");
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_batches, 2);
    assert_false(r->batches[1].created);
    assert_int_equal(r->batches[1].watch_id, b.watch_id);
    assert_int_equal(r->evs[0].mod_rev, rev + 1);
    pthread_mutex_unlock(&r->mu);
    cancel_and_check(call, r);
    /* Without created notify the first batch is the first event. */
    wrec *q = wrec_new();
    int64_t now = itest_put_string(itest_kv, "created/q", "0");
    etcd_watch_opts *o = wrec_opts("created/q");
    assert_int_equal(etcd_watch_opts_with_rev(o, now + 1), ETCD_OK);
    call = wrec_watch(itest_main, o, q);
    etcd_watch_opts_free(o);
    itest_put_string(itest_kv, "created/q", "1");
    WREC_WAIT(q, q->n_evs >= 1, WAIT_MS, "the event");
    assert_int_equal(q->n_batches, 1);
    assert_false(q->batches[0].created);
    cancel_and_check(call, q);
    wrec_free(q);
    wrec_free(r);
}

/* ---- pull mode ---- */

static void check_pull(etcd_client *c, const char *key)
{
    etcd_watcher *w = etcd_client_watcher(c);
    etcd_kv *kv = etcd_client_kv(itest_main);
    int64_t now = itest_put_string(kv, key, "0");
    etcd_watch_opts *o = wrec_opts(key);
    assert_int_equal(etcd_watch_opts_with_rev(o, now + 1), ETCD_OK);
    etcd_watch_stream *s = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_watch_open(w, o, &s, &err), err);
    etcd_watch_opts_free(o);
    assert_non_null(s);
    etcd_response *resp = (etcd_response *)&resp;
    /* Idle: a deadline, promptly, and the watch goes on. */
    int64_t t0 = wrec_now_ms();
    ASSERT_FAILS(ETCD_E_DEADLINE, etcd_watch_stream_next(s, 200, &resp, &err), err);
    int64_t took = wrec_now_ms() - t0;
    assert_null(resp);
    assert_true(took >= 150 && took < 3000);
    ASSERT_FAILS(ETCD_E_DEADLINE, etcd_watch_stream_next(s, 0, &resp, &err), err);
    /* Written: the events come, in order. */
    itest_put_string(kv, key, "1");
    itest_put_string(kv, key, "2");
    int got = 0;
    while (got < 2) {
        ASSERT_OK(etcd_watch_stream_next(s, WAIT_MS, &resp, &err), err);
        assert_non_null(resp);
        for (size_t i = 0; i < etcd_watch_response_event_count(resp); i++) {
            size_t n;
            const uint8_t *v = etcd_keyvalue_value(etcd_event_kv(etcd_watch_response_event_at(resp, i)), &n);
            assert_int_equal(n, 1);
            assert_int_equal(v[0], '1' + got);
            got++;
        }
        etcd_response_free(resp);
    }
    assert_int_equal(got, 2);
    ASSERT_FAILS(ETCD_E_DEADLINE, etcd_watch_stream_next(s, 50, &resp, &err), err);
    /* A batch not read is freed with the stream. */
    itest_put_string(kv, key, "3");
    etcd_watch_stream_close(s);
    etcd_watch_stream_close(NULL);
    assert_int_equal(etcd_watch_stream_next(NULL, 0, &resp, NULL), ETCD_E_INVALID_ARGUMENT);
}

static void test_pull_mode(void **state)
{
    (void)state;
    check_pull(itest_main, "pull/thread");
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    check_pull(c, "pull/caller");
    etcd_client_free(c);
}

static void test_pull_mode_end_is_sticky(void **state)
{
    (void)state;
    int64_t r1 = itest_put_string(itest_kv, "pullc/a", "1");
    int64_t r2 = itest_put_string(itest_kv, "pullc/a", "2");
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_compact(itest_kv, r2, 0, &resp, &err), err);
    etcd_response_free(resp);
    etcd_watch_opts *o = wrec_opts("pullc/a");
    assert_int_equal(etcd_watch_opts_with_rev(o, r1), ETCD_OK);
    etcd_watch_stream *s = NULL;
    ASSERT_OK(etcd_watch_open(etcd_client_watcher(itest_main), o, &s, &err), err);
    etcd_watch_opts_free(o);
    for (int i = 0; i < 3; i++) {
        etcd_code rc = etcd_watch_stream_next(s, WAIT_MS, &resp, &err);
        assert_int_equal(rc, ETCD_E_COMPACTED);
        assert_null(resp);
        assert_non_null(err);
        assert_int_equal(etcd_error_compact_revision(err), r2);
        etcd_error_free(err);
        err = NULL;
    }
    etcd_watch_stream_close(s);
}

/* ---- cancel ---- */

static void test_cancel_live_watch(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    /* Every earlier watch was cancelled: wait until the server has dropped them all. */
    wrec_wait_metric(itest_cluster, 0, WATCHERS, 0, WAIT_MS);
    const double base = 0;
    wrec *r = wrec_new(), *control = wrec_new();
    etcd_call *call = watch_live(c, wrec_opts("cancel/k"), r);
    etcd_call *ccall = watch_live(c, wrec_opts("cancel/k"), control);
    wrec_wait_metric(itest_cluster, 0, WATCHERS, base + 2, WAIT_MS);
    itest_put_string(itest_kv, "cancel/k", "1");
    WREC_WAIT(r, r->n_evs >= 1, WAIT_MS, "the event");
    cancel_and_check(call, r);
    /* The server dropped it too. */
    wrec_wait_metric(itest_cluster, 0, WATCHERS, base + 1, WAIT_MS);
    /* Nothing more reaches the cancelled watch, while its neighbour on the stream goes on. */
    itest_put_string(itest_kv, "cancel/k", "2");
    WREC_WAIT(control, control->n_evs >= 2, WAIT_MS, "the control watch's events");
    pthread_mutex_lock(&r->mu);
    assert_int_equal(r->n_evs, 1);
    assert_int_equal(r->after_final, 0);
    pthread_mutex_unlock(&r->mu);
    cancel_and_check(ccall, control);
    wrec_wait_metric(itest_cluster, 0, WATCHERS, base, WAIT_MS);
    etcd_client_free(c);
    assert_int_equal(r->finals, 1);
    assert_int_equal(control->finals, 1);
    wrec_free(r);
    wrec_free(control);
}

static void test_cancel_before_created(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    /* Every earlier watch was cancelled: wait until the server has dropped them all. */
    wrec_wait_metric(itest_cluster, 0, WATCHERS, 0, WAIT_MS);
    const double base = 0;
    enum { N = 200 };
    wrec *rs[N];
    etcd_call *calls[N];
    for (int i = 0; i < N; i++) {
        rs[i] = wrec_new();
        etcd_watch_opts *o = wrec_opts("cancel/early");
        assert_int_equal(etcd_watch_opts_with_created_notify(o), ETCD_OK);
        calls[i] = wrec_watch(c, o, rs[i]);
        etcd_watch_opts_free(o);
        /* At once: before the create was sent, or before its answer came. */
        etcd_call_cancel(calls[i]);
        if (i % 2)
            etcd_call_cancel(calls[i]); /* twice is harmless */
        if (i % 3 == 0)
            etcd_call_release(calls[i]); /* released before the final: it still runs */
    }
    for (int i = 0; i < N; i++) {
        WREC_WAIT(rs[i], rs[i]->finals >= 1, WAIT_MS, "the final callback");
        if (i % 3 != 0) {
            etcd_call_cancel(calls[i]); /* after the final: harmless */
            etcd_call_release(calls[i]);
        }
    }
    /* Every create the server saw was cancelled there as well. */
    wrec_wait_metric(itest_cluster, 0, WATCHERS, base, WAIT_MS);
    itest_put_string(itest_kv, "cancel/early", "x");
    /* A fresh watch on the same stream sees the put; none of the cancelled ones do. */
    wrec *control = wrec_new();
    int64_t rev = itest_put_string(itest_kv, "cancel/early", "y");
    etcd_watch_opts *o = wrec_opts("cancel/early");
    assert_int_equal(etcd_watch_opts_with_rev(o, rev), ETCD_OK);
    etcd_call *ccall = wrec_watch(c, o, control);
    etcd_watch_opts_free(o);
    WREC_WAIT(control, control->n_evs >= 1, WAIT_MS, "the control event");
    cancel_and_check(ccall, control);
    etcd_client_free(c);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i]->finals, 1);
        assert_int_equal(rs[i]->final_code, ETCD_E_CANCELLED);
        assert_int_equal(rs[i]->after_final, 0);
        assert_int_equal(rs[i]->n_evs, 0);
        assert_int_equal(rs[i]->bad, 0);
        wrec_free(rs[i]);
    }
    wrec_free(control);
}

/* Counts the batches whose callback began after etcd_call_cancel() had returned. */
typedef struct after_cancel {
    wrec *r;
    atomic_bool cancelled;
    atomic_int late_batches;
} after_cancel;

static void count_late(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    after_cancel *a = ud;
    if (resp && atomic_load(&a->cancelled))
        atomic_fetch_add(&a->late_batches, 1);
    wrec_cb(call, code, resp, err, a->r);
}

typedef struct writer {
    etcd_kv *kv;
    atomic_bool stop;
    int written;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    while (!atomic_load(&w->stop)) {
        char k[32];
        snprintf(k, sizeof k, "cancel/busy/%d", w->written % 50);
        etcd_response *resp = NULL;
        etcd_error *err = NULL;
        if (etcd_kv_put(w->kv, k, strlen(k), "v", 1, &resp, &err) == ETCD_OK)
            w->written++;
        etcd_response_free(resp);
        etcd_error_free(err);
    }
    return NULL;
}

/* async.h: "a cancelled stream delivers no further message, only its last callback". */
static void test_no_batch_after_cancel_returned(void **state)
{
    (void)state;
    writer wr = {.kv = itest_kv};
    atomic_init(&wr.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_loop, &wr), 0);
    int late = 0;
    for (int round = 0; round < 20; round++) {
        after_cancel a = {.r = wrec_new()};
        atomic_init(&a.cancelled, false);
        atomic_init(&a.late_batches, 0);
        etcd_watch_opts *o = wrec_opts("cancel/busy/");
        assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
        etcd_call *call = NULL;
        etcd_error *err = NULL;
        ASSERT_OK(etcd_watch(etcd_client_watcher(itest_main), o, count_late, &a, &call, &err), err);
        etcd_watch_opts_free(o);
        WREC_WAIT(a.r, a.r->n_evs >= 5, WAIT_MS, "a few events");
        etcd_call_cancel(call);
        atomic_store(&a.cancelled, true);
        WREC_WAIT(a.r, a.r->finals >= 1, WAIT_MS, "the final");
        assert_int_equal(a.r->final_code, ETCD_E_CANCELLED);
        late += atomic_load(&a.late_batches);
        etcd_call_release(call);
        wrec_free(a.r);
    }
    atomic_store(&wr.stop, true);
    pthread_join(th, NULL);
    if (late)
        fail_msg("%d batches were delivered after etcd_call_cancel() returned", late);
}

/* Cancels its own watch from inside its first event's callback. */
static void cancel_in_callback(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    if (resp && etcd_watch_response_event_count(resp) > 0)
        etcd_call_cancel(call);
    wrec_cb(call, code, resp, err, ud);
}

static void test_cancel_from_callback(void **state)
{
    (void)state;
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("cancel/self");
    assert_int_equal(etcd_watch_opts_with_prefix(o), ETCD_OK);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    int64_t rev = itest_put_string(itest_kv, "cancel/self/1", "a");
    itest_put_string(itest_kv, "cancel/self/2", "b");
    assert_int_equal(etcd_watch_opts_with_rev(o, rev), ETCD_OK);
    ASSERT_OK(etcd_watch(etcd_client_watcher(itest_main), o, cancel_in_callback, r, &call, &err), err);
    etcd_watch_opts_free(o);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final callback");
    assert_int_equal(r->finals, 1);
    assert_int_equal(r->final_code, ETCD_E_CANCELLED);
    assert_true(wrec_n(r) >= 1);
    etcd_call_release(call);
    wrec_free(r);
}

/* ---- compaction ---- */

static void test_compacted_start(void **state)
{
    (void)state;
    int64_t r1 = itest_put_string(itest_kv, "compact/k", "1");
    itest_put_string(itest_kv, "compact/k", "2");
    int64_t r3 = itest_put_string(itest_kv, "compact/k", "3");
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_compact(itest_kv, r3, 0, &resp, &err), err);
    etcd_response_free(resp);
    wrec *r = wrec_new();
    etcd_watch_opts *o = wrec_opts("compact/k");
    assert_int_equal(etcd_watch_opts_with_rev(o, r1), ETCD_OK);
    etcd_call *call = wrec_watch(itest_main, o, r);
    etcd_watch_opts_free(o);
    WREC_WAIT(r, r->finals >= 1, WAIT_MS, "the final callback");
    assert_int_equal(r->final_code, ETCD_E_COMPACTED);
    assert_true(r->final_had_err);
    assert_int_equal(r->compact_rev, r3);
    assert_int_equal(wrec_n(r), 0);
    assert_int_equal(r->finals, 1);
    etcd_call_release(call);
    /* The compaction revision itself is still there: a watch from it works. */
    wrec *ok = wrec_new();
    o = wrec_opts("compact/k");
    assert_int_equal(etcd_watch_opts_with_rev(o, r3), ETCD_OK);
    call = wrec_watch(itest_main, o, ok);
    etcd_watch_opts_free(o);
    WREC_WAIT(ok, ok->n_evs >= 1, WAIT_MS, "the event at the compaction revision");
    assert_event(ok, 0, ETCD_EVENT_PUT, "compact/k", "3");
    cancel_and_check(call, ok);
    wrec_free(ok);
    wrec_free(r);
}

/* ---- callbacks ---- */

typedef struct sync_in_cb {
    wrec *r;
    etcd_kv *kv;
    etcd_code put_rc, get_rc;
    char got[16];
    pthread_t thread;
} sync_in_cb;

static void sync_kv_callback(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    sync_in_cb *s = ud;
    if (resp && etcd_watch_response_event_count(resp) > 0) {
        etcd_response *r = NULL;
        etcd_error *e = NULL;
        s->put_rc = etcd_kv_put(s->kv, "sync/echo", 9, "pong", 4, &r, &e);
        etcd_response_free(r);
        etcd_error_free(e);
        e = NULL;
        r = NULL;
        s->get_rc = etcd_kv_get(s->kv, "sync/echo", 9, &r, &e);
        if (s->get_rc == ETCD_OK && etcd_response_kv_count(r) == 1) {
            size_t n;
            const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
            snprintf(s->got, sizeof s->got, "%.*s", (int)n, (const char *)v);
        }
        etcd_response_free(r);
        etcd_error_free(e);
        s->thread = pthread_self();
    }
    wrec_cb(call, code, resp, err, s->r);
}

static void test_sync_kv_call_in_watch_callback(void **state)
{
    (void)state;
    sync_in_cb s = {.r = wrec_new(), .kv = itest_kv, .put_rc = -1000, .get_rc = -1000};
    int64_t rev = itest_put_string(itest_kv, "sync/ping", "x");
    etcd_watch_opts *o = wrec_opts("sync/ping");
    assert_int_equal(etcd_watch_opts_with_rev(o, rev), ETCD_OK);
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_watch(etcd_client_watcher(itest_main), o, sync_kv_callback, &s, &call, &err), err);
    etcd_watch_opts_free(o);
    WREC_WAIT(s.r, s.r->n_evs >= 1, WAIT_MS, "the event");
    assert_int_equal(s.put_rc, ETCD_OK);
    assert_int_equal(s.get_rc, ETCD_OK);
    assert_string_equal(s.got, "pong");
    assert_false(pthread_equal(s.thread, pthread_self()));
    cancel_and_check(call, s.r);
    wrec_free(s.r);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    etcd_watcher *w = etcd_client_watcher(itest_main);
    etcd_watch_opts *o = wrec_opts("bad");
    etcd_call *call = (etcd_call *)&call;
    etcd_error *err = NULL;
    ASSERT_FAILS(ETCD_E_INVALID_ARGUMENT, etcd_watch(w, o, NULL, NULL, &call, &err), err);
    assert_null(call);
    ASSERT_FAILS(ETCD_E_INVALID_ARGUMENT, etcd_watch(NULL, o, wrec_cb, NULL, NULL, &err), err);
    ASSERT_FAILS(ETCD_E_INVALID_ARGUMENT, etcd_watch(w, NULL, wrec_cb, NULL, NULL, &err), err);
    etcd_watch_stream *s = (etcd_watch_stream *)&s;
    ASSERT_FAILS(ETCD_E_INVALID_ARGUMENT, etcd_watch_open(NULL, o, &s, &err), err);
    assert_null(s);
    assert_null(etcd_client_watcher(NULL));
    etcd_watch_opts_free(o);
    etcd_watch_opts_free(NULL);
}

/* After each test: every watch it started is gone from the server too (none leaked there). */
static int no_server_watchers(void **state)
{
    (void)state;
    if (wrec_metric_reaches(itest_cluster, 0, WATCHERS, 0, WAIT_MS))
        return 0;
    fprintf(stderr, "watchers were left on the server\n");
    /* Start the next test clean all the same: closing the client ends its watches. */
    etcd_client_free(itest_main);
    itest_main = itest_client(NULL);
    itest_kv = etcd_client_kv(itest_main);
    wrec_metric_reaches(itest_cluster, 0, WATCHERS, 0, WAIT_MS);
    return -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_key, no_server_watchers),
        cmocka_unit_test_teardown(test_range, no_server_watchers),
        cmocka_unit_test_teardown(test_prefix, no_server_watchers),
        cmocka_unit_test_teardown(test_from_key, no_server_watchers),
        cmocka_unit_test_teardown(test_start_revision_replays_history, no_server_watchers),
        cmocka_unit_test_teardown(test_prev_kv, no_server_watchers),
        cmocka_unit_test_teardown(test_filter_put, no_server_watchers),
        cmocka_unit_test_teardown(test_filter_delete, no_server_watchers),
        cmocka_unit_test_teardown(test_progress_notify, no_server_watchers),
        cmocka_unit_test_teardown(test_request_progress, no_server_watchers),
        cmocka_unit_test_teardown(test_created_notify, no_server_watchers),
        cmocka_unit_test_teardown(test_pull_mode, no_server_watchers),
        cmocka_unit_test_teardown(test_pull_mode_end_is_sticky, no_server_watchers),
        cmocka_unit_test_teardown(test_cancel_live_watch, no_server_watchers),
        cmocka_unit_test_teardown(test_cancel_before_created, no_server_watchers),
        cmocka_unit_test_teardown(test_no_batch_after_cancel_returned, no_server_watchers),
        cmocka_unit_test_teardown(test_cancel_from_callback, no_server_watchers),
        cmocka_unit_test_teardown(test_compacted_start, no_server_watchers),
        cmocka_unit_test_teardown(test_sync_kv_call_in_watch_callback, no_server_watchers),
        cmocka_unit_test_teardown(test_bad_arguments, no_server_watchers),
    };
    return cmocka_run_group_tests_name("watch", tests, setup, itest_group_teardown);
}
