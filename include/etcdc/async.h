/*
 * etcdc/async.h - asynchronous calls: one result, cancel and dispatch machinery for every
 * service.
 *
 * Every call of every service has an async form that returns at once and later runs an
 * etcd_callback. The same callback type, the same etcd_call handle and the same dispatch serve
 * unary calls (a KV put, a member list, a lease grant) and streams (a watch), so a program
 * handles them all in one place.
 *
 * The contract (as in libuv): when an async function returns an error, nothing was submitted and
 * the callback will never run. When it returns ETCD_OK:
 *  - a unary call's callback runs exactly once: with the response (code ETCD_OK, resp set) or
 *    with a failure (code < 0, err set, resp NULL);
 *  - a stream's callback runs once per message, in order, with code ETCD_OK and resp set, and
 *    then exactly once more with resp NULL: code says why the stream ended (ETCD_OK when it
 *    ended normally, ETCD_E_CANCELLED when it was cancelled, ...), with err set when code < 0.
 * So a callback with resp == NULL is always the call's last. Callbacks never run from inside
 * the async function itself; they may run on the client's thread before that function has
 * returned to the caller, which is why *call is set before the call starts and the call is also
 * passed to the callback.
 *
 * A call cancelled, or ended by closing the client, ends with ETCD_E_CANCELLED; a write that may
 * have been sent by then reports ETCD_E_OUTCOME_UNKNOWN with cause ETCD_E_CANCELLED.
 *
 * The callback owns what it is given: it frees `resp` with etcd_response_free() and `err` with
 * etcd_error_free() (or keeps them). The `call` it is passed is borrowed for the callback's
 * duration; it is the same pointer the async function stored in *call.
 *
 * Where callbacks run depends on the client's dispatch mode (etcd_config_set_dispatch()):
 *  - ETCD_DISPATCH_THREAD (default): on a thread the library owns, one per client. Callbacks
 *    must not block for long (they delay every other completion of the client) and must not
 *    call etcd_client_free() on their own client (it aborts the program with a message, since
 *    it would wait for itself). They may start further async calls; a sync call from a callback
 *    fails with ETCD_E_INVALID_ARGUMENT (it would wait for itself).
 *  - ETCD_DISPATCH_CALLER: on the caller's thread, inside etcd_client_dispatch(). The client's
 *    file descriptor (etcd_client_fd()) becomes readable when callbacks are ready; add it to
 *    poll(), epoll or an event loop and call etcd_client_dispatch() when it is.
 *
 * Many calls may be in flight at once on one client; they share its connections (HTTP/2
 * streams), with no thread or channel per call.
 */
#ifndef ETCDC_ASYNC_H
#define ETCDC_ASYNC_H

#include <etcdc/common.h>
#include <etcdc/error.h>
#include <etcdc/kv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An async call or stream in flight; see etcd_call_cancel() and etcd_call_release(). */
typedef struct etcd_call etcd_call;

/* Runs for each result of a submitted call (see above). */
typedef void (*etcd_callback)(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err,
                              void *user_data);

/*
 * Async forms of the calls in kv.h. The op, txn, key and value are copied before these return,
 * so the caller may free or reuse them at once. When `call` is not NULL, *call receives a handle
 * (before the call starts) for etcd_call_cancel(); the caller must give it back with
 * etcd_call_release(), before or after the callback has run. On failure *call is NULL.
 */
ETCD_API etcd_code etcd_kv_do_async(etcd_kv *kv, const etcd_op *op, etcd_callback cb, void *user_data,
                                    etcd_call **call, etcd_error **err);
ETCD_API etcd_code etcd_kv_put_async(etcd_kv *kv, const void *key, size_t key_len, const void *value,
                                     size_t value_len, etcd_callback cb, void *user_data, etcd_call **call,
                                     etcd_error **err);
ETCD_API etcd_code etcd_kv_get_async(etcd_kv *kv, const void *key, size_t key_len, etcd_callback cb,
                                     void *user_data, etcd_call **call, etcd_error **err);
ETCD_API etcd_code etcd_kv_delete_async(etcd_kv *kv, const void *key, size_t key_len, etcd_callback cb,
                                        void *user_data, etcd_call **call, etcd_error **err);
ETCD_API etcd_code etcd_kv_compact_async(etcd_kv *kv, int64_t revision, int physical, etcd_callback cb,
                                         void *user_data, etcd_call **call, etcd_error **err);
ETCD_API etcd_code etcd_kv_txn_async(etcd_kv *kv, const etcd_txn *txn, etcd_callback cb, void *user_data,
                                     etcd_call **call, etcd_error **err);

/* Asks for the call to end early. Safe from any thread, any number of times, also after the
 * last callback ran. A call that has not finished yet ends with ETCD_E_CANCELLED (a write
 * cancelled after it was sent reports ETCD_E_OUTCOME_UNKNOWN: it may have been applied); a
 * cancelled stream delivers no further message, only its last callback. */
ETCD_API void etcd_call_cancel(etcd_call *call);
/* Gives back a handle from an async function. NULL is fine. Does not cancel the call. */
ETCD_API void etcd_call_release(etcd_call *call);

/* ETCD_DISPATCH_CALLER: a descriptor that is readable while callbacks are waiting to run. It
 * belongs to the client: do not close or read it. -1 in the default dispatch mode. */
ETCD_API int etcd_client_fd(etcd_client *client);
/* ETCD_DISPATCH_CALLER: runs the callbacks that are ready and returns how many ran. Never
 * blocks. Call it from one thread at a time. Callbacks still pending when the client is freed
 * run inside etcd_client_free(). */
ETCD_API int etcd_client_dispatch(etcd_client *client);

#ifdef __cplusplus
}
#endif

#endif /* ETCDC_ASYNC_H */
