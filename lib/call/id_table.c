/* The ID table of a stream's owner (see id_table.h). */
#include <stdlib.h>

#include "id_table.h"

static size_t slot_of(size_t nslots, int64_t id)
{
    return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15u >> 32) & (nslots - 1);
}

bool etcd_id_table_add(etcd_id_table *t, etcd_id_link *e)
{
    if (t->count + 1 > t->nslots) {
        size_t n = t->nslots ? t->nslots * 2 : 64;
        etcd_id_link **slots = calloc(n, sizeof *slots);
        if (!slots)
            return false;
        for (size_t i = 0; i < t->nslots; i++)
            for (etcd_id_link *x = t->slots[i], *next; x; x = next) {
                next = x->next;
                size_t s = slot_of(n, x->id);
                x->next = slots[s];
                slots[s] = x;
            }
        free(t->slots);
        t->slots = slots;
        t->nslots = n;
    }
    size_t s = slot_of(t->nslots, e->id);
    e->next = t->slots[s];
    t->slots[s] = e;
    t->count++;
    return true;
}

etcd_id_link *etcd_id_table_find(const etcd_id_table *t, int64_t id)
{
    if (!t->nslots)
        return NULL;
    for (etcd_id_link *x = t->slots[slot_of(t->nslots, id)]; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

etcd_id_link *etcd_id_table_find_next(const etcd_id_link *e)
{
    for (etcd_id_link *x = e->next; x; x = x->next)
        if (x->id == e->id)
            return x;
    return NULL;
}

void etcd_id_table_remove(etcd_id_table *t, etcd_id_link *e)
{
    if (!t->nslots)
        return;
    for (etcd_id_link **p = &t->slots[slot_of(t->nslots, e->id)]; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            t->count--;
            return;
        }
}

etcd_id_link *etcd_id_table_any(const etcd_id_table *t)
{
    if (!t->count)
        return NULL;
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i])
            return t->slots[i];
    return NULL;
}

void etcd_id_table_free(etcd_id_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->nslots = t->count = 0;
}
