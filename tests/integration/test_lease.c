/*
 * Leases against one real etcd member: the unary calls (sync and async), their argument checks,
 * and keepalives: many leases on one stream, renewals that keep keys alive, expiry estimates,
 * and exactly one final callback per kept lease under cancel, revoke, loss and client close, in
 * both dispatch modes. The member runs with a short election timeout (500 ms) so that etcd
 * honours a 2 s TTL instead of raising it. A fault proxy in front of it cuts a client off.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fault_proxy.h"
#include "itest.h"
#include "lease_log.h"

#define TTL 2
#define MANY 1000

static fp_proxy *proxy;
static etcd_client *admin;      /* grants, revokes and checks; never keeps a lease alive */
static etcd_lease *alease;
static etcd_kv *akv;

static int setup(void **state)
{
    (void)state;
    eh_opts opts = {.members = 1, .heartbeat_ms = 50, .election_ms = 500};
    itest_cluster = itest_start(&opts);
    if (!itest_cluster)
        return -1;
    if (fp_start(eh_member_client_port(itest_cluster, 0), &proxy) != 0)
        return -1;
    admin = itest_client(NULL);
    alease = etcd_client_lease(admin);
    akv = etcd_client_kv(admin);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    etcd_client_free(admin);
    fp_stop(proxy);
    eh_cluster_stop(itest_cluster);
    return 0;
}

/* A test that failed with the proxy cut off does not leave it so for the next one. */
static int proxy_pass(void **state)
{
    (void)state;
    fp_set_mode(proxy, FP_PASS);
    return 0;
}

static int port(void)
{
    return eh_member_client_port(itest_cluster, 0);
}

static int64_t grant(int64_t ttl_s)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_grant(alease, ttl_s, 0, &r, &err), err);
    int64_t id = etcd_lease_response_id(r);
    assert_true(id > 0);
    assert_int_equal(etcd_lease_response_ttl(r), ttl_s);
    etcd_response_free(r);
    return id;
}

static void put_with_lease(const char *key, int64_t id)
{
    etcd_op *op = etcd_op_put(key, strlen(key), "v", 1);
    assert_int_equal(etcd_op_with_lease(op, id), ETCD_OK);
    etcd_response_free(itest_do(akv, op));
}

/* The key's lease, or -1 when the key does not exist. */
static int64_t key_lease(const char *key)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_get(akv, key, strlen(key), &r, &err), err);
    int64_t lease = etcd_response_kv_count(r) ? etcd_keyvalue_lease(etcd_response_kv_at(r, 0)) : -1;
    etcd_response_free(r);
    return lease;
}

/* The server's remaining TTL of a lease (-1: no such lease). */
static int64_t server_ttl(int64_t id)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_time_to_live(alease, id, 0, &r, &err), err);
    int64_t ttl = etcd_lease_response_ttl(r);
    etcd_response_free(r);
    return ttl;
}

static void revoke_one(int64_t id)
{
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_revoke(alease, id, &r, &err), err);
    assert_int_equal(etcd_response_get_kind(r), ETCD_RESPONSE_LEASE_REVOKE);
    etcd_response_free(r);
}

static etcd_client *keeper_client(etcd_dispatch mode, bool through_proxy)
{
    etcd_config *cfg = itest_config(through_proxy ? fp_endpoint(proxy) : NULL);
    assert_int_equal(etcd_config_set_dispatch(cfg, mode), ETCD_OK);
    return itest_client_from(cfg);
}

/* ---- unary calls ---- */

static void test_grant(void **state)
{
    (void)state;
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_grant(alease, 10, 0, &r, &err), err);
    assert_int_equal(etcd_response_get_kind(r), ETCD_RESPONSE_LEASE_GRANT);
    int64_t picked = etcd_lease_response_id(r);
    assert_true(picked > 0);
    assert_int_equal(etcd_lease_response_ttl(r), 10);
    assert_true(etcd_response_revision(r) > 0);
    etcd_response_free(r);

    /* A caller-chosen ID, then the same ID again: the second grant is refused. */
    const int64_t chosen = 0x5eed0001;
    ASSERT_OK(etcd_lease_grant(alease, 10, chosen, &r, &err), err);
    assert_int_equal(etcd_lease_response_id(r), chosen);
    assert_int_equal(etcd_lease_response_ttl(r), 10);
    etcd_response_free(r);
    r = (etcd_response *)&r;
    ASSERT_FAILS(ETCD_E_LEASE_EXISTS, etcd_lease_grant(alease, 10, chosen, &r, &err), err);
    assert_null(r);

    /* Accessors that do not apply to a grant answer 0. */
    ASSERT_OK(etcd_lease_time_to_live(alease, chosen, 0, &r, &err), err);
    assert_int_equal(etcd_lease_response_lease_count(r), 0);
    assert_int_equal(etcd_lease_response_lease_at(r, 0), 0);
    etcd_response_free(r);
    assert_int_equal(etcd_lease_response_id(NULL), 0);
    assert_int_equal(etcd_lease_response_ttl(NULL), 0);
    revoke_one(picked);
    revoke_one(chosen);
}

static void test_revoke_deletes_keys(void **state)
{
    (void)state;
    int64_t id = grant(60);
    put_with_lease("lease/rv/a", id);
    put_with_lease("lease/rv/b", id);
    assert_int_equal(key_lease("lease/rv/a"), id);
    assert_int_equal(key_lease("lease/rv/b"), id);
    revoke_one(id);
    assert_int_equal(key_lease("lease/rv/a"), -1);
    assert_int_equal(key_lease("lease/rv/b"), -1);
    assert_int_equal(server_ttl(id), -1);
    /* Revoking again: the lease is gone. */
    etcd_response *r = (etcd_response *)&r;
    etcd_error *err = NULL;
    ASSERT_FAILS(ETCD_E_LEASE_NOT_FOUND, etcd_lease_revoke(alease, id, &r, &err), err);
    assert_null(r);
}

