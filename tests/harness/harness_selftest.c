/*
 * harness_selftest.c - exercises etcd_harness against the real etcd binary.
 * Exits 0 on success.  The last cluster is deliberately not stopped, so that
 * the atexit handler's cleanup is exercised too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "etcd_harness.h"

#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "selftest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run etcdctl; returns its exit status and stores stdout in *out (may be NULL). */
static int ctl(const eh_cluster *c, const char *input, char **out, const char *a0, const char *a1,
               const char *a2, const char *a3)
{
    const char *argv[] = { a0, a1, a2, a3, NULL };
    char *o = NULL, *e = NULL;
    int st = -1;
    if (eh_etcdctl(c, argv, input, input ? strlen(input) : 0, &o, NULL, &e, NULL, &st) != 0) {
        fprintf(stderr, "eh_etcdctl did not run\n");
        return -1;
    }
    if (st != 0)
        fprintf(stderr, "etcdctl %s exited %d: %s%s", a0, st, o, e);
    if (out)
        *out = o;
    else
        free(o);
    free(e);
    return st;
}

static bool get_equals(const eh_cluster *c, const char *key, const char *value)
{
    char *o = NULL;
    int st = ctl(c, NULL, &o, "get", key, "--print-value-only", NULL);
    char want[256];
    snprintf(want, sizeof want, "%s\n", value);
    bool ok = st == 0 && o && strcmp(o, want) == 0;
    if (!ok)
        fprintf(stderr, "get %s: want %s got %s\n", key, value, o ? o : "(null)");
    free(o);
    return ok;
}

static bool dir_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char *cluster_dir(const eh_cluster *c)
{
    char *p = strdup(eh_member_log_path(c, 0));
    char *d = strdup(dirname(p));
    free(p);
    return d;
}

static void test_single(void)
{
    char err[4096];
    eh_cluster *c = NULL;
    eh_opts o = { .members = 1, .heartbeat_ms = 50, .election_ms = 500 };
    double t0 = now_s();
    if (eh_cluster_start(&o, &c, err, sizeof err) != 0) {
        fprintf(stderr, "start 1: %s\n", err);
        failures++;
        return;
    }
    printf("1-member cluster ready in %.2fs: %s\n", now_s() - t0, eh_endpoints(c));
    CHECK(eh_member_count(c) == 1);
    CHECK(eh_member_pid(c, 0) > 0);
    CHECK(strcmp(eh_endpoints(c), eh_member_endpoint(c, 0)) == 0);
    CHECK(eh_member_client_port(c, 0) > 0);
    CHECK(eh_member_endpoint(c, 1) == NULL);

    CHECK(ctl(c, NULL, NULL, "put", "k1", "v1", NULL) == 0);
    CHECK(ctl(c, "from-stdin", NULL, "put", "k2", NULL, NULL) == 0); /* value read from stdin */
    CHECK(get_equals(c, "k1", "v1"));
    CHECK(get_equals(c, "k2", "from-stdin"));

    /* a large value through stdin and back through stdout */
    size_t big_len = 1000 * 1000;
    char *big = malloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[big_len] = '\0';
    CHECK(ctl(c, big, NULL, "put", "big", NULL, NULL) == 0);
    const char *getbig[] = { "get", "big", "--print-value-only", NULL };
    char *bigout = NULL;
    size_t bigout_len = 0;
    int bigst = -1;
    CHECK(eh_etcdctl(c, getbig, NULL, 0, &bigout, &bigout_len, NULL, NULL, &bigst) == 0);
    CHECK(bigst == 0 && bigout_len == big_len + 1 && memcmp(bigout, big, big_len) == 0);
    free(bigout);
    free(big);

    /* txn reads its operations from stdin */
    char *out = NULL;
    CHECK(ctl(c, "value(\"k1\") = \"v1\"\n\nput k3 v3\n\nput k3 bad\n\n", &out, "txn", NULL, NULL,
              NULL) == 0);
    CHECK(out && strncmp(out, "SUCCESS", 7) == 0);
    free(out);
    CHECK(get_equals(c, "k3", "v3"));

    /* failing command: exit status and stderr are reported */
    const char *bad[] = { "no-such-command", NULL };
    char *e = NULL;
    size_t elen = 0;
    int st = 0;
    CHECK(eh_etcdctl(c, bad, NULL, 0, NULL, NULL, &e, &elen, &st) == 0);
    CHECK(st != 0 && e && elen == strlen(e) && elen > 0);
    free(e);

    /* kill + restart keeps the data */
    t0 = now_s();
    CHECK(eh_member_kill(c, 0) == 0);
    CHECK(eh_member_pid(c, 0) == -1);
    CHECK(eh_member_wait_ready(c, 0, 1000) == -1);
    CHECK(eh_member_restart(c, 0) == 0);
    printf("1-member kill+restart in %.2fs\n", now_s() - t0);
    CHECK(eh_member_pid(c, 0) > 0);
    CHECK(get_equals(c, "k1", "v1"));

    /* graceful stop */
    CHECK(eh_member_stop(c, 0) == 0);
    CHECK(eh_member_pid(c, 0) == -1);
    CHECK(eh_member_restart(c, 0) == 0);
    CHECK(get_equals(c, "k3", "v3"));

    char *dir = cluster_dir(c);
    CHECK(dir_exists(dir));
    eh_cluster_stop(c);
    CHECK(!dir_exists(dir));
    free(dir);
}

