/* gRPC status -> etcd_code mapping, code names and descriptions, and etcd_error accessors. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "error/error_internal.h"

/* gRPC status codes (fixed by the gRPC spec). */
enum {
    OK_ = 0,
    CANCELLED = 1,
    UNKNOWN = 2,
    INVALID_ARGUMENT = 3,
    DEADLINE_EXCEEDED = 4,
    NOT_FOUND = 5,
    ALREADY_EXISTS = 6,
    PERMISSION_DENIED = 7,
    RESOURCE_EXHAUSTED = 8,
    FAILED_PRECONDITION = 9,
    ABORTED = 10,
    OUT_OF_RANGE = 11,
    UNIMPLEMENTED = 12,
    INTERNAL = 13,
    UNAVAILABLE = 14,
    DATA_LOSS = 15,
    UNAUTHENTICATED = 16,
};

/* etcd's error table (etcdserver/api/v3rpc/rpctypes/error.go): status, text after "etcdserver: ". */
static const struct {
    int status;
    const char *text;
    etcd_code code;
} server_errors[] = {
    {INVALID_ARGUMENT, "key is not provided", ETCD_E_KEY_NOT_PROVIDED},
    {INVALID_ARGUMENT, "key not found", ETCD_E_KEY_NOT_FOUND},
    {INVALID_ARGUMENT, "value is provided", ETCD_E_VALUE_PROVIDED},
    {INVALID_ARGUMENT, "lease is provided", ETCD_E_LEASE_PROVIDED},
    {INVALID_ARGUMENT, "too many operations in txn request", ETCD_E_TOO_MANY_OPS},
    {INVALID_ARGUMENT, "duplicate key given in txn request", ETCD_E_DUPLICATE_KEY},
    {OUT_OF_RANGE, "mvcc: required revision has been compacted", ETCD_E_COMPACTED},
    {OUT_OF_RANGE, "mvcc: required revision is a future revision", ETCD_E_FUTURE_REV},
    {RESOURCE_EXHAUSTED, "mvcc: database space exceeded", ETCD_E_NO_SPACE},
    {NOT_FOUND, "requested lease not found", ETCD_E_LEASE_NOT_FOUND},
    {FAILED_PRECONDITION, "lease already exists", ETCD_E_LEASE_EXISTS},
    {OUT_OF_RANGE, "too large lease TTL", ETCD_E_LEASE_TTL_TOO_LARGE},
    {CANCELLED, "watch canceled", ETCD_E_WATCH_CANCELED},
    {FAILED_PRECONDITION, "member ID already exist", ETCD_E_MEMBER_EXISTS},
    {FAILED_PRECONDITION, "Peer URLs already exists", ETCD_E_PEER_URL_EXISTS},
    {FAILED_PRECONDITION, "re-configuration failed due to not enough started members",
     ETCD_E_MEMBER_NOT_ENOUGH_STARTED},
    {INVALID_ARGUMENT, "given member URLs are invalid", ETCD_E_MEMBER_BAD_URLS},
    {NOT_FOUND, "member not found", ETCD_E_MEMBER_NOT_FOUND},
    {FAILED_PRECONDITION, "can only promote a learner member", ETCD_E_MEMBER_NOT_LEARNER},
    {FAILED_PRECONDITION, "can only promote a learner member which is in sync with leader",
     ETCD_E_LEARNER_NOT_READY},
    {FAILED_PRECONDITION, "too many learner members in cluster", ETCD_E_TOO_MANY_LEARNERS},
    {INVALID_ARGUMENT, "request is too large", ETCD_E_REQUEST_TOO_LARGE},
    {RESOURCE_EXHAUSTED, "too many requests", ETCD_E_TOO_MANY_REQUESTS},
    {FAILED_PRECONDITION, "root user does not exist", ETCD_E_ROOT_USER_NOT_EXIST},
    {FAILED_PRECONDITION, "root user does not have root role", ETCD_E_ROOT_ROLE_NOT_EXIST},
    {FAILED_PRECONDITION, "user name already exists", ETCD_E_USER_EXISTS},
    {INVALID_ARGUMENT, "user name is empty", ETCD_E_USER_EMPTY},
    {FAILED_PRECONDITION, "user name not found", ETCD_E_USER_NOT_FOUND},
    {FAILED_PRECONDITION, "role name already exists", ETCD_E_ROLE_EXISTS},
    {FAILED_PRECONDITION, "role name not found", ETCD_E_ROLE_NOT_FOUND},
    {INVALID_ARGUMENT, "role name is empty", ETCD_E_ROLE_EMPTY},
    {INVALID_ARGUMENT, "authentication failed, invalid user ID or password", ETCD_E_AUTH_FAILED},
    {PERMISSION_DENIED, "permission denied", ETCD_E_PERMISSION_DENIED},
    {FAILED_PRECONDITION, "role is not granted to the user", ETCD_E_ROLE_NOT_GRANTED},
    {FAILED_PRECONDITION, "permission is not granted to the role", ETCD_E_PERMISSION_NOT_GRANTED},
    {FAILED_PRECONDITION, "authentication is not enabled", ETCD_E_AUTH_NOT_ENABLED},
    {UNAUTHENTICATED, "invalid auth token", ETCD_E_INVALID_AUTH_TOKEN},
    {INVALID_ARGUMENT, "invalid auth management", ETCD_E_INVALID_AUTH_MGMT},
    {INVALID_ARGUMENT, "revision of auth store is old", ETCD_E_AUTH_OLD_REVISION},
    {UNAVAILABLE, "no leader", ETCD_E_NO_LEADER},
    {FAILED_PRECONDITION, "not leader", ETCD_E_NOT_LEADER},
    {UNAVAILABLE, "leader changed", ETCD_E_LEADER_CHANGED},
    {UNAVAILABLE, "not capable", ETCD_E_NOT_CAPABLE},
    {UNAVAILABLE, "server stopped", ETCD_E_STOPPED},
    {UNAVAILABLE, "request timed out", ETCD_E_TIMEOUT},
    {UNAVAILABLE, "request timed out, possibly due to previous leader failure", ETCD_E_TIMEOUT_LEADER_FAIL},
    {UNAVAILABLE, "request timed out, possibly due to connection lost", ETCD_E_TIMEOUT_CONN_LOST},
    {UNAVAILABLE, "request timed out, waiting for the applied index took too long", ETCD_E_TIMEOUT_APPLIED_INDEX},
    {UNAVAILABLE, "unhealthy cluster", ETCD_E_UNHEALTHY},
    {DATA_LOSS, "corrupt cluster", ETCD_E_CORRUPT},
    {UNAVAILABLE, "rpc not supported for learner", ETCD_E_NOT_SUPPORTED_FOR_LEARNER},
    {FAILED_PRECONDITION, "bad leader transferee", ETCD_E_BAD_LEADER_TRANSFEREE},
};
#define N_SERVER_ERRORS (sizeof server_errors / sizeof server_errors[0])

