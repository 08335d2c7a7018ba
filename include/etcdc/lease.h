/*
 * etcdc/lease.h - leases: grant, revoke, time-to-live, list, and keepalives that say, with a
 * reason, the moment a lease can no longer be trusted.
 *
 * etcd_client_lease() returns a client's lease interface. Keys attach to a lease with
 * etcd_op_with_lease() and vanish when it expires or is revoked.
 *
 * Unary calls (sync, and async with an etcd_callback as in async.h) go through the retrying
 * layer. Grant, like a put, can create something, so how it is retried depends on the ID:
 *  - with a caller-chosen ID it is retried like a read: a second grant of the same ID cannot
 *    create a second lease (etcd refuses it with ETCD_E_LEASE_EXISTS, which then means "it was
 *    granted, by this call's earlier attempt or before");
 *  - without an ID (0: etcd picks one) it is sent at most once: a retry could grant a second,
 *    orphan lease. A failure after it may have reached a member is ETCD_E_OUTCOME_UNKNOWN.
 * Revoke, TimeToLive, Leases and KeepAliveOnce are retried like reads (revoking twice revokes
 * once; the repeat answers ETCD_E_LEASE_NOT_FOUND).
 *
 * Keepalive: etcd_lease_keep_alive() renews a lease automatically at a third of its last granted
 * TTL, as clientv3 does, over one LeaseKeepAlive stream per client that serves every kept lease.
 * Renewals are rounded down to a grid of a quarter of that period (at most 500 ms), so that
 * leases answered close together are renewed together, in one write.
 * When the stream fails it is reopened on another connected member, with backoff, and every kept
 * lease is renewed at once on it. The callback runs (if asked, with etcd_lease_keep_alive_opts)
 * for each renewal with a response of kind ETCD_RESPONSE_LEASE_KEEP_ALIVE, and exactly once at
 * the end with resp NULL and the reason:
 *   ETCD_E_LEASE_NOT_FOUND  the server says the lease is gone (expired or revoked)
 *   ETCD_E_LEASE_LOST       no renewal was answered within the TTL (say, no member could be
 *                           reached): the client can no longer know that the lease is alive, so
 *                           it is reported lost even if a later renewal would have succeeded
 *   ETCD_E_CANCELLED        etcd_call_cancel(), or the client was closed
 * After that callback the lease is never renewed again. Stopping a keepalive never revokes the
 * lease: it expires at its TTL unless revoked.
 */
#ifndef ETCDC_LEASE_H
#define ETCDC_LEASE_H

#include <etcdc/common.h>
#include <etcdc/async.h>
#include <etcdc/error.h>
#include <etcdc/response.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct etcd_lease etcd_lease;   /* a client's lease interface */

/* The client's lease interface. Borrowed: valid until the client is freed. */
ETCD_API etcd_lease *etcd_client_lease(etcd_client *client);

/* Grants a lease of ttl_s seconds (> 0; etcd raises it to its minimum, about 1.5 x its election
 * timeout) with the given ID (> 0), or an ID etcd picks (0). */
ETCD_API etcd_code etcd_lease_grant(etcd_lease *l, int64_t ttl_s, int64_t id, etcd_response **resp,
                                    etcd_error **err);
ETCD_API etcd_code etcd_lease_grant_async(etcd_lease *l, int64_t ttl_s, int64_t id, etcd_callback cb,
                                          void *user_data, etcd_call **call, etcd_error **err);
/* Revokes a lease: its keys are deleted at once. */
ETCD_API etcd_code etcd_lease_revoke(etcd_lease *l, int64_t id, etcd_response **resp, etcd_error **err);
ETCD_API etcd_code etcd_lease_revoke_async(etcd_lease *l, int64_t id, etcd_callback cb, void *user_data,
                                           etcd_call **call, etcd_error **err);
/* A lease's remaining and granted TTL, and with keys != 0 the keys attached to it. An unknown
 * lease answers with TTL -1 (etcd's way), not an error. */
ETCD_API etcd_code etcd_lease_time_to_live(etcd_lease *l, int64_t id, int keys, etcd_response **resp,
                                           etcd_error **err);
ETCD_API etcd_code etcd_lease_time_to_live_async(etcd_lease *l, int64_t id, int keys, etcd_callback cb,
                                                 void *user_data, etcd_call **call, etcd_error **err);
/* Every lease the cluster has. */
ETCD_API etcd_code etcd_lease_leases(etcd_lease *l, etcd_response **resp, etcd_error **err);
ETCD_API etcd_code etcd_lease_leases_async(etcd_lease *l, etcd_callback cb, void *user_data, etcd_call **call,
                                           etcd_error **err);
/* Renews a lease once; the answer's TTL is the new TTL, or <= 0... which is reported as
 * ETCD_E_LEASE_NOT_FOUND, as clientv3's KeepAliveOnce does. */
ETCD_API etcd_code etcd_lease_keep_alive_once(etcd_lease *l, int64_t id, etcd_response **resp, etcd_error **err);

/* Lease responses (kinds ETCD_RESPONSE_LEASE_*). Accessors that do not apply return 0. */
/* grant, time-to-live, keepalive: the lease's ID. */
ETCD_API int64_t etcd_lease_response_id(const etcd_response *resp);
/* grant: the TTL granted; time-to-live: the seconds left (-1: no such lease); keepalive: the
 * renewed TTL. */
ETCD_API int64_t etcd_lease_response_ttl(const etcd_response *resp);
/* time-to-live: the TTL the lease was granted with. */
ETCD_API int64_t etcd_lease_response_granted_ttl(const etcd_response *resp);
/* time-to-live with keys: the keys attached to the lease (bytes, borrowed from resp). */
ETCD_API size_t etcd_lease_response_key_count(const etcd_response *resp);
ETCD_API const uint8_t *etcd_lease_response_key_at(const etcd_response *resp, size_t i, size_t *len);
/* leases: the IDs. */
ETCD_API size_t etcd_lease_response_lease_count(const etcd_response *resp);
ETCD_API int64_t etcd_lease_response_lease_at(const etcd_response *resp, size_t i);

/* Keeps a lease alive until cancelled or lost (see above). With renewals != 0 the callback
 * also runs after every renewal; otherwise only once, at the end. *call, when call is not NULL,
 * is set before the keepalive starts; cancel with etcd_call_cancel(), give it back with
 * etcd_call_release(). */
ETCD_API etcd_code etcd_lease_keep_alive(etcd_lease *l, int64_t id, int renewals, etcd_callback cb,
                                         void *user_data, etcd_call **call, etcd_error **err);
/* The local expiry estimate of a kept lease: the monotonic time (CLOCK_MONOTONIC, in ms) at which
 * its TTL runs out, counted from when the last answered renewal was sent. Stop acting on the
 * lease before then. 0 when call is not a keepalive or it has ended, and so 0 in a renewal
 * callback that runs after the keepalive ended (its final callback follows). */
ETCD_API int64_t etcd_lease_keep_alive_expiry_ms(etcd_call *call);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_LEASE_H */
