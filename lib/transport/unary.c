/*
 * Unary calls over gRPC core, as a ProtobufCService: pack the request, send it in one batch,
 * unpack the answer, map the status. The method path comes from the generated service
 * descriptor ("/" + service name + "/" + method name).
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/endpoints.h"
#include "error/error_internal.h"
#include "rpc/cancel.h"
#include "rpc/rpc.h"
#include "decode.h"
#include "transport.h"
#include "tsan.h"

typedef struct unary_call unary_call;

struct unary_call {
    etcd_tag tag;
    etcd_timer deadline;        /* armed while the call is in flight, when it has a deadline */
    bool deadline_armed;        /* under the transport's lock */
    etcd_tracked_call tracked;  /* tracked.call is the gRPC call */
    etcd_transport *t;
    grpc_metadata md[1];
    grpc_metadata_array init_md, trailing_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    const ProtobufCMessageDescriptor *out;
    ProtobufCClosure closure;
    etcd_rpc *rpc;
    const char *ep_name;        /* the endpoint's name; the caller's endpoint ref keeps it alive */
    bool borrowed;              /* lives in the rpc's scratch (etcd_rpc_state_new) */
};

_Static_assert(sizeof(unary_call) <= ETCD_RPC_SCRATCH_BYTES - ETCD_RPC_SCRATCH_ATTEMPT,
               "a gRPC call must fit its part of an rpc scratch");

typedef struct channel_service {
    ProtobufCService base;
    etcd_transport *t;
    grpc_slice *paths;          /* one per method */
    char **path_strs;           /* the same as C strings, for registering */
    int *method_ids;            /* the transport's id of each method, or -1 */
} channel_service;

/* Deadlines are the loop's timers, not gRPC's: a gRPC deadline arms a timer of gRPC's and encodes a
 * grpc-timeout header on every call, about 3,600 instructions a call against 400 for ours. At the
 * deadline the call is cancelled with the status gRPC would give, and the server sees the reset. */
