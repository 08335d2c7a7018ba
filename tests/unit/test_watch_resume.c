/* A watch's resume point (lib/watch/resume.c): never backwards, replays dropped, batches kept. */
#include "unit.h"

#include "watch/resume.h"

/* Events with the given mod revisions (0: an event without a key-value). */
typedef struct evset {
    Mvccpb__KeyValue kvs[16];
    Mvccpb__Event evs[16];
    Mvccpb__Event *ptrs[16];
    size_t n;
} evset;

static void evset_init(evset *s, const int64_t *revs, size_t n)
{
    assert_true(n <= 16);
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        mvccpb__key_value__init(&s->kvs[i]);
        mvccpb__event__init(&s->evs[i]);
        s->kvs[i].mod_revision = revs[i];
        s->kvs[i].version = (int64_t)i + 1; /* tags each event with its original position */
        s->evs[i].kv = revs[i] ? &s->kvs[i] : NULL;
        s->ptrs[i] = &s->evs[i];
    }
}

static void test_created_sets_next_after_header_for_now(void **state)
{
    (void)state;
    int64_t next = 0;
    etcd_resume_created(&next, 41);
    assert_int_equal(next, 42);
    /* The creation at revision 0 of an empty store: the first event will be revision 1. */
    next = 0;
    etcd_resume_created(&next, 0);
    assert_int_equal(next, 1);
}

static void test_created_keeps_known_next(void **state)
{
    (void)state;
    /* A start revision, or a resume point: a later "created" must not move it. */
    int64_t next = 7;
    etcd_resume_created(&next, 100);
    assert_int_equal(next, 7);
    next = 100;
    etcd_resume_created(&next, 7); /* a lagging member's answer */
    assert_int_equal(next, 100);
}

static void test_progress_moves_forward_only(void **state)
{
    (void)state;
    int64_t next = 10;
    etcd_resume_progress(&next, 20);
    assert_int_equal(next, 21);
    etcd_resume_progress(&next, 5);
    assert_int_equal(next, 21);
    etcd_resume_progress(&next, 20);
    assert_int_equal(next, 21);
    etcd_resume_progress(&next, 21);
    assert_int_equal(next, 22);
    next = 0;
    etcd_resume_progress(&next, 3);
    assert_int_equal(next, 4);
}

static void test_filter_drops_below_next(void **state)
{
    (void)state;
    const int64_t revs[] = {3, 4, 5, 6};
    evset s;
    evset_init(&s, revs, 4);
    int64_t next = 5;
    size_t kept = etcd_resume_filter(&next, s.ptrs, s.n);
    assert_int_equal(kept, 2);
    assert_int_equal(s.ptrs[0]->kv->mod_revision, 5);
    assert_int_equal(s.ptrs[1]->kv->mod_revision, 6);
    assert_int_equal(next, 7);
}

static void test_filter_keeps_all_events_of_one_revision(void **state)
{
    (void)state;
    /* A txn: one revision, several events, all new. */
    const int64_t revs[] = {8, 8, 8};
    evset s;
    evset_init(&s, revs, 3);
    int64_t next = 8;
    size_t kept = etcd_resume_filter(&next, s.ptrs, s.n);
    assert_int_equal(kept, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s.ptrs[i]->kv->mod_revision, 8);
        assert_int_equal(s.ptrs[i]->kv->version, (int64_t)i + 1);
    }
    assert_int_equal(next, 9);
    /* The same revision replayed after a resume: all of it is dropped. */
    evset_init(&s, revs, 3);
    assert_int_equal(etcd_resume_filter(&next, s.ptrs, s.n), 0);
    assert_int_equal(next, 9);
}

static void test_filter_keeps_order(void **state)
{
    (void)state;
    const int64_t revs[] = {2, 9, 9, 3, 10, 11, 11, 1};
    evset s;
    evset_init(&s, revs, 8);
    int64_t next = 9;
    size_t kept = etcd_resume_filter(&next, s.ptrs, s.n);
    assert_int_equal(kept, 5);
    const int64_t want_pos[] = {2, 3, 5, 6, 7}; /* original positions, 1-based */
    for (size_t i = 0; i < kept; i++)
        assert_int_equal(s.ptrs[i]->kv->version, want_pos[i]);
    assert_int_equal(next, 12);
}

static void test_filter_never_moves_backwards(void **state)
{
    (void)state;
    const int64_t revs[] = {4, 5};
    evset s;
    evset_init(&s, revs, 2);
    int64_t next = 50;
    assert_int_equal(etcd_resume_filter(&next, s.ptrs, s.n), 0);
    assert_int_equal(next, 50);
    /* An empty batch changes nothing. */
    assert_int_equal(etcd_resume_filter(&next, s.ptrs, 0), 0);
    assert_int_equal(next, 50);
}

static void test_filter_skips_events_without_kv(void **state)
{
    (void)state;
    const int64_t revs[] = {0, 6, 0, 7};
    evset s;
    evset_init(&s, revs, 4);
    int64_t next = 1;
    size_t kept = etcd_resume_filter(&next, s.ptrs, s.n);
    assert_int_equal(kept, 2);
    assert_int_equal(s.ptrs[0]->kv->mod_revision, 6);
    assert_int_equal(s.ptrs[1]->kv->mod_revision, 7);
    assert_int_equal(next, 8);
}

static void test_start_at_zero_keeps_everything(void **state)
{
    (void)state;
    /* next 0 before any "created": nothing is known to have been seen. */
    const int64_t revs[] = {1, 2};
    evset s;
    evset_init(&s, revs, 2);
    int64_t next = 0;
    assert_int_equal(etcd_resume_filter(&next, s.ptrs, s.n), 2);
    assert_int_equal(next, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_sets_next_after_header_for_now),
        cmocka_unit_test(test_created_keeps_known_next),
        cmocka_unit_test(test_progress_moves_forward_only),
        cmocka_unit_test(test_filter_drops_below_next),
        cmocka_unit_test(test_filter_keeps_all_events_of_one_revision),
        cmocka_unit_test(test_filter_keeps_order),
        cmocka_unit_test(test_filter_never_moves_backwards),
        cmocka_unit_test(test_filter_skips_events_without_kv),
        cmocka_unit_test(test_start_at_zero_keeps_everything),
    };
    return cmocka_run_group_tests_name("watch_resume", tests, NULL, NULL);
}
