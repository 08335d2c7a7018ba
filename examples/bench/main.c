/*
 * etcdc-bench: a benchmark for etcd v3 over etcdc, modelled on etcd's tools/benchmark.
 *
 *   etcdc-bench [global flags] put|range|txn-put|watch [flags]  etcd benchmark's workloads and report
 *   etcdc-bench peer [flags]                                   the shared side-by-side peer workloads
 *
 * Requests are kept in flight with the async API: every callback starts the next request.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static bench_global G = {
    .endpoints = NULL, /* $ETCDC_ENDPOINTS or 127.0.0.1:2379, filled in main() */
    .conns = 1,
    .clients = 1,
    .total = 10000,
    .dispatch = "thread",
    .request_timeout_ms = 0,
};

static flag_def global_flags[] = {
    {"endpoints", FLAG_STRING, &G.endpoints, "comma-separated etcd endpoints", false},
    {"conns", FLAG_INT, &G.conns, "etcdc clients (one connection per endpoint each)", false},
    {"clients", FLAG_INT, &G.clients, "requests kept in flight, in total", false},
    {"total", FLAG_INT, &G.total, "requests to send", false},
    {"dispatch", FLAG_STRING, &G.dispatch, "where callbacks run: thread (etcdc's) or caller (ours)", false},
    {"request-timeout", FLAG_INT, &G.request_timeout_ms, "each request's deadline in ms; 0: none (as etcd's benchmark)",
     false},
    {NULL, FLAG_INT, NULL, NULL, false},
};

static const bench_command *const commands[] = {
    &bench_put_command,
    &bench_range_command,
    &bench_txn_put_command,
    &bench_watch_command,
    &bench_peer_command,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: etcdc-bench [global flags] COMMAND [flags]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nglobal flags (put, range, txn-put, watch):\n");
    flags_usage(f, global_flags);
    fprintf(f, "\n'etcdc-bench COMMAND --help' lists a command's flags.\n");
}

static void command_usage(FILE *f, const bench_command *c)
{
    fprintf(f, "usage: etcdc-bench %s%s [flags]%s%s\n\n%s\n\nflags:\n", c->global_flags ? "[global flags] " : "",
            c->name, c->args ? " " : "", c->args ? c->args : "", c->summary);
    flags_usage(f, c->flags);
    if (c->global_flags) {
        fprintf(f, "\nglobal flags:\n");
        flags_usage(f, global_flags);
    }
}

int bench_run_and_report(const bench_global *g, const bench_workload *w)
{
    if (g->conns < 1 || g->clients < 1 || g->total < 1) {
        fprintf(stderr, "--conns, --clients and --total must be at least 1\n");
        return 2;
    }
    etcd_dispatch mode;
    if (!bench_parse_dispatch(g->dispatch, &mode))
        return 2;
    bench_clients cl;
    if (!bench_clients_open(&cl, g->endpoints, (size_t)g->conns, mode, g->request_timeout_ms))
        return 1;
    bench_result res;
    int rc = 1;
    if (bench_run(&cl, w, (uint64_t)g->total, (size_t)g->clients, &res)) {
        bench_report(stdout, &res);
        rc = res.errors ? 1 : 0;
        bench_result_free(&res);
    }
    bench_clients_close(&cl);
    return rc;
}

int main(int argc, char **argv)
{
    G.endpoints = getenv("ETCDC_ENDPOINTS");
    if (!G.endpoints || !*G.endpoints)
        G.endpoints = "127.0.0.1:2379";

    int ci = flags_find_command(argc, argv, global_flags);
    if (ci >= argc) {
        const char *pos[1];
        size_t npos;
        flag_def *t[] = {global_flags};
        int r = flags_parse(argc, argv, -1, t, 1, pos, &npos, 0);
        usage(r == FLAGS_HELP ? stdout : stderr);
        return r == FLAGS_HELP ? 0 : 2;
    }
    const bench_command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS && !cmd; i++)
        if (strcmp(argv[ci], commands[i]->name) == 0)
            cmd = commands[i];
    if (!cmd) {
        fprintf(stderr, "unknown command \"%s\"\n\n", argv[ci]);
        usage(stderr);
        return 2;
    }

    const char *args[8];
    size_t nargs;
    flag_def *tables[] = {cmd->flags, global_flags};
    int r = flags_parse(argc, argv, ci, tables, cmd->global_flags ? 2 : 1, args, &nargs, 8);
    if (r == FLAGS_HELP) {
        command_usage(stdout, cmd);
        return 0;
    }
    if (r == FLAGS_OK && (nargs < cmd->min_args || nargs > cmd->max_args)) {
        fprintf(stderr, "%s takes %s\n", cmd->name, cmd->args ? cmd->args : "no arguments");
        r = FLAGS_ERROR;
    }
    if (r != FLAGS_OK) {
        fputc('\n', stderr);
        command_usage(stderr, cmd);
        return 2;
    }
    return cmd->run(&G, args, nargs);
}