static void test_time_to_live(void **state)
{
    (void)state;
    int64_t id = grant(30);
    put_with_lease("lease/ttl/a", id);
    put_with_lease("lease/ttl/bb", id);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_time_to_live(alease, id, 0, &r, &err), err);
    assert_int_equal(etcd_response_get_kind(r), ETCD_RESPONSE_LEASE_TIME_TO_LIVE);
    assert_int_equal(etcd_lease_response_id(r), id);
    assert_true(etcd_lease_response_ttl(r) > 0 && etcd_lease_response_ttl(r) <= 30);
    assert_int_equal(etcd_lease_response_granted_ttl(r), 30);
    assert_int_equal(etcd_lease_response_key_count(r), 0); /* keys not asked for */
    etcd_response_free(r);

    ASSERT_OK(etcd_lease_time_to_live(alease, id, 1, &r, &err), err);
    assert_int_equal(etcd_lease_response_key_count(r), 2);
    int seen_a = 0, seen_bb = 0;
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        const uint8_t *k = etcd_lease_response_key_at(r, i, &n);
        assert_non_null(k);
        seen_a += n == 11 && memcmp(k, "lease/ttl/a", 11) == 0;
        seen_bb += n == 12 && memcmp(k, "lease/ttl/bb", 12) == 0;
    }
    assert_int_equal(seen_a, 1);
    assert_int_equal(seen_bb, 1);
    size_t n = 99;
    assert_null(etcd_lease_response_key_at(r, 2, &n));
    assert_int_equal(n, 0);
    etcd_response_free(r);

    /* An unknown lease is not an error: TTL -1. */
    ASSERT_OK(etcd_lease_time_to_live(alease, 0x7ead0001, 1, &r, &err), err);
    assert_int_equal(etcd_lease_response_ttl(r), -1);
    assert_int_equal(etcd_lease_response_key_count(r), 0);
    etcd_response_free(r);
    revoke_one(id);
}

static void test_leases_lists_them(void **state)
{
    (void)state;
    int64_t ids[3] = {grant(30), grant(30), grant(30)};
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_leases(alease, &r, &err), err);
    assert_int_equal(etcd_response_get_kind(r), ETCD_RESPONSE_LEASE_LEASES);
    size_t count = etcd_lease_response_lease_count(r);
    assert_true(count >= 3);
    for (int j = 0; j < 3; j++) {
        int found = 0;
        for (size_t i = 0; i < count; i++)
            found += etcd_lease_response_lease_at(r, i) == ids[j];
        assert_int_equal(found, 1);
    }
    assert_int_equal(etcd_lease_response_lease_at(r, count), 0);
    etcd_response_free(r);
    for (int j = 0; j < 3; j++)
        revoke_one(ids[j]);
    /* Revoked leases leave the list. */
    ASSERT_OK(etcd_lease_leases(alease, &r, &err), err);
    for (size_t i = 0; i < etcd_lease_response_lease_count(r); i++)
        for (int j = 0; j < 3; j++)
            assert_int_not_equal(etcd_lease_response_lease_at(r, i), ids[j]);
    etcd_response_free(r);
}

static void test_keep_alive_once(void **state)
{
    (void)state;
    int64_t id = grant(10);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_keep_alive_once(alease, id, &r, &err), err);
    assert_int_equal(etcd_response_get_kind(r), ETCD_RESPONSE_LEASE_KEEP_ALIVE);
    assert_int_equal(etcd_lease_response_id(r), id);
    assert_int_equal(etcd_lease_response_ttl(r), 10);
    assert_true(etcd_response_member_id(r) != 0);
    etcd_response_free(r);
    revoke_one(id);
    r = (etcd_response *)&r;
    ASSERT_FAILS(ETCD_E_LEASE_NOT_FOUND, etcd_lease_keep_alive_once(alease, id, &r, &err), err);
    assert_null(r);
    ASSERT_FAILS(ETCD_E_LEASE_NOT_FOUND, etcd_lease_keep_alive_once(alease, 0x7ead0002, &r, &err), err);
}

/* A sync renew-once must not need the client's callbacks to run: in caller dispatch nobody
 * dispatches while the caller waits, and in thread dispatch the waiter may be a callback. */
typedef struct once_job {
    etcd_lease *l;
    int64_t id;
    etcd_code rc;
    int64_t ttl;
    atomic_bool done;
} once_job;

static void *once_thread(void *arg)
{
    once_job *j = arg;
    etcd_response *r = NULL;
    j->rc = etcd_lease_keep_alive_once(j->l, j->id, &r, NULL);
    j->ttl = etcd_lease_response_ttl(r);
    etcd_response_free(r);
    atomic_store(&j->done, true);
    return NULL;
}

static bool wait_flag(atomic_bool *flag, int64_t timeout_ms)
{
    for (int64_t end = sc_now_ms() + timeout_ms; !atomic_load(flag);) {
        if (sc_now_ms() > end)
            return false;
        sc_sleep_ms(5); /* polling a condition */
    }
    return true;
}