static void deadline_fired(etcd_timer *timer)
{
    unary_call *c = (unary_call *)((char *)timer - offsetof(unary_call, deadline));
    /* Closing makes every timer fire now; those calls are cancelled already, for closing. */
    if (!etcd_transport_closing(c->t))
        grpc_call_cancel_with_status(c->tracked.call, GRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded", NULL);
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Calls start only on a READY channel (lib/balancer/ready_wait.c parks the others), and requests
 * over the send limit are refused before starting, so a started call has almost always been
 * handed to a connection. The one exception is a channel that failed between the READY check
 * and gRPC's pick of a connection: gRPC then fails the call at the pick, before any transport
 * saw it, with this message (pick_first, gRPC 1.51). Any other failure may have been sent. */
static bool never_sent(grpc_status_code st, const char *details, size_t len)
{
    return st == GRPC_STATUS_UNAVAILABLE && starts_with(details, len, "failed to connect to all addresses");
}

static void unary_done(etcd_tag *tag, bool ok)
{
    unary_call *c = (unary_call *)tag;
    etcd_rpc *rpc = c->rpc;
    ProtobufCMessage *msg = NULL;

    /* Under the lock: the starting thread arms the deadline before it lets go of it. */
    etcd_transport_lock(c->t);
    if (c->deadline_armed)
        etcd_loop_timer_cancel(etcd_transport_loop(c->t), &c->deadline);
    etcd_transport_untrack_locked(c->t, &c->tracked);
    etcd_transport_unlock(c->t);
    etcd_cancel_detach(rpc->cancel);

    rpc->grpc_status = (int)c->status;
    if (c->status != GRPC_STATUS_OK || !ok)
        rpc->endpoint_name = strdup(c->ep_name);
    size_t dlen = GRPC_SLICE_LENGTH(c->details);
    const char *d = (const char *)GRPC_SLICE_START_PTR(c->details);
    if (!ok) {
        rpc->code = ETCD_E_INTERNAL;
        rpc->details = strdup("gRPC batch failed");
        rpc->maybe_sent = true;
    } else if (c->status == GRPC_STATUS_OK) {
        etcd_code dc = ETCD_E_PROTOCOL;
        const char *why = "the server sent no response";
        msg = c->recv ? etcd_decode(c->out, c->recv, &rpc->arena, &dc, &why) : NULL;
        if (!msg) {
            rpc->code = dc;
            rpc->details = strdup(why);
        }
        rpc->maybe_sent = true;
    } else {
        rpc->code = etcd_status_to_code((int)c->status, d, dlen);
        rpc->details = dlen ? strndup(d, dlen) : NULL;
        rpc->maybe_sent = !never_sent(c->status, d, dlen);
    }

    grpc_metadata_array_destroy(&c->init_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_byte_buffer_destroy(c->send);
    if (c->recv)
        grpc_byte_buffer_destroy(c->recv);
    grpc_slice_unref(c->details);
    grpc_call_unref(c->tracked.call);
    ProtobufCClosure closure = c->closure;
    etcd_rpc_state_free(rpc, c, c->borrowed);
    closure(msg, rpc);
}

/* A call that was never started: release what was made for it and answer at once. */
static void fail_unstarted(unary_call *c, etcd_code code, const char *what, etcd_endpoint *ep)
{
    etcd_rpc *rpc = c->rpc;
    ProtobufCClosure closure = c->closure;
    grpc_metadata_array_destroy(&c->init_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    if (c->send)
        grpc_byte_buffer_destroy(c->send);
    if (c->tracked.call)
        grpc_call_unref(c->tracked.call);
    etcd_rpc_state_free(rpc, c, c->borrowed);
    etcd_rpc_fail(rpc, code, "%s", what);
    rpc->endpoint_name = strdup(ep->name);
    closure(NULL, rpc);
}

static void channel_invoke(ProtobufCService *service, unsigned method, const ProtobufCMessage *input,
                           ProtobufCClosure closure, void *closure_data)
{
    channel_service *cs = (channel_service *)service;
    etcd_transport *t = cs->t;
    etcd_rpc *rpc = closure_data;
    etcd_endpoint *ep = rpc->endpoint;
    etcd_rpc_reset_result(rpc);

    bool borrowed;
    unary_call *c = etcd_rpc_state_new(rpc, sizeof *c, &borrowed);
    if (!c) {
        rpc->code = ETCD_E_NOMEM;
        closure(NULL, rpc);
        return;
    }
    c->borrowed = borrowed;
    c->tag.done = unary_done;
    c->deadline.fire = deadline_fired;
    c->deadline.heap_index = SIZE_MAX;
    c->t = t;
    c->rpc = rpc;
    c->closure = closure;
    c->ep_name = ep->name;
    c->out = service->descriptor->methods[method].output;
    c->details = grpc_empty_slice();
    grpc_metadata_array_init(&c->init_md);
    grpc_metadata_array_init(&c->trailing_md);
    /* Over the send limit: refused here, so it provably never left (gRPC would refuse it too,
     * but only a message text would tell). */
    size_t size = rpc->packed ? GRPC_SLICE_LENGTH(*rpc->packed) : protobuf_c_message_get_packed_size(input);
    if (size > (size_t)etcd_transport_max_send_bytes(t)) {
        char what[128];
        /* gRPC's own wording, which people search for. */
        snprintf(what, sizeof what, "trying to send message larger than max (%zu vs. %d)", size,
                 etcd_transport_max_send_bytes(t));
        fail_unstarted(c, ETCD_E_MESSAGE_TOO_LARGE, what, ep);
        return;
    }
    c->send = rpc->packed ? grpc_raw_byte_buffer_create((grpc_slice *)rpc->packed, 1) : pack(input);
    /* Registered methods spare gRPC from handling the path string on every call. */
    int id = cs->method_ids[method];
    void *reg = etcd_endpoint_method(ep, id, cs->path_strs[method]);
    gpr_timespec no_deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC); /* ours is c->deadline */
    grpc_completion_queue *cq = etcd_loop_cq(etcd_transport_loop(t));
    if (reg)
        c->tracked.call = grpc_channel_create_registered_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, reg,
                                                              no_deadline, NULL);
    else
        c->tracked.call = grpc_channel_create_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, cs->paths[method],
                                                   NULL, no_deadline, NULL);
    if (!c->tracked.call) {
        fail_unstarted(c, ETCD_E_INTERNAL, "could not create the call", ep);
        return;
    }

    size_t nmd = 0;
    if (rpc->require_leader) {
        c->md[0].key = grpc_slice_from_static_string("hasleader");
        c->md[0].value = grpc_slice_from_static_string("true");
        nmd = 1;
    }
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = nmd;
    ops[0].data.send_initial_metadata.metadata = c->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->details;

    /* Tracked before the batch starts, so a concurrent cancel_all or cancel cannot miss it. */
    etcd_transport_lock(t);
    bool tracked = etcd_transport_track_locked(t, &c->tracked);
    bool cancelled = tracked && !etcd_cancel_attach(rpc->cancel, c->tracked.call);
    grpc_call_error e = GRPC_CALL_ERROR;
    if (tracked && !cancelled) {
        ETCD_HANDOFF_RELEASE(&c->tag);
        e = grpc_call_start_batch(c->tracked.call, ops, 6, &c->tag, NULL);
        /* A call whose deadline cannot be armed (no memory) must not run without one. */
        if (e == GRPC_CALL_OK && rpc->deadline_ms > 0) {
            c->deadline_armed = etcd_loop_timer_add(etcd_transport_loop(t), &c->deadline, rpc->deadline_ms);
            if (!c->deadline_armed)
                grpc_call_cancel_with_status(c->tracked.call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                             "out of memory arming the deadline", NULL);
        }
        if (e != GRPC_CALL_OK)
            etcd_cancel_detach(rpc->cancel);
    }
    if (tracked && e != GRPC_CALL_OK)
        etcd_transport_untrack_locked(t, &c->tracked);
    etcd_transport_unlock(t);
    if (!tracked || cancelled)
        fail_unstarted(c, ETCD_E_CANCELLED, !tracked ? "the client is closing" : "cancelled", ep);
    else if (e != GRPC_CALL_OK) {
        char what[128];
        snprintf(what, sizeof what, "could not start the call: %s", grpc_call_error_to_string(e));
        fail_unstarted(c, ETCD_E_INTERNAL, what, ep);
    }
}

static void channel_service_destroy(ProtobufCService *service)
{
    channel_service *cs = (channel_service *)service;
    for (unsigned i = 0; i < service->descriptor->n_methods; i++) {
        grpc_slice_unref(cs->paths[i]);
        free(cs->path_strs[i]);
    }
    free(cs->paths);
    free(cs->path_strs);
    free(cs->method_ids);
    free(cs);
}

ProtobufCService *etcd_channel_service_new(etcd_transport *t, const ProtobufCServiceDescriptor *desc)
{
    channel_service *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->paths = calloc(desc->n_methods, sizeof *cs->paths);
    cs->path_strs = calloc(desc->n_methods, sizeof *cs->path_strs);
    cs->method_ids = calloc(desc->n_methods, sizeof *cs->method_ids);
    if (!cs->paths || !cs->path_strs || !cs->method_ids) {
        free(cs->paths);
        free(cs->path_strs);
        free(cs->method_ids);
        free(cs);
        return NULL;
    }
    for (unsigned i = 0; i < desc->n_methods; i++) {
        char *path;
        if (asprintf(&path, "/%s/%s", desc->name, desc->methods[i].name) < 0)
            path = NULL;
        cs->paths[i] = grpc_slice_from_copied_string(path ? path : "");
        cs->method_ids[i] = path ? etcd_transport_method_id(t, path) : -1;
        cs->path_strs[i] = path;
    }
    cs->base.descriptor = desc;
    cs->base.invoke = channel_invoke;
    cs->base.destroy = channel_service_destroy;
    cs->t = t;
    return &cs->base;
}
