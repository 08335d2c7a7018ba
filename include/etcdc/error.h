/*
 * etcdc/error.h - result codes and error details.
 *
 * Every fallible call returns an etcd_code: ETCD_OK (0) on success, a negative value on failure.
 * Values are fixed and only ever appended: they may be stored and compared across versions.
 *
 * Calls that can fail also take an optional `etcd_error **err`. When it is not NULL and the call
 * fails, *err receives a new error object that the caller owns and frees with etcd_error_free()
 * (or NULL, when even that could not be allocated: the returned code always says what happened).
 * On success *err is left untouched. Errors are per call: nothing is stored on a shared handle,
 * so they are safe under threads.
 */
#ifndef ETCDC_ERROR_H
#define ETCDC_ERROR_H

#include <etcdc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum etcd_code {
    ETCD_OK = 0,

    /* Client-side and transport conditions. For writes, the ones that may follow a sent request
     * (deadline, cancelled, unavailable, protocol, internal, message too large to receive) are
     * reported as ETCD_E_OUTCOME_UNKNOWN with this code as its cause. */
    ETCD_E_INVALID_ARGUMENT = -1,   /* bad input: NULL handle, empty key, negative limit, ...;
                                       nothing was sent */
    ETCD_E_NOMEM = -2,              /* out of memory */
    ETCD_E_DEADLINE = -3,           /* the call's deadline (or the dial timeout) passed */
    ETCD_E_CANCELLED = -4,          /* the call was cancelled, or the client closed under it */
    ETCD_E_UNAVAILABLE = -5,        /* no endpoint could be reached, or the connection broke */
    ETCD_E_OUTCOME_UNKNOWN = -6,    /* a write failed after it may have reached the server:
                                       it may or may not have been applied. etcd_error_cause()
                                       tells what happened. Never returned for reads (gets and
                                       txns made only of gets). */
    ETCD_E_BAD_ENDPOINT = -7,       /* an endpoint string could not be parsed */
    ETCD_E_TLS_NOT_CONFIGURED = -8, /* an https:// endpoint without TLS settings */
    ETCD_E_CLOSED = -9,             /* the client is closing or closed */
    ETCD_E_PROTOCOL = -10,          /* the server's answer could not be decoded */
    ETCD_E_INTERNAL = -11,          /* an unexpected gRPC failure; the message says more */
    ETCD_E_MESSAGE_TOO_LARGE = -12, /* a request or response exceeds the client's message limits */
    ETCD_E_LEASE_LOST = -13,        /* a kept lease's TTL ran out with no renewal answered: it can
                                       no longer be trusted to be alive */

    /* Rejections from the etcd server, one code per server error. */
    ETCD_E_COMPACTED = -100,             /* mvcc: required revision has been compacted */
    ETCD_E_FUTURE_REV = -101,            /* mvcc: required revision is a future revision */
    ETCD_E_NO_SPACE = -102,              /* mvcc: database space exceeded */
    ETCD_E_KEY_NOT_PROVIDED = -103,      /* key is not provided */
    ETCD_E_KEY_NOT_FOUND = -104,         /* key not found (put with ignore_value on a missing key) */
    ETCD_E_VALUE_PROVIDED = -105,        /* value is provided (with ignore_value) */
    ETCD_E_LEASE_PROVIDED = -106,        /* lease is provided (with ignore_lease) */
    ETCD_E_TOO_MANY_OPS = -107,          /* too many operations in txn request */
    ETCD_E_DUPLICATE_KEY = -108,         /* duplicate key given in txn request */
    ETCD_E_REQUEST_TOO_LARGE = -109,     /* request is too large */
    ETCD_E_TOO_MANY_REQUESTS = -110,     /* too many requests */
    ETCD_E_LEASE_NOT_FOUND = -111,       /* requested lease not found */
    ETCD_E_LEASE_EXISTS = -112,          /* lease already exists */
    ETCD_E_LEASE_TTL_TOO_LARGE = -113,   /* too large lease TTL */
    ETCD_E_WATCH_CANCELED = -114,        /* watch canceled */
    ETCD_E_MEMBER_EXISTS = -115,         /* member ID already exist */
    ETCD_E_PEER_URL_EXISTS = -116,       /* Peer URLs already exists */
    ETCD_E_MEMBER_NOT_ENOUGH_STARTED = -117, /* re-configuration failed: not enough started members */
    ETCD_E_MEMBER_BAD_URLS = -118,       /* given member URLs are invalid */
    ETCD_E_MEMBER_NOT_FOUND = -119,      /* member not found */
    ETCD_E_MEMBER_NOT_LEARNER = -120,    /* can only promote a learner member */
    ETCD_E_LEARNER_NOT_READY = -121,     /* learner is not in sync with the leader */
    ETCD_E_TOO_MANY_LEARNERS = -122,     /* too many learner members in cluster */
    ETCD_E_ROOT_USER_NOT_EXIST = -123,   /* root user does not exist */
    ETCD_E_ROOT_ROLE_NOT_EXIST = -124,   /* root user does not have root role */
    ETCD_E_USER_EXISTS = -125,           /* user name already exists */
    ETCD_E_USER_EMPTY = -126,            /* user name is empty */
    ETCD_E_USER_NOT_FOUND = -127,        /* user name not found */
    ETCD_E_ROLE_EXISTS = -128,           /* role name already exists */
    ETCD_E_ROLE_NOT_FOUND = -129,        /* role name not found */
    ETCD_E_ROLE_EMPTY = -130,            /* role name is empty */
    ETCD_E_AUTH_FAILED = -131,           /* authentication failed, invalid user ID or password */
    ETCD_E_PERMISSION_DENIED = -132,     /* permission denied */
    ETCD_E_ROLE_NOT_GRANTED = -133,      /* role is not granted to the user */
    ETCD_E_PERMISSION_NOT_GRANTED = -134,/* permission is not granted to the role */
    ETCD_E_AUTH_NOT_ENABLED = -135,      /* authentication is not enabled */
    ETCD_E_INVALID_AUTH_TOKEN = -136,    /* invalid auth token */
    ETCD_E_INVALID_AUTH_MGMT = -137,     /* invalid auth management */
    ETCD_E_AUTH_OLD_REVISION = -138,     /* revision of auth store is old */
    ETCD_E_NO_LEADER = -139,             /* no leader */
    ETCD_E_NOT_LEADER = -140,            /* not leader */
    ETCD_E_LEADER_CHANGED = -141,        /* leader changed */
    ETCD_E_NOT_CAPABLE = -142,           /* not capable */
    ETCD_E_STOPPED = -143,               /* server stopped */
    ETCD_E_TIMEOUT = -144,               /* request timed out */
    ETCD_E_TIMEOUT_LEADER_FAIL = -145,   /* request timed out, possibly due to previous leader failure */
    ETCD_E_TIMEOUT_CONN_LOST = -146,     /* request timed out, possibly due to connection lost */
    ETCD_E_TIMEOUT_APPLIED_INDEX = -147, /* request timed out, waiting for the applied index took too long */
    ETCD_E_UNHEALTHY = -148,             /* unhealthy cluster */
    ETCD_E_CORRUPT = -149,               /* corrupt cluster */
    ETCD_E_NOT_SUPPORTED_FOR_LEARNER = -150, /* rpc not supported for learner */
    ETCD_E_BAD_LEADER_TRANSFEREE = -151, /* bad leader transferee */
    ETCD_E_PROPOSAL_DROPPED = -152,      /* raft proposal dropped (never entered the log: not applied) */
    ETCD_E_SERVER = -199                 /* any other server error: see etcd_error_grpc_status()
                                            and etcd_error_server_message() */
} etcd_code;

