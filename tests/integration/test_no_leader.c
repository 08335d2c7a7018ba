/*
 * A member that has lost its leader: a 3-member cluster with two members killed. What a read
 * reports at its deadline, and the per-op require-leader override in both directions.
 *
 * etcd 3.4 answers a linearizable read it cannot serve with "request timed out" after its
 * request timeout (5 s + 2 election timeouts = 6 s here). Its one read loop may still be
 * waiting out an earlier read (from before the member noticed it lost its leader), so the
 * answer can take up to two such timeouts. A read with a 15 s deadline meets that answer,
 * retries it (it is "unavailable"), and runs out of time on the retry.
 */
#include <time.h>

#include "itest.h"

#define MEMBERS 3
#define SURVIVOR 0

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static etcd_client *client_for_survivor(int require_leader)
{
    etcd_config *cfg = itest_config(eh_member_endpoint(itest_cluster, SURVIVOR));
    assert_int_equal(etcd_config_set_require_leader(cfg, require_leader), ETCD_OK);
    return itest_client_from(cfg);
}

/* Sends a get of "nl/k" with its own timeout and require-leader override (-1: none). */
static etcd_code timed_get(etcd_client *c, int64_t timeout_ms, int require_leader, int64_t *took, etcd_error **err)
{
    etcd_op *op = etcd_op_get("nl/k", 4);
    etcd_op_set_timeout_ms(op, timeout_ms);
    if (require_leader >= 0)
        assert_int_equal(etcd_op_set_require_leader(op, require_leader), ETCD_OK);
    etcd_response *r = NULL;
    int64_t t0 = now_ms();
    etcd_code rc = etcd_kv_do(etcd_client_kv(c), op, &r, err);
    *took = now_ms() - t0;
    etcd_op_free(op);
    etcd_response_free(r);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    eh_opts opts = {.members = MEMBERS, .heartbeat_ms = 50, .election_ms = 500};
    itest_cluster = itest_start(&opts);
    if (!itest_cluster)
        return -1;
    etcd_client *c = itest_client(eh_endpoints(itest_cluster));
    itest_put_string(etcd_client_kv(c), "nl/k", "v");
    etcd_client_free(c);
    for (int i = 0; i < MEMBERS; i++)
        if (i != SURVIVOR && eh_member_kill(itest_cluster, i) != 0)
            return -1;
    /* Wait until the survivor knows it has no leader: require-leader calls then say so. */
    c = client_for_survivor(1);
    etcd_code rc = ETCD_OK;
    int64_t end = now_ms() + 30000;
    while (rc != ETCD_E_NO_LEADER && now_ms() < end) {
        int64_t took;
        rc = timed_get(c, 2000, -1, &took, NULL);
        if (rc != ETCD_E_NO_LEADER) {
            struct timespec ts = {0, 20 * 1000 * 1000}; /* polling a condition */
            nanosleep(&ts, NULL);
        }
    }
    etcd_client_free(c);
    if (rc != ETCD_E_NO_LEADER) {
        fprintf(stderr, "the survivor never reported \"no leader\" (last: %s)\n", etcd_code_name(rc));
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    eh_cluster_stop(itest_cluster);
    return 0;
}

static void test_deadline_keeps_last_answer_as_cause(void **state)
{
    (void)state;
    enum { TIMEOUT = 15000 };
    etcd_client *c = client_for_survivor(0);
    etcd_error *err = NULL;
    int64_t took;
    etcd_code rc = timed_get(c, TIMEOUT, -1, &took, &err);
    print_message("NO-LEADER-READ took_ms=%lld rc=%s cause=%s msg=%s\n", (long long)took, etcd_code_name(rc),
                  err ? etcd_code_name(etcd_error_cause(err)) : "-", err ? etcd_error_message(err) : "-");
    if (rc != ETCD_E_DEADLINE)
        fail_msg("got %s, expected ETCD_E_DEADLINE: %s", etcd_code_name(rc), err ? etcd_error_message(err) : "-");
    assert_true(took >= TIMEOUT - 2 && took < TIMEOUT + 3000);
    assert_non_null(err);
    assert_int_equal(etcd_error_code(err), ETCD_E_DEADLINE);
    /* The cause is what the server answered before the deadline, not the deadline itself. */
    etcd_code cause = etcd_error_cause(err);
    if (cause != ETCD_E_TIMEOUT && cause != ETCD_E_TIMEOUT_LEADER_FAIL && cause != ETCD_E_TIMEOUT_CONN_LOST &&
        cause != ETCD_E_NO_LEADER && cause != ETCD_E_UNHEALTHY)
        fail_msg("cause is %s, expected a server answer such as ETCD_E_TIMEOUT: %s", etcd_code_name(cause),
                 etcd_error_message(err));
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_grpc_status(err), 14); /* the answer's UNAVAILABLE */
    assert_non_null(etcd_error_server_message(err));
    assert_non_null(strstr(etcd_error_server_message(err), "etcdserver:"));
    assert_non_null(strstr(etcd_error_message(err), "deadline"));
    etcd_error_free(err);
    etcd_client_free(c);
}

static void test_require_leader_per_op(void **state)
{
    (void)state;
    etcd_error *err = NULL;
    int64_t took;
    /* Client without require-leader, op with it: fails fast. */
    etcd_client *plain = client_for_survivor(0);
    etcd_code rc = timed_get(plain, 10000, 1, &took, &err);
    if (rc != ETCD_E_NO_LEADER)
        fail_msg("op with require-leader on: got %s after %lld ms, expected ETCD_E_NO_LEADER: %s", etcd_code_name(rc),
                 (long long)took, err ? etcd_error_message(err) : "-");
    assert_true(took < 2000);
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    etcd_error_free(err);
    err = NULL;
    etcd_client_free(plain);

    /* Client with require-leader, op without it: waits for its deadline instead. */
    etcd_client *strict = client_for_survivor(1);
    rc = timed_get(strict, 2000, 0, &took, &err);
    if (rc != ETCD_E_DEADLINE)
        fail_msg("op with require-leader off: got %s after %lld ms, expected ETCD_E_DEADLINE: %s", etcd_code_name(rc),
                 (long long)took, err ? etcd_error_message(err) : "-");
    assert_true(took >= 2000 - 2);
    assert_int_not_equal(etcd_error_cause(err), ETCD_E_NO_LEADER);
    etcd_error_free(err);
    err = NULL;
    /* And without an override the client's setting holds: fast "no leader". */
    rc = timed_get(strict, 10000, -1, &took, &err);
    assert_int_equal(rc, ETCD_E_NO_LEADER);
    assert_true(took < 2000);
    etcd_error_free(err);
    etcd_client_free(strict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_keeps_last_answer_as_cause),
        cmocka_unit_test(test_require_leader_per_op),
    };
    return cmocka_run_group_tests_name("no_leader", tests, setup, teardown);
}
