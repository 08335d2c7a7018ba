/*
 * fault_proxy_selftest.c - checks fault_proxy against a loopback echo server
 * (meson test fault-proxy-selftest).
 */
#define _GNU_SOURCE

#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "selftest.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- echo server: one poll() thread; optionally upper-cases replies ---- */

#define ECHO_MAX 256

typedef struct echo_srv {
    int lfd, port, stop[2];
    bool upper;
    pthread_t th;
    char buf[65536];
} echo_srv;

static void send_all_nb(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = { .fd = fd, .events = POLLOUT };
            poll(&pf, 1, 100);
        } else {
            return;
        }
    }
}

static void *echo_main(void *arg)
{
    echo_srv *e = arg;
    int fds[ECHO_MAX];
    int n = 0;
    char *buf = e->buf;
    for (;;) {
        struct pollfd pf[ECHO_MAX + 2];
        pf[0] = (struct pollfd){ .fd = e->stop[0], .events = POLLIN };
        pf[1] = (struct pollfd){ .fd = e->lfd, .events = POLLIN };
        for (int i = 0; i < n; i++)
            pf[2 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        if (poll(pf, (nfds_t)(n + 2), -1) < 0)
            continue;
        if (pf[0].revents)
            break;
        for (int i = n - 1; i >= 0; i--) {
            if (!pf[2 + i].revents)
                continue;
            ssize_t r = recv(fds[i], buf, sizeof e->buf, 0);
            if (r > 0) {
                if (e->upper)
                    for (ssize_t k = 0; k < r; k++)
                        if (buf[k] >= 'a' && buf[k] <= 'z')
                            buf[k] = (char)(buf[k] - 'a' + 'A');
                send_all_nb(fds[i], buf, (size_t)r);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(fds[i]);
                fds[i] = fds[--n];
            }
        }
        if (pf[1].revents) {
            int fd;
            while ((fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (n < ECHO_MAX)
                    fds[n++] = fd;
                else
                    close(fd);
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("listen");
        exit(2);
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void echo_start(echo_srv *e, bool upper)
{
    memset(e, 0, sizeof *e);
    e->upper = upper;
    e->lfd = listen_any(&e->port);
    if (pipe2(e->stop, O_CLOEXEC) != 0)
        exit(2);
    pthread_create(&e->th, NULL, echo_main, e);
}

static void echo_stop(echo_srv *e)
{
    char b = 1;
    if (write(e->stop[1], &b, 1) != 1)
        exit(2);
    pthread_join(e->th, NULL);
    close(e->lfd);
    close(e->stop[0]);
    close(e->stop[1]);
}

/* ---- client helpers ---- */

/* Blocking connect to 127.0.0.1:port; -1 on failure. */
static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool send_str(int fd, const char *s)
{
    return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

enum { RX_OK = 1, RX_EOF = 0, RX_ERR = -1, RX_TIMEOUT = -2 };

/* Read exactly len bytes within timeout_ms.  On RX_ERR, *err gets errno. */
static int recv_exact(int fd, char *buf, size_t len, int timeout_ms, int *err)
{
    int64_t end = now_ms() + timeout_ms;
    size_t got = 0;
    while (got < len) {
        int left = (int)(end - now_ms());
        if (left < 0)
            left = 0;
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int rc = poll(&pf, 1, left);
        if (rc == 0)
            return RX_TIMEOUT;
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n == 0)
            return RX_EOF;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            if (err)
                *err = errno;
            return RX_ERR;
        }
        got += (size_t)n;
    }
    return RX_OK;
}

/* Send msg and expect the same (or expect) back within timeout_ms. */
static int roundtrip(int fd, const char *msg, const char *expect, int timeout_ms)
{
    char buf[256];
    if (!send_str(fd, msg))
        return RX_ERR;
    size_t len = strlen(expect);
    int rc = recv_exact(fd, buf, len, timeout_ms, NULL);
    if (rc == RX_OK && memcmp(buf, expect, len) != 0)
        return RX_ERR;
    return rc;
}

/* The peer reset or closed the connection (seen within timeout_ms). */
static bool sees_reset(int fd, int timeout_ms)
{
    char c;
    int err = 0;
    int rc = recv_exact(fd, &c, 1, timeout_ms, &err);
    return rc == RX_EOF || (rc == RX_ERR && (err == ECONNRESET || err == EPIPE));
}

static bool tcp_established(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return ti.tcpi_state == TCP_ESTABLISHED && n < 0 && errno == EAGAIN;
}

/* Send len patterned bytes and read them back concurrently. */
static bool bulk(int fd, size_t len)
{
    char *out = malloc(len), *in = malloc(len);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(i * 131 + (i >> 11));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t sent = 0, got = 0;
    bool ok = true;
    int64_t end = now_ms() + 30000;
    while (got < len && ok) {
        struct pollfd pf = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
        if (poll(&pf, 1, 1000) < 0 || now_ms() > end) {
            ok = false;
            break;
        }
        if ((pf.revents & POLLOUT) && sent < len) {
            ssize_t n = send(fd, out + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                ok = false;
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, in + got, len - got, 0);
            if (n > 0)
                got += (size_t)n;
            else if (n == 0 || errno != EAGAIN)
                ok = false;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    ok = ok && got == len && memcmp(in, out, len) == 0;
    free(out);
    free(in);
    return ok;
}

static int closed_port(void)
{
    int port;
    int fd = listen_any(&port);
    close(fd);
    return port;
}

int main(void)
{
    echo_srv e1, e2;
    echo_start(&e1, false);
    echo_start(&e2, true);

    fp_stop(NULL);
    fp_proxy *p = NULL;
    CHECK(fp_start(e1.port, &p) == 0);
    char ep[32];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", fp_port(p));
    CHECK(strcmp(fp_endpoint(p), ep) == 0);
    int port = fp_port(p);

    /* PASS */
    int a = dial(port);
    CHECK(a >= 0);
    CHECK(roundtrip(a, "hello", "hello", 1000) == RX_OK);
    CHECK(fp_connections_accepted(p) == 1);
    int64_t t0 = now_ms();
    CHECK(bulk(a, 32u << 20));
    printf("PASS: echo ok, 32 MiB echoed in %lld ms\n", (long long)(now_ms() - t0));

    /* Many concurrent connections. */
    int many[100];
    for (int i = 0; i < 100; i++)
        many[i] = dial(port);
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += roundtrip(many[i], "m", "m", 2000) == RX_OK;
    CHECK(ok == 100);
    for (int i = 0; i < 100; i++)
        close(many[i]);
    printf("PASS: 100 concurrent connections echo: %d/100\n", ok);

    /* DELAY */
    fp_set_delay_ms(p, 150);
    fp_set_mode(p, FP_DELAY);
    CHECK(fp_get_mode(p) == FP_DELAY);
    t0 = now_ms();
    CHECK(roundtrip(a, "slow", "slow", 3000) == RX_OK);
    int64_t rtt = now_ms() - t0;
    CHECK(rtt >= 300 && rtt < 1000);
    printf("DELAY 150 ms: round trip %lld ms (both directions held)\n", (long long)rtt);
    fp_set_delay_ms(p, 5);
    t0 = now_ms();
    CHECK(bulk(a, 4u << 20));
    printf("DELAY 5 ms: 4 MiB echoed in %lld ms\n", (long long)(now_ms() - t0));
    fp_set_mode(p, FP_PASS);
    t0 = now_ms();
    CHECK(roundtrip(a, "fast", "fast", 1000) == RX_OK);
    rtt = now_ms() - t0;
    CHECK(rtt < 100);
    printf("back to PASS: round trip %lld ms\n", (long long)rtt);

    /* BLACKHOLE */
    int idle = dial(port);
    CHECK(roundtrip(idle, "i", "i", 1000) == RX_OK);
    fp_set_mode(p, FP_BLACKHOLE);
    CHECK(roundtrip(a, "lost", "lost", 200) == RX_TIMEOUT);
    CHECK(tcp_established(a));
    long acc = fp_connections_accepted(p);
    int bh = dial(port);
    CHECK(bh >= 0);
    CHECK(roundtrip(bh, "new", "new", 200) == RX_TIMEOUT);
    CHECK(tcp_established(bh));
    CHECK(fp_connections_accepted(p) == acc + 1);
    printf("BLACKHOLE: no answer in 200 ms, old and new connection still established\n");
    fp_set_mode(p, FP_PASS);
    CHECK(sees_reset(a, 1000));
    CHECK(sees_reset(bh, 1000));
    CHECK(roundtrip(idle, "still", "still", 1000) == RX_OK);
    close(a);
    close(bh);
    close(idle);
    printf("leaving BLACKHOLE: connections that lost bytes reset, idle one still echoes\n");

    /* DROP */
    a = dial(port);
    int b = dial(port);
    CHECK(roundtrip(a, "x", "x", 1000) == RX_OK);
    CHECK(roundtrip(b, "y", "y", 1000) == RX_OK);
    fp_set_mode(p, FP_DROP);
    CHECK(sees_reset(a, 1000));
    CHECK(sees_reset(b, 1000));
    close(a);
    close(b);
    a = dial(port);
    CHECK(a >= 0);
    CHECK(sees_reset(a, 1000));
    close(a);
    printf("DROP: existing connections reset, new connection reset\n");
    fp_set_mode(p, FP_PASS);

    /* NO_ACCEPT */
    a = dial(port);
    CHECK(roundtrip(a, "old", "old", 1000) == RX_OK);
    fp_set_mode(p, FP_NO_ACCEPT);
    acc = fp_connections_accepted(p);
    b = dial(port); /* completes in the kernel backlog, but is not served */
    CHECK(b >= 0);
    CHECK(roundtrip(b, "q", "q", 200) == RX_TIMEOUT);
    CHECK(roundtrip(a, "old2", "old2", 1000) == RX_OK);
    CHECK(fp_connections_accepted(p) == acc);
    printf("NO_ACCEPT: new connection not served in 200 ms, old one echoes\n");
    fp_set_mode(p, FP_PASS);
    char buf[8];
    CHECK(recv_exact(b, buf, 1, 1000, NULL) == RX_OK && buf[0] == 'q');
    close(b);
    printf("leaving NO_ACCEPT: pending connection served\n");

    /* fp_drop_connections */
    b = dial(port);
    CHECK(roundtrip(b, "z", "z", 1000) == RX_OK);
    fp_drop_connections(p);
    CHECK(fp_get_mode(p) == FP_PASS);
    CHECK(sees_reset(a, 1000));
    CHECK(sees_reset(b, 1000));
    close(a);
    close(b);
    a = dial(port);
    CHECK(roundtrip(a, "after", "after", 1000) == RX_OK);
    printf("fp_drop_connections: current connections reset, mode kept\n");

    /* fp_set_target, and a refused upstream */
    fp_set_target(p, e2.port);
    b = dial(port);
    CHECK(roundtrip(b, "up", "UP", 1000) == RX_OK);
    CHECK(roundtrip(a, "low", "low", 1000) == RX_OK);
    close(b);
    fp_set_target(p, closed_port());
    b = dial(port);
    CHECK(sees_reset(b, 1000));
    close(b);
    printf("fp_set_target: new connections go to new target; refused upstream resets client\n");

    /* Half-close: a client EOF reaches the server, the server's close comes back. */
    fp_set_target(p, e1.port);
    b = dial(port);
    CHECK(roundtrip(b, "h", "h", 1000) == RX_OK);
    shutdown(b, SHUT_WR);
    CHECK(recv_exact(b, buf, 1, 1000, NULL) == RX_EOF);
    close(b);

    /* Drop loop while a client keeps reconnecting. */
    for (int i = 0; i < 200; i++) {
        b = dial(port);
        send_str(b, "r");
        fp_drop_connections(p);
        close(b);
    }
    CHECK(sees_reset(a, 1000)); /* dropped by the loop as well */
    close(a);
    for (int i = 0; i < 100 && fp_connections_open(p) != 0; i++)
        usleep(10000);
    CHECK(fp_connections_open(p) == 0);
    printf("drop loop: %ld accepted in total, %ld open\n", fp_connections_accepted(p),
           fp_connections_open(p));

    /* Stop with open connections (one delayed chunk queued). */
    a = dial(port);
    CHECK(roundtrip(a, "s", "s", 1000) == RX_OK);
    fp_set_delay_ms(p, 1000);
    fp_set_mode(p, FP_DELAY);
    send_str(a, "queued");
    fp_stop(p);
    CHECK(sees_reset(a, 1000));
    close(a);

    echo_stop(&e1);
    echo_stop(&e2);
    if (failures) {
        printf("FAILED: %d check(s)\n", failures);
        return 1;
    }
    printf("all fault_proxy self-tests passed\n");
    return 0;
}
