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
    etcd_ready_gate *gate;
    etcd_transport *transport;
    etcd_loop *loop;
    etcd_retry_policy policy;
    etcd_retry_class *classes;  /* one per method */
} retry_service;

/* Where an attempt is between tries. Every wait is a loop timer, so a cancel can end it. */
typedef enum wait_state {
    RUNNING,                    /* an attempt is in flight, or none has started */
    BACKOFF,                    /* waiting out the backoff */
    HANDOFF,                    /* moving to the loop thread, to park there */
    PARKED                      /* waiting for a connected endpoint (timer: the deadline) */
} wait_state;

typedef struct attempt {
    etcd_timer timer;           /* first: a fired timer is the attempt */
    etcd_ready_waiter waiter;
    wait_state state;
    bool hooked;                /* a cancel hook may be set: clear it before the attempt ends */
    etcd_rpc rpc;               /* this attempt's rpc, handed to the inner service */
    etcd_rpc *outer;
    ProtobufCClosure closure;
    retry_service *rs;
    unsigned method;
    const ProtobufCMessage *input;
    etcd_retry_class cls;
    unsigned tries;             /* attempts started */
    unsigned sent_tries;        /* attempts that may have reached a server: the budget */
    bool maybe_sent;            /* any attempt may have reached a server */
    etcd_endpoint *last;        /* the endpoint of the last failure, to avoid next time */
    uint32_t rnd;
    etcd_rpc answer;            /* the last failure a server answered with (e.g. no leader) */
    bool borrowed;              /* lives in the caller's scratch (etcd_rpc_state_new) */
} attempt;

/* The attempt takes the first part of the caller's scratch, the gRPC call the rest. */
_Static_assert(sizeof(attempt) <= ETCD_RPC_SCRATCH_ATTEMPT, "a retry attempt must fit its part of an rpc scratch");

static void start_attempt(attempt *a);

static void finish(attempt *a, ProtobufCMessage *msg)
{
    etcd_rpc *outer = a->outer;
    ProtobufCClosure closure = a->closure;
    if (a->hooked)
        etcd_cancel_clear_hook(a->rpc.cancel);
    if (a->rpc.code != ETCD_OK) {
        /* The write-safety rule (lib/retry/policy.c) decides, once, from what the call met. */
        a->rpc.maybe_sent = a->maybe_sent;
        /* gRPC status OK with a failure: the server answered, but the answer was lost. */
        etcd_code met = a->rpc.grpc_status == 0 ? ETCD_OK : a->rpc.code;
        a->rpc.outcome_unknown = etcd_retry_outcome_unknown(a->cls, met, a->maybe_sent);
        if (!a->rpc.endpoint_name && a->last)
            a->rpc.endpoint_name = strdup(a->last->name);
    }
    etcd_rpc_move_result(outer, &a->rpc);
    etcd_rpc_reset_result(&a->answer);
    etcd_endpoint_unref(a->last);
    etcd_rpc_state_free(outer, a, a->borrowed);
    closure(msg, outer);
}

/* Ends the call with `code` (cancelled, deadline) instead of the last attempt's result. For a
 * deadline that result becomes the cause, what the call met before it ran out; a cancellation
 * is its own cause. */
static void finish_with(attempt *a, etcd_code code, const char *what)
{
    etcd_rpc *last = a->answer.code != ETCD_OK ? &a->answer : &a->rpc;
    etcd_code cause = code == ETCD_E_DEADLINE && last->code != ETCD_OK ? last->code : code;
    char *detail = last->details ? strdup(last->details) : NULL;
    int status = last->grpc_status;
    char *ep = last->endpoint_name ? strdup(last->endpoint_name) : NULL;
    etcd_rpc_fail(&a->rpc, code, "%s%s%s", what, detail ? "; last error: " : "", detail ? detail : "");
    a->rpc.cause = cause;
    a->rpc.grpc_status = status;
    a->rpc.endpoint_name = ep;
    free(detail);
    finish(a, NULL);
}

/* Cancel hook: end the current wait now, so the cancellation is reported at once. */
static void expedite(void *arg)
{
    attempt *a = arg;
    etcd_loop_timer_expedite(a->rs->loop, &a->timer);
}

/* Waits on the attempt's timer until when_ms (or a cancel). False when out of memory. Off the
 * loop thread the timer may fire, and the attempt end, as soon as it is armed: nothing here
 * touches the attempt after that. */
