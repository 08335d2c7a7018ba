/*
 * peer: the shared side-by-side workload (shared/peers/README.md), flag for flag and line for
 * line what gopeer does, so run-matrix.sh can put etcdc next to Go's clientv3:
 *   one client (one connection), --inflight requests in flight on it;
 *   put: key "bench-%010d" (i = 0..n-1), one random --val-size value;
 *   get / sget: linearizable / serializable range of "bench-getkey-000", which must come back
 *   as one kv with a --val-size value (the peer puts it first, as gopeer does);
 *   --warmup untimed requests, then --total timed ones; one RESULT line.
 * --op watch and --op watchers are the stream workloads (peer_stream.c), --op keepalive the
 * lease one (peer_keepalive.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *endpoint = "127.0.0.1:23790", *op_name = "put", *label = "", *dispatch = "thread";
static long long total = 10000, warmup = 1000, inflight = 1, val_size = 256, request_timeout_ms = 0, seconds = 10;

static flag_def peer_flags[] = {
    {"endpoint", FLAG_STRING, &endpoint, "etcd endpoint", false},
    {"op", FLAG_STRING, &op_name,
     "put | get (linearizable) | sget (serializable get) | watch | watchers | keepalive", false},
    {"total", FLAG_INT, &total, "timed ops", false},
    {"warmup", FLAG_INT, &warmup, "untimed warm-up ops", false},
    {"inflight", FLAG_INT, &inflight, "concurrent requests in flight on the one connection", false},
    {"val-size", FLAG_INT, &val_size, "value size in bytes", false},
    {"label", FLAG_STRING, &label, "free-form label echoed in the result line", false},
    {"dispatch", FLAG_STRING, &dispatch, "where callbacks run: thread (etcdc's) or caller (ours)", false},
    {"request-timeout", FLAG_INT, &request_timeout_ms,
     "each request's deadline in ms; 0: none, as the Go peer's context.Background()", false},
    {"seconds", FLAG_INT, &seconds, "keepalive: how long the leases are kept alive", false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

static const char get_key[] = "bench-getkey-000";

typedef struct peer_ctx {
    const uint8_t *val;
    size_t val_size;
    const etcd_op *get; /* get / sget: built once */
} peer_ctx;

static etcd_code put_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    const peer_ctx *p = ctx;
    char key[32];
    size_t n = bench_numbered_key(key, sizeof key, "bench-", i);
    return etcd_kv_put_async(kv, key, n, p->val, p->val_size, cb, ud, NULL, err);
}

static etcd_code get_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    (void)i;
    const peer_ctx *p = ctx;
    return etcd_kv_do_async(kv, p->get, cb, ud, NULL, err);
}

static const char *get_check(void *ctx, const etcd_response *resp)
{
    const peer_ctx *p = ctx;
    size_t vl = (size_t)-1;
    if (etcd_response_kv_count(resp) == 1)
        etcd_keyvalue_value(etcd_response_kv_at(resp, 0), &vl);
    return vl == p->val_size ? NULL : "bad get response";
}

/* gopeer's percentile: the sample at index p * (n - 1) of the sorted latencies, in us. */
static double pct_us(const uint64_t *sorted, uint64_t n, double p)
{
    return (double)sorted[(size_t)(p * (double)(n - 1))] / 1e3;
}

