/*
 * Helpers for the watch tests: a recorder that a watch callback fills (every event, every
 * batch's flags, the final), waits on its conditions with a deadline, and etcd's watch gauges
 * read from /metrics on a member's client URL.
 */
#ifndef ETCDC_WATCH_REC_H
#define ETCDC_WATCH_REC_H

#include <pthread.h>
#include <stdbool.h>

#include "itest.h"

typedef struct wrec_event {
    char *key, *value, *prev_value;     /* NUL-terminated copies; prev_value NULL without prev_kv */
    size_t value_len;
    etcd_event_type type;
    int64_t mod_rev;
    size_t batch;                       /* index of the batch it came in */
} wrec_event;

typedef struct wrec_batch {
    size_t n_events;
    int created, progress;
    int64_t revision, watch_id;
} wrec_batch;

typedef struct wrec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wrec_event *evs;
    size_t n_evs, cap_evs;
    wrec_batch *batches;
    size_t n_batches, cap_batches;
    int finals;                         /* callbacks with resp NULL */
    int after_final;                    /* callbacks of any kind after the first final */
    etcd_code final_code;
    int64_t compact_rev;                /* etcd_error_compact_revision() of the final's error */
    char final_msg[256];
    bool final_had_err;
    pthread_t final_thread;
    int bad;                            /* callbacks that broke the contract (code, err, kind) */
    /* Optional: the callback waits while *gate is false (the test opens it). */
    bool gated, gate_open;
    int in_callback;                    /* callbacks currently waiting at the gate */
} wrec;

wrec *wrec_new(void);
void wrec_free(wrec *r);
/* The watch callback; user_data is the wrec. */
void wrec_cb(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud);
/* Opens the gate of a gated recorder. */
void wrec_open_gate(wrec *r);
/* Event i and the event count, read under the recorder's lock (the callback may be adding). */
wrec_event wrec_ev(wrec *r, size_t i);
size_t wrec_n(wrec *r);

/* Waits (polling the recorder's condition variable) until cond, evaluated under r->mu, holds;
 * fails the test after ms milliseconds with what. */
#define WREC_WAIT(r, cond, ms, what)                                                                          \
    do {                                                                                                      \
        int64_t until_ = wrec_now_ms() + (ms);                                                                \
        pthread_mutex_lock(&(r)->mu);                                                                         \
        while (!(cond)) {                                                                                     \
            if (wrec_now_ms() > until_) {                                                                     \
                pthread_mutex_unlock(&(r)->mu);                                                               \
                fail_msg("timed out waiting for %s (%zu events, %zu batches, %d finals)", what, (r)->n_evs,    \
                         (r)->n_batches, (r)->finals);                                                        \
            }                                                                                                 \
            wrec_timedwait(r, 50);                                                                            \
        }                                                                                                     \
        pthread_mutex_unlock(&(r)->mu);                                                                       \
    } while (0)

int64_t wrec_now_ms(void);
void wrec_timedwait(wrec *r, int ms);

/* Starts a watch reporting to r; fails the test on error. */
etcd_call *wrec_watch(etcd_client *c, const etcd_watch_opts *opts, wrec *r);
/* Watch options for a C-string key. */
etcd_watch_opts *wrec_opts(const char *key);

/* A gauge or counter from member i's /metrics (the sum over its label sets), or a test failure. */
double wrec_metric(eh_cluster *cl, int member, const char *name);
/* Polls until the gauge equals want: true, or false after ms. */
bool wrec_metric_reaches(eh_cluster *cl, int member, const char *name, double want, int ms);
/* Polls until the gauge equals want; fails after ms. */
void wrec_wait_metric(eh_cluster *cl, int member, const char *name, double want, int ms);

#endif
