/*
 * cmd_txn.c - "txn": one transaction read from stdin as etcdctl reads it: compares, a blank
 * line, the requests to run when they all hold, a blank line, the requests to run otherwise,
 * a blank line. With -i each part is announced by a prompt.
 * Output: SUCCESS or FAILURE, then each request's response after a blank line.
 *
 * The whole transaction is read before connecting, so input errors never wait on the network.
 * Like etcdctl, the commit has no --command-timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * stdin as etcdctl reads a txn: through a 4 KiB read-ahead buffer (Go's bufio.Reader), while a
 * put without a value reads its value from stdin itself. That value is therefore whatever the
 * buffer has not taken yet: nothing for a short txn (the put fails for want of a value), the
 * rest of the input for a longer one, after which the txn's own reading finds the end of input.
 */
#define READ_AHEAD 4096

typedef struct txn_reader {
    char buf[READ_AHEAD];
    size_t r, w; /* unread bytes: buf[r, w) */
    ctl_buf line;
} txn_reader;

/* bufio's ReadString('\n'): the next line with its newline; a last line without one is an
 * error ("EOF"), not a line. */
static bool read_string(txn_reader *rd)
{
    buf_reset(&rd->line);
    for (;;) {
        char *nl = memchr(rd->buf + rd->r, '\n', rd->w - rd->r);
        if (nl) {
            size_t end = (size_t)(nl - rd->buf) + 1;
            buf_add(&rd->line, rd->buf + rd->r, end - rd->r);
            rd->r = end;
            return true;
        }
        if (rd->w - rd->r == READ_AHEAD) { /* a full buffer without a newline: keep it, go on */
            buf_add(&rd->line, rd->buf, READ_AHEAD);
            rd->r = rd->w = 0;
            continue;
        }
        if (rd->r > 0) {
            memmove(rd->buf, rd->buf + rd->r, rd->w - rd->r);
            rd->w -= rd->r;
            rd->r = 0;
        }
        ssize_t got = read(0, rd->buf + rd->w, READ_AHEAD - rd->w);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            buf_add(&rd->line, rd->buf + rd->r, rd->w - rd->r);
            rd->r = rd->w;
            return false;
        }
        rd->w += (size_t)got;
    }
}

/* The next line, trimmed. Returns 0, or an exit status after printing why. */
static int read_line(txn_reader *rd, const char **s, size_t *n)
{
    if (!read_string(rd))
        return ctl_fail(CTL_EXIT_INVALID_INPUT, "EOF");
    *s = rd->line.data;
    *n = rd->line.len;
    go_trim_space(s, n);
    return 0;
}

typedef struct txn_input {
    etcd_txn *txn;
    const char *server_error; /* the first compare or request etcd would refuse */
    txn_reader rd;
} txn_input;

static int read_compares(txn_input *in)
{
    for (;;) {
        const char *s = NULL;
        size_t n = 0;
        int rc = read_line(&in->rd, &s, &n);
        if (rc || n == 0)
            return rc;
        etcd_cmp *cmp;
        const char *server_error;
        rc = txn_parse_compare(s, n, &cmp, &server_error);
        if (rc)
            return rc;
        if (server_error && !in->server_error)
            in->server_error = server_error;
        if (cmp)
            etcd_txn_if(in->txn, cmp);
    }
}

static int read_requests(txn_input *in, bool then)
{
    for (;;) {
        const char *s = NULL;
        size_t n = 0;
        int rc = read_line(&in->rd, &s, &n);
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

    txn_input *in = ctl_xcalloc(1, sizeof *in);
    in->txn = etcd_txn_new();
    if (!in->txn) {
        free(in);
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    }
    prompt("compares:");
    rc = read_compares(in);
    if (rc == 0) {
        prompt("success requests (get, put, del):");
        rc = read_requests(in, true);
    }
    if (rc == 0) {
        prompt("failure requests (get, put, del):");
        rc = read_requests(in, false);
    }
    const char *server_error = in->server_error;
    etcd_op *op = etcd_op_txn(in->txn); /* takes the txn over */
    buf_free(&in->rd.line);
    free(in);
    if (rc == 0 && !op)
        rc = ctl_fail(CTL_EXIT_ERROR, "out of memory");

    ctl_session s = {0};
    etcd_response *resp = NULL;
    if (rc == 0)
        rc = ctl_connect(g, false, &s);
    if (rc == 0 && server_error)
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", server_error);
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
