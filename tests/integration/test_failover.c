/*
 * Failover against a real 3-member cluster, with a fault proxy in front of each member's client
 * port. Short heartbeat and election timeouts keep elections quick. Failover times are printed
 * ("FAILOVER ...") so runs can be compared; nothing here asserts on speed beyond deadlines.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "proxied_cluster.h"

#define MEMBERS PC_MEMBERS

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static etcd_client *failover_client(int64_t keepalive_ms, int require_leader)
{
    etcd_config *cfg = itest_config(pc_proxy_list);
    if (keepalive_ms)
        assert_int_equal(etcd_config_set_keepalive(cfg, keepalive_ms, keepalive_ms), ETCD_OK);
    etcd_config_set_require_leader(cfg, require_leader);
    return itest_client_from(cfg);
}

/* A linearizable read with its own deadline; returns the serving member and the time it took. */
static int timed_get(etcd_kv *kv, const char *key, int64_t timeout_ms, int64_t *took)
{
    etcd_op *op = etcd_op_get(key, strlen(key));
    etcd_op_set_timeout_ms(op, timeout_ms);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    int64_t t0 = now_ms();
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    *took = now_ms() - t0;
    etcd_op_free(op);
    ASSERT_OK(rc, err);
    int m = pc_member_known(etcd_response_member_id(r));
    etcd_response_free(r);
    return m;
}

typedef struct reader_job {
    etcd_kv *kv;
    const char *key;
    int64_t timeout_ms;
    etcd_code rc;
    char value[32];
    int64_t took;
} reader_job;

/* One read with a deadline, run on its own thread while the test changes the cluster. */
static void *reader(void *arg)
{
    reader_job *j = arg;
    etcd_op *op = etcd_op_get(j->key, strlen(j->key));
    etcd_op_set_timeout_ms(op, j->timeout_ms);
    etcd_response *r = NULL;
    int64_t t0 = now_ms();
    j->rc = etcd_kv_do(j->kv, op, &r, NULL);
    j->took = now_ms() - t0;
    if (j->rc == ETCD_OK && etcd_response_kv_count(r) == 1) {
        size_t n;
        const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
        memcpy(j->value, v, n < sizeof j->value - 1 ? n : sizeof j->value - 1);
    }
    etcd_response_free(r);
    etcd_op_free(op);
    return NULL;
}

static void wait_all_ready(void)
{
    assert_int_equal(eh_cluster_wait_ready(itest_cluster, 30000), 0);
}

static void test_kill_serving_member(void **state)
{
    (void)state;
    etcd_client *c = failover_client(0, 0);
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "fo/kill", "v");
    for (int round = 0; round < 3; round++) {
        int64_t took;
        int victim = timed_get(kv, "fo/kill", 5000, &took);
        assert_int_equal(eh_member_kill(itest_cluster, victim), 0);
        /* The next reads succeed through the others well within their deadline. */
        int first = -1;
        int64_t first_took = 0;
        for (int i = 0; i < 5; i++) {
            int m = timed_get(kv, "fo/kill", 5000, &took);
            assert_int_not_equal(m, victim);
            if (first < 0) {
                first = m;
                first_took = took;
            }
        }
        print_message("FAILOVER kill round=%d victim=m%d first_read_ms=%lld\n", round, victim, (long long)first_took);
        /* A write right after: it succeeds, or reports that its outcome is unknown. */
        etcd_response *r = NULL;
        etcd_error *err = NULL;
        etcd_op *op = etcd_op_put("fo/kill-w", 9, "x", 1);
        etcd_op_set_timeout_ms(op, 5000);
        etcd_code rc = etcd_kv_do(kv, op, &r, &err);
        etcd_op_free(op);
        if (rc != ETCD_OK) {
            assert_int_equal(rc, ETCD_E_OUTCOME_UNKNOWN);
            etcd_error_free(err);
        }
        etcd_response_free(r);
        assert_int_equal(eh_member_restart(itest_cluster, victim), 0);
        wait_all_ready();
    }
    etcd_client_free(c);
}

