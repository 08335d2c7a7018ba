/*
 * The table of result codes: names, descriptions, and for server errors the message etcd sends
 * (after its "etcdserver: " prefix) and whether a write that met it may still have been applied.
 * One row per code; every lookup reads this table.
 */
#include <string.h>

#include "error_internal.h"

/* gRPC status codes used below (values fixed by the gRPC spec). */
enum {
    S_CANCELLED = 1,
    S_UNKNOWN = 2,
    S_INVALID_ARGUMENT = 3,
    S_DEADLINE_EXCEEDED = 4,
    S_NOT_FOUND = 5,
    S_PERMISSION_DENIED = 7,
    S_RESOURCE_EXHAUSTED = 8,
    S_FAILED_PRECONDITION = 9,
    S_OUT_OF_RANGE = 11,
    S_INTERNAL = 13,
    S_UNAVAILABLE = 14,
    S_DATA_LOSS = 15,
    S_UNAUTHENTICATED = 16,
};

typedef struct code_row {
    etcd_code code;
    const char *name;
    const char *text;         /* etcd_strerror() */
    const char *server_msg;   /* etcd's message without "etcdserver: ", or NULL */
    int grpc_status;          /* the status etcd sends it with, or 0 */
    bool maybe_applied;       /* a write that met it after being sent may have been applied */
    bool raw;                 /* etcd sends server_msg as is, without "etcdserver: " */
} code_row;

#define ROW(c, t) {c, #c, t, NULL, 0, false, false}
#define SRV(c, msg, st, unknown) {c, #c, msg, msg, st, unknown, false}
#define RAW(c, msg, st, unknown) {c, #c, msg, msg, st, unknown, true}

static const code_row rows[] = {
    ROW(ETCD_OK, "success"),
    ROW(ETCD_E_INVALID_ARGUMENT, "invalid argument"),
    ROW(ETCD_E_NOMEM, "out of memory"),
    {ETCD_E_DEADLINE, "ETCD_E_DEADLINE", "deadline exceeded", NULL, 0, true, false},
    {ETCD_E_CANCELLED, "ETCD_E_CANCELLED", "cancelled", NULL, 0, true, false},
    {ETCD_E_UNAVAILABLE, "ETCD_E_UNAVAILABLE", "endpoint unavailable", NULL, 0, true, false},
    ROW(ETCD_E_OUTCOME_UNKNOWN, "outcome unknown: the write may have been applied"),
    ROW(ETCD_E_BAD_ENDPOINT, "malformed endpoint"),
    ROW(ETCD_E_TLS_NOT_CONFIGURED, "TLS not configured"),
    ROW(ETCD_E_CLOSED, "client closed"),
    {ETCD_E_PROTOCOL, "ETCD_E_PROTOCOL", "malformed response", NULL, 0, true, false},
    {ETCD_E_INTERNAL, "ETCD_E_INTERNAL", "internal gRPC error", NULL, 0, true, false},
    /* Too large to receive: the server answered, so a write was applied. (Too large to send
     * never leaves the client: the transport marks that one as not sent.) */
    {ETCD_E_MESSAGE_TOO_LARGE, "ETCD_E_MESSAGE_TOO_LARGE", "message larger than the client's limit", NULL, 0, true, false},
    ROW(ETCD_E_LEASE_LOST, "lease lost: no renewal was answered within its TTL"),

    SRV(ETCD_E_COMPACTED, "mvcc: required revision has been compacted", S_OUT_OF_RANGE, false),
    SRV(ETCD_E_FUTURE_REV, "mvcc: required revision is a future revision", S_OUT_OF_RANGE, false),
    SRV(ETCD_E_NO_SPACE, "mvcc: database space exceeded", S_RESOURCE_EXHAUSTED, false),
    SRV(ETCD_E_KEY_NOT_PROVIDED, "key is not provided", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_KEY_NOT_FOUND, "key not found", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_VALUE_PROVIDED, "value is provided", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_LEASE_PROVIDED, "lease is provided", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_TOO_MANY_OPS, "too many operations in txn request", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_DUPLICATE_KEY, "duplicate key given in txn request", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_REQUEST_TOO_LARGE, "request is too large", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_TOO_MANY_REQUESTS, "too many requests", S_RESOURCE_EXHAUSTED, false),
    SRV(ETCD_E_LEASE_NOT_FOUND, "requested lease not found", S_NOT_FOUND, false),
    SRV(ETCD_E_LEASE_EXISTS, "lease already exists", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_LEASE_TTL_TOO_LARGE, "too large lease TTL", S_OUT_OF_RANGE, false),
    SRV(ETCD_E_WATCH_CANCELED, "watch canceled", S_CANCELLED, false),
    SRV(ETCD_E_MEMBER_EXISTS, "member ID already exist", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_PEER_URL_EXISTS, "Peer URLs already exists", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_MEMBER_NOT_ENOUGH_STARTED, "re-configuration failed due to not enough started members",
        S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_MEMBER_BAD_URLS, "given member URLs are invalid", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_MEMBER_NOT_FOUND, "member not found", S_NOT_FOUND, false),
    SRV(ETCD_E_MEMBER_NOT_LEARNER, "can only promote a learner member", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_LEARNER_NOT_READY, "can only promote a learner member which is in sync with leader",
        S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_TOO_MANY_LEARNERS, "too many learner members in cluster", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_ROOT_USER_NOT_EXIST, "root user does not exist", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_ROOT_ROLE_NOT_EXIST, "root user does not have root role", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_USER_EXISTS, "user name already exists", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_USER_EMPTY, "user name is empty", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_USER_NOT_FOUND, "user name not found", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_ROLE_EXISTS, "role name already exists", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_ROLE_NOT_FOUND, "role name not found", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_ROLE_EMPTY, "role name is empty", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_AUTH_FAILED, "authentication failed, invalid user ID or password", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_PERMISSION_DENIED, "permission denied", S_PERMISSION_DENIED, false),
    SRV(ETCD_E_ROLE_NOT_GRANTED, "role is not granted to the user", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_PERMISSION_NOT_GRANTED, "permission is not granted to the role", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_AUTH_NOT_ENABLED, "authentication is not enabled", S_FAILED_PRECONDITION, false),
    SRV(ETCD_E_INVALID_AUTH_TOKEN, "invalid auth token", S_UNAUTHENTICATED, false),
    SRV(ETCD_E_INVALID_AUTH_MGMT, "invalid auth management", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_AUTH_OLD_REVISION, "revision of auth store is old", S_INVALID_ARGUMENT, false),
    SRV(ETCD_E_NO_LEADER, "no leader", S_UNAVAILABLE, false),
    SRV(ETCD_E_NOT_LEADER, "not leader", S_FAILED_PRECONDITION, false),
    /* The proposal may have been committed before the leader changed or the server stopped. */
    SRV(ETCD_E_LEADER_CHANGED, "leader changed", S_UNAVAILABLE, true),
    SRV(ETCD_E_NOT_CAPABLE, "not capable", S_UNAVAILABLE, false),
    SRV(ETCD_E_STOPPED, "server stopped", S_UNAVAILABLE, true),
    /* etcd answers "request timed out" for proposals it may apply later. */
    SRV(ETCD_E_TIMEOUT, "request timed out", S_UNAVAILABLE, true),
    SRV(ETCD_E_TIMEOUT_LEADER_FAIL, "request timed out, possibly due to previous leader failure", S_UNAVAILABLE,
        true),
    SRV(ETCD_E_TIMEOUT_CONN_LOST, "request timed out, possibly due to connection lost", S_UNAVAILABLE, true),
    SRV(ETCD_E_TIMEOUT_APPLIED_INDEX, "request timed out, waiting for the applied index took too long",
        S_UNAVAILABLE, true),
    SRV(ETCD_E_UNHEALTHY, "unhealthy cluster", S_UNAVAILABLE, false),
    SRV(ETCD_E_CORRUPT, "corrupt cluster", S_DATA_LOSS, false),
    SRV(ETCD_E_NOT_SUPPORTED_FOR_LEARNER, "rpc not supported for learner", S_UNAVAILABLE, false),
    SRV(ETCD_E_BAD_LEADER_TRANSFEREE, "bad leader transferee", S_FAILED_PRECONDITION, false),
    /* raft refused to append the proposal (leadership transfer, removed member, full log):
     * it never entered the log, so it cannot be applied. */
    RAW(ETCD_E_PROPOSAL_DROPPED, "raft proposal dropped", S_UNKNOWN, false),
    {ETCD_E_SERVER, "ETCD_E_SERVER", "server error", NULL, 0, true, false},
};

