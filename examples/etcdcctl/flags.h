/*
 * flags.h - command-line flags parsed the way etcdctl's flag library (pflag) parses them:
 * --name=value, --name value, bool flags without a value, -x shorthands (also clustered and
 * -xvalue), flags anywhere among the arguments, and "--" ending the flags. Error texts are
 * pflag's, since etcdctl prints them as they are.
 */
#ifndef ETCDCCTL_FLAGS_H
#define ETCDCCTL_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A string value as given: n bytes at s, which may include NULs (txn words can), followed by a
 * NUL. It points into the arguments or the environment. */
typedef struct flag_str {
    const char *s;
    size_t n;
} flag_str;
#define FLAG_STR(lit) ((flag_str){(lit), sizeof(lit) - 1})
/* Whether a value is exactly the C string t. */
bool flag_str_is(flag_str v, const char *t);

typedef enum flag_kind {
    FLAG_BOOL,     /* value: bool * */
    FLAG_STRING,   /* value: flag_str * */
    FLAG_INT64,    /* value: int64_t * (Go integer syntax: 10, 0x1f, 0o17, 1_000) */
    FLAG_DURATION, /* value: int64_t * nanoseconds (Go duration syntax: 2s, 500ms, 1m30s) */
    FLAG_STRINGS   /* value: ctl_strlist * (comma-separated; repeating the flag appends) */
} flag_kind;

typedef struct flag_spec {
    const char *name;  /* NULL ends an array of specs */
    char shorthand;    /* 0 for none */
    flag_kind kind;
    const char *def;   /* the default as usage shows it: "false", "0", "2s", "[127.0.0.1:2379]" */
    const char *usage;
    void *value;
    bool changed;      /* set on the command line (or from the environment) */
} flag_spec;

/* A set of flags to parse against: several spec arrays, looked up in order. */
typedef struct flag_sets {
    flag_spec *sets[2];
    size_t n;
} flag_sets;

flag_spec *flags_lookup(const flag_sets *fs, const char *name, size_t len);
flag_spec *flags_lookup_short(const flag_sets *fs, char c);
/* Whether a flag can stand alone ("--prefix"), as pflag's NoOptDefVal says. */
bool flags_is_bool(const flag_spec *f);

/*
 * Parses the nargs arguments (byte strings: args[i] of lens[i] bytes, NUL-terminated) against
 * fs; positional arguments go to *pos (in order). On error returns false with pflag's message
 * in *err (e.g. "unknown flag: --bogus"), which may hold any bytes of the arguments.
 */
bool flags_parse(const flag_sets *fs, char *const *args, const size_t *lens, size_t nargs, ctl_strlist *pos,
                 ctl_buf *err);
/* Sets one flag from n bytes of text (NUL-terminated after them), as pflag's Value.Set does.
 * On error *err gets Go's reason. */
bool flags_set_value(flag_spec *f, const char *value, size_t n, ctl_buf *err);

#endif /* ETCDCCTL_FLAGS_H */
