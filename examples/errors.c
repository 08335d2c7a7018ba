/*
 * errors: what to do with the failures a program will meet.
 *  - a read at a compacted revision: ETCD_E_COMPACTED; read again at the current revision.
 *  - a write whose outcome is unknown (it failed after it may have reached the server):
 *    ETCD_E_OUTCOME_UNKNOWN; find out by reading, never by blindly writing again.
 *  - bad input: ETCD_E_INVALID_ARGUMENT with a message naming the problem; nothing was sent.
 */
#include <string.h>

#include "common.h"

static void show(const char *what, etcd_code rc, const etcd_error *err)
{
    printf("%-28s -> %s", what, etcd_code_name(rc));
    if (err)
        printf(": %s%s", etcd_error_message(err),
               etcd_error_outcome(err) == ETCD_OUTCOME_UNKNOWN ? " [may have been applied]" : "");
    printf("\n");
}

int main(void)
{
    etcd_client *client = example_connect(ETCD_DISPATCH_THREAD);
    if (!client)
        return 1;
    etcd_kv *kv = etcd_client_kv(client);
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    const char key[] = "examples/errors";
    int failures = 0;

    /* 1. Compacted history. */
    etcd_kv_put(kv, key, strlen(key), "v1", 2, &resp, NULL);
    int64_t old_rev = etcd_response_revision(resp);
    etcd_response_free(resp);
    etcd_kv_put(kv, key, strlen(key), "v2", 2, &resp, NULL);
    int64_t cur_rev = etcd_response_revision(resp);
    etcd_response_free(resp);
    if (etcd_kv_compact(kv, cur_rev, 0, &resp, &err) == ETCD_OK)
        etcd_response_free(resp);
    else {
        show("compact", etcd_error_code(err), err); /* already compacted by an earlier run */
        etcd_error_free(err);
        err = NULL;
    }
    etcd_op *op = etcd_op_get(key, strlen(key));
    etcd_op_with_rev(op, old_rev);
    etcd_code rc = etcd_kv_do(kv, op, &resp, &err);
    etcd_op_free(op);
    show("get at a compacted revision", rc, err);
    failures += rc != ETCD_E_COMPACTED;
    etcd_error_free(err);
    err = NULL;
    if (rc == ETCD_E_COMPACTED) {
        /* Recover: read the current value instead. */
        rc = etcd_kv_get(kv, key, strlen(key), &resp, &err);
        show("  read current instead", rc, err);
        etcd_response_free(resp);
    }

    /* 2. A write with a deadline too short to be sure of: it either succeeds, fails before
     *    sending (definitely not applied), or its outcome is unknown. */
    op = etcd_op_put(key, strlen(key), "v3", 2);
    etcd_op_set_timeout_ms(op, 1);
    rc = etcd_kv_do(kv, op, &resp, &err);
    etcd_op_free(op);
    show("put with a 1 ms deadline", rc, err);
    if (rc == ETCD_E_OUTCOME_UNKNOWN) {
        /* Decide by reading what is there now. */
        etcd_error_free(err);
        err = NULL;
        rc = etcd_kv_get(kv, key, strlen(key), &resp, &err);
        if (rc == ETCD_OK) {
            size_t n;
            const uint8_t *v = etcd_keyvalue_value(etcd_response_kv_at(resp, 0), &n);
            printf("  after reading: the put %s applied\n", n == 2 && memcmp(v, "v3", 2) == 0 ? "was" : "was not");
            etcd_response_free(resp);
        }
    } else if (rc == ETCD_OK) {
        etcd_response_free(resp);
    }
    etcd_error_free(err);
    err = NULL;

    /* 3. Bad input: refused before anything is sent. */
    rc = etcd_kv_put(kv, "", 0, "v", 1, &resp, &err);
    show("put with an empty key", rc, err);
    failures += rc != ETCD_E_INVALID_ARGUMENT;
    etcd_error_free(err);

    etcd_client_free(client);
    return failures ? 1 : 0;
}
