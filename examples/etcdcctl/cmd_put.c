/*
 * cmd_put.c - "put KEY [VALUE]": writes a key, the value from stdin when not given.
 * Output: "OK", then the previous key and value with --prev-kv.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "gotext.h"

#define NEEDS_ARGS "put command needs 1 argument and input from stdin or 2 arguments"

void put_bind_flags(put_opts *o, flag_spec *out)
{
    const flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for put", &o->help, false},
        {"ignore-lease", 0, FLAG_BOOL, "false", "updates the key using its current lease", &o->ignore_lease, false},
        {"ignore-value", 0, FLAG_BOOL, "false", "updates the key using its current value", &o->ignore_value, false},
        {"lease", 0, FLAG_STRING, "0", "lease ID (in hexadecimal) to attach to the key", &o->lease, false},
        {"prev-kv", 0, FLAG_BOOL, "false", "return the previous key-value pair before modification", &o->prev_kv,
         false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    _Static_assert(sizeof f / sizeof *f <= CTL_MAX_FLAGS, "too many flags");
    memset(o, 0, sizeof *o);
    o->lease = FLAG_STR("0");
    memcpy(out, f, sizeof f);
}

/* All of stdin; the value may hold any bytes. */
static void read_stdin(ctl_buf *out)
{
    char chunk[65536];
    ssize_t n;
    while ((n = read(0, chunk, sizeof chunk)) > 0)
        buf_add(out, chunk, (size_t)n);
}

int put_build(const put_opts *o, const ctl_strlist *args, ctl_request *req)
{
    req->op = NULL;
    req->server_error = NULL;
    if (args->n == 0)
        return ctl_fail(CTL_EXIT_BAD_ARGS, NEEDS_ARGS);
    if (o->ignore_value && args->n > 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "put command needs only 1 argument when 'ignore-value' is set");
    ctl_buf value = {0};
    if (!o->ignore_value && args->n > 1) {
        buf_add(&value, args->items[1], args->lens[1]);
    } else if (!o->ignore_value) {
        /* Inside a txn too, as etcdctl does: it gets what the txn's reader has not read ahead. */
        read_stdin(&value);
        if (value.len == 0) {
            buf_free(&value);
            return ctl_fail(CTL_EXIT_BAD_ARGS, NEEDS_ARGS);
        }
    }
    int64_t lease;
    ctl_buf why = {0};
    if (!go_parse_int(o->lease.s, o->lease.n, 16, &lease, &why)) {
        ctl_buf msg = {0};
        buf_adds(&msg, "bad lease ID (");
        buf_add(&msg, why.data, why.len);
        buf_adds(&msg, "), expecting ID in Hex");
        int rc = ctl_fail_buf(CTL_EXIT_BAD_ARGS, &msg);
        buf_free(&msg);
        buf_free(&why);
        buf_free(&value);
        return rc;
    }
    buf_free(&why);

    const char *key = args->items[0];
    size_t klen = args->lens[0];
    req->op = etcd_op_put(key, klen, value.data, value.len);
    buf_free(&value);
    if (!req->op)
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    /* etcd checks these itself; the library refuses to build them, so report etcd's words. */
    if (klen == 0)
        req->server_error = "etcdserver: key is not provided";
    else if (o->ignore_lease && lease != 0)
        req->server_error = "etcdserver: lease is provided";
    if (lease != 0)
        etcd_op_with_lease(req->op, lease);
    if (o->prev_kv)
        etcd_op_with_prev_kv(req->op);
    if (o->ignore_value)
        etcd_op_with_ignore_value(req->op);
    if (o->ignore_lease)
        etcd_op_with_ignore_lease(req->op);
    return 0;
}

static put_opts opts;

static flag_spec *put_flags(void)
{
    static flag_spec specs[CTL_MAX_FLAGS];
    if (!specs[0].name)
        put_bind_flags(&opts, specs);
    return specs;
}

static int run_put(ctl_globals *g, const ctl_strlist *args)
{
    ctl_request req;
    int rc = put_build(&opts, args, &req);
    return ctl_execute_and_display(g, &req, rc);
}

ctl_command ctl_cmd_put = {
    .name = "put",
    .use = "put [options] <key> <value> (<value> can also be given from stdin)",
    .short_desc = "Puts the given key into the store",
    .long_desc = "\n"
                 "Puts the given key into the store.\n"
                 "\n"
                 "When <value> begins with '-', <value> is interpreted as a flag.\n"
                 "Insert '--' for workaround:\n"
                 "\n"
                 "$ put <key> -- <value>\n"
                 "$ put -- <key> <value>\n"
                 "\n"
                 "If <value> isn't given as a command line argument and '--ignore-value' is not specified,\n"
                 "this command tries to read the value from standard input.\n"
                 "\n"
                 "If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,\n"
                 "this command tries to read the value from standard input.\n"
                 "\n"
                 "For example,\n"
                 "$ cat file | put <key>\n"
                 "will store the content of the file to <key>.\n",
    .flags = put_flags,
    .run = run_put,
    .parent = &ctl_cmd_root,
};
