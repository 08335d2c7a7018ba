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

bool flags_set_value(flag_spec *f, const char *value, ctl_buf *err)
{
    bool ok = true;
    switch (f->kind) {
    case FLAG_BOOL:
        ok = go_parse_bool(value, (bool *)f->value, err);
        break;
    case FLAG_STRING:
        *(const char **)f->value = value;
        break;
    case FLAG_INT64:
        ok = go_parse_int(value, 0, (int64_t *)f->value, err);
        break;
    case FLAG_DURATION:
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
static bool set_or_explain(flag_spec *f, const char *value, ctl_buf *err)
{
    ctl_buf why = {0};
    bool ok = flags_set_value(f, value, &why);
    if (!ok) {
        ctl_buf name = {0};
        if (f->shorthand)
            buf_printf(&name, "-%c, --%s", f->shorthand, f->name);
        else
            buf_printf(&name, "--%s", f->name);
        buf_adds(err, "invalid argument ");
        go_quote(err, value, strlen(value));
        buf_adds(err, " for ");
        go_quote(err, name.data, name.len);
        buf_printf(err, " flag: %s", buf_str(&why));
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

static bool parse_long(const flag_sets *fs, const char *s, char ***args, size_t *nargs, ctl_buf *err)
{
    const char *name = s + 2;
    if (*name == '\0' || *name == '-' || *name == '=') {
        buf_printf(err, "bad flag syntax: %s", s);
        return false;
    }
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    flag_spec *f = flags_lookup(fs, name, len);
    if (!f) {
        buf_printf(err, "unknown flag: --%.*s", (int)len, name);
        return false;
    }
    const char *value;
    if (eq) {
        value = eq + 1;
    } else if (flags_is_bool(f)) {
        value = "true";
    } else if (*nargs > 0) {
        value = (*args)[0];
        (*args)++;
        (*nargs)--;
    } else {
        buf_printf(err, "flag needs an argument: %s", s);
        return false;
    }
    return set_or_explain(f, value, err);
}

static bool parse_short(const flag_sets *fs, const char *s, char ***args, size_t *nargs, ctl_buf *err)
{
    const char *shorts = s + 1;
    while (*shorts) {
        char c = shorts[0];
        flag_spec *f = flags_lookup_short(fs, c);
        if (!f) {
            buf_adds(err, "unknown shorthand flag: ");
            quote_char(err, (unsigned char)c);
            buf_printf(err, " in -%s", shorts);
            return false;
        }
        const char *value;
        const char *next;
        if (strlen(shorts) > 2 && shorts[1] == '=') {
            value = shorts + 2;
            next = "";
        } else if (flags_is_bool(f)) {
            value = "true";
            next = shorts + 1;
        } else if (shorts[1]) {
            value = shorts + 1;
            next = "";
        } else if (*nargs > 0) {
            value = (*args)[0];
            (*args)++;
            (*nargs)--;
            next = "";
        } else {
            buf_adds(err, "flag needs an argument: ");
            quote_char(err, (unsigned char)c);
            buf_printf(err, " in -%s", shorts);
            return false;
        }
        if (!set_or_explain(f, value, err))
            return false;
        shorts = next;
    }
    return true;
}

bool flags_parse(const flag_sets *fs, char **args, size_t nargs, ctl_strlist *pos, ctl_buf *err)
{
    while (nargs > 0) {
        const char *s = args[0];
        args++;
        nargs--;
        if (s[0] != '-' || s[1] == '\0') {
            strlist_adds(pos, s);
            continue;
        }
        if (s[1] == '-') {
            if (s[2] == '\0') {
                for (size_t i = 0; i < nargs; i++)
                    strlist_adds(pos, args[i]);
                return true;
            }
            if (!parse_long(fs, s, &args, &nargs, err))
                return false;
        } else if (!parse_short(fs, s, &args, &nargs, err)) {
            return false;
        }
    }
    return true;
}
