/* Next-revision arithmetic. */
#include "resume.h"

void etcd_resume_created(int64_t *next_rev, int64_t header_rev)
{
    if (*next_rev == 0 && header_rev >= 0)
        *next_rev = header_rev + 1;
}

void etcd_resume_progress(int64_t *next_rev, int64_t header_rev)
{
    if (header_rev + 1 > *next_rev)
        *next_rev = header_rev + 1;
}

size_t etcd_resume_filter(int64_t *next_rev, Mvccpb__Event **events, size_t n)
{
    size_t kept = 0;
    int64_t next = *next_rev;
    for (size_t i = 0; i < n; i++) {
        const Mvccpb__KeyValue *kv = events[i]->kv;
        int64_t rev = kv ? kv->mod_revision : 0;
        if (!kv || rev < next)
            continue; /* seen already (a replay after resume), or not an event at all */
        events[kept++] = events[i];
    }
    /* Advance only after the whole batch: one revision's events all come in it. */
    for (size_t i = 0; i < kept; i++)
        if (events[i]->kv->mod_revision + 1 > next)
            next = events[i]->kv->mod_revision + 1;
    *next_rev = next;
    return kept;
}