static void test_blackholed_member(void **state)
{
    (void)state;
    /* Keepalive finds the silent member; reads keep succeeding through the others. */
    etcd_client *c = failover_client(1000, 0);
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "fo/bh", "v");
    for (int round = 0; round < 3; round++) {
        int64_t took;
        int victim = timed_get(kv, "fo/bh", 5000, &took);
        fp_set_mode(pc_proxy[victim], FP_BLACKHOLE);
        int64_t worst = 0;
        for (int i = 0; i < 10; i++) {
            int m = timed_get(kv, "fo/bh", 8000, &took);
            assert_int_not_equal(m, victim);
            if (took > worst)
                worst = took;
        }
        print_message("FAILOVER blackhole round=%d victim=m%d worst_read_ms=%lld\n", round, victim, (long long)worst);
        fp_set_mode(pc_proxy[victim], FP_PASS);
        fp_drop_connections(pc_proxy[victim]);
    }
    etcd_client_free(c);
}

typedef struct dropper {
    atomic_bool stop;
} dropper;

static void *drop_loop(void *arg)
{
    dropper *d = arg;
    while (!atomic_load(&d->stop)) {
        for (int i = 0; i < MEMBERS; i++)
            fp_drop_connections(pc_proxy[i]);
        struct timespec ts = {0, 3 * 1000 * 1000}; /* the fault's period, not a synchronisation */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_at_most_once_under_dropped_connections(void **state)
{
    (void)state;
    etcd_client *c = failover_client(0, 0);
    etcd_kv *kv = etcd_client_kv(c);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_delete(kv, "fo/amo", 6, &r, &err), err);
    etcd_response_free(r);
    dropper d = {false};
    pthread_t th;
    pthread_create(&th, NULL, drop_loop, &d);
    int ok = 0, unknown = 0, failed = 0;
    for (int i = 0; i < 300; i++) {
        etcd_op *op = etcd_op_put("fo/amo", 6, "x", 1);
        etcd_op_set_timeout_ms(op, 2000);
        etcd_code rc = etcd_kv_do(kv, op, &r, &err);
        etcd_op_free(op);
        if (rc == ETCD_OK) {
            ok++;
            etcd_response_free(r);
        } else {
            if (rc == ETCD_E_OUTCOME_UNKNOWN)
                unknown++;
            else
                failed++;
            etcd_error_free(err);
            err = NULL;
        }
    }
    atomic_store(&d.stop, true);
    pthread_join(th, NULL);
    /* No write was applied twice: version <= successes + unknowns, and every success counted. */
    r = NULL;
    etcd_code rc = ETCD_E_UNAVAILABLE;
    for (int i = 0; i < 20 && rc != ETCD_OK; i++)
        rc = etcd_kv_get(kv, "fo/amo", 6, &r, NULL);
    assert_int_equal(rc, ETCD_OK);
    int64_t version = etcd_response_kv_count(r) ? etcd_keyvalue_version(etcd_response_kv_at(r, 0)) : 0;
    etcd_response_free(r);
    print_message("AT-MOST-ONCE ok=%d unknown=%d failed=%d version=%lld\n", ok, unknown, failed, (long long)version);
    assert_true(version >= ok);
    assert_true(version <= ok + unknown);
    assert_true(ok > 0);
    etcd_client_free(c);
}

static void test_two_of_three_stopped(void **state)
{
    (void)state;
    etcd_client *c = failover_client(0, 1);
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "fo/quorum", "v");
    assert_int_equal(eh_member_kill(itest_cluster, 1), 0);
    assert_int_equal(eh_member_kill(itest_cluster, 2), 0);

    /* Require-leader: once the survivor has noticed it lost its leader, it says so at once and
     * the call fails fast instead of waiting for its 10 s deadline. */
    etcd_code rc = ETCD_OK;
    int64_t took = 0;
    for (int i = 0; i < 100 && rc != ETCD_E_NO_LEADER; i++) {
        etcd_op *op = etcd_op_get("fo/quorum", 9);
        etcd_op_set_timeout_ms(op, 10000);
        etcd_response *r = NULL;
        rc = etcd_kv_do(kv, op, &r, NULL);
        etcd_op_free(op);
        etcd_response_free(r);
    }
    assert_int_equal(rc, ETCD_E_NO_LEADER);
    etcd_op *op = etcd_op_get("fo/quorum", 9);
    etcd_op_set_timeout_ms(op, 10000);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    int64_t t0 = now_ms();
    rc = etcd_kv_do(kv, op, &r, &err);
    took = now_ms() - t0;
    etcd_op_free(op);
    assert_int_equal(rc, ETCD_E_NO_LEADER);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    etcd_error_free(err);
    assert_true(took < 2000);
    print_message("NO-LEADER fail_fast_ms=%lld\n", (long long)took);

    /* Without require-leader, a read with a deadline waits and succeeds once a member returns. */
    etcd_client *plain = failover_client(0, 0);
    reader_job j = {etcd_client_kv(plain), "fo/quorum", 20000, ETCD_E_INTERNAL, {0}, 0};
    pthread_t th;
    pthread_create(&th, NULL, reader, &j);
    assert_int_equal(eh_member_restart(itest_cluster, 1), 0);
    pthread_join(th, NULL);
    ASSERT_OK(j.rc, NULL);
    assert_string_equal(j.value, "v");
    print_message("QUORUM-BACK read_blocked_ms=%lld\n", (long long)j.took);
    etcd_client_free(plain);
    assert_int_equal(eh_member_restart(itest_cluster, 2), 0);
    wait_all_ready();
    etcd_client_free(c);
}

