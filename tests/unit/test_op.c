/* Op building: constructors, setters, the protobuf requests they fill, and sticky errors. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "kv/op_internal.h"

static const Etcdserverpb__RangeRequest *range_req(const etcd_op *op)
{
    const ProtobufCMessage *m = etcd_op_message(op);
    assert_ptr_equal(m->descriptor, &etcdserverpb__range_request__descriptor);
    return (const Etcdserverpb__RangeRequest *)m;
}

static const Etcdserverpb__PutRequest *put_req(const etcd_op *op)
{
    const ProtobufCMessage *m = etcd_op_message(op);
    assert_ptr_equal(m->descriptor, &etcdserverpb__put_request__descriptor);
    return (const Etcdserverpb__PutRequest *)m;
}

static const Etcdserverpb__DeleteRangeRequest *del_req(const etcd_op *op)
{
    const ProtobufCMessage *m = etcd_op_message(op);
    assert_ptr_equal(m->descriptor, &etcdserverpb__delete_range_request__descriptor);
    return (const Etcdserverpb__DeleteRangeRequest *)m;
}

static const Etcdserverpb__CompactionRequest *compact_req(const etcd_op *op)
{
    const ProtobufCMessage *m = etcd_op_message(op);
    assert_ptr_equal(m->descriptor, &etcdserverpb__compaction_request__descriptor);
    return (const Etcdserverpb__CompactionRequest *)m;
}

static void assert_op_ok(const etcd_op *op)
{
    etcd_error *err = NULL;
    etcd_code rc = etcd_op_check(op, &err);
    if (rc != ETCD_OK)
        fail_msg("op check failed: %s", etcd_error_message(err));
    assert_null(err);
}

/* etcd_op_check fails with `code`, and its error carries the same code and names the problem. */
static void assert_op_fails(const etcd_op *op, etcd_code code, const char *needle)
{
    etcd_error *err = NULL;
    assert_int_equal(etcd_op_check(op, &err), code);
    assert_non_null(err);
    assert_int_equal(etcd_error_code(err), code);
    assert_int_equal(etcd_error_grpc_status(err), -1); /* nothing was sent */
    assert_contains(etcd_error_message(err), needle);
    etcd_error_free(err);
    /* Without an error out-parameter the code is the same. */
    assert_int_equal(etcd_op_check(op, NULL), code);
}

/* ---- constructors ---- */

static void test_get_single_key(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("foo", 3);
    assert_non_null(op);
    assert_int_equal(etcd_op_get_type(op), ETCD_OP_GET);
    const Etcdserverpb__RangeRequest *r = range_req(op);
    assert_bytes(r->key, "foo", 3);
    assert_int_equal(r->range_end.len, 0);
    assert_int_equal(r->limit, 0);
    assert_int_equal(r->revision, 0);
    assert_int_equal(r->sort_order, ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE);
    assert_int_equal(r->sort_target, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY);
    assert_false(r->serializable);
    assert_false(r->keys_only);
    assert_false(r->count_only);
    assert_int_equal(r->min_mod_revision, 0);
    assert_int_equal(r->max_mod_revision, 0);
    assert_int_equal(r->min_create_revision, 0);
    assert_int_equal(r->max_create_revision, 0);
    /* Per-call settings start at "client default". */
    assert_int_equal(op->timeout_ms, 0);
    assert_int_equal(op->require_leader, -1);
    assert_op_ok(op);
    etcd_op_free(op);
}

