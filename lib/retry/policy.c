/* Retry classes and decisions, after clientv3's retry.go and retry_interceptor.go. */
#include <stddef.h>
#include <string.h>

#include "error/error_internal.h"
#include "policy.h"

/* Calls without side effects; everything else is treated as a write. */
static const char *const repeatable[] = {
    "etcdserverpb.KV/Range",
    /* LeaseGrant is not here: without a caller-chosen ID a retry could grant a second lease.
     * With an ID the lease layer marks the call repeatable itself. */
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
    "etcdserverpb.Auth/AuthStatus",
};

etcd_retry_class etcd_retry_class_of(const char *service, const char *method)
{
    size_t sl = strlen(service);
    for (size_t i = 0; i < sizeof repeatable / sizeof repeatable[0]; i++) {
        const char *r = repeatable[i];
        if (strncmp(r, service, sl) == 0 && r[sl] == '/' && strcmp(r + sl + 1, method) == 0)
            return ETCD_RETRY_REPEATABLE;
    }
    return ETCD_RETRY_NON_REPEATABLE;
}

enum { GRPC_UNAVAILABLE = 14 };

bool etcd_retry_allowed(etcd_retry_class cls, etcd_code code, int grpc_status, bool maybe_sent)
{
    /* Only "unavailable" is transient: the member is down, stopping, leaderless or not ready. */
    bool unavailable = grpc_status == GRPC_UNAVAILABLE || code == ETCD_E_UNAVAILABLE;
    if (!unavailable)
        return false;
    if (cls == ETCD_RETRY_REPEATABLE)
        return true;
    return !maybe_sent;
}

bool etcd_retry_outcome_unknown(etcd_retry_class cls, etcd_code code, bool maybe_sent)
{
    if (cls != ETCD_RETRY_NON_REPEATABLE || !maybe_sent)
        return false;
    /* ETCD_OK: the server answered, but its answer could not be kept (out of memory). */
    return code == ETCD_OK || etcd_code_write_outcome_unknown(code);
}

int64_t etcd_retry_backoff_ms(const etcd_retry_policy *p, unsigned attempt, size_t n_endpoints, uint32_t rnd)
{
    size_t quorum = n_endpoints / 2 + 1;
    if (attempt == 0 || attempt % quorum != 0 || p->backoff_ms <= 0)
        return 0;
    int64_t spread = p->backoff_ms * p->jitter_percent / 100;
    if (spread <= 0)
        return p->backoff_ms;
    /* Uniform in [backoff - spread, backoff + spread]. */
    return p->backoff_ms - spread + (int64_t)(rnd % (uint32_t)(2 * spread + 1));
}
