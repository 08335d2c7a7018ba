/*
 * The keepalive loop: every kept lease of a client (and every renew-once call) on one
 * LeaseKeepAlive stream. Each kept lease has one timer, armed for its next renewal or its local
 * expiry, whichever is first (the policy is schedule.c's); at expiry with no answer the lease is
 * lost, exactly once, and never renewed after. Renewals that fall due in one pass of the loop
 * leave in one write: the stream is corked at the first and uncorked once the loop is idle.
 * The stream carries require-leader, as clientv3's does, so a member without a leader cannot
 * keep leases "alive".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/call.h"
#include "call/id_table.h"
#include "call/outbox.h"
#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "lease_internal.h"
#include "schedule.h"
#include "rpc.pb-c.h"
#include "transport/decode.h"
#include "transport/stream.h"

static const char keepalive_path[] = "/etcdserverpb.Lease/LeaseKeepAlive";

enum { L_IDLE, L_CONNECTING, L_OPEN };
typedef enum kkind { K_KEEP, K_ONCE } kkind;

/* Far enough away never to fire, near enough not to overflow the loop's arithmetic. */
#define NO_DEADLINE_MS ETCD_RENEW_NEVER_MS

struct kept {
    etcd_call base;                 /* first: the handle is the kept lease */
    etcd_lease *l;
    kkind kind;
    etcd_id_link link;              /* in the table, by lease ID */
    bool renewals;                  /* deliver every renewal, not only the end */
    bool ended;
    etcd_renew_sched sched;
    int64_t armed_at;               /* when the timer is armed for; 0: not armed (fired) */
    int64_t deadline_ms;            /* K_ONCE: the call's deadline; 0: none */
    etcd_timer timer;
    etcd_timer cancel_timer;
    atomic_bool cancel_armed;       /* armed once, however often cancelled */
    atomic_bool registered;         /* in the table: a cancel may be moved to the loop now */
};

#define KEPT_OF(e) ((kept *)((char *)(e) - offsetof(kept, link)))

/* A renew-once's end only wakes the sync call waiting for it: it runs where it is found, since
 * the thread that would dispatch it (the stream thread, or the caller in caller dispatch) may
 * be the one that waits. */
static bool run_here(const etcd_delivery *d)
{
    return ((const kept *)d->call)->kind == K_ONCE;
}

static void free_delivery(etcd_delivery *d)
{
    free(d);
}

/* ---- ending ---- */

static void end_kept(kept *k, etcd_code code, etcd_response *resp, const char *why, etcd_outbox *o)
{
    if (k->ended)
        return;
    etcd_lease *l = k->l;
    k->ended = true;
    etcd_cancel_clear_hook(&k->base.cancel);
    etcd_loop_timer_cancel(l->ctx->loop, &k->timer);
    etcd_loop_timer_cancel(l->ctx->loop, &k->cancel_timer);
    etcd_id_table_remove(&l->kept, &k->link);
    k->base.final.code = code;
    k->base.final.resp = resp;
    k->base.final.err = code == ETCD_OK ? NULL
                                        : etcd_error_new_call(code, code, -1, why, NULL,
                                                              k->kind == K_KEEP ? "lease keep-alive" : "lease keep-alive-once");
    etcd_outbox_add(o, &k->base.final);
}

static void lost(kept *k, etcd_outbox *o)
{
    char why[128];
    snprintf(why, sizeof why, "lease %lld: no renewal was answered before its TTL ran out", (long long)k->link.id);
    end_kept(k, ETCD_E_LEASE_LOST, NULL, why, o);
}

/* ---- renewing ---- */

/* Idle task: the loop has nothing ready, so the renewals queued in this pass leave now. */
static void uncork_run(etcd_idle_task *t)
{
    etcd_lease *l = (etcd_lease *)((char *)t - offsetof(etcd_lease, uncork));
    pthread_mutex_lock(&l->mu);
    etcd_stream *s = l->corked;
    l->corked = NULL;
    if (s)
        etcd_stream_uncork(s);
    pthread_mutex_unlock(&l->mu);
}

