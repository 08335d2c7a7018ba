/* The retrying wrapper service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry_service.h"
#include "rpc/cancel.h"
#include "rpc/rpc.h"

typedef struct retry_service {
    ProtobufCService base;
    ProtobufCService *inner;
    etcd_endpoint_set *eps;
    etcd_loop *loop;
    etcd_retry_policy policy;
    etcd_retry_class *classes;  /* one per method */
} retry_service;

typedef struct attempt {
    etcd_timer timer;           /* first: a fired timer is the attempt */
    etcd_rpc rpc;               /* this attempt's rpc, handed to the inner service */
    etcd_rpc *outer;
    ProtobufCClosure closure;
    retry_service *rs;
    unsigned method;
    const ProtobufCMessage *input;
    unsigned tries;             /* attempts started */
    unsigned sent_tries;        /* attempts that may have reached a server: the budget */
    etcd_endpoint *last;        /* the endpoint of the last failure, to avoid next time */
    uint32_t rnd;
    etcd_rpc answer;            /* the last failure a server answered with (e.g. no leader) */
} attempt;

static void start_attempt(attempt *a);

static void finish(attempt *a, ProtobufCMessage *msg)
{
    etcd_rpc *outer = a->outer;
    ProtobufCClosure closure = a->closure;
    /* A server's answer says more than a later connection failure or timeout. */
    if (a->rpc.code != ETCD_OK && a->answer.code != ETCD_OK && !a->rpc.outcome_unknown &&
        (a->rpc.code == ETCD_E_UNAVAILABLE || a->rpc.code == ETCD_E_DEADLINE))
        etcd_rpc_move_result(&a->rpc, &a->answer);
    etcd_rpc_move_result(outer, &a->rpc);
    etcd_rpc_reset_result(&a->answer);
    etcd_endpoint_unref(a->last);
    free(a);
    closure(msg, outer);
}

static void timer_fired(etcd_timer *t)
{
    attempt *a = (attempt *)t;
    /* After this, a cancel can no longer reach the timer: it is checked in start_attempt. */
    etcd_cancel_clear_hook(a->rpc.cancel);
    start_attempt(a);
}

/* Cancel hook: end the backoff wait now, so the cancellation is reported at once. */
static void expedite(void *arg)
{
    attempt *a = arg;
    etcd_loop_timer_expedite(a->rs->loop, &a->timer);
}

static uint32_t next_rand(attempt *a)
{
    /* xorshift: jitter only needs to differ between clients and attempts. */
    uint32_t x = a->rnd;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return a->rnd = x;
}

static void attempt_done(const ProtobufCMessage *msg, void *data)
{
    attempt *a = (attempt *)((char *)data - offsetof(attempt, rpc));
    retry_service *rs = a->rs;
    etcd_rpc *rpc = &a->rpc;
    etcd_endpoint *ep = rpc->endpoint;
    rpc->endpoint = NULL;
    if (rpc->code == ETCD_OK) {
        etcd_endpoint_unref(ep);
        finish(a, (ProtobufCMessage *)msg);
        return;
    }
    etcd_endpoint_unref(a->last);
    a->last = ep;

    etcd_retry_class cls = rpc->read_only ? ETCD_RETRY_REPEATABLE : rs->classes[a->method];
    /* Attempts that never left the client (no connection) do not use up the budget: like
     * clientv3's wait-for-ready, the call keeps trying until a member is back or the deadline. */
    if (rpc->maybe_sent)
        a->sent_tries++;
    bool may_retry = etcd_retry_allowed(cls, rpc->code, rpc->grpc_status, rpc->maybe_sent) &&
                     a->sent_tries < (unsigned)rs->policy.max_attempts;
    size_t n = etcd_endpoint_set_count(rs->eps);
    if (rpc->code == ETCD_E_NO_LEADER) {
        /* Require-leader: try each member once, then fail fast rather than wait for an election. */
        if (a->tries >= n)
            may_retry = false;
    }
    if (rpc->code != ETCD_E_UNAVAILABLE && rpc->code != ETCD_E_DEADLINE && rpc->grpc_status > 0 && may_retry) {
        etcd_rpc_reset_result(&a->answer);
        a->answer.code = rpc->code;
        a->answer.grpc_status = rpc->grpc_status;
        a->answer.details = rpc->details ? strdup(rpc->details) : NULL;
        a->answer.endpoint_name = rpc->endpoint_name ? strdup(rpc->endpoint_name) : NULL;
    }
    int64_t now = etcd_now_ms();
    if (may_retry && rpc->deadline_ms > 0 && now >= rpc->deadline_ms)
        may_retry = false;
    if (!may_retry) {
        rpc->outcome_unknown = etcd_retry_outcome_unknown(cls, rpc->code, rpc->maybe_sent);
        finish(a, NULL);
        return;
    }
    int64_t wait = etcd_retry_backoff_ms(&rs->policy, a->tries, n, next_rand(a));
    if (rpc->deadline_ms > 0 && now + wait > rpc->deadline_ms)
        wait = rpc->deadline_ms - now;
    /* Backoff timers are armed from the loop thread only, so the timer cannot fire before the
     * cancel hook is in place; a failure reported inside invoke retries at once. */
    if (wait > 0 && etcd_loop_on_thread(rs->loop) && etcd_loop_timer_add(rs->loop, &a->timer, now + wait)) {
        if (a->rpc.cancel && !etcd_cancel_set_hook(a->rpc.cancel, expedite, a))
            etcd_loop_timer_expedite(rs->loop, &a->timer);
        return;
    }
    start_attempt(a);
}

