/* The ID table of a stream's owner (lib/call/id_table.c): find, shared IDs, growth, removal
 * while walking it, draining. */
#include <stdbool.h>
#include <stdlib.h>

#include "unit.h"

#include "call/id_table.h"

enum { N = 1000 };

static void test_add_find_remove_across_growth(void **state)
{
    (void)state;
    etcd_id_table t = {0};
    etcd_id_link *links = calloc(N, sizeof *links);
    for (int i = 0; i < N; i++) {
        links[i].id = (int64_t)i * 7919 - 300; /* negative IDs too */
        assert_true(etcd_id_table_add(&t, &links[i]));
    }
    assert_int_equal(t.count, N);
    assert_true(t.nslots >= N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(etcd_id_table_find(&t, links[i].id), &links[i]);
    assert_null(etcd_id_table_find(&t, 1));
    for (int i = 0; i < N; i += 2)
        etcd_id_table_remove(&t, &links[i]);
    assert_int_equal(t.count, N / 2);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(etcd_id_table_find(&t, links[i].id), i % 2 ? &links[i] : NULL);
    etcd_id_table_free(&t);
    free(links);
}

static void test_entries_sharing_an_id_are_all_found(void **state)
{
    (void)state;
    etcd_id_table t = {0};
    etcd_id_link a = {.id = 42}, b = {.id = 42}, c = {.id = 43};
    assert_true(etcd_id_table_add(&t, &a));
    assert_true(etcd_id_table_add(&t, &c));
    assert_true(etcd_id_table_add(&t, &b));
    int seen = 0;
    for (etcd_id_link *e = etcd_id_table_find(&t, 42); e; e = etcd_id_table_find_next(e)) {
        assert_true(e == &a || e == &b);
        seen++;
    }
    assert_int_equal(seen, 2);
    etcd_id_table_remove(&t, &b);
    assert_ptr_equal(etcd_id_table_find(&t, 42), &a);
    assert_null(etcd_id_table_find_next(&a));
    etcd_id_table_free(&t);
}

static void test_each_survives_removing_the_current_entry(void **state)
{
    (void)state;
    etcd_id_table t = {0};
    etcd_id_link *links = calloc(N, sizeof *links);
    for (int i = 0; i < N; i++) {
        links[i].id = i;
        assert_true(etcd_id_table_add(&t, &links[i]));
    }
    int visited = 0;
    ETCD_ID_TABLE_EACH(&t, e) {
        visited++;
        if (e->id % 3 == 0)
            etcd_id_table_remove(&t, e);
    }
    assert_int_equal(visited, N);
    assert_int_equal(t.count, N - (N + 2) / 3);
    /* Draining. */
    for (etcd_id_link *e; (e = etcd_id_table_any(&t)) != NULL;)
        etcd_id_table_remove(&t, e);
    assert_int_equal(t.count, 0);
    assert_null(etcd_id_table_any(&t));
    etcd_id_table_free(&t);
    free(links);
}

static void test_empty_table(void **state)
{
    (void)state;
    etcd_id_table t = {0};
    etcd_id_link a = {.id = 1};
    assert_null(etcd_id_table_find(&t, 1));
    assert_null(etcd_id_table_any(&t));
    etcd_id_table_remove(&t, &a);
    int visited = 0;
    ETCD_ID_TABLE_EACH(&t, e) {
        (void)e;
        visited++;
    }
    assert_int_equal(visited, 0);
    etcd_id_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_remove_across_growth),
        cmocka_unit_test(test_entries_sharing_an_id_are_all_found),
        cmocka_unit_test(test_each_survives_removing_the_current_entry),
        cmocka_unit_test(test_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
