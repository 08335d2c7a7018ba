/* gotext.c - Go-compatible quoting, JSON strings, durations and number parsing (see gotext.h). */
#include "gotext.h"

#include <string.h>

static const char lowerhex[] = "0123456789abcdef";

int32_t go_decode_rune(const void *p, size_t n, size_t *size)
{
    const uint8_t *s = p;
    *size = 1;
    if (n == 0)
        return 0xFFFD;
    uint8_t b0 = s[0];
    if (b0 < 0x80)
        return b0;
    if (b0 < 0xC2 || b0 > 0xF4)
        return 0xFFFD;
    size_t need = b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    if (n < need)
        return 0xFFFD;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b0 == 0xE0)
        lo = 0xA0;
    else if (b0 == 0xED)
        hi = 0x9F;
    else if (b0 == 0xF0)
        lo = 0x90;
    else if (b0 == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0xFFFD;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0xFFFD;
    int32_t r;
    if (need == 2)
        r = ((b0 & 0x1F) << 6) | (s[1] & 0x3F);
    else if (need == 3)
        r = ((b0 & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else
        r = ((b0 & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    *size = need;
    return r;
}

void go_append_rune(ctl_buf *out, int32_t r)
{
    char b[4];
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        buf_addc(out, (char)r);
    } else if (r < 0x800) {
        b[0] = (char)(0xC0 | (r >> 6));
        b[1] = (char)(0x80 | (r & 0x3F));
        buf_add(out, b, 2);
    } else if (r < 0x10000) {
        b[0] = (char)(0xE0 | (r >> 12));
        b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        b[2] = (char)(0x80 | (r & 0x3F));
        buf_add(out, b, 3);
    } else {
        b[0] = (char)(0xF0 | (r >> 18));
        b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        b[3] = (char)(0x80 | (r & 0x3F));
        buf_add(out, b, 4);
    }
}

bool go_is_space(int32_t r)
{
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

void go_trim_space(const char **s, size_t *n)
{
    size_t w;
    while (*n > 0 && go_is_space(go_decode_rune(*s, *n, &w))) {
        *s += w;
        *n -= w;
    }
    while (*n > 0) {
        /* Step back to the start of the last rune (at most 4 bytes). */
        size_t back = 1;
        while (back < 4 && back < *n && ((unsigned char)(*s)[*n - back] & 0xC0) == 0x80)
            back++;
        int32_t r = go_decode_rune(*s + *n - back, back, &w);
        if (w != back)
            r = 0xFFFD;
        if (!go_is_space(r))
            break;
        *n -= back;
    }
}

/* unicode.IsPrint, exact for Latin-1 and close enough beyond (format, private-use and
 * separator code points count as unprintable). */
static bool is_print(int32_t r)
{
    if (r < 0x100)
        return (r >= 0x20 && r < 0x7F) || (r >= 0xA1 && r != 0xAD);
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x206F))
        return false;
    if (r == 0x3000 || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE || r == 0xFFFF)
        return false;
    if ((r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000)
        return false;
    return true;
}

void go_quote(ctl_buf *out, const void *p, size_t n)
{
    const uint8_t *s = p;
    buf_addc(out, '"');
    for (size_t i = 0; i < n;) {
        size_t w = 1;
        int32_t r = s[i];
        if (r >= 0x80)
            r = go_decode_rune(s + i, n - i, &w);
        if (w == 1 && r == 0xFFFD) {
            buf_printf(out, "\\x%c%c", lowerhex[s[i] >> 4], lowerhex[s[i] & 0xF]);
            i++;
            continue;
        }
        i += w;
        if (r == '"' || r == '\\') {
            buf_addc(out, '\\');
            buf_addc(out, (char)r);
        } else if (is_print(r)) {
            go_append_rune(out, r);
        } else {
            switch (r) {
            case '\a': buf_adds(out, "\\a"); break;
            case '\b': buf_adds(out, "\\b"); break;
            case '\f': buf_adds(out, "\\f"); break;
            case '\n': buf_adds(out, "\\n"); break;
            case '\r': buf_adds(out, "\\r"); break;
            case '\t': buf_adds(out, "\\t"); break;
            case '\v': buf_adds(out, "\\v"); break;
            default:
                if (r < ' ' || r == 0x7F)
                    buf_printf(out, "\\x%02x", (unsigned)r);
                else if (r < 0x10000)
                    buf_printf(out, "\\u%04x", (unsigned)r);
                else
                    buf_printf(out, "\\U%08x", (unsigned)r);
            }
        }
    }
    buf_addc(out, '"');
}

void go_json_string(ctl_buf *out, const void *p, size_t n)
{
    const uint8_t *s = p;
    buf_addc(out, '"');
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        if (b < 0x80) {
            if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&')
                buf_addc(out, (char)b);
            else if (b == '"' || b == '\\')
                buf_printf(out, "\\%c", b);
            else if (b == '\n')
                buf_adds(out, "\\n");
            else if (b == '\r')
                buf_adds(out, "\\r");
            else if (b == '\t')
                buf_adds(out, "\\t");
            else
                buf_printf(out, "\\u00%c%c", lowerhex[b >> 4], lowerhex[b & 0xF]);
            i++;
            continue;
        }
        size_t w;
        int32_t r = go_decode_rune(s + i, n - i, &w);
        if (r == 0xFFFD && w == 1)
            buf_adds(out, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            buf_printf(out, "\\u%04x", (unsigned)r);
        else
            buf_add(out, s + i, w);
        i += w;
    }
    buf_addc(out, '"');
}

void go_base64(ctl_buf *out, const void *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *s = p;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
        buf_add(out, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
        buf_add(out, q, 4);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
        buf_add(out, q, 4);
    }
}

/* Writes v / 10^prec as an integer part and a fraction without trailing zeros, as
 * time.Duration.String does. */
static void put_scaled(ctl_buf *out, uint64_t v, int prec)
{
    uint64_t scale = 1;
    for (int i = 0; i < prec; i++)
        scale *= 10;
    buf_printf(out, "%llu", (unsigned long long)(v / scale));
    uint64_t frac = v % scale;
    if (frac == 0)
        return;
    char digits[16];
    int nd = prec;
    for (int i = prec - 1; i >= 0; i--) {
        digits[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    while (nd > 0 && digits[nd - 1] == '0')
        nd--;
    buf_addc(out, '.');
    buf_add(out, digits, (size_t)nd);
}

void go_duration_string(ctl_buf *out, int64_t ns)
{
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0)
        buf_addc(out, '-');
    if (u == 0) {
        buf_adds(out, "0s");
        return;
    }
    if (u < 1000000000ULL) {
        if (u < 1000ULL) {
            put_scaled(out, u, 0);
            buf_adds(out, "ns");
        } else if (u < 1000000ULL) {
            put_scaled(out, u, 3);
            buf_adds(out, "\xc2\xb5s");
        } else {
            put_scaled(out, u, 6);
            buf_adds(out, "ms");
        }
        return;
    }
    uint64_t secs = u / 1000000000ULL, frac = u % 1000000000ULL;
    uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
    if (h)
        buf_printf(out, "%lluh", (unsigned long long)h);
    if (h || m)
        buf_printf(out, "%llum", (unsigned long long)m);
    put_scaled(out, s * 1000000000ULL + frac, 9);
    buf_addc(out, 's');
}

static void num_error(ctl_buf *err, const char *fn, const char *s, size_t n, const char *what)
{
    if (!err)
        return;
    buf_printf(err, "strconv.%s: parsing ", fn);
    go_quote(err, s, n);
    buf_printf(err, ": %s", what);
}

static int lower(int c)
{
    return c | 0x20;
}

/* strconv's rule: underscores only between digits, or between a base prefix and a digit. */
static bool underscore_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    bool hex = false;
    if (n >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = lower(s[1]) == 'x';
    }
    for (; i < n; i++) {
        if ((s[i] >= '0' && s[i] <= '9') || (hex && lower(s[i]) >= 'a' && lower(s[i]) <= 'f')) {
            saw = '0';
            continue;
        }
        if (s[i] == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

enum { NUM_OK, NUM_SYNTAX, NUM_RANGE };

static int parse_uint(const char *s, size_t len, int base, uint64_t *out)
{
    const char *s0 = s, *end = s + len;
    bool base0 = base == 0;
    *out = 0;
    if (len == 0)
        return NUM_SYNTAX;
    if (base == 0) {
        base = 10;
        if (s[0] == '0') {
            if (len >= 3 && lower(s[1]) == 'b') {
                base = 2;
                s += 2;
            } else if (len >= 3 && lower(s[1]) == 'o') {
                base = 8;
                s += 2;
            } else if (len >= 3 && lower(s[1]) == 'x') {
                base = 16;
                s += 2;
            } else {
                base = 8;
                s += 1;
            }
        }
    }
    uint64_t cutoff = UINT64_MAX / (uint64_t)base + 1, n = 0;
    bool underscores = false;
    for (; s < end; s++) {
        int c = (unsigned char)*s, d;
        if (c == '_' && base0) {
            underscores = true;
            continue;
        } else if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (lower(c) >= 'a' && lower(c) <= 'z') {
            d = lower(c) - 'a' + 10;
        } else {
            return NUM_SYNTAX;
        }
        if (d >= base)
            return NUM_SYNTAX;
        if (n >= cutoff) {
            *out = UINT64_MAX;
            return NUM_RANGE;
        }
        n *= (uint64_t)base;
        uint64_t n1 = n + (uint64_t)d;
        if (n1 < n) {
            *out = UINT64_MAX;
            return NUM_RANGE;
        }
        n = n1;
    }
    if (underscores && !underscore_ok(s0, len))
        return NUM_SYNTAX;
    *out = n;
    return NUM_OK;
}

bool go_parse_int(const char *s, size_t n, int base, int64_t *out, ctl_buf *err)
{
    const char *s0 = s;
    size_t n0 = n;
    bool neg = false;
    *out = 0;
    if (n == 0) {
        num_error(err, "ParseInt", s0, n0, "invalid syntax");
        return false;
    }
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
        n--;
    }
    uint64_t un;
    int rc = parse_uint(s, n, base, &un);
    if (rc == NUM_SYNTAX) {
        num_error(err, "ParseInt", s0, n0, "invalid syntax");
        return false;
    }
    const uint64_t cutoff = (uint64_t)1 << 63;
    if (rc == NUM_RANGE || (!neg && un >= cutoff) || (neg && un > cutoff)) {
        num_error(err, "ParseInt", s0, n0, "value out of range");
        return false;
    }
    *out = neg ? (int64_t)(0 - un) : (int64_t)un;
    return true;
}

bool go_parse_bool(const char *s, size_t n, bool *out, ctl_buf *err)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strlen(yes[i]) == n && memcmp(s, yes[i], n) == 0) {
            *out = true;
            return true;
        }
        if (strlen(no[i]) == n && memcmp(s, no[i], n) == 0) {
            *out = false;
            return true;
        }
    }
    *out = false;
    num_error(err, "ParseBool", s, n, "invalid syntax");
    return false;
}

/* The quoting time.ParseDuration uses in its messages: bytes outside printable ASCII as \x. */
static void time_quote(ctl_buf *out, const char *s, size_t n)
{
    buf_addc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c < ' ')
            buf_printf(out, "\\x%c%c", lowerhex[c >> 4], lowerhex[c & 0xF]);
        else {
            if (c == '"' || c == '\\')
                buf_addc(out, '\\');
            buf_addc(out, (char)c);
        }
    }
    buf_addc(out, '"');
}

