/* The etcd_error object: construction, accessors, and code names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"

static const char nomem_message[] = "out of memory";

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static etcd_error *error_alloc(etcd_code code)
{
    etcd_error *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->code = code;
    e->cause = code;
    e->grpc_status = -1;
    return e;
}

etcd_code etcd_error_vset(etcd_error **out, etcd_code code, const char *fmt, va_list ap)
{
    if (!out)
        return code;
    etcd_error *e = error_alloc(code);
    if (e && vasprintf(&e->message, fmt, ap) < 0)
        e->message = NULL;
    *out = e;
    return code;
}

etcd_code etcd_error_set(etcd_error **out, etcd_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    etcd_error_vset(out, code, fmt, ap);
    va_end(ap);
    return code;
}

etcd_error *etcd_error_new_call(etcd_code code, etcd_code cause, int grpc_status, const char *server_message,
                                const char *endpoint, const char *what)
{
    etcd_error *e = error_alloc(code);
    if (!e)
        return NULL;
    e->cause = cause;
    e->grpc_status = grpc_status;
    e->server_message = dup_or_null(server_message);
    e->endpoint = dup_or_null(endpoint);
    const char *detail = server_message && *server_message ? server_message : etcd_strerror(cause);
    int n;
    if (code == ETCD_E_OUTCOME_UNKNOWN)
        n = asprintf(&e->message, "%s%s%s: outcome unknown, the write may have been applied: %s", what ? what : "call",
                     endpoint ? " to " : "", endpoint ? endpoint : "", detail);
    else
        n = asprintf(&e->message, "%s%s%s failed: %s", what ? what : "call", endpoint ? " to " : "",
                     endpoint ? endpoint : "", detail);
    if (n < 0)
        e->message = NULL;
    return e;
}

etcd_error *etcd_error_copy(const etcd_error *src)
{
    etcd_error *e = error_alloc(src->code);
    if (!e)
        return NULL;
    e->cause = src->cause;
    e->grpc_status = src->grpc_status;
    e->message = dup_or_null(src->message);
    e->server_message = dup_or_null(src->server_message);
    e->endpoint = dup_or_null(src->endpoint);
    e->compact_revision = src->compact_revision;
    return e;
}

etcd_code etcd_error_code(const etcd_error *err)
{
    return err ? err->code : ETCD_E_INVALID_ARGUMENT;
}

etcd_code etcd_error_cause(const etcd_error *err)
{
    return err ? err->cause : ETCD_E_INVALID_ARGUMENT;
}

etcd_outcome etcd_error_outcome(const etcd_error *err)
{
    return err && err->code == ETCD_E_OUTCOME_UNKNOWN ? ETCD_OUTCOME_UNKNOWN : ETCD_OUTCOME_NOT_APPLIED;
}

const char *etcd_error_message(const etcd_error *err)
{
    if (!err)
        return "(no error)";
    return err->message ? err->message : (err->code == ETCD_E_NOMEM ? nomem_message : etcd_strerror(err->code));
}

int etcd_error_grpc_status(const etcd_error *err)
{
    return err ? err->grpc_status : -1;
}

const char *etcd_error_server_message(const etcd_error *err)
{
    return err ? err->server_message : NULL;
}

const char *etcd_error_endpoint(const etcd_error *err)
{
    return err ? err->endpoint : NULL;
}

void etcd_error_free(etcd_error *err)
{
    if (!err)
        return;
    free(err->message);
    free(err->server_message);
    free(err->endpoint);
    free(err);
}
