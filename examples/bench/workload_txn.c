/*
 * txn-put: as etcd's "benchmark txn-put": each request is a txn whose Then branch puts
 * --txn-ops keys, key j of request i being ((i * txn-ops) + j) % key-space-size.
 */
#include <stdlib.h>

#include "bench.h"

static long long key_size = 8, val_size = 8, key_space = 1, txn_ops = 1;

static flag_def txn_flags[] = {
    {"key-size", FLAG_INT, &key_size, "key size in bytes", false},
    {"val-size", FLAG_INT, &val_size, "value size in bytes", false},
    {"key-space-size", FLAG_INT, &key_space, "maximum possible keys", false},
    {"txn-ops", FLAG_INT, &txn_ops, "puts per txn", false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

typedef struct txn_ctx {
    size_t key_size;
    uint64_t key_space, ops;
    const uint8_t *val;
    size_t val_size;
} txn_ctx;

enum { STACK_KEY = 256 };

static etcd_code txn_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    const txn_ctx *p = ctx;
    uint8_t stack[STACK_KEY];
    uint8_t *key = p->key_size <= STACK_KEY ? stack : malloc(p->key_size);
    etcd_txn *t = key ? etcd_txn_new() : NULL;
    if (!t) {
        if (key != stack)
            free(key);
        return ETCD_E_NOMEM;
    }
    for (uint64_t j = 0; j < p->ops; j++) {
        bench_varint_key(key, p->key_size, (int64_t)((i * p->ops + j) % p->key_space));
        etcd_txn_then(t, etcd_op_put(key, p->key_size, p->val, p->val_size)); /* NULL is recorded */
    }
    etcd_code rc = etcd_kv_txn_async(kv, t, cb, ud, NULL, err);
    etcd_txn_free(t);
    if (key != stack)
        free(key);
    return rc;
}

static int txn_run(bench_global *g, const char **args, size_t nargs)
{
    (void)args;
    (void)nargs;
    if (!bench_check_key_size(key_size, key_space))
        return 2;
    if (val_size < 0 || txn_ops < 1) {
        fprintf(stderr, "--val-size must not be negative and --txn-ops must be at least 1\n");
        return 2;
    }
    uint8_t *val = bench_random_bytes((size_t)val_size);
    if (!val) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    txn_ctx p = {
        .key_size = (size_t)key_size,
        .key_space = (uint64_t)key_space,
        .ops = (uint64_t)txn_ops,
        .val = val,
        .val_size = (size_t)val_size,
    };
    bench_workload w = {.submit = txn_submit, .check = NULL, .ctx = &p};
    int rc = bench_run_and_report(g, &w);
    free(val);
    return rc;
}

const bench_command bench_txn_put_command = {
    .name = "txn-put",
    .args = NULL,
    .summary = "Benchmark txn-put",
    .flags = txn_flags,
    .global_flags = true,
    .min_args = 0,
    .max_args = 0,
    .run = txn_run,
};