static void test_three(void)
{
    char err[4096];
    eh_cluster *c = NULL;
    const char *extra[] = { "--snapshot-count", "1000", NULL };
    eh_opts o = { .members = 3,
                  .heartbeat_ms = 50,
                  .election_ms = 500,
                  .max_request_bytes = 2 * 1024 * 1024,
                  .max_txn_ops = 256,
                  .extra_args = extra };
    double t0 = now_s();
    if (eh_cluster_start(&o, &c, err, sizeof err) != 0) {
        fprintf(stderr, "start 3: %s\n", err);
        failures++;
        return;
    }
    printf("3-member cluster ready in %.2fs: %s\n", now_s() - t0, eh_endpoints(c));
    CHECK(eh_member_count(c) == 3);
    for (int i = 0; i < 3; i++)
        CHECK(eh_member_pid(c, i) > 0);

    char *out = NULL;
    CHECK(ctl(c, NULL, &out, "member", "list", NULL, NULL) == 0);
    int started = 0;
    for (const char *p = out; p && (p = strstr(p, ", started, ")); p++)
        started++;
    CHECK(started == 3);
    free(out);
    CHECK(ctl(c, NULL, NULL, "endpoint", "health", NULL, NULL) == 0);
    CHECK(ctl(c, NULL, NULL, "put", "a", "1", NULL) == 0);

    /* one member down: the cluster still has quorum */
    t0 = now_s();
    CHECK(eh_member_kill(c, 1) == 0);
    CHECK(eh_member_pid(c, 1) == -1);
    CHECK(eh_cluster_wait_ready(c, 10000) == 0); /* member 1 may have been the leader */
    CHECK(ctl(c, NULL, NULL, "put", "b", "2", NULL) == 0);
    if (eh_member_restart(c, 1) != 0) {
        fprintf(stderr, "restart 1: %s\n", eh_last_error(c));
        failures++;
    }
    printf("3-member kill+restart in %.2fs\n", now_s() - t0);
    CHECK(eh_member_wait_ready(c, 1, 5000) == 0);
    CHECK(get_equals(c, "b", "2"));

    /* two members down: no quorum until the second one is back */
    t0 = now_s();
    CHECK(eh_member_kill(c, 0) == 0);
    CHECK(eh_member_stop(c, 2) == 0);
    CHECK(eh_member_restart(c, 0) == 0);
    CHECK(eh_member_restart(c, 2) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(eh_member_wait_ready(c, i, 10000) == 0);
    printf("3-member two down + recovery in %.2fs\n", now_s() - t0);
    CHECK(get_equals(c, "a", "1"));

    /* all down: the first restart cannot become healthy on its own */
    t0 = now_s();
    for (int i = 0; i < 3; i++)
        CHECK(eh_member_kill(c, i) == 0);
    CHECK(eh_cluster_wait_ready(c, 100) == -1);
    CHECK(eh_member_restart(c, 0) == 0);
    CHECK(eh_member_wait_ready(c, 0, 300) == -1); /* alone: no leader, not healthy */
    CHECK(eh_member_restart(c, 1) == 0);
    CHECK(eh_member_restart(c, 2) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(eh_member_wait_ready(c, i, 10000) == 0);
    printf("3-member full restart in %.2fs\n", now_s() - t0);
    CHECK(get_equals(c, "b", "2"));

    char *dir = cluster_dir(c);
    eh_cluster_stop(c);
    CHECK(!dir_exists(dir));
    free(dir);
}

static void test_bad_flag(void)
{
    char err[4096];
    eh_cluster *c = NULL;
    const char *extra[] = { "--no-such-flag", NULL };
    eh_opts o = { .members = 1, .extra_args = extra };
    double t0 = now_s();
    CHECK(eh_cluster_start(&o, &c, err, sizeof err) == -1);
    CHECK(c == NULL);
    CHECK(strstr(err, "no-such-flag") != NULL);
    printf("bad flag rejected in %.2fs: %.120s...\n", now_s() - t0, err);

    eh_opts bad = { .members = 1, .heartbeat_ms = 100, .election_ms = 200 };
    CHECK(eh_cluster_start(&bad, &c, err, sizeof err) == -1);
}

int main(void)
{
    eh_clear_proxy_env();
    CHECK(getenv("http_proxy") == NULL);
    int p = eh_free_port();
    CHECK(p > 0 && p < 65536);

    test_single();
    test_three();
    test_bad_flag();

    /* Left running on purpose: the atexit handler must clean it up. */
    char err[4096];
    eh_cluster *leftover = NULL;
    if (eh_cluster_start(NULL, &leftover, err, sizeof err) != 0) {
        fprintf(stderr, "start leftover: %s\n", err);
        failures++;
    }

    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
