/* The renewal schedule and the lost-lease rule of a kept lease (see schedule.h). */
#include "schedule.h"

#define GRID_MAX_MS 500

int64_t etcd_renew_next_ms(int64_t now, int64_t ttl_s)
{
    int64_t every = ttl_s > INT64_MAX / 1000 ? INT64_MAX / 4 : ttl_s * 1000 / 3;
    if (every < ETCD_RENEW_MIN_MS)
        every = ETCD_RENEW_MIN_MS;
    int64_t grid = every / 4 < GRID_MAX_MS ? every / 4 : GRID_MAX_MS;
    int64_t target = now > ETCD_RENEW_NEVER_MS - every ? ETCD_RENEW_NEVER_MS : now + every;
    int64_t at = target - target % grid;
    return at > now ? at : target;
}

int64_t etcd_renew_give_up_at(const etcd_renew_sched *s)
{
    if (s->expiry_ms)
        return s->expiry_ms;
    return s->first_sent_ms ? s->first_sent_ms + ETCD_RENEW_FIRST_ANSWER_MS : ETCD_RENEW_NEVER_MS;
}

int64_t etcd_renew_wake_at(const etcd_renew_sched *s, int64_t now)
{
    int64_t at = etcd_renew_give_up_at(s);
    if (s->next_renew_ms && s->next_renew_ms < at)
        at = s->next_renew_ms;
    if (!s->next_renew_ms && s->pending_since_ms && s->ttl_s > 0) {
        int64_t expected = etcd_renew_next_ms(s->pending_since_ms, s->ttl_s);
        if (expected > now && expected < at)
            at = expected;
    }
    return at;
}

bool etcd_renew_due(const etcd_renew_sched *s, int64_t now)
{
    if (s->lost || now >= etcd_renew_give_up_at(s))
        return false;
    /* The first renewal goes at once; later ones when the answer has scheduled them. One that
     * is still unanswered is not sent again at once (a new stream has just sent it). */
    bool scheduled = !s->first_sent_ms || (s->next_renew_ms && now >= s->next_renew_ms);
    bool fresh = !s->pending_since_ms || now - s->pending_since_ms >= ETCD_RENEW_RESEND_MS;
    return scheduled && fresh;
}

etcd_renew_action etcd_renew_on_timer(etcd_renew_sched *s, int64_t now, bool can_send)
{
    if (s->lost)
        return ETCD_RENEW_WAIT;
    if (now >= etcd_renew_give_up_at(s)) {
        s->lost = true;
        s->next_renew_ms = 0;
        return ETCD_RENEW_LOST;
    }
    if (can_send && etcd_renew_due(s, now))
        return ETCD_RENEW_SEND;
    /* Due with no stream: the new stream renews it; till then only the give-up time counts. */
    if (s->next_renew_ms && s->next_renew_ms <= now)
        s->next_renew_ms = 0;
    return ETCD_RENEW_WAIT;
}

void etcd_renew_sent(etcd_renew_sched *s, int64_t now)
{
    if (!s->pending_since_ms)
        s->pending_since_ms = now;
    if (!s->first_sent_ms)
        s->first_sent_ms = now;
    s->next_renew_ms = 0;
}

void etcd_renew_answered(etcd_renew_sched *s, int64_t now, int64_t ttl_s)
{
    if (s->lost || ttl_s <= 0)
        return;
    int64_t sent = s->pending_since_ms ? s->pending_since_ms : now;
    s->pending_since_ms = 0;
    s->ttl_s = ttl_s;
    s->expiry_ms = ttl_s > (ETCD_RENEW_NEVER_MS - sent) / 1000 ? ETCD_RENEW_NEVER_MS : sent + ttl_s * 1000;
    s->next_renew_ms = etcd_renew_next_ms(now, ttl_s);
}
