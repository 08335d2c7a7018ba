/*
 * Pull-mode watches, for programs without an event loop: the watch's callback queues batches and
 * etcd_watch_stream_next() takes them. The queue is bounded: a full queue holds the callback
 * (on the client's stream thread), which in turn makes the stream stop reading, so memory stays
 * bounded however slowly the program reads.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "call/call.h"
#include "error/error_internal.h"
#include "kv/response_internal.h"
#include "watch_internal.h"

/* Batches queued before the callback waits for the reader. */
#define PULL_QUEUE_MAX 64

typedef struct item {
    etcd_response *resp;
    struct item *next;
} item;

struct etcd_watch_stream {
    etcd_context *ctx;
    etcd_call *call;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head, *tail;
    size_t n;
    bool ended, closing, final_seen;
    etcd_code end_code;
    etcd_error *end_err;
    int refs;                       /* the reader's and the watch's */
};

static void stream_unref_locked(etcd_watch_stream *s)
{
    if (--s->refs > 0) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    while (s->head) {
        item *it = s->head;
        s->head = it->next;
        etcd_response_free(it->resp);
        free(it);
    }
    etcd_error_free(s->end_err);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void on_batch(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    etcd_watch_stream *s = ud;
    pthread_mutex_lock(&s->mu);
    if (!resp) {
        s->ended = true;
        s->end_code = code;
        s->end_err = err;
        pthread_cond_broadcast(&s->cv);
        stream_unref_locked(s);
        return;
    }
    /* Hold the stream thread while the reader is behind (never in caller dispatch: the reader
     * itself runs this callback then). */
    while (s->n >= PULL_QUEUE_MAX && !s->closing && s->ctx->dispatch == ETCD_DISPATCH_THREAD)
        pthread_cond_wait(&s->cv, &s->mu);
    item *it = s->closing ? NULL : malloc(sizeof *it);
    if (!it) {
        pthread_mutex_unlock(&s->mu);
        etcd_response_free(resp);
        etcd_call_cancel(s->call); /* a lost batch must not pass silently: end the watch */
        return;
    }
    it->resp = resp;
    it->next = NULL;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->n++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

etcd_code etcd_watch_open(etcd_watcher *w, const etcd_watch_opts *opts, etcd_watch_stream **out, etcd_error **err)
{
    if (out)
        *out = NULL;
    if (!w || !out)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "watch_open: %s is NULL", w ? "out" : "watcher");
    etcd_watch_stream *s = calloc(1, sizeof *s);
    if (!s)
        return etcd_error_set(err, ETCD_E_NOMEM, "watch_open: out of memory");
    s->ctx = w->ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->refs = 2;
    etcd_code rc = etcd_watch(w, opts, on_batch, s, &s->call, err);
    if (rc != ETCD_OK) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rc;
    }
    *out = s;
    return ETCD_OK;
}

static void deadline_ts(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

etcd_code etcd_watch_stream_next(etcd_watch_stream *s, int64_t timeout_ms, etcd_response **resp, etcd_error **err)
{
    if (resp)
        *resp = NULL;
    if (!s || !resp)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "watch_stream_next: %s is NULL", s ? "resp" : "stream");
    int64_t until = timeout_ms > 0 ? etcd_now_ms() + timeout_ms : 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->head) {
            item *it = s->head;
            s->head = it->next;
            if (!s->head)
                s->tail = NULL;
            s->n--;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            *resp = it->resp;
            free(it);
            return ETCD_OK;
        }
        if (s->ended) {
            etcd_code code = s->end_code;
            if (err && s->end_err)
                *err = etcd_error_copy(s->end_err);
            pthread_mutex_unlock(&s->mu);
            return code != ETCD_OK ? code : ETCD_E_CANCELLED;
        }
        int64_t left = timeout_ms < 0 ? 1000 : until - etcd_now_ms();
        if (timeout_ms == 0 || left <= 0) {
            pthread_mutex_unlock(&s->mu);
            return etcd_error_set(err, ETCD_E_DEADLINE, "watch_stream_next: no batch within %lld ms",
                                  (long long)timeout_ms);
        }
        if (s->ctx->dispatch == ETCD_DISPATCH_CALLER) {
            /* The results come through the client's dispatch: run it while waiting. */
            pthread_mutex_unlock(&s->mu);
            struct pollfd p = {.fd = s->ctx->event_fd, .events = POLLIN};
            poll(&p, 1, (int)(left > 100 ? 100 : left));
            etcd_context_dispatch(s->ctx);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        struct timespec ts;
        deadline_ts(&ts, left > 1000 ? 1000 : left);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
}

void etcd_watch_stream_close(etcd_watch_stream *s)
{
    if (!s)
        return;
    etcd_call_cancel(s->call);
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->cv);
    etcd_call *call = s->call;
    stream_unref_locked(s);
    etcd_call_release(call);
}
