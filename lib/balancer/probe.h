/* Why an endpoint cannot be reached, in words, for dial-timeout messages. */
#ifndef ETCDC_PROBE_H
#define ETCDC_PROBE_H

#include <stddef.h>

/* Tries a plain connection to a gRPC target ("ipv4:", "ipv6:", "dns:///", "unix:") for at most
 * timeout_ms and writes the reason it is unusable ("connection refused", ...) into buf. */
void etcd_probe_reason(const char *target, int timeout_ms, char *buf, size_t len);

#endif
