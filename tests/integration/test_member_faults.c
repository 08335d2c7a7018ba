/*
 * Writes while members die or restart, on a real 3-member cluster: a write in flight on a
 * member that is killed has an unknown outcome, later writes go to the members still up, and
 * with none up a write is refused without being sent. Under graceful restarts, every write the
 * client called done is there and every write it called failed is not; how many "unknown" ones
 * were applied is printed ("GRACEFUL ...") as a measurement.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "proxied_cluster.h"
#include "server_counts.h"

/* Every test starts from a whole, healthy cluster with all proxies passing and no connection
 * left over from the test before. */
static int whole_cluster(void **state)
{
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_drop_connections(pc_proxy[i]);
    return pc_whole_cluster(state);
}

/* The member that served a response, by the member ID in its header. */
static int served_by(const etcd_response *r)
{
    return pc_member_index(etcd_response_member_id(r));
}

typedef struct result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    etcd_code code;
    etcd_error *err;
} result;

static void on_result(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    result *r = ud;
    etcd_response_free(resp);
    pthread_mutex_lock(&r->mu);
    r->code = code;
    r->err = err;
    r->done = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static bool result_wait(result *r, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&r->mu);
    while (!r->done && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    bool done = r->done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

static void expect_failure(etcd_code rc, const etcd_error *err, etcd_code code, etcd_code cause)
{
    if (rc != code || !err || etcd_error_cause(err) != cause)
        fail_msg("got %s (cause %s), expected %s (cause %s): %s", etcd_code_name(rc),
                 err ? etcd_code_name(etcd_error_cause(err)) : "-", etcd_code_name(code), etcd_code_name(cause),
                 err ? etcd_error_message(err) : "-");
    assert_int_equal(etcd_error_outcome(err), code == ETCD_E_OUTCOME_UNKNOWN ? ETCD_OUTCOME_UNKNOWN
                                                                            : ETCD_OUTCOME_NOT_APPLIED);
}

static etcd_code put_with_timeout(etcd_kv *kv, const char *key, int64_t ms, etcd_response **r, etcd_error **err)
{
    etcd_op *op = etcd_op_put(key, strlen(key), "v", 1);
    etcd_op_set_timeout_ms(op, ms);
    etcd_code rc = etcd_kv_do(kv, op, r, err);
    etcd_op_free(op);
    return rc;
}

static void test_write_in_flight_on_killed_member(void **state)
{
    (void)state;
    /* `held` reaches member 0 only through its proxy, which holds what it is sent. */
    etcd_client *held = itest_client(fp_endpoint(pc_proxy[0]));
    free(itest_get_string(etcd_client_kv(held), "mf/warm-up"));
    /* `direct` knows members 0 and 1 and is connected to both: each has served it. */
    char eps[128];
    snprintf(eps, sizeof eps, "%s,%s", eh_member_endpoint(itest_cluster, 0), eh_member_endpoint(itest_cluster, 1));
    etcd_client *direct = itest_client(eps);
    etcd_kv *dkv = etcd_client_kv(direct);
    bool seen[PC_MEMBERS] = {false};
    for (int i = 0; i < 50 && !(seen[0] && seen[1]); i++) {
        etcd_op *op = etcd_op_get("mf/warm-up", 10);
        etcd_op_with_serializable(op);
        etcd_response *r = itest_do(dkv, op);
        int m = served_by(r);
        if (m >= 0)
            seen[m] = true;
        etcd_response_free(r);
    }
    assert_true(seen[0] && seen[1]);

    fp_set_mode(pc_proxy[0], FP_DELAY);
    fp_set_delay_ms(pc_proxy[0], 1500);
    result res = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, ETCD_OK, NULL};
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    etcd_op *op = etcd_op_put("mf/in-flight", 12, "v", 1);
    etcd_op_set_timeout_ms(op, 20000);
    ASSERT_OK(etcd_kv_do_async(etcd_client_kv(held), op, on_result, &res, &call, &err), err);
    etcd_op_free(op);
    /* Sent before the kill: the member may have taken it, the client cannot know. */
    assert_int_equal(eh_member_kill(itest_cluster, 0), 0);
    assert_true(result_wait(&res, 15));
    etcd_call_release(call);
    expect_failure(res.code, res.err, ETCD_E_OUTCOME_UNKNOWN, ETCD_E_UNAVAILABLE);
    etcd_error_free(res.err);
    etcd_client_free(held);

    /* Started after the kill: it goes to the member that is up, and succeeds. */
    assert_int_equal(eh_cluster_wait_ready(itest_cluster, 30000), 0);
    for (int i = 0; i < 5; i++) {
        etcd_response *r = NULL;
        etcd_code rc = put_with_timeout(dkv, "mf/after-kill", 5000, &r, &err);
        ASSERT_OK(rc, err);
        assert_int_equal(served_by(r), 1);
        etcd_response_free(r);
    }

    /* With no member of its own up, a put waits for a connection and is refused unsent. */
    assert_int_equal(eh_member_kill(itest_cluster, 1), 0);
    assert_int_equal(eh_member_kill(itest_cluster, 2), 0);
    /* A get first, parked or failed either way: by its end the client has seen both go. */
    etcd_op *g = etcd_op_get("mf/after-kill", 13);
    etcd_op_set_timeout_ms(g, 300);
    etcd_response *r = NULL;
    etcd_code rc = etcd_kv_do(dkv, g, &r, NULL);
    etcd_op_free(g);
    assert_int_equal(rc, ETCD_E_DEADLINE);
    rc = put_with_timeout(dkv, "mf/nobody", 1000, &r, &err);
    expect_failure(rc, err, ETCD_E_DEADLINE, ETCD_E_DEADLINE);
    assert_int_equal(etcd_error_grpc_status(err), -1);
    etcd_error_free(err);
    etcd_client_free(direct);
}

#define WRITERS 8
#define MAX_PUTS 20000

typedef struct put_result {
    etcd_code rc;
    etcd_code cause;
    char *server_message;
} put_result;

typedef struct writer {
    int index;
    etcd_kv *kv;
    atomic_bool *stop;
    int n;
    put_result *puts;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    while (!atomic_load(w->stop) && w->n < MAX_PUTS) {
        char key[32];
        snprintf(key, sizeof key, "gr/%d/%06d", w->index, w->n);
        etcd_response *r = NULL;
        etcd_error *err = NULL;
        put_result *p = &w->puts[w->n++];
        p->rc = put_with_timeout(w->kv, key, 5000, &r, &err);
        if (p->rc != ETCD_OK) {
            p->cause = etcd_error_cause(err);
            const char *m = etcd_error_server_message(err);
            p->server_message = m ? strdup(m) : NULL;
        }
        etcd_response_free(r);
        etcd_error_free(err);
    }
    return NULL;
}

/* Which of writer w's keys exist, read with one prefix get. */
static void read_present(etcd_kv *kv, int w, bool *present)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "gr/%d/", w);
    etcd_response *r = NULL;
    etcd_code rc = ETCD_E_UNAVAILABLE;
    for (int i = 0; i < 20 && rc != ETCD_OK; i++) {
        etcd_op *op = etcd_op_get(prefix, strlen(prefix));
        etcd_op_with_prefix(op);
        etcd_op_with_keys_only(op);
        etcd_op_set_timeout_ms(op, 5000);
        rc = etcd_kv_do(kv, op, &r, NULL);
        etcd_op_free(op);
    }
    assert_int_equal(rc, ETCD_OK);
    for (size_t i = 0; i < etcd_response_kv_count(r); i++) {
        size_t n;
        const uint8_t *k = etcd_keyvalue_key(etcd_response_kv_at(r, i), &n);
        char buf[32];
        if (n >= sizeof buf)
            continue;
        memcpy(buf, k, n);
        buf[n] = 0;
        int seq = atoi(buf + strlen(prefix));
        if (seq >= 0 && seq < MAX_PUTS)
            present[seq] = true;
    }
    etcd_response_free(r);
}

