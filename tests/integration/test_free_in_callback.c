/*
 * etcd_client_free() called from a callback of its own client would wait for itself: the
 * library aborts with a message instead of hanging. The test runs itself again
 * (/proc/self/exe, with posix_spawn: gRPC has started, so no fork) in a mode that does exactly
 * that, and checks the child dies of SIGABRT with the message on stderr - in both dispatch
 * modes. A child that hangs is killed, and the test fails.
 *
 * The child needs no server: a call to a port nobody listens on fails at its deadline, and
 * that callback frees the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

#define MODE_THREAD "--free-in-thread-callback"
#define MODE_CALLER "--free-in-caller-callback"
#define EXPECTED "etcd_client_free() called from a callback"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the child ---- */

static void free_own_client(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    (void)code;
    etcd_response_free(resp);
    etcd_error_free(err);
    etcd_client_free(ud); /* must abort */
}

static int child(const char *mode)
{
    /* The abort is expected: no core file. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    bool caller = strcmp(mode, MODE_CALLER) == 0;
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", eh_free_port());
    etcd_config *cfg = etcd_config_new();
    etcd_config_set_endpoints(cfg, ep, NULL);
    etcd_config_set_dial_blocking(cfg, 0);
    if (caller)
        etcd_config_set_dispatch(cfg, ETCD_DISPATCH_CALLER);
    etcd_client *c = NULL;
    etcd_error *err = NULL;
    if (etcd_client_new(cfg, &c, &err) != ETCD_OK) {
        fprintf(stderr, "child: client_new failed: %s\n", etcd_error_message(err));
        return 2;
    }
    etcd_config_free(cfg);
    etcd_op *op = etcd_op_get("k", 1);
    etcd_op_set_timeout_ms(op, 100);
    if (etcd_kv_do_async(etcd_client_kv(c), op, free_own_client, c, NULL, &err) != ETCD_OK) {
        fprintf(stderr, "child: submit failed: %s\n", etcd_error_message(err));
        return 2;
    }
    etcd_op_free(op);
    if (caller) {
        for (int i = 0; i < 100; i++) {
            struct pollfd p = {.fd = etcd_client_fd(c), .events = POLLIN};
            poll(&p, 1, 100);
            etcd_client_dispatch(c);
        }
    } else {
        struct timespec ts = {10, 0}; /* the callback runs meanwhile, on the client's thread */
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "child: still alive after freeing the client from its callback\n");
    return 3;
}

/* ---- the parent ---- */

static void expect_abort(const char *mode)
{
    int pipefd[2];
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    char *argv[] = {"test_free_in_callback", (char *)mode, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0)
        fail_msg("posix_spawn /proc/self/exe: %s", strerror(rc));

    /* Collect stderr until the child closes it (it dies) or the time is up (it hangs). */
    char out[8192];
    size_t len = 0;
    int64_t end = now_ms() + 20000;
    for (;;) {
        int64_t left = end - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(pipefd[0], out + len, sizeof out - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof out - 1)
            break;
    }
    close(pipefd[0]);
    out[len] = 0;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < end) {
        struct timespec ts = {0, 10 * 1000 * 1000}; /* polling for the child's exit */
        nanosleep(&ts, NULL);
    }
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("%s: the child hung instead of aborting; its stderr: %s", mode, out);
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("%s: the child %s %d instead of dying of SIGABRT; its stderr: %s", mode,
                 WIFSIGNALED(status) ? "died of signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status)
                                                                                            : WEXITSTATUS(status),
                 out);
    if (!strstr(out, EXPECTED))
        fail_msg("%s: stderr lacks \"%s\": %s", mode, EXPECTED, out);
}

static void test_free_in_thread_callback_aborts(void **state)
{
    (void)state;
    expect_abort(MODE_THREAD);
}

static void test_free_in_caller_callback_aborts(void **state)
{
    (void)state;
    expect_abort(MODE_CALLER);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], MODE_THREAD) == 0 || strcmp(argv[1], MODE_CALLER) == 0))
        return child(argv[1]);
    eh_clear_proxy_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_in_thread_callback_aborts),
        cmocka_unit_test(test_free_in_caller_callback_aborts),
    };
    return cmocka_run_group_tests_name("free_in_callback", tests, NULL, NULL);
}
