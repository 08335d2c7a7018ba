/*
 * What a member saw, for tests that count attempts: etcd's Prometheus counters (read over a
 * plain HTTP GET of the member's client URL) and lines of its log. Header-only, so each test
 * program that needs it just includes it.
 */
#ifndef ETCDC_SERVER_COUNTS_H
#define ETCDC_SERVER_COUNTS_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline int64_t sc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sc_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The body of GET `path` on 127.0.0.1:port (malloc'd, NUL-terminated), or NULL. */
static inline char *sc_http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 + 1 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || !body) {
        free(buf);
        return NULL;
    }
    memmove(buf, body + 4, len - (size_t)(body + 4 - buf) + 1);
    return buf;
}

/* The sum of the samples on the member's /metrics lines that start with `prefix`: a metric's
 * name (then only that metric, any labels) or its name with the start of its label set.
 * *found says whether any line matched; -1 when the metrics could not be read. */
static inline double sc_metric(int port, const char *prefix, bool *found)
{
    *found = false;
    char *m = sc_http_get(port, "/metrics");
    if (!m)
        return -1;
    size_t pl = strlen(prefix);
    bool bare_name = !strchr(prefix, '{');
    double total = 0;
    for (char *line = m; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (strncmp(line, prefix, pl) == 0 && (!bare_name || line[pl] == ' ' || line[pl] == '{')) {
            char *labels = strchr(line, '}');
            char *val = strchr(labels ? labels : line, ' ');
            if (val) {
                total += strtod(val + 1, NULL);
                *found = true;
            }
        }
        line = next;
    }
    free(m);
    return total;
}

/* How many calls of KV `method` (e.g. "Range") the member on `port` has started to handle, or
 * -1 when its metrics could not be read. Calls the member refuses before its handler (a
 * learner's refusal, for one) are not counted here; see sc_log_count(). */
static inline long sc_kv_calls(int port, const char *method)
{
    char want[128];
    snprintf(want, sizeof want, "grpc_server_started_total{grpc_method=\"%s\",grpc_service=\"etcdserverpb.KV\",",
             method);
    bool found;
    double n = sc_metric(port, want, &found);
    return found ? (long)n : -1;
}

/* Occurrences of `needle` in the file at `path` (0 when it cannot be read). */
static inline long sc_log_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long count = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0)
        for (char *p = line; (p = strstr(p, needle)); p += strlen(needle))
            count++;
    free(line);
    fclose(f);
    return count;
}

#endif
