/*
 * cmd_get.c - "get KEY [RANGE_END]": reads a key or a range.
 * Output: each key and value on lines of their own (values only with --print-value-only).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"

void get_bind_flags(get_opts *o, flag_spec *out)
{
    const flag_spec f[] = {
        {"consistency", 0, FLAG_STRING, "l", "Linearizable(l) or Serializable(s)", &o->consistency, false},
        {"count-only", 0, FLAG_BOOL, "false", "Get only the count", &o->count_only, false},
        {"from-key", 0, FLAG_BOOL, "false",
         "Get keys that are greater than or equal to the given key using byte compare", &o->from_key, false},
        {"help", 'h', FLAG_BOOL, "false", "help for get", &o->help, false},
        {"keys-only", 0, FLAG_BOOL, "false", "Get only the keys", &o->keys_only, false},
        {"limit", 0, FLAG_INT64, "0", "Maximum number of results", &o->limit, false},
        {"order", 0, FLAG_STRING, "", "Order of results; ASCEND or DESCEND (ASCEND by default)", &o->order, false},
        {"prefix", 0, FLAG_BOOL, "false", "Get keys with matching prefix", &o->prefix, false},
        {"print-value-only", 0, FLAG_BOOL, "false", "Only write values when using the \"simple\" output format",
         &o->print_value_only, false},
        {"rev", 0, FLAG_INT64, "0", "Specify the kv revision", &o->rev, false},
        {"sort-by", 0, FLAG_STRING, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION", &o->sort_by, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    _Static_assert(sizeof f / sizeof *f <= CTL_MAX_FLAGS, "too many flags");
    memset(o, 0, sizeof *o);
    o->consistency = FLAG_STR("l");
    o->order = FLAG_STR("");
    o->sort_by = FLAG_STR("");
    memcpy(out, f, sizeof f);
}

static bool upper_is(flag_str v, const char *upper)
{
    if (v.n != strlen(upper))
        return false;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.s[i] >= 'a' && v.s[i] <= 'z' ? (char)(v.s[i] - 'a' + 'A') : v.s[i];
        if (c != upper[i])
            return false;
    }
    return true;
}

/* An error naming a value as it was given, bytes and all. */
static int bad_value(int code, const char *what, flag_str v)
{
    ctl_buf msg = {0};
    buf_adds(&msg, what);
    buf_add(&msg, v.s, v.n);
    int rc = ctl_fail_buf(code, &msg);
    buf_free(&msg);
    return rc;
}

int get_build(const get_opts *o, const ctl_strlist *args, ctl_request *req)
{
    req->op = NULL;
    req->server_error = NULL;
    if (args->n == 0)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "get command needs one argument as key and an optional argument as range_end");
    if (o->prefix && o->from_key)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
    if (o->keys_only && o->count_only)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "`--keys-only` and `--count-only` cannot be set at the same time, choose one");
    bool serializable = false;
    if (flag_str_is(o->consistency, "s")) {
        serializable = true;
    } else if (!flag_str_is(o->consistency, "l")) {
        ctl_buf q = {0};
        go_quote(&q, o->consistency.s, o->consistency.n);
        int rc = ctl_fail(CTL_EXIT_BAD_FEATURE, "unknown consistency flag %s", buf_str(&q));
        buf_free(&q);
        return rc;
    }
    if (args->n > 1 && (o->prefix || o->from_key))
        return ctl_fail(CTL_EXIT_BAD_ARGS,
                        "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");

    etcd_sort_order order = ETCD_SORT_NONE;
    if (upper_is(o->order, "ASCEND"))
        order = ETCD_SORT_ASCEND;
    else if (upper_is(o->order, "DESCEND"))
        order = ETCD_SORT_DESCEND;
    else if (o->order.n)
        return bad_value(CTL_EXIT_BAD_FEATURE, "bad sort order ", o->order);
    etcd_sort_target target = ETCD_SORT_BY_KEY;
    if (upper_is(o->sort_by, "CREATE"))
        target = ETCD_SORT_BY_CREATE_REVISION;
    else if (upper_is(o->sort_by, "KEY"))
        target = ETCD_SORT_BY_KEY;
    else if (upper_is(o->sort_by, "MODIFY"))
        target = ETCD_SORT_BY_MOD_REVISION;
    else if (upper_is(o->sort_by, "VALUE"))
        target = ETCD_SORT_BY_VALUE;
    else if (upper_is(o->sort_by, "VERSION"))
        target = ETCD_SORT_BY_VERSION;
    else if (o->sort_by.n)
        return bad_value(CTL_EXIT_BAD_FEATURE, "bad sort target ", o->sort_by);

    const char *key = args->items[0];
    size_t klen = args->lens[0];
    bool all = (o->prefix || o->from_key) && klen == 0;
    /* As etcdctl: an empty key with --prefix or --from-key means every key, from "\0". */
    req->op = all ? etcd_op_get("", 1) : etcd_op_get(key, klen);
    if (!req->op)
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    if (!all && klen == 0)
        req->server_error = "etcdserver: key is not provided";
    if (serializable)
        etcd_op_with_serializable(req->op);
    if (args->n > 1)
        etcd_op_with_range_end(req->op, args->items[1], args->lens[1]);
    if (o->limit > 0) /* etcd reads a negative limit as none */
        etcd_op_with_limit(req->op, o->limit);
    if (o->rev > 0)
        etcd_op_with_rev(req->op, o->rev);
    etcd_op_with_sort(req->op, target, order);
    if (o->prefix && !all)
        etcd_op_with_prefix(req->op);
    if (o->from_key || all)
        etcd_op_with_from_key(req->op);
    if (o->keys_only)
        etcd_op_with_keys_only(req->op);
    if (o->count_only)
        etcd_op_with_count_only(req->op);
    return 0;
}

static get_opts opts;

static flag_spec *get_flags(void)
{
    static flag_spec specs[CTL_MAX_FLAGS];
    if (!specs[0].name)
        get_bind_flags(&opts, specs);
    return specs;
}

static int run_get(ctl_globals *g, const ctl_strlist *args)
{
    ctl_request req;
    ctl_session s = {0};
    etcd_response *resp = NULL;
    int rc = get_build(&opts, args, &req);
    if (rc == 0)
        rc = ctl_execute(g, &req, &s, &resp);
    if (rc == 0 && opts.print_value_only && g->format != CTL_FORMAT_SIMPLE)
        rc = ctl_fail(CTL_EXIT_BAD_ARGS, "print-value-only is only for `--write-out=simple`");
    if (rc == 0 && opts.count_only && g->format == CTL_FORMAT_SIMPLE) {
        /* etcdctl 3.4 has no --count-only; the count alone is the useful simple output. */
        printf("%lld\n", (long long)etcd_response_count(resp));
    } else if (rc == 0) {
        rc = ctl_display(g, resp, opts.print_value_only);
    }
    etcd_response_free(resp);
    ctl_close(&s);
    etcd_op_free(req.op);
    return rc;
}

ctl_command ctl_cmd_get = {
    .name = "get",
    .use = "get [options] <key> [range_end]",
    .short_desc = "Gets the key or a range of keys",
    .flags = get_flags,
    .run = run_get,
    .parent = &ctl_cmd_root,
};