static bool duration_error(ctl_buf *err, const char *what, const char *orig)
{
    if (err) {
        buf_printf(err, "time: %s ", what);
        time_quote(err, orig, strlen(orig));
    }
    return false;
}

bool go_parse_duration(const char *s, int64_t *ns, ctl_buf *err)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1ULL},
        {"us", 1000ULL},
        {"\xc2\xb5s", 1000ULL},
        {"\xce\xbcs", 1000ULL},
        {"ms", 1000000ULL},
        {"s", 1000000000ULL},
        {"m", 60000000000ULL},
        {"h", 3600000000000ULL},
    };
    const char *orig = s;
    const uint64_t lim = (uint64_t)1 << 63;
    uint64_t d = 0;
    bool neg = false;
    *ns = 0;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0)
        return true;
    if (*s == '\0')
        return duration_error(err, "invalid duration", orig);
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return duration_error(err, "invalid duration", orig);
        const char *p0 = s;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > lim / 10)
                return duration_error(err, "invalid duration", orig);
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > lim)
                return duration_error(err, "invalid duration", orig);
        }
        bool pre = s != p0, post = false;
        if (*s == '.') {
            s++;
            const char *f0 = s;
            bool overflow = false;
            for (; *s >= '0' && *s <= '9'; s++) {
                if (overflow)
                    continue;
                if (f > (lim - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*s - '0');
                if (y > lim) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = s != f0;
        }
        if (!pre && !post)
            return duration_error(err, "invalid duration", orig);
        size_t ulen = 0;
        while (s[ulen] && s[ulen] != '.' && !(s[ulen] >= '0' && s[ulen] <= '9'))
            ulen++;
        if (ulen == 0)
            return duration_error(err, "missing unit in duration", orig);
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            if (strlen(units[i].name) == ulen && memcmp(units[i].name, s, ulen) == 0)
                unit = units[i].ns;
        if (unit == 0) {
            if (err) {
                buf_adds(err, "time: unknown unit ");
                time_quote(err, s, ulen);
                buf_adds(err, " in duration ");
                time_quote(err, orig, strlen(orig));
            }
            return false;
        }
        s += ulen;
        if (v > lim / unit)
            return duration_error(err, "invalid duration", orig);
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim)
                return duration_error(err, "invalid duration", orig);
        }
        d += v;
        if (d > lim)
            return duration_error(err, "invalid duration", orig);
    }
    if (neg) {
        *ns = (int64_t)(0 - d);
        return true;
    }
    if (d > lim - 1)
        return duration_error(err, "invalid duration", orig);
    *ns = (int64_t)d;
    return true;
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (lower(c) >= 'a' && lower(c) <= 'f')
        return lower(c) - 'a' + 10;
    return -1;
}

