/* Plain TCP / unix connects, all in parallel, to name the reason channels could not connect. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe.h"
#include "rpc/rpc.h"

static const char *errno_reason(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return "connection refused";
    case ETIMEDOUT:
        return "connection timed out";
    case EHOSTUNREACH:
    case ENETUNREACH:
        return "no route to host";
    case ENOENT:
        return "no such socket";
    default:
        return strerror(e);
    }
}

/* Starts a non-blocking connect; returns the socket (connecting or connected) or -1 with the
 * reason written. */
static int start_connect(const char *target, char *reason)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int family;
    if (strncmp(target, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        const char *path = target + 5;
        memset(sun, 0, sizeof *sun);
        if (strlen(path) >= sizeof sun->sun_path) {
            snprintf(reason, ETCD_PROBE_REASON_LEN, "socket path too long");
            return -1;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, path);
        family = AF_UNIX;
        sl = sizeof *sun;
    } else {
        const char *hp = target;
        if (strncmp(hp, "ipv4:", 5) == 0 || strncmp(hp, "ipv6:", 5) == 0)
            hp += 5;
        else if (strncmp(hp, "dns:///", 7) == 0)
            hp += 7;
        const char *colon = strrchr(hp, ':');
        char host[256];
        size_t hl = colon ? (size_t)(colon - hp) : 0;
        if (!colon || hl >= sizeof host) {
            snprintf(reason, ETCD_PROBE_REASON_LEN, "unreachable");
            return -1;
        }
        memcpy(host, hp, hl);
        host[hl] = 0;
        char *h = host;
        if (h[0] == '[') {
            h++;
            char *rb = strchr(h, ']');
            if (rb)
                *rb = 0;
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int g = getaddrinfo(h, colon + 1, &hints, &ai);
        if (g != 0 || !ai) {
            snprintf(reason, ETCD_PROBE_REASON_LEN, "cannot resolve host \"%.64s\": %.64s", h, gai_strerror(g));
            return -1;
        }
        family = ai->ai_family;
        sl = ai->ai_addrlen;
        memcpy(&ss, ai->ai_addr, sl);
        freeaddrinfo(ai);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(reason, ETCD_PROBE_REASON_LEN, "%s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        snprintf(reason, ETCD_PROBE_REASON_LEN, "%s", errno_reason(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void connected_reason(int fd, char *reason)
{
    int e = 0;
    socklen_t l = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    if (e == 0)
        snprintf(reason, ETCD_PROBE_REASON_LEN, "connected, but the server did not answer the gRPC handshake");
    else
        snprintf(reason, ETCD_PROBE_REASON_LEN, "%s", errno_reason(e));
}

void etcd_probe_reasons(const char *const *targets, size_t n, int budget_ms, char (*reasons)[ETCD_PROBE_REASON_LEN])
{
    struct pollfd *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        for (size_t i = 0; i < n; i++)
            snprintf(reasons[i], ETCD_PROBE_REASON_LEN, "unreachable");
        return;
    }
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        p[i].fd = start_connect(targets[i], reasons[i]);
        p[i].events = POLLOUT;
        pending += p[i].fd >= 0;
    }
    int64_t end = etcd_now_ms() + budget_ms;
    while (pending > 0) {
        int64_t left = end - etcd_now_ms();
        if (left <= 0 || poll(p, n, (int)left) <= 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (p[i].fd >= 0 && p[i].revents) {
                connected_reason(p[i].fd, reasons[i]);
                close(p[i].fd);
                p[i].fd = -1;
                pending--;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].fd >= 0) {
            snprintf(reasons[i], ETCD_PROBE_REASON_LEN, "connection timed out");
            close(p[i].fd);
        }
    }
    free(p);
}
