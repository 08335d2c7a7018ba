/* Watch options: the create request, built in place with typed setters. */
#include <stdlib.h>
#include <string.h>

#include "error/error_internal.h"
#include "watch_internal.h"

static bool dup_bytes(ProtobufCBinaryData *out, const void *p, size_t n)
{
    /* Always a real allocation, so an empty range end stays distinguishable from none. */
    out->data = malloc(n ? n : 1);
    if (!out->data)
        return false;
    if (n)
        memcpy(out->data, p, n);
    out->len = n;
    return true;
}

etcd_watch_opts *etcd_watch_opts_new(const void *key, size_t key_len)
{
    if (!key && key_len)
        return NULL;
    etcd_watch_opts *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    Etcdserverpb__WatchCreateRequest init = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
    o->req = init;
    o->require_leader = -1;
    /* etcd reads an empty key as "\0", the first key. */
    if (!dup_bytes(&o->req.key, key_len ? key : "\0", key_len ? key_len : 1)) {
        free(o);
        return NULL;
    }
    return o;
}

void etcd_watch_opts_free(etcd_watch_opts *o)
{
    if (!o)
        return;
    free(o->req.key.data);
    free(o->req.range_end.data);
    free(o);
}

static etcd_code set_range_end(etcd_watch_opts *o, const void *end, size_t n)
{
    free(o->req.range_end.data);
    o->req.range_end.data = NULL;
    o->req.range_end.len = 0;
    if (!dup_bytes(&o->req.range_end, end, n)) {
        o->bad = true;
        return ETCD_E_NOMEM;
    }
    return ETCD_OK;
}

etcd_code etcd_watch_opts_with_range_end(etcd_watch_opts *o, const void *end, size_t end_len)
{
    if (!o || (!end && end_len))
        return ETCD_E_INVALID_ARGUMENT;
    o->prefix = false;
    return set_range_end(o, end, end_len);
}

etcd_code etcd_watch_opts_with_prefix(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    uint8_t *end = malloc(o->req.key.len ? o->req.key.len : 1);
    if (!end) {
        o->bad = true;
        return ETCD_E_NOMEM;
    }
    /* The key "\0" stands for the empty key here: a prefix of nothing is every key. */
    size_t n = o->req.key.len == 1 && o->req.key.data[0] == 0 ? 0
                                                                : etcd_prefix_range_end(o->req.key.data, o->req.key.len, end);
    etcd_code rc = set_range_end(o, n ? (const void *)end : "\0", 1 > n ? 1 : n);
    free(end);
    o->prefix = true;
    return rc;
}

etcd_code etcd_watch_opts_with_from_key(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    o->prefix = false;
    return set_range_end(o, "\0", 1);
}

etcd_code etcd_watch_opts_with_rev(etcd_watch_opts *o, int64_t revision)
{
    if (!o || revision <= 0)
        return ETCD_E_INVALID_ARGUMENT;
    o->req.start_revision = revision;
    return ETCD_OK;
}

etcd_code etcd_watch_opts_with_prev_kv(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    o->req.prev_kv = 1;
    return ETCD_OK;
}

static etcd_code add_filter(etcd_watch_opts *o, Etcdserverpb__WatchCreateRequest__FilterType f)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < o->req.n_filters; i++)
        if (o->filters[i] == f)
            return ETCD_OK;
    o->filters[o->req.n_filters++] = f;
    o->req.filters = o->filters;
    return ETCD_OK;
}

etcd_code etcd_watch_opts_with_filter_put(etcd_watch_opts *o)
{
    return add_filter(o, ETCDSERVERPB__WATCH_CREATE_REQUEST__FILTER_TYPE__NOPUT);
}

etcd_code etcd_watch_opts_with_filter_delete(etcd_watch_opts *o)
{
    return add_filter(o, ETCDSERVERPB__WATCH_CREATE_REQUEST__FILTER_TYPE__NODELETE);
}

etcd_code etcd_watch_opts_with_progress_notify(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    o->req.progress_notify = 1;
    return ETCD_OK;
}

etcd_code etcd_watch_opts_with_fragment(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    o->req.fragment = 1;
    return ETCD_OK;
}

etcd_code etcd_watch_opts_with_created_notify(etcd_watch_opts *o)
{
    if (!o)
        return ETCD_E_INVALID_ARGUMENT;
    o->created_notify = true;
    return ETCD_OK;
}

etcd_code etcd_watch_opts_set_require_leader(etcd_watch_opts *o, int on)
{
    if (!o || on < -1 || on > 1)
        return ETCD_E_INVALID_ARGUMENT;
    o->require_leader = on;
    return ETCD_OK;
}
