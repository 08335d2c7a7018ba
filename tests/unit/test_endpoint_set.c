/*
 * The endpoint set: replacing keeps what did not change (channels, the round-robin turn) and,
 * when it fails, leaves the set as it was.
 *
 * Allocation failures are injected by linking with --wrap=calloc: the library's objects are
 * linked into this program, so their calloc calls come here first.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <grpc/grpc.h>

#include "unit.h"

#include "balancer/endpoint_parse.h"
#include "balancer/endpoints.h"

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int calloc_fail_at; /* 0: never; k: the k-th call from now fails */

void *__wrap_calloc(size_t n, size_t size)
{
    if (calloc_fail_at > 0 && --calloc_fail_at == 0)
        return NULL;
    return __real_calloc(n, size);
}

static const etcd_channel_settings settings = {.max_send_bytes = 1 << 20, .max_recv_bytes = 1 << 20};

/* Loopback ports nothing listens on: channels fail to connect at once, without any network,
 * and all end in the same state. */
#define A "127.0.0.1:1"
#define B "127.0.0.1:2"
#define C "127.0.0.1:3"
#define D "127.0.0.1:4"
/* The same targets, spelled as member lists spell them. */
#define A_URL "http://127.0.0.1:1"
#define B_URL "http://127.0.0.1:2/"
#define C_URL "http://127.0.0.1:3"

static etcd_code replace(etcd_endpoint_set *set, const char *list)
{
    etcd_endpoint_spec *specs;
    size_t n;
    etcd_error *err = NULL;
    etcd_code rc = etcd_endpoints_parse(list, &specs, &n, &err);
    if (rc != ETCD_OK)
        fail_msg("%s", etcd_error_message(err));
    rc = etcd_endpoint_set_replace(set, specs, n, &err);
    if (rc != ETCD_OK) {
        assert_non_null(err);
        assert_int_equal(etcd_error_code(err), rc);
    }
    etcd_error_free(err);
    etcd_endpoint_specs_free(specs, n);
    return rc;
}

static etcd_endpoint_set *set_of(const char *list)
{
    etcd_endpoint_set *set = etcd_endpoint_set_new(&settings);
    assert_non_null(set);
    assert_int_equal(replace(set, list), ETCD_OK);
    return set;
}

/* Picking ranks endpoints by channel state: wait until every channel has given up connecting,
 * so that picks follow the round robin alone. */
static void settle(etcd_endpoint_set *set)
{
    etcd_endpoint **eps;
    size_t n = etcd_endpoint_set_snapshot(set, &eps);
    /* A refused connect is only noticed while something polls the channel's sockets: watch the
     * channels on a queue of our own and drive it, as the client's loop would. */
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    bool settled = false;
    for (int round = 0; round < 500 && !settled; round++) {
        size_t failed = 0;
        for (size_t i = 0; i < n; i++) {
            grpc_connectivity_state st = grpc_channel_check_connectivity_state(eps[i]->channel, 1);
            failed += st == GRPC_CHANNEL_TRANSIENT_FAILURE;
            gpr_timespec soon = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(10, GPR_TIMESPAN));
            grpc_channel_watch_connectivity_state(eps[i]->channel, st, soon, cq, NULL);
        }
        for (size_t i = 0; i < n; i++)
            grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        settled = failed == n;
    }
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    etcd_endpoints_release(eps, n);
    if (!settled)
        fail_msg("channels did not reach TRANSIENT_FAILURE");
}

/* The name of the next pick (compared by pointer: names are the set's own strings). */
static const char *pick(etcd_endpoint_set *set)
{
    etcd_endpoint *ep = etcd_endpoint_set_pick(set, NULL, NULL);
    assert_non_null(ep);
    assert_non_null(ep->channel);
    const char *name = ep->name;
    etcd_endpoint_unref(ep);
    return name;
}

