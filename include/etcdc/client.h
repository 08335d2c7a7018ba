/*
 * etcdc/client.h - client settings and the client handle.
 *
 * An etcd_config collects settings through typed setters; etcd_client_new() copies what it needs,
 * so the config may be freed or reused right after.
 *
 * An etcd_client is safe to use from many threads at once. It owns one gRPC channel per endpoint
 * and one library thread that drives them. Free it with etcd_client_free() once no other call on
 * it is running.
 */
#ifndef ETCDC_CLIENT_H
#define ETCDC_CLIENT_H

#include <etcdc/common.h>
#include <etcdc/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults, in milliseconds unless said otherwise. Every timeout setter accepts any value up to
 * INT64_MAX; a deadline too far away to represent is treated as no deadline. */
#define ETCD_DEFAULT_DIAL_TIMEOUT_MS 5000
#define ETCD_DEFAULT_REQUEST_TIMEOUT_MS 30000
#define ETCD_DEFAULT_KEEPALIVE_TIME_MS 10000    /* at or above etcd's --grpc-keepalive-min-time (5 s) */
#define ETCD_DEFAULT_KEEPALIVE_TIMEOUT_MS 5000 /* a silent member is dropped within 15 s, before the request timeout */
#define ETCD_DEFAULT_MAX_SEND_BYTES (2 * 1024 * 1024)
/* One answer is held about four times over while it is decoded, so a 2 GiB answer (gRPC's own
 * ceiling, and Go's default) could cost 8 GiB; large ranges are read in pages instead. */
#define ETCD_DEFAULT_MAX_RECV_BYTES (256 * 1024 * 1024)
#define ETCD_DEFAULT_RETRY_MAX_ATTEMPTS 100
#define ETCD_DEFAULT_RETRY_BACKOFF_MS 25
#define ETCD_DEFAULT_RETRY_JITTER_PERCENT 10

/* A new config with every default set, or NULL when out of memory. Free with etcd_config_free(). */
ETCD_API etcd_config *etcd_config_new(void);
/* Frees a config. NULL is fine. */
ETCD_API void etcd_config_free(etcd_config *cfg);

/*
 * The cluster's client endpoints, comma-separated, e.g. "127.0.0.1:2379,http://10.0.0.2:2379".
 * Accepted forms: host:port, http://host:port, IPv4, [IPv6]:port, host names, unix://path,
 * https://host:port. The syntax is checked here and every problem is named in *err; whether
 * the endpoints fit the other settings (https:// needs TLS settings, which this version does
 * not have: ETCD_E_TLS_NOT_CONFIGURED) is checked by etcd_client_new(), so the order in which
 * setters are called never matters.
 */
ETCD_API etcd_code etcd_config_set_endpoints(etcd_config *cfg, const char *endpoints, etcd_error **err);
/* How long etcd_client_new() waits for a first connection (when it waits, see below). Must be
 * > 0. */
ETCD_API etcd_code etcd_config_set_dial_timeout_ms(etcd_config *cfg, int64_t ms);
/* Whether etcd_client_new() waits for a first connection (on, the default) or returns at once
 * (off), as clientv3.New does without grpc.WithBlock(). Without the wait, a client can be made
 * before etcd is up: its calls wait for a member to connect until their own deadline, and fail
 * with ETCD_E_DEADLINE (never sent, so never "outcome unknown") if none does. */
ETCD_API etcd_code etcd_config_set_dial_blocking(etcd_config *cfg, int on);
/* The deadline of each call unless the op sets its own (etcd_op_set_timeout_ms()); 0: none. */
ETCD_API etcd_code etcd_config_set_request_timeout_ms(etcd_config *cfg, int64_t ms);
/* When on, every call carries etcd's require-leader flag: a member that has lost its leader
 * fails the call at once with ETCD_E_NO_LEADER instead of serving it (reads move on to
 * another member). Off by default; an op may override it. */
