/*
 * Connecting: over a slow link, to a name that does not resolve, to a server that starts after
 * the client, with timeouts too large to add to a clock, and over unix sockets and IPv6.
 *
 * Some tests need an etcd on an address the harness does not offer (a port chosen before etcd
 * runs, [::1], a unix socket): those start one by hand ("solo"), in a temporary directory that
 * is also its working directory, and kill it at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "itest.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void assert_message_has(const etcd_error *err, const char *what)
{
    if (!strstr(etcd_error_message(err), what))
        fail_msg("message \"%s\" does not mention \"%s\"", etcd_error_message(err), what);
}

/* ---- an etcd started by hand on addresses of our choosing ---- */

typedef struct solo {
    char dir[256];
    pid_t pid;
} solo;

static solo *running_solo; /* killed at exit too, should a test fail before stopping it */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void solo_stop(solo *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
    if (s->dir[0] && !getenv("EH_KEEP_LOGS"))
        nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = 0;
    if (running_solo == s)
        running_solo = NULL;
}

static void solo_atexit(void)
{
    if (running_solo)
        solo_stop(running_solo);
}

/* Makes the solo's directory, where its data, log and unix socket live. */
static void solo_init(solo *s)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/etcdc-connect-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir))
        fail_msg("mkdtemp %s: %s", s->dir, strerror(errno));
    s->pid = -1;
}

/* Starts etcd serving clients on `listen` (etcd's --listen-client-urls) and returns at once;
 * the test's own client waits for it. */
static void solo_start(solo *s, const char *listen, const char *advertise)
{
    static bool registered;
    if (!registered) {
        atexit(solo_atexit);
        registered = true;
    }
    int peer = eh_free_port();
    assert_true(peer > 0);
    char peer_url[64], initial[96], log[300];
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer);
    snprintf(initial, sizeof initial, "solo=%s", peer_url);
    snprintf(log, sizeof log, "%s/etcd.log", s->dir);
    char *argv[] = {"etcd", "--name", "solo", "--data-dir", "data", "--listen-client-urls", (char *)listen,
                    "--advertise-client-urls", (char *)advertise, "--listen-peer-urls", peer_url,
                    "--initial-advertise-peer-urls", peer_url, "--initial-cluster", initial, "--logger", "zap",
                    "--log-outputs", "stderr", NULL};
    /* Relative unix socket names (etcd accepts only host:port forms) land in its directory. */
    char why[256];
    s->pid = eh_spawn_etcd(argv, s->dir, log, why, sizeof why);
    if (s->pid < 0)
        fail_msg("starting etcd: %s", why);
    running_solo = s;
}

/* A free port on [::1], or a test failure that says the machine has no IPv6 loopback. */
static int free_port6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        fail_msg("no IPv6 here (socket(AF_INET6): %s): the IPv6 endpoint cannot be tested", strerror(errno));
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        int e = errno;
        close(fd);
        fail_msg("no IPv6 loopback here (bind [::1]: %s): the IPv6 endpoint cannot be tested", strerror(e));
    }
    close(fd);
    return ntohs(a.sin6_port);
}

/* ---- group fixture: one harness member, for the tests that need a plain server ---- */

static int setup(void **state)
{
    (void)state;
    itest_cluster = itest_start(NULL);
    return itest_cluster ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    eh_cluster_stop(itest_cluster);
    return 0;
}

/* Puts then gets `key` on kv, each with its own deadline; fails the test on any error. */
static void put_get(etcd_kv *kv, const char *key, const char *value, int64_t timeout_ms)
{
    etcd_error *err = NULL;
    etcd_op *op = etcd_op_put(key, strlen(key), value, strlen(value));
    etcd_op_set_timeout_ms(op, timeout_ms);
    etcd_response_free(itest_do(kv, op));
    op = etcd_op_get(key, strlen(key));
    etcd_op_set_timeout_ms(op, timeout_ms);
    etcd_response *r = NULL;
    ASSERT_OK(etcd_kv_do(kv, op, &r, &err), err);
    etcd_op_free(op);
    assert_int_equal(etcd_response_kv_count(r), 1);
    size_t n;
    const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
    assert_int_equal(n, strlen(value));
    assert_memory_equal(v, value, n);
    etcd_response_free(r);
}

/* Async result holder, signalled when the callback ran. */
typedef struct result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ran;
    etcd_code code;
    char value[32];
    char message[512];
} result;

