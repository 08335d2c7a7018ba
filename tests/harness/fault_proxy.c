/*
 * fault_proxy.c - loopback TCP fault-injection proxy.  See fault_proxy.h.
 *
 * One thread per proxy runs a poll() loop over the listener, every
 * client/upstream socket pair and a wake pipe.  All sockets are non-blocking
 * and each direction of a pair has its own queue, so a slow reader only
 * stalls its own direction.  Control calls store the wanted state under a
 * mutex, wake the thread through the pipe and wait until the thread reports
 * that it has applied that state.
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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Size of one read; also the scratch buffer the pass-through fast path
   forwards from without queueing. */
#define FP_READ_SIZE (64 * 1024)
/* Stop reading a source once this many bytes wait for its destination: the
   backpressure then reaches the sender through TCP flow control. */
#define FP_QUEUE_LIMIT (4 * 1024 * 1024)
/* Bound the accepts per loop turn so a connect storm cannot starve I/O. */
#define FP_ACCEPT_BATCH 64

/* A run of bytes (or an end-of-stream marker) waiting to be written. */
typedef struct fp_chunk {
    struct fp_chunk *next;
    int64_t release_ns; /* not written before this CLOCK_MONOTONIC time */
    size_t len, off;
    bool eof; /* marker: shut down the destination's write side */
    char data[];
} fp_chunk;

typedef struct fp_dir {
    fp_chunk *head, *tail;
    size_t queued; /* bytes in the queue, for backpressure */
    bool eof_in;   /* source reached end of stream */
    bool shut;     /* end of stream passed on to the destination */
} fp_dir;

/* Socket sides of a pair: index 0 = client, 1 = upstream. */
enum { SIDE_C = 0, SIDE_U = 1 };

typedef struct fp_conn {
    struct fp_conn *next;
    int fd[2];
    bool hup[2];     /* POLLHUP seen: poll the fd only when it has work */
    int pidx[2];     /* index in the pollfd array this turn, or -1 */
    bool connecting; /* non-blocking upstream connect in progress */
    bool tainted;    /* bytes were swallowed or the pair is half gone */
    bool dead;       /* closed; freed at the end of the turn */
    fp_dir dir[2];   /* dir[s]: bytes read from side s, written to side !s */
} fp_conn;

struct fp_proxy {
    /* Fixed after fp_start. */
    int port;
    char endpoint[32];
    int lfd;
    int wake[2];
    pthread_t thread;

    /* Control state, guarded by mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fp_mode want_mode;
    int want_delay_ms;
    int want_target;
    unsigned long want_drops; /* number of fp_drop_connections calls */
    bool want_stop;
    unsigned long req_seq, ack_seq;

    _Atomic int cur_mode;
    atomic_long accepted;
    atomic_long open_conns;

