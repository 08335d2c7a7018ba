/*
 * cmd_del.c - "del KEY [RANGE_END]": deletes a key or a range.
 * Output: the number of keys deleted, then each deleted key and value with --prev-kv.
 */
#include <string.h>

#include "ctl.h"

void del_bind_flags(del_opts *o, flag_spec *out)
{
    const flag_spec f[] = {
        {"from-key", 0, FLAG_BOOL, "false",
         "delete keys that are greater than or equal to the given key using byte compare", &o->from_key, false},
        {"help", 'h', FLAG_BOOL, "false", "help for del", &o->help, false},
        {"prefix", 0, FLAG_BOOL, "false", "delete keys with matching prefix", &o->prefix, false},
        {"prev-kv", 0, FLAG_BOOL, "false", "return deleted key-value pairs", &o->prev_kv, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    _Static_assert(sizeof f / sizeof *f <= CTL_MAX_FLAGS, "too many flags");
    memset(o, 0, sizeof *o);
    memcpy(out, f, sizeof f);
}

int del_build(const del_opts *o, const ctl_strlist *args, ctl_request *req)
{
    req->op = NULL;
    req->server_error = NULL;
    if (args->n == 0 || args->n > 2)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "del command needs one argument as key and an optional argument as range_end");
    if (o->prefix && o->from_key)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
    if (args->n > 1 && (o->prefix || o->from_key))
        return ctl_fail(CTL_EXIT_BAD_ARGS,
                        "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
    const char *key = args->items[0];
    size_t klen = args->lens[0];
    bool all = (o->prefix || o->from_key) && klen == 0;
    /* As etcdctl: an empty key with --prefix or --from-key means every key, from "\0". */
    req->op = all ? etcd_op_delete("", 1) : etcd_op_delete(key, klen);
    if (!req->op)
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    if (!all && klen == 0)
        req->server_error = "etcdserver: key is not provided";
    if (args->n > 1)
        etcd_op_with_range_end(req->op, args->items[1], args->lens[1]);
    if (o->prefix && !all)
        etcd_op_with_prefix(req->op);
    if (o->prev_kv)
        etcd_op_with_prev_kv(req->op);
    if (o->from_key || all)
        etcd_op_with_from_key(req->op);
    return 0;
}

static del_opts opts;

static flag_spec *del_flags(void)
{
    static flag_spec specs[CTL_MAX_FLAGS];
    if (!specs[0].name)
        del_bind_flags(&opts, specs);
    return specs;
}

static int run_del(ctl_globals *g, const ctl_strlist *args)
{
    ctl_request req;
    int rc = del_build(&opts, args, &req);
    return ctl_execute_and_display(g, &req, rc);
}

ctl_command ctl_cmd_del = {
    .name = "del",
    .use = "del [options] <key> [range_end]",
    .short_desc = "Removes the specified key or range of keys [key, range_end)",
    .flags = del_flags,
    .run = run_del,
    .parent = &ctl_cmd_root,
};
