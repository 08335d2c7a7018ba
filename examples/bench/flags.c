/* Flag parsing: a small table-driven parser, so every subcommand declares its flags in one place. */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

flag_def *flags_lookup(flag_def *table, const char *name)
{
    for (flag_def *f = table; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Splits "--name[=value]" into the name (copied into buf) and the value after '=' (or NULL). */
static bool split(const char *arg, char *buf, size_t len, const char **value)
{
    while (*arg == '-')
        arg++;
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n == 0 || n >= len)
        return false;
    memcpy(buf, arg, n);
    buf[n] = 0;
    *value = eq ? eq + 1 : NULL;
    return true;
}

static bool is_flag(const char *a)
{
    return a[0] == '-' && a[1] != 0;
}

int flags_find_command(int argc, char **argv, const flag_def *global)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1 < argc ? i + 1 : argc;
        if (!is_flag(a))
            return i;
        char name[64];
        const char *value;
        if (!split(a, name, sizeof name, &value) || value)
            continue;
        const flag_def *f = flags_lookup((flag_def *)global, name);
        if (f && f->type != FLAG_BOOL)
            i++; /* its value follows */
    }
    return argc;
}

static int set_value(flag_def *f, const char *value)
{
    switch (f->type) {
    case FLAG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            fprintf(stderr, "--%s: \"%s\" is not an integer\n", f->name, value);
            return FLAGS_ERROR;
        }
        *(long long *)f->value = v;
        break;
    }
    case FLAG_STRING:
        *(const char **)f->value = value;
        break;
    case FLAG_BOOL:
        if (!value || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(bool *)f->value = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(bool *)f->value = false;
        else {
            fprintf(stderr, "--%s: \"%s\" is not true or false\n", f->name, value);
            return FLAGS_ERROR;
        }
        break;
    }
    f->set = true;
    return FLAGS_OK;
}

int flags_parse(int argc, char **argv, int skip, flag_def *const *tables, size_t ntables, const char **pos,
                size_t *npos, size_t maxpos)
{
    *npos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        if (i == skip)
            continue;
        const char *a = argv[i];
        if (only_pos || !is_flag(a)) {
            if (*npos == maxpos) {
                fprintf(stderr, "unexpected argument \"%s\"\n", a);
                return FLAGS_ERROR;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return FLAGS_HELP;
        char name[64];
        const char *value;
        flag_def *f = NULL;
        if (split(a, name, sizeof name, &value))
            for (size_t t = 0; t < ntables && !f; t++)
                f = flags_lookup(tables[t], name);
        if (!f) {
            fprintf(stderr, "unknown flag %s\n", a);
            return FLAGS_ERROR;
        }
        if (!value && f->type != FLAG_BOOL) {
            if (i + 1 >= argc || i + 1 == skip) {
                fprintf(stderr, "--%s needs a value\n", f->name);
                return FLAGS_ERROR;
            }
            value = argv[++i];
        }
        if (set_value(f, value) != FLAGS_OK)
            return FLAGS_ERROR;
    }
    return FLAGS_OK;
}

void flags_usage(FILE *out, const flag_def *table)
{
    for (const flag_def *f = table; f && f->name; f++) {
        char def[64];
        switch (f->type) {
        case FLAG_INT:
            snprintf(def, sizeof def, "%lld", *(const long long *)f->value);
            break;
        case FLAG_STRING: {
            const char *s = *(const char *const *)f->value;
            snprintf(def, sizeof def, "\"%s\"", s ? s : "");
            break;
        }
        case FLAG_BOOL:
            snprintf(def, sizeof def, "%s", *(const bool *)f->value ? "true" : "false");
            break;
        }
        fprintf(out, "  --%-18s %s (default %s)\n", f->name, f->help, def);
    }
}