    /* Owned by the proxy thread. */
    fp_mode mode;
    int64_t delay_ns;
    int target;
    unsigned long drops_done;
    fp_conn *conns;
    struct pollfd *pfds;
    size_t pfds_cap;
    char scratch[FP_READ_SIZE];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Close with SO_LINGER 0 so the peer gets an RST instead of a FIN. */
static void rst_close(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void dir_clear(fp_dir *d)
{
    fp_chunk *ch = d->head;
    while (ch) {
        fp_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    d->head = d->tail = NULL;
    d->queued = 0;
}

static bool dir_push(fp_dir *d, const char *data, size_t len, bool eof, int64_t release_ns)
{
    fp_chunk *ch = malloc(sizeof *ch + len);
    if (!ch)
        return false;
    ch->next = NULL;
    ch->release_ns = release_ns;
    ch->len = len;
    ch->off = 0;
    ch->eof = eof;
    if (len)
        memcpy(ch->data, data, len);
    if (d->tail)
        d->tail->next = ch;
    else
        d->head = ch;
    d->tail = ch;
    d->queued += len;
    return true;
}

static void conn_close(fp_proxy *p, fp_conn *c, bool rst)
{
    if (c->dead)
        return;
    for (int s = 0; s < 2; s++) {
        if (rst)
            rst_close(c->fd[s]);
        else if (c->fd[s] >= 0)
            close(c->fd[s]);
        c->fd[s] = -1;
        dir_clear(&c->dir[s]);
    }
    c->dead = true;
    atomic_fetch_sub(&p->open_conns, 1);
}

/* Close one side of a black-holed pair without telling the other side. */
static void conn_close_side(fp_proxy *p, fp_conn *c, int s)
{
    if (c->fd[s] >= 0)
        close(c->fd[s]);
    c->fd[s] = -1;
    c->tainted = true;
    if (c->fd[!s] < 0)
        conn_close(p, c, false);
}

static void reset_all(fp_proxy *p)
{
    for (fp_conn *c = p->conns; c; c = c->next)
        conn_close(p, c, true);
}

static void sweep(fp_proxy *p)
{
    fp_conn **pp = &p->conns;
    while (*pp) {
        fp_conn *c = *pp;
        if (c->dead) {
            *pp = c->next;
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* The proxy must not add Nagle/delayed-ACK stalls to gRPC's small frames. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Start the non-blocking upstream connect; false if it failed at once. */
static bool start_upstream(fp_proxy *p, fp_conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    set_nodelay(fd);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->target) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd[SIDE_U] = fd;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        c->connecting = false;
        return true;
    }
    if (errno == EINPROGRESS) {
        c->connecting = true;
        return true;
    }
    return false;
}

static void do_accept(fp_proxy *p)
{
    for (int i = 0; i < FP_ACCEPT_BATCH; i++) {
        int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a connection that died in the backlog */
        atomic_fetch_add(&p->accepted, 1);
        if (p->mode == FP_DROP) {
            rst_close(fd);
            continue;
        }
        fp_conn *c = calloc(1, sizeof *c);
        if (!c) {
            rst_close(fd);
            continue;
        }
        set_nodelay(fd);
        c->fd[SIDE_C] = fd;
        c->fd[SIDE_U] = -1;
        c->next = p->conns;
        p->conns = c;
        atomic_fetch_add(&p->open_conns, 1);
        if (p->mode == FP_BLACKHOLE) {
            /* Swallowed from the first byte: no upstream, reset on leaving. */
            c->tainted = true;
            continue;
        }
        if (!start_upstream(p, c))
            conn_close(p, c, true); /* upstream refused: RST the client */
    }
}

/* Leave the conn done when both ends of stream have been passed on. */
static void check_done(fp_proxy *p, fp_conn *c)
{
    if (!c->dead && c->dir[SIDE_C].shut && c->dir[SIDE_U].shut)
        conn_close(p, c, false);
}

/* Write released chunks of direction s (side s -> side !s) until the socket
   would block.  Returns false if the pair was closed. */
static bool flush_dir(fp_proxy *p, fp_conn *c, int s)
{
    fp_dir *d = &c->dir[s];
    int dst = c->fd[!s];
    int64_t now = 0;
    while (d->head) {
        fp_chunk *ch = d->head;
        if (ch->release_ns > 0) {
            if (!now)
                now = now_ns();
            if (ch->release_ns > now)
                return true;
        }
        if (ch->eof) {
            if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
                conn_close(p, c, true);
                return false;
            }
            d->shut = true;
        } else {
            while (ch->off < ch->len) {
                ssize_t n = send(dst, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    if (errno == EAGAIN || errno == EWOULDBLOCK)
                        return true;
                    conn_close(p, c, true);
                    return false;
                }
                ch->off += (size_t)n;
                d->queued -= (size_t)n;
            }
        }
        d->head = ch->next;
        if (!d->head)
            d->tail = NULL;
        free(ch);
    }
    check_done(p, c);
    return !c->dead;
}

/* Read once from side s and forward, queue or discard.  Returns false if the
   pair was closed. */
static bool read_side(fp_proxy *p, fp_conn *c, int s)
{
    fp_dir *d = &c->dir[s];
    ssize_t n;
    do
        n = recv(c->fd[s], p->scratch, sizeof p->scratch, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;

    if (p->mode == FP_BLACKHOLE) {
        if (n < 0) {
            conn_close_side(p, c, s);
            return !c->dead;
        }
        c->tainted = true;
        if (n == 0) {
            d->eof_in = true;
            /* Nothing can happen on this pair any more: free it quietly. */
            if (c->fd[!s] < 0 || c->dir[!s].eof_in)
                conn_close(p, c, false);
        }
        return !c->dead;
    }

    if (n < 0) {
        /* Peer reset or failed: pass the reset on. */
        conn_close(p, c, true);
        return false;
    }
    if (n == 0)
        d->eof_in = true;

    int64_t release = 0;
    if (p->mode == FP_DELAY && p->delay_ns > 0)
        release = now_ns() + p->delay_ns;

    int dst = c->fd[!s];
    size_t off = 0;
    bool can_direct = release == 0 && !d->head && !(s == SIDE_C && c->connecting);
    if (can_direct && n > 0) {
        /* Fast path: straight from the read buffer; only a remainder the
           destination does not take now is copied into the queue. */
        while (off < (size_t)n) {
            ssize_t w = send(dst, p->scratch + off, (size_t)n - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                conn_close(p, c, true);
                return false;
            }
            off += (size_t)w;
        }
    }
    if (off < (size_t)n && !dir_push(d, p->scratch + off, (size_t)n - off, false, release)) {
        conn_close(p, c, true);
        return false;
    }
    if (n == 0) {
        if (can_direct) {
            if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
                conn_close(p, c, true);
                return false;
            }
            d->shut = true;
            check_done(p, c);
            return !c->dead;
        }
        if (!dir_push(d, NULL, 0, true, release)) {
            conn_close(p, c, true);
            return false;
        }
    }
    return true;
}

static void finish_connect(fp_proxy *p, fp_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd[SIDE_U], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err != 0) {
        if (p->mode == FP_BLACKHOLE)
            conn_close_side(p, c, SIDE_U); /* nothing is answered now */
        else
            conn_close(p, c, true); /* upstream refused: RST the client */
        return;
    }
    c->connecting = false;
}

/* Apply the wanted control state.  Called with p->mu held. */
static void apply_control(fp_proxy *p)
{
    fp_mode old = p->mode, mode = p->want_mode;

    if (old == FP_BLACKHOLE && mode != FP_BLACKHOLE) {
        for (fp_conn *c = p->conns; c; c = c->next)
            if (c->tainted)
                conn_close(p, c, true);
    }
    if (mode == FP_BLACKHOLE && old != FP_BLACKHOLE) {
        /* Swallow what was still on its way. */
        for (fp_conn *c = p->conns; c; c = c->next) {
            for (int s = 0; s < 2; s++) {
                if (c->dir[s].head)
                    c->tainted = true;
                dir_clear(&c->dir[s]);
            }
        }
    }
    if (mode == FP_DROP || p->want_drops != p->drops_done)
        reset_all(p);
    p->drops_done = p->want_drops;

    p->mode = mode;
    p->delay_ns = (int64_t)p->want_delay_ms * 1000000;
    p->target = p->want_target;
    atomic_store(&p->cur_mode, (int)mode);
}

static bool want_read(const fp_proxy *p, const fp_conn *c, int s)
{
    if (c->fd[s] < 0 || c->dir[s].eof_in)
        return false;
    if (s == SIDE_U && c->connecting)
        return false;
    if (p->mode == FP_BLACKHOLE)
        return true;
    return c->dir[s].queued < FP_QUEUE_LIMIT;
}

/* Whether direction s has a chunk to write now; else lower *deadline to
   when its head is due. */
static bool want_write(const fp_proxy *p, const fp_conn *c, int s, int64_t now, int64_t *deadline)
{
    if (p->mode == FP_BLACKHOLE || c->fd[!s] < 0)
        return false;
    if (s == SIDE_C && c->connecting)
        return false;
    const fp_chunk *ch = c->dir[s].head;
    if (!ch)
        return false;
    if (ch->release_ns <= now)
        return true;
    if (*deadline < 0 || ch->release_ns < *deadline)
        *deadline = ch->release_ns;
    return false;
}

static bool pfds_reserve(fp_proxy *p, size_t n)
{
    if (n <= p->pfds_cap)
        return true;
    size_t cap = p->pfds_cap ? p->pfds_cap : 16;
    while (cap < n)
        cap *= 2;
    struct pollfd *np = realloc(p->pfds, cap * sizeof *np);
    if (!np)
        return false;
    p->pfds = np;
    p->pfds_cap = cap;
    return true;
}

static void *proxy_main(void *arg)
{
    fp_proxy *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->want_stop;
        if (p->ack_seq != p->req_seq) {
            apply_control(p);
            p->ack_seq = p->req_seq;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        sweep(p);
        if (stop)
            break;

        size_t nconns = 0;
        for (fp_conn *c = p->conns; c; c = c->next)
            nconns++;
        if (!pfds_reserve(p, 2 + 2 * nconns)) {
            /* Out of memory: shed connections rather than spin. */
            reset_all(p);
            sweep(p);
            nconns = 0;
        }

        size_t np = 0;
        p->pfds[np++] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
        int lidx = -1;
        if (p->mode != FP_NO_ACCEPT) {
            lidx = (int)np;
            p->pfds[np++] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
        }
        int64_t now = now_ns(), deadline = -1;
        for (fp_conn *c = p->conns; c; c = c->next) {
            for (int s = 0; s < 2; s++) {
                c->pidx[s] = -1;
                if (c->fd[s] < 0)
                    continue;
                short ev = 0;
                if (want_read(p, c, s))
                    ev |= POLLIN;
                if (s == SIDE_U && c->connecting)
                    ev |= POLLOUT;
                else if (want_write(p, c, !s, now, &deadline))
                    ev |= POLLOUT;
                /* After a hang-up an idle fd would make poll return at once
                   forever; leave it out until there is work for it. */
                if (!ev && c->hup[s])
                    continue;
                c->pidx[s] = (int)np;
                p->pfds[np++] = (struct pollfd){ .fd = c->fd[s], .events = ev };
            }
        }

        int timeout = -1;
        if (deadline >= 0) {
            int64_t wait = deadline - now;
            timeout = wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
        }
        int rc = poll(p->pfds, (nfds_t)np, timeout);
        if (rc < 0)
            continue; /* EINTR; anything else would recur and be visible */

        if (p->pfds[0].revents) {
            char buf[64];
            while (read(p->wake[0], buf, sizeof buf) > 0) {
            }
            /* Control first; the revents below may refer to sockets that the
               new state closes, so poll again afterwards. */
            continue;
        }

        for (fp_conn *c = p->conns; c; c = c->next) {
            for (int s = 0; s < 2 && !c->dead; s++) {
                if (c->pidx[s] < 0 || c->fd[s] < 0)
                    continue;
                const struct pollfd *pf = &p->pfds[c->pidx[s]];
                short re = pf->revents;
                if (!re)
                    continue;
                if (s == SIDE_U && c->connecting) {
                    finish_connect(p, c);
                    continue;
                }
                if (re & POLLERR) {
                    if (p->mode == FP_BLACKHOLE)
                        conn_close_side(p, c, s);
                    else
                        conn_close(p, c, true);
                    continue;
                }
                if (re & POLLHUP)
                    c->hup[s] = true;
                if ((re & POLLOUT) && (pf->events & POLLOUT)) {
                    if (!flush_dir(p, c, !s))
                        continue;
                }
                if ((re & (POLLIN | POLLHUP)) && (pf->events & POLLIN)) {
                    if (!read_side(p, c, s))
                        continue;
                }
            }
        }
        if (lidx >= 0 && p->pfds[lidx].revents)
            do_accept(p);
        sweep(p);
    }

    reset_all(p);
    sweep(p);
    return NULL;
}

/* Publish a control change and wait until the proxy thread applied it. */
static void control(fp_proxy *p)
{
    unsigned long seq = ++p->req_seq;
    pthread_mutex_unlock(&p->mu);
    char b = 1;
    ssize_t w;
    do
        w = write(p->wake[1], &b, 1);
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, so the thread is already due to wake. */
    pthread_mutex_lock(&p->mu);
    while (p->ack_seq < seq)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int fp_start(int target_port, fp_proxy **out)
{
    if (!out || target_port <= 0 || target_port > 65535) {
        errno = EINVAL;
        return -1;
    }
    *out = NULL;
    fp_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->lfd = -1;
    p->wake[0] = p->wake[1] = -1;
    p->mode = p->want_mode = FP_PASS;
    p->target = p->want_target = target_port;
    atomic_init(&p->cur_mode, (int)FP_PASS);
    atomic_init(&p->accepted, 0);
    atomic_init(&p->open_conns, 0);

    int err;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->lfd < 0)
        goto fail;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof sa;
    if (bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(p->lfd, SOMAXCONN) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&sa, &slen) != 0)
        goto fail;
    p->port = ntohs(sa.sin_port);
    snprintf(p->endpoint, sizeof p->endpoint, "127.0.0.1:%d", p->port);
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        goto fail;

    if ((err = pthread_mutex_init(&p->mu, NULL)) != 0) {
        errno = err;
        goto fail;
    }
    if ((err = pthread_cond_init(&p->cv, NULL)) != 0) {
        pthread_mutex_destroy(&p->mu);
        errno = err;
        goto fail;
    }
    if ((err = pthread_create(&p->thread, NULL, proxy_main, p)) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        errno = err;
        goto fail;
    }
    *out = p;
    return 0;

fail:
    err = errno;
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->wake[0] >= 0)
        close(p->wake[0]);
    if (p->wake[1] >= 0)
        close(p->wake[1]);
    free(p);
    errno = err;
    return -1;
}

int fp_port(const fp_proxy *p)
{
    return p->port;
}

const char *fp_endpoint(const fp_proxy *p)
{
    return p->endpoint;
}

void fp_set_mode(fp_proxy *p, fp_mode mode)
{
    pthread_mutex_lock(&p->mu);
    p->want_mode = mode;
    control(p);
}

fp_mode fp_get_mode(const fp_proxy *p)
{
    return (fp_mode)atomic_load(&p->cur_mode);
}

void fp_set_delay_ms(fp_proxy *p, int ms)
{
    pthread_mutex_lock(&p->mu);
    p->want_delay_ms = ms < 0 ? 0 : ms;
    control(p);
}

void fp_set_target(fp_proxy *p, int target_port)
{
    pthread_mutex_lock(&p->mu);
    p->want_target = target_port;
    control(p);
}

void fp_drop_connections(fp_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->want_drops++;
    control(p);
}

long fp_connections_accepted(const fp_proxy *p)
{
    return atomic_load(&p->accepted);
}

long fp_connections_open(const fp_proxy *p)
{
    return atomic_load(&p->open_conns);
}

void fp_stop(fp_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->want_stop = true;
    control(p);
    pthread_join(p->thread, NULL);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    free(p->pfds);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