/* Loop thread, locked. */
static bool send_renew(etcd_lease *l, kept *k, int64_t now)
{
    Etcdserverpb__LeaseKeepAliveRequest req = ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
    req.id = k->link.id;
    size_t n = protobuf_c_message_get_packed_size(&req.base);
    grpc_slice sl = grpc_slice_malloc(n);
    protobuf_c_message_pack(&req.base, GRPC_SLICE_START_PTR(sl));
    if (!l->corked) {
        etcd_stream_cork(l->stream);
        l->corked = l->stream;
        etcd_loop_defer(l->ctx->loop, &l->uncork);
    }
    if (!etcd_stream_send(l->stream, sl))
        return false;
    etcd_renew_sent(&k->sched, now);
    return true;
}

/* The moment this kept lease's TTL is known to have run out. */
static int64_t give_up_at(const kept *k)
{
    if (k->kind == K_ONCE)
        return k->deadline_ms ? k->deadline_ms : NO_DEADLINE_MS;
    return etcd_renew_give_up_at(&k->sched);
}

static void arm(etcd_lease *l, kept *k, int64_t now)
{
    int64_t when = k->kind == K_KEEP ? etcd_renew_wake_at(&k->sched, now) : give_up_at(k);
    etcd_loop_timer_cancel(l->ctx->loop, &k->timer);
    etcd_loop_timer_add(l->ctx->loop, &k->timer, when);
    k->armed_at = when;
}

/* Renews now if the stream is open and no renewal is overdue, then re-arms. Locked, loop thread. */
static void renew(etcd_lease *l, kept *k, etcd_outbox *o)
{
    int64_t now = etcd_now_ms();
    bool open = l->state == L_OPEN;
    if (k->kind == K_ONCE) {
        if (now >= give_up_at(k)) {
            end_kept(k, ETCD_E_DEADLINE, NULL, "deadline exceeded waiting for the keep-alive answer", o);
            return;
        }
        if (open && !k->sched.first_sent_ms)
            send_renew(l, k, now);
    } else {
        switch (etcd_renew_on_timer(&k->sched, now, open)) {
        case ETCD_RENEW_LOST:
            lost(k, o);
            return;
        case ETCD_RENEW_SEND:
            send_renew(l, k, now);
            break;
        case ETCD_RENEW_WAIT:
            break;
        }
    }
    arm(l, k, now);
}

static void kept_timer_fired(etcd_timer *t)
{
    kept *k = (kept *)((char *)t - offsetof(kept, timer));
    etcd_lease *l = k->l;
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    k->armed_at = 0; /* fired */
    if (!k->ended)
        renew(l, k, &o);
    pthread_mutex_unlock(&l->mu);
    etcd_outbox_flush(l->ctx, &o, run_here);
}

/* ---- the stream ---- */

static void lease_connect(etcd_lease *l, etcd_outbox *o);

static void arm_lease_timer(etcd_lease *l, int64_t when_ms)
{
    /* Always cancel first: arming a timer that is still in the heap would put it there twice. */
    etcd_loop_timer_cancel(l->ctx->loop, &l->timer);
    l->timer_armed = etcd_loop_timer_add(l->ctx->loop, &l->timer, when_ms);
}

static void lease_timer_fired(etcd_timer *t)
{
    etcd_lease *l = (etcd_lease *)((char *)t - offsetof(etcd_lease, timer));
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    l->timer_armed = false;
    if (l->parked) {
        etcd_ready_gate_cancel(l->ctx->gate, &l->waiter);
        l->parked = false;
    }
    if (l->state == L_CONNECTING)
        lease_connect(l, &o);
    pthread_mutex_unlock(&l->mu);
    etcd_outbox_flush(l->ctx, &o, run_here);
}

static void lease_ready(etcd_ready_waiter *w)
{
    etcd_lease *l = (etcd_lease *)((char *)w - offsetof(etcd_lease, waiter));
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    l->parked = false;
    if (l->state == L_CONNECTING)
        lease_connect(l, &o);
    pthread_mutex_unlock(&l->mu);
    etcd_outbox_flush(l->ctx, &o, run_here);
}