static const code_row *find_row(etcd_code code)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].code == code)
            return &rows[i];
    return NULL;
}

const char *etcd_strerror(etcd_code code)
{
    const code_row *r = find_row(code);
    return r ? r->text : "unknown error code";
}

const char *etcd_code_name(etcd_code code)
{
    const code_row *r = find_row(code);
    return r ? r->name : "ETCD_E_UNKNOWN_CODE";
}

bool etcd_code_write_outcome_unknown(etcd_code code)
{
    const code_row *r = find_row(code);
    return r ? r->maybe_applied : true;
}

static const char server_prefix[] = "etcdserver: ";

etcd_code etcd_status_to_code(int grpc_status, const char *message, size_t len)
{
    if (grpc_status == 0)
        return ETCD_OK;
    for (size_t i = 0; message && i < sizeof rows / sizeof rows[0]; i++) {
        const code_row *r = &rows[i];
        if (r->raw && strlen(r->server_msg) == len && memcmp(r->server_msg, message, len) == 0)
            return r->code;
    }
    if (message && len >= sizeof server_prefix - 1 && memcmp(message, server_prefix, sizeof server_prefix - 1) == 0) {
        const char *m = message + sizeof server_prefix - 1;
        size_t mlen = len - (sizeof server_prefix - 1);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const code_row *r = &rows[i];
            if (r->server_msg && strlen(r->server_msg) == mlen && memcmp(r->server_msg, m, mlen) == 0)
                return r->code;
        }
        return ETCD_E_SERVER;
    }
    switch (grpc_status) {
    case S_CANCELLED:
        return ETCD_E_CANCELLED;
    case S_DEADLINE_EXCEEDED:
        return ETCD_E_DEADLINE;
    case S_UNAVAILABLE:
        return ETCD_E_UNAVAILABLE;
    case S_RESOURCE_EXHAUSTED:
        /* The server's gRPC refusing a request over its own limit ("grpc: received message
         * larger than max"): the request was not processed. */
        if (message && len >= 38 && memcmp(message, "grpc: received message larger than max", 38) == 0)
            return ETCD_E_REQUEST_TOO_LARGE;
        /* This client's gRPC limits: "Received/Sent message larger than max (N vs. M)". */
        if (message && len && memmem(message, len, "larger than max", 15))
            return ETCD_E_MESSAGE_TOO_LARGE;
        return ETCD_E_SERVER;
    case S_UNKNOWN:
    case S_INTERNAL:
        return ETCD_E_INTERNAL;
    default:
        return ETCD_E_SERVER;
    }
}
