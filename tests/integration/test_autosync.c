/*
 * Auto-sync against a cluster with a learner: the learner refuses writes ("rpc not supported
 * for learner"), so a synced client must not send it any, and must drop it from its endpoints.
 *
 * The harness starts one member; the learner is added with etcdctl and started here as a second
 * etcd process joining the existing cluster, through the harness (eh_spawn_etcd), so that it ends
 * with this test even if the test dies before stopping it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static struct {
    char dir[256];
    char client_url[64];
    pid_t pid;
} learner = {.pid = -1};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* etcdctl's stdout, or a test failure. */
static char *etcdctl(const char *const *argv)
{
    char *out = NULL, *err = NULL;
    int status = -1;
    if (eh_etcdctl(itest_cluster, argv, NULL, 0, &out, NULL, &err, NULL, &status) != 0 || status != 0)
        fail_msg("etcdctl %s failed (%d): %s", argv[0], status, err ? err : "");
    free(err);
    return out;
}

/* The value of `NAME="..."` in etcdctl member add's output, malloc'd. */
static char *env_value(const char *out, const char *name)
{
    const char *p = strstr(out, name);
    assert_non_null(p);
    p += strlen(name);
    assert_true(p[0] == '=' && p[1] == '"');
    p += 2;
    const char *end = strchr(p, '"');
    assert_non_null(end);
    return strndup(p, (size_t)(end - p));
}

/* Adds a learner to the cluster and starts its etcd; returns once the member list shows it
 * started (named, with its client URL): what the old auto-sync used as an endpoint. */
static void start_learner(void)
{
    int peer = eh_free_port(), client = eh_free_port();
    assert_true(peer > 0 && client > 0 && peer != client);
    char peer_url[64], peer_flag[96];
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer);
    snprintf(learner.client_url, sizeof learner.client_url, "http://127.0.0.1:%d", client);
    snprintf(peer_flag, sizeof peer_flag, "--peer-urls=%s", peer_url);
    const char *add[] = {"member", "add", "learner", "--learner", peer_flag, NULL};
    char *out = etcdctl(add);
    char *initial_cluster = env_value(out, "ETCD_INITIAL_CLUSTER");
    free(out);

    const char *tmp = getenv("TMPDIR");
    snprintf(learner.dir, sizeof learner.dir, "%s/etcdc-learner-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(learner.dir));
    char data[300], log[300];
    snprintf(data, sizeof data, "%s/data", learner.dir);
    snprintf(log, sizeof log, "%s/etcd.log", learner.dir);
    char *argv[] = {"etcd", "--name", "learner", "--data-dir", data,
                    "--listen-client-urls", learner.client_url, "--advertise-client-urls", learner.client_url,
                    "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                    "--initial-cluster", initial_cluster, "--initial-cluster-state", "existing",
                    "--logger", "zap", "--log-outputs", log, NULL};
    char why[256];
    learner.pid = eh_spawn_etcd(argv, NULL, log, why, sizeof why);
    free(initial_cluster);
    if (learner.pid < 0)
        fail_msg("could not start the learner's etcd: %s", why);

    const char *list[] = {"member", "list", NULL};
    for (int64_t deadline = now_ms() + 30000; now_ms() < deadline; sleep_ms(50)) {
        out = etcdctl(list);
        /* etcdctl: "ID, started, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER" */
        bool started = strstr(out, ", started, learner, ") && strstr(out, learner.client_url);
        free(out);
        if (started)
            return;
    }
    fail_msg("the learner did not start (log: %s)", log);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void stop_learner(void)
{
    if (learner.pid > 0) {
        kill(learner.pid, SIGTERM);
        while (waitpid(learner.pid, NULL, 0) < 0 && errno == EINTR)
            ;
        learner.pid = -1;
    }
    if (learner.dir[0] && !getenv("EH_KEEP_LOGS"))
        nftw(learner.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    (void)state;
    itest_cluster = itest_start(NULL);
    return itest_cluster ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_learner();
    eh_cluster_stop(itest_cluster);
    return 0;
}

/* Whether the client's endpoints name host:port (names keep the spelling they came with, so
 * the scheme is left out of the comparison). */
static bool endpoints_contain(etcd_client *c, const char *url)
{
    const char *hostport = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
    char buf[1024];
    etcd_client_endpoints(c, buf, sizeof buf);
    return strstr(buf, hostport) != NULL;
}

/* A client that starts out with the learner among its endpoints drops it at the first sync and
 * never takes it back; every write then goes to a voting member. */
static void test_autosync_leaves_learner_out(void **state)
{
    (void)state;
    start_learner();
    char eps[256];
    snprintf(eps, sizeof eps, "%s,%s", eh_endpoints(itest_cluster), learner.client_url);
    etcd_config *cfg = itest_config(eps);
    assert_int_equal(etcd_config_set_auto_sync_interval_ms(cfg, 50), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    assert_true(endpoints_contain(c, learner.client_url));

    int64_t deadline = now_ms() + 10000;
    while (endpoints_contain(c, learner.client_url) && now_ms() < deadline)
        sleep_ms(10);
    assert_false(endpoints_contain(c, learner.client_url));
    assert_true(endpoints_contain(c, eh_member_endpoint(itest_cluster, 0)));

    /* Writes spread over many sync ticks: none reaches the learner. */
    etcd_kv *kv = etcd_client_kv(c);
    int64_t started = now_ms();
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "autosync/%d", i);
        etcd_response *r = NULL;
        etcd_error *err = NULL;
        ASSERT_OK(etcd_kv_put(kv, key, strlen(key), "v", 1, &r, &err), err);
        etcd_response_free(r);
        if (i % 20 == 19)
            sleep_ms(30);
        assert_false(endpoints_contain(c, learner.client_url));
    }
    assert_true(now_ms() - started > 150); /* at least three intervals went by */
    etcd_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_autosync_leaves_learner_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