static void end_all(etcd_lease *l, etcd_code code, const char *why, etcd_outbox *o)
{
    for (etcd_id_link *e; (e = etcd_id_table_any(&l->kept)) != NULL;)
        end_kept(KEPT_OF(e), code, NULL, why, o);
    l->state = L_IDLE;
}

static bool on_message(etcd_stream *s, const uint8_t *data, size_t len, void *arg);
static void on_end(etcd_stream *s, const etcd_stream_status *st, void *arg);
static const etcd_stream_handler handler = {on_message, on_end};

static void lease_connect(etcd_lease *l, etcd_outbox *o)
{
    etcd_context *ctx = l->ctx;
    if (etcd_transport_closing(ctx->transport)) {
        end_all(l, ETCD_E_CANCELLED, "the client is closing", o);
        return;
    }
    if (l->kept.count == 0) {
        l->state = L_IDLE;
        return;
    }
    bool ready;
    etcd_endpoint *ep = etcd_endpoint_set_pick(ctx->eps, l->last, &ready);
    if (!ep || !ready) {
        etcd_endpoint_unref(ep);
        if (etcd_ready_gate_wait(ctx->gate, &l->waiter) == ETCD_READY_PARKED) {
            l->parked = true;
            arm_lease_timer(l, NO_DEADLINE_MS);
            return;
        }
        arm_lease_timer(l, etcd_now_ms() + 25);
        return;
    }
    /* An open stream holds the client open, like a call: its end runs later on the loop thread
     * and touches this interface, so closing must wait for it even when no lease is kept. */
    if (etcd_context_begin(ctx, NULL) != ETCD_OK) {
        etcd_endpoint_unref(ep);
        end_all(l, ETCD_E_CANCELLED, "the client is closing", o);
        return;
    }
    etcd_stream_opts so = {.require_leader = true};
    etcd_stream *s = NULL;
    etcd_code rc = etcd_stream_start(ctx->transport, ep, keepalive_path, &so, &handler, l, &s, NULL);
    etcd_endpoint_unref(ep);
    if (rc != ETCD_OK) {
        /* Not the last hold: every kept lease holds the client too (count > 0 here). */
        etcd_context_end(ctx);
        if (rc == ETCD_E_CANCELLED)
            end_all(l, ETCD_E_CANCELLED, "the client is closing", o);
        else
            arm_lease_timer(l, etcd_now_ms() + 100);
        return;
    }
    l->stream = s;
    l->state = L_OPEN;
    /* A new stream renews every kept lease at once, in one write. */
    int64_t now = etcd_now_ms();
    ETCD_ID_TABLE_EACH(&l->kept, e)
        send_renew(l, KEPT_OF(e), now);
}

static void kick(etcd_lease *l)
{
    if (l->state != L_IDLE)
        return;
    l->state = L_CONNECTING;
    l->failures = 0;
    arm_lease_timer(l, 0);
}

static int64_t backoff_ms(int failures)
{
    if (failures <= 1)
        return 0;
    int64_t ms = 50;
    for (int i = 2; i < failures && ms < 1000; i++)
        ms *= 2;
    return ms > 1000 ? 1000 : ms;
}

static void on_end(etcd_stream *s, const etcd_stream_status *st, void *arg)
{
    (void)st;
    etcd_lease *l = arg;
    etcd_context *ctx = l->ctx;
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    if (l->corked == s) {
        etcd_stream_uncork(s);
        l->corked = NULL;
    }
    if (l->stream == s) {
        l->stream = NULL;
        etcd_endpoint_unref(l->last);
        l->last = etcd_endpoint_ref(etcd_stream_endpoint(s));
        if (etcd_transport_closing(l->ctx->transport)) {
            end_all(l, ETCD_E_CANCELLED, "the client is closing", &o);
        } else if (l->kept.count == 0) {
            l->state = L_IDLE;
        } else {
            /* Kept leases keep their expiry: a stream that is down renews nothing. */
            l->state = L_CONNECTING;
            l->failures++;
            arm_lease_timer(l, etcd_now_ms() + backoff_ms(l->failures));
        }
    }
    pthread_mutex_unlock(&l->mu);
    etcd_stream_unref(s);
    etcd_outbox_flush(ctx, &o, run_here);
    /* The stream's hold, last: once it is gone the client may be destroyed. */
    etcd_context_end(ctx);
}

