/* Internal side of etcd_error: construction and the mapping from gRPC status to etcd_code. */
#ifndef ETCDC_ERROR_INTERNAL_H
#define ETCDC_ERROR_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <etcdc/error.h>

struct etcd_error {
    etcd_code code;
    etcd_code cause;
    int grpc_status;          /* -1: no call was made */
    char *message;            /* always set (falls back to a static string on ENOMEM) */
    char *server_message;     /* NULL when none */
    char *endpoint;           /* NULL when none */
    int64_t compact_revision; /* ETCD_E_COMPACTED from a watch: the compaction's revision */
};

/* Sets *out (when out is not NULL) to a new error with a printf-style message and returns code.
 * Lets call sites write `return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "...", ...)`. */
etcd_code etcd_error_set(etcd_error **out, etcd_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
etcd_code etcd_error_vset(etcd_error **out, etcd_code code, const char *fmt, va_list ap);

/* A full error from a failed call. Strings are copied; any may be NULL. */
etcd_error *etcd_error_new_call(etcd_code code, etcd_code cause, int grpc_status, const char *server_message,
                                const char *endpoint, const char *what);
etcd_error *etcd_error_copy(const etcd_error *e);

/* The code for a gRPC status code and its message (etcd's error table decides by message). */
etcd_code etcd_status_to_code(int grpc_status, const char *message, size_t message_len);

/* Whether a write that failed with this code after being sent may still have been applied. */
bool etcd_code_write_outcome_unknown(etcd_code code);

#endif
