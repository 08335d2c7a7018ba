/* gopeer's flags, spelled as Go's flag package takes them: -name or --name, then =value or value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare.h"

typedef struct flag_spec {
    const char *name;
    const char **str;           /* a string flag, or */
    long long *num;             /* an integer flag */
    const char *help;
} flag_spec;

static void usage(const flag_spec *specs, FILE *out)
{
    fprintf(out, "usage: etcdc-bare-peer [--flag value]...\n");
    for (const flag_spec *s = specs; s->name; s++) {
        if (s->str)
            fprintf(out, "  --%s string\n\t%s (default \"%s\")\n", s->name, s->help, *s->str);
        else
            fprintf(out, "  --%s int\n\t%s (default %lld)\n", s->name, s->help, *s->num);
    }
}

static bool parse_int(const char *name, const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
        fprintf(stderr, "invalid value \"%s\" for flag --%s: not an integer\n", text, name);
        return false;
    }
    *out = v;
    return true;
}

int bare_parse_flags(int argc, char **argv, bare_flags *f)
{
    *f = (bare_flags){.endpoint = "127.0.0.1:23790", .op = "put", .label = "", .total = 10000, .warmup = 1000,
                      .inflight = 1, .val_size = 256, .seconds = 10};
    const flag_spec specs[] = {
        {"endpoint", &f->endpoint, NULL, "etcd endpoint"},
        {"op", &f->op, NULL, "put | get (linearizable) | sget (serializable get) | watch | watchers | keepalive"},
        {"total", NULL, &f->total, "timed ops (watch: events; watchers: watches; keepalive: leases)"},
        {"warmup", NULL, &f->warmup, "untimed warm-up ops"},
        {"inflight", NULL, &f->inflight, "concurrent requests in flight on the one connection"},
        {"val-size", NULL, &f->val_size, "value size in bytes"},
        {"label", &f->label, NULL, "free-form label echoed in the result line"},
        {"seconds", NULL, &f->seconds, "keepalive: how long the leases are kept alive"},
        {NULL, NULL, NULL, NULL},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            fprintf(stderr, "unexpected argument \"%s\"\n", a);
            return 2;
        }
        a += a[1] == '-' ? 2 : 1;
        if (strcmp(a, "h") == 0 || strcmp(a, "help") == 0) {
            usage(specs, stdout);
            return 1;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const flag_spec *s = specs;
        while (s->name && !(strlen(s->name) == len && memcmp(s->name, a, len) == 0))
            s++;
        if (!s->name) {
            fprintf(stderr, "flag provided but not defined: -%.*s\n", (int)len, a);
            usage(specs, stderr);
            return 2;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "flag needs an argument: -%s\n", s->name);
                return 2;
            }
            v = argv[++i];
        }
        if (s->str)
            *s->str = v;
        else if (!parse_int(s->name, v, s->num))
            return 2;
    }
    return 0;
}
