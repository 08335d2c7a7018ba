/*
 * Unary calls over gRPC core, as a ProtobufCService: pack the request, send it in one batch,
 * unpack the answer, map the status. The method path comes from the generated service
 * descriptor ("/" + service name + "/" + method name).
 */
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/endpoints.h"
#include "error/error_internal.h"
#include "rpc/cancel.h"
#include "rpc/depth.h"
#include "rpc/rpc.h"
#include "transport.h"
#include "tsan.h"

typedef struct unary_call unary_call;

struct etcd_transport {
    etcd_loop *loop;
    pthread_mutex_t mu;
    unary_call *active;         /* doubly linked list of calls in flight */
    bool closing;               /* set by cancel_all: no new calls start */
};

struct unary_call {
    etcd_tag tag;
    etcd_timer deadline;        /* armed while the call is in flight, when it has a deadline */
    bool deadline_armed;        /* under the transport's lock */
    unary_call *prev, *next;
    etcd_transport *t;
    grpc_call *call;
    grpc_metadata md[1];
    grpc_metadata_array init_md, trailing_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    const ProtobufCMessageDescriptor *out;
    ProtobufCClosure closure;
    etcd_rpc *rpc;
    const char *ep_name;        /* the endpoint's name; the caller's endpoint ref keeps it alive */
};

typedef struct channel_service {
    ProtobufCService base;
    etcd_transport *t;
    grpc_slice *paths;          /* one per method */
    char **path_strs;           /* the same, as C strings, for registering */
} channel_service;

