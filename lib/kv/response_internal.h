/* Internal shape of responses: the unpacked protobuf message plus views of txn sub-responses. */
#ifndef ETCDC_RESPONSE_INTERNAL_H
#define ETCDC_RESPONSE_INTERNAL_H

#include <etcdc/response.h>

#include "rpc.pb-c.h"
#include "rpc/arena.h"

struct etcd_response {
    etcd_response_kind kind;             /* ETCD_RESPONSE_KV (0) for every KV view */
    etcd_op_type type;
    const ProtobufCMessage *msg;         /* the Range/Put/DeleteRange/Txn/Compaction response */
    const Etcdserverpb__ResponseHeader *header;
    etcd_response *subs;                 /* txn: one view per sub-response (borrowed messages) */
    size_t n_subs;
    ProtobufCMessage *owned;             /* the root owns the unpacked message; views own nothing */
    etcd_arena *arena;                   /* when set, the message, this response and its views live
                                            in it, and freeing it frees them all */
    const void *ext;                     /* the service's own view (a watch batch), or NULL */
    etcd_arena **extra;                  /* more arenas the response owns (fragment parts), malloc'd */
    size_t n_extra;
};

/* Takes ownership of msg and builds the views. With an arena, msg lives in it and the response
 * is allocated there too; without one, msg is freed with protobuf_c_message_free_unpacked.
 * Returns NULL when out of memory (msg and arena are freed then). */
etcd_response *etcd_response_new(etcd_op_type type, ProtobufCMessage *msg, etcd_arena *arena);

/* A response of another service: the message and its header (field 1 of every etcd answer),
 * with no views. Same ownership rules as etcd_response_new(). */
/* Zeroed memory that lives exactly as long as the response (in its arena); NULL when the
 * response has no arena or memory ran out. */
void *etcd_response_scratch(etcd_response *resp, size_t size);
etcd_response *etcd_response_new_kind(etcd_response_kind kind, ProtobufCMessage *msg, etcd_arena *arena);
/* The unpacked message behind a response, for the service that reads it. */
const ProtobufCMessage *etcd_response_message(const etcd_response *resp);

#endif
