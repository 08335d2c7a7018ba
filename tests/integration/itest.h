/*
 * Shared helpers for integration tests: a real etcd started by the harness for the test group,
 * clients connected to it, and assertions that print etcdc's error message when they fail.
 */
#ifndef ETCDC_ITEST_H
#define ETCDC_ITEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <etcdc/etcdc.h>

#include "etcd_harness.h"

/* Fails the test with etcdc's message when rc is not ETCD_OK. */
#define ASSERT_OK(rc, err)                                                                                        \
    do {                                                                                                          \
        etcd_code rc_ = (rc);                                                                                     \
        if (rc_ != ETCD_OK) {                                                                                     \
            fail_msg("%s returned %s: %s", #rc, etcd_code_name(rc_), (err) ? etcd_error_message(err) : "-");      \
        }                                                                                                         \
    } while (0)

/* Checks a failure's code (and frees the error). */
#define ASSERT_FAILS(expected, rc, err)                                                                           \
    do {                                                                                                          \
        etcd_code rc_ = (rc);                                                                                     \
        if (rc_ != (expected))                                                                                    \
            fail_msg("%s returned %s, expected %s: %s", #rc, etcd_code_name(rc_), etcd_code_name(expected),       \
                     (err) ? etcd_error_message(err) : "-");                                                      \
        assert_non_null(err);                                                                                     \
        assert_int_equal(etcd_error_code(err), (expected));                                                       \
        etcd_error_free(err);                                                                                     \
        (err) = NULL;                                                                                             \
    } while (0)

/* Starts a cluster for a test group; aborts the group with the harness's message on failure. */
eh_cluster *itest_start(const eh_opts *opts);
/* A config for `endpoints` (NULL: the cluster's), or a test failure; for clients with more settings. */
etcd_config *itest_config(const char *endpoints);
/* A client from `cfg`, which it frees, or a test failure. */
etcd_client *itest_client_from(etcd_config *cfg);
/* A client for `endpoints` (NULL: the cluster's) with the default settings, or a test failure. */
etcd_client *itest_client(const char *endpoints);
/* The value of a string key via etcdc, malloc'd and NUL-terminated, or NULL when absent. */
char *itest_get_string(etcd_kv *kv, const char *key);
/* Puts a string key, failing the test on error; returns the response revision. */
int64_t itest_put_string(etcd_kv *kv, const char *key, const char *value);

extern eh_cluster *itest_cluster;

/* The common group fixture: one etcd member and one client to it (itest_main, itest_kv). */
extern etcd_client *itest_main;
extern etcd_kv *itest_kv;
int itest_group_setup(void **state);
int itest_group_teardown(void **state);
/* Sends op on kv and frees it; the test fails on error. Returns the response. */
etcd_response *itest_do(etcd_kv *kv, etcd_op *op);

#endif