static void test_keep_alive_once_caller_dispatch(void **state)
{
    (void)state;
    int64_t id = grant(10);
    etcd_client *c = keeper_client(ETCD_DISPATCH_CALLER, false);
    once_job j = {.l = etcd_client_lease(c), .id = id, .rc = ETCD_E_INTERNAL};
    pthread_t th;
    pthread_create(&th, NULL, once_thread, &j);
    /* Nobody calls etcd_client_dispatch() meanwhile, as in a program that makes only sync calls. */
    if (!wait_flag(&j.done, 10000))
        fail_msg("a sync keep-alive-once in caller dispatch did not return within 10 s"); /* c stays: in use */
    pthread_join(th, NULL);
    ASSERT_OK(j.rc, NULL);
    assert_int_equal(j.ttl, 10);
    etcd_client_free(c);
    revoke_one(id);
}

typedef struct in_cb {
    etcd_lease *l;
    int64_t id;
    atomic_int runs;
    etcd_code rc;
    atomic_bool done;
} in_cb;

static void renew_once_inside(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    (void)code;
    in_cb *x = ud;
    if (resp && atomic_fetch_add(&x->runs, 1) == 0) {
        etcd_response *r = NULL;
        x->rc = etcd_lease_keep_alive_once(x->l, x->id, &r, NULL);
        etcd_response_free(r);
        atomic_store(&x->done, true);
    }
    etcd_response_free(resp);
    etcd_error_free(err);
}

static void test_keep_alive_once_from_a_callback(void **state)
{
    (void)state;
    int64_t id = grant(10);
    etcd_client *c = keeper_client(ETCD_DISPATCH_THREAD, false);
    in_cb x = {.l = etcd_client_lease(c), .id = id, .rc = ETCD_E_INTERNAL};
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_lease_keep_alive(x.l, id, 1, renew_once_inside, &x, &call, &err), err);
    /* The sync call answers (or is refused), but does not wait for the thread it runs on. */
    if (!wait_flag(&x.done, 10000))
        fail_msg("a sync keep-alive-once from a keepalive callback did not return within 10 s");
    assert_true(x.rc == ETCD_OK || x.rc == ETCD_E_INVALID_ARGUMENT);
    print_message("LEASE keep-alive-once from a callback: %s\n", etcd_code_name(x.rc));
    etcd_call_cancel(call);
    etcd_call_release(call);
    etcd_client_free(c);
    revoke_one(id);
}

/* ---- async forms ---- */

typedef struct one {
    pthread_mutex_t mu;
    int ran;
    etcd_code code;
    etcd_response *resp;
    etcd_error *err;
    etcd_call *call;            /* the handle the callback was given */
    bool inside_submit;         /* ran on the submitting thread while it was inside the submit */
} one;

static _Thread_local bool submitting;

static void on_one(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    one *o = ud;
    pthread_mutex_lock(&o->mu);
    o->ran++;
    o->code = code;
    o->call = call;
    o->inside_submit |= submitting;
    etcd_response_free(o->resp);
    etcd_error_free(o->err);
    o->resp = resp;
    o->err = err;
    pthread_mutex_unlock(&o->mu);
}

static bool one_ran(one *o)
{
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&o->mu);
        int ran = o->ran;
        pthread_mutex_unlock(&o->mu);
        if (ran)
            return true;
        sc_sleep_ms(5); /* polling a condition */
    }
    return false;
}

/* Checks one async call's single callback: success with resp of `kind`, or failure `fail`. */
static etcd_response *one_check(one *o, etcd_call *handle, etcd_response_kind kind, etcd_code fail)
{
    assert_true(one_ran(o));
    sc_sleep_ms(100); /* a second callback would come right after the first */
    pthread_mutex_lock(&o->mu);
    assert_int_equal(o->ran, 1);
    assert_false(o->inside_submit);
    assert_ptr_equal(o->call, handle);
    etcd_response *r = o->resp;
    if (fail == ETCD_OK) {
        if (o->code != ETCD_OK)
            fail_msg("async call failed: %s", etcd_error_message(o->err));
        assert_null(o->err);
        assert_non_null(r);
        assert_int_equal(etcd_response_get_kind(r), kind);
    } else {
        assert_int_equal(o->code, fail);
        assert_null(r);
        assert_non_null(o->err);
        assert_int_equal(etcd_error_code(o->err), fail);
        etcd_error_free(o->err);
    }
    o->ran = 0;
    o->code = ETCD_OK;
    o->resp = NULL;
    o->err = NULL;
    o->call = NULL;
    pthread_mutex_unlock(&o->mu);
    /* A unary call's handle is no keepalive. */
    assert_int_equal(etcd_lease_keep_alive_expiry_ms(handle), 0);
    etcd_call_release(handle);
    return r;
}