static etcd_code map(int status, const char *msg)
{
    return etcd_status_to_code(status, msg, msg ? strlen(msg) : 0);
}

static void test_every_server_error(void **state)
{
    (void)state;
    char msg[160];
    for (size_t i = 0; i < N_SERVER_ERRORS; i++) {
        snprintf(msg, sizeof msg, "etcdserver: %s", server_errors[i].text);
        etcd_code got = map(server_errors[i].status, msg);
        if (got != server_errors[i].code)
            fail_msg("\"%s\" (status %d) -> %s, want %s", msg, server_errors[i].status, etcd_code_name(got),
                     etcd_code_name(server_errors[i].code));
        /* The server's codes are one per message: the description matches etcd's text. */
        assert_string_equal(etcd_strerror(server_errors[i].code), server_errors[i].text);
    }
}

/* Every server code from -100 to -151 is in the table above (no row missed). */
static void test_table_covers_every_server_code(void **state)
{
    (void)state;
    for (int c = ETCD_E_BAD_LEADER_TRANSFEREE; c <= ETCD_E_COMPACTED; c++) {
        bool found = false;
        for (size_t i = 0; i < N_SERVER_ERRORS && !found; i++)
            found = server_errors[i].code == (etcd_code)c;
        if (!found)
            fail_msg("server code %d has no row", c);
    }
    assert_int_equal(N_SERVER_ERRORS, ETCD_E_COMPACTED - ETCD_E_BAD_LEADER_TRANSFEREE + 1);
}