static void assert_names(etcd_endpoint_set *set, const char *want)
{
    char buf[512];
    etcd_endpoint_set_names(set, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* Round-robin over three: A B C A ... */
static void round_robin(void **state)
{
    (void)state;
    etcd_endpoint_set *set = set_of(A "," B "," C);
    settle(set);
    assert_string_equal(pick(set), A);
    assert_string_equal(pick(set), B);
    assert_string_equal(pick(set), C);
    assert_string_equal(pick(set), A);
    etcd_endpoint_set_free(set);
}

/* The same targets again, respelled and reordered (as auto-sync finds them every interval):
 * nothing changes, and the round robin goes on. */
static void same_set_changes_nothing(void **state)
{
    (void)state;
    etcd_endpoint_set *set = set_of(A "," B "," C);
    settle(set);
    etcd_endpoint **before;
    size_t n = etcd_endpoint_set_snapshot(set, &before);
    assert_string_equal(pick(set), A);
    for (int tick = 0; tick < 3; tick++) {
        assert_int_equal(replace(set, C_URL ", " A_URL "," B_URL), ETCD_OK);
        assert_int_equal(replace(set, B "," C "," A), ETCD_OK);
    }
    assert_string_equal(pick(set), B);
    assert_string_equal(pick(set), C);
    /* The same endpoints, channels and names as before. */
    assert_names(set, A "," B "," C);
    etcd_endpoint **after;
    assert_int_equal(etcd_endpoint_set_snapshot(set, &after), n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(after[i], before[i]);
    etcd_endpoints_release(after, n);
    etcd_endpoints_release(before, n);
    etcd_endpoint_set_free(set);
}

/* A real change keeps the kept endpoints' channels, and the turn stays with the endpoint that
 * had it when that one is kept. */
static void change_keeps_turn(void **state)
{
    (void)state;
    etcd_endpoint_set *set = set_of(A "," B "," C);
    settle(set);
    etcd_endpoint *b = etcd_endpoint_set_pick(set, NULL, NULL); /* A */
    etcd_endpoint_unref(b);
    assert_int_equal(replace(set, D "," C "," B), ETCD_OK);
    assert_names(set, D "," C "," B);
    settle(set);
    assert_string_equal(pick(set), B); /* B had the turn */
    assert_string_equal(pick(set), D);
    etcd_endpoint_set_free(set);
}

/* Every allocation of a replacement failing in turn: the set stays whole and keeps picking. */
static void failed_replace_leaves_set_intact(void **state)
{
    (void)state;
    etcd_endpoint_set *set = set_of(A "," B);
    settle(set);
    etcd_endpoint **before;
    size_t n = etcd_endpoint_set_snapshot(set, &before);
    int failures = 0;
    for (int k = 1;; k++) {
        etcd_endpoint_spec *specs;
        size_t ns;
        etcd_error *err = NULL;
        assert_int_equal(etcd_endpoints_parse(B "," C "," D, &specs, &ns, &err), ETCD_OK);
        calloc_fail_at = k;
        etcd_code rc = etcd_endpoint_set_replace(set, specs, ns, &err);
        bool injected = calloc_fail_at == 0;
        calloc_fail_at = 0;
        etcd_endpoint_specs_free(specs, ns);
        if (!injected) {
            assert_int_equal(rc, ETCD_OK);
            break;
        }
        failures++;
        assert_int_equal(rc, ETCD_E_NOMEM);
        assert_int_equal(etcd_error_code(err), ETCD_E_NOMEM);
        assert_contains(etcd_error_message(err), "out of memory");
        etcd_error_free(err);
        /* As it was: same endpoints, all usable. */
        assert_int_equal(etcd_endpoint_set_count(set), 2);
        assert_names(set, A "," B);
        etcd_endpoint **now;
        assert_int_equal(etcd_endpoint_set_snapshot(set, &now), n);
        for (size_t i = 0; i < n; i++)
            assert_ptr_equal(now[i], before[i]);
        etcd_endpoints_release(now, n);
        for (int i = 0; i < 4; i++)
            pick(set);
    }
    /* The array and the two new endpoints: every one of them was made to fail once. */
    assert_int_equal(failures, 3);
    assert_names(set, B "," C "," D);
    for (int i = 0; i < 6; i++)
        pick(set);
    etcd_endpoints_release(before, n);
    etcd_endpoint_set_free(set);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_robin),
        cmocka_unit_test(same_set_changes_nothing),
        cmocka_unit_test(change_keeps_turn),
        cmocka_unit_test(failed_replace_leaves_set_intact),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return rc;
}
