/*
 * paging: reads every key under a prefix, 10 at a time, the way large ranges should be read:
 * each page starts just after the last key of the previous one, all pages at one revision so
 * the listing is a consistent snapshot, until the server says there is no more.
 */
#include <string.h>

#include "common.h"

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_THREAD);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    etcd_error *err = NULL;
    etcd_response *resp = NULL;

    /* Some keys to page through. */
    for (int i = 0; i < 35; i++) {
        char k[48];
        snprintf(k, sizeof k, "examples/pages/%03d", i);
        if (etcd_kv_put(kv, k, strlen(k), "x", 1, &resp, &err) != ETCD_OK)
            goto fail;
        etcd_response_free(resp);
    }

    const char prefix[] = "examples/pages/";
    uint8_t end[sizeof prefix];
    size_t end_len = etcd_prefix_range_end(prefix, strlen(prefix), end);
    uint8_t start[256];
    size_t start_len = strlen(prefix);
    memcpy(start, prefix, start_len);
    int64_t rev = 0; /* 0: latest for the first page, then pinned */
    int pages = 0, keys = 0;
    for (;;) {
        etcd_op *op = etcd_op_get(start, start_len);
        etcd_op_with_range_end(op, end, end_len);
        etcd_op_with_limit(op, 10);
        etcd_op_with_rev(op, rev);
        etcd_op_with_keys_only(op);
        etcd_code rc = etcd_kv_do(kv, op, &resp, &err);
        etcd_op_free(op);
        if (rc != ETCD_OK)
            goto fail;
        if (rev == 0)
            rev = etcd_response_revision(resp);
        size_t n = etcd_response_kv_count(resp);
        pages++;
        keys += (int)n;
        printf("page %d: %zu keys", pages, n);
        if (n) {
            size_t kl;
            const uint8_t *last = etcd_keyvalue_key(etcd_response_kv_at(resp, n - 1), &kl);
            printf(" (last %.*s)", (int)kl, (const char *)last);
            /* Next page: the smallest key after `last` is `last` + "\0". */
            if (kl + 1 > sizeof start) {
                etcd_response_free(resp);
                break;
            }
            memcpy(start, last, kl);
            start[kl] = 0;
            start_len = kl + 1;
        }
        printf("\n");
        int more = etcd_response_more(resp);
        etcd_response_free(resp);
        if (!more)
            break;
    }
    printf("%d keys in %d pages at revision %lld\n", keys, pages, (long long)rev);
    etcd_client_free(client);
    return keys == 35 ? 0 : 1;

fail:
    fprintf(stderr, "%s\n", etcd_error_message(err));
    etcd_error_free(err);
    etcd_client_free(client);
    return 1;
}
