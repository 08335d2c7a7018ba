/* buf.c - growable byte buffers and string lists (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
    fputs("Error: out of memory\n", stderr);
    exit(1);
}

void *ctl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *ctl_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *ctl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory();
    return q;
}

char *ctl_xstrdup(const char *s)
{
    return ctl_xmemdup(s, strlen(s));
}

char *ctl_xmemdup(const void *p, size_t n)
{
    char *q = ctl_xmalloc(n + 1);
    if (n)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

static void reserve(ctl_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = ctl_xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_add(ctl_buf *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_adds(ctl_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addc(ctl_buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_vprintf(ctl_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(ctl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *buf_str(ctl_buf *b)
{
    return b->data ? b->data : "";
}

void buf_reset(ctl_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(ctl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_write(const ctl_buf *b, FILE *f)
{
    if (b->len)
        fwrite(b->data, 1, b->len, f);
}

void strlist_add(ctl_strlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = ctl_xrealloc(l->items, l->cap * sizeof *l->items);
        l->lens = ctl_xrealloc(l->lens, l->cap * sizeof *l->lens);
    }
    l->items[l->n] = ctl_xmemdup(s, n);
    l->lens[l->n] = n;
    l->n++;
}

void strlist_adds(ctl_strlist *l, const char *s)
{
    strlist_add(l, s, strlen(s));
}

void strlist_clear(ctl_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

void strlist_free(ctl_strlist *l)
{
    strlist_clear(l);
    free(l->items);
    free(l->lens);
    l->items = NULL;
    l->lens = NULL;
    l->cap = 0;
}
