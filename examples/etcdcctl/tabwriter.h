/* tabwriter.h - column alignment as Go's text/tabwriter does it for etcdctl's usage text. */
#ifndef ETCDCCTL_TABWRITER_H
#define ETCDCCTL_TABWRITER_H

#include <stddef.h>
#include <stdio.h>

/* Writes text to out with its tab-separated cells aligned. */
void tabwriter_write(FILE *out, const char *text, size_t len);

#endif /* ETCDCCTL_TABWRITER_H */
