/*
 * How often a call is tried, where, and how a cancel ends its waits. One etcd member plus a
 * learner started here: a learner answers linearizable gets and every write at once with
 * "etcdserver: rpc not supported for learner", a retryable UNAVAILABLE, and is otherwise a
 * healthy member. It runs with debug logging, which writes one "request stats" line per call
 * it answers: that counts attempts (etcd's call metrics do not see calls it refuses that early).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "itest.h"
#include "server_counts.h"

static pid_t learner_pid = -1;
static char learner_dir[256];
static char learner_log[320];
static char learner_ep[64];

static const char range_line[] = "\"response type\":\"/etcdserverpb.KV/Range\"";
static const char txn_line[] = "\"response type\":\"/etcdserverpb.KV/Txn\"";
static const char put_line[] = "\"response type\":\"/etcdserverpb.KV/Put\"";

static long learner_calls(const char *line)
{
    return sc_log_count(learner_log, line);
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void stop_learner(void)
{
    if (learner_pid > 0) {
        kill(learner_pid, SIGKILL);
        while (waitpid(learner_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        learner_pid = -1;
    }
    if (learner_dir[0]) {
        nftw(learner_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        learner_dir[0] = 0;
    }
}

/* The value of NAME="..." in etcdctl's member add output, or NULL. */
static char *env_value(const char *out, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "%s=\"", name);
    const char *p = strstr(out, want);
    if (!p)
        return NULL;
    p += strlen(want);
    const char *q = strchr(p, '"');
    return q ? strndup(p, (size_t)(q - p)) : NULL;
}

/* Adds a learner to the cluster and starts its etcd; it dies with this process. */
static int start_learner(void)
{
    int client_port = eh_free_port(), peer_port = eh_free_port();
    while (peer_port == client_port)
        peer_port = eh_free_port();
    if (client_port < 0 || peer_port < 0)
        return -1;
    char peer_url[64], client_url[64], peer_flag[96];
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer_port);
    snprintf(client_url, sizeof client_url, "http://127.0.0.1:%d", client_port);
    snprintf(learner_ep, sizeof learner_ep, "127.0.0.1:%d", client_port);
    snprintf(peer_flag, sizeof peer_flag, "--peer-urls=%s", peer_url);
    const char *add[] = {"member", "add", "learner", "--learner", peer_flag, NULL};
    char *out = NULL, *errout = NULL;
    int st = -1;
    if (eh_etcdctl(itest_cluster, add, NULL, 0, &out, NULL, &errout, NULL, &st) != 0 || st != 0) {
        fprintf(stderr, "member add --learner failed (%d): %s %s\n", st, out ? out : "", errout ? errout : "");
        free(out);
        free(errout);
        return -1;
    }
    char *initial = env_value(out, "ETCD_INITIAL_CLUSTER");
    free(out);
    free(errout);
    if (!initial)
        return -1;
    snprintf(learner_dir, sizeof learner_dir, "%s/etcdc-learner-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(learner_dir)) {
        learner_dir[0] = 0;
        free(initial);
        return -1;
    }
    char data_dir[300];
    snprintf(data_dir, sizeof data_dir, "%s/data", learner_dir);
    snprintf(learner_log, sizeof learner_log, "%s/etcd.log", learner_dir);
    const char *etcd = getenv("EH_ETCD") && *getenv("EH_ETCD") ? getenv("EH_ETCD") : "/usr/bin/etcd";
    char *const argv[] = {
        (char *)etcd, "--name", "learner", "--data-dir", data_dir, "--listen-client-urls", client_url,
        "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls",
        peer_url, "--initial-cluster", initial, "--initial-cluster-state", "existing", "--logger", "zap",
        "--log-outputs", learner_log, "--log-level", "debug", NULL};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = getpid();
    /* gRPC threads may run here: the child makes only async-signal-safe calls before exec. */
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(etcd, argv);
        _exit(127);
    }
    close(devnull);
    free(initial);
    if (pid < 0)
        return -1;
    learner_pid = pid;
    return 0;
}

/* A client for `endpoints` trying each call at most `attempts` times, waiting backoff_ms. */
static etcd_client *retry_client(const char *endpoints, int attempts, int64_t backoff_ms)
{
    etcd_config *cfg = itest_config(endpoints);
    assert_int_equal(etcd_config_set_retry(cfg, attempts, backoff_ms, 0), ETCD_OK);
    return itest_client_from(cfg);
}

/* One get with its own timeout; the error, if any, goes to *err. */
static etcd_code get_with_timeout(etcd_kv *kv, const char *key, int64_t ms, etcd_error **err)
{
    etcd_op *op = etcd_op_get(key, strlen(key));
    etcd_op_set_timeout_ms(op, ms);
    etcd_response *r = NULL;
    etcd_code rc = etcd_kv_do(kv, op, &r, err);
    etcd_op_free(op);
    etcd_response_free(r);
    return rc;
}