static void result_init(result *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void on_result(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    result *r = ud;
    pthread_mutex_lock(&r->mu);
    r->ran++;
    r->code = code;
    if (resp && etcd_response_kv_count(resp) == 1) {
        size_t n;
        const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(resp, 0), &n);
        memcpy(r->value, v, n < sizeof r->value - 1 ? n : sizeof r->value - 1);
    }
    if (err)
        snprintf(r->message, sizeof r->message, "%s", etcd_error_message(err));
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

/* Waits until the callback ran, at most timeout_ms; returns how many times it ran. */
static int result_wait(result *r, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->mu);
    while (r->ran == 0 && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
        ;
    int ran = r->ran;
    pthread_mutex_unlock(&r->mu);
    return ran;
}

static void test_slow_link(void **state)
{
    (void)state;
    /* About 2.6 s per round trip, so the HTTP/2 handshake takes longer than any connect
     * attempt would be allowed if gRPC's minimum connect time were lowered to 100 ms (each
     * attempt would then get only its reconnect backoff: at most 2 s plus 20 % jitter). */
    fp_proxy *p;
    assert_int_equal(fp_start(eh_member_client_port(itest_cluster, 0), &p), 0);
    fp_set_mode(p, FP_DELAY);
    fp_set_delay_ms(p, 1300);
    etcd_config *cfg = itest_config(fp_endpoint(p));
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, 15000), ETCD_OK);
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, 60000), ETCD_OK);
    int64_t t0 = now_ms();
    etcd_client *c = itest_client_from(cfg);
    int64_t dial = now_ms() - t0;
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    t0 = now_ms();
    ASSERT_OK(etcd_kv_get(etcd_client_kv(c), "slow", 4, &r, &err), err);
    int64_t get = now_ms() - t0;
    etcd_response_free(r);
    print_message("SLOW-LINK dial_ms=%lld get_ms=%lld\n", (long long)dial, (long long)get);
    /* The link really was slow: the get took at least one delayed round trip. */
    assert_true(get >= 2000);
    etcd_client_free(c);
    fp_stop(p);
}

static void test_unresolvable_host(void **state)
{
    (void)state;
    etcd_config *cfg = itest_config("no-such-host.invalid:2379");
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    etcd_client *c = itest_client_from(cfg);
    etcd_kv *kv = etcd_client_kv(c);
    etcd_response *r = (etcd_response *)&r;
    etcd_error *err = NULL;

    /* A write that never found a connection was never sent: a definite failure at its deadline. */
    etcd_op *op = etcd_op_put("dns", 3, "v", 1);
    etcd_op_set_timeout_ms(op, 500);
    int64_t t0 = now_ms();
    etcd_code rc = etcd_kv_do(kv, op, &r, &err);
    int64_t took = now_ms() - t0;
    etcd_op_free(op);
    assert_null(r);
    if (rc != ETCD_E_DEADLINE)
        fail_msg("put returned %s, expected ETCD_E_DEADLINE: %s", etcd_code_name(rc), err ? etcd_error_message(err) : "-");
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_grpc_status(err), -1);
    assert_message_has(err, "no-such-host.invalid:2379");
    assert_true(took >= 500 - 2 && took < 500 + 3000);
    etcd_error_free(err);
    err = NULL;

    /* A read waits for a connection until its deadline too, rather than failing "unavailable"
     * as soon as the name does not resolve. */
    op = etcd_op_get("dns", 3);
    etcd_op_set_timeout_ms(op, 700);
    t0 = now_ms();
    rc = etcd_kv_do(kv, op, &r, &err);
    took = now_ms() - t0;
    etcd_op_free(op);
    if (rc != ETCD_E_DEADLINE)
        fail_msg("get returned %s after %lld ms, expected ETCD_E_DEADLINE: %s", etcd_code_name(rc), (long long)took,
                 err ? etcd_error_message(err) : "-");
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_true(took >= 700 - 2 && took < 700 + 3000);
    etcd_error_free(err);
    etcd_client_free(c);
}

static void test_timeouts_saturate(void **state)
{
    (void)state;
    /* A dial timeout too far away to add to the clock means "wait as long as it takes". */
    etcd_config *cfg = itest_config(NULL);
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, INT64_MAX), ETCD_OK);
    assert_int_equal(etcd_config_set_request_timeout_ms(cfg, INT64_MAX), ETCD_OK);
    int64_t t0 = now_ms();
    etcd_client *c = itest_client_from(cfg);
    assert_true(now_ms() - t0 < 5000);
    /* Calls under the client's INT64_MAX request timeout. */
    etcd_kv *kv = etcd_client_kv(c);
    itest_put_string(kv, "sat/client", "v");
    char *s = itest_get_string(kv, "sat/client");
    assert_string_equal(s, "v");
    free(s);
    etcd_client_free(c);

    /* An op's own INT64_MAX timeout on a client with the default one. */
    c = itest_client(NULL);
    put_get(etcd_client_kv(c), "sat/op", "w", INT64_MAX);
    /* ...also async. */
    etcd_op *op = etcd_op_get("sat/op", 6);
    etcd_op_set_timeout_ms(op, INT64_MAX);
    result r;
    result_init(&r);
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_do_async(etcd_client_kv(c), op, on_result, &r, NULL, &err), err);
    etcd_op_free(op);
    assert_int_equal(result_wait(&r, 30000), 1);
    if (r.code != ETCD_OK)
        fail_msg("async get with an INT64_MAX timeout failed with %s: %s", etcd_code_name(r.code), r.message);
    assert_string_equal(r.value, "w");
    etcd_client_free(c);
}