/* Keys and values are bytes: NUL and 0xff survive, and the op keeps its own copy. */
static void test_binary_key_and_value_are_copied(void **state)
{
    (void)state;
    char key[] = {'a', '\0', 'b', (char)0xff, '\0'};
    char val[] = {'\0', (char)0xff, 'v', '\0'};
    const char key_copy[] = {'a', '\0', 'b', (char)0xff, '\0'};
    const char val_copy[] = {'\0', (char)0xff, 'v', '\0'};

    etcd_op *get = etcd_op_get(key, sizeof key);
    etcd_op *put = etcd_op_put(key, sizeof key, val, sizeof val);
    etcd_op *del = etcd_op_delete(key, sizeof key);
    assert_non_null(get);
    assert_non_null(put);
    assert_non_null(del);
    memset(key, 'x', sizeof key);
    memset(val, 'y', sizeof val);

    assert_bytes(range_req(get)->key, key_copy, sizeof key_copy);
    assert_bytes(put_req(put)->key, key_copy, sizeof key_copy);
    assert_bytes(put_req(put)->value, val_copy, sizeof val_copy);
    assert_bytes(del_req(del)->key, key_copy, sizeof key_copy);
    assert_op_ok(get);
    assert_op_ok(put);
    assert_op_ok(del);
    etcd_op_free(get);
    etcd_op_free(put);
    etcd_op_free(del);
}