/* The message, not the status, decides; only exact texts match. */
static void test_message_matching_is_exact(void **state)
{
    (void)state;
    assert_int_equal(map(UNAVAILABLE, "etcdserver: some new error"), ETCD_E_SERVER);
    assert_int_equal(map(INVALID_ARGUMENT, "etcdserver: some new error"), ETCD_E_SERVER);
    assert_int_equal(map(UNKNOWN, "etcdserver: "), ETCD_E_SERVER);
    /* Prefixes and extensions of a known text are not that error. */
    assert_int_equal(map(UNAVAILABLE, "etcdserver: no leader!"), ETCD_E_SERVER);
    assert_int_equal(map(UNAVAILABLE, "etcdserver: no lead"), ETCD_E_SERVER);
    assert_int_equal(map(UNAVAILABLE, "etcdserver: request timed out, possibly"), ETCD_E_SERVER);
    assert_int_equal(map(UNAVAILABLE, "etcdserver: Request Timed Out"), ETCD_E_SERVER);
    /* Without the "etcdserver: " prefix it is a plain gRPC status. */
    assert_int_equal(map(UNAVAILABLE, "no leader"), ETCD_E_UNAVAILABLE);
    assert_int_equal(map(UNAVAILABLE, "etcdserver:no leader"), ETCD_E_UNAVAILABLE);
    assert_int_equal(map(OUT_OF_RANGE, "mvcc: required revision has been compacted"), ETCD_E_SERVER);
}

/* Only message_len bytes are read: the message need not be NUL-terminated. */
static void test_message_length_respected(void **state)
{
    (void)state;
    const char buf[] = "etcdserver: no leader and then some garbage";
    assert_int_equal(etcd_status_to_code(UNAVAILABLE, buf, strlen("etcdserver: no leader")), ETCD_E_NO_LEADER);
    char *exact = malloc(21);
    assert_non_null(exact);
    memcpy(exact, "etcdserver: not leader", 21); /* "...not leade": no terminator, one byte short */
    assert_int_equal(etcd_status_to_code(FAILED_PRECONDITION, exact, 21), ETCD_E_SERVER);
    free(exact);
    /* A length shorter than the prefix is not a server error. */
    assert_int_equal(etcd_status_to_code(UNAVAILABLE, buf, 5), ETCD_E_UNAVAILABLE);
}

static void test_plain_grpc_statuses(void **state)
{
    (void)state;
    assert_int_equal(map(OK_, NULL), ETCD_OK);
    assert_int_equal(map(CANCELLED, "Cancelled"), ETCD_E_CANCELLED);
    assert_int_equal(map(DEADLINE_EXCEEDED, "Deadline Exceeded"), ETCD_E_DEADLINE);
    assert_int_equal(map(UNAVAILABLE, "failed to connect to all addresses"), ETCD_E_UNAVAILABLE);
    assert_int_equal(map(UNAVAILABLE, NULL), ETCD_E_UNAVAILABLE);
    assert_int_equal(map(RESOURCE_EXHAUSTED, "Received message larger than max (5000000 vs. 4194304)"),
                     ETCD_E_MESSAGE_TOO_LARGE);
    assert_int_equal(map(RESOURCE_EXHAUSTED, "Sent message larger than max (5000000 vs. 4194304)"),
                     ETCD_E_MESSAGE_TOO_LARGE);
    assert_int_equal(map(RESOURCE_EXHAUSTED, "some quota"), ETCD_E_SERVER);
    assert_int_equal(map(RESOURCE_EXHAUSTED, NULL), ETCD_E_SERVER);
    assert_int_equal(map(INTERNAL, "stream terminated by RST_STREAM"), ETCD_E_INTERNAL);
    assert_int_equal(map(UNKNOWN, "Stream removed"), ETCD_E_INTERNAL);
    /* Other statuses without an etcd message: the generic server code. */
    assert_int_equal(map(UNIMPLEMENTED, "unknown service"), ETCD_E_SERVER);
    assert_int_equal(map(PERMISSION_DENIED, NULL), ETCD_E_SERVER);
}

