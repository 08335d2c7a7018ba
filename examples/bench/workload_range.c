/*
 * range KEY [END]: as etcd's "benchmark range": the same get of KEY (or [KEY, END)) over and
 * over, linearizable or serializable. The op is built once; etcdc copies it for each call.
 */
#include <string.h>

#include "bench.h"

static const char *consistency = "l";

static flag_def range_flags[] = {
    {"consistency", FLAG_STRING, &consistency, "linearizable (l) or serializable (s)", false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

static etcd_code range_submit(void *ctx, etcd_kv *kv, uint64_t i, etcd_callback cb, void *ud, etcd_error **err)
{
    (void)i;
    return etcd_kv_do_async(kv, ctx, cb, ud, NULL, err);
}

static int range_run(bench_global *g, const char **args, size_t nargs)
{
    bool serializable;
    if (strcmp(consistency, "l") == 0)
        serializable = false;
    else if (strcmp(consistency, "s") == 0)
        serializable = true;
    else {
        fprintf(stderr, "--consistency: \"%s\" is neither l nor s\n", consistency);
        return 2;
    }
    etcd_op *op = etcd_op_get(args[0], strlen(args[0]));
    if (!op) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (nargs > 1)
        etcd_op_with_range_end(op, args[1], strlen(args[1]));
    if (serializable)
        etcd_op_with_serializable(op);
    etcd_error *err = NULL;
    if (etcd_op_check(op, &err) != ETCD_OK) {
        fprintf(stderr, "range: %s\n", etcd_error_message(err));
        etcd_error_free(err);
        etcd_op_free(op);
        return 2;
    }
    bench_workload w = {.submit = range_submit, .check = NULL, .ctx = op};
    int rc = bench_run_and_report(g, &w);
    etcd_op_free(op);
    return rc;
}

const bench_command bench_range_command = {
    .name = "range",
    .args = "KEY [END]",
    .summary = "Benchmark range",
    .flags = range_flags,
    .global_flags = true,
    .min_args = 1,
    .max_args = 2,
    .run = range_run,
};
