/* Retry policy: which calls may be retried after which failures, and how long to wait. Pure. */
#ifndef ETCDC_RETRY_POLICY_H
#define ETCDC_RETRY_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <etcdc/error.h>

typedef enum etcd_retry_class {
    ETCD_RETRY_REPEATABLE,      /* no side effect: retry on another endpoint */
    ETCD_RETRY_NON_REPEATABLE   /* a write: retry only when it never left the client */
} etcd_retry_class;

typedef struct etcd_retry_policy {
    int max_attempts;           /* >= 1 */
    int64_t backoff_ms;
    int jitter_percent;
} etcd_retry_policy;

/* The class of "/service/method" by service ("etcdserverpb.KV") and method ("Range") name.
 * Unknown methods are non-repeatable. */
etcd_retry_class etcd_retry_class_of(const char *service, const char *method);

/* Whether a failed attempt may be tried again (attempts and deadline aside). grpc_status is the
 * attempt's gRPC status (-1 when no call was made). */
bool etcd_retry_allowed(etcd_retry_class cls, etcd_code code, int grpc_status, bool maybe_sent);

/* The write-safety rule, the one place it is decided: whether a failed call of this class is
 * reported as "outcome unknown". It is when the call has a side effect, may have reached a server
 * (a call parked for a connection, refused before starting, or failed at gRPC's pick never did),
 * and what it met does not prove it was not applied (the code table's maybe_applied column;
 * ETCD_OK stands for a success whose answer was lost). Everything else is a definite failure. */
bool etcd_retry_outcome_unknown(etcd_retry_class cls, etcd_code code, bool maybe_sent);

/* How long to wait before attempt number `attempt` (1 = the first retry), given how many
 * endpoints there are: like clientv3, wait only after a round over about a quorum of them.
 * `rnd` is a random 32-bit value for the jitter. */
int64_t etcd_retry_backoff_ms(const etcd_retry_policy *p, unsigned attempt, size_t n_endpoints, uint32_t rnd);

#endif
