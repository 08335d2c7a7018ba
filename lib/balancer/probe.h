/* Why endpoints cannot be reached, in words, for dial-timeout messages. */
#ifndef ETCDC_PROBE_H
#define ETCDC_PROBE_H

#include <stddef.h>

#define ETCD_PROBE_REASON_LEN 160

/* Tries a plain connection to each gRPC target ("ipv4:", "ipv6:", "dns:///", "unix:") at once,
 * all within budget_ms together, and writes why each is unusable ("connection refused", ...)
 * into reasons[i]. */
void etcd_probe_reasons(const char *const *targets, size_t n, int budget_ms,
                        char (*reasons)[ETCD_PROBE_REASON_LEN]);

#endif
