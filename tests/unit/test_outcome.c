/*
 * Outcome of writes whose size tripped a client limit: too large to send never left the client
 * (a definite failure); too large to receive means the server answered, so the write was applied
 * and its outcome must be reported as unknown.
 */
#include "unit.h"

#include "error/error_internal.h"
#include "retry/policy.h"

static void test_write_with_oversized_response_is_outcome_unknown(void **state)
{
    (void)state;
    static const char msg[] = "Received message larger than max (5242880 vs. 4194304)";
    etcd_code code = etcd_status_to_code(8 /* RESOURCE_EXHAUSTED */, msg, sizeof msg - 1);
    assert_int_equal(code, ETCD_E_MESSAGE_TOO_LARGE);
    assert_false(etcd_retry_allowed(ETCD_RETRY_NON_REPEATABLE, code, 8, true));
    assert_true(etcd_retry_outcome_unknown(ETCD_RETRY_NON_REPEATABLE, code, true));
}

/* The server's gRPC refusing a request over its limit: not processed, a definite failure. */
static void test_server_refusing_oversized_request_is_definite(void **state)
{
    (void)state;
    static const char msg[] = "grpc: received message larger than max (3145769 vs. 2097152)";
    etcd_code code = etcd_status_to_code(8 /* RESOURCE_EXHAUSTED */, msg, sizeof msg - 1);
    assert_int_equal(code, ETCD_E_REQUEST_TOO_LARGE);
    assert_false(etcd_retry_outcome_unknown(ETCD_RETRY_NON_REPEATABLE, code, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_with_oversized_response_is_outcome_unknown),
        cmocka_unit_test(test_server_refusing_oversized_request_is_definite),
    };
    return cmocka_run_group_tests_name("outcome", tests, NULL, NULL);
}