/* Every code in error.h, for name and description checks. */
#define C(x) {x, #x}
static const struct {
    etcd_code code;
    const char *name;
} all_codes[] = {
    C(ETCD_OK), C(ETCD_E_INVALID_ARGUMENT), C(ETCD_E_NOMEM), C(ETCD_E_DEADLINE), C(ETCD_E_CANCELLED),
    C(ETCD_E_UNAVAILABLE), C(ETCD_E_OUTCOME_UNKNOWN), C(ETCD_E_BAD_ENDPOINT), C(ETCD_E_TLS_NOT_CONFIGURED),
    C(ETCD_E_CLOSED), C(ETCD_E_PROTOCOL), C(ETCD_E_INTERNAL), C(ETCD_E_MESSAGE_TOO_LARGE), C(ETCD_E_LEASE_LOST), C(ETCD_E_COMPACTED),
    C(ETCD_E_FUTURE_REV), C(ETCD_E_NO_SPACE), C(ETCD_E_KEY_NOT_PROVIDED), C(ETCD_E_KEY_NOT_FOUND),
    C(ETCD_E_VALUE_PROVIDED), C(ETCD_E_LEASE_PROVIDED), C(ETCD_E_TOO_MANY_OPS), C(ETCD_E_DUPLICATE_KEY),
    C(ETCD_E_REQUEST_TOO_LARGE), C(ETCD_E_TOO_MANY_REQUESTS), C(ETCD_E_LEASE_NOT_FOUND), C(ETCD_E_LEASE_EXISTS),
    C(ETCD_E_LEASE_TTL_TOO_LARGE), C(ETCD_E_WATCH_CANCELED), C(ETCD_E_MEMBER_EXISTS), C(ETCD_E_PEER_URL_EXISTS),
    C(ETCD_E_MEMBER_NOT_ENOUGH_STARTED), C(ETCD_E_MEMBER_BAD_URLS), C(ETCD_E_MEMBER_NOT_FOUND),
    C(ETCD_E_MEMBER_NOT_LEARNER), C(ETCD_E_LEARNER_NOT_READY), C(ETCD_E_TOO_MANY_LEARNERS),
    C(ETCD_E_ROOT_USER_NOT_EXIST), C(ETCD_E_ROOT_ROLE_NOT_EXIST), C(ETCD_E_USER_EXISTS), C(ETCD_E_USER_EMPTY),
    C(ETCD_E_USER_NOT_FOUND), C(ETCD_E_ROLE_EXISTS), C(ETCD_E_ROLE_NOT_FOUND), C(ETCD_E_ROLE_EMPTY),
    C(ETCD_E_AUTH_FAILED), C(ETCD_E_PERMISSION_DENIED), C(ETCD_E_ROLE_NOT_GRANTED),
    C(ETCD_E_PERMISSION_NOT_GRANTED), C(ETCD_E_AUTH_NOT_ENABLED), C(ETCD_E_INVALID_AUTH_TOKEN),
    C(ETCD_E_INVALID_AUTH_MGMT), C(ETCD_E_AUTH_OLD_REVISION), C(ETCD_E_NO_LEADER), C(ETCD_E_NOT_LEADER),
    C(ETCD_E_LEADER_CHANGED), C(ETCD_E_NOT_CAPABLE), C(ETCD_E_STOPPED), C(ETCD_E_TIMEOUT),
    C(ETCD_E_TIMEOUT_LEADER_FAIL), C(ETCD_E_TIMEOUT_CONN_LOST), C(ETCD_E_TIMEOUT_APPLIED_INDEX),
    C(ETCD_E_UNHEALTHY), C(ETCD_E_CORRUPT), C(ETCD_E_NOT_SUPPORTED_FOR_LEARNER), C(ETCD_E_BAD_LEADER_TRANSFEREE),
    C(ETCD_E_PROPOSAL_DROPPED), C(ETCD_E_SERVER),
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

static void test_code_names_and_descriptions(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *name = etcd_code_name(all_codes[i].code);
        const char *text = etcd_strerror(all_codes[i].code);
        assert_string_equal(name, all_codes[i].name);
        assert_non_null(text);
        assert_true(text[0] != '\0');
        assert_string_not_equal(text, etcd_strerror((etcd_code)-98)); /* not the "unknown" fallback */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(name, etcd_code_name(all_codes[j].code)) == 0)
                fail_msg("%s and code %d share a name", name, all_codes[j].code);
            if (strcmp(text, etcd_strerror(all_codes[j].code)) == 0)
                fail_msg("%s and %s share the description \"%s\"", name, all_codes[j].name, text);
        }
    }
    /* Unknown codes get a fallback, never NULL. */
    assert_string_equal(etcd_code_name((etcd_code)-98), "ETCD_E_UNKNOWN_CODE");
    assert_non_null(etcd_strerror((etcd_code)12345));
}

