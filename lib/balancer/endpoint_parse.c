/* Endpoint list parsing: the forms clientv3 and etcdctl accept, turned into gRPC targets. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint_parse.h"
#include "error/error_internal.h"

#define BAD(err, name, ...) bad_endpoint(err, ETCD_E_BAD_ENDPOINT, name, __VA_ARGS__)

static etcd_code bad_endpoint(etcd_error **err, etcd_code code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static etcd_code bad_endpoint(etcd_error **err, etcd_code code, const char *name, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return etcd_error_set(err, code, "endpoint \"%s\": %s", name, why);
}

static bool parse_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static bool looks_numeric(const char *h)
{
    for (; *h; h++)
        if (!isdigit((unsigned char)*h) && *h != '.')
            return false;
    return true;
}

static bool valid_hostname(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
        return false;
    for (const char *p = h; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return false;
    return true;
}

/* host:port (after any scheme) into a gRPC target. */
static etcd_code parse_hostport(const char *name, const char *hp, char **target, etcd_error **err)
{
    size_t len = strlen(hp);
    if (len && hp[len - 1] == '/')
        len--;                            /* "http://h:2379/" is fine */
    if (len == 0)
        return BAD(err, name, "no host");
    if (memchr(hp, '/', len))
        return BAD(err, name, "unexpected path after host:port");
    char host[256];
    const char *port;
    size_t port_len;
    if (hp[0] == '[') {
        const char *close = memchr(hp, ']', len);
        if (!close)
            return BAD(err, name, "missing ']' after IPv6 address");
        size_t hl = (size_t)(close - hp - 1);
        if (hl == 0 || hl >= sizeof host)
            return BAD(err, name, "invalid IPv6 address");
        memcpy(host, hp + 1, hl);
        host[hl] = 0;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return BAD(err, name, "invalid IPv6 address \"%s\"", host);
        if ((size_t)(close - hp) + 1 >= len || close[1] != ':')
            return BAD(err, name, "missing port (expected [%s]:PORT)", host);
        port = close + 2;
        port_len = len - (size_t)(port - hp);
        if (!parse_port(port, port_len))
            return BAD(err, name, "invalid port \"%.*s\" (expected 1-65535)", (int)port_len, port);
        return asprintf(target, "ipv6:[%s]:%.*s", host, (int)port_len, port) < 0 ? ETCD_E_NOMEM : ETCD_OK;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (hp[i] == ':') {
            if (colon)
                return BAD(err, name, "IPv6 addresses need brackets, as in [::1]:2379");
            colon = hp + i;
        }
    if (!colon)
        return BAD(err, name, "missing port (expected HOST:PORT)");
    size_t hl = (size_t)(colon - hp);
    if (hl == 0)
        return BAD(err, name, "no host");
    if (hl >= sizeof host)
        return BAD(err, name, "host name too long");
    memcpy(host, hp, hl);
    host[hl] = 0;
    port = colon + 1;
    port_len = len - hl - 1;
    if (!parse_port(port, port_len))
        return BAD(err, name, "invalid port \"%.*s\" (expected 1-65535)", (int)port_len, port);
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return asprintf(target, "ipv4:%s:%.*s", host, (int)port_len, port) < 0 ? ETCD_E_NOMEM : ETCD_OK;
    if (looks_numeric(host))
        return BAD(err, name, "invalid IPv4 address \"%s\"", host);
    if (!valid_hostname(host))
        return BAD(err, name, "invalid host name \"%s\"", host);
    return asprintf(target, "dns:///%s:%.*s", host, (int)port_len, port) < 0 ? ETCD_E_NOMEM : ETCD_OK;
}

static etcd_code parse_one(const char *name, char **target, bool *tls, etcd_error **err)
{
    *tls = false;
    const char *sep = strstr(name, "://");
    if (!sep)
        return parse_hostport(name, name, target, err);
    size_t sl = (size_t)(sep - name);
    const char *rest = sep + 3;
    if (sl == 4 && strncmp(name, "http", 4) == 0)
        return parse_hostport(name, rest, target, err);
    if (sl == 5 && strncmp(name, "https", 5) == 0) {
        *tls = true;
        return parse_hostport(name, rest, target, err);
    }
    if ((sl == 4 && strncmp(name, "unix", 4) == 0) || (sl == 5 && strncmp(name, "unixs", 5) == 0)) {
        *tls = sl == 5;
        if (!*rest)
            return BAD(err, name, "no socket path");
        return asprintf(target, "unix:%s", rest) < 0 ? ETCD_E_NOMEM : ETCD_OK;
    }
    return BAD(err, name, "unsupported scheme \"%.*s\" (expected http, https, unix or unixs)", (int)sl, name);
}

void etcd_endpoint_specs_free(etcd_endpoint_spec *specs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(specs[i].name);
        free(specs[i].target);
    }
    free(specs);
}

etcd_code etcd_endpoints_parse(const char *list, etcd_endpoint_spec **out, size_t *count, etcd_error **err)
{
    *out = NULL;
    *count = 0;
    if (!list)
        return etcd_error_set(err, ETCD_E_INVALID_ARGUMENT, "endpoints: list is NULL");
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    etcd_endpoint_spec *specs = calloc(cap, sizeof *specs);
    if (!specs)
        return etcd_error_set(err, ETCD_E_NOMEM, "endpoints: out of memory");
    size_t n = 0;
    etcd_code rc = ETCD_OK;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b) {
            rc = etcd_error_set(err, ETCD_E_BAD_ENDPOINT, *list ? "endpoints \"%s\": empty entry in the list"
                                                                : "endpoints: the list is empty%s",
                                *list ? list : "");
            break;
        }
        char *name = strndup(a, (size_t)(b - a));
        char *target = NULL;
        bool tls = false;
        if (!name) {
            rc = etcd_error_set(err, ETCD_E_NOMEM, "endpoints: out of memory");
            break;
        }
        for (const char *q = name; *q; q++)
            if (isspace((unsigned char)*q) || !isprint((unsigned char)*q)) {
                rc = etcd_error_set(err, ETCD_E_BAD_ENDPOINT, "endpoint \"%s\": contains a space or control character",
                                    name);
                break;
            }
        if (rc == ETCD_OK)
            rc = parse_one(name, &target, &tls, err);
        if (rc == ETCD_E_NOMEM)
            etcd_error_set(err, ETCD_E_NOMEM, "endpoints: out of memory");
        if (rc != ETCD_OK) {
            free(name);
            break;
        }
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = strcmp(specs[i].target, target) == 0;
        if (dup) {
            free(name);
            free(target);
        } else {
            specs[n].name = name;
            specs[n].target = target;
            specs[n].tls = tls;
            n++;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    if (rc != ETCD_OK) {
        etcd_endpoint_specs_free(specs, n);
        return rc;
    }
    *out = specs;
    *count = n;
    return ETCD_OK;
}

etcd_code etcd_endpoints_check_tls(const etcd_endpoint_spec *specs, size_t count, etcd_error **err)
{
    for (size_t i = 0; i < count; i++)
        if (specs[i].tls)
            return etcd_error_set(err, ETCD_E_TLS_NOT_CONFIGURED,
                                  "endpoint \"%s\": TLS not configured (secure endpoints need TLS settings, which "
                                  "this client does not have)",
                                  specs[i].name);
    return ETCD_OK;
}
