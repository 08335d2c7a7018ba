/* Arena blocks: the first is allocated with the arena; more are chained when it runs out. */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(ALIGN) unsigned char data[];
} block;

typedef struct adopted {
    struct adopted *next;
    void *p;
} adopted;

struct etcd_arena {
    block *head;                /* the block being filled; older ones follow */
    adopted *adopted;           /* malloc'd memory freed with the arena */
};

static block *block_new(size_t size)
{
    block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

etcd_arena *etcd_arena_new(size_t hint)
{
    /* The arena header lives at the start of its first block. */
    size_t hdr = (sizeof(etcd_arena) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = block_new(hdr + hint);
    if (!b)
        return NULL;
    etcd_arena *a = (etcd_arena *)b->data;
    b->used = hdr;
    a->head = b;
    a->adopted = NULL;
    return a;
}

void *etcd_arena_alloc(etcd_arena *a, size_t size)
{
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = a->head;
    if (b->size - b->used < size) {
        size_t want = b->size * 2 > size ? b->size * 2 : size;
        block *nb = block_new(want);
        if (!nb)
            return NULL;
        /* Keep the first block (holding the header) reachable at the end of the chain. */
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

bool etcd_arena_adopt(etcd_arena *a, void *p)
{
    adopted *n = etcd_arena_alloc(a, sizeof *n);
    if (!n)
        return false;
    n->p = p;
    n->next = a->adopted;
    a->adopted = n;
    return true;
}

static void *arena_pc_alloc(void *data, size_t size)
{
    return etcd_arena_alloc(data, size);
}

static void arena_pc_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator etcd_arena_allocator(etcd_arena *a)
{
    return (ProtobufCAllocator){.alloc = arena_pc_alloc, .free = arena_pc_free, .allocator_data = a};
}

void etcd_arena_free(etcd_arena *a)
{
    if (!a)
        return;
    for (adopted *n = a->adopted; n; n = n->next)
        free(n->p); /* the nodes live in the blocks, freed below */
    block *b = a->head;
    while (b) {
        block *next = b->next;
        free(b); /* the first block, which holds `a`, is last */
        b = next;
    }
}