static void test_put_defaults_and_empty_value(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_put("k", 1, NULL, 0); /* an empty value is a valid value */
    assert_non_null(op);
    assert_int_equal(etcd_op_get_type(op), ETCD_OP_PUT);
    const Etcdserverpb__PutRequest *p = put_req(op);
    assert_bytes(p->key, "k", 1);
    assert_int_equal(p->value.len, 0);
    assert_int_equal(p->lease, 0);
    assert_false(p->prev_kv);
    assert_false(p->ignore_value);
    assert_false(p->ignore_lease);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_delete_single_key(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_delete("k", 1);
    assert_non_null(op);
    assert_int_equal(etcd_op_get_type(op), ETCD_OP_DELETE);
    const Etcdserverpb__DeleteRangeRequest *d = del_req(op);
    assert_bytes(d->key, "k", 1);
    assert_int_equal(d->range_end.len, 0);
    assert_false(d->prev_kv);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_compact(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_compact(42);
    assert_non_null(op);
    assert_int_equal(etcd_op_get_type(op), ETCD_OP_COMPACT);
    assert_int_equal(compact_req(op)->revision, 42);
    assert_false(compact_req(op)->physical);
    assert_int_equal(etcd_op_with_physical(op), ETCD_OK);
    assert_true(compact_req(op)->physical);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_compact_revision_must_be_positive(void **state)
{
    (void)state;
    const int64_t bad[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        etcd_op *op = etcd_op_compact(bad[i]);
        assert_non_null(op);
        assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "revision must be > 0");
        etcd_op_free(op);
    }
}

/* ---- ranges ---- */

static void test_range_end(void **state)
{
    (void)state;
    const char end[] = {'z', '\0', (char)0xff};
    etcd_op *get = etcd_op_get("a", 1);
    etcd_op *del = etcd_op_delete("a", 1);
    assert_int_equal(etcd_op_with_range_end(get, end, sizeof end), ETCD_OK);
    assert_int_equal(etcd_op_with_range_end(del, end, sizeof end), ETCD_OK);
    assert_bytes(range_req(get)->range_end, end, sizeof end);
    assert_bytes(del_req(del)->range_end, end, sizeof end);
    assert_op_ok(get);
    assert_op_ok(del);

    /* A later range end replaces the earlier one; an empty one goes back to a single key. */
    assert_int_equal(etcd_op_with_range_end(get, "q", 1), ETCD_OK);
    assert_bytes(range_req(get)->range_end, "q", 1);
    assert_int_equal(etcd_op_with_range_end(get, NULL, 0), ETCD_OK);
    assert_int_equal(range_req(get)->range_end.len, 0);
    assert_op_ok(get);
    etcd_op_free(get);
    etcd_op_free(del);
}

static void test_range_end_null_with_length(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("a", 1);
    assert_int_equal(etcd_op_with_range_end(op, NULL, 3), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "range end is NULL");
    etcd_op_free(op);
}

/* An empty get or delete without a range is refused before sending (etcd: key is not provided). */
static void test_empty_key_is_refused(void **state)
{
    (void)state;
    etcd_op *get = etcd_op_get("", 0);
    etcd_op *del = etcd_op_delete(NULL, 0);
    assert_non_null(get);
    assert_non_null(del);
    assert_op_fails(get, ETCD_E_INVALID_ARGUMENT, "key is empty");
    assert_op_fails(del, ETCD_E_INVALID_ARGUMENT, "key is empty");
    /* etcd refuses an empty key even with a range end, so the client does too, before sending. */
    assert_int_equal(etcd_op_with_range_end(get, "m", 1), ETCD_OK);
    assert_op_fails(get, ETCD_E_INVALID_ARGUMENT, "key is empty");
    etcd_op_free(get);
    etcd_op_free(del);
}

static void test_prefix(void **state)
{
    (void)state;
    etcd_op *get = etcd_op_get("abc", 3);
    assert_int_equal(etcd_op_with_prefix(get), ETCD_OK);
    assert_bytes(range_req(get)->key, "abc", 3);
    assert_bytes(range_req(get)->range_end, "abd", 3);
    assert_op_ok(get);

    /* Trailing 0xff bytes are dropped and the byte before them incremented. */
    etcd_op *del = etcd_op_delete("a\xff", 2);
    assert_int_equal(etcd_op_with_prefix(del), ETCD_OK);
    assert_bytes(del_req(del)->key, "a\xff", 2);
    assert_bytes(del_req(del)->range_end, "b", 1);
    assert_op_ok(del);

    /* All 0xff: no upper bound, so "\0" (every key >= key). */
    etcd_op *ff = etcd_op_get("\xff\xff", 2);
    assert_int_equal(etcd_op_with_prefix(ff), ETCD_OK);
    assert_bytes(range_req(ff)->range_end, "\0", 1);

    /* A NUL as last byte is incremented like any other. */
    etcd_op *nul = etcd_op_get("a\0", 2);
    assert_int_equal(etcd_op_with_prefix(nul), ETCD_OK);
    assert_bytes(range_req(nul)->range_end, "a\x01", 2);

    etcd_op_free(get);
    etcd_op_free(del);
    etcd_op_free(ff);
    etcd_op_free(nul);
}

/* As clientv3: an empty key with prefix or from-key is sent as key "\0", end "\0" (all keys). */
static void test_empty_key_prefix_and_from_key(void **state)
{
    (void)state;
    etcd_op *gp = etcd_op_get(NULL, 0);
    etcd_op *gf = etcd_op_get("", 0);
    etcd_op *dp = etcd_op_delete("", 0);
    etcd_op *df = etcd_op_delete(NULL, 0);
    assert_int_equal(etcd_op_with_prefix(gp), ETCD_OK);
    assert_int_equal(etcd_op_with_from_key(gf), ETCD_OK);
    assert_int_equal(etcd_op_with_prefix(dp), ETCD_OK);
    assert_int_equal(etcd_op_with_from_key(df), ETCD_OK);

    assert_bytes(range_req(gp)->key, "\0", 1);
    assert_bytes(range_req(gp)->range_end, "\0", 1);
    assert_bytes(range_req(gf)->key, "\0", 1);
    assert_bytes(range_req(gf)->range_end, "\0", 1);
    assert_bytes(del_req(dp)->key, "\0", 1);
    assert_bytes(del_req(dp)->range_end, "\0", 1);
    assert_bytes(del_req(df)->key, "\0", 1);
    assert_bytes(del_req(df)->range_end, "\0", 1);
    assert_op_ok(gp);
    assert_op_ok(gf);
    assert_op_ok(dp);
    assert_op_ok(df);
    etcd_op_free(gp);
    etcd_op_free(gf);
    etcd_op_free(dp);
    etcd_op_free(df);
}

static void test_from_key(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("k\xff", 2);
    assert_int_equal(etcd_op_with_from_key(op), ETCD_OK);
    assert_bytes(range_req(op)->key, "k\xff", 2); /* the key itself is kept */
    assert_bytes(range_req(op)->range_end, "\0", 1);
    /* A prefix set afterwards wins. */
    assert_int_equal(etcd_op_with_prefix(op), ETCD_OK);
    assert_bytes(range_req(op)->range_end, "l", 1);
    assert_op_ok(op);
    etcd_op_free(op);
}

/* ---- get options ---- */

static void test_get_options(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_limit(op, 10), ETCD_OK);
    assert_int_equal(etcd_op_with_rev(op, 77), ETCD_OK);
    assert_int_equal(etcd_op_with_sort(op, ETCD_SORT_BY_MOD_REVISION, ETCD_SORT_DESCEND), ETCD_OK);
    assert_int_equal(etcd_op_with_serializable(op), ETCD_OK);
    assert_int_equal(etcd_op_with_keys_only(op), ETCD_OK);
    assert_int_equal(etcd_op_with_count_only(op), ETCD_OK);
    assert_int_equal(etcd_op_with_min_mod_rev(op, 3), ETCD_OK);
    assert_int_equal(etcd_op_with_max_mod_rev(op, 30), ETCD_OK);
    assert_int_equal(etcd_op_with_min_create_rev(op, 4), ETCD_OK);
    assert_int_equal(etcd_op_with_max_create_rev(op, 40), ETCD_OK);

    const Etcdserverpb__RangeRequest *r = range_req(op);
    assert_int_equal(r->limit, 10);
    assert_int_equal(r->revision, 77);
    assert_int_equal(r->sort_target, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__MOD);
    assert_int_equal(r->sort_order, ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND);
    assert_true(r->serializable);
    assert_true(r->keys_only);
    assert_true(r->count_only);
    assert_int_equal(r->min_mod_revision, 3);
    assert_int_equal(r->max_mod_revision, 30);
    assert_int_equal(r->min_create_revision, 4);
    assert_int_equal(r->max_create_revision, 40);
    assert_op_ok(op);

    /* Zero means "no limit" / "latest" / "no bound": accepted. */
    assert_int_equal(etcd_op_with_limit(op, 0), ETCD_OK);
    assert_int_equal(etcd_op_with_rev(op, 0), ETCD_OK);
    assert_int_equal(etcd_op_with_min_mod_rev(op, 0), ETCD_OK);
    assert_int_equal(r->limit, 0);
    assert_int_equal(r->revision, 0);
    assert_int_equal(r->min_mod_revision, 0);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_sort_mapping(void **state)
{
    (void)state;
    static const struct {
        etcd_sort_target target;
        etcd_sort_order order;
        int want_target, want_order;
    } cases[] = {
        /* By key ascending is the server's natural order: sent as "no sort". */
        {ETCD_SORT_BY_KEY, ETCD_SORT_ASCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE},
        {ETCD_SORT_BY_KEY, ETCD_SORT_DESCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND},
        {ETCD_SORT_BY_KEY, ETCD_SORT_NONE, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__KEY,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE},
        {ETCD_SORT_BY_VERSION, ETCD_SORT_ASCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VERSION,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__ASCEND},
        {ETCD_SORT_BY_CREATE_REVISION, ETCD_SORT_DESCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__CREATE,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND},
        {ETCD_SORT_BY_MOD_REVISION, ETCD_SORT_ASCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__MOD,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__ASCEND},
        {ETCD_SORT_BY_VALUE, ETCD_SORT_ASCEND, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VALUE,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__ASCEND},
        {ETCD_SORT_BY_VALUE, ETCD_SORT_NONE, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VALUE,
         ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        etcd_op *op = etcd_op_get("k", 1);
        assert_int_equal(etcd_op_with_sort(op, cases[i].target, cases[i].order), ETCD_OK);
        assert_int_equal(range_req(op)->sort_target, cases[i].want_target);
        assert_int_equal(range_req(op)->sort_order, cases[i].want_order);
        assert_op_ok(op);
        etcd_op_free(op);
    }
}

static void test_unknown_sort_target_or_order(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_sort(op, (etcd_sort_target)5, ETCD_SORT_ASCEND), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "unknown sort target 5");
    etcd_op_free(op);

    op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_sort(op, (etcd_sort_target)-1, ETCD_SORT_ASCEND), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "unknown sort target -1");
    etcd_op_free(op);

    op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_sort(op, ETCD_SORT_BY_KEY, (etcd_sort_order)3), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "unknown sort order 3");
    etcd_op_free(op);

    op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_sort(op, ETCD_SORT_BY_KEY, (etcd_sort_order)-2), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "unknown sort order -2");
    etcd_op_free(op);
}

