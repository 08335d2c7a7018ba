/*
 * etcd_harness.h - start and stop real etcd processes for integration tests.
 *
 * Every cluster runs on free 127.0.0.1 ports picked at run time, with its data
 * directories and logs in a fresh temporary directory (under $TMPDIR or /tmp).
 * Members die with the test process (PR_SET_PDEATHSIG), and an atexit handler
 * kills anything still running and removes its files.
 *
 * Environment:
 *   EH_ETCD, EH_ETCDCTL  override /usr/bin/etcd and /usr/bin/etcdctl
 *   EH_KEEP_LOGS         if set (non-empty), etcd logs and the temporary
 *                        directory are kept when a cluster is stopped; the
 *                        path is printed to stderr
 *
 * The harness is meant to be used from one thread at a time.  Start and stop
 * clusters from a thread that lives as long as the cluster: PR_SET_PDEATHSIG
 * fires when the thread that forked a member exits, not just the process.
 */
#ifndef ETCD_HARNESS_H
#define ETCD_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eh_cluster eh_cluster;

typedef struct eh_opts {
    int members;                   /* number of members, >= 1 (0 means 1) */
    int heartbeat_ms;              /* 0 = etcd default (100) */
    int election_ms;               /* 0 = etcd default (1000); >= 5x heartbeat */
    long max_request_bytes;        /* 0 = etcd default; --max-request-bytes */
    int max_txn_ops;               /* 0 = etcd default; --max-txn-ops */
    const char *const *extra_args; /* NULL-terminated extra etcd flags, or NULL */
} eh_opts;

/* Default time eh_cluster_start and eh_member_restart wait for readiness. */
#define EH_DEFAULT_TIMEOUT_MS 20000

/*
 * Start a cluster and wait until every member answers {"health":"true"} on
 * GET /health (which in etcd 3.4 implies a leader and a working raft read).
 * opts may be NULL (one member, etcd defaults).  Returns 0 and sets *out, or
 * returns -1 with a message in errbuf; on failure everything started is
 * stopped and removed.
 */
int eh_cluster_start(const eh_opts *opts, eh_cluster **out, char *errbuf, size_t errlen);

/* SIGKILL and reap every member, remove data dirs (and logs, see above), free. NULL ok. */
void eh_cluster_stop(eh_cluster *c);

int eh_member_count(const eh_cluster *c);

/* "127.0.0.1:P1,127.0.0.1:P2,..." client endpoints of all members. */
const char *eh_endpoints(const eh_cluster *c);

/* "127.0.0.1:P" client endpoint of member i; NULL if i is out of range. */
const char *eh_member_endpoint(const eh_cluster *c, int i);
int eh_member_client_port(const eh_cluster *c, int i);
int eh_member_peer_port(const eh_cluster *c, int i);

/* Path of member i's log file (etcd's zap log plus its stdout/stderr). */
const char *eh_member_log_path(const eh_cluster *c, int i);

/* SIGKILL and reap member i; its data dir is kept.  0 on success (also if it
   was not running), -1 if i is out of range. */
int eh_member_kill(eh_cluster *c, int i);

/* SIGTERM member i and reap it; SIGKILL if it is still running after 5 s.
   0 on success (also if it was not running), -1 if i is out of range. */
int eh_member_stop(eh_cluster *c, int i);

/*
 * Start member i again with the same ports and data dir (etcd rejoins from
 * its data dir; the --initial-cluster flags are then ignored by etcd).  A
 * running member is stopped first.  Waits until the member is healthy; if
 * fewer than a quorum of members would be running, no member can become
 * healthy, so it only waits until the member accepts client connections.
 * 0 on success, -1 on failure (see eh_last_error).
 */
int eh_member_restart(eh_cluster *c, int i);

/* Process id of member i, or -1 if it is not running. */
int eh_member_pid(const eh_cluster *c, int i);

/* Poll member i's /health every ~20 ms until healthy (0) or timeout_ms (-1).
   Fails at once if the member is not running or exits meanwhile.  Errors of
   this and the other member functions are described by eh_last_error. */
int eh_member_wait_ready(eh_cluster *c, int i, int timeout_ms);

/*
 * Wait until every running member is healthy (0), or -1 after timeout_ms or
 * if no member is running.  Useful after killing a member: a request that a
 * follower forwards to a leader that was just killed is lost, and the client
 * only sees an error when its deadline expires (5 s for etcdctl).
 */
int eh_cluster_wait_ready(eh_cluster *c, int timeout_ms);

/* Message describing the last failed member operation on c ("" if none). */
const char *eh_last_error(const eh_cluster *c);

/*
 * Run etcdctl with ETCDCTL_API=3 and --endpoints=<all endpoints> prepended
 * to argv (a NULL-terminated argument list without the program name), feeding
 * stdin_data (may be NULL) on its stdin.  Captured stdout/stderr are stored
 * in *out / *err (malloc'd, NUL-terminated, caller frees) when those are not
 * NULL; lengths go to *outlen / *errlen when not NULL.  *exit_status gets the
 * exit code (128 + signal if it was killed).  Returns 0 if etcdctl ran, -1
 * otherwise.  etcdctl is killed if it runs for more than 60 s.  --endpoints is
 * a list flag in etcdctl, so another --endpoints in argv adds to the list
 * rather than replacing it.
 */
int eh_etcdctl(const eh_cluster *c, const char *const *argv, const void *stdin_data,
               size_t stdin_len, char **out, size_t *outlen, char **err, size_t *errlen,
               int *exit_status);

/* Starts an etcd the test sets up itself (the binary is EH_ETCD's or the default, whatever
   argv[0] says), in dir (NULL: here), stdout and stderr appended to log_path, with the
   members' guards: it dies with the test process and has its own process group. Its pid, or
   -1 with err set. The caller stops and reaps it. */
pid_t eh_spawn_etcd(char *const argv[], const char *dir, const char *log_path, char *err, size_t errlen);

/* A currently free loopback TCP port, or -1. */
int eh_free_port(void);

/* Unset http_proxy, https_proxy, grpc_proxy, no_proxy, all_proxy (both cases)
   in the current process, so gRPC clients connect to 127.0.0.1 directly. */
void eh_clear_proxy_env(void);

#ifdef __cplusplus
}
#endif

#endif /* ETCD_HARNESS_H */
