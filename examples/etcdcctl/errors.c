/* errors.c - error messages worded and reported as etcdctl reports them. */
#include <stdarg.h>
#include <stdio.h>

#include "ctl.h"

int ctl_fail(int code, const char *fmt, ...)
{
    ctl_buf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    /* Anything already printed belongs before the error, as it would with unbuffered output. */
    fflush(stdout);
    fprintf(stderr, "Error: %s\n", buf_str(&msg));
    buf_free(&msg);
    return code;
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
    /* Server rejections: etcd's own message, e.g. "etcdserver: key not found". */
    if (cause <= ETCD_E_COMPACTED) {
        const char *srv = err ? etcd_error_server_message(err) : NULL;
        if (srv && *srv)
            buf_adds(out, srv);
        else
            buf_printf(out, "etcdserver: %s", etcd_strerror(cause));
        return;
    }
    buf_adds(out, err ? etcd_error_message(err) : etcd_strerror(rc));
}