/* Each negative numeric option is refused, and the message names which one. */
static void test_negative_numbers(void **state)
{
    (void)state;
    static const struct {
        etcd_code (*set)(etcd_op *, int64_t);
        const char *what;
    } setters[] = {
        {etcd_op_with_limit, "limit must be >= 0 (got -1)"},
        {etcd_op_with_rev, "revision must be >= 0 (got -1)"},
        {etcd_op_with_min_mod_rev, "min mod revision must be >= 0"},
        {etcd_op_with_max_mod_rev, "max mod revision must be >= 0"},
        {etcd_op_with_min_create_rev, "min create revision must be >= 0"},
        {etcd_op_with_max_create_rev, "max create revision must be >= 0"},
    };
    for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++) {
        etcd_op *op = etcd_op_get("k", 1);
        assert_int_equal(setters[i].set(op, -1), ETCD_E_INVALID_ARGUMENT);
        assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, setters[i].what);
        etcd_op_free(op);
    }
}

/* ---- put and delete options ---- */

static void test_put_options(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_put("k", 1, "v", 1);
    assert_int_equal(etcd_op_with_prev_kv(op), ETCD_OK);
    assert_int_equal(etcd_op_with_lease(op, 0x1234567890abLL), ETCD_OK);
    const Etcdserverpb__PutRequest *p = put_req(op);
    assert_true(p->prev_kv);
    assert_int_equal(p->lease, 0x1234567890abLL);
    assert_op_ok(op);
    etcd_op_free(op);

    /* ignore-value needs an empty value; ignore-lease needs no lease. */
    op = etcd_op_put("k", 1, NULL, 0);
    assert_int_equal(etcd_op_with_ignore_value(op), ETCD_OK);
    assert_int_equal(etcd_op_with_ignore_lease(op), ETCD_OK);
    assert_int_equal(etcd_op_with_lease(op, 0), ETCD_OK); /* "no lease" is compatible */
    assert_true(put_req(op)->ignore_value);
    assert_true(put_req(op)->ignore_lease);
    assert_int_equal(put_req(op)->lease, 0);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_delete_prev_kv(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_delete("k", 1);
    assert_int_equal(etcd_op_with_prev_kv(op), ETCD_OK);
    assert_true(del_req(op)->prev_kv);
    assert_op_ok(op);
    etcd_op_free(op);
}

static void test_put_empty_key(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_put("", 0, "v", 1);
    assert_non_null(op);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "put: key is empty");
    etcd_op_free(op);
    op = etcd_op_put(NULL, 0, NULL, 0);
    assert_non_null(op);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "put: key is empty");
    etcd_op_free(op);
}