static void test_client_before_server(void **state)
{
    (void)state;
    int port = eh_free_port();
    assert_true(port > 0);
    char ep[64], url[80];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", port);
    snprintf(url, sizeof url, "http://%s", ep);
    etcd_error *err = NULL;
    etcd_client *c = NULL;

    /* Blocking (the default): nothing listens, so the dial fails after its timeout. */
    etcd_config *cfg = itest_config(ep);
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, 1000), ETCD_OK);
    int64_t t0 = now_ms();
    assert_int_equal(etcd_client_new(cfg, &c, &err), ETCD_E_DEADLINE);
    int64_t took = now_ms() - t0;
    assert_null(c);
    assert_true(took >= 1000 - 2 && took < 1000 + 3000);
    assert_message_has(err, ep);
    etcd_error_free(err);
    err = NULL;

    /* Non-blocking: the client exists at once, and a get submitted now waits for the server. */
    assert_int_equal(etcd_config_set_dial_blocking(cfg, 0), ETCD_OK);
    t0 = now_ms();
    ASSERT_OK(etcd_client_new(cfg, &c, &err), err);
    took = now_ms() - t0;
    etcd_config_free(cfg);
    assert_true(took < 1000);
    result r;
    result_init(&r);
    etcd_op *op = etcd_op_get("early", 5);
    etcd_op_set_timeout_ms(op, 60000);
    ASSERT_OK(etcd_kv_do_async(etcd_client_kv(c), op, on_result, &r, NULL, &err), err);
    etcd_op_free(op);

    solo s;
    solo_init(&s);
    solo_start(&s, url, url);
    if (result_wait(&r, 60000) != 1)
        fail_msg("the get submitted before the server started did not finish");
    if (r.code != ETCD_OK)
        fail_msg("the get submitted before the server started failed with %s: %s", etcd_code_name(r.code), r.message);
    /* The same client goes on working. */
    put_get(etcd_client_kv(c), "early", "later", 10000);
    etcd_client_free(c);
    solo_stop(&s);
}

static void test_unix_and_ipv6_endpoints(void **state)
{
    (void)state;
    int port6 = free_port6();
    solo s;
    solo_init(&s);
    /* etcd takes unix listen URLs in host:port form only: a socket file named "etcd.sock:1" in
     * its working directory, which the client reaches by its absolute path. */
    char listen[128], advertise[64], unix_ep[512], ipv6_ep[64];
    snprintf(listen, sizeof listen, "http://[::1]:%d,unix://etcd.sock:1", port6);
    snprintf(advertise, sizeof advertise, "http://[::1]:%d", port6);
    snprintf(unix_ep, sizeof unix_ep, "unix://%s/etcd.sock:1", s.dir);
    snprintf(ipv6_ep, sizeof ipv6_ep, "[::1]:%d", port6);
    solo_start(&s, listen, advertise);

    /* The unix client's dial waits out etcd's start. */
    etcd_config *cfg = itest_config(unix_ep);
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, 30000), ETCD_OK);
    etcd_client *cu = itest_client_from(cfg);
    put_get(etcd_client_kv(cu), "via/unix", "u", 10000);

    cfg = itest_config(ipv6_ep);
    assert_int_equal(etcd_config_set_dial_timeout_ms(cfg, 10000), ETCD_OK);
    etcd_client *c6 = itest_client_from(cfg);
    put_get(etcd_client_kv(c6), "via/ipv6", "6", 10000);
    /* Both reach the same server: each reads what the other wrote. */
    char *v = itest_get_string(etcd_client_kv(c6), "via/unix");
    assert_non_null(v);
    assert_string_equal(v, "u");
    free(v);
    v = itest_get_string(etcd_client_kv(cu), "via/ipv6");
    assert_non_null(v);
    assert_string_equal(v, "6");
    free(v);
    etcd_client_free(c6);
    etcd_client_free(cu);
    solo_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_link),
        cmocka_unit_test(test_unresolvable_host),
        cmocka_unit_test(test_timeouts_saturate),
        cmocka_unit_test(test_client_before_server),
        cmocka_unit_test(test_unix_and_ipv6_endpoints),
    };
    return cmocka_run_group_tests_name("connect", tests, setup, teardown);
}
