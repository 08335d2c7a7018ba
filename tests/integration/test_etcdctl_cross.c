/* What etcdc writes etcdctl reads back identically, and the reverse. */
#include "itest.h"

/* The tests use the common fixture: one member, one client (itest_kv). */

/* Runs etcdctl, fails the test on a non-zero exit, returns stdout (caller frees). */
static char *ctl(const char *const *argv, const void *in, size_t in_len, size_t *out_len)
{
    char *out = NULL, *errs = NULL;
    size_t ol = 0, el = 0;
    int status = -1;
    assert_int_equal(eh_etcdctl(itest_cluster, argv, in, in_len, &out, &ol, &errs, &el, &status), 0);
    if (status != 0)
        fail_msg("etcdctl %s %s exited %d: %s", argv[0], argv[1] ? argv[1] : "", status, errs);
    free(errs);
    if (out_len)
        *out_len = ol;
    return out;
}

static const uint8_t binary[] = {0, 1, 2, 0xff, 0xfe, '\n', 'x', 0, 0x80};

static void test_etcdc_writes_etcdctl_reads(void **state)
{
    (void)state;
    itest_put_string(itest_kv, "cross/text", "hello world");
    const char *get_text[] = {"get", "cross/text", "--print-value-only", NULL};
    char *out = ctl(get_text, NULL, 0, NULL);
    assert_string_equal(out, "hello world\n");
    free(out);

    /* Binary value: etcdctl prints raw bytes with --print-value-only, plus a newline. */
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_put(itest_kv, "cross/bin", 9, binary, sizeof binary, &r, &err), err);
    int64_t rev = etcd_response_revision(r);
    etcd_response_free(r);
    const char *get_bin[] = {"get", "cross/bin", "--print-value-only", NULL};
    size_t n;
    out = ctl(get_bin, NULL, 0, &n);
    assert_int_equal(n, sizeof binary + 1);
    assert_memory_equal(out, binary, sizeof binary);
    free(out);

    /* The JSON form agrees on revisions too. */
    const char *get_json[] = {"get", "cross/bin", "-w", "json", NULL};
    out = ctl(get_json, NULL, 0, NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "\"mod_revision\":%lld", (long long)rev);
    assert_non_null(strstr(out, expect));
    free(out);

    /* Deletes by etcdc are seen by etcdctl. */
    ASSERT_OK(etcd_kv_delete(itest_kv, "cross/text", 10, &r, &err), err);
    etcd_response_free(r);
    const char *count[] = {"get", "cross/", "--prefix", "--keys-only", "-w", "json", NULL};
    out = ctl(count, NULL, 0, NULL);
    assert_non_null(strstr(out, "\"count\":1"));
    free(out);
}

static void test_etcdctl_writes_etcdc_reads(void **state)
{
    (void)state;
    const char *put_text[] = {"put", "ctl/text", "from etcdctl", NULL};
    free(ctl(put_text, NULL, 0, NULL));
    char *s = itest_get_string(itest_kv, "ctl/text");
    assert_string_equal(s, "from etcdctl");
    free(s);

    /* Value from stdin, binary. */
    const char *put_bin[] = {"put", "ctl/bin", NULL};
    free(ctl(put_bin, binary, sizeof binary, NULL));
    etcd_response *r = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_kv_get(itest_kv, "ctl/bin", 7, &r, &err), err);
    size_t n;
    const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(r, 0), &n);
    assert_int_equal(n, sizeof binary);
    assert_memory_equal(v, binary, n);
    etcd_response_free(r);

    /* A txn from etcdctl, read by etcdc. */
    const char txn[] = "value(\"ctl/text\") = \"from etcdctl\"\n\nput ctl/txn yes\n\nput ctl/txn no\n\n";
    const char *txn_argv[] = {"txn", NULL};
    char *out = ctl(txn_argv, txn, sizeof txn - 1, NULL);
    assert_non_null(strstr(out, "SUCCESS"));
    free(out);
    s = itest_get_string(itest_kv, "ctl/txn");
    assert_string_equal(s, "yes");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etcdc_writes_etcdctl_reads),
        cmocka_unit_test(test_etcdctl_writes_etcdc_reads),
    };
    return cmocka_run_group_tests_name("etcdctl-cross", tests, itest_group_setup, itest_group_teardown);
}