static void test_null_bytes_with_length(void **state)
{
    (void)state;
    etcd_op *get = etcd_op_get(NULL, 2);
    etcd_op *put = etcd_op_put(NULL, 2, "v", 1);
    etcd_op *del = etcd_op_delete(NULL, 2);
    etcd_op *val = etcd_op_put("k", 1, NULL, 5);
    assert_non_null(get);
    assert_non_null(put);
    assert_non_null(del);
    assert_non_null(val);
    assert_op_fails(get, ETCD_E_INVALID_ARGUMENT, "get: key is NULL but key_len is 2");
    assert_op_fails(put, ETCD_E_INVALID_ARGUMENT, "put: key is NULL but key_len is 2");
    assert_op_fails(del, ETCD_E_INVALID_ARGUMENT, "delete: key is NULL but key_len is 2");
    assert_op_fails(val, ETCD_E_INVALID_ARGUMENT, "value is NULL but value_len is 5");
    etcd_op_free(get);
    etcd_op_free(put);
    etcd_op_free(del);
    etcd_op_free(val);
}

static void test_ignore_value_with_value(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_put("k", 1, "abc", 3);
    assert_int_equal(etcd_op_with_ignore_value(op), ETCD_E_INVALID_ARGUMENT);
    assert_false(put_req(op)->ignore_value);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "ignore-value needs an empty value (got 3 bytes)");
    etcd_op_free(op);
}

