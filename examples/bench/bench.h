/*
 * etcdc-bench: what the pieces share. A workload says how to start request number i; the runner
 * keeps a fixed number of them in flight with the async API and times each one; stats turns the
 * timings into etcd benchmark's report (or the peer RESULT line).
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <etcdc/etcdc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flags.h"

/* ---- options every subcommand sees ---- */
typedef struct bench_global {
    const char *endpoints;
    long long conns;      /* etcdc clients; requests are spread over them round-robin */
    long long clients;    /* requests kept in flight, in total */
    long long total;      /* requests to send */
    const char *dispatch; /* "thread" or "caller": where etcdc runs the callbacks */
    long long request_timeout_ms;
} bench_global;

/* ---- clients (clients.c) ---- */
typedef struct bench_clients {
    etcd_client **c;
    size_t n;
    etcd_dispatch mode;
} bench_clients;

/* Parses "thread" / "caller". Returns false (after saying so) for anything else. */
bool bench_parse_dispatch(const char *s, etcd_dispatch *out);
/* Opens n clients on endpoints. Returns false after printing why on stderr. */
/* request_timeout_ms: each request's deadline; 0 sends none, as etcd's own benchmark and the Go
 * peer (context.Background()) do, which spares gRPC a timer per call. */
bool bench_clients_open(bench_clients *cl, const char *endpoints, size_t n, etcd_dispatch mode,
                        long long request_timeout_ms);
void bench_clients_close(bench_clients *cl);

/* ---- workloads and the runner (runner.c) ---- */
typedef struct bench_workload {
    /* Starts request number i on kv. ETCD_OK means cb will run exactly once with ud. */
    etcd_code (*submit)(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err);
    /* Optional: checks a successful response; NULL when fine, else a message counted as an error. */
    const char *(*check)(void *ctx, const etcd_response *resp);
    void *ctx;
} bench_workload;

/* The first distinct error messages of a run, with how often each was seen. */
#define BENCH_MAX_ERROR_KINDS 8
typedef struct bench_errors {
    pthread_mutex_t mu;
    char *msg[BENCH_MAX_ERROR_KINDS];
    uint64_t count[BENCH_MAX_ERROR_KINDS];
    size_t n;
    uint64_t other;       /* errors whose message was not among the first kinds */
} bench_errors;

typedef struct bench_result {
    uint64_t total;
    uint64_t *lat_ns;     /* per request, in request order */
    uint8_t *failed;      /* per request: non-zero when it failed */
    uint64_t errors;
    double wall_s;
    double cpu_user_s, cpu_sys_s;
    bench_errors errs;
    const char *unit;     /* what the items are, for the report; NULL: "requests" */
} bench_result;

/* Counts one error under its message (the first BENCH_MAX_ERROR_KINDS kinds by name). */
void bench_note_error(bench_errors *e, const char *msg);

/*
 * Sends `total` requests of workload w, `inflight` at a time (slot k on client k % n), each
 * new one started from the previous one's callback. With res == NULL nothing is recorded
 * (warm-up). Returns false when the run could not be set up (res then holds nothing to free);
 * otherwise the caller frees res with bench_result_free().
 */
bool bench_run(bench_clients *cl, const bench_workload *w, uint64_t total, size_t inflight, bench_result *res);
void bench_result_free(bench_result *res);

/* ---- reporting (stats.c) ---- */
/* etcd benchmark's report: summary, histogram, percentiles, errors; plus client CPU and peak RSS. */
void bench_report(FILE *f, const bench_result *res);
/* Peak resident set size of this process so far, in KiB. */
long bench_peak_rss_kb(void);
/* Prints the first error kinds of a run (at most `max`) to f. */
void bench_print_errors(FILE *f, const bench_result *res, size_t max);
/* Ascending sort of n latencies. */
void bench_sort_u64(uint64_t *v, size_t n);

