/* A kept lease's renewal schedule and lost-lease rule (lib/lease/schedule.c). */
#include "unit.h"

#include "lease/schedule.h"

/* Runs the timer at `now` with a stream open and, when it says so, sends. */
static etcd_renew_action tick(etcd_renew_sched *s, int64_t now)
{
    etcd_renew_action a = etcd_renew_on_timer(s, now, true);
    if (a == ETCD_RENEW_SEND)
        etcd_renew_sent(s, now);
    return a;
}

static void test_first_renewal_goes_at_once(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    assert_true(etcd_renew_due(&s, 1000));
    assert_int_equal(tick(&s, 1000), ETCD_RENEW_SEND);
    /* Unanswered: not sent again at once, and given up after the first-answer allowance. */
    assert_int_equal(tick(&s, 1001), ETCD_RENEW_WAIT);
    assert_int_equal(etcd_renew_wake_at(&s, 1001), 1000 + ETCD_RENEW_FIRST_ANSWER_MS);
}

static void test_renewed_at_a_third_of_the_ttl_on_the_grid(void **state)
{
    (void)state;
    /* TTL 9 s: every 3 s, on a 500 ms grid, never later than a third and at most 500 ms early. */
    for (int64_t now = 1; now < 5000; now += 37) {
        int64_t at = etcd_renew_next_ms(now, 9);
        assert_true(at <= now + 3000);
        assert_true(at > now + 3000 - 500);
        assert_int_equal(at % 500, 0);
    }
    /* Answers close together fall due at one moment: one write for all of them. */
    assert_int_equal(etcd_renew_next_ms(10010, 9), etcd_renew_next_ms(10400, 9));
    /* TTL 60 s: a third is 20 s. */
    assert_int_equal(etcd_renew_next_ms(0 + 1, 60), 20000);
}

static void test_short_ttl_renews_no_faster_than_the_minimum(void **state)
{
    (void)state;
    for (int64_t ttl = 1; ttl <= 3; ttl++) {
        int64_t at = etcd_renew_next_ms(100000, ttl);
        int64_t every = ttl * 1000 / 3 > ETCD_RENEW_MIN_MS ? ttl * 1000 / 3 : ETCD_RENEW_MIN_MS;
        assert_true(at > 100000 + every - every / 4);
        assert_true(at <= 100000 + every);
    }
}

static void test_answer_sets_expiry_from_the_send_time(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 1000);
    etcd_renew_answered(&s, 1200, 9);
    /* The server's TTL started no earlier than the send. */
    assert_int_equal(s.expiry_ms, 1000 + 9000);
    assert_int_equal(s.ttl_s, 9);
    assert_int_equal(s.pending_since_ms, 0);
    assert_int_equal(etcd_renew_wake_at(&s, 1200), etcd_renew_next_ms(1200, 9));
    /* Before the renewal is due the timer does nothing. */
    assert_int_equal(tick(&s, 2000), ETCD_RENEW_WAIT);
    assert_int_equal(tick(&s, s.next_renew_ms), ETCD_RENEW_SEND);
}

static void test_ttl_change_moves_the_schedule(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 0 + 1);
    etcd_renew_answered(&s, 10, 30);
    assert_int_equal(s.next_renew_ms, etcd_renew_next_ms(10, 30));
    int64_t t = s.next_renew_ms;
    assert_int_equal(tick(&s, t), ETCD_RENEW_SEND);
    /* The server now grants 3 s: the next renewal comes a second later, expiry 3 s after send. */
    etcd_renew_answered(&s, t + 5, 3);
    assert_int_equal(s.expiry_ms, t + 3000);
    assert_true(s.next_renew_ms <= t + 5 + 1000);
    assert_true(s.next_renew_ms > t + 5);
}

static void test_lost_once_when_the_ttl_runs_out_unanswered(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 100);
    etcd_renew_answered(&s, 150, 5);
    int64_t due = s.next_renew_ms;
    /* The stream is down: a due renewal cannot go; the lease waits for its expiry. */
    assert_int_equal(etcd_renew_on_timer(&s, due, false), ETCD_RENEW_WAIT);
    assert_int_equal(etcd_renew_wake_at(&s, due), 100 + 5000);
    assert_int_equal(etcd_renew_on_timer(&s, 100 + 4999, false), ETCD_RENEW_WAIT);
    assert_int_equal(etcd_renew_on_timer(&s, 100 + 5000, true), ETCD_RENEW_LOST);
    /* Exactly once, and never renewed after, even by a late answer. */
    assert_int_equal(etcd_renew_on_timer(&s, 100 + 5001, true), ETCD_RENEW_WAIT);
    assert_false(etcd_renew_due(&s, 100 + 5001));
    etcd_renew_answered(&s, 100 + 5002, 5);
    assert_true(s.lost);
    assert_false(etcd_renew_due(&s, 100 + 9000));
    assert_int_equal(etcd_renew_on_timer(&s, 100 + 9000, true), ETCD_RENEW_WAIT);
}