/* Whether a failed call may have changed the cluster. */
typedef enum etcd_outcome {
    ETCD_OUTCOME_NOT_APPLIED = 0, /* definitely not applied (or a read, which changes nothing) */
    ETCD_OUTCOME_UNKNOWN = 1      /* a write that may or may not have been applied */
} etcd_outcome;

/* A static, human-readable description of a code, e.g. "revision has been compacted". */
ETCD_API const char *etcd_strerror(etcd_code code);
/* The code's identifier as a static string, e.g. "ETCD_E_COMPACTED". */
ETCD_API const char *etcd_code_name(etcd_code code);

/* The code this error was returned with. */
ETCD_API etcd_code etcd_error_code(const etcd_error *err);
/* What went wrong underneath: for ETCD_E_OUTCOME_UNKNOWN, the failure that left the outcome
 * open (e.g. ETCD_E_DEADLINE, ETCD_E_TIMEOUT); for ETCD_E_DEADLINE, what the last attempt met
 * before the deadline passed (e.g. ETCD_E_NO_LEADER, ETCD_E_TIMEOUT, ETCD_E_UNAVAILABLE), or
 * ETCD_E_DEADLINE itself when nothing else was met; for every other code, the code itself. */
ETCD_API etcd_code etcd_error_cause(const etcd_error *err);
/* ETCD_OUTCOME_UNKNOWN when a write may have been applied; ETCD_OUTCOME_NOT_APPLIED otherwise. */
ETCD_API etcd_outcome etcd_error_outcome(const etcd_error *err);
/* A complete message for people: what failed, where, and why. Never NULL; valid while err lives. */
ETCD_API const char *etcd_error_message(const etcd_error *err);
/* The gRPC status code of the failed call (0..16), or -1 when no call was made. */
ETCD_API int etcd_error_grpc_status(const etcd_error *err);
/* The status message the server or gRPC sent, or NULL when there was none. */
ETCD_API const char *etcd_error_server_message(const etcd_error *err);
/* The endpoint ("host:port" as configured) the failed call went to, or NULL. */
ETCD_API const char *etcd_error_endpoint(const etcd_error *err);
/* Frees an error. NULL is fine. */
ETCD_API void etcd_error_free(etcd_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_ERROR_H */
