/*
 * Resume bookkeeping of one watch, pure: the revision it needs next, and which events of a
 * batch are new. The rule (after clientv3, with etcd's later fix): next = last delivered event's
 * mod_revision + 1, or the created / progress header revision + 1; it never moves backwards, so
 * a lagging member's replay is dropped rather than delivered twice.
 */
#ifndef ETCDC_WATCH_RESUME_H
#define ETCDC_WATCH_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "kv.pb-c.h"

/* After a "created" answer: a watch that started at "now" (next 0) resumes after the header's
 * revision. A watch with a known next revision keeps it. */
void etcd_resume_created(int64_t *next_rev, int64_t header_rev);
/* After a progress notification addressed to the watch: nothing below header_rev + 1 will come. */
void etcd_resume_progress(int64_t *next_rev, int64_t header_rev);
/* Keeps, in order and in place, the events at or above *next_rev and returns how many; then
 * moves *next_rev past the last one kept. Events of one revision arrive in one batch. */
size_t etcd_resume_filter(int64_t *next_rev, Mvccpb__Event **events, size_t n);

#endif
