/*
 * Command-line flags in the style of etcd's benchmark: "--name value" or "--name=value", global
 * flags anywhere on the line, each subcommand's own flags after it.
 */
#ifndef BENCH_FLAGS_H
#define BENCH_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum flag_type {
    FLAG_INT,    /* long long */
    FLAG_STRING, /* const char * (points into argv) */
    FLAG_BOOL    /* bool: "--name" alone, or --name=true|false */
} flag_type;

typedef struct flag_def {
    const char *name; /* without the leading dashes; NULL ends a table */
    flag_type type;
    void *value;
    const char *help;
    bool set;         /* filled in by flags_parse */
} flag_def;

enum { FLAGS_OK = 0, FLAGS_HELP = 1, FLAGS_ERROR = -1 };

/*
 * Index of the first argument that is not a flag (the subcommand), skipping the values of the
 * flags in `global`; argc when there is none.
 */
int flags_find_command(int argc, char **argv, const flag_def *global);

/*
 * Parses argv[1..argc) except argv[skip] (the subcommand; -1 for none) against the tables.
 * Arguments that are not flags go to pos[] (at most maxpos). Returns FLAGS_OK, FLAGS_HELP for
 * -h/--help, or FLAGS_ERROR after saying what was wrong on stderr.
 */
int flags_parse(int argc, char **argv, int skip, flag_def *const *tables, size_t ntables, const char **pos,
                size_t *npos, size_t maxpos);

/* One line per flag: name, default, help. */
void flags_usage(FILE *f, const flag_def *table);

/* The entry for `name` in table, or NULL. */
flag_def *flags_lookup(flag_def *table, const char *name);

#endif
