/*
 * Kept leases against a real 3-member cluster, each member behind a fault proxy, while the
 * member serving the keepalive stream is killed, black-holed or restarted, and while the leader
 * moves: no lease may be lost and their keys stay. With every member out of reach for longer
 * than the TTL, every kept lease is reported lost exactly once, at its local expiry, and is
 * never renewed after. Measured gaps are printed ("LEASE-FAILOVER ...").
 */
#include <stdbool.h>

#include "proxied_cluster.h"
#include "lease_log.h"

#define TTL 5
#define KEPT 20

/* The leases under test, the client that keeps them (through the proxies) and one that checks
 * them (directly, so the proxies' faults do not touch it). */
typedef struct scene {
    etcd_client *keeper, *checker;
    lease_log *g;
    int64_t ids[KEPT];
    char prefix[32];
} scene;

static void scene_start(scene *s, const char *name)
{
    memset(s, 0, sizeof *s);
    snprintf(s->prefix, sizeof s->prefix, "lf/%s/", name);
    s->checker = itest_client(eh_endpoints(itest_cluster));
    etcd_config *cfg = itest_config(pc_proxy_list);
    /* Short keepalive, as etcd allows here: a silent member is noticed within about 2 s. */
    assert_int_equal(etcd_config_set_keepalive(cfg, 1000, 1000), ETCD_OK);
    s->keeper = itest_client_from(cfg);
    grant_many(etcd_client_lease(s->checker), KEPT, TTL, s->ids);
    for (int i = 0; i < KEPT; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s%d", s->prefix, i);
        etcd_op *op = etcd_op_put(key, strlen(key), "v", 1);
        assert_int_equal(etcd_op_with_lease(op, s->ids[i]), ETCD_OK);
        etcd_response_free(itest_do(etcd_client_kv(s->checker), op));
    }
    s->g = lease_log_new(KEPT, NULL);
    keep_all(etcd_client_lease(s->keeper), s->g, s->ids, 1, true);
    int once = 1;
    assert_true(lease_log_wait(s->g, pred_each_renewed, &once, 10000));
}

/* The member that answered the latest renewal: the one serving the keepalive stream. */
static int serving_member(scene *s)
{
    pthread_mutex_lock(&s->g->mu);
    int64_t latest = 0;
    uint64_t m = 0;
    for (int i = 0; i < KEPT; i++)
        if (s->g->e[i].last_renew_ms >= latest) {
            latest = s->g->e[i].last_renew_ms;
            m = s->g->e[i].member;
        }
    pthread_mutex_unlock(&s->g->mu);
    return pc_member_known(m);
}

static int count_keys(scene *s)
{
    etcd_op *op = etcd_op_get(s->prefix, strlen(s->prefix));
    etcd_op_with_prefix(op);
    etcd_op_with_count_only(op);
    etcd_response *r = itest_do(etcd_client_kv(s->checker), op);
    int n = (int)etcd_response_count(r);
    etcd_response_free(r);
    return n;
}

typedef struct moved {
    uint64_t away_from;         /* member ID the renewals must no longer come from; 0: any */
    int base[KEPT];             /* renewal counts when the fault began */
    int more;                   /* renewals each lease needs after that */
} moved;

static bool pred_renewed_elsewhere(lease_log *g, void *arg)
{
    moved *m = arg;
    for (int i = 0; i < g->n; i++)
        if (g->e[i].renewals < m->base[i] + m->more || (m->away_from && g->e[i].member == m->away_from))
            return false;
    return true;
}

static void moved_init(moved *m, scene *s, uint64_t away_from, int more)
{
    m->away_from = away_from;
    m->more = more;
    pthread_mutex_lock(&s->g->mu);
    for (int i = 0; i < KEPT; i++)
        m->base[i] = s->g->e[i].renewals;
    pthread_mutex_unlock(&s->g->mu);
}

/* After a fault at t_fault: every lease renewed again (by another member when away_from is set)
 * and still alive a TTL later, when a lease etcd had let go would be gone; prints the gap. */