static void test_async_forms(void **state)
{
    (void)state;
    one o;
    memset(&o, 0, sizeof o);
    pthread_mutex_init(&o.mu, NULL);
    etcd_call *call = NULL;
    etcd_error *err = NULL;

    submitting = true;
    ASSERT_OK(etcd_lease_grant_async(alease, 20, 0, on_one, &o, &call, &err), err);
    submitting = false;
    assert_non_null(call);
    etcd_response *r = one_check(&o, call, ETCD_RESPONSE_LEASE_GRANT, ETCD_OK);
    int64_t id = etcd_lease_response_id(r);
    assert_true(id > 0);
    assert_int_equal(etcd_lease_response_ttl(r), 20);
    etcd_response_free(r);
    put_with_lease("lease/async/k", id);

    submitting = true;
    ASSERT_OK(etcd_lease_time_to_live_async(alease, id, 1, on_one, &o, &call, &err), err);
    submitting = false;
    r = one_check(&o, call, ETCD_RESPONSE_LEASE_TIME_TO_LIVE, ETCD_OK);
    assert_int_equal(etcd_lease_response_id(r), id);
    assert_int_equal(etcd_lease_response_granted_ttl(r), 20);
    assert_int_equal(etcd_lease_response_key_count(r), 1);
    etcd_response_free(r);

    submitting = true;
    ASSERT_OK(etcd_lease_leases_async(alease, on_one, &o, &call, &err), err);
    submitting = false;
    r = one_check(&o, call, ETCD_RESPONSE_LEASE_LEASES, ETCD_OK);
    int found = 0;
    for (size_t i = 0; i < etcd_lease_response_lease_count(r); i++)
        found += etcd_lease_response_lease_at(r, i) == id;
    assert_int_equal(found, 1);
    etcd_response_free(r);

    submitting = true;
    ASSERT_OK(etcd_lease_revoke_async(alease, id, on_one, &o, &call, &err), err);
    submitting = false;
    etcd_response_free(one_check(&o, call, ETCD_RESPONSE_LEASE_REVOKE, ETCD_OK));
    assert_int_equal(key_lease("lease/async/k"), -1);

    /* Failures come through the one callback too, with err and no resp. */
    ASSERT_OK(etcd_lease_revoke_async(alease, id, on_one, &o, &call, &err), err);
    one_check(&o, call, ETCD_RESPONSE_LEASE_REVOKE, ETCD_E_LEASE_NOT_FOUND);
    ASSERT_OK(etcd_lease_grant_async(alease, 20, 0x5eed0002, on_one, &o, &call, &err), err);
    etcd_response_free(one_check(&o, call, ETCD_RESPONSE_LEASE_GRANT, ETCD_OK));
    ASSERT_OK(etcd_lease_grant_async(alease, 20, 0x5eed0002, on_one, &o, NULL, &err), err);
    assert_true(one_ran(&o));
    sc_sleep_ms(100); /* a second callback would come right after the first */
    pthread_mutex_lock(&o.mu);
    assert_int_equal(o.ran, 1);
    assert_int_equal(o.code, ETCD_E_LEASE_EXISTS);
    etcd_error_free(o.err);
    pthread_mutex_unlock(&o.mu);
    revoke_one(0x5eed0002);
    pthread_mutex_destroy(&o.mu);
}

/* ---- argument checks ---- */

