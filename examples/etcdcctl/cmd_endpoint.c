/*
 * cmd_endpoint.c - "endpoint health": checks each endpoint on a client of its own, in parallel,
 * by reading the key "health" (a linearizable read goes through consensus; permission denied
 * still proves that). Results are listed as they come in, on stderr in simple format and on
 * stdout as JSON; any unhealthy endpoint makes the command fail with "unhealthy cluster".
 */
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"

static bool endpoint_help, health_help;

static flag_spec *endpoint_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for endpoint", &endpoint_help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static flag_spec *health_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for health", &health_help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

typedef struct probe {
    const ctl_globals *g;
    const char *endpoint; /* as given: shown and dialled as it is */
    ctl_health *results;
    size_t *done;
    pthread_mutex_t *lock;
} probe;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
            return true;
    return false;
}

/* Connects and reads "health" within --command-timeout (the dial also within --dial-timeout). */
static etcd_code health_read(const ctl_globals *g, const char *target, etcd_client **client, etcd_error **err)
{
    if (g->command_timeout <= 0)
        return ETCD_E_DEADLINE;
    int64_t start = ctl_now_ms();
    int64_t budget = ctl_ns_to_ms(g->command_timeout);
    int64_t dial = budget;
    if (g->dial_timeout > 0 && ctl_ns_to_ms(g->dial_timeout) < budget)
        dial = ctl_ns_to_ms(g->dial_timeout);
    if (has_space(target)) {
        /* etcdctl checks each endpoint exactly as given, unlike its other commands, which trim
         * them: an address with a space never connects, and the check runs out of time. The
         * library would trim it, so wait as a dial to an unreachable address waits. */
        struct timespec ts = {dial / 1000, (dial % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
        return ETCD_E_DEADLINE;
    }
    ctl_dial_opts o = {.dial_ms = dial};
    etcd_code rc = ctl_dial(g, target, &o, client, err);
    if (rc != ETCD_OK)
        return rc;
    int64_t left = start + budget - ctl_now_ms();
    if (left <= 0)
        return ETCD_E_DEADLINE;
    etcd_op *op = etcd_op_get("health", 6);
    etcd_response *resp = NULL;
    etcd_op_set_timeout_ms(op, left);
    rc = etcd_kv_do(etcd_client_kv(*client), op, &resp, err);
    etcd_response_free(resp);
    etcd_op_free(op);
    return rc;
}

static void *check_endpoint(void *arg)
{
    probe *p = arg;
    ctl_buf text = {0};
    etcd_client *client = NULL;
    etcd_error *err = NULL;
    int64_t t0 = now_ns();
    etcd_code rc = health_read(p->g, p->endpoint, &client, &err);
    int64_t took = now_ns() - t0;
    bool healthy = rc == ETCD_OK || (err && etcd_error_cause(err) == ETCD_E_PERMISSION_DENIED);
    if (!healthy)
        ctl_error_text(rc, err, &text);
    etcd_error_free(err);
    etcd_client_free(client);

    pthread_mutex_lock(p->lock);
    ctl_health *h = &p->results[(*p->done)++];
    h->endpoint = ctl_xstrdup(p->endpoint);
    h->healthy = healthy;
    h->took_ns = took;
    h->error = healthy ? NULL : ctl_xstrdup(buf_str(&text));
    pthread_mutex_unlock(p->lock);
    buf_free(&text);
    return NULL;
}

static int run_health(ctl_globals *g, const ctl_strlist *args)
{
    (void)args;
    int rc = ctl_setup(g);
    if (rc)
        return rc;
    size_t n = g->endpoints.n, done = 0;
    ctl_health *results = ctl_xcalloc(n, sizeof *results);
    probe *probes = ctl_xcalloc(n, sizeof *probes);
    pthread_t *threads = ctl_xcalloc(n, sizeof *threads);
    bool *started = ctl_xcalloc(n, sizeof *started);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    for (size_t i = 0; i < n; i++) {
        probes[i] = (probe){g, g->endpoints.items[i], results, &done, &lock};
        started[i] = pthread_create(&threads[i], NULL, check_endpoint, &probes[i]) == 0;
        if (!started[i])
            check_endpoint(&probes[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(threads[i], NULL);

    bool unhealthy = false;
    for (size_t i = 0; i < done; i++)
        unhealthy = unhealthy || !results[i].healthy;
    /* As etcdctl: the checks run whatever the format; the printer decides what it can show. */
    ctl_buf out = {0};
    int print_rc = 0;
    switch (g->format) {
    case CTL_FORMAT_JSON:
        ctl_print_health_json(&out, results, done);
        ctl_flush_out(&out);
        break;
    case CTL_FORMAT_FIELDS:
        ctl_print_health_fields(&out, results, done);
        ctl_flush_out(&out);
        break;
    case CTL_FORMAT_SIMPLE:
        ctl_print_health_simple(&out, results, done);
        fflush(stdout);
        buf_write(&out, stderr);
        break;
    case CTL_FORMAT_PROTOBUF:
        print_rc = ctl_fail(CTL_EXIT_BAD_FEATURE, "protobuf not supported as output format");
        break;
    case CTL_FORMAT_TABLE: /* etcdctl draws a table; not implemented here */
        print_rc = ctl_fail(CTL_EXIT_BAD_FEATURE, "table not supported as output format");
        break;
    }
    buf_free(&out);
    for (size_t i = 0; i < n; i++) {
        free(results[i].endpoint);
        free(results[i].error);
    }
    free(results);
    free(probes);
    free(threads);
    free(started);
    pthread_mutex_destroy(&lock);
    if (print_rc)
        return print_rc;
    return unhealthy ? ctl_fail(CTL_EXIT_ERROR, "unhealthy cluster") : 0;
}

ctl_command ctl_cmd_endpoint_health = {
    .name = "health",
    .use = "health",
    .short_desc = "Checks the healthiness of endpoints specified in `--endpoints` flag",
    .flags = health_flags,
    .run = run_health,
    .parent = &ctl_cmd_endpoint,
};

static ctl_command *const endpoint_subs[] = {&ctl_cmd_endpoint_health, NULL};
static const char *const etcdctl_endpoint_subs[] = {"health", "status", "hashkv", NULL};

ctl_command ctl_cmd_endpoint = {
    .name = "endpoint",
    .use = "endpoint <subcommand>",
    .short_desc = "Endpoint related commands",
    .flags = endpoint_flags,
    .subs = endpoint_subs,
    .etcdctl_subs = etcdctl_endpoint_subs,
    .parent = &ctl_cmd_root,
};
