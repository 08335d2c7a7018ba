/*
 * A bump allocator for unpacked responses: protobuf-c allocates every submessage, array and
 * bytes field separately; from an arena they cost one malloc, and freeing the response is one
 * free. Not thread-safe: one arena belongs to one response.
 */
#ifndef ETCDC_ARENA_H
#define ETCDC_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct etcd_arena etcd_arena;

/* An arena whose first block holds about `hint` bytes; NULL when out of memory. */
etcd_arena *etcd_arena_new(size_t hint);
/* 16-byte aligned memory that lives until the arena is freed; NULL when out of memory. */
void *etcd_arena_alloc(etcd_arena *a, size_t size);
/* Hands malloc'd memory to the arena, which frees it with everything else: a message read
 * into a buffer of its own then lives as long as its unpacked structs without being copied
 * again. On failure (out of memory) the caller still owns p. */
bool etcd_arena_adopt(etcd_arena *a, void *p);
/* A protobuf-c allocator drawing from the arena (its free does nothing). */
ProtobufCAllocator etcd_arena_allocator(etcd_arena *a);
/* Frees everything allocated from the arena. NULL is fine. */
void etcd_arena_free(etcd_arena *a);

#endif