ETCD_API etcd_code etcd_config_set_require_leader(etcd_config *cfg, int on);
/* gRPC keepalive: ping after `time_ms` without activity, drop the connection when no answer
 * comes within `timeout_ms`. time_ms = 0 turns pings off. etcd sends GOAWAY to clients that ping
 * more often than its --grpc-keepalive-min-time (5 s by default) allows. */
ETCD_API etcd_code etcd_config_set_keepalive(etcd_config *cfg, int64_t time_ms, int64_t timeout_ms);
/* Largest request the client will send, in bytes (> 0). */
ETCD_API etcd_code etcd_config_set_max_send_bytes(etcd_config *cfg, int32_t bytes);
/* Largest response the client will accept, in bytes (> 0); up to INT32_MAX. A larger answer
 * fails with ETCD_E_MESSAGE_TOO_LARGE (for a write: outcome unknown, it was applied). */
ETCD_API etcd_code etcd_config_set_max_recv_bytes(etcd_config *cfg, int32_t bytes);
/* Retry policy: at most `max_attempts` tries of a call that reached a server (>= 1; 1 = no
 * retry); tries that found no connection do not count, so a call waits for a member until its
 * deadline. Between tries it waits `backoff_ms` (0..3600000, +/- jitter_percent) after every
 * n/2+1 of them, n being the number of endpoints, as clientv3 does. Reads are retried after
 * "unavailable" failures on another endpoint; writes only when they provably never left. */
ETCD_API etcd_code etcd_config_set_retry(etcd_config *cfg, int max_attempts, int64_t backoff_ms,
                                         int jitter_percent);
/* Re-read the member list every `ms` and use the client URLs of the started voting members as
 * endpoints (learners and members that have not started are left out); 0: off. */
ETCD_API etcd_code etcd_config_set_auto_sync_interval_ms(etcd_config *cfg, int64_t ms);

typedef enum etcd_dispatch {
    ETCD_DISPATCH_THREAD = 0, /* callbacks run on the client's own thread */
    ETCD_DISPATCH_CALLER = 1  /* callbacks run in etcd_client_dispatch() (see async.h) */
} etcd_dispatch;

/* Chooses where async callbacks run (see async.h). */
ETCD_API etcd_code etcd_config_set_dispatch(etcd_config *cfg, etcd_dispatch mode);

/*
 * Connects to the cluster. Checks the endpoints against the other settings, then (unless dial
 * blocking is off) waits until one endpoint is connected or the dial timeout passes; on timeout
 * fails with ETCD_E_DEADLINE and a message that lists each endpoint and why it failed (found by
 * probing them all at once for at most 250 ms more). On success *out receives a client the
 * caller frees with etcd_client_free().
 */
ETCD_API etcd_code etcd_client_new(const etcd_config *cfg, etcd_client **out, etcd_error **err);
/* Closes the client. Calls still in flight end with ETCD_E_CANCELLED (writes that may have been
 * sent: ETCD_E_OUTCOME_UNKNOWN, cause ETCD_E_CANCELLED): sync calls blocked in other threads
 * return, and every async callback has run when it returns (in ETCD_DISPATCH_CALLER mode, the
 * ones still pending run here, on this thread). No call may start on the client once this has
 * been called. NULL is fine. Called from a callback of the same client it would wait for
 * itself: it prints a message to stderr and aborts the program instead. */
ETCD_API void etcd_client_free(etcd_client *client);
/* The client's KV interface. Borrowed: valid until the client is freed; do not free it. */
ETCD_API etcd_kv *etcd_client_kv(etcd_client *client);
/* Replaces the endpoint list of a live client (same syntax as etcd_config_set_endpoints()).
 * Calls in flight finish where they are; new calls use the new endpoints. */
ETCD_API etcd_code etcd_client_set_endpoints(etcd_client *client, const char *endpoints, etcd_error **err);
/* The current endpoints, comma-separated, into buf (NUL-terminated, truncated to len).
 * Returns the full length, like snprintf. */
ETCD_API size_t etcd_client_endpoints(etcd_client *client, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_CLIENT_H */