/* The learner counts as started once it refuses a linearizable get as a learner. */
static int wait_learner_refuses(void)
{
    etcd_config *cfg = etcd_config_new();
    etcd_config_set_endpoints(cfg, learner_ep, NULL);
    etcd_config_set_dial_blocking(cfg, 0);
    etcd_config_set_retry(cfg, 1, 0, 0);
    etcd_client *c = NULL;
    etcd_code rc = etcd_client_new(cfg, &c, NULL);
    etcd_config_free(cfg);
    if (rc != ETCD_OK)
        return -1;
    int64_t until = sc_now_ms() + 30000;
    rc = ETCD_OK;
    while (rc != ETCD_E_NOT_SUPPORTED_FOR_LEARNER && sc_now_ms() < until) {
        rc = get_with_timeout(etcd_client_kv(c), "learner-ready", 500, NULL);
        if (rc != ETCD_E_NOT_SUPPORTED_FOR_LEARNER)
            sc_sleep_ms(50); /* polling: the learner is still catching up */
    }
    etcd_client_free(c);
    return rc == ETCD_E_NOT_SUPPORTED_FOR_LEARNER ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    itest_cluster = itest_start(NULL);
    if (!itest_cluster)
        return -1;
    if (start_learner() != 0 || wait_learner_refuses() != 0) {
        fprintf(stderr, "the learner did not start; log: %s\n", learner_log);
        stop_learner();
        eh_cluster_stop(itest_cluster);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_learner();
    eh_cluster_stop(itest_cluster);
    return 0;
}

static void expect_learner_refusal(etcd_code rc, etcd_error *err)
{
    if (rc != ETCD_E_NOT_SUPPORTED_FOR_LEARNER)
        fail_msg("got %s: %s", etcd_code_name(rc), err ? etcd_error_message(err) : "-");
    assert_int_equal(etcd_error_outcome(err), ETCD_OUTCOME_NOT_APPLIED);
    assert_int_equal(etcd_error_grpc_status(err), 14);
    assert_string_equal(etcd_error_server_message(err), "etcdserver: rpc not supported for learner");
}

static void test_max_attempts_is_honoured(void **state)
{
    (void)state;
    for (int attempts = 1; attempts <= 3; attempts += 2) {
        etcd_client *c = retry_client(learner_ep, attempts, 0);
        long before = learner_calls(range_line);
        etcd_error *err = NULL;
        /* The learner answers at once, so the attempts run out long before the deadline. */
        etcd_code rc = get_with_timeout(etcd_client_kv(c), "rb/max", 10000, &err);
        long calls = learner_calls(range_line) - before;
        print_message("MAX-ATTEMPTS max=%d calls=%ld\n", attempts, calls);
        expect_learner_refusal(rc, err);
        assert_int_equal(etcd_error_cause(err), ETCD_E_NOT_SUPPORTED_FOR_LEARNER);
        etcd_error_free(err);
        assert_int_equal(calls, attempts);
        etcd_client_free(c);
    }
}

static void test_writes_are_sent_once(void **state)
{
    (void)state;
    etcd_client *c = retry_client(learner_ep, 3, 0);
    etcd_kv *kv = etcd_client_kv(c);
    etcd_response *r = NULL;
    etcd_error *err = NULL;

    long before = learner_calls(put_line);
    etcd_code rc = etcd_kv_put(kv, "rb/once", 7, "v", 1, &r, &err);
    expect_learner_refusal(rc, err);
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(learner_calls(put_line) - before, 1);

    /* A txn that writes only in its else branch is a write: one try, though the answer is a
     * retryable one. */
    etcd_txn *t = etcd_txn_new();
    etcd_txn_if(t, etcd_cmp_value("rb/once", 7, ETCD_CMP_EQUAL, "no such value", 13));
    etcd_txn_then(t, etcd_op_get("rb/once", 7));
    etcd_txn_else(t, etcd_op_put("rb/once", 7, "w", 1));
    before = learner_calls(txn_line);
    rc = etcd_kv_txn(kv, t, &r, &err);
    etcd_txn_free(t);
    expect_learner_refusal(rc, err);
    etcd_error_free(err);
    err = NULL;
    assert_int_equal(learner_calls(txn_line) - before, 1);

    /* Gets in both branches: a read, tried as often as a get. */
    t = etcd_txn_new();
    etcd_txn_if(t, etcd_cmp_value("rb/once", 7, ETCD_CMP_EQUAL, "no such value", 13));
    etcd_txn_then(t, etcd_op_get("rb/once", 7));
    etcd_txn_else(t, etcd_op_get("rb/other", 8));
    before = learner_calls(txn_line);
    rc = etcd_kv_txn(kv, t, &r, &err);
    etcd_txn_free(t);
    expect_learner_refusal(rc, err);
    etcd_error_free(err);
    assert_int_equal(learner_calls(txn_line) - before, 3);
    etcd_client_free(c);
}

typedef struct done_flag {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    etcd_code code;
    etcd_error *err;
    int64_t at_ms;
} done_flag;

static void on_done(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    done_flag *d = ud;
    etcd_response_free(resp);
    pthread_mutex_lock(&d->mu);
    d->code = code;
    d->err = err;
    d->at_ms = sc_now_ms();
    d->done = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static bool wait_done(done_flag *d, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000 + 1;
    pthread_mutex_lock(&d->mu);
    while (!d->done && pthread_cond_timedwait(&d->cv, &d->mu, &until) == 0)
        ;
    bool done = d->done;
    pthread_mutex_unlock(&d->mu);
    return done;
}

static void test_cancel_ends_backoff_at_once(void **state)
{
    (void)state;
    /* One endpoint: a backoff of 5 s follows every failed try. */
    etcd_client *c = retry_client(learner_ep, 100, 5000);
    done_flag d = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, ETCD_OK, NULL, 0};
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    long before = learner_calls(range_line);
    etcd_op *op = etcd_op_get("rb/cancel", 9);
    etcd_op_set_timeout_ms(op, 30000);
    int64_t t0 = sc_now_ms();
    ASSERT_OK(etcd_kv_do_async(etcd_client_kv(c), op, on_done, &d, &call, &err), err);
    etcd_op_free(op);
    while (learner_calls(range_line) == before && sc_now_ms() - t0 < 10000)
        sc_sleep_ms(10); /* polling the learner's log */
    assert_int_equal(learner_calls(range_line) - before, 1);
    /* The refusal was written before it was sent; give it time to reach the client, which then
     * waits 5 s: cancelling anywhere in that wait is what is tested. */
    sc_sleep_ms(300);
    pthread_mutex_lock(&d.mu);
    bool early = d.done;
    pthread_mutex_unlock(&d.mu);
    assert_false(early);
    int64_t cancelled_at = sc_now_ms();
    etcd_call_cancel(call);
    assert_true(wait_done(&d, 10000));
    etcd_call_release(call);
    int64_t took = d.at_ms - cancelled_at;
    print_message("CANCEL-IN-BACKOFF callback_after_ms=%lld cause=%s\n", (long long)took,
                  etcd_code_name(etcd_error_cause(d.err)));
    assert_int_equal(etcd_error_cause(d.err), ETCD_E_CANCELLED); /* a cancellation is its own cause */
    if (d.code != ETCD_E_CANCELLED)
        fail_msg("got %s: %s", etcd_code_name(d.code), d.err ? etcd_error_message(d.err) : "-");
    assert_int_equal(etcd_error_outcome(d.err), ETCD_OUTCOME_NOT_APPLIED);
    assert_true(took < 1000);
    /* No second try was made. */
    assert_int_equal(learner_calls(range_line) - before, 1);
    etcd_error_free(d.err);
    etcd_client_free(c);
}

#define READERS 4
#define READS_EACH 50

typedef struct reader_job {
    etcd_kv *kv;
    int failures;
    char first_failure[512];
} reader_job;

static void *reader(void *arg)
{
    reader_job *j = arg;
    for (int i = 0; i < READS_EACH; i++) {
        etcd_error *err = NULL;
        etcd_code rc = get_with_timeout(j->kv, "rb/avoid", 10000, &err);
        if (rc != ETCD_OK && j->failures++ == 0)
            snprintf(j->first_failure, sizeof j->first_failure, "%s: %s", etcd_code_name(rc),
                     err ? etcd_error_message(err) : "-");
        etcd_error_free(err);
    }
    return NULL;
}

static void test_retry_avoids_failed_endpoint(void **state)
{
    (void)state;
    char eps[160];
    snprintf(eps, sizeof eps, "%s,%s", learner_ep, eh_member_endpoint(itest_cluster, 0));
    /* Two tries: a get that meets the learner first must take its second one elsewhere, also
     * while other threads' gets move the round-robin on. */
    etcd_client *c = retry_client(eps, 2, 0);
    int voter_port = eh_member_client_port(itest_cluster, 0);
    long voter_before = sc_kv_calls(voter_port, "Range");
    assert_true(voter_before >= 0);
    long before = learner_calls(range_line);
    reader_job jobs[READERS];
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].kv = etcd_client_kv(c);
        pthread_create(&th[i], NULL, reader, &jobs[i]);
    }
    int failures = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].failures && !failures)
            print_message("first failure: %s\n", jobs[i].first_failure);
        failures += jobs[i].failures;
    }
    long calls = learner_calls(range_line) - before;
    long voter_calls = sc_kv_calls(voter_port, "Range") - voter_before;
    print_message("AVOID gets=%d failures=%d learner_calls=%ld voter_calls=%ld\n", READERS * READS_EACH, failures,
                  calls, voter_calls);
    assert_int_equal(failures, 0);
    /* Each get was served once, by the voting member. */
    assert_int_equal(voter_calls, READERS * READS_EACH);
    /* The learner was in the rotation, and met at most once per get. */
    assert_true(calls > 0);
    assert_true(calls <= READERS * READS_EACH);
    etcd_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_attempts_is_honoured),
        cmocka_unit_test(test_writes_are_sent_once),
        cmocka_unit_test(test_cancel_ends_backoff_at_once),
        cmocka_unit_test(test_retry_avoids_failed_endpoint),
    };
    return cmocka_run_group_tests_name("retry_behaviour", tests, setup, teardown);
}