/* The call runs first, then its error is read (argument order is unspecified in C). */
#define expect_invalid(rc, err, names)                                                                            \
    do {                                                                                                          \
        etcd_code rc_ = (rc);                                                                                     \
        expect_invalid_at(rc_, (err), (names), #rc);                                                              \
        (err) = NULL;                                                                                             \
    } while (0)

static void expect_invalid_at(etcd_code rc, etcd_error *err, const char *names, const char *call)
{
    if (rc != ETCD_E_INVALID_ARGUMENT)
        fail_msg("%s: got %s, expected ETCD_E_INVALID_ARGUMENT naming '%s'", call, etcd_code_name(rc), names);
    if (!err)
        fail_msg("%s: no error", call);
    assert_int_equal(etcd_error_code(err), ETCD_E_INVALID_ARGUMENT);
    if (!strstr(etcd_error_message(err), names))
        fail_msg("%s: message '%s' does not name '%s'", call, etcd_error_message(err), names);
    etcd_error_free(err);
}

static void never_called(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    (void)code;
    (void)resp;
    (void)err;
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    atomic_int calls = 0;
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    etcd_call *call = (etcd_call *)&call;
    void *cb_ud = &calls;

    expect_invalid(etcd_lease_grant(alease, 0, 0, &r, &err), err, "TTL");
    expect_invalid(etcd_lease_grant(alease, -5, 0, &r, &err), err, "TTL");
    expect_invalid(etcd_lease_grant(alease, 10, -1, &r, &err), err, "ID");
    expect_invalid(etcd_lease_grant(NULL, 10, 0, &r, &err), err, "lease interface");
    expect_invalid(etcd_lease_grant(alease, 10, 0, NULL, &err), err, "resp");
    expect_invalid(etcd_lease_grant_async(alease, 0, 0, never_called, cb_ud, &call, &err), err, "TTL");
    assert_null(call);
    call = (etcd_call *)&call;
    expect_invalid(etcd_lease_grant_async(alease, 10, 0, NULL, cb_ud, &call, &err), err, "callback");
    assert_null(call);

    expect_invalid(etcd_lease_revoke(alease, 0, &r, &err), err, "ID");
    expect_invalid(etcd_lease_revoke(alease, -3, &r, &err), err, "ID");
    expect_invalid(etcd_lease_revoke(NULL, 1, &r, &err), err, "lease interface");
    expect_invalid(etcd_lease_revoke(alease, 1, NULL, &err), err, "resp");
    expect_invalid(etcd_lease_revoke_async(alease, 0, never_called, cb_ud, NULL, &err), err, "ID");
    expect_invalid(etcd_lease_revoke_async(alease, 1, NULL, cb_ud, NULL, &err), err, "callback");

    expect_invalid(etcd_lease_time_to_live(alease, 0, 0, &r, &err), err, "ID");
    expect_invalid(etcd_lease_time_to_live(NULL, 1, 0, &r, &err), err, "lease interface");
    expect_invalid(etcd_lease_time_to_live(alease, 1, 0, NULL, &err), err, "resp");
    expect_invalid(etcd_lease_time_to_live_async(alease, -1, 1, never_called, cb_ud, NULL, &err), err, "ID");
    expect_invalid(etcd_lease_time_to_live_async(alease, 1, 1, NULL, cb_ud, NULL, &err), err, "callback");

    expect_invalid(etcd_lease_leases(NULL, &r, &err), err, "lease interface");
    expect_invalid(etcd_lease_leases(alease, NULL, &err), err, "resp");
    expect_invalid(etcd_lease_leases_async(alease, NULL, cb_ud, NULL, &err), err, "callback");

    expect_invalid(etcd_lease_keep_alive_once(alease, 0, &r, &err), err, "ID");
    expect_invalid(etcd_lease_keep_alive_once(NULL, 1, &r, &err), err, "lease interface");
    expect_invalid(etcd_lease_keep_alive_once(alease, 1, NULL, &err), err, "resp");

    call = (etcd_call *)&call;
    expect_invalid(etcd_lease_keep_alive(alease, 0, 1, never_called, cb_ud, &call, &err), err, "ID");
    assert_null(call);
    expect_invalid(etcd_lease_keep_alive(alease, -7, 0, never_called, cb_ud, NULL, &err), err, "ID");
    expect_invalid(etcd_lease_keep_alive(alease, 1, 0, NULL, cb_ud, NULL, &err), err, "callback");
    expect_invalid(etcd_lease_keep_alive(NULL, 1, 0, never_called, cb_ud, NULL, &err), err, "lease interface");
    assert_null(r);
    assert_int_equal(etcd_lease_keep_alive_expiry_ms(NULL), 0);

    /* No error out-pointer: the code alone. */
    assert_int_equal(etcd_lease_grant(alease, 0, 0, &r, NULL), ETCD_E_INVALID_ARGUMENT);
    assert_null(etcd_client_lease(NULL));
    sc_sleep_ms(200); /* a wrongly submitted call would have answered by now */
    assert_int_equal(atomic_load(&calls), 0);
}

/* ---- expiry and keepalive of single leases ---- */

/* Polls until the key is gone; returns when, or fails after timeout_ms. */
static int64_t wait_key_gone(const char *key, int64_t timeout_ms)
{
    int64_t end = sc_now_ms() + timeout_ms;
    while (key_lease(key) != -1) {
        if (sc_now_ms() > end)
            fail_msg("key %s still exists after %lld ms", key, (long long)timeout_ms);
        sc_sleep_ms(20); /* polling a condition */
    }
    return sc_now_ms();
}

static void test_unkept_lease_expires(void **state)
{
    (void)state;
    int64_t t0 = sc_now_ms();
    int64_t id = grant(TTL); /* grant() checks etcd honoured the TTL */
    put_with_lease("lease/expire/k", id);
    int64_t gone = wait_key_gone("lease/expire/k", TTL * 1000 + 3000);
    print_message("LEASE unkept TTL %d s: keys gone after %lld ms\n", TTL, (long long)(gone - t0));
    /* Not earlier than the TTL allows, and not much later (etcd checks expiry every 500 ms). */
    assert_true(gone - t0 >= TTL * 1000 - 100);
    assert_true(gone - t0 <= TTL * 1000 + 1500);
    assert_int_equal(server_ttl(id), -1);
}

static bool pred_renewed(lease_log *g, void *arg)
{
    return g->e[0].renewals >= *(int *)arg;
}

static void keeps_keys_alive(etcd_dispatch mode)
{
    etcd_client *c = keeper_client(mode, false);
    lease_log *g = lease_log_new(1, mode == ETCD_DISPATCH_CALLER ? c : NULL);
    int64_t id = grant(TTL);
    put_with_lease("lease/kept/k", id);
    int64_t t0 = sc_now_ms();
    keep_all(etcd_client_lease(c), g, &id, 1, true);
    etcd_call *call = g->e[0].call;
    /* Watch for more than 3 TTLs: the expiry estimate always lies ahead, within one TTL, and
     * moves on with the renewals. */
    int64_t first = 0, last = 0, samples = 0;
    while (sc_now_ms() - t0 < 3 * TTL * 1000 + 1000) {
        lease_log_step(g);
        int64_t before = sc_now_ms();
        int64_t e = etcd_lease_keep_alive_expiry_ms(call);
        int64_t after = sc_now_ms();
        if (e == 0)
            continue; /* no renewal answered yet */
        if (!(e > before && e <= after + TTL * 1000))
            fail_msg("expiry %lld not in (now, now + TTL]: now %lld", (long long)e, (long long)before);
        if (!first)
            first = e;
        last = e;
        samples++;
    }
    assert_true(samples > 10);
    assert_true(last - first >= 2 * TTL * 1000);
    assert_int_equal(log_finals(g), 0);
    assert_no_violation(g);
    /* Renewed at about a third of the TTL: about 10 renewals in 7 s. */
    assert_true(log_renewals(g) >= 3 * 3);
    assert_int_equal(key_lease("lease/kept/k"), id);
    assert_true(server_ttl(id) > 0);
    print_message("LEASE kept TTL %d s for %lld ms: %d renewals, max gap %lld ms\n", TTL,
                  (long long)(sc_now_ms() - t0), log_renewals(g), (long long)lease_log_max_gap(g));

    /* Cancelling stops the keepalive but does not revoke: the lease runs out its TTL. */
    etcd_call_cancel(call);
    int one_final = 1;
    assert_true(lease_log_wait(g, pred_finals, &one_final, 5000));
    int64_t cancelled = sc_now_ms();
    assert_int_equal(g->e[0].final_code, ETCD_E_CANCELLED);
    assert_int_equal(etcd_lease_keep_alive_expiry_ms(call), 0);
    assert_true(server_ttl(id) > 0);
    assert_int_equal(key_lease("lease/kept/k"), id);
    int64_t gone = wait_key_gone("lease/kept/k", TTL * 1000 + 3000);
    print_message("LEASE cancelled keepalive: keys gone %lld ms after the cancel\n", (long long)(gone - cancelled));
    assert_true(gone - cancelled <= TTL * 1000 + 1500);
    assert_int_equal(server_ttl(id), -1);
    lease_log_run_for(g, 300);
    assert_int_equal(log_finals(g), 1);
    assert_no_violation(g);
    etcd_call_cancel(call); /* again, after the end: harmless */
    etcd_call_release(call);
    etcd_client_free(c);
    assert_int_equal(log_finals(g), 1);
    lease_log_free(g);
}

static void test_kept_lease_keeps_keys(void **state)
{
    (void)state;
    keeps_keys_alive(ETCD_DISPATCH_THREAD);
}

static void test_kept_lease_keeps_keys_caller_dispatch(void **state)
{
    (void)state;
    keeps_keys_alive(ETCD_DISPATCH_CALLER);
}

static void test_revoke_while_kept(void **state)
{
    (void)state;
    etcd_client *c = keeper_client(ETCD_DISPATCH_THREAD, false);
    lease_log *g = lease_log_new(1, NULL);
    int64_t id = grant(TTL);
    keep_all(etcd_client_lease(c), g, &id, 1, true);
    int one_renewal = 1, one_final = 1;
    assert_true(lease_log_wait(g, pred_renewed, &one_renewal, 5000));
    int64_t t0 = sc_now_ms();
    revoke_one(id);
    assert_true(lease_log_wait(g, pred_finals, &one_final, TTL * 1000 + 2000));
    assert_int_equal(g->e[0].final_code, ETCD_E_LEASE_NOT_FOUND);
    print_message("LEASE revoked while kept: reported after %lld ms (%s)\n", (long long)(g->e[0].final_ms - t0),
                  g->e[0].final_msg);
    /* Noticed at the next renewal, a third of the TTL away at most (plus slack). */
    assert_true(g->e[0].final_ms - t0 <= TTL * 1000 / 3 + 1000);
    int renewals = log_renewals(g);
    lease_log_run_for(g, TTL * 1000);
    assert_int_equal(log_finals(g), 1);
    assert_int_equal(log_renewals(g), renewals);
    assert_no_violation(g);
    etcd_call_release(g->e[0].call);
    lease_log_free(g);

    /* A lease that never existed ends the same way, at its first answer. */
    g = lease_log_new(1, NULL);
    int64_t unknown = 0x7ead0003;
    keep_all(etcd_client_lease(c), g, &unknown, 1, false);
    assert_true(lease_log_wait(g, pred_finals, &one_final, 5000));
    assert_int_equal(g->e[0].final_code, ETCD_E_LEASE_NOT_FOUND);
    assert_int_equal(log_renewals(g), 0);
    etcd_client_free(c);
    assert_int_equal(log_finals(g), 1);
    assert_no_violation(g);
    lease_log_free(g);
}

/* Closing a client whose keepalive stream is open but keeps no lease (after a renew-once, or
 * once every keepalive was cancelled): the stream's end must not outlive the client. */
static void test_close_with_idle_keepalive_stream(void **state)
{
    (void)state;
    int64_t id = grant(30);
    for (int i = 0; i < 100; i++) {
        etcd_client *c = keeper_client(i % 2 ? ETCD_DISPATCH_CALLER : ETCD_DISPATCH_THREAD, false);
        etcd_response *r = NULL;
        etcd_error *err = NULL;
        ASSERT_OK(etcd_lease_keep_alive_once(etcd_client_lease(c), id, &r, &err), err);
        etcd_response_free(r);
        etcd_client_free(c);
    }
    revoke_one(id);
}

/* ---- many leases ---- */

/* The first *arg leases of the log renewed at least once. */
static bool pred_first_renewed(lease_log *g, void *arg)
{
    for (int i = 0; i < *(int *)arg; i++)
        if (g->e[i].renewals < 1)
            return false;
    return true;
}

static void test_many_leases_one_stream(void **state)
{
    (void)state;
    long streams0 = metric_sum(port(), KEEPALIVE_STREAMS_STARTED);
    long msgs0 = metric_sum(port(), KEEPALIVE_MSGS_RECEIVED);
    assert_true(streams0 >= 0 && msgs0 >= 0);
    int64_t *ids = calloc(MANY, sizeof *ids);
    etcd_client *c = keeper_client(ETCD_DISPATCH_THREAD, false);
    lease_log *g = lease_log_new(MANY, NULL);
    int64_t t0 = sc_now_ms();
    /* Two waves: the second must join the stream the first opened. Each is granted just before
     * it is kept, so that a slow machine cannot let it expire first. */
    int half = MANY / 2;
    grant_many(alease, half, TTL, ids);
    keep_range(etcd_client_lease(c), g, ids, 0, half, 1, false);
    assert_true(lease_log_wait(g, pred_first_renewed, &half, 10000));
    grant_many(alease, MANY - half, TTL, ids + half);
    keep_range(etcd_client_lease(c), g, ids, half, MANY, 1, false);
    /* More than 3 TTLs: a lease not renewed would be gone by then. */
    lease_log_run_for(g, 3 * TTL * 1000 + 1000);
    assert_int_equal(log_finals(g), 0);
    assert_no_violation(g); /* while every lease is kept: each renewal had an expiry estimate */
    int alive = count_alive(alease, MANY, ids);
    long streams = metric_sum(port(), KEEPALIVE_STREAMS_STARTED) - streams0;
    long msgs = metric_sum(port(), KEEPALIVE_MSGS_RECEIVED) - msgs0;
    print_message("LEASE %d kept leases over %lld ms: %d alive, %ld keepalive streams, %ld renewals sent\n", MANY,
                  (long long)(sc_now_ms() - t0), alive, streams, msgs);
    assert_int_equal(alive, MANY);
    assert_int_equal(streams, 1);
    /* Each lease renewed at about a third of its TTL, not far more often: never twice within
     * ETCD_RENEW_MIN_MS (500 ms), counting the first renewal and one sent on the stream's start.
     * A loaded machine stretches the run, not the bound. */
    int64_t took = sc_now_ms() - t0;
    long most = (long)MANY * (took / 500 + 2);
    if (msgs < MANY * 6 || msgs > most)
        fail_msg("%ld renewals of %d leases over %lld ms: expected %d to %ld", msgs, MANY, (long long)took,
                 MANY * 6, most);
    etcd_client_free(c);
    assert_int_equal(log_finals(g), MANY);
    assert_no_violation(g);
    lease_log_free(g);
    revoke_many(alease, MANY, ids);
    free(ids);
}

/* Waits until the next renewals have begun to arrive: in thread dispatch until one more was
 * delivered (the rest of the burst is still on its way), in caller dispatch until some are
 * ready and not run. */
static bool wait_next_burst(lease_log *g, etcd_client *c, int seen)
{
    int64_t end = sc_now_ms() + 5000;
    while (sc_now_ms() < end) {
        if (g->pump) {
            struct pollfd p = {.fd = etcd_client_fd(c), .events = POLLIN};
            if (poll(&p, 1, 10) > 0)
                return true;
        } else if (log_renewals(g) > seen) {
            return true;
        } else {
            sched_yield(); /* polling a condition that lasts a few ms only */
        }
    }
    return false;
}

typedef enum ending { END_CANCEL, END_REVOKE, END_LOST, END_CLOSE } ending;

/* The TTL of the leases that end each way: long enough for a loaded machine (sanitizers, a
 * cluster test beside) to start keeping 1,000 leases before any expires. */
#define FINALS_TTL 5

/* "CODE: message" of the first lease that ended, for failure messages. */
static const char *first_final(lease_log *g)
{
    static char buf[320];
    snprintf(buf, sizeof buf, "none");
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->n; i++)
        if (g->e[i].finals) {
            snprintf(buf, sizeof buf, "%s: %s", etcd_code_name(g->e[i].final_code), g->e[i].final_msg);
            break;
        }
    pthread_mutex_unlock(&g->mu);
    return buf;
}

