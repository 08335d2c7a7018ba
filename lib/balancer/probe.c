/* A plain TCP / unix connect, to name the reason a channel could not connect. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe.h"

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

static void connect_reason(int family, const struct sockaddr *sa, socklen_t salen, int timeout_ms, char *buf,
                           size_t len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(buf, len, "%s", strerror(errno));
        return;
    }
    int rc = connect(fd, sa, salen);
    int e = rc == 0 ? 0 : errno;
    if (rc != 0 && e == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, timeout_ms) <= 0) {
            e = ETIMEDOUT;
        } else {
            socklen_t l = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
        }
    }
    close(fd);
    if (e == 0)
        snprintf(buf, len, "connected, but the server did not answer the gRPC handshake (timed out)");
    else
        snprintf(buf, len, "%s", errno_reason(e));
}

void etcd_probe_reason(const char *target, int timeout_ms, char *buf, size_t len)
{
    if (strncmp(target, "unix:", 5) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        const char *path = target + 5;
        if (strlen(path) >= sizeof sun.sun_path) {
            snprintf(buf, len, "socket path too long");
            return;
        }
        strcpy(sun.sun_path, path);
        connect_reason(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, timeout_ms, buf, len);
        return;
    }
    const char *hp = target;
    if (strncmp(hp, "ipv4:", 5) == 0 || strncmp(hp, "ipv6:", 5) == 0)
        hp += 5;
    else if (strncmp(hp, "dns:///", 7) == 0)
        hp += 7;
    const char *colon = strrchr(hp, ':');
    if (!colon) {
        snprintf(buf, len, "unreachable");
        return;
    }
    char host[256];
    size_t hl = (size_t)(colon - hp);
    if (hl >= sizeof host)
        hl = sizeof host - 1;
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
        snprintf(buf, len, "cannot resolve host \"%s\": %s", h, gai_strerror(g));
        return;
    }
    connect_reason(ai->ai_family, ai->ai_addr, ai->ai_addrlen, timeout_ms, buf, len);
    freeaddrinfo(ai);
}
