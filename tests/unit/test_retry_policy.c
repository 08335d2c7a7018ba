/* Retry policy: method classes, when a failed attempt may be retried, and the backoff. */
#include "unit.h"

#include "error/error_internal.h"
#include "retry/policy.h"

enum { S_CANCELLED = 1, S_INVALID_ARGUMENT = 3, S_DEADLINE = 4, S_RESOURCE_EXHAUSTED = 8, S_FAILED_PRECONDITION = 9,
       S_OUT_OF_RANGE = 11, S_UNAVAILABLE = 14, S_UNAUTHENTICATED = 16 };

/* "Service/Method" split at the slash, as the transport passes them. */
static etcd_retry_class class_of(const char *full)
{
    char service[64];
    const char *slash = strchr(full, '/');
    assert_non_null(slash);
    size_t n = (size_t)(slash - full);
    assert_true(n < sizeof service);
    memcpy(service, full, n);
    service[n] = '\0';
    return etcd_retry_class_of(service, slash + 1);
}

/* Side-effect free (ETCD-FACTS.md, "Retry classes"; clientv3 retry.go). */
static const char *const repeatable[] = {
    "etcdserverpb.KV/Range",
    "etcdserverpb.Lease/LeaseRevoke",
    "etcdserverpb.Lease/LeaseTimeToLive",
    "etcdserverpb.Lease/LeaseLeases",
    "etcdserverpb.Cluster/MemberList",
    "etcdserverpb.Maintenance/Alarm",
    "etcdserverpb.Maintenance/Status",
    "etcdserverpb.Maintenance/Hash",
    "etcdserverpb.Maintenance/HashKV",
    "etcdserverpb.Maintenance/MoveLeader",
    "etcdserverpb.Auth/UserList",
    "etcdserverpb.Auth/UserGet",
    "etcdserverpb.Auth/RoleGet",
    "etcdserverpb.Auth/RoleList",
};

static const char *const non_repeatable[] = {
    "etcdserverpb.KV/Put",
    /* Without a caller-chosen ID a retried grant could create a second lease; the lease layer
     * marks grants with an ID repeatable itself. */
    "etcdserverpb.Lease/LeaseGrant",
    "etcdserverpb.KV/DeleteRange",
    "etcdserverpb.KV/Txn",
    "etcdserverpb.KV/Compact",
    "etcdserverpb.Cluster/MemberAdd",
    "etcdserverpb.Cluster/MemberRemove",
    "etcdserverpb.Cluster/MemberUpdate",
    "etcdserverpb.Cluster/MemberPromote",
    "etcdserverpb.Maintenance/Defragment",
    "etcdserverpb.Auth/Authenticate",
    "etcdserverpb.Auth/AuthEnable",
    "etcdserverpb.Auth/AuthDisable",
    "etcdserverpb.Auth/UserAdd",
    "etcdserverpb.Auth/UserDelete",
    "etcdserverpb.Auth/UserChangePassword",
    "etcdserverpb.Auth/UserGrantRole",
    "etcdserverpb.Auth/UserRevokeRole",
    "etcdserverpb.Auth/RoleAdd",
    "etcdserverpb.Auth/RoleDelete",
    "etcdserverpb.Auth/RoleGrantPermission",
    "etcdserverpb.Auth/RoleRevokePermission",
    "v3lockpb.Lock/Lock",
    "v3lockpb.Lock/Unlock",
    "v3electionpb.Election/Campaign",
    "v3electionpb.Election/Proclaim",
    "v3electionpb.Election/Resign",
};

static void test_classes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof repeatable / sizeof repeatable[0]; i++)
        if (class_of(repeatable[i]) != ETCD_RETRY_REPEATABLE)
            fail_msg("%s should be repeatable", repeatable[i]);
    for (size_t i = 0; i < sizeof non_repeatable / sizeof non_repeatable[0]; i++)
        if (class_of(non_repeatable[i]) != ETCD_RETRY_NON_REPEATABLE)
            fail_msg("%s should be non-repeatable", non_repeatable[i]);
}