static void *cancel_all(void *arg)
{
    lease_log *g = arg;
    for (int i = 0; i < g->n; i++)
        etcd_call_cancel(g->e[i].call);
    return NULL;
}

/* MANY kept leases end one way; each reports exactly one final callback, with the right code. */
static void finals_exactly_once(etcd_dispatch mode, ending how)
{
    static const char *const names[] = {"cancel", "revoke", "lost", "close"};
    static const etcd_code expected[] = {ETCD_E_CANCELLED, ETCD_E_LEASE_NOT_FOUND, ETCD_E_LEASE_LOST,
                                         ETCD_E_CANCELLED};
    int64_t *ids = calloc(MANY, sizeof *ids);
    grant_many(alease, MANY, FINALS_TTL, ids);
    long streams0 = metric_sum(port(), KEEPALIVE_STREAMS_STARTED);
    long msgs0 = metric_sum(port(), KEEPALIVE_MSGS_RECEIVED);
    etcd_client *c = keeper_client(mode, how == END_LOST);
    lease_log *g = lease_log_new(MANY, mode == ETCD_DISPATCH_CALLER ? c : NULL);
    bool handles = how == END_CANCEL || how == END_LOST;
    keep_all(etcd_client_lease(c), g, ids, 1, handles);
    int once = 1, all = MANY;
    if (!lease_log_wait(g, pred_each_renewed, &once, 15000))
        fail_msg("not every kept lease was renewed within 15 s: %d renewals, %d finals (first: %s); the server "
                 "saw %ld keepalive streams start and %ld renewals",
                 log_renewals(g), log_finals(g), first_final(g), metric_sum(port(), KEEPALIVE_STREAMS_STARTED) - streams0,
                 metric_sum(port(), KEEPALIVE_MSGS_RECEIVED) - msgs0);
    int64_t *before = calloc(MANY, sizeof *before);
    int64_t t0 = sc_now_ms();
    switch (how) {
    case END_CANCEL: {
        pthread_t th;
        pthread_create(&th, NULL, cancel_all, g);
        assert_true(lease_log_wait(g, pred_finals, &all, 10000));
        pthread_join(th, NULL);
        break;
    }
    case END_REVOKE:
        revoke_many(alease, MANY, ids);
        assert_true(lease_log_wait(g, pred_finals, &all, FINALS_TTL * 1000 + 5000));
        break;
    case END_LOST:
        fp_set_mode(proxy, FP_BLACKHOLE);
        for (int i = 0; i < MANY; i++)
            before[i] = etcd_lease_keep_alive_expiry_ms(g->e[i].call);
        assert_true(lease_log_wait(g, pred_finals, &all, FINALS_TTL * 1000 + 5000));
        break;
    case END_CLOSE:
        /* Closed while the next burst of renewals is on its way to the callbacks. */
        if (!wait_next_burst(g, c, log_renewals(g)))
            fail_msg("no renewal burst within 5 s (%d renewals)", log_renewals(g));
        etcd_client_free(c);
        c = NULL;
        /* Every final ran inside the free. */
        assert_int_equal(log_finals(g), MANY);
        break;
    }
    int64_t took = sc_now_ms() - t0;
    int64_t worst_late = INT64_MIN, worst_early = INT64_MAX;
    for (int i = 0; i < MANY; i++) {
        kept_entry *e = &g->e[i];
        assert_int_equal(e->finals, 1);
        if (e->final_code != expected[how])
            fail_msg("lease %lld ended with %s, expected %s: %s", (long long)e->id, etcd_code_name(e->final_code),
                     etcd_code_name(expected[how]), e->final_msg);
        if (how == END_LOST) {
            /* Lost at its local expiry, not before the estimate read before the outage, and
             * within a second or so after the last estimate. */
            assert_true(before[i] > 0);
            if (e->final_ms - before[i] < worst_early)
                worst_early = e->final_ms - before[i];
            if (e->final_ms - e->expiry_ms > worst_late)
                worst_late = e->final_ms - e->expiry_ms;
        }
    }
    print_message("LEASE finals %s (%s dispatch): %d finals in %lld ms, %d renewals\n", names[how],
                  mode == ETCD_DISPATCH_CALLER ? "caller" : "thread", log_finals(g), (long long)took, log_renewals(g));
    if (how == END_LOST) {
        print_message("LEASE lost: reported %lld..%lld ms after the local expiry\n",
                      (long long)worst_early, (long long)worst_late);
        assert_true(worst_early >= 0);
        assert_true(worst_late <= 1500);
        /* Back in reach: a lost lease is never renewed again, not even sent. */
        int renewals = log_renewals(g);
        fp_set_mode(proxy, FP_PASS);
        long msgs_back = metric_sum(port(), KEEPALIVE_MSGS_RECEIVED);
        lease_log_run_for(g, FINALS_TTL * 1000);
        assert_int_equal(log_renewals(g), renewals);
        assert_int_equal(metric_sum(port(), KEEPALIVE_MSGS_RECEIVED), msgs_back);
    }
    if (c) {
        lease_log_run_for(g, 200);
        if (handles)
            for (int i = 0; i < MANY; i++)
                etcd_call_release(g->e[i].call);
        etcd_client_free(c);
    }
    assert_int_equal(log_finals(g), MANY);
    assert_no_violation(g);
    lease_log_free(g);
    free(before);
    free(ids);
}

