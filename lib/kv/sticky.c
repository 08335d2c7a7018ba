/* Sticky building errors: the first failure of a builder is kept and reported at send time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error/error_internal.h"
#include "op_internal.h"

etcd_code etcd_sticky_fail(etcd_sticky *s, etcd_code code, const char *fmt, ...)
{
    if (s->code != ETCD_OK)
        return code;
    s->code = code;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s->message, fmt, ap) < 0)
        s->message = NULL;
    va_end(ap);
    return code;
}

etcd_code etcd_sticky_report(const etcd_sticky *s, etcd_error **err)
{
    if (s->code == ETCD_OK)
        return ETCD_OK;
    return etcd_error_set(err, s->code, "%s", s->message ? s->message : etcd_strerror(s->code));
}

void etcd_sticky_clear(etcd_sticky *s)
{
    free(s->message);
    s->message = NULL;
    s->code = ETCD_OK;
}
