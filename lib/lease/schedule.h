/*
 * When a kept lease is renewed and when it is lost: the pure policy beside keeper.c's
 * mechanism. Times are monotonic milliseconds.
 *
 * A lease is renewed a third of its last granted TTL after the answer, as clientv3 does, but on
 * a grid (a quarter of that third, at most 500 ms): renewals that fall due close together fall
 * due at the same moment and leave in one write. A renewal thus goes at most that much early.
 * The local expiry is the send time of the renewal that was answered plus the TTL it granted
 * (the server's clock started no earlier). Once the expiry passes with no answer the lease is
 * lost, for good: nothing renews it after that, even an answer that comes late.
 */
#ifndef ETCDC_LEASE_SCHEDULE_H
#define ETCDC_LEASE_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/* Until the first renewal is answered the TTL is unknown: give that answer this long. */
#define ETCD_RENEW_FIRST_ANSWER_MS 30000
/* No lease is renewed more often than this, however short its TTL. */
#define ETCD_RENEW_MIN_MS 500
/* A renewal is sent again when its answer has not come this long after. */
#define ETCD_RENEW_RESEND_MS 1000
#define ETCD_RENEW_NEVER_MS (INT64_MAX / 4)

typedef struct etcd_renew_sched {
    int64_t expiry_ms;          /* local expiry estimate; 0 until the first answer */
    int64_t ttl_s;              /* the TTL last granted; 0 until the first answer */
    int64_t first_sent_ms;      /* when the first renewal went out */
    int64_t pending_since_ms;   /* send time of the oldest unanswered renewal; 0: none */
    int64_t next_renew_ms;      /* 0: none due (an answer sets it) */
    bool lost;
} etcd_renew_sched;

typedef enum etcd_renew_action {
    ETCD_RENEW_WAIT,            /* nothing to do now: sleep until etcd_renew_wake_at() */
    ETCD_RENEW_SEND,            /* send a renewal now (then etcd_renew_sent) */
    ETCD_RENEW_LOST,            /* the TTL ran out unanswered: report the lease lost */
} etcd_renew_action;

/* The lease's timer fired at `now`; `can_send` says whether a stream is open to send on. */
etcd_renew_action etcd_renew_on_timer(etcd_renew_sched *s, int64_t now, bool can_send);
/* Whether a renewal should go now (the timer's SEND, without its side effects). */
bool etcd_renew_due(const etcd_renew_sched *s, int64_t now);
/* A renewal was sent at `now`. */
void etcd_renew_sent(etcd_renew_sched *s, int64_t now);
/* The server answered with ttl_s > 0 at `now`. Ignored once lost. */
void etcd_renew_answered(etcd_renew_sched *s, int64_t now, int64_t ttl_s);
/* When the timer must fire next, after `now`: the next renewal, or the give-up time, whichever
 * is first. While a renewal is unanswered the next one is expected a period after it was sent:
 * armed for then, the timer need not move when the answer comes (answers are the common case;
 * an answer that schedules later makes the timer fire once for nothing). */
int64_t etcd_renew_wake_at(const etcd_renew_sched *s, int64_t now);
/* When the lease must be given up if no answer comes. */
int64_t etcd_renew_give_up_at(const etcd_renew_sched *s);
/* The next renewal after an answer at `now` granting ttl_s: on the grid, after `now`. */
int64_t etcd_renew_next_ms(int64_t now, int64_t ttl_s);

#endif
