/* The endpoint set and its round-robin picker. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "error/error_internal.h"

struct etcd_endpoint_set {
    pthread_mutex_t mu;
    etcd_endpoint **eps;
    size_t n;
    size_t next;                        /* round-robin cursor */
    etcd_channel_settings settings;
};

etcd_endpoint *etcd_endpoint_ref(etcd_endpoint *ep)
{
    atomic_fetch_add_explicit(&ep->refs, 1, memory_order_relaxed);
    return ep;
}

void etcd_endpoint_unref(etcd_endpoint *ep)
{
    if (!ep || atomic_fetch_sub_explicit(&ep->refs, 1, memory_order_acq_rel) != 1)
        return;
    grpc_channel_destroy(ep->channel);
    pthread_mutex_destroy(&ep->reg_mu);
    free(ep->name);
    free(ep->target);
    free(ep);
}

void *etcd_endpoint_method(etcd_endpoint *ep, int id, const char *path)
{
    if (id < 0 || id >= ETCD_MAX_METHODS || !path)
        return NULL;
    void *h = atomic_load_explicit(&ep->registered[id], memory_order_acquire);
    if (h)
        return h;
    pthread_mutex_lock(&ep->reg_mu);
    h = atomic_load_explicit(&ep->registered[id], memory_order_relaxed);
    if (!h) {
        h = grpc_channel_register_call(ep->channel, path, NULL, NULL);
        atomic_store_explicit(&ep->registered[id], h, memory_order_release);
    }
    pthread_mutex_unlock(&ep->reg_mu);
    return h;
}

bool etcd_endpoint_ready(etcd_endpoint *ep)
{
    return grpc_channel_check_connectivity_state(ep->channel, 1) == GRPC_CHANNEL_READY;
}

etcd_endpoint_set *etcd_endpoint_set_new(const etcd_channel_settings *settings)
{
    etcd_endpoint_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->settings = *settings;
    return s;
}

/* Whether specs name exactly the set's targets, in any order. Under the set's lock. */
static bool same_targets(const etcd_endpoint_set *set, const etcd_endpoint_spec *specs, size_t n)
{
    if (n != set->n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < set->n && !found; j++)
            found = strcmp(set->eps[j]->target, specs[i].target) == 0;
        if (!found)
            return false;
    }
    for (size_t j = 0; j < set->n; j++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(set->eps[j]->target, specs[i].target) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* A new endpoint taking spec's strings, with a channel of its own. */
static etcd_code endpoint_new(etcd_endpoint_spec *spec, const etcd_channel_settings *settings, etcd_endpoint **out,
                              etcd_error **err)
{
    etcd_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return etcd_error_set(err, ETCD_E_NOMEM, "endpoint \"%s\": out of memory", spec->name);
    ep->channel = etcd_channel_create(spec->target, settings);
    if (!ep->channel) {
        free(ep);
        return etcd_error_set(err, ETCD_E_INTERNAL, "endpoint \"%s\": could not create a channel", spec->name);
    }
    atomic_init(&ep->refs, 1);
    atomic_init(&ep->watched, false);
    for (int m = 0; m < ETCD_MAX_METHODS; m++)
        atomic_init(&ep->registered[m], NULL);
    pthread_mutex_init(&ep->reg_mu, NULL);
    ep->name = spec->name;
    ep->target = spec->target;
    spec->name = spec->target = NULL;
    *out = ep;
    return ETCD_OK;
}

etcd_code etcd_endpoint_set_replace(etcd_endpoint_set *set, etcd_endpoint_spec *specs, size_t n, etcd_error **err)
{
    etcd_endpoint **eps = calloc(n ? n : 1, sizeof *eps);
    if (!eps)
        return etcd_error_set(err, ETCD_E_NOMEM, "endpoints: out of memory");
    pthread_mutex_lock(&set->mu);
    if (same_targets(set, specs, n)) {
        /* Nothing to change: the round robin goes on where it was. */
        pthread_mutex_unlock(&set->mu);
        free(eps);
        return ETCD_OK;
    }
    /* The new array is built beside the live one, which nothing touches until every endpoint of
     * the new one exists: a failure part way leaves the set as it was. */
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < set->n && !eps[i]; j++)
            if (strcmp(set->eps[j]->target, specs[i].target) == 0) {
                eps[i] = etcd_endpoint_ref(set->eps[j]); /* keeps the live channel */
                if (j == set->next)
                    next = i;                            /* the round robin goes on from it */
            }
        if (eps[i])
            continue;
        etcd_code rc = endpoint_new(&specs[i], &set->settings, &eps[i], err);
        if (rc != ETCD_OK) {
            pthread_mutex_unlock(&set->mu);
            etcd_endpoints_release(eps, i);
            return rc;
        }
    }
    etcd_endpoint **old = set->eps;
    size_t old_n = set->n;
    set->eps = eps;
    set->n = n;
    set->next = next;
    pthread_mutex_unlock(&set->mu);
    etcd_endpoints_release(old, old_n);
    return ETCD_OK;
}

