/* Scratch memory for unpacked responses: one block reused response after response; a response that
 * does not fit chains more blocks, and a reset keeps only the largest. */
#include <stdlib.h>

#include "bare.h"

#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(ALIGN) unsigned char data[];
} block;

struct bare_arena {
    block *head;
};

static block *block_new(size_t size)
{
    block *b = malloc(sizeof *b + size);
    if (b) {
        b->next = NULL;
        b->used = 0;
        b->size = size;
    }
    return b;
}

bare_arena *bare_arena_new(size_t first_block)
{
    bare_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->head = block_new(first_block);
    if (!a->head) {
        free(a);
        return NULL;
    }
    return a;
}

static void *arena_alloc(void *data, size_t size)
{
    bare_arena *a = data;
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = a->head;
    if (b->size - b->used < size) {
        block *nb = block_new(b->size * 2 > size ? b->size * 2 : size);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

static void arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

void bare_arena_reset(bare_arena *a)
{
    /* The head is the newest, hence largest, block. */
    block *b = a->head->next;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
}

void bare_arena_free(bare_arena *a)
{
    if (!a)
        return;
    bare_arena_reset(a);
    free(a->head);
    free(a);
}

ProtobufCAllocator bare_arena_allocator(bare_arena *a)
{
    return (ProtobufCAllocator){.alloc = arena_alloc, .free = arena_free, .allocator_data = a};
}
