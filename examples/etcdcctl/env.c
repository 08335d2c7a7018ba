/*
 * env.c - ETCDCTL_* environment variables, applied as etcdctl applies them: each names a global
 * flag (ETCDCTL_DIAL_TIMEOUT for --dial-timeout); the command line wins only by conflict, which
 * is fatal; unknown ETCDCTL_ variables draw a warning.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ctl.h"

extern char **environ;

void ctl_log(char level, const char *fmt, ...)
{
    struct timeval tv;
    struct tm tm;
    char stamp[32];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    ctl_buf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s.%06ld %c | pkg/flags: %s\n", stamp, (long)tv.tv_usec, level, buf_str(&msg));
    buf_free(&msg);
}

static void env_key(const char *flag, ctl_buf *out)
{
    buf_reset(out);
    buf_adds(out, "ETCDCTL_");
    for (const char *p = flag; *p; p++) {
        char c = *p == '-' ? '_' : *p;
        buf_addc(out, (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    }
}

static const flag_spec *flag_for_key(const ctl_globals *g, const char *key, size_t len)
{
    ctl_buf k = {0};
    const flag_spec *found = NULL;
    for (const flag_spec *f = g->flags; f->name && !found; f++) {
        env_key(f->name, &k);
        if (k.len == len && memcmp(k.data, key, len) == 0)
            found = f;
    }
    buf_free(&k);
    return found;
}

int ctl_apply_env(ctl_globals *g)
{
    ctl_buf key = {0}, ignored = {0};
    size_t nflags = 0;
    while (g->flags[nflags].name)
        nflags++;
    bool *used = calloc(nflags + 1, sizeof *used);
    if (!used)
        return ctl_fail(CTL_EXIT_ERROR, "out of memory");
    size_t i = 0;
    for (flag_spec *f = g->flags; f->name; f++, i++) {
        if (f->changed)
            continue;
        env_key(f->name, &key);
        const char *v = getenv(key.data);
        if (!v || !*v)
            continue;
        used[i] = true;
        /* A value that does not parse is ignored (etcdctl ignores the error too). */
        int64_t saved_num = 0;
        bool saved_bool = false;
        if (f->kind == FLAG_DURATION || f->kind == FLAG_INT64)
            saved_num = *(int64_t *)f->value;
        else if (f->kind == FLAG_BOOL)
            saved_bool = *(bool *)f->value;
        if (!flags_set_value(f, v, strlen(v), &ignored)) {
            if (f->kind == FLAG_DURATION || f->kind == FLAG_INT64)
                *(int64_t *)f->value = saved_num;
            else if (f->kind == FLAG_BOOL)
                *(bool *)f->value = saved_bool;
        }
        buf_reset(&ignored);
    }
    buf_free(&key);
    buf_free(&ignored);

    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        if (strncmp(*e, "ETCDCTL_", 8) != 0)
            continue;
        /* etcdctl consumes ETCDCTL_API before it looks at the others. */
        if (len == 11 && strncmp(*e, "ETCDCTL_API", 11) == 0)
            continue;
        /* As etcdctl: watch takes these (when not empty) as its key and range end. */
        if (g->watch_env && eq && eq[1] &&
            ((len == 17 && strncmp(*e, "ETCDCTL_WATCH_KEY", 17) == 0) ||
             (len == 23 && strncmp(*e, "ETCDCTL_WATCH_RANGE_END", 23) == 0)))
            continue;
        const flag_spec *f = flag_for_key(g, *e, len);
        if (f && used[f - g->flags])
            continue;
        if (f && f->changed) {
            ctl_log('C', "conflicting environment variable \"%.*s\" is shadowed by corresponding command-line flag "
                    "(either unset environment variable or disable flag)", (int)len, *e);
            free(used);
            return CTL_EXIT_ERROR;
        }
        ctl_log('W', "unrecognized environment variable %s", *e);
    }
    free(used);
    return 0;
}