static int peer_run(bench_global *g, const char **args, size_t nargs)
{
    (void)g;
    (void)args;
    (void)nargs;
    etcd_dispatch mode;
    if (!bench_parse_dispatch(dispatch, &mode))
        return 2;
    bool is_put = strcmp(op_name, "put") == 0, is_sget = strcmp(op_name, "sget") == 0;
    bool is_keepalive = strcmp(op_name, "keepalive") == 0;
    bool is_stream = strcmp(op_name, "watch") == 0 || strcmp(op_name, "watchers") == 0 || is_keepalive;
    if (!is_put && !is_sget && !is_stream && strcmp(op_name, "get") != 0) {
        fprintf(stderr, "--op: \"%s\" is not put, get, sget, watch, watchers or keepalive\n", op_name);
        return 2;
    }
    if (total < 1 || inflight < 1 || warmup < 0 || val_size < 0 || seconds < 0) {
        fprintf(stderr, "--total and --inflight must be at least 1, --warmup, --val-size and --seconds not negative\n");
        return 2;
    }

    bench_clients cl;
    if (!bench_clients_open(&cl, endpoint, 1, mode, request_timeout_ms))
        return 1;
    if (is_stream) {
        /* --warmup and --inflight do not apply, as in the Go peer; inflight is echoed. */
        bench_peer_stream_args a = {.op = op_name,
                                    .label = label,
                                    .total = total,
                                    .inflight = inflight,
                                    .val_size = val_size,
                                    .seconds = seconds};
        return is_keepalive ? bench_peer_keepalive(&cl, &a) : bench_peer_stream(&cl, &a);
    }
    int rc = 1;
    etcd_op *get = NULL;
    bench_result res;
    bool have_res = false;
    uint8_t *val = bench_random_bytes((size_t)val_size);
    if (!val) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    etcd_kv *kv = etcd_client_kv(cl.c[0]);
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    if (etcd_kv_put(kv, get_key, strlen(get_key), val, (size_t)val_size, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "preload: %s\n", err ? etcd_error_message(err) : "failed");
        etcd_error_free(err);
        goto out;
    }
    etcd_response_free(resp);

    peer_ctx p = {.val = val, .val_size = (size_t)val_size, .get = NULL};
    bench_workload w = {.submit = put_submit, .check = NULL, .ctx = &p};
    if (!is_put) {
        get = etcd_op_get(get_key, strlen(get_key));
        if (!get || (is_sget && etcd_op_with_serializable(get) != ETCD_OK)) {
            fprintf(stderr, "could not build the get\n");
            goto out;
        }
        p.get = get;
        w.submit = get_submit;
        w.check = get_check;
    }

    if (warmup > 0 && !bench_run(&cl, &w, (uint64_t)warmup, (size_t)inflight, NULL))
        goto out;
    if (!bench_run(&cl, &w, (uint64_t)total, (size_t)inflight, &res))
        goto out;
    have_res = true;

    uint64_t n = res.total;
    uint64_t *sorted = res.lat_ns; /* sorted in place: request order is not needed any more */
    bench_sort_u64(sorted, n);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (double)sorted[i];
    double usr = res.cpu_user_s, sys = res.cpu_sys_s;
    printf("RESULT peer=etcdc label=%s op=%s total=%lld inflight=%lld val=%lld errors=%llu wall_s=%.4f ops_s=%.1f "
           "avg_us=%.1f p50_us=%.1f p99_us=%.1f cpu_user_s=%.4f cpu_sys_s=%.4f cpu_s_per_10k=%.4f\n",
           label, op_name, total, inflight, val_size, (unsigned long long)res.errors, res.wall_s,
           (double)n / res.wall_s, sum / (double)n / 1e3, pct_us(sorted, n, 0.5), pct_us(sorted, n, 0.99), usr, sys,
           (usr + sys) * 10000 / (double)n);
    fflush(stdout);
    if (res.errors) {
        fprintf(stderr, "errors:\n");
        bench_print_errors(stderr, &res, 3);
    }
    rc = 0;
out:
    if (have_res)
        bench_result_free(&res);
    etcd_op_free(get);
    bench_clients_close(&cl);
    free(val);
    return rc;
}

const bench_command bench_peer_command = {
    .name = "peer",
    .args = NULL,
    .summary = "The shared peer workload (see shared/peers/README.md); prints one RESULT line",
    .flags = peer_flags,
    .global_flags = false,
    .min_args = 0,
    .max_args = 0,
    .run = peer_run,
};