etcd_endpoint *etcd_endpoint_set_pick(etcd_endpoint_set *set, const etcd_endpoint *avoid, bool *ready)
{
    pthread_mutex_lock(&set->mu);
    etcd_endpoint *best = NULL;
    int best_rank = 99;
    size_t best_i = 0;
    for (size_t k = 0; k < set->n && best_rank > 0; k++) {
        size_t i = (set->next + k) % set->n;
        etcd_endpoint *ep = set->eps[i];
        /* try_to_connect wakes an idle channel: the next pick may find it ready. */
        grpc_connectivity_state st = grpc_channel_check_connectivity_state(ep->channel, 1);
        int rank;
        switch (st) {
        case GRPC_CHANNEL_READY:
            rank = 0;
            break;
        case GRPC_CHANNEL_IDLE:
        case GRPC_CHANNEL_CONNECTING:
            rank = 1;
            break;
        default:
            rank = 2;
            break;
        }
        rank *= 2;
        if (ep == avoid)
            rank += 1;
        if (rank < best_rank) {
            best = ep;
            best_rank = rank;
            best_i = i;
        }
    }
    if (best) {
        set->next = (best_i + 1) % set->n;
        etcd_endpoint_ref(best);
    }
    if (ready)
        *ready = best && best_rank < 2; /* READY, avoided or not */
    pthread_mutex_unlock(&set->mu);
    return best;
}

size_t etcd_endpoint_set_snapshot(etcd_endpoint_set *set, etcd_endpoint ***out)
{
    pthread_mutex_lock(&set->mu);
    size_t n = set->n;
    etcd_endpoint **eps = calloc(n ? n : 1, sizeof *eps);
    if (!eps)
        n = 0;
    for (size_t i = 0; i < n; i++)
        eps[i] = etcd_endpoint_ref(set->eps[i]);
    pthread_mutex_unlock(&set->mu);
    *out = eps;
    return n;
}

void etcd_endpoints_release(etcd_endpoint **eps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        etcd_endpoint_unref(eps[i]);
    free(eps);
}

size_t etcd_endpoint_set_count(etcd_endpoint_set *set)
{
    pthread_mutex_lock(&set->mu);
    size_t n = set->n;
    pthread_mutex_unlock(&set->mu);
    return n;
}

size_t etcd_endpoint_set_names(etcd_endpoint_set *set, char *buf, size_t len)
{
    size_t total = 0;
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < set->n; i++) {
        int w = snprintf(buf && total < len ? buf + total : NULL, buf && total < len ? len - total : 0, "%s%s",
                         i ? "," : "", set->eps[i]->name);
        if (w > 0)
            total += (size_t)w;
    }
    pthread_mutex_unlock(&set->mu);
    if (buf && len && set->n == 0)
        buf[0] = 0;
    return total;
}

void etcd_endpoint_set_free(etcd_endpoint_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        etcd_endpoint_unref(set->eps[i]);
    free(set->eps);
    pthread_mutex_destroy(&set->mu);
    free(set);
}