/* Unknown methods, and known method names under the wrong service, are treated as writes. */
static void test_unknown_is_non_repeatable(void **state)
{
    (void)state;
    assert_int_equal(etcd_retry_class_of("etcdserverpb.KV", "Frobnicate"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("etcdserverpb.Lease", "Range"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("etcdserverpb.K", "V/Range"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("etcdserverpb.KV/Range", ""), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("", "Range"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("etcdserverpb.KV", "range"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("etcdserverpb.KV", "Range2"), ETCD_RETRY_NON_REPEATABLE);
    assert_int_equal(etcd_retry_class_of("xetcdserverpb.KV", "Range"), ETCD_RETRY_NON_REPEATABLE);
}

static void test_reads_retry_only_when_unavailable(void **state)
{
    (void)state;
    const etcd_retry_class R = ETCD_RETRY_REPEATABLE;
    /* Unavailable, from the transport or from the server ("no leader", "request timed out", ...). */
    assert_true(etcd_retry_allowed(R, ETCD_E_UNAVAILABLE, S_UNAVAILABLE, true));
    assert_true(etcd_retry_allowed(R, ETCD_E_UNAVAILABLE, S_UNAVAILABLE, false));
    assert_true(etcd_retry_allowed(R, ETCD_E_UNAVAILABLE, -1, false));
    assert_true(etcd_retry_allowed(R, ETCD_E_NO_LEADER, S_UNAVAILABLE, true));
    assert_true(etcd_retry_allowed(R, ETCD_E_TIMEOUT, S_UNAVAILABLE, true));
    assert_true(etcd_retry_allowed(R, ETCD_E_LEADER_CHANGED, S_UNAVAILABLE, true));
    assert_true(etcd_retry_allowed(R, ETCD_E_STOPPED, S_UNAVAILABLE, true));
    assert_true(etcd_retry_allowed(R, ETCD_E_NOT_SUPPORTED_FOR_LEARNER, S_UNAVAILABLE, true));
    /* Anything else is final. */
    assert_false(etcd_retry_allowed(R, ETCD_E_COMPACTED, S_OUT_OF_RANGE, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_FUTURE_REV, S_OUT_OF_RANGE, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_INVALID_ARGUMENT, -1, false));
    assert_false(etcd_retry_allowed(R, ETCD_E_KEY_NOT_PROVIDED, S_INVALID_ARGUMENT, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_DEADLINE, S_DEADLINE, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_CANCELLED, S_CANCELLED, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_TOO_MANY_REQUESTS, S_RESOURCE_EXHAUSTED, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_MESSAGE_TOO_LARGE, S_RESOURCE_EXHAUSTED, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_NOT_LEADER, S_FAILED_PRECONDITION, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_INVALID_AUTH_TOKEN, S_UNAUTHENTICATED, true));
    assert_false(etcd_retry_allowed(R, ETCD_E_CLOSED, -1, false));
}

static void test_writes_retry_only_when_never_sent(void **state)
{
    (void)state;
    const etcd_retry_class W = ETCD_RETRY_NON_REPEATABLE;
    /* No connection was available: the request never left, so trying elsewhere is safe. */
    assert_true(etcd_retry_allowed(W, ETCD_E_UNAVAILABLE, S_UNAVAILABLE, false));
    assert_true(etcd_retry_allowed(W, ETCD_E_UNAVAILABLE, -1, false));
    /* It may have reached a server: never retried (it could be applied twice). */
    assert_false(etcd_retry_allowed(W, ETCD_E_UNAVAILABLE, S_UNAVAILABLE, true));
    assert_false(etcd_retry_allowed(W, ETCD_E_TIMEOUT, S_UNAVAILABLE, true));
    assert_false(etcd_retry_allowed(W, ETCD_E_LEADER_CHANGED, S_UNAVAILABLE, true));
    assert_false(etcd_retry_allowed(W, ETCD_E_NO_LEADER, S_UNAVAILABLE, true));
    /* Not unavailable: final whether sent or not. */
    assert_false(etcd_retry_allowed(W, ETCD_E_DEADLINE, S_DEADLINE, false));
    assert_false(etcd_retry_allowed(W, ETCD_E_COMPACTED, S_OUT_OF_RANGE, false));
    assert_false(etcd_retry_allowed(W, ETCD_E_INVALID_ARGUMENT, -1, false));
}

static void test_outcome_unknown(void **state)
{
    (void)state;
    const etcd_retry_class W = ETCD_RETRY_NON_REPEATABLE, R = ETCD_RETRY_REPEATABLE;
    /* A sent write that timed out, lost its leader or connection: may have been applied. */
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_TIMEOUT, true));
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_TIMEOUT_LEADER_FAIL, true));
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_TIMEOUT_CONN_LOST, true));
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_LEADER_CHANGED, true));
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_UNAVAILABLE, true));
    assert_true(etcd_retry_outcome_unknown(W, ETCD_E_DEADLINE, true));
    /* Never sent: definitely not applied. */
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_TIMEOUT, false));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_UNAVAILABLE, false));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_DEADLINE, false));
    /* Definite refusals. */
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_NO_LEADER, true));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_TOO_MANY_REQUESTS, true));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_REQUEST_TOO_LARGE, true));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_COMPACTED, true));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_PERMISSION_DENIED, true));
    assert_false(etcd_retry_outcome_unknown(W, ETCD_E_INVALID_AUTH_TOKEN, true));
    /* Reads never have an unknown outcome. */
    assert_false(etcd_retry_outcome_unknown(R, ETCD_E_TIMEOUT, true));
    assert_false(etcd_retry_outcome_unknown(R, ETCD_E_UNAVAILABLE, true));
    assert_false(etcd_retry_outcome_unknown(R, ETCD_E_DEADLINE, true));
}

