/*
 * cas_txn: compare-and-swap with a transaction. Several workers could run this at once; each
 * increment lands exactly once because the write only happens if nobody changed the key since
 * it was read (its mod revision is still the same).
 */
#include <string.h>

#include "common.h"

static const char key[] = "examples/counter";

/* Reads the counter; returns its value and, in *mod_rev, the revision it was last written at
 * (0 when the key does not exist yet). */
static long read_counter(etcd_kv *kv, int64_t *mod_rev)
{
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    if (etcd_kv_get(kv, key, strlen(key), &resp, &err) != ETCD_OK) {
        fprintf(stderr, "get: %s\n", etcd_error_message(err));
        etcd_error_free(err);
        exit(1);
    }
    long value = 0;
    *mod_rev = 0;
    const etcd_keyvalue *kvp = etcd_response_kv_at(resp, 0); /* NULL when the key is absent */
    if (kvp) {
        size_t n;
        const uint8_t *v = etcd_keyvalue_value(kvp, &n);
        char buf[32] = {0};
        memcpy(buf, v, n < sizeof buf - 1 ? n : sizeof buf - 1);
        value = atol(buf);
        *mod_rev = etcd_keyvalue_mod_revision(kvp);
    }
    etcd_response_free(resp);
    return value;
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_THREAD);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);

    for (int done = 0; done < 5;) {
        int64_t mod_rev;
        long value = read_counter(kv, &mod_rev);
        char next[32];
        snprintf(next, sizeof next, "%ld", value + 1);

        /* If mod_revision(key) == what we read, Then put value+1; Else nothing. */
        etcd_txn *txn = etcd_txn_new();
        etcd_txn_if(txn, etcd_cmp_mod_rev(key, strlen(key), ETCD_CMP_EQUAL, mod_rev)); /* txn owns the cmp */
        etcd_txn_then(txn, etcd_op_put(key, strlen(key), next, strlen(next)));         /* and the op */
        etcd_response *resp = NULL;
        etcd_error *err = NULL;
        etcd_code rc = etcd_kv_txn(kv, txn, &resp, &err);
        etcd_txn_free(txn); /* the caller still owns the txn itself */
        if (rc == ETCD_E_OUTCOME_UNKNOWN) {
            /* The write may have happened: read again and decide, never blindly repeat. */
            fprintf(stderr, "txn outcome unknown (%s); re-reading\n", etcd_error_message(err));
            etcd_error_free(err);
            continue;
        }
        if (rc != ETCD_OK) {
            fprintf(stderr, "txn: %s\n", etcd_error_message(err));
            etcd_error_free(err);
            etcd_client_free(client);
            return 1;
        }
        if (etcd_response_succeeded(resp)) {
            printf("counter %ld -> %s\n", value, next);
            done++;
        } else {
            printf("counter changed under us; retrying\n");
        }
        etcd_response_free(resp);
    }
    etcd_client_free(client);
    return 0;
}