static void start_attempt(attempt *a)
{
    retry_service *rs = a->rs;
    if (a->tries > 0 && etcd_cancel_fired(a->rpc.cancel)) {
        /* Cancelled between attempts: the last attempt's failure stands, now as a cancellation. */
        bool sent = a->rpc.maybe_sent || a->rpc.outcome_unknown;
        etcd_rpc_fail(&a->rpc, ETCD_E_CANCELLED, "cancelled");
        a->rpc.maybe_sent = sent;
        a->rpc.outcome_unknown = sent && !a->rpc.read_only && rs->classes[a->method] == ETCD_RETRY_NON_REPEATABLE;
        if (a->last)
            a->rpc.endpoint_name = strdup(a->last->name);
        finish(a, NULL);
        return;
    }
    if (a->tries > 0 && a->rpc.deadline_ms > 0 && etcd_now_ms() >= a->rpc.deadline_ms) {
        /* The deadline passed while waiting: report it, with what the last attempt met. */
        char *last = a->rpc.details ? strdup(a->rpc.details) : NULL;
        etcd_rpc_fail(&a->rpc, ETCD_E_DEADLINE, "deadline exceeded while retrying%s%s", last ? "; last error: " : "",
                      last ? last : "");
        free(last);
        if (a->last)
            a->rpc.endpoint_name = strdup(a->last->name);
        finish(a, NULL);
        return;
    }
    etcd_endpoint *ep = etcd_endpoint_set_pick(rs->eps, a->last);
    if (!ep) {
        etcd_rpc_fail(&a->rpc, ETCD_E_UNAVAILABLE, "no endpoints configured");
        finish(a, NULL);
        return;
    }
    a->tries++;
    a->rpc.endpoint = ep;
    rs->inner->invoke(rs->inner, a->method, a->input, attempt_done, &a->rpc);
}

static void retry_invoke(ProtobufCService *service, unsigned method, const ProtobufCMessage *input,
                         ProtobufCClosure closure, void *closure_data)
{
    retry_service *rs = (retry_service *)service;
    etcd_rpc *outer = closure_data;
    attempt *a = calloc(1, sizeof *a);
    if (!a) {
        etcd_rpc_fail(outer, ETCD_E_NOMEM, "out of memory");
        closure(NULL, outer);
        return;
    }
    a->timer.fire = timer_fired;
    a->outer = outer;
    a->closure = closure;
    a->rs = rs;
    a->method = method;
    a->input = input;
    a->rpc.deadline_ms = outer->deadline_ms;
    a->rpc.require_leader = outer->require_leader;
    a->rpc.cancel = outer->cancel;
    a->rpc.read_only = outer->read_only;
    a->rpc.packed = outer->packed;
    a->rpc.grpc_status = -1;
    a->answer.grpc_status = -1;
    a->rnd = (uint32_t)(uintptr_t)a ^ (uint32_t)etcd_now_ms() ^ 0x9e3779b9u;
    if (!a->rnd)
        a->rnd = 1;
    start_attempt(a);
}

static void retry_destroy(ProtobufCService *service)
{
    retry_service *rs = (retry_service *)service;
    rs->inner->destroy(rs->inner);
    free(rs->classes);
    free(rs);
}

ProtobufCService *etcd_retry_service_new(ProtobufCService *inner, etcd_endpoint_set *eps, etcd_loop *loop,
                                         const etcd_retry_policy *policy)
{
    retry_service *rs = calloc(1, sizeof *rs);
    const ProtobufCServiceDescriptor *d = inner->descriptor;
    if (rs)
        rs->classes = calloc(d->n_methods, sizeof *rs->classes);
    if (!rs || !rs->classes) {
        free(rs);
        inner->destroy(inner);
        return NULL;
    }
    for (unsigned i = 0; i < d->n_methods; i++)
        rs->classes[i] = etcd_retry_class_of(d->name, d->methods[i].name);
    rs->base.descriptor = d;
    rs->base.invoke = retry_invoke;
    rs->base.destroy = retry_destroy;
    rs->inner = inner;
    rs->eps = eps;
    rs->loop = loop;
    rs->policy = *policy;
    return &rs->base;
}