static void test_lease_with_ignore_lease(void **state)
{
    (void)state;
    /* Either order is refused. */
    etcd_op *op = etcd_op_put("k", 1, "v", 1);
    assert_int_equal(etcd_op_with_lease(op, 7), ETCD_OK);
    assert_int_equal(etcd_op_with_ignore_lease(op), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "ignore-lease cannot be used with a lease");
    etcd_op_free(op);

    op = etcd_op_put("k", 1, "v", 1);
    assert_int_equal(etcd_op_with_ignore_lease(op), ETCD_OK);
    assert_int_equal(etcd_op_with_lease(op, 7), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(put_req(op)->lease, 0);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "lease cannot be set with ignore-lease");
    etcd_op_free(op);
}

/* ---- options that do not apply to the op's kind ---- */

typedef etcd_code (*setter_fn)(etcd_op *);

static etcd_code set_range_end(etcd_op *op) { return etcd_op_with_range_end(op, "z", 1); }
static etcd_code set_limit(etcd_op *op) { return etcd_op_with_limit(op, 1); }
static etcd_code set_rev(etcd_op *op) { return etcd_op_with_rev(op, 1); }
static etcd_code set_sort(etcd_op *op) { return etcd_op_with_sort(op, ETCD_SORT_BY_VALUE, ETCD_SORT_ASCEND); }
static etcd_code set_min_mod(etcd_op *op) { return etcd_op_with_min_mod_rev(op, 1); }
static etcd_code set_max_mod(etcd_op *op) { return etcd_op_with_max_mod_rev(op, 1); }
static etcd_code set_min_create(etcd_op *op) { return etcd_op_with_min_create_rev(op, 1); }
static etcd_code set_max_create(etcd_op *op) { return etcd_op_with_max_create_rev(op, 1); }
static etcd_code set_lease(etcd_op *op) { return etcd_op_with_lease(op, 1); }

/* Which kinds each option applies to, as a bit set over etcd_op_type. */
#define K(t) (1u << (t))
static const struct {
    const char *what;
    setter_fn set;
    unsigned kinds;
} options[] = {
    {"range end", set_range_end, K(ETCD_OP_GET) | K(ETCD_OP_DELETE)},
    {"prefix", etcd_op_with_prefix, K(ETCD_OP_GET) | K(ETCD_OP_DELETE)},
    {"from-key", etcd_op_with_from_key, K(ETCD_OP_GET) | K(ETCD_OP_DELETE)},
    {"limit", set_limit, K(ETCD_OP_GET)},
    {"revision", set_rev, K(ETCD_OP_GET)},
    {"sort", set_sort, K(ETCD_OP_GET)},
    {"serializable", etcd_op_with_serializable, K(ETCD_OP_GET)},
    {"keys-only", etcd_op_with_keys_only, K(ETCD_OP_GET)},
    {"count-only", etcd_op_with_count_only, K(ETCD_OP_GET)},
    {"min mod revision", set_min_mod, K(ETCD_OP_GET)},
    {"max mod revision", set_max_mod, K(ETCD_OP_GET)},
    {"min create revision", set_min_create, K(ETCD_OP_GET)},
    {"max create revision", set_max_create, K(ETCD_OP_GET)},
    {"prev-kv", etcd_op_with_prev_kv, K(ETCD_OP_PUT) | K(ETCD_OP_DELETE)},
    {"lease", set_lease, K(ETCD_OP_PUT)},
    {"ignore-value", etcd_op_with_ignore_value, K(ETCD_OP_PUT)},
    {"ignore-lease", etcd_op_with_ignore_lease, K(ETCD_OP_PUT)},
    {"physical", etcd_op_with_physical, K(ETCD_OP_COMPACT)},
};