static bool wait_until(attempt *a, wait_state st, int64_t when_ms)
{
    etcd_loop *loop = a->rs->loop;
    etcd_cancel *cancel = a->rpc.cancel;
    bool on_loop = etcd_loop_on_thread(loop);
    /* The hook goes in before the timer is armed; a cancel that comes in between finds no timer
     * to hurry, so it is looked for again below (on the loop thread the timer cannot fire under
     * us; off it, the wait is a hand-off due at once anyway). */
    a->hooked = cancel != NULL;
    if (cancel && !etcd_cancel_set_hook(cancel, expedite, a))
        when_ms = 0;
    a->state = st;
    if (!etcd_loop_timer_add(loop, &a->timer, when_ms)) {
        a->state = RUNNING;
        etcd_cancel_clear_hook(cancel);
        return false;
    }
    if (on_loop && etcd_cancel_fired(cancel))
        etcd_loop_timer_expedite(loop, &a->timer);
    return true;
}

static void timer_fired(etcd_timer *t)
{
    attempt *a = (attempt *)t;
    /* After this, a cancel can no longer reach the timer: it is checked in start_attempt. */
    etcd_cancel_clear_hook(a->rpc.cancel);
    if (a->state == PARKED)
        etcd_ready_gate_cancel(a->rs->gate, &a->waiter);
    a->state = RUNNING;
    start_attempt(a);
}