#define FINALS_TEST(how, mode, name)                                                                              \
    static void test_finals_##name(void **state)                                                                  \
    {                                                                                                             \
        (void)state;                                                                                              \
        finals_exactly_once(mode, how);                                                                           \
    }
FINALS_TEST(END_CANCEL, ETCD_DISPATCH_THREAD, cancel_thread)
FINALS_TEST(END_CANCEL, ETCD_DISPATCH_CALLER, cancel_caller)
FINALS_TEST(END_REVOKE, ETCD_DISPATCH_THREAD, revoke_thread)
FINALS_TEST(END_REVOKE, ETCD_DISPATCH_CALLER, revoke_caller)
FINALS_TEST(END_LOST, ETCD_DISPATCH_THREAD, lost_thread)
FINALS_TEST(END_LOST, ETCD_DISPATCH_CALLER, lost_caller)
FINALS_TEST(END_CLOSE, ETCD_DISPATCH_THREAD, close_thread)
FINALS_TEST(END_CLOSE, ETCD_DISPATCH_CALLER, close_caller)

int main(void)
{
    /* ITEST_FILTER=test_name runs only the matching tests (cmocka's pattern). */
    if (getenv("ITEST_FILTER"))
        cmocka_set_test_filter(getenv("ITEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant),
        cmocka_unit_test(test_revoke_deletes_keys),
        cmocka_unit_test(test_time_to_live),
        cmocka_unit_test(test_leases_lists_them),
        cmocka_unit_test(test_keep_alive_once),
        cmocka_unit_test(test_keep_alive_once_caller_dispatch),
        cmocka_unit_test(test_keep_alive_once_from_a_callback),
        cmocka_unit_test(test_async_forms),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_unkept_lease_expires),
        cmocka_unit_test(test_kept_lease_keeps_keys),
        cmocka_unit_test(test_kept_lease_keeps_keys_caller_dispatch),
        cmocka_unit_test(test_revoke_while_kept),
        cmocka_unit_test(test_close_with_idle_keepalive_stream),
        cmocka_unit_test(test_many_leases_one_stream),
        cmocka_unit_test_setup(test_finals_cancel_thread, proxy_pass),
        cmocka_unit_test_setup(test_finals_cancel_caller, proxy_pass),
        cmocka_unit_test_setup(test_finals_revoke_thread, proxy_pass),
        cmocka_unit_test_setup(test_finals_revoke_caller, proxy_pass),
        cmocka_unit_test_setup(test_finals_lost_thread, proxy_pass),
        cmocka_unit_test_setup(test_finals_lost_caller, proxy_pass),
        cmocka_unit_test_setup(test_finals_close_thread, proxy_pass),
        cmocka_unit_test_setup(test_finals_close_caller, proxy_pass),
    };
    return cmocka_run_group_tests_name("lease", tests, setup, teardown);
}