static etcd_op *new_op(etcd_op_type t)
{
    switch (t) {
    case ETCD_OP_GET:
        return etcd_op_get("k", 1);
    case ETCD_OP_PUT:
        return etcd_op_put("k", 1, NULL, 0);
    case ETCD_OP_DELETE:
        return etcd_op_delete("k", 1);
    case ETCD_OP_COMPACT:
        return etcd_op_compact(5);
    case ETCD_OP_TXN: {
        etcd_txn *txn = etcd_txn_new();
        assert_non_null(txn);
        return etcd_op_txn(txn);
    }
    }
    return NULL;
}

/* Every option on every kind: accepted where it applies, a sticky error naming it elsewhere. */
static void test_option_kind_matrix(void **state)
{
    (void)state;
    static const char *const kind_names[] = {"get", "put", "delete", "txn", "compact"};
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        for (etcd_op_type t = ETCD_OP_GET; t <= ETCD_OP_COMPACT; t++) {
            etcd_op *op = new_op(t);
            assert_non_null(op);
            etcd_code rc = options[i].set(op);
            if (options[i].kinds & K(t)) {
                if (rc != ETCD_OK)
                    fail_msg("%s on a %s op: %d", options[i].what, kind_names[t], rc);
                assert_op_ok(op);
            } else {
                if (rc != ETCD_E_INVALID_ARGUMENT)
                    fail_msg("%s on a %s op was accepted", options[i].what, kind_names[t]);
                char want[96];
                snprintf(want, sizeof want, "%s does not apply to a %s op", options[i].what, kind_names[t]);
                assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, want);
            }
            etcd_op_free(op);
        }
    }
}

/* NULL op: every setter reports an invalid argument instead of crashing. */
static void test_null_op(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        assert_int_equal(options[i].set(NULL), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_with_limit(NULL, -1), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_set_timeout_ms(NULL, 100), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_set_require_leader(NULL, 1), ETCD_E_INVALID_ARGUMENT);
    assert_null(etcd_op_txn(NULL));

    etcd_error *err = NULL;
    assert_int_equal(etcd_op_check(NULL, &err), ETCD_E_INVALID_ARGUMENT);
    assert_non_null(err);
    assert_contains(etcd_error_message(err), "op is NULL");
    etcd_error_free(err);
    etcd_op_free(NULL);
}

/* ---- sticky errors ---- */

/* The first error is kept; later setters still run but do not replace it. */
static void test_first_error_wins(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_with_limit(op, -5), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_with_rev(op, -6), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_with_prev_kv(op), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(etcd_op_with_limit(op, 5), ETCD_OK); /* a valid setter still applies ... */
    assert_int_equal(range_req(op)->limit, 5);

    etcd_error *err = NULL;
    assert_int_equal(etcd_op_check(op, &err), ETCD_E_INVALID_ARGUMENT); /* ... but the op stays invalid */
    assert_contains(etcd_error_message(err), "limit must be >= 0 (got -5)");
    assert_null(strstr(etcd_error_message(err), "revision"));
    etcd_error_free(err);
    etcd_op_free(op);
}

