/*
 * fault_proxy.h - loopback TCP proxy that injects network faults, for
 * integration tests.
 *
 * Put one proxy in front of each etcd member's client port and point the
 * client at fp_endpoint().  Tests switch modes at run time.  Every setter
 * returns only after the proxy thread has applied the change, so a test can
 * act on the new behaviour at once without sleeping.
 *
 * A proxy must not be used after (or concurrently with) fp_stop.  Setters may
 * be called from any thread.
 */
#ifndef FAULT_PROXY_H
#define FAULT_PROXY_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fp_mode {
    /* Forward bytes both ways. */
    FP_PASS,
    /* Reset (RST, SO_LINGER 0) every existing connection on entry, and reset
       each new connection right after accepting it. */
    FP_DROP,
    /* Keep connections open but read and discard everything both ways;
       nothing is forwarded or answered, and a peer's close is not passed on.
       New connections are accepted and swallowed too.  A connection that lost
       bytes (or was accepted) while black-holed can never carry a valid
       stream again, so it is reset when the proxy leaves this mode; idle
       connections survive. */
    FP_BLACKHOLE,
    /* Stop calling accept(): new connects may complete in the kernel backlog
       but are not served until the mode changes.  Existing connections keep
       passing bytes. */
    FP_NO_ACCEPT,
    /* Forward, but hold every chunk read (and each end-of-stream) for
       delay_ms before passing it on.  Chunks keep the release time they were
       given, also if the mode or delay changes later. */
    FP_DELAY
} fp_mode;

typedef struct fp_proxy fp_proxy;

/* Listen on 127.0.0.1:<free port> and forward to 127.0.0.1:target_port.
   Starts in FP_PASS with delay 0.  Returns 0 and sets *out, or -1 with errno
   set. */
int fp_start(int target_port, fp_proxy **out);

/* Listening port. */
int fp_port(const fp_proxy *p);

/* "127.0.0.1:PORT" of the listener; valid until fp_stop. */
const char *fp_endpoint(const fp_proxy *p);

void fp_set_mode(fp_proxy *p, fp_mode mode);
fp_mode fp_get_mode(const fp_proxy *p);

/* Delay for chunks read from now on in FP_DELAY (negative means 0). */
void fp_set_delay_ms(fp_proxy *p, int ms);

/* Upstream port for connections accepted from now on. */
void fp_set_target(fp_proxy *p, int target_port);

/* Reset every current connection (RST) but stay in the current mode, e.g.
   for "drop connections every few ms" loops. */
void fp_drop_connections(fp_proxy *p);

/* Connections accepted so far (including ones reset at once in FP_DROP). */
long fp_connections_accepted(const fp_proxy *p);

/* Connections currently open (client side or upstream side still open). */
long fp_connections_open(const fp_proxy *p);

/* Close every socket, join the proxy thread and free.  NULL is ok. */
void fp_stop(fp_proxy *p);

#ifdef __cplusplus
}
#endif

#endif /* FAULT_PROXY_H */
