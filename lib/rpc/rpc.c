/* Helpers for etcd_rpc results. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc.h"

void *etcd_rpc_state_new(etcd_rpc *rpc, size_t size, bool *borrowed)
{
    if (rpc->scratch && rpc->scratch_len >= size) {
        void *p = rpc->scratch;
        rpc->scratch = NULL; /* one user at a time: a retry's next attempt gets it back */
        memset(p, 0, size);
        *borrowed = true;
        return p;
    }
    *borrowed = false;
    return calloc(1, size);
}

void etcd_rpc_state_free(etcd_rpc *rpc, void *state, bool borrowed)
{
    if (borrowed)
        rpc->scratch = state;
    else
        free(state);
}

void etcd_rpc_reset_result(etcd_rpc *rpc)
{
    /* An arena nobody took (its response was dropped) is freed here. */
    etcd_arena_free(rpc->arena);
    rpc->arena = NULL;
    free(rpc->details);
    free(rpc->endpoint_name);
    rpc->details = NULL;
    rpc->endpoint_name = NULL;
    rpc->code = ETCD_OK;
    rpc->cause = ETCD_OK;
    rpc->grpc_status = -1;
    rpc->maybe_sent = false;
    rpc->outcome_unknown = false;
}

void etcd_rpc_move_result(etcd_rpc *to, etcd_rpc *from)
{
    etcd_rpc_reset_result(to);
    to->code = from->code;
    to->cause = from->cause;
    to->grpc_status = from->grpc_status;
    to->details = from->details;
    to->endpoint_name = from->endpoint_name;
    to->maybe_sent = from->maybe_sent;
    to->outcome_unknown = from->outcome_unknown;
    to->arena = from->arena;
    from->arena = NULL;
    from->details = NULL;
    from->endpoint_name = NULL;
    etcd_rpc_reset_result(from);
}

void etcd_rpc_fail(etcd_rpc *rpc, etcd_code code, const char *fmt, ...)
{
    etcd_rpc_reset_result(rpc);
    rpc->code = code;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&rpc->details, fmt, ap) < 0)
        rpc->details = NULL;
    va_end(ap);
}

int64_t etcd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

etcd_arena *etcd_rpc_take_arena(etcd_rpc *rpc)
{
    etcd_arena *a = rpc->arena;
    rpc->arena = NULL;
    return a;
}