static void expect_survived(scene *s, const char *what, int64_t t_fault, moved *m)
{
    if (!lease_log_wait(s->g, pred_renewed_elsewhere, m, 4 * TTL * 1000))
        fail_msg("%s: kept leases were not renewed again (finals %d, first: %s)", what, log_finals(s->g),
                 log_finals(s->g) ? s->g->e[0].final_msg : "-");
    int64_t recovered = sc_now_ms() - t_fault;
    int64_t until = t_fault + TTL * 1000 + 1000;
    if (sc_now_ms() < until)
        lease_log_run_for(s->g, until - sc_now_ms());
    int64_t gap = lease_log_max_gap(s->g);
    print_message("LEASE-FAILOVER %s: renewed %d more times%s within %lld ms, max gap between renewals %lld ms\n",
                  what, m->more, m->away_from ? " by another member" : "", (long long)recovered, (long long)gap);
    if (log_finals(s->g))
        fail_msg("%s: %d kept leases ended; lease %lld: %s", what, log_finals(s->g), (long long)s->g->e[0].id,
                 s->g->e[0].final_msg);
    assert_no_violation(s->g);
    assert_true(gap < TTL * 1000);
    assert_int_equal(count_keys(s), KEPT);
    assert_int_equal(count_alive(etcd_client_lease(s->checker), KEPT, s->ids), KEPT);
}

static void scene_end(scene *s)
{
    for (int i = 0; i < KEPT; i++)
        etcd_call_release(s->g->e[i].call);
    etcd_client_free(s->keeper);
    /* Closing ends the rest, once each. */
    assert_int_equal(log_finals(s->g), KEPT);
    assert_no_violation(s->g);
    /* A lease may have run out on the server already. */
    for (int i = 0; i < KEPT; i++) {
        etcd_response *r = NULL;
        etcd_code rc = etcd_lease_revoke(etcd_client_lease(s->checker), s->ids[i], &r, NULL);
        assert_true(rc == ETCD_OK || rc == ETCD_E_LEASE_NOT_FOUND);
        etcd_response_free(r);
    }
    etcd_client_free(s->checker);
    lease_log_free(s->g);
}

typedef enum fault { F_KILL, F_BLACKHOLE, F_RESTART } fault;

/* Two rounds of one fault on the member that serves the keepalive stream: every lease survives
 * each round. A killed or black-holed member must be left; a restarted one is soon back and
 * may serve again, so there it takes three renewals from any member. */
static void survive_faults(const char *name, fault f)
{
    static const char *const words[] = {"kill", "blackhole", "graceful restart"};
    scene s;
    scene_start(&s, name);
    for (int round = 0; round < 2; round++) {
        int victim = serving_member(&s);
        moved m;
        moved_init(&m, &s, f == F_RESTART ? 0 : pc_member_id[victim], f == F_RESTART ? 3 : 2);
        lease_log_mark(s.g);
        int64_t t0 = sc_now_ms();
        if (f == F_KILL)
            assert_int_equal(eh_member_kill(itest_cluster, victim), 0);
        else if (f == F_BLACKHOLE)
            fp_set_mode(pc_proxy[victim], FP_BLACKHOLE);
        else /* SIGTERM (etcd closes its streams), then the member comes back */
            assert_int_equal(eh_member_restart(itest_cluster, victim), 0);
        char what[64];
        snprintf(what, sizeof what, "%s round %d (m%d)", words[f], round, victim);
        expect_survived(&s, what, t0, &m);
        if (f == F_BLACKHOLE) {
            fp_set_mode(pc_proxy[victim], FP_PASS);
        } else {
            if (f == F_KILL)
                assert_int_equal(eh_member_restart(itest_cluster, victim), 0);
            assert_int_equal(eh_cluster_wait_ready(itest_cluster, 30000), 0);
        }
    }
    scene_end(&s);
}

static void test_serving_member_killed(void **state)
{
    (void)state;
    survive_faults("kill", F_KILL);
}

static void test_serving_member_blackholed(void **state)
{
    (void)state;
    survive_faults("blackhole", F_BLACKHOLE);
}

static void test_serving_member_restarted(void **state)
{
    (void)state;
    survive_faults("restart", F_RESTART);
}

/* The leader's member ID, from etcdctl's endpoint status. */
static uint64_t leader_id(void)
{
    const char *argv[] = {"endpoint", "status", "-w", "json", NULL};
    char *out = NULL;
    int status = -1;
    assert_int_equal(eh_etcdctl(itest_cluster, argv, NULL, 0, &out, NULL, NULL, NULL, &status), 0);
    assert_int_equal(status, 0);
    const char *p = strstr(out, "\"leader\":");
    assert_non_null(p);
    uint64_t id = strtoull(p + 9, NULL, 10);
    free(out);
    return id;
}