etcd_transport *etcd_transport_new(etcd_loop *loop)
{
    etcd_transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->loop = loop;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

etcd_loop *etcd_transport_loop(etcd_transport *t)
{
    return t->loop;
}

void etcd_transport_cancel_all(etcd_transport *t)
{
    pthread_mutex_lock(&t->mu);
    t->closing = true;
    for (unary_call *c = t->active; c; c = c->next)
        grpc_call_cancel(c->call, NULL);
    pthread_mutex_unlock(&t->mu);
}

void etcd_transport_free(etcd_transport *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Deadlines are the loop's timers, not gRPC's: a gRPC deadline arms a timer of gRPC's and encodes a
 * grpc-timeout header on every call, about 3,600 instructions a call against 400 for ours. At the
 * deadline the call is cancelled with the status gRPC would give, and the server sees the reset. */
static void deadline_fired(etcd_timer *timer)
{
    unary_call *c = (unary_call *)((char *)timer - offsetof(unary_call, deadline));
    /* Closing makes every timer fire now; those calls are cancelled already, for closing. */
    pthread_mutex_lock(&c->t->mu);
    bool closing = c->t->closing;
    pthread_mutex_unlock(&c->t->mu);
    if (!closing)
        grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded", NULL);
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

/* Unpacks into a new arena, sized for the message: unpacked structs take about as much room as
 * their wire form again, plus fixed overhead. */
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, etcd_arena **arena)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    size_t len = GRPC_SLICE_LENGTH(s);
    bool fits = !etcd_response_wire_problem(d, GRPC_SLICE_START_PTR(s), len);
    etcd_arena *a = fits ? etcd_arena_new(2 * len + 512) : NULL;
    ProtobufCMessage *m = NULL;
    if (a) {
        ProtobufCAllocator alloc = etcd_arena_allocator(a);
        m = protobuf_c_message_unpack(d, &alloc, len, GRPC_SLICE_START_PTR(s));
        if (!m) {
            etcd_arena_free(a);
            a = NULL;
        }
    }
    grpc_slice_unref(s);
    *arena = a;
    return m;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* gRPC's messages for calls that never left the client: no connection to use, or a request
 * over the send limit. */
static bool never_sent(grpc_status_code st, const char *details, size_t len)
{
    return (st == GRPC_STATUS_UNAVAILABLE && starts_with(details, len, "failed to connect to all addresses")) ||
           (st == GRPC_STATUS_RESOURCE_EXHAUSTED && starts_with(details, len, "Sent message larger than max"));
}

static void unary_done(etcd_tag *tag, bool ok)
{
    unary_call *c = (unary_call *)tag;
    etcd_rpc *rpc = c->rpc;
    ProtobufCMessage *msg = NULL;

    /* Under the lock: the starting thread arms the deadline before it lets go of it. */
    pthread_mutex_lock(&c->t->mu);
    if (c->deadline_armed)
        etcd_loop_timer_cancel(c->t->loop, &c->deadline);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->t->active = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&c->t->mu);
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
        msg = c->recv ? unpack(c->out, c->recv, &rpc->arena) : NULL;
        if (!msg) {
            rpc->code = ETCD_E_PROTOCOL;
            rpc->details = strdup(c->recv ? "the response could not be decoded" : "the server sent no response");
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
    grpc_call_unref(c->call);
    ProtobufCClosure closure = c->closure;
    free(c);
    closure(msg, rpc);
}

static void channel_invoke(ProtobufCService *service, unsigned method, const ProtobufCMessage *input,
                           ProtobufCClosure closure, void *closure_data)
{
    channel_service *cs = (channel_service *)service;
    etcd_rpc *rpc = closure_data;
    etcd_endpoint *ep = rpc->endpoint;
    etcd_rpc_reset_result(rpc);

    unary_call *c = calloc(1, sizeof *c);
    if (!c) {
        rpc->code = ETCD_E_NOMEM;
        closure(NULL, rpc);
        return;
    }
    c->tag.done = unary_done;
    c->deadline.fire = deadline_fired;
    c->deadline.heap_index = SIZE_MAX;
    c->t = cs->t;
    c->rpc = rpc;
    c->closure = closure;
    c->ep_name = ep->name;
    c->out = service->descriptor->methods[method].output;
    c->details = grpc_empty_slice();
    grpc_metadata_array_init(&c->init_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->send = rpc->packed ? grpc_raw_byte_buffer_create((grpc_slice *)rpc->packed, 1) : pack(input);
    /* Registered methods spare gRPC from handling the path string on every call. */
    void *reg = etcd_endpoint_method(ep, &cs->paths[method], cs->path_strs[method]);
    gpr_timespec no_deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC); /* ours is c->deadline */
    if (reg)
        c->call = grpc_channel_create_registered_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                      etcd_loop_cq(cs->t->loop), reg, no_deadline, NULL);
    else
        c->call = grpc_channel_create_call(ep->channel, NULL, GRPC_PROPAGATE_DEFAULTS, etcd_loop_cq(cs->t->loop),
                                           cs->paths[method], NULL, no_deadline, NULL);

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

    /* Registered before the batch starts, so a concurrent cancel_all or cancel cannot miss it. */
    pthread_mutex_lock(&cs->t->mu);
    bool closing = cs->t->closing;
    bool cancelled = !closing && !etcd_cancel_attach(rpc->cancel, c->call);
    grpc_call_error e = GRPC_CALL_ERROR;
    if (!closing && !cancelled) {
        c->next = cs->t->active;
        if (c->next)
            c->next->prev = c;
        cs->t->active = c;
        ETCD_HANDOFF_RELEASE(&c->tag);
        e = grpc_call_start_batch(c->call, ops, 6, &c->tag, NULL);
        /* A call whose deadline cannot be armed (no memory) must not run without one. */
        if (e == GRPC_CALL_OK && rpc->deadline_ms > 0) {
            c->deadline_armed = etcd_loop_timer_add(cs->t->loop, &c->deadline, rpc->deadline_ms);
            if (!c->deadline_armed)
                grpc_call_cancel_with_status(c->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                             "out of memory arming the deadline", NULL);
        }
        if (e != GRPC_CALL_OK) {
            cs->t->active = c->next;
            if (c->next)
                c->next->prev = NULL;
            etcd_cancel_detach(rpc->cancel);
        }
    }
    pthread_mutex_unlock(&cs->t->mu);
    if (closing || cancelled || e != GRPC_CALL_OK) {
        /* Not started (a failed start changes nothing and completes nothing): clean up here and
         * answer at once, naming the endpoint as any failed call does. */
        grpc_metadata_array_destroy(&c->init_md);
        grpc_metadata_array_destroy(&c->trailing_md);
        grpc_byte_buffer_destroy(c->send);
        grpc_call_unref(c->call);
        free(c);
        if (closing || cancelled)
            etcd_rpc_fail(rpc, ETCD_E_CANCELLED, closing ? "the client is closing" : "cancelled");
        else
            etcd_rpc_fail(rpc, ETCD_E_INTERNAL, "could not start the call: %s", grpc_call_error_to_string(e));
        rpc->endpoint_name = strdup(ep->name);
        closure(NULL, rpc);
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
    free(cs);
}

ProtobufCService *etcd_channel_service_new(etcd_transport *t, const ProtobufCServiceDescriptor *desc)
{
    channel_service *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->paths = calloc(desc->n_methods, sizeof *cs->paths);
    cs->path_strs = calloc(desc->n_methods, sizeof *cs->path_strs);
    if (!cs->paths || !cs->path_strs) {
        free(cs->paths);
        free(cs->path_strs);
        free(cs);
        return NULL;
    }
    for (unsigned i = 0; i < desc->n_methods; i++) {
        if (asprintf(&cs->path_strs[i], "/%s/%s", desc->name, desc->methods[i].name) < 0)
            cs->path_strs[i] = NULL;
        cs->paths[i] = grpc_slice_from_copied_string(cs->path_strs[i] ? cs->path_strs[i] : "");
    }
    cs->base.descriptor = desc;
    cs->base.invoke = channel_invoke;
    cs->base.destroy = channel_service_destroy;
    cs->t = t;
    return &cs->base;
}