static void test_timeout_and_require_leader(void **state)
{
    (void)state;
    etcd_op *op = etcd_op_get("k", 1);
    assert_int_equal(etcd_op_set_timeout_ms(op, 1500), ETCD_OK);
    assert_int_equal(op->timeout_ms, 1500);
    assert_int_equal(etcd_op_set_require_leader(op, 7), ETCD_OK);
    assert_int_equal(op->require_leader, 1);
    assert_int_equal(etcd_op_set_require_leader(op, 0), ETCD_OK);
    assert_int_equal(op->require_leader, 0);
    assert_op_ok(op);

    assert_int_equal(etcd_op_set_timeout_ms(op, 0), ETCD_E_INVALID_ARGUMENT);
    assert_int_equal(op->timeout_ms, 1500);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "timeout must be > 0 ms (got 0)");
    etcd_op_free(op);

    op = etcd_op_compact(3);
    assert_int_equal(etcd_op_set_timeout_ms(op, -1), ETCD_E_INVALID_ARGUMENT);
    assert_op_fails(op, ETCD_E_INVALID_ARGUMENT, "compact: timeout must be > 0 ms (got -1)");
    etcd_op_free(op);
}

/* The built request encodes and decodes to the same fields (it is what goes on the wire). */
static void test_get_request_round_trip(void **state)
{
    (void)state;
    const char key[] = {'\0', 'p', (char)0xff};
    etcd_op *op = etcd_op_get(key, sizeof key);
    assert_int_equal(etcd_op_with_prefix(op), ETCD_OK);
    assert_int_equal(etcd_op_with_limit(op, 3), ETCD_OK);
    assert_int_equal(etcd_op_with_sort(op, ETCD_SORT_BY_VERSION, ETCD_SORT_DESCEND), ETCD_OK);
    assert_int_equal(etcd_op_with_serializable(op), ETCD_OK);
    assert_int_equal(etcd_op_with_max_create_rev(op, 9), ETCD_OK);

    const ProtobufCMessage *m = etcd_op_message(op);
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), n);
    Etcdserverpb__RangeRequest *r = etcdserverpb__range_request__unpack(NULL, n, buf);
    assert_non_null(r);
    assert_bytes(r->key, key, sizeof key);
    assert_bytes(r->range_end, "\0q", 2);
    assert_int_equal(r->limit, 3);
    assert_int_equal(r->sort_target, ETCDSERVERPB__RANGE_REQUEST__SORT_TARGET__VERSION);
    assert_int_equal(r->sort_order, ETCDSERVERPB__RANGE_REQUEST__SORT_ORDER__DESCEND);
    assert_true(r->serializable);
    assert_int_equal(r->max_create_revision, 9);
    etcdserverpb__range_request__free_unpacked(r, NULL);
    free(buf);
    etcd_op_free(op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_single_key),
        cmocka_unit_test(test_binary_key_and_value_are_copied),
        cmocka_unit_test(test_put_defaults_and_empty_value),
        cmocka_unit_test(test_delete_single_key),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_compact_revision_must_be_positive),
        cmocka_unit_test(test_range_end),
        cmocka_unit_test(test_range_end_null_with_length),
        cmocka_unit_test(test_empty_key_is_refused),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_empty_key_prefix_and_from_key),
        cmocka_unit_test(test_from_key),
        cmocka_unit_test(test_get_options),
        cmocka_unit_test(test_sort_mapping),
        cmocka_unit_test(test_unknown_sort_target_or_order),
        cmocka_unit_test(test_negative_numbers),
        cmocka_unit_test(test_put_options),
        cmocka_unit_test(test_delete_prev_kv),
        cmocka_unit_test(test_put_empty_key),
        cmocka_unit_test(test_null_bytes_with_length),
        cmocka_unit_test(test_ignore_value_with_value),
        cmocka_unit_test(test_lease_with_ignore_lease),
        cmocka_unit_test(test_option_kind_matrix),
        cmocka_unit_test(test_null_op),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_timeout_and_require_leader),
        cmocka_unit_test(test_get_request_round_trip),
    };
    return cmocka_run_group_tests_name("op", tests, NULL, NULL);
}