/* From what gRPC reports to the decision, as the retry layer makes it. */
static void decide(etcd_retry_class cls, int status, const char *msg, bool maybe_sent, bool *retry, bool *unknown)
{
    etcd_code code = etcd_status_to_code(status, msg, strlen(msg));
    *retry = etcd_retry_allowed(cls, code, status, maybe_sent);
    *unknown = !*retry && etcd_retry_outcome_unknown(cls, code, maybe_sent);
}

static void test_end_to_end_decisions(void **state)
{
    (void)state;
    const etcd_retry_class W = ETCD_RETRY_NON_REPEATABLE, R = ETCD_RETRY_REPEATABLE;
    bool retry, unknown;

    /* etcd may apply a write it answered "request timed out" for: report, never retry. */
    decide(W, S_UNAVAILABLE, "etcdserver: request timed out", true, &retry, &unknown);
    assert_false(retry);
    assert_true(unknown);
    decide(W, S_UNAVAILABLE, "etcdserver: leader changed", true, &retry, &unknown);
    assert_false(retry);
    assert_true(unknown);
    /* No connection at all: the write never left, so it is retried. */
    decide(W, S_UNAVAILABLE, "failed to connect to all addresses", false, &retry, &unknown);
    assert_true(retry);
    /* Refused by the server: a definite failure. */
    decide(W, S_RESOURCE_EXHAUSTED, "etcdserver: too many requests", true, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);
    decide(W, S_INVALID_ARGUMENT, "etcdserver: request is too large", true, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);
    decide(W, S_UNAVAILABLE, "etcdserver: no leader", true, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);
    /* gRPC refused to send an oversized request: the transport marks it as never sent. */
    decide(W, S_RESOURCE_EXHAUSTED, "Sent message larger than max (5242880 vs. 4194304)", false, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);

    /* Reads: retried on any unavailable answer, final otherwise, never "unknown". */
    decide(R, S_UNAVAILABLE, "etcdserver: no leader", true, &retry, &unknown);
    assert_true(retry);
    decide(R, S_UNAVAILABLE, "etcdserver: request timed out", true, &retry, &unknown);
    assert_true(retry);
    decide(R, S_OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted", true, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);
    decide(R, S_DEADLINE, "Deadline Exceeded", true, &retry, &unknown);
    assert_false(retry);
    assert_false(unknown);
}

static void test_backoff_quorum_rounds(void **state)
{
    (void)state;
    const etcd_retry_policy p = {.max_attempts = 10, .backoff_ms = 25, .jitter_percent = 0};
    /* Never before the first attempt. */
    for (size_t n = 0; n <= 7; n++)
        assert_int_equal(etcd_retry_backoff_ms(&p, 0, n, 12345), 0);
    /* One endpoint: quorum 1, wait before every retry. */
    for (unsigned a = 1; a <= 10; a++)
        assert_int_equal(etcd_retry_backoff_ms(&p, a, 1, 0), 25);
    /* Three endpoints: quorum 2, wait after every second attempt. */
    static const int64_t three[] = {0, 0, 25, 0, 25, 0, 25, 0, 25};
    for (unsigned a = 1; a < sizeof three / sizeof three[0]; a++)
        assert_int_equal(etcd_retry_backoff_ms(&p, a, 3, 0), three[a]);
    /* Five endpoints: quorum 3. */
    static const int64_t five[] = {0, 0, 0, 25, 0, 0, 25, 0, 0, 25};
    for (unsigned a = 1; a < sizeof five / sizeof five[0]; a++)
        assert_int_equal(etcd_retry_backoff_ms(&p, a, 5, 0), five[a]);
    /* Two endpoints: quorum 2 as well. */
    assert_int_equal(etcd_retry_backoff_ms(&p, 1, 2, 0), 0);
    assert_int_equal(etcd_retry_backoff_ms(&p, 2, 2, 0), 25);
}

static void test_backoff_zero(void **state)
{
    (void)state;
    const etcd_retry_policy p = {.max_attempts = 3, .backoff_ms = 0, .jitter_percent = 50};
    for (unsigned a = 0; a < 5; a++)
        assert_int_equal(etcd_retry_backoff_ms(&p, a, 1, 0xffffffffu), 0);
}

/* Jitter 0: exactly the backoff, whatever the random value. */
static void test_backoff_no_jitter(void **state)
{
    (void)state;
    const etcd_retry_policy p = {.max_attempts = 3, .backoff_ms = 250, .jitter_percent = 0};
    const uint32_t rnds[] = {0, 1, 2, 99, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof rnds / sizeof rnds[0]; i++)
        assert_int_equal(etcd_retry_backoff_ms(&p, 1, 1, rnds[i]), 250);
}

/* A small xorshift so the sequence is the same on every run. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Jitter stays within +/- percent, and the whole range is used. */
static void test_backoff_jitter_bounds(void **state)
{
    (void)state;
    static const struct {
        int64_t backoff;
        int percent;
    } cases[] = {{25, 10}, {1000, 10}, {1000, 1}, {100, 50}, {100, 100}, {7, 30}, {1000000, 20}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const etcd_retry_policy p = {.max_attempts = 3, .backoff_ms = cases[c].backoff,
                                     .jitter_percent = cases[c].percent};
        const int64_t spread = cases[c].backoff * cases[c].percent / 100;
        const int64_t lo = cases[c].backoff - spread, hi = cases[c].backoff + spread;
        int64_t min = INT64_MAX, max = INT64_MIN;
        uint32_t seed = 2463534242u;
        for (int i = 0; i < 20000; i++) {
            uint32_t r = i < 4 ? (uint32_t[]){0, 1, 0x7fffffffu, 0xffffffffu}[i] : next_rand(&seed);
            int64_t w = etcd_retry_backoff_ms(&p, 1, 1, r);
            if (w < lo || w > hi)
                fail_msg("backoff %lld with %d%% jitter gave %lld", (long long)cases[c].backoff, cases[c].percent,
                         (long long)w);
            assert_true(w >= 0);
            if (w < min)
                min = w;
            if (w > max)
                max = w;
        }
        /* Spread over the range: small ranges hit both ends, large ones come within 1% of them. */
        const int64_t slack = (hi - lo) <= 1000 ? 0 : (hi - lo) / 100;
        assert_in_range(min, lo, lo + slack);
        assert_in_range(max, hi - slack, hi);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_unknown_is_non_repeatable),
        cmocka_unit_test(test_reads_retry_only_when_unavailable),
        cmocka_unit_test(test_writes_retry_only_when_never_sent),
        cmocka_unit_test(test_outcome_unknown),
        cmocka_unit_test(test_end_to_end_decisions),
        cmocka_unit_test(test_backoff_quorum_rounds),
        cmocka_unit_test(test_backoff_zero),
        cmocka_unit_test(test_backoff_no_jitter),
        cmocka_unit_test(test_backoff_jitter_bounds),
    };
    return cmocka_run_group_tests_name("retry_policy", tests, NULL, NULL);
}
