/* Keys and values as etcd's benchmark makes them: varint-encoded numbers, random values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static uint64_t zigzag(int64_t x)
{
    uint64_t ux = (uint64_t)x << 1;
    return x < 0 ? ~ux : ux;
}

size_t bench_varint_len(int64_t x)
{
    uint64_t ux = zigzag(x);
    size_t n = 1;
    while (ux >= 0x80) {
        ux >>= 7;
        n++;
    }
    return n;
}

bool bench_varint_key(uint8_t *buf, size_t len, int64_t x)
{
    if (bench_varint_len(x) > len)
        return false;
    memset(buf, 0, len);
    uint64_t ux = zigzag(x);
    size_t i = 0;
    while (ux >= 0x80) {
        buf[i++] = (uint8_t)ux | 0x80;
        ux >>= 7;
    }
    buf[i] = (uint8_t)ux;
    return true;
}

uint64_t bench_mix64(uint64_t x)
{
    /* splitmix64's finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint8_t *bench_random_bytes(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return NULL;
    size_t got = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        got = fread(b, 1, n, f);
        fclose(f);
    }
    uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)b;
    for (size_t i = got; i < n; i++)
        b[i] = (uint8_t)bench_mix64(seed + i);
    return b;
}

/* Checks --key-size against the largest key the key space needs. */
bool bench_check_key_size(long long size, long long space)
{
    if (space < 1) {
        fprintf(stderr, "--key-space-size must be at least 1\n");
        return false;
    }
    if (size < 1 || (size_t)size < bench_varint_len(space - 1)) {
        fprintf(stderr, "--key-size %lld is too small for --key-space-size %lld (needs %zu bytes)\n", size, space,
                bench_varint_len(space - 1));
        return false;
    }
    return true;
}

size_t bench_numbered_key(char *buf, size_t len, const char *prefix, uint64_t i)
{
    size_t p = strlen(prefix);
    if (i >= 10000000000ull || p + 10 > len)
        return (size_t)snprintf(buf, len, "%s%010llu", prefix, (unsigned long long)i);
    memcpy(buf, prefix, p);
    for (size_t d = p + 10; d-- > p;) {
        buf[d] = (char)('0' + i % 10);
        i /= 10;
    }
    return p + 10;
}
