/* errors.c - error messages worded and reported as etcdctl reports them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

void ctl_print_error(const ctl_buf *msg)
{
    /* Anything already printed belongs before the error, as it would with unbuffered output. */
    fflush(stdout);
    fputs("Error: ", stderr);
    buf_write(msg, stderr);
    fputc('\n', stderr);
}

int ctl_fail_buf(int code, const ctl_buf *msg)
{
    ctl_print_error(msg);
    return code;
}

int ctl_fail(int code, const char *fmt, ...)
{
    ctl_buf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    ctl_fail_buf(code, &msg);
    buf_free(&msg);
    return code;
}

/* grpc-go's names for the status codes, as its errors print them. */
static const char *const grpc_code_names[] = {
    "OK",       "Canceled",           "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
};

/* gRPC's C core and grpc-go word a few client-side failures differently; etcdctl shows Go's. */
static void grpc_go_message(const char *msg, ctl_buf *out)
{
    static const struct {
        const char *core, *go;
    } words[] = {
        {"Sent message larger than max", "trying to send message larger than max"},
        {"Received message larger than max", "grpc: received message larger than max"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].core);
        if (strncmp(msg, words[i].core, n) == 0) {
            buf_printf(out, "%s%s", words[i].go, msg + n);
            return;
        }
    }
    buf_adds(out, msg);
}

void ctl_error_text(etcd_code rc, const etcd_error *err, ctl_buf *out)
{
    etcd_code cause = err ? etcd_error_cause(err) : rc;
    /* etcdctl's failures come from Go contexts: these are their standard texts. */
    if (cause == ETCD_E_DEADLINE) {
        buf_adds(out, "context deadline exceeded");
        return;
    }
    if (cause == ETCD_E_CANCELLED) {
        buf_adds(out, "context canceled");
        return;
    }
    int status = err ? etcd_error_grpc_status(err) : -1;
    const char *msg = err ? etcd_error_server_message(err) : NULL;
    /* Refused before sending by the client's limit: grpc-go words it as a status error too. */
    if (cause == ETCD_E_MESSAGE_TOO_LARGE && status < 0 && msg && *msg) {
        buf_printf(out, "rpc error: code = ResourceExhausted desc = %s", msg);
        return;
    }
    if (status > 0 && status < (int)(sizeof grpc_code_names / sizeof grpc_code_names[0]) && msg && *msg) {
        /* etcd's own rejections print as their message alone ("etcdserver: key not found"),
         * as etcd's Go client turns them into errors of their own; any other failed call is
         * a gRPC status error: "rpc error: code = ResourceExhausted desc = ...". */
        if (strncmp(msg, "etcdserver: ", 12) == 0) {
            buf_adds(out, msg);
        } else {
            buf_printf(out, "rpc error: code = %s desc = ", grpc_code_names[status]);
            grpc_go_message(msg, out);
        }
        return;
    }
    if (cause <= ETCD_E_COMPACTED) {
        buf_printf(out, "etcdserver: %s", etcd_strerror(cause));
        return;
    }
    buf_adds(out, err ? etcd_error_message(err) : etcd_strerror(rc));
}