static void test_read_waits_out_total_outage(void **state)
{
    (void)state;
    /* Every member down: a read with a deadline keeps trying, and succeeds once a quorum is back. */
    etcd_client *c = failover_client(0, 0);
    itest_put_string(etcd_client_kv(c), "fo/outage", "survived");
    for (int i = 0; i < MEMBERS; i++)
        assert_int_equal(eh_member_kill(itest_cluster, i), 0);
    reader_job j = {etcd_client_kv(c), "fo/outage", 30000, ETCD_E_INTERNAL, {0}, 0};
    pthread_t th;
    pthread_create(&th, NULL, reader, &j);
    assert_int_equal(eh_member_restart(itest_cluster, 0), 0);
    assert_int_equal(eh_member_restart(itest_cluster, 1), 0);
    pthread_join(th, NULL);
    ASSERT_OK(j.rc, NULL);
    assert_string_equal(j.value, "survived");
    print_message("OUTAGE read_blocked_ms=%lld\n", (long long)j.took);
    etcd_client_free(c);
}

static void test_get_in_flight_while_member_restarts(void **state)
{
    (void)state;
    etcd_client *c = failover_client(0, 0);
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "fo/restart", "kept");
    int64_t took;
    int victim = timed_get(kv, "fo/restart", 5000, &took);
    /* Hold the victim's traffic so the next read is in flight on it, then restart it. */
    fp_set_mode(pc_proxy[victim], FP_DELAY);
    fp_set_delay_ms(pc_proxy[victim], 1500);
    for (int i = 0; i < MEMBERS; i++)
        if (i != victim)
            fp_set_mode(pc_proxy[i], FP_NO_ACCEPT);
    reader_job j = {kv, "fo/restart", 15000, ETCD_E_INTERNAL, {0}, 0};
    pthread_t th;
    pthread_create(&th, NULL, reader, &j);
    /* Wait until the read's bytes sit in the proxy's delay queue, then restart the member. */
    assert_int_equal(eh_member_kill(itest_cluster, victim), 0);
    for (int i = 0; i < MEMBERS; i++)
        fp_set_mode(pc_proxy[i], FP_PASS);
    assert_int_equal(eh_member_restart(itest_cluster, victim), 0);
    pthread_join(th, NULL);
    ASSERT_OK(j.rc, NULL);
    assert_string_equal(j.value, "kept");
    wait_all_ready();
    etcd_client_free(c);
}

static void test_set_endpoints_switches_live_client(void **state)
{
    (void)state;
    etcd_client *c = itest_client(fp_endpoint(pc_proxy[0]));
    etcd_error *err = NULL;
    etcd_kv *kv = etcd_client_kv(c);
    int64_t took;
    assert_int_equal(timed_get(kv, "fo/switch", 5000, &took), 0);
    assert_int_equal(etcd_client_set_endpoints(c, "bad endpoint", &err), ETCD_E_BAD_ENDPOINT);
    etcd_error_free(err);
    err = NULL;
    ASSERT_OK(etcd_client_set_endpoints(c, fp_endpoint(pc_proxy[1]), &err), err);
    char buf[64];
    etcd_client_endpoints(c, buf, sizeof buf);
    assert_string_equal(buf, fp_endpoint(pc_proxy[1]));
    /* The old member is unreachable now; every read is served by the new one. */
    fp_set_mode(pc_proxy[0], FP_DROP);
    for (int i = 0; i < 5; i++)
        assert_int_equal(timed_get(kv, "fo/switch", 5000, &took), 1);
    fp_set_mode(pc_proxy[0], FP_PASS);
    etcd_client_free(c);
}