static void endpoint_ready(etcd_ready_waiter *w)
{
    attempt *a = (attempt *)((char *)w - offsetof(attempt, waiter));
    /* On the loop thread, like the timer: cancelled here, it is certain not to fire. */
    etcd_cancel_clear_hook(a->rpc.cancel);
    etcd_loop_timer_cancel(a->rs->loop, &a->timer);
    a->state = RUNNING;
    start_attempt(a);
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

static void keep_answer(attempt *a, const etcd_rpc *rpc)
{
    etcd_rpc_reset_result(&a->answer);
    a->answer.code = rpc->code;
    a->answer.grpc_status = rpc->grpc_status;
    a->answer.details = rpc->details ? strdup(rpc->details) : NULL;
    a->answer.endpoint_name = rpc->endpoint_name ? strdup(rpc->endpoint_name) : NULL;
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
    if (rpc->maybe_sent) {
        a->maybe_sent = true;
        a->sent_tries++;
    }
    /* A server's answer says more than a later connection failure or timeout. */
    if (rpc->grpc_status > 0 && rpc->code != ETCD_E_UNAVAILABLE && rpc->code != ETCD_E_DEADLINE)
        keep_answer(a, rpc);
    bool may_retry = etcd_retry_allowed(a->cls, rpc->code, rpc->grpc_status, rpc->maybe_sent) &&
                     a->sent_tries < (unsigned)rs->policy.max_attempts;
    size_t n = etcd_endpoint_set_count(rs->eps);
    /* Require-leader: try each member once, then fail fast rather than wait for an election. */
    if (rpc->code == ETCD_E_NO_LEADER && a->tries >= n)
        may_retry = false;
    int64_t now = etcd_now_ms();
    if (may_retry && rpc->deadline_ms > 0 && now >= rpc->deadline_ms) {
        finish_with(a, ETCD_E_DEADLINE, "deadline exceeded while retrying");
        return;
    }
    if (!may_retry) {
        /* The deadline cut the call short: report it as such, with what came before it. */
        if (rpc->code == ETCD_E_DEADLINE && a->answer.code != ETCD_OK) {
            finish_with(a, ETCD_E_DEADLINE, "deadline exceeded");
            return;
        }
        finish(a, NULL);
        return;
    }
    int64_t wait = etcd_retry_backoff_ms(&rs->policy, a->tries, n, next_rand(a));
    if (rpc->deadline_ms > 0 && now + wait > rpc->deadline_ms)
        wait = rpc->deadline_ms - now;
    /* Waits are armed from the loop thread only, so a timer cannot fire before its cancel hook is
     * in place; a failure reported inside invoke retries at once. */
    if (wait > 0 && etcd_loop_on_thread(rs->loop) && wait_until(a, BACKOFF, now + wait))
        return;
    start_attempt(a);
}

/* Far enough away never to fire, near enough not to overflow the loop's arithmetic. */
#define NO_DEADLINE_MS (INT64_MAX / 4)

/* No endpoint is connected: park until one is, the deadline, or a cancel. */
static void park(attempt *a)
{
    retry_service *rs = a->rs;
    if (!etcd_loop_on_thread(rs->loop)) {
        /* Parking happens on the loop thread, where the gate and its wake-ups live. */
        if (wait_until(a, HANDOFF, 0))
            return;
        etcd_rpc_fail(&a->rpc, ETCD_E_NOMEM, "out of memory waiting for a connection");
        finish(a, NULL);
        return;
    }
    int64_t until = a->rpc.deadline_ms > 0 ? a->rpc.deadline_ms : NO_DEADLINE_MS;
    if (!wait_until(a, PARKED, until)) {
        etcd_rpc_fail(&a->rpc, ETCD_E_NOMEM, "out of memory waiting for a connection");
        finish(a, NULL);
        return;
    }
    etcd_ready_wait_result r = etcd_ready_gate_wait(rs->gate, &a->waiter);
    if (r == ETCD_READY_PARKED)
        return;
    /* Connected meanwhile, or no memory to park: go on now / after a backoff. */
    etcd_cancel_clear_hook(a->rpc.cancel);
    etcd_loop_timer_cancel(rs->loop, &a->timer);
    a->state = RUNNING;
    if (r == ETCD_READY_NOMEM && wait_until(a, BACKOFF, etcd_now_ms() + (rs->policy.backoff_ms > 0 ? rs->policy.backoff_ms : 25)))
        return;
    start_attempt(a);
}

static void start_attempt(attempt *a)
{
    retry_service *rs = a->rs;
    if (etcd_cancel_fired(a->rpc.cancel) || etcd_transport_closing(rs->transport)) {
        finish_with(a, ETCD_E_CANCELLED, etcd_cancel_fired(a->rpc.cancel) ? "cancelled" : "the client is closing");
        return;
    }
    if (a->rpc.deadline_ms > 0 && etcd_now_ms() >= a->rpc.deadline_ms) {
        if (a->tries) {
            finish_with(a, ETCD_E_DEADLINE, "deadline exceeded while retrying");
            return;
        }
        /* Never started: nothing left the client. Say what the endpoints were doing. */
        char *states = etcd_ready_gate_describe(rs->gate);
        char what[512];
        snprintf(what, sizeof what, "deadline exceeded before any endpoint was connected (%s)", states ? states : "");
        free(states);
        finish_with(a, ETCD_E_DEADLINE, what);
        return;
    }
    bool ready;
    etcd_endpoint *ep = etcd_endpoint_set_pick(rs->eps, a->last, &ready);
    if (!ep) {
        etcd_rpc_fail(&a->rpc, ETCD_E_UNAVAILABLE, "no endpoints configured");
        finish(a, NULL);
        return;
    }
    if (!ready) {
        /* The pick prefers connected endpoints: none is. */
        etcd_endpoint_unref(ep);
        park(a);
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
    bool borrowed;
    size_t scratch_len = outer->scratch ? outer->scratch_len : 0;
    attempt *a = etcd_rpc_state_new(outer, sizeof *a, &borrowed);
    if (!a) {
        etcd_rpc_fail(outer, ETCD_E_NOMEM, "out of memory");
        closure(NULL, outer);
        return;
    }
    a->borrowed = borrowed;
    if (borrowed && scratch_len >= ETCD_RPC_SCRATCH_BYTES) {
        a->rpc.scratch = (char *)a + ETCD_RPC_SCRATCH_ATTEMPT;
        a->rpc.scratch_len = scratch_len - ETCD_RPC_SCRATCH_ATTEMPT;
    }
    a->timer.fire = timer_fired;
    a->timer.heap_index = SIZE_MAX;
    a->waiter.ready = endpoint_ready;
    a->outer = outer;
    a->closure = closure;
    a->rs = rs;
    a->method = method;
    a->input = input;
    a->cls = outer->read_only ? ETCD_RETRY_REPEATABLE : rs->classes[method];
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

etcd_retry_class etcd_retry_service_class(ProtobufCService *service, unsigned method)
{
    return ((retry_service *)service)->classes[method];
}

static void retry_destroy(ProtobufCService *service)
{
    retry_service *rs = (retry_service *)service;
    rs->inner->destroy(rs->inner);
    free(rs->classes);
    free(rs);
}

ProtobufCService *etcd_retry_service_new(ProtobufCService *inner, etcd_endpoint_set *eps, etcd_ready_gate *gate,
                                         etcd_transport *transport, const etcd_retry_policy *policy)
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
    rs->gate = gate;
    rs->transport = transport;
    rs->loop = etcd_transport_loop(transport);
    rs->policy = *policy;
    return &rs->base;
}