/* ---- keys and values (keys.c) ---- */
/* Go's binary.PutVarint into buf (zero-filled to len), as etcd's benchmark makes keys.
 * Returns false when the varint does not fit in len bytes. */
bool bench_varint_key(uint8_t *buf, size_t len, int64_t x);
/* Bytes a varint key for x needs. */
size_t bench_varint_len(int64_t x);
/* A well-mixed 64-bit hash of x: random key choice without shared state between threads. */
uint64_t bench_mix64(uint64_t x);
/* Whether --key-size holds every key of --key-space-size (says why not on stderr). */
bool bench_check_key_size(long long key_size, long long key_space);
/* n random bytes from the OS (or a seeded generator when that fails); caller frees. */
uint8_t *bench_random_bytes(size_t n);
/* prefix followed by i in 10 decimal digits ("bench-%010d" for prefix "bench-"), without printf
 * on the hot path; more digits when i needs them. Returns the length (not NUL-terminated). */
size_t bench_numbered_key(char *buf, size_t len, const char *prefix, uint64_t i);

/* ---- helpers for the stream workloads (streams.c) ---- */
/* Monotonic clock, in ns. */
uint64_t bench_now_ns(void);

/*
 * Counts items that callbacks report (on etcdc's threads) until a target is reached, or until
 * someone says the run failed. Only the callback that reaches the target takes the lock, so
 * counting costs an atomic add.
 */
typedef struct bench_latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t count;
    uint64_t target;
    bool done;   /* under mu: target reached or failed */
    bool failed; /* under mu */
} bench_latch;

void bench_latch_init(bench_latch *l, uint64_t target);
void bench_latch_destroy(bench_latch *l);
/* Adds n; wakes the waiter when the count reaches the target. */
void bench_latch_add(bench_latch *l, uint64_t n);
/* Wakes the waiter for good: the run cannot reach its target. */
void bench_latch_fail(bench_latch *l);
/* Waits up to timeout_ms for the target (true) or a failure / the timeout (false). */
bool bench_latch_wait(bench_latch *l, long long timeout_ms);

/*
 * With ETCD_DISPATCH_CALLER nobody runs the callbacks unless we do: a thread of ours polls the
 * clients' descriptors and dispatches, so the stream workloads can wait on latches in either
 * mode. With ETCD_DISPATCH_THREAD it does nothing.
 */
typedef struct bench_dispatcher {
    bench_clients *cl;
    pthread_t thread;
    int stop_pipe[2];
    bool running;
} bench_dispatcher;

bool bench_dispatcher_start(bench_dispatcher *d, bench_clients *cl);
void bench_dispatcher_stop(bench_dispatcher *d);

/* ---- subcommands (main.c dispatches; one file each) ---- */
typedef struct bench_command {
    const char *name;
    const char *args;           /* positional arguments, for the usage line */
    const char *summary;
    flag_def *flags;            /* the command's own flags */
    bool global_flags;          /* whether the global flags apply */
    size_t min_args, max_args;
    int (*run)(bench_global *g, const char **args, size_t nargs);
} bench_command;

extern const bench_command bench_put_command, bench_range_command, bench_txn_put_command, bench_watch_command,
    bench_peer_command;

/* peer --op watch|watchers (peer_stream.c) and --op keepalive (peer_keepalive.c): the shared
 * stream workloads, on one client. Both close the client. */
typedef struct bench_peer_stream_args {
    const char *op, *label;
    long long total, inflight, val_size;
    long long seconds; /* keepalive: how long the leases are kept alive */
} bench_peer_stream_args;
int bench_peer_stream(bench_clients *cl, const bench_peer_stream_args *a);
int bench_peer_keepalive(bench_clients *cl, const bench_peer_stream_args *a);

/* For the etcd-style subcommands: opens --conns clients, runs w, prints the report, closes. */
int bench_run_and_report(const bench_global *g, const bench_workload *w);

#endif
