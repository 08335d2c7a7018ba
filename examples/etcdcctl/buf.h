/*
 * buf.h - growable byte buffers and string lists.
 *
 * Allocation failure is fatal: a command-line tool has nothing better to do than say so and
 * stop, and it keeps every caller free of out-of-memory branches.
 */
#ifndef ETCDCCTL_BUF_H
#define ETCDCCTL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ctl_buf {
    char *data; /* always NUL-terminated once anything was added; NULL when empty and never grown */
    size_t len;
    size_t cap;
} ctl_buf;

void *ctl_xmalloc(size_t n);
void *ctl_xcalloc(size_t n, size_t size);
void *ctl_xrealloc(void *p, size_t n);
char *ctl_xstrdup(const char *s);
char *ctl_xmemdup(const void *p, size_t n); /* n bytes plus a NUL */

void buf_add(ctl_buf *b, const void *p, size_t n);
void buf_adds(ctl_buf *b, const char *s);
void buf_addc(ctl_buf *b, char c);
void buf_printf(ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(ctl_buf *b, const char *fmt, va_list ap);
/* The contents as a C string ("" when empty); stays owned by the buffer. */
const char *buf_str(ctl_buf *b);
void buf_reset(ctl_buf *b);
void buf_free(ctl_buf *b);
void buf_write(const ctl_buf *b, FILE *f);

/* A list of byte strings (each NUL-terminated, lengths kept for embedded NULs). */
typedef struct ctl_strlist {
    char **items;
    size_t *lens;
    size_t n;
    size_t cap;
} ctl_strlist;

void strlist_add(ctl_strlist *l, const char *s, size_t n); /* copies */
void strlist_adds(ctl_strlist *l, const char *s);
void strlist_clear(ctl_strlist *l);
void strlist_free(ctl_strlist *l);

#endif /* ETCDCCTL_BUF_H */