static void move_leader(int to)
{
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)pc_member_id[to]);
    const char *argv[] = {"move-leader", hex, NULL};
    char *err = NULL;
    int status = -1;
    assert_int_equal(eh_etcdctl(itest_cluster, argv, NULL, 0, NULL, NULL, &err, NULL, &status), 0);
    if (status != 0)
        fail_msg("move-leader to m%d failed: %s", to, err ? err : "-");
    free(err);
    for (int i = 0; i < 500 && leader_id() != pc_member_id[to]; i++)
        sc_sleep_ms(20); /* polling a condition */
    assert_true(leader_id() == pc_member_id[to]);
}

static void test_leader_changes(void **state)
{
    (void)state;
    scene s;
    scene_start(&s, "leader");
    lease_log_mark(s.g);
    int64_t t0 = sc_now_ms();
    /* Leadership goes round every member, the one serving the stream included. */
    for (int round = 0; round < PC_MEMBERS; round++) {
        int from = pc_member_known(leader_id());
        int to = (from + 1) % PC_MEMBERS;
        move_leader(to);
        print_message("LEASE-FAILOVER leader moved m%d -> m%d, stream served by m%d\n", from, to, serving_member(&s));
        moved m;
        moved_init(&m, &s, 0, 2);
        assert_true(lease_log_wait(s.g, pred_renewed_elsewhere, &m, 4 * TTL * 1000));
    }
    moved m;
    moved_init(&m, &s, 0, 1);
    expect_survived(&s, "leader changes", t0, &m);
    scene_end(&s);
}

static void test_every_member_unreachable(void **state)
{
    (void)state;
    scene s;
    scene_start(&s, "outage");
    for (int i = 0; i < PC_MEMBERS; i++)
        fp_set_mode(pc_proxy[i], FP_BLACKHOLE);
    int64_t t0 = sc_now_ms();
    int64_t before[KEPT];
    for (int i = 0; i < KEPT; i++)
        before[i] = etcd_lease_keep_alive_expiry_ms(s.g->e[i].call);
    int all = KEPT;
    assert_true(lease_log_wait(s.g, pred_finals, &all, TTL * 1000 + 5000));
    int64_t early = INT64_MAX, late = INT64_MIN;
    for (int i = 0; i < KEPT; i++) {
        kept_entry *e = &s.g->e[i];
        assert_int_equal(e->finals, 1);
        if (e->final_code != ETCD_E_LEASE_LOST)
            fail_msg("lease %lld ended with %s: %s", (long long)e->id, etcd_code_name(e->final_code), e->final_msg);
        assert_true(before[i] > 0);
        if (e->final_ms - before[i] < early)
            early = e->final_ms - before[i];
        if (e->final_ms - e->expiry_ms > late)
            late = e->final_ms - e->expiry_ms;
    }
    print_message("LEASE-FAILOVER outage: %d leases lost %lld ms into it, %lld..%lld ms after their local expiry\n",
                  KEPT, (long long)(sc_now_ms() - t0), (long long)early, (long long)late);
    assert_true(early >= 0);
    assert_true(late <= 1500);

    /* Back in reach: no lost lease is renewed again, nor even sent to a member. */
    long msgs0 = 0;
    for (int i = 0; i < PC_MEMBERS; i++) {
        fp_set_mode(pc_proxy[i], FP_PASS);
        msgs0 += metric_sum(eh_member_client_port(itest_cluster, i), KEEPALIVE_MSGS_RECEIVED);
    }
    int renewals = log_renewals(s.g);
    lease_log_run_for(s.g, TTL * 1000 / 3 * 2 + 1000);
    long msgs = 0;
    for (int i = 0; i < PC_MEMBERS; i++)
        msgs += metric_sum(eh_member_client_port(itest_cluster, i), KEEPALIVE_MSGS_RECEIVED);
    assert_int_equal(log_renewals(s.g), renewals);
    assert_int_equal(log_finals(s.g), KEPT);
    assert_int_equal(msgs, msgs0);
    assert_no_violation(s.g);
    for (int i = 0; i < KEPT; i++)
        assert_int_equal(etcd_lease_keep_alive_expiry_ms(s.g->e[i].call), 0);
    scene_end(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_serving_member_killed, pc_whole_cluster),
        cmocka_unit_test_setup(test_serving_member_blackholed, pc_whole_cluster),
        cmocka_unit_test_setup(test_serving_member_restarted, pc_whole_cluster),
        cmocka_unit_test_setup(test_leader_changes, pc_whole_cluster),
        cmocka_unit_test_setup(test_every_member_unreachable, pc_whole_cluster),
    };
    return cmocka_run_group_tests_name("lease_failover", tests, pc_setup, pc_teardown);
}