static void test_write_outcome_unknown(void **state)
{
    (void)state;
    /* The proposal may have been committed although the client saw a failure. */
    static const etcd_code unknown[] = {
        ETCD_E_TIMEOUT, ETCD_E_TIMEOUT_LEADER_FAIL, ETCD_E_TIMEOUT_CONN_LOST, ETCD_E_TIMEOUT_APPLIED_INDEX,
        ETCD_E_LEADER_CHANGED, ETCD_E_DEADLINE, ETCD_E_UNAVAILABLE, ETCD_E_CANCELLED,
    };
    /* Definite failures: the server refused before applying anything. */
    static const etcd_code definite[] = {
        ETCD_E_TOO_MANY_REQUESTS, ETCD_E_REQUEST_TOO_LARGE, ETCD_E_NO_LEADER, ETCD_E_COMPACTED,
        ETCD_E_FUTURE_REV, ETCD_E_INVALID_AUTH_TOKEN, ETCD_E_PERMISSION_DENIED, ETCD_E_NOT_LEADER,
        ETCD_E_KEY_NOT_FOUND, ETCD_E_NO_SPACE, ETCD_E_INVALID_ARGUMENT, ETCD_E_BAD_ENDPOINT,
        ETCD_E_AUTH_OLD_REVISION, ETCD_OK,
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (!etcd_code_write_outcome_unknown(unknown[i]))
            fail_msg("%s should leave a write's outcome unknown", etcd_code_name(unknown[i]));
    for (size_t i = 0; i < sizeof definite / sizeof definite[0]; i++)
        if (etcd_code_write_outcome_unknown(definite[i]))
            fail_msg("%s should be a definite failure", etcd_code_name(definite[i]));
}

static void test_error_accessors_on_null(void **state)
{
    (void)state;
    assert_int_equal(etcd_error_code(NULL), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_error_cause(NULL), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_error_outcome(NULL), ETCD_OUTCOME_NOT_APPLIED);
    assert_non_null(etcd_error_message(NULL));
    assert_int_equal(etcd_error_grpc_status(NULL), -1);
    assert_null(etcd_error_server_message(NULL));
    assert_null(etcd_error_endpoint(NULL));
    etcd_error_free(NULL);
}

static void test_error_set(void **state)
{
    (void)state;
    assert_int_equal(etcd_error_set(NULL, ETCD_E_BAD_ENDPOINT, "x %d", 1), ETCD_E_BAD_ENDPOINT);

    etcd_error *e = NULL;
    assert_int_equal(etcd_error_set(&e, ETCD_E_INVALID_ARGUMENT, "limit %d is %s", -1, "bad"),
                     ETCD_E_INVALID_ARGUMENT);
    assert_non_null(e);
    assert_int_equal(etcd_error_code(e), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_error_cause(e), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_error_outcome(e), ETCD_OUTCOME_NOT_APPLIED);
    assert_string_equal(etcd_error_message(e), "limit -1 is bad");
    assert_int_equal(etcd_error_grpc_status(e), -1);
    assert_null(etcd_error_server_message(e));
    assert_null(etcd_error_endpoint(e));
    etcd_error_free(e);
}

static void test_error_from_call(void **state)
{
    (void)state;
    etcd_error *e = etcd_error_new_call(ETCD_E_OUTCOME_UNKNOWN, ETCD_E_TIMEOUT, UNAVAILABLE,
                                        "etcdserver: request timed out", "10.0.0.1:2379", "put");
    assert_non_null(e);
    assert_int_equal(etcd_error_code(e), ETCD_E_OUTCOME_UNKNOWN);
    assert_int_equal(etcd_error_cause(e), ETCD_E_TIMEOUT);
    assert_int_equal(etcd_error_outcome(e), ETCD_OUTCOME_UNKNOWN);
    assert_int_equal(etcd_error_grpc_status(e), UNAVAILABLE);
    assert_string_equal(etcd_error_server_message(e), "etcdserver: request timed out");
    assert_string_equal(etcd_error_endpoint(e), "10.0.0.1:2379");
    assert_contains(etcd_error_message(e), "put");
    assert_contains(etcd_error_message(e), "10.0.0.1:2379");
    assert_contains(etcd_error_message(e), "outcome unknown");
    assert_contains(etcd_error_message(e), "request timed out");

    etcd_error *copy = etcd_error_copy(e);
    etcd_error_free(e); /* the copy owns its own strings */
    assert_non_null(copy);
    assert_int_equal(etcd_error_code(copy), ETCD_E_OUTCOME_UNKNOWN);
    assert_int_equal(etcd_error_cause(copy), ETCD_E_TIMEOUT);
    assert_int_equal(etcd_error_grpc_status(copy), UNAVAILABLE);
    assert_string_equal(etcd_error_server_message(copy), "etcdserver: request timed out");
    assert_string_equal(etcd_error_endpoint(copy), "10.0.0.1:2379");
    assert_contains(etcd_error_message(copy), "outcome unknown");
    etcd_error_free(copy);

    /* No server message and no endpoint: the code's description stands in. */
    e = etcd_error_new_call(ETCD_E_DEADLINE, ETCD_E_DEADLINE, DEADLINE_EXCEEDED, NULL, NULL, "range");
    assert_non_null(e);
    assert_int_equal(etcd_error_outcome(e), ETCD_OUTCOME_NOT_APPLIED);
    assert_null(etcd_error_server_message(e));
    assert_null(etcd_error_endpoint(e));
    assert_contains(etcd_error_message(e), "range");
    assert_contains(etcd_error_message(e), etcd_strerror(ETCD_E_DEADLINE));
    etcd_error_free(e);
}

/* raft's "proposal dropped" comes without etcd's prefix, as gRPC status Unknown: the proposal
 * never entered the log, so a write that met it is a definite failure. */
static void test_proposal_dropped_is_definite(void **state)
{
    (void)state;
    static const char msg[] = "raft proposal dropped";
    etcd_code code = etcd_status_to_code(2 /* UNKNOWN */, msg, sizeof msg - 1);
    assert_int_equal(code, ETCD_E_PROPOSAL_DROPPED);
    assert_false(etcd_code_write_outcome_unknown(code));
    /* Any other message with status Unknown stays an internal error, which may have applied. */
    static const char other[] = "something else";
    code = etcd_status_to_code(2, other, sizeof other - 1);
    assert_int_equal(code, ETCD_E_INTERNAL);
    assert_true(etcd_code_write_outcome_unknown(code));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proposal_dropped_is_definite),
        cmocka_unit_test(test_every_server_error),
        cmocka_unit_test(test_table_covers_every_server_code),
        cmocka_unit_test(test_message_matching_is_exact),
        cmocka_unit_test(test_message_length_respected),
        cmocka_unit_test(test_plain_grpc_statuses),
        cmocka_unit_test(test_code_names_and_descriptions),
        cmocka_unit_test(test_write_outcome_unknown),
        cmocka_unit_test(test_error_accessors_on_null),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_error_from_call),
    };
    return cmocka_run_group_tests_name("error_map", tests, NULL, NULL);
}
