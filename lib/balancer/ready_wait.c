/* The ready gate: parked waiters and the connectivity watches that release them. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ready_wait.h"
#include "rpc/rpc.h"

/* A watch re-arms at least this often, so endpoints added meanwhile get watched and a removed
 * one is let go soon; it costs nothing while nobody waits, since no watch is armed then. */
#define WATCH_SLICE_MS 250

typedef struct watch {
    etcd_tag tag;
    etcd_ready_gate *g;
    etcd_endpoint *ep;          /* referenced while the watch is armed */
} watch;

struct etcd_ready_gate {
    etcd_endpoint_set *set;
    etcd_loop *loop;
    etcd_ready_waiter *head;    /* parked waiters */
    size_t parked;
    atomic_bool closing;
};

etcd_ready_gate *etcd_ready_gate_new(etcd_endpoint_set *set, etcd_loop *loop)
{
    etcd_ready_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->set = set;
    g->loop = loop;
    atomic_init(&g->closing, false);
    return g;
}

static void unlink_waiter(etcd_ready_gate *g, etcd_ready_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->queued = false;
    g->parked--;
}

/* Releases every parked waiter; each may park again from its ready(). */
static void release_all(etcd_ready_gate *g)
{
    etcd_ready_waiter *list = g->head;
    g->head = NULL;
    g->parked = 0;
    while (list) {
        etcd_ready_waiter *w = list;
        list = w->next;
        w->prev = w->next = NULL;
        w->queued = false;
        w->ready(w);
    }
}

static void arm(etcd_ready_gate *g, etcd_endpoint *ep, grpc_connectivity_state st);

static void watch_done(etcd_tag *tag, bool ok)
{
    (void)ok;
    watch *wt = (watch *)tag;
    etcd_ready_gate *g = wt->g;
    etcd_endpoint *ep = wt->ep;
    free(wt);
    atomic_store_explicit(&ep->watched, false, memory_order_relaxed);
    grpc_connectivity_state st = grpc_channel_check_connectivity_state(ep->channel, 1);
    if (st == GRPC_CHANNEL_READY)
        release_all(g);
    /* Keep watching while anyone waits, on whichever endpoints the set has now. */
    if (g->head && !atomic_load(&g->closing)) {
        etcd_endpoint **eps;
        size_t n = etcd_endpoint_set_snapshot(g->set, &eps);
        for (size_t i = 0; i < n; i++)
            arm(g, eps[i], grpc_channel_check_connectivity_state(eps[i]->channel, 1));
        etcd_endpoints_release(eps, n);
    }
    etcd_endpoint_unref(ep);
}

static void arm(etcd_ready_gate *g, etcd_endpoint *ep, grpc_connectivity_state st)
{
    if (atomic_load_explicit(&ep->watched, memory_order_relaxed) || atomic_load(&g->closing))
        return;
    watch *wt = malloc(sizeof *wt);
    if (!wt)
        return; /* the next watch completion, or the waiter's own deadline, covers it */
    wt->tag.done = watch_done;
    wt->g = g;
    wt->ep = etcd_endpoint_ref(ep);
    atomic_store_explicit(&ep->watched, true, memory_order_relaxed);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(WATCH_SLICE_MS, GPR_TIMESPAN));
    grpc_channel_watch_connectivity_state(ep->channel, st, deadline, etcd_loop_cq(g->loop), &wt->tag);
}

etcd_ready_wait_result etcd_ready_gate_wait(etcd_ready_gate *g, etcd_ready_waiter *w)
{
    etcd_endpoint **eps;
    size_t n = etcd_endpoint_set_snapshot(g->set, &eps);
    bool ready = false;
    grpc_connectivity_state *st = calloc(n ? n : 1, sizeof *st);
    for (size_t i = 0; i < n && !ready; i++) {
        grpc_connectivity_state s = grpc_channel_check_connectivity_state(eps[i]->channel, 1);
        ready = s == GRPC_CHANNEL_READY;
        if (st)
            st[i] = s;
    }
    if (!ready && st) {
        w->prev = NULL;
        w->next = g->head;
        if (g->head)
            g->head->prev = w;
        g->head = w;
        w->queued = true;
        g->parked++;
        /* Watches start from the state just seen: a change after it completes the watch. */
        for (size_t i = 0; i < n; i++)
            arm(g, eps[i], st[i]);
    }
    free(st);
    etcd_endpoints_release(eps, n);
    return ready ? ETCD_READY_NOW : w->queued ? ETCD_READY_PARKED : ETCD_READY_NOMEM;
}

void etcd_ready_gate_cancel(etcd_ready_gate *g, etcd_ready_waiter *w)
{
    if (w->queued)
        unlink_waiter(g, w);
}

size_t etcd_ready_gate_parked(etcd_ready_gate *g)
{
    return g->parked;
}

void etcd_ready_gate_close(etcd_ready_gate *g)
{
    if (g)
        atomic_store(&g->closing, true);
}

void etcd_ready_gate_free(etcd_ready_gate *g)
{
    free(g);
}

static const char *state_words(grpc_connectivity_state st)
{
    switch (st) {
    case GRPC_CHANNEL_IDLE:
        return "idle";
    case GRPC_CHANNEL_CONNECTING:
        return "connecting";
    case GRPC_CHANNEL_READY:
        return "connected";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
        return "unreachable";
    default:
        return "shut down";
    }
}

char *etcd_ready_gate_describe(etcd_ready_gate *g)
{
    etcd_endpoint **eps;
    size_t n = etcd_endpoint_set_snapshot(g->set, &eps);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(eps[i]->name) + 16;
    char *out = malloc(cap);
    if (out) {
        size_t off = 0;
        out[0] = 0;
        for (size_t i = 0; i < n; i++)
            off += (size_t)snprintf(out + off, cap - off, "%s%s: %s", i ? "; " : "", eps[i]->name,
                                    state_words(grpc_channel_check_connectivity_state(eps[i]->channel, 0)));
    }
    etcd_endpoints_release(eps, n);
    return out;
}