static bool on_message(etcd_stream *s, const uint8_t *data, size_t len, void *arg)
{
    etcd_lease *l = arg;
    etcd_arena *arena;
    etcd_code code;
    const char *why;
    Etcdserverpb__LeaseKeepAliveResponse *r = (Etcdserverpb__LeaseKeepAliveResponse *)etcd_decode_bytes(
        &etcdserverpb__lease_keep_alive_response__descriptor, data, len, &arena, &code, &why);
    if (!r) {
        etcd_stream_cancel(s);
        return false;
    }
    int64_t id = r->id, ttl = r->ttl;
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    if (l->stream == s) {
        l->failures = 0;
        int64_t now = etcd_now_ms();
        for (etcd_id_link *e = etcd_id_table_find(&l->kept, id), *next; e; e = next) {
            next = etcd_id_table_find_next(e);
            kept *k = KEPT_OF(e);
            if (k->ended)
                continue;
            if (ttl <= 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "lease %lld expired or was revoked", (long long)id);
                end_kept(k, ETCD_E_LEASE_NOT_FOUND, NULL, msg, &o);
                continue;
            }
            etcd_renew_answered(&k->sched, now, ttl);
            etcd_response *resp = NULL;
            if (k->kind == K_ONCE || k->renewals) {
                /* The first taker gets the decoded answer; another kept entry of the same
                 * lease (rare) its own copy. */
                if (arena) {
                    resp = etcd_response_new_kind(ETCD_RESPONSE_LEASE_KEEP_ALIVE, &r->base, arena);
                    if (resp)
                        arena = NULL;
                } else {
                    etcd_arena *a;
                    Etcdserverpb__LeaseKeepAliveResponse *copy =
                        (Etcdserverpb__LeaseKeepAliveResponse *)etcd_decode_bytes(
                            &etcdserverpb__lease_keep_alive_response__descriptor, data, len, &a, &code, &why);
                    resp = copy ? etcd_response_new_kind(ETCD_RESPONSE_LEASE_KEEP_ALIVE, &copy->base, a) : NULL;
                }
            }
            if (k->kind == K_ONCE) {
                if (resp)
                    end_kept(k, ETCD_OK, resp, NULL, &o);
                else
                    end_kept(k, ETCD_E_NOMEM, NULL, "out of memory reading the answer", &o);
                continue;
            }
            if (resp) {
                /* In the answer's own memory: one allocation per answer, not two. */
                etcd_delivery *d = etcd_response_scratch(resp, sizeof *d);
                if (!d && (d = calloc(1, sizeof *d)) != NULL)
                    d->release = free_delivery;
                if (d) {
                    d->call = &k->base;
                    d->code = ETCD_OK;
                    d->resp = resp;
                    etcd_outbox_add(&o, d);
                } else {
                    etcd_response_free(resp);
                }
            }
            /* Armed for when the renewal was expected: moved only when it must come earlier. */
            int64_t want = etcd_renew_wake_at(&k->sched, now);
            if (!k->armed_at || k->armed_at > want)
                arm(l, k, now);
        }
    }
    pthread_mutex_unlock(&l->mu);
    etcd_arena_free(arena);
    etcd_outbox_flush(l->ctx, &o, run_here);
    return true;
}

/* ---- cancel ---- */

static void cancel_fired(etcd_timer *t)
{
    kept *k = (kept *)((char *)t - offsetof(kept, cancel_timer));
    etcd_lease *l = k->l;
    etcd_outbox o = {0};
    pthread_mutex_lock(&l->mu);
    end_kept(k, ETCD_E_CANCELLED, NULL, "cancelled", &o);
    pthread_mutex_unlock(&l->mu);
    etcd_outbox_flush(l->ctx, &o, run_here);
}

/* Cancel hook (any thread): move the cancel to the loop thread, once; before registration the
 * registration picks it up instead. */
static void cancel_hook(void *arg)
{
    kept *k = arg;
    if (atomic_load(&k->registered) && !atomic_exchange(&k->cancel_armed, true))
        etcd_loop_timer_add(k->l->ctx->loop, &k->cancel_timer, 0);
}