bool go_unquote(const char *s, size_t n, ctl_buf *out)
{
    if (n < 2 || s[0] != s[n - 1])
        return false;
    char quote = s[0];
    s++;
    n -= 2;
    if (quote == '`') {
        if (memchr(s, '`', n))
            return false;
        for (size_t i = 0; i < n; i++)
            if (s[i] != '\r')
                buf_addc(out, s[i]);
        return true;
    }
    if (quote != '"' || memchr(s, '\n', n))
        return false;
    while (n > 0) {
        unsigned char c = (unsigned char)s[0];
        if (c == '"')
            return false;
        if (c >= 0x80) {
            size_t w;
            go_append_rune(out, go_decode_rune(s, n, &w));
            s += w;
            n -= w;
            continue;
        }
        if (c != '\\') {
            buf_addc(out, (char)c);
            s++;
            n--;
            continue;
        }
        if (n <= 1)
            return false;
        c = (unsigned char)s[1];
        s += 2;
        n -= 2;
        switch (c) {
        case 'a': buf_addc(out, '\a'); break;
        case 'b': buf_addc(out, '\b'); break;
        case 'f': buf_addc(out, '\f'); break;
        case 'n': buf_addc(out, '\n'); break;
        case 'r': buf_addc(out, '\r'); break;
        case 't': buf_addc(out, '\t'); break;
        case 'v': buf_addc(out, '\v'); break;
        case '\\': buf_addc(out, '\\'); break;
        case '"': buf_addc(out, '"'); break;
        case 'x': case 'u': case 'U': {
            size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            if (n < digits)
                return false;
            int32_t v = 0;
            for (size_t j = 0; j < digits; j++) {
                int x = unhex((unsigned char)s[j]);
                if (x < 0)
                    return false;
                v = (int32_t)(((uint32_t)v << 4) | (uint32_t)x);
            }
            s += digits;
            n -= digits;
            if (c == 'x') {
                buf_addc(out, (char)v);
                break;
            }
            if (v < 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return false;
            go_append_rune(out, v);
            break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            int v = c - '0';
            if (n < 2)
                return false;
            for (int j = 0; j < 2; j++) {
                int x = s[j] - '0';
                if (x < 0 || x > 7)
                    return false;
                v = (v << 3) | x;
            }
            s += 2;
            n -= 2;
            if (v > 255)
                return false;
            buf_addc(out, (char)v);
            break;
        }
        default:
            return false;
        }
    }
    return true;
}
