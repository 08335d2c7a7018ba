/* The watch tests' recorder and metrics reader. */
#include <time.h>

#include "server_counts.h"
#include "watch_rec.h"

int64_t wrec_now_ms(void)
{
    return sc_now_ms();
}

void wrec_timedwait(wrec *r, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    while (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

wrec *wrec_new(void)
{
    wrec *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

void wrec_free(wrec *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_evs; i++) {
        free(r->evs[i].key);
        free(r->evs[i].value);
        free(r->evs[i].prev_value);
    }
    free(r->evs);
    free(r->batches);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void wrec_open_gate(wrec *r)
{
    pthread_mutex_lock(&r->mu);
    r->gate_open = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort(); /* on a library thread: cmocka's failure jump must not run here */
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void add_event(wrec *r, const etcd_event *ev, size_t batch)
{
    if (r->n_evs == r->cap_evs) {
        r->cap_evs = r->cap_evs ? r->cap_evs * 2 : 64;
        r->evs = realloc(r->evs, r->cap_evs * sizeof *r->evs);
        if (!r->evs)
            abort();
    }
    wrec_event *e = &r->evs[r->n_evs++];
    memset(e, 0, sizeof *e);
    const etcd_keyvalue *kv = etcd_event_kv(ev);
    size_t n;
    const uint8_t *p = etcd_keyvalue_key(kv, &n);
    e->key = dup_bytes(p, n);
    p = etcd_keyvalue_value(kv, &n);
    e->value = dup_bytes(p, n);
    e->value_len = n;
    e->type = etcd_event_get_type(ev);
    e->mod_rev = etcd_keyvalue_mod_revision(kv);
    e->batch = batch;
    const etcd_keyvalue *prev = etcd_event_prev_kv(ev);
    if (prev) {
        p = etcd_keyvalue_value(prev, &n);
        e->prev_value = dup_bytes(p, n);
    }
}

void wrec_cb(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *ud)
{
    (void)call;
    wrec *r = ud;
    pthread_mutex_lock(&r->mu);
    if (r->finals > 0)
        r->after_final++;
    if (r->gated) {
        r->in_callback++;
        pthread_cond_broadcast(&r->cv);
        while (!r->gate_open)
            pthread_cond_wait(&r->cv, &r->mu);
        r->in_callback--;
    }
    if (!resp) {
        if (code == ETCD_OK ? err != NULL : err == NULL)
            r->bad++; /* a failure comes with its error, a normal end without */
        r->finals++;
        r->final_code = code;
        r->final_had_err = err != NULL;
        r->compact_rev = etcd_error_compact_revision(err);
        r->final_thread = pthread_self();
        snprintf(r->final_msg, sizeof r->final_msg, "%s", err ? etcd_error_message(err) : "");
    } else {
        if (code != ETCD_OK || err || etcd_response_get_kind(resp) != ETCD_RESPONSE_WATCH)
            r->bad++;
        if (r->n_batches == r->cap_batches) {
            r->cap_batches = r->cap_batches ? r->cap_batches * 2 : 64;
            r->batches = realloc(r->batches, r->cap_batches * sizeof *r->batches);
            if (!r->batches)
                abort();
        }
        wrec_batch *b = &r->batches[r->n_batches];
        b->n_events = etcd_watch_response_event_count(resp);
        b->created = etcd_watch_response_created(resp);
        b->progress = etcd_watch_response_progress(resp);
        b->revision = etcd_response_revision(resp);
        b->watch_id = etcd_watch_response_watch_id(resp);
        for (size_t i = 0; i < b->n_events; i++)
            add_event(r, etcd_watch_response_event_at(resp, i), r->n_batches);
        r->n_batches++;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

etcd_watch_opts *wrec_opts(const char *key)
{
    etcd_watch_opts *o = etcd_watch_opts_new(key, strlen(key));
    assert_non_null(o);
    return o;
}

etcd_call *wrec_watch(etcd_client *c, const etcd_watch_opts *opts, wrec *r)
{
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    ASSERT_OK(etcd_watch(etcd_client_watcher(c), opts, wrec_cb, r, &call, &err), err);
    assert_non_null(call);
    return call;
}

double wrec_metric(eh_cluster *cl, int member, const char *name)
{
    bool found;
    double sum = sc_metric(eh_member_client_port(cl, member), name, &found);
    if (sum < 0)
        fail_msg("could not read /metrics of member %d", member);
    if (!found)
        fail_msg("metric %s not found on member %d", name, member);
    return sum;
}

bool wrec_metric_reaches(eh_cluster *cl, int member, const char *name, double want, int ms)
{
    int64_t until = wrec_now_ms() + ms;
    while (wrec_metric(cl, member, name) != want) {
        if (wrec_now_ms() > until)
            return false;
        struct timespec ts = {0, 20 * 1000 * 1000}; /* polling the server's gauge */
        nanosleep(&ts, NULL);
    }
    return true;
}

void wrec_wait_metric(eh_cluster *cl, int member, const char *name, double want, int ms)
{
    int64_t until = wrec_now_ms() + ms;
    double v;
    while ((v = wrec_metric(cl, member, name)) != want) {
        if (wrec_now_ms() > until)
            fail_msg("%s is %g, expected %g", name, v, want);
        struct timespec ts = {0, 20 * 1000 * 1000}; /* polling the server's gauge */
        nanosleep(&ts, NULL);
    }
}

wrec_event wrec_ev(wrec *r, size_t i)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_evs;
    wrec_event e = i < n ? r->evs[i] : (wrec_event){0};
    pthread_mutex_unlock(&r->mu);
    if (i >= n)
        fail_msg("event %zu asked for, %zu recorded", i, n);
    return e;
}

size_t wrec_n(wrec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_evs;
    pthread_mutex_unlock(&r->mu);
    return n;
}