/* ---- starting ---- */

static void kept_destroy(etcd_call *c)
{
    free(c);
}

static etcd_code submit(etcd_lease *l, kkind kind, int64_t id, int renewals, etcd_callback cb, void *user_data,
                        etcd_call **call, etcd_error **err)
{
    const char *what = kind == K_KEEP ? "lease keep-alive" : "lease keep-alive-once";
    if (call)
        *call = NULL;
    if (!l || !cb)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: %s is NULL", what, l ? "callback" : "lease interface");
    if (id <= 0)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "%s: ID must be > 0", what);
    kept *k = calloc(1, sizeof *k);
    if (!k)
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", what);
    etcd_call_init(&k->base, l->ctx, cb, user_data, call != NULL);
    k->base.destroy = kept_destroy;
    k->l = l;
    k->kind = kind;
    k->link.id = id;
    k->renewals = renewals != 0;
    k->timer.fire = kept_timer_fired;
    k->timer.heap_index = SIZE_MAX;
    k->cancel_timer.fire = cancel_fired;
    k->cancel_timer.heap_index = SIZE_MAX;
    atomic_init(&k->cancel_armed, false);
    atomic_init(&k->registered, false);
    if (kind == K_ONCE)
        k->deadline_ms = etcd_context_deadline(l->ctx, 0);
    etcd_code rc = etcd_context_begin(l->ctx, err);
    if (rc != ETCD_OK) {
        atomic_store(&k->base.refs, 1);
        etcd_call_unref(&k->base);
        return rc;
    }
    etcd_cancel_set_hook(&k->base.cancel, cancel_hook, k); /* cannot have fired: nobody has it */
    pthread_mutex_lock(&l->mu);
    if (!etcd_id_table_add(&l->kept, &k->link)) {
        pthread_mutex_unlock(&l->mu);
        atomic_store(&k->base.refs, 1);
        etcd_call_unref(&k->base);
        etcd_context_end(l->ctx);
        return etcd_error_set(err, ETCD_E_NOMEM, "%s: out of memory", what);
    }
    if (call)
        *call = &k->base;
    /* The first renewal goes out on the loop thread, like every later one. */
    etcd_loop_timer_add(l->ctx->loop, &k->timer, 0);
    kick(l);
    /* Under the lock, so it cannot have ended yet (see the watcher's registration). */
    atomic_store(&k->registered, true);
    if (etcd_cancel_fired(&k->base.cancel))
        cancel_hook(k);
    pthread_mutex_unlock(&l->mu);
    etcd_call_unref(&k->base);
    return ETCD_OK;
}

etcd_code etcd_lease_keep_alive(etcd_lease *l, int64_t id, int renewals, etcd_callback cb, void *user_data,
                                etcd_call **call, etcd_error **err)
{
    return submit(l, K_KEEP, id, renewals, cb, user_data, call, err);
}

etcd_code etcd_lease_keep_alive_once_submit(etcd_lease *l, int64_t id, etcd_callback cb, void *user_data,
                                            etcd_call **call, etcd_error **err)
{
    return submit(l, K_ONCE, id, 0, cb, user_data, call, err);
}

int64_t etcd_lease_keep_alive_expiry_ms(etcd_call *call)
{
    if (!call || call->destroy != kept_destroy)
        return 0;
    kept *k = (kept *)call;
    etcd_lease *l = k->l;
    pthread_mutex_lock(&l->mu);
    int64_t e = k->ended ? 0 : k->sched.expiry_ms;
    pthread_mutex_unlock(&l->mu);
    return e;
}

void etcd_lease_destroy(etcd_lease *l)
{
    etcd_endpoint_unref(l->last);
    etcd_id_table_free(&l->kept);
    pthread_mutex_destroy(&l->mu);
}

void etcd_lease_keeper_init(etcd_lease *l)
{
    l->timer.fire = lease_timer_fired;
    l->timer.heap_index = SIZE_MAX;
    l->waiter.ready = lease_ready;
    l->uncork.run = uncork_run;
}
