/* flags.c - pflag-compatible parsing of command-line flags (see flags.h). */
#include "flags.h"

#include <string.h>

#include "gotext.h"

flag_spec *flags_lookup(const flag_sets *fs, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->n; i++)
        for (flag_spec *f = fs->sets[i]; f->name; f++)
            if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
                return f;
    return NULL;
}

flag_spec *flags_lookup_short(const flag_sets *fs, char c)
{
    for (size_t i = 0; i < fs->n; i++)
        for (flag_spec *f = fs->sets[i]; f->name; f++)
            if (f->shorthand && f->shorthand == c)
                return f;
    return NULL;
}

bool flags_is_bool(const flag_spec *f)
{
    return f->kind == FLAG_BOOL;
}

/* encoding/csv reading one record, as pflag reads a string-slice value. */
static bool parse_csv(const char *s, ctl_strlist *out, ctl_buf *err)
{
    ctl_buf field = {0};
    size_t i = 0, n = strlen(s);
    bool ok = true;
    if (n == 0)
        return true;
    for (;;) {
        buf_reset(&field);
        if (i < n && s[i] == '"') {
            size_t col = i + 1;
            i++;
            for (;;) {
                if (i >= n) {
                    buf_printf(err, "parse error on line 1, column %zu: extraneous or missing \" in quoted-field",
                               col);
                    ok = false;
                    goto done;
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        buf_addc(&field, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf_addc(&field, s[i++]);
            }
            if (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                buf_printf(err, "parse error on line 1, column %zu: extraneous or missing \" in quoted-field",
                           i + 1);
                ok = false;
                goto done;
            }
        } else {
            while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                if (s[i] == '"') {
                    buf_printf(err, "parse error on line 1, column %zu: bare \" in non-quoted-field", i + 1);
                    ok = false;
                    goto done;
                }
                buf_addc(&field, s[i++]);
            }
        }
        strlist_add(out, buf_str(&field), field.len);
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        break; /* end of input or end of the first line */
    }
done:
    buf_free(&field);
    return ok;
}

bool flag_str_is(flag_str v, const char *t)
{
    return v.n == strlen(t) && memcmp(v.s, t, v.n) == 0;
}

bool flags_set_value(flag_spec *f, const char *value, size_t n, ctl_buf *err)
{
    bool ok = true;
    switch (f->kind) {
    case FLAG_BOOL:
        ok = go_parse_bool(value, n, (bool *)f->value, err);
        break;
    case FLAG_STRING:
        *(flag_str *)f->value = (flag_str){value, n};
        break;
    case FLAG_INT64:
        ok = go_parse_int(value, n, 0, (int64_t *)f->value, err);
        break;
    case FLAG_DURATION:
        /* Only global flags are durations, and they come from argv or the environment, whose
         * strings end at their first NUL. */
        ok = go_parse_duration(value, (int64_t *)f->value, err);
        break;
    case FLAG_STRINGS: {
        ctl_strlist parsed = {0};
        ok = parse_csv(value, &parsed, err);
        if (ok) {
            ctl_strlist *dst = f->value;
            if (!f->changed)
                strlist_clear(dst);
            for (size_t i = 0; i < parsed.n; i++)
                strlist_add(dst, parsed.items[i], parsed.lens[i]);
        }
        strlist_free(&parsed);
        break;
    }
    }
    if (ok)
        f->changed = true;
    return ok;
}

/* pflag wraps a value's own error with the flag's name. */
static bool set_or_explain(flag_spec *f, const char *value, size_t n, ctl_buf *err)
{
    ctl_buf why = {0};
    bool ok = flags_set_value(f, value, n, &why);
    if (!ok) {
        ctl_buf name = {0};
        if (f->shorthand)
            buf_printf(&name, "-%c, --%s", f->shorthand, f->name);
        else
            buf_printf(&name, "--%s", f->name);
        buf_adds(err, "invalid argument ");
        go_quote(err, value, n);
        buf_adds(err, " for ");
        go_quote(err, name.data, name.len);
        buf_adds(err, " flag: ");
        buf_add(err, why.data, why.len);
        buf_free(&name);
    }
    buf_free(&why);
    return ok;
}

/* %q of a single byte, as pflag names an unknown shorthand: 'x'. */
static void quote_char(ctl_buf *out, unsigned char c)
{
    if (c >= 0x20 && c < 0x7F) {
        if (c == '\'' || c == '\\')
            buf_printf(out, "'\\%c'", c);
        else
            buf_printf(out, "'%c'", c);
    } else if (c >= 0xA1 && c != 0xAD) {
        buf_addc(out, '\'');
        go_append_rune(out, c);
        buf_addc(out, '\'');
    } else if (c < 0x20 || c == 0x7F) {
        buf_printf(out, "'\\x%02x'", c);
    } else {
        buf_printf(out, "'\\u%04x'", c);
    }
}

/* The arguments not yet parsed. */
typedef struct arg_cursor {
    char *const *args;
    const size_t *lens;
    size_t n;
} arg_cursor;

static bool next_arg(arg_cursor *c, const char **s, size_t *n)
{
    if (c->n == 0)
        return false;
    *s = c->args[0];
    *n = c->lens[0];
    c->args++;
    c->lens++;
    c->n--;
    return true;
}

static bool parse_long(const flag_sets *fs, const char *s, size_t slen, arg_cursor *rest, ctl_buf *err)
{
    const char *name = s + 2;
    size_t nlen = slen - 2;
    if (nlen == 0 || *name == '-' || *name == '=') {
        buf_adds(err, "bad flag syntax: ");
        buf_add(err, s, slen);
        return false;
    }
    const char *eq = memchr(name, '=', nlen);
    size_t len = eq ? (size_t)(eq - name) : nlen;
    flag_spec *f = flags_lookup(fs, name, len);
    if (!f) {
        buf_adds(err, "unknown flag: --");
        buf_add(err, name, len);
        return false;
    }
    const char *value;
    size_t vlen;
    if (eq) {
        value = eq + 1;
        vlen = nlen - len - 1;
    } else if (flags_is_bool(f)) {
        value = "true";
        vlen = 4;
    } else if (!next_arg(rest, &value, &vlen)) {
        buf_adds(err, "flag needs an argument: ");
        buf_add(err, s, slen);
        return false;
    }
    return set_or_explain(f, value, vlen, err);
}

static bool parse_short(const flag_sets *fs, const char *s, size_t slen, arg_cursor *rest, ctl_buf *err)
{
    const char *shorts = s + 1;
    size_t n = slen - 1;
    while (n > 0) {
        char c = shorts[0];
        flag_spec *f = c ? flags_lookup_short(fs, c) : NULL;
        if (!f) {
            buf_adds(err, "unknown shorthand flag: ");
            quote_char(err, (unsigned char)c);
            buf_adds(err, " in -");
            buf_add(err, shorts, n);
            return false;
        }
        const char *value;
        size_t vlen, advance;
        if (n > 2 && shorts[1] == '=') {
            value = shorts + 2;
            vlen = n - 2;
            advance = n;
        } else if (flags_is_bool(f)) {
            value = "true";
            vlen = 4;
            advance = 1;
        } else if (n > 1) {
            value = shorts + 1;
            vlen = n - 1;
            advance = n;
        } else if (next_arg(rest, &value, &vlen)) {
            advance = n;
        } else {
            buf_adds(err, "flag needs an argument: ");
            quote_char(err, (unsigned char)c);
            buf_adds(err, " in -");
            buf_add(err, shorts, n);
            return false;
        }
        if (!set_or_explain(f, value, vlen, err))
            return false;
        shorts += advance;
        n -= advance;
    }
    return true;
}

bool flags_parse(const flag_sets *fs, char *const *args, const size_t *lens, size_t nargs, ctl_strlist *pos,
                 ctl_buf *err)
{
    arg_cursor rest = {args, lens, nargs};
    const char *s;
    size_t n;
    while (next_arg(&rest, &s, &n)) {
        if (n < 2 || s[0] != '-') {
            strlist_add(pos, s, n);
            continue;
        }
        if (s[1] == '-') {
            if (n == 2) {
                while (next_arg(&rest, &s, &n))
                    strlist_add(pos, s, n);
                return true;
            }
            if (!parse_long(fs, s, n, &rest, err))
                return false;
        } else if (!parse_short(fs, s, n, &rest, err)) {
            return false;
        }
    }
    return true;
}