static void test_sent_but_unanswered_is_lost_at_expiry_not_renewed_past_it(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 0 + 1);
    etcd_renew_answered(&s, 2, 3);          /* expiry 3001 */
    int64_t due = s.next_renew_ms;
    assert_int_equal(tick(&s, due), ETCD_RENEW_SEND);
    /* That renewal is never answered: the expiry of the last answer still counts. */
    int64_t expected = etcd_renew_next_ms(due, 3);
    assert_int_equal(etcd_renew_wake_at(&s, due), expected);
    assert_int_equal(tick(&s, expected), ETCD_RENEW_WAIT);
    assert_int_equal(etcd_renew_wake_at(&s, expected), 3001);
    assert_int_equal(tick(&s, 3001), ETCD_RENEW_LOST);
}

static void test_armed_for_the_expected_renewal_while_unanswered(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 1);
    etcd_renew_answered(&s, 2, 9);
    int64_t due = s.next_renew_ms;
    assert_int_equal(tick(&s, due), ETCD_RENEW_SEND);
    /* Unanswered: armed for a period after the send, where the answer will put the renewal. */
    int64_t expected = etcd_renew_next_ms(due, 9);
    assert_int_equal(etcd_renew_wake_at(&s, due), expected);
    etcd_renew_answered(&s, due + 30, 9);
    assert_true(etcd_renew_wake_at(&s, due + 30) >= expected);
    /* Still unanswered at the expected time: nothing to send; wait for the expiry. */
    etcd_renew_sched t = {0};
    tick(&t, 1);
    etcd_renew_answered(&t, 2, 9);
    due = t.next_renew_ms;
    tick(&t, due);
    expected = etcd_renew_next_ms(due, 9);
    assert_int_equal(tick(&t, expected), ETCD_RENEW_WAIT);
    assert_int_equal(etcd_renew_wake_at(&t, expected), 1 + 9000);
}

static void test_unanswered_renewal_is_sent_again_after_a_while(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 1);
    etcd_renew_answered(&s, 2, 60);
    int64_t due = s.next_renew_ms;
    assert_int_equal(tick(&s, due), ETCD_RENEW_SEND);
    /* A new stream sends every kept lease's renewal at once: the send time kept is the oldest. */
    etcd_renew_sent(&s, due + 10);
    assert_int_equal(s.pending_since_ms, due);
    s.next_renew_ms = due + 20; /* an old timer */
    assert_false(etcd_renew_due(&s, due + 20));
    assert_true(etcd_renew_due(&s, due + ETCD_RENEW_RESEND_MS));
}

static void test_huge_ttl_does_not_overflow(void **state)
{
    (void)state;
    etcd_renew_sched s = {0};
    tick(&s, 1);
    etcd_renew_answered(&s, 2, INT64_MAX);
    assert_true(s.expiry_ms > 2);
    assert_true(s.next_renew_ms > 2);
    assert_int_equal(tick(&s, 3), ETCD_RENEW_WAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_renewal_goes_at_once),
        cmocka_unit_test(test_renewed_at_a_third_of_the_ttl_on_the_grid),
        cmocka_unit_test(test_short_ttl_renews_no_faster_than_the_minimum),
        cmocka_unit_test(test_answer_sets_expiry_from_the_send_time),
        cmocka_unit_test(test_ttl_change_moves_the_schedule),
        cmocka_unit_test(test_lost_once_when_the_ttl_runs_out_unanswered),
        cmocka_unit_test(test_sent_but_unanswered_is_lost_at_expiry_not_renewed_past_it),
        cmocka_unit_test(test_armed_for_the_expected_renewal_while_unanswered),
        cmocka_unit_test(test_unanswered_renewal_is_sent_again_after_a_while),
        cmocka_unit_test(test_huge_ttl_does_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
