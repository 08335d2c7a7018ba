/*
 * config_watcher: load a configuration prefix, then follow it. The get gives the whole prefix
 * at one revision; the watch starts at that revision + 1, so no change between the two is lost
 * and none is seen twice. This program writes a few changes itself and stops once it has seen
 * them, so it can run unattended.
 */
#include <string.h>

#include "common.h"

static const char prefix[] = "examples/config/";

static void print_kv(const char *what, const etcd_keyvalue *kv)
{
    size_t kl, vl;
    const uint8_t *k = etcd_keyvalue_key(kv, &kl);
    const uint8_t *v = etcd_keyvalue_value(kv, &vl);
    printf("%s %.*s = %.*s (revision %lld)\n", what, (int)kl, (const char *)k, (int)vl, (const char *)v,
           (long long)etcd_keyvalue_mod_revision(kv));
}

static int put(etcd_kv *kv, const char *key, const char *value)
{
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    if (etcd_kv_put(kv, key, strlen(key), value, strlen(value), &resp, &err) != ETCD_OK) {
        fprintf(stderr, "put %s: %s\n", key, etcd_error_message(err));
        etcd_error_free(err);
        return -1;
    }
    etcd_response_free(resp);
    return 0;
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_THREAD);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    if (put(kv, "examples/config/color", "blue") || put(kv, "examples/config/size", "10"))
        return 1;

    /* 1. Load: every key under the prefix, and the revision they were read at. */
    etcd_op *get = etcd_op_get(prefix, strlen(prefix));
    etcd_op_with_prefix(get);
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    if (etcd_kv_do(kv, get, &resp, &err) != ETCD_OK) {
        fprintf(stderr, "load: %s\n", etcd_error_message(err));
        return 1;
    }
    etcd_op_free(get);
    for (size_t i = 0; i < etcd_response_kv_count(resp); i++)
        print_kv("loaded", etcd_response_kv_at(resp, i));
    int64_t loaded_at = etcd_response_revision(resp);
    etcd_response_free(resp);

    /* 2. Follow: from the revision after the load. */
    etcd_watch_opts *opts = etcd_watch_opts_new(prefix, strlen(prefix));
    etcd_watch_opts_with_prefix(opts);
    etcd_watch_opts_with_rev(opts, loaded_at + 1);
    etcd_watch_stream *changes = NULL;
    if (etcd_watch_open(etcd_client_watcher(client), opts, &changes, &err) != ETCD_OK) {
        fprintf(stderr, "watch: %s\n", etcd_error_message(err));
        return 1;
    }
    etcd_watch_opts_free(opts);

    /* Someone changes the configuration. */
    if (put(kv, "examples/config/color", "green") || put(kv, "examples/config/size", "12"))
        return 1;
    etcd_response *dr = NULL;
    if (etcd_kv_delete(kv, "examples/config/size", 20, &dr, &err) != ETCD_OK) {
        fprintf(stderr, "delete: %s\n", etcd_error_message(err));
        return 1;
    }
    etcd_response_free(dr);

    int seen = 0;
    while (seen < 3) {
        etcd_response *batch = NULL;
        etcd_code rc = etcd_watch_stream_next(changes, 10000, &batch, &err);
        if (rc != ETCD_OK) {
            fprintf(stderr, "watch: %s\n", err ? etcd_error_message(err) : etcd_strerror(rc));
            return 1;
        }
        for (size_t i = 0; i < etcd_watch_response_event_count(batch); i++, seen++) {
            const etcd_event *ev = etcd_watch_response_event_at(batch, i);
            print_kv(etcd_event_get_type(ev) == ETCD_EVENT_PUT ? "changed" : "deleted", etcd_event_kv(ev));
        }
        etcd_response_free(batch);
    }
    etcd_watch_stream_close(changes);
    etcd_client_free(client);
    return 0;
}
