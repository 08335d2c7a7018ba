/*
 * The table that a stream's owner keeps its calls in, by the ID the wire carries (a watch ID,
 * a lease ID): intrusive, chained, doubling when as full as it has slots. Several entries may
 * share an ID (two keepalives of one lease). Not locked: the owner's lock guards it.
 */
#ifndef ETCDC_ID_TABLE_H
#define ETCDC_ID_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct etcd_id_link {
    int64_t id;
    struct etcd_id_link *next;
} etcd_id_link;

typedef struct etcd_id_table {
    etcd_id_link **slots;
    size_t nslots, count;
} etcd_id_table;

/* Adds e (e->id set). False when out of memory growing the table: nothing changed then. */
bool etcd_id_table_add(etcd_id_table *t, etcd_id_link *e);
/* The first entry with this ID, or NULL. */
etcd_id_link *etcd_id_table_find(const etcd_id_table *t, int64_t id);
/* The next entry after e with e's ID, or NULL. */
etcd_id_link *etcd_id_table_find_next(const etcd_id_link *e);
void etcd_id_table_remove(etcd_id_table *t, etcd_id_link *e);
/* Some entry, or NULL when the table is empty: for draining it. */
etcd_id_link *etcd_id_table_any(const etcd_id_table *t);
/* Frees the slots (the entries are the owner's). */
void etcd_id_table_free(etcd_id_table *t);

/* Every entry; the body may remove the current one. */
#define ETCD_ID_TABLE_EACH(t, e)                                                                              \
    for (size_t each_slot_ = 0; each_slot_ < (t)->nslots; each_slot_++)                                     \
        for (etcd_id_link *e = (t)->slots[each_slot_], *each_next_ = e ? e->next : NULL; e;                  \
             e = each_next_, each_next_ = e ? e->next : NULL)

#endif