/* Failures grouped by code, cause and server message, with how many of each were applied. */
typedef struct failure_kind {
    etcd_code rc, cause;
    const char *message;
    int count, applied;
} failure_kind;

static void tally(failure_kind *kinds, int *n, const put_result *p, bool applied)
{
    for (int i = 0; i < *n; i++) {
        failure_kind *k = &kinds[i];
        bool same_msg = (!k->message && !p->server_message) ||
                        (k->message && p->server_message && strcmp(k->message, p->server_message) == 0);
        if (k->rc == p->rc && k->cause == p->cause && same_msg) {
            k->count++;
            k->applied += applied;
            return;
        }
    }
    if (*n < 64)
        kinds[(*n)++] = (failure_kind){p->rc, p->cause, p->server_message, 1, applied};
}

static void test_graceful_restarts_under_writes(void **state)
{
    (void)state;
    etcd_client *c = itest_client(NULL);
    etcd_kv *kv = etcd_client_kv(c);
    atomic_bool stop = false;
    writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){i, kv, &stop, 0, calloc(MAX_PUTS, sizeof(put_result))};
        pthread_create(&th[i], NULL, write_loop, &w[i]);
    }
    /* Each member in turn is stopped (SIGTERM: it hands on leadership and closes its
     * connections) and started again, twice round. */
    int64_t t0 = sc_now_ms();
    for (int round = 0; round < 2; round++)
        for (int m = 0; m < PC_MEMBERS; m++) {
            assert_int_equal(eh_member_stop(itest_cluster, m), 0);
            if (eh_member_restart(itest_cluster, m) != 0)
                fail_msg("restart of member %d failed: %s", m, eh_last_error(itest_cluster));
        }
    atomic_store(&stop, true);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    int64_t took = sc_now_ms() - t0;
    assert_int_equal(eh_cluster_wait_ready(itest_cluster, 30000), 0);

    int total = 0, ok = 0, definite = 0, unknown = 0, applied = 0, lost = 0, ghost = 0;
    failure_kind kinds[64];
    int nkinds = 0;
    bool *present = calloc(MAX_PUTS, sizeof *present);
    for (int i = 0; i < WRITERS; i++) {
        memset(present, 0, MAX_PUTS * sizeof *present);
        read_present(kv, i, present);
        for (int s = 0; s < w[i].n; s++) {
            put_result *p = &w[i].puts[s];
            total++;
            if (p->rc == ETCD_OK) {
                ok++;
                if (!present[s] && lost++ == 0)
                    print_message("LOST gr/%d/%06d: the put returned ETCD_OK\n", i, s);
                continue;
            }
            tally(kinds, &nkinds, p, present[s]);
            if (p->rc == ETCD_E_OUTCOME_UNKNOWN) {
                unknown++;
                applied += present[s];
            } else {
                definite++;
                if (present[s] && ghost++ == 0)
                    print_message("GHOST gr/%d/%06d: the put failed with %s (cause %s, \"%s\") but was applied\n", i,
                                  s, etcd_code_name(p->rc), etcd_code_name(p->cause),
                                  p->server_message ? p->server_message : "");
            }
        }
    }
    print_message("GRACEFUL puts=%d ok=%d definite=%d unknown=%d applied=%d restarts_ms=%lld\n", total, ok, definite,
                  unknown, applied, (long long)took);
    for (int i = 0; i < nkinds; i++)
        print_message("GRACEFUL failure %s cause=%s message=\"%s\" count=%d applied=%d\n", etcd_code_name(kinds[i].rc),
                      etcd_code_name(kinds[i].cause), kinds[i].message ? kinds[i].message : "", kinds[i].count,
                      kinds[i].applied);
    for (int i = 0; i < WRITERS; i++) {
        for (int s = 0; s < w[i].n; s++)
            free(w[i].puts[s].server_message);
        free(w[i].puts);
    }
    free(present);
    etcd_client_free(c);
    assert_int_equal(lost, 0);
    assert_int_equal(ghost, 0);
    assert_true(ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_write_in_flight_on_killed_member, whole_cluster),
        cmocka_unit_test_setup(test_graceful_restarts_under_writes, whole_cluster),
    };
    return cmocka_run_group_tests_name("member_faults", tests, pc_setup, pc_teardown);
}
