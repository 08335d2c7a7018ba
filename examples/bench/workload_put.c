/*
 * put: as etcd's "benchmark put": keys are varint-encoded numbers below --key-space-size in
 * --key-size bytes (in order with --sequential-keys, else random); one random value for all.
 */
#include <stdlib.h>

#include "bench.h"

static long long key_size = 8, val_size = 8, key_space = 1;
static bool sequential;

static flag_def put_flags[] = {
    {"key-size", FLAG_INT, &key_size, "key size in bytes", false},
    {"val-size", FLAG_INT, &val_size, "value size in bytes", false},
    {"sequential-keys", FLAG_BOOL, &sequential, "use sequential keys instead of random ones", false},
    {"key-space-size", FLAG_INT, &key_space, "maximum possible keys", false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

typedef struct put_ctx {
    size_t key_size;
    uint64_t key_space;
    bool sequential;
    uint64_t seed;
    const uint8_t *val;
    size_t val_size;
} put_ctx;

enum { STACK_KEY = 256 };

static etcd_code put_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    const put_ctx *p = ctx;
    uint8_t stack[STACK_KEY];
    uint8_t *key = p->key_size <= STACK_KEY ? stack : malloc(p->key_size);
    if (!key)
        return ETCD_E_NOMEM;
    uint64_t n = (p->sequential ? i : bench_mix64(p->seed ^ i)) % p->key_space;
    bench_varint_key(key, p->key_size, (int64_t)n); /* fits: checked at start */
    etcd_code rc = etcd_kv_put_async(kv, key, p->key_size, p->val, p->val_size, cb, ud, NULL, err);
    if (key != stack)
        free(key);
    return rc;
}

static int put_run(bench_global *g, const char **args, size_t nargs)
{
    (void)args;
    (void)nargs;
    if (!bench_check_key_size(key_size, key_space))
        return 2;
    if (val_size < 0) {
        fprintf(stderr, "--val-size must not be negative\n");
        return 2;
    }
    uint8_t *val = bench_random_bytes((size_t)val_size);
    if (!val) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    put_ctx p = {
        .key_size = (size_t)key_size,
        .key_space = (uint64_t)key_space,
        .sequential = sequential,
        .seed = bench_mix64((uint64_t)(uintptr_t)val),
        .val = val,
        .val_size = (size_t)val_size,
    };
    bench_workload w = {.submit = put_submit, .check = NULL, .ctx = &p};
    int rc = bench_run_and_report(g, &w);
    free(val);
    return rc;
}

const bench_command bench_put_command = {
    .name = "put",
    .args = NULL,
    .summary = "Benchmark put",
    .flags = put_flags,
    .global_flags = true,
    .min_args = 0,
    .max_args = 0,
    .run = put_run,
};
