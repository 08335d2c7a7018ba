/*
 * etcdc-bare-peer: the shared peer workloads on gRPC core alone, taking gopeer's flags and
 * printing its RESULT line (see bare.h). put / get / sget: --warmup then --total requests with
 * --inflight in flight; watch: --total preloaded events replayed to one watch; watchers: --total
 * watches created on one stream; keepalive: --total leases kept alive for --seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

static uint8_t *random_bytes(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return NULL;
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(b, 1, n, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = got; i < n; i++)
        b[i] = (uint8_t)rand();
    return b;
}

typedef struct timed {
    uint64_t t0;
    double u0, s0;
} timed;

static void timed_start(timed *t)
{
    bare_cpu(&t->u0, &t->s0);
    t->t0 = bare_now_ns();
}

static void timed_stop(const timed *t, bare_result *r)
{
    r->wall_s = (double)(bare_now_ns() - t->t0) / 1e9;
    double u, s;
    bare_cpu(&u, &s);
    r->user_s = u - t->u0;
    r->sys_s = s - t->s0;
}

static int run_kv(bare_conn *c, const bare_flags *f, kv_kind kind, const uint8_t *val)
{
    if (!bare_put_once(c, "bench-getkey-000", val, (size_t)f->val_size, NULL)) {
        fprintf(stderr, "preload: the put of bench-getkey-000 failed\n");
        return 1;
    }
    kv_spec s = {.kind = kind, .key_prefix = "bench-", .val = val, .val_size = (size_t)f->val_size};
    uint64_t errors;
    if (f->warmup > 0 && !bare_kv_run(c, &s, (uint64_t)f->warmup, (size_t)f->inflight, &errors))
        return 1;
    bare_result r = {.f = f, .n = (uint64_t)f->total};
    s.lat_ns = r.lat_ns = calloc((size_t)f->total, sizeof *r.lat_ns);
    if (!r.lat_ns) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    timed t;
    timed_start(&t);
    bool ok = bare_kv_run(c, &s, (uint64_t)f->total, (size_t)f->inflight, &r.errors);
    timed_stop(&t, &r);
    if (ok)
        bare_print_result(&r);
    free(r.lat_ns);
    return ok ? 0 : 1;
}

static int run_watch(bare_conn *c, const bare_flags *f, const uint8_t *val)
{
    int64_t rev;
    if (!bare_put_once(c, "bench-w/start", val, (size_t)f->val_size, &rev)) {
        fprintf(stderr, "preload: the put of bench-w/start failed\n");
        return 1;
    }
    kv_spec s = {.kind = KV_PUT, .key_prefix = "bench-w/", .val = val, .val_size = (size_t)f->val_size};
    uint64_t errors;
    if (!bare_kv_run(c, &s, (uint64_t)f->total, 64, &errors) || errors) {
        fprintf(stderr, "preload: %llu puts failed\n", (unsigned long long)errors);
        return 1;
    }
    bare_result r = {.f = f, .n = (uint64_t)f->total};
    timed t;
    timed_start(&t);
    bool ok = bare_watch_run(c, "bench-w/", rev + 1, (uint64_t)f->total, (size_t)f->val_size, &r.count, &r.errors);
    timed_stop(&t, &r);
    r.maxrss_kb = bare_maxrss_kb();
    if (ok)
        bare_print_result(&r);
    return ok ? 0 : 1;
}

static int run_watchers(bare_conn *c, const bare_flags *f)
{
    bare_result r = {.f = f, .n = (uint64_t)f->total};
    timed t;
    timed_start(&t);
    bool ok = bare_watchers_run(c, "bench-w/", (uint64_t)f->total, &r.count, &r.errors);
    timed_stop(&t, &r);
    r.maxrss_kb = bare_maxrss_kb();
    if (ok)
        bare_print_result(&r);
    return ok ? 0 : 1;
}

/* The leases' TTL, as the other peers grant them. */
#define LEASE_TTL_S 9

static int run_keepalive(bare_conn *c, const bare_flags *f)
{
    int64_t *ids = calloc((size_t)f->total, sizeof *ids);
    if (!ids) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    kv_spec s = {.kind = KV_GRANT, .ttl = LEASE_TTL_S, .ids = ids};
    uint64_t errors;
    if (!bare_kv_run(c, &s, (uint64_t)f->total, 64, &errors) || errors) {
        fprintf(stderr, "grant: %llu grants failed\n", (unsigned long long)errors);
        free(ids);
        return 1;
    }
    bare_result r = {.f = f, .n = (uint64_t)f->total};
    timed t;
    timed_start(&t);
    bool ok = bare_keepalive_run(c, ids, (uint64_t)f->total, LEASE_TTL_S, f->seconds, &r.count, &r.errors);
    timed_stop(&t, &r);
    r.maxrss_kb = bare_maxrss_kb();
    if (ok)
        bare_print_result(&r);
    free(ids);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bare_flags f;
    int pr = bare_parse_flags(argc, argv, &f);
    if (pr)
        return pr == 1 ? 0 : 2;
    static const char *const ops[] = {"put", "get", "sget", "watch", "watchers", "keepalive"};
    enum { OP_PUT, OP_GET, OP_SGET, OP_WATCH, OP_WATCHERS, OP_KEEPALIVE, N_OPS } op = 0;
    while (op < N_OPS && strcmp(f.op, ops[op]) != 0)
        op++;
    if (op == N_OPS) {
        fprintf(stderr, "--op: \"%s\" is not put, get, sget, watch, watchers or keepalive\n", f.op);
        return 2;
    }
    if (f.total < 1 || f.inflight < 1 || f.warmup < 0 || f.val_size < 0 || f.seconds < 1) {
        fprintf(stderr, "--total, --inflight and --seconds must be at least 1, --warmup and --val-size not negative\n");
        return 2;
    }
    uint8_t *val = random_bytes((size_t)f.val_size);
    if (!val) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    grpc_init();
    bare_conn c;
    int rc = 1;
    if (bare_conn_open(&c, f.endpoint, 5000)) {
        switch (op) {
        case OP_WATCH: rc = run_watch(&c, &f, val); break;
        case OP_WATCHERS: rc = run_watchers(&c, &f); break;
        case OP_KEEPALIVE: rc = run_keepalive(&c, &f); break;
        default: rc = run_kv(&c, &f, op == OP_GET ? KV_GET : op == OP_SGET ? KV_SGET : KV_PUT, val); break;
        }
    }
    bare_conn_close(&c);
    grpc_shutdown();
    free(val);
    return rc;
}
