/*
 * cmd_txn.c - "txn": one transaction read from stdin as etcdctl reads it: compares, a blank
 * line, the requests to run when they all hold, a blank line, the requests to run otherwise,
 * a blank line. With -i each part is announced by a prompt.
 * Output: SUCCESS or FAILURE, then each request's response after a blank line.
 *
 * The whole transaction is read before connecting, so input errors never wait on the network.
 * Like etcdctl, the commit has no --command-timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"

static bool interactive, help;

static flag_spec *txn_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for txn", &help, false},
        {"interactive", 'i', FLAG_BOOL, "false", "Input transaction in interactive mode", &interactive, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static void prompt(const char *s)
{
    if (interactive) {
        printf("%s\n", s);
        fflush(stdout);
    }
}

/* The next line, trimmed. Like Go's ReadString('\n'), a last line without its newline is an
 * error ("EOF"), not a line. Returns 0, or an exit status after printing why. */
static int read_line(char **line, size_t *cap, const char **s, size_t *n)
{
    ssize_t got = getline(line, cap, stdin);
    if (got <= 0 || (*line)[got - 1] != '\n')
        return ctl_fail(CTL_EXIT_INVALID_INPUT, "EOF");
    *s = *line;
    *n = (size_t)got;
    go_trim_space(s, n);
    return 0;
}

typedef struct txn_input {
    etcd_txn *txn;
    const char *server_error; /* the first request etcd would refuse */
    char *line;
    size_t cap;
} txn_input;

static int read_compares(txn_input *in)
{
    for (;;) {
        const char *s = NULL;
        size_t n = 0;
        int rc = read_line(&in->line, &in->cap, &s, &n);
        if (rc || n == 0)
            return rc;
        etcd_cmp *cmp;
        rc = txn_parse_compare(s, n, &cmp);
        if (rc)
            return rc;
        etcd_txn_if(in->txn, cmp);
    }
}

static int read_requests(txn_input *in, bool then)
{
    for (;;) {
        const char *s = NULL;
        size_t n = 0;
        int rc = read_line(&in->line, &in->cap, &s, &n);
        if (rc || n == 0)
            return rc;
        ctl_request req;
        rc = txn_parse_request(s, n, &req);
        if (rc)
            return rc;
        if (req.server_error && !in->server_error)
            in->server_error = req.server_error;
        if (then)
            etcd_txn_then(in->txn, req.op);
        else
            etcd_txn_else(in->txn, req.op);
    }
}

static int run_txn(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 0)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "txn command does not accept argument");
    int rc = ctl_setup(g);
    if (rc)
        return rc;
    if (g->endpoints.n == 0)
        return ctl_fail(CTL_EXIT_BAD_CONNECTION, "etcdclient: no available endpoints");

    txn_input in = {etcd_txn_new(), NULL, NULL, 0};
    if (!in.txn)
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    prompt("compares:");
    rc = read_compares(&in);
    if (rc == 0) {
        prompt("success requests (get, put, del):");
        rc = read_requests(&in, true);
    }
    if (rc == 0) {
        prompt("failure requests (get, put, del):");
        rc = read_requests(&in, false);
    }
    free(in.line);
    etcd_op *op = etcd_op_txn(in.txn); /* takes the txn over */
    if (rc == 0 && !op)
        rc = ctl_fail(CTL_EXIT_ERROR, "out of memory");

    ctl_session s = {0};
    etcd_response *resp = NULL;
    if (rc == 0)
        rc = ctl_connect(g, false, &s);
    if (rc == 0 && in.server_error)
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", in.server_error);
    if (rc == 0)
        rc = ctl_send(&s, op, &resp);
    if (rc == 0)
        rc = ctl_display(g, resp, false);
    etcd_response_free(resp);
    ctl_close(&s);
    etcd_op_free(op);
    return rc;
}

ctl_command ctl_cmd_txn = {
    .name = "txn",
    .use = "txn [options]",
    .short_desc = "Txn processes all the requests in one transaction",
    .flags = txn_flags,
    .run = run_txn,
    .parent = &ctl_cmd_root,
};
