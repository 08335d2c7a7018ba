/*
 * tabwriter.c - aligns tab-separated columns the way Go's text/tabwriter does with etcdctl's
 * settings (min width 0, tab width 8, padding 1, padding with tabs), so usage text lines up
 * exactly as etcdctl's.
 *
 * Each line is split into cells at tabs; the text after a line's last tab is not a cell of any
 * column. A column is sized per block of consecutive lines that have a cell in it, and cells are
 * padded with as many tabs as it takes to reach the column's width rounded up to a tab stop.
 */
#include "tabwriter.h"

#include <stdlib.h>

#include "buf.h"

enum { TAB_WIDTH = 8, PADDING = 1, MAX_COLUMNS = 16 };

typedef struct cell {
    const char *text;
    size_t len;
    int width; /* in runes */
} cell;

typedef struct line {
    cell *cells;
    size_t n;
} line;

typedef struct writer {
    line *lines;
    size_t n;
    int widths[MAX_COLUMNS];
    FILE *out;
} writer;

static int rune_count(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static void pad(FILE *out, int textw, int cellw)
{
    cellw = (cellw + TAB_WIDTH - 1) / TAB_WIDTH * TAB_WIDTH;
    int tabs = (cellw - textw + TAB_WIDTH - 1) / TAB_WIDTH;
    for (int i = 0; i < tabs; i++)
        fputc('\t', out);
}

static void write_lines(writer *w, size_t line0, size_t line1, size_t ncols)
{
    for (size_t i = line0; i < line1; i++) {
        const line *l = &w->lines[i];
        for (size_t j = 0; j < l->n; j++) {
            const cell *c = &l->cells[j];
            if (c->len)
                fwrite(c->text, 1, c->len, w->out);
            if (j < ncols)
                pad(w->out, c->width, w->widths[j]);
        }
        if (i + 1 < w->n)
            fputc('\n', w->out);
    }
}

static void format(writer *w, size_t line0, size_t line1, size_t column)
{
    for (size_t this = line0; this < line1; this++) {
        if (column + 1 >= w->lines[this].n || column >= MAX_COLUMNS)
            continue;
        write_lines(w, line0, this, column);
        line0 = this;
        int width = 0;
        for (; this < line1; this++) {
            const line *l = &w->lines[this];
            if (column + 1 >= l->n)
                break;
            if (l->cells[column].width + PADDING > width)
                width = l->cells[column].width + PADDING;
        }
        w->widths[column] = width;
        format(w, line0, this, column + 1);
        line0 = this;
        if (this == line1)
            break;
    }
    write_lines(w, line0, line1, column);
}

void tabwriter_write(FILE *out, const char *text, size_t len)
{
    writer w = {.out = out};
    size_t cap = 0;
    const char *p = text, *end = text + len;
    for (;;) {
        const char *nl = p;
        while (nl < end && *nl != '\n')
            nl++;
        if (w.n == cap) {
            cap = cap ? cap * 2 : 64;
            w.lines = ctl_xrealloc(w.lines, cap * sizeof *w.lines);
        }
        line *l = &w.lines[w.n++];
        l->n = 1;
        for (const char *q = p; q < nl; q++)
            if (*q == '\t')
                l->n++;
        l->cells = ctl_xmalloc(l->n * sizeof *l->cells);
        size_t k = 0;
        const char *start = p;
        for (const char *q = p; q <= nl; q++) {
            if (q == nl || *q == '\t') {
                l->cells[k].text = start;
                l->cells[k].len = (size_t)(q - start);
                l->cells[k].width = rune_count(start, (size_t)(q - start));
                k++;
                start = q + 1;
            }
        }
        if (nl >= end)
            break;
        p = nl + 1;
    }
    format(&w, 0, w.n, 0);
    for (size_t i = 0; i < w.n; i++)
        free(w.lines[i].cells);
    free(w.lines);
}
