/* One client shared by 8 threads doing mixed put / get / txn: results stay exact. */
#include <pthread.h>

#include "itest.h"

#define THREADS 8
#define ROUNDS 150

/* The tests use the common fixture: one member, one client (itest_kv). */

typedef struct worker {
    int id;
    int increments;     /* successful compare-and-swap increments of the shared counter */
    int failures;       /* calls that returned an error */
} worker;

/* Compare-and-swap increment of "thr/counter": read, then txn if mod_revision unchanged. */
static int try_increment(void)
{
    etcd_response *r = NULL;
    if (etcd_kv_get(itest_kv, "thr/counter", 11, &r, NULL) != ETCD_OK)
        return -1;
    const etcd_keyvalue *e = etcd_response_kv_at(r, 0);
    size_t n;
    const uint8_t *v = etcd_keyvalue_value(e, &n);
    char buf[32] = {0};
    memcpy(buf, v, n < 31 ? n : 31);
    long cur = atol(buf);
    int64_t mod = etcd_keyvalue_mod_revision(e);
    etcd_response_free(r);

    char next[32];
    snprintf(next, sizeof next, "%ld", cur + 1);
    etcd_txn *t = etcd_txn_new();
    etcd_txn_if(t, etcd_cmp_mod_rev("thr/counter", 11, ETCD_CMP_EQUAL, mod));
    etcd_txn_then(t, etcd_op_put("thr/counter", 11, next, strlen(next)));
    etcd_code rc = etcd_kv_txn(itest_kv, t, &r, NULL);
    etcd_txn_free(t);
    if (rc != ETCD_OK)
        return -1;
    int ok = etcd_response_succeeded(r);
    etcd_response_free(r);
    return ok;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "thr/%d/%d", w->id, i);
        snprintf(val, sizeof val, "%d-%d", w->id, i);
        etcd_response *r = NULL;
        if (etcd_kv_put(itest_kv, key, strlen(key), val, strlen(val), &r, NULL) != ETCD_OK)
            w->failures++;
        etcd_response_free(r);
        r = NULL;
        if (etcd_kv_get(itest_kv, key, strlen(key), &r, NULL) != ETCD_OK || etcd_response_kv_count(r) != 1)
            w->failures++;
        else {
            size_t n;
            const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
            if (n != strlen(val) || memcmp(v, val, n) != 0)
                w->failures++;
        }
        etcd_response_free(r);
        if (i % 5 == 0) {
            int inc = try_increment();
            if (inc < 0)
                w->failures++;
            else
                w->increments += inc;
        }
    }
    return NULL;
}

static void test_eight_threads_one_client(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "thr/counter", "0");
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.id = i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    int increments = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
        increments += w[i].increments;
    }
    /* Every thread's keys are all there, and the counter equals the successful increments. */
    etcd_op *op = etcd_op_get("thr/", 4);
    etcd_op_with_prefix(op);
    etcd_op_with_count_only(op);
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_do(itest_kv, op, &r, &err), err);
    assert_int_equal(etcd_response_count(r), THREADS * ROUNDS + 1);
    etcd_response_free(r);
    etcd_op_free(op);
    char *s = itest_get_string(itest_kv, "thr/counter");
    assert_int_equal(atol(s), increments);
    assert_true(increments > 0);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_threads_one_client),
    };
    return cmocka_run_group_tests_name("threads", tests, itest_group_setup, itest_group_teardown);
}