static void test_dial_timeouts(void **state)
{
    (void)state;
    /* A listener that accepts and never answers: the dial waits the full timeout and says why. */
    fp_set_mode(pc_proxy[2], FP_BLACKHOLE);
    etcd_config *cfg = etcd_config_new();
    etcd_error *err = NULL;
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", eh_free_port());
    char list[256];
    snprintf(list, sizeof list, "%s,%s", dead, fp_endpoint(pc_proxy[2]));
    ASSERT_OK(etcd_config_set_endpoints(cfg, list, &err), err);
    etcd_config_set_dial_timeout_ms(cfg, 700);
    etcd_client *c = NULL;
    int64_t t0 = now_ms();
    assert_int_equal(etcd_client_new(cfg, &c, &err), ETCD_E_DEADLINE);
    int64_t took = now_ms() - t0;
    assert_true(took >= 700 && took < 700 + 2500);
    const char *m = etcd_error_message(err);
    assert_non_null(strstr(m, dead));
    assert_non_null(strstr(m, "connection refused"));
    assert_non_null(strstr(m, fp_endpoint(pc_proxy[2])));
    assert_non_null(strstr(m, "did not answer"));
    etcd_error_free(err);
    err = NULL;
    fp_set_mode(pc_proxy[2], FP_PASS);

    /* Dead and live endpoints mixed: connects, and every request is served. */
    snprintf(list, sizeof list, "%s,%s", dead, fp_endpoint(pc_proxy[0]));
    ASSERT_OK(etcd_config_set_endpoints(cfg, list, &err), err);
    etcd_config_set_dial_timeout_ms(cfg, 5000);
    ASSERT_OK(etcd_client_new(cfg, &c, &err), err);
    etcd_config_free(cfg);
    for (int i = 0; i < 10; i++)
        assert_int_equal(timed_get(etcd_client_kv(c), "fo/mixed", 3000, &took), 0);
    etcd_client_free(c);
}

static void test_auto_sync_finds_members(void **state)
{
    (void)state;
    /* Configured with one member only; auto-sync learns the others from the member list. */
    etcd_config *cfg = itest_config(eh_member_endpoint(itest_cluster, 0));
    assert_int_equal(etcd_config_set_auto_sync_interval_ms(cfg, 100), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    char buf[512];
    int seen = 0;
    for (int i = 0; i < 500 && seen < MEMBERS; i++) {
        etcd_client_endpoints(c, buf, sizeof buf);
        seen = 0;
        for (int m = 0; m < MEMBERS; m++)
            seen += strstr(buf, eh_member_endpoint(itest_cluster, m)) != NULL;
        if (seen < MEMBERS) {
            struct timespec ts = {0, 10 * 1000 * 1000}; /* polling a condition */
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(seen, MEMBERS);
    /* The configured member dies; reads go on through the members auto-sync found. */
    assert_int_equal(eh_member_kill(itest_cluster, 0), 0);
    int64_t took;
    for (int i = 0; i < 5; i++)
        assert_int_not_equal(timed_get(etcd_client_kv(c), "fo/sync", 5000, &took), 0);
    etcd_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kill_serving_member, pc_whole_cluster),
        cmocka_unit_test_setup(test_blackholed_member, pc_whole_cluster),
        cmocka_unit_test_setup(test_at_most_once_under_dropped_connections, pc_whole_cluster),
        cmocka_unit_test_setup(test_two_of_three_stopped, pc_whole_cluster),
        cmocka_unit_test_setup(test_read_waits_out_total_outage, pc_whole_cluster),
        cmocka_unit_test_setup(test_get_in_flight_while_member_restarts, pc_whole_cluster),
        cmocka_unit_test_setup(test_set_endpoints_switches_live_client, pc_whole_cluster),
        cmocka_unit_test_setup(test_dial_timeouts, pc_whole_cluster),
        cmocka_unit_test_setup(test_auto_sync_finds_members, pc_whole_cluster),
    };
    return cmocka_run_group_tests_name("failover", tests, pc_setup, pc_teardown);
}
