/*
 * txn_parse.c - the lines of etcdctl's txn input.
 *
 * Compares: TARGET("key") OP "value", read as etcdctl reads them (Go's Sscanf with
 * `%q) %s %q`): key and value are Go string literals ("..." with escapes, or `...`), TARGET is
 * value/val, version/ver, create/c, mod/m or lease, OP is =, !=, < or >.
 *
 * Requests: put/get/del command lines split into words as etcdctl splits them ("..." words are
 * Go literals, '...' words are taken literally), then parsed with the commands' own flags.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"

/* ---- compares ---- */

/* A reader over one line that hands out runes as Go's scanner does (bad UTF-8 as U+FFFD). */
typedef struct scanner {
    const char *s;
    size_t n, pos;
} scanner;

static bool at_end(const scanner *sc)
{
    return sc->pos >= sc->n;
}

static int32_t peek_rune(const scanner *sc, size_t *w)
{
    return go_decode_rune(sc->s + sc->pos, sc->n - sc->pos, w);
}

static int32_t next_rune(scanner *sc)
{
    size_t w;
    int32_t r = peek_rune(sc, &w);
    sc->pos += w;
    return r;
}

static void skip_space(scanner *sc)
{
    size_t w;
    while (!at_end(sc) && go_is_space(peek_rune(sc, &w)))
        sc->pos += w;
}

/* %q: a Go string literal. */
static bool scan_quoted(scanner *sc, ctl_buf *out)
{
    skip_space(sc);
    if (at_end(sc))
        return false;
    int32_t q = next_rune(sc);
    ctl_buf lit = {0};
    bool ok = false;
    if (q == '`') {
        for (;;) {
            if (at_end(sc))
                goto done;
            int32_t r = next_rune(sc);
            if (r == '`')
                break;
            go_append_rune(out, r);
        }
        ok = true;
    } else if (q == '"') {
        buf_addc(&lit, '"');
        for (;;) {
            if (at_end(sc))
                goto done;
            int32_t r = next_rune(sc);
            go_append_rune(&lit, r);
            if (r == '\\') {
                if (at_end(sc))
                    goto done;
                go_append_rune(&lit, next_rune(sc));
            } else if (r == '"') {
                break;
            }
        }
        ok = go_unquote(lit.data, lit.len, out);
    }
done:
    buf_free(&lit);
    return ok;
}

/* %s: a run of non-space runes. */
static bool scan_word(scanner *sc, ctl_buf *out)
{
    skip_space(sc);
    if (at_end(sc))
        return false;
    size_t w;
    while (!at_end(sc) && !go_is_space(peek_rune(sc, &w)))
        go_append_rune(out, next_rune(sc));
    return true;
}

/* A space in the format: needs at least one space in the input, unless the input has ended. */
static bool scan_gap(scanner *sc)
{
    size_t w;
    if (at_end(sc))
        return true;
    if (!go_is_space(peek_rune(sc, &w)))
        return false;
    skip_space(sc);
    return true;
}

/* Sscanf(rest, "%q) %s %q", &key, &op, &val): how many of the three it filled. */
static int scan_compare(const char *rest, size_t n, ctl_buf *key, ctl_buf *op, ctl_buf *val)
{
    scanner sc = {rest, n, 0};
    ctl_buf tmp = {0};
    int got = 0;
    if (!scan_quoted(&sc, &tmp))
        goto out;
    buf_add(key, tmp.data, tmp.len);
    got = 1;
    if (at_end(&sc) || next_rune(&sc) != ')' || !scan_gap(&sc))
        goto out;
    if (!scan_word(&sc, op))
        goto out;
    got = 2;
    buf_reset(&tmp);
    if (!scan_gap(&sc) || !scan_quoted(&sc, &tmp))
        goto out;
    buf_add(val, tmp.data, tmp.len);
    got = 3;
out:
    buf_free(&tmp);
    return got;
}

/* Fails with "<pre><line><post>", the line's bytes as they are. */
static int fail_line(int code, const char *pre, const char *line, size_t len, const char *post, size_t post_len)
{
    ctl_buf msg = {0};
    buf_adds(&msg, pre);
    buf_add(&msg, line, len);
    buf_add(&msg, post, post_len);
    ctl_fail_buf(code, &msg);
    buf_free(&msg);
    return code;
}

static bool bytes_are(const char *s, size_t n, const char *t)
{
    return strlen(t) == n && memcmp(s, t, n) == 0;
}

static bool target_is(const char *t, size_t n, const char *a, const char *b)
{
    return (strlen(a) == n && memcmp(t, a, n) == 0) || (strlen(b) == n && memcmp(t, b, n) == 0);
}

int txn_parse_compare(const char *line, size_t len, etcd_cmp **out, const char **server_error)
{
    *out = NULL;
    *server_error = NULL;
    const char *lp = memchr(line, '(', len);
    if (!lp)
        return fail_line(CTL_EXIT_INVALID_INPUT, "malformed comparison: ", line, len, "", 0);
    const char *target = line;
    size_t tlen = (size_t)(lp - line);
    ctl_buf key = {0}, op = {0}, val = {0}, why = {0};
    int rc = 0;
    if (scan_compare(lp + 1, len - tlen - 1, &key, &op, &val) != 3) {
        ctl_buf got = {0};
        buf_adds(&got, "; got ");
        buf_add(&got, target, tlen);
        buf_addc(&got, '(');
        go_quote(&got, key.data, key.len);
        buf_adds(&got, ") ");
        buf_add(&got, op.data, op.len);
        buf_addc(&got, ' ');
        go_quote(&got, val.data, val.len);
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "malformed comparison: ", line, len, got.data, got.len);
        buf_free(&got);
        goto out;
    }
    etcd_cmp_result result;
    if (bytes_are(op.data, op.len, "="))
        result = ETCD_CMP_EQUAL;
    else if (bytes_are(op.data, op.len, "!="))
        result = ETCD_CMP_NOT_EQUAL;
    else if (bytes_are(op.data, op.len, ">"))
        result = ETCD_CMP_GREATER;
    else if (bytes_are(op.data, op.len, "<"))
        result = ETCD_CMP_LESS;
    else
        result = (etcd_cmp_result)-1;

    enum { T_VALUE, T_VERSION, T_CREATE, T_MOD, T_LEASE, T_UNKNOWN } kind = T_UNKNOWN;
    if (target_is(target, tlen, "val", "value"))
        kind = T_VALUE;
    else if (target_is(target, tlen, "ver", "version"))
        kind = T_VERSION;
    else if (target_is(target, tlen, "c", "create"))
        kind = T_CREATE;
    else if (target_is(target, tlen, "m", "mod"))
        kind = T_MOD;
    else if (target_is(target, tlen, "lease", "lease"))
        kind = T_LEASE;
    if (kind == T_UNKNOWN) {
        ctl_buf post = {0};
        buf_adds(&post, " (unknown target ");
        buf_add(&post, target, tlen);
        buf_addc(&post, ')');
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "malformed comparison: ", line, len, post.data, post.len);
        buf_free(&post);
        goto out;
    }
    /* Versions and revisions are decimal; lease IDs hexadecimal, as everywhere in etcdctl. */
    int64_t num = 0;
    if (kind != T_VALUE && !go_parse_int(buf_str(&val), val.len, kind == T_LEASE ? 16 : 10, &num, &why)) {
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "invalid txn compare request: ", line, len, "", 0);
        goto out;
    }
    if ((int)result < 0) {
        ctl_buf post = {0};
        buf_adds(&post, " (unknown operator ");
        buf_add(&post, op.data, op.len);
        buf_addc(&post, ')');
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "malformed comparison: ", line, len, post.data, post.len);
        buf_free(&post);
        goto out;
    }
    if (key.len == 0) {
        *server_error = "etcdserver: key is not provided";
        goto out;
    }
    switch (kind) {
    case T_VALUE:
        *out = etcd_cmp_value(key.data, key.len, result, val.data, val.len);
        break;
    case T_VERSION:
        *out = etcd_cmp_version(key.data, key.len, result, num);
        break;
    case T_CREATE:
        *out = etcd_cmp_create_rev(key.data, key.len, result, num);
        break;
    case T_MOD:
        *out = etcd_cmp_mod_rev(key.data, key.len, result, num);
        break;
    default:
        *out = etcd_cmp_lease(key.data, key.len, result, num);
        break;
    }
    if (!*out)
        rc = ctl_fail(CTL_EXIT_ERROR, "out of memory");
out:
    buf_free(&key);
    buf_free(&op);
    buf_free(&val);
    buf_free(&why);
    return rc;
}

/* ---- requests ---- */

static bool is_re_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/*
 * Splits a request line into words as etcdctl does (its pattern
 * "(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?): double-quoted words are Go string literals,
 * single-quoted words are literal, other words run to the next space, and a quote that never
 * closes is skipped. Returns false when a double-quoted word is not a valid Go literal.
 */
bool ctl_argify(const char *s, size_t n, ctl_strlist *words)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            size_t j = i + 1;
            bool closed = false;
            while (j < n) {
                if (s[j] == '\\') {
                    if (j + 1 < n && s[j + 1] != '\n') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                if (s[j] == '"') {
                    closed = true;
                    break;
                }
                j++;
            }
            if (!closed) {
                i++;
                continue;
            }
            scanner sc = {s + i, j + 1 - i, 0};
            ctl_buf w = {0};
            bool ok = scan_quoted(&sc, &w);
            if (ok)
                strlist_add(words, buf_str(&w), w.len);
            buf_free(&w);
            if (!ok)
                return false;
            i = j + 1;
        } else if (c == '\'') {
            const char *close = memchr(s + i + 1, '\'', n - i - 1);
            if (!close) {
                i++;
                continue;
            }
            strlist_add(words, s + i + 1, (size_t)(close - (s + i + 1)));
            i = (size_t)(close - s) + 1;
        } else if (is_re_space(c)) {
            i++;
        } else {
            size_t j = i;
            while (j < n && !is_re_space(s[j]))
                j++;
            strlist_add(words, s + i, j - i);
            i = j;
        }
    }
    return true;
}

/* What etcdctl's command library prints (on stderr) when a request line has a bad flag. */
static const char put_usage[] =
    "Usage:\n"
    "   put [options] <key> <value> (<value> can also be given from stdin) [flags]\n"
    "\n"
    "Flags:\n"
    "  -h, --help           help for put\n"
    "      --ignore-lease   updates the key using its current lease\n"
    "      --ignore-value   updates the key using its current value\n"
    "      --lease string   lease ID (in hexadecimal) to attach to the key (default \"0\")\n"
    "      --prev-kv        return the previous key-value pair before modification\n";
static const char get_usage[] =
    "Usage:\n"
    "   get [options] <key> [range_end] [flags]\n"
    "\n"
    "Flags:\n"
    "      --consistency string   Linearizable(l) or Serializable(s) (default \"l\")\n"
    "      --count-only           Get only the count\n"
    "      --from-key             Get keys that are greater than or equal to the given key using byte compare\n"
    "  -h, --help                 help for get\n"
    "      --keys-only            Get only the keys\n"
    "      --limit int            Maximum number of results\n"
    "      --order string         Order of results; ASCEND or DESCEND (ASCEND by default)\n"
    "      --prefix               Get keys with matching prefix\n"
    "      --print-value-only     Only write values when using the \"simple\" output format\n"
    "      --rev int              Specify the kv revision\n"
    "      --sort-by string       Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION\n";
static const char del_usage[] =
    "Usage:\n"
    "   del [options] <key> [range_end] [flags]\n"
    "\n"
    "Flags:\n"
    "      --from-key   delete keys that are greater than or equal to the given key using byte compare\n"
    "  -h, --help       help for del\n"
    "      --prefix     delete keys with matching prefix\n"
    "      --prev-kv    return deleted key-value pairs\n";

enum { REQ_PUT, REQ_GET, REQ_DEL, REQ_NONE };

/* The request kind by name or unique prefix, as the command library matches it (its own
 * "help" and "completion" commands take part in the matching but make no request). */
static int request_kind(const char *w, size_t len)
{
    static const char *const names[] = {"put", "get", "del", "help", "completion"};
    size_t matches = 0;
    int found = REQ_NONE;
    for (int i = 0; i < 5; i++) {
        if (bytes_are(w, len, names[i]))
            return i < 3 ? i : REQ_NONE;
        if (strlen(names[i]) >= len && memcmp(names[i], w, len) == 0) {
            matches++;
            found = i < 3 ? i : REQ_NONE;
        }
    }
    return matches == 1 ? found : REQ_NONE;
}

int txn_parse_request(const char *line, size_t len, ctl_request *req)
{
    req->op = NULL;
    req->server_error = NULL;
    ctl_strlist words = {0}, pos = {0};
    ctl_buf err = {0};
    int rc = 0;
    if (!ctl_argify(line, len, &words)) {
        rc = ctl_fail(CTL_EXIT_INVALID_INPUT, "invalid syntax");
        goto out;
    }
    if (words.n < 2) {
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "invalid txn compare request: ", line, len, "", 0);
        goto out;
    }
    /* The first word that is not a flag names the request. No flag is known at that point,
     * so a "--flag" or "-f" is taken to have a value, as etcdctl's command library takes it. */
    size_t at = words.n;
    for (size_t i = 0; i < words.n; i++) {
        const char *w = words.items[i];
        size_t wn = words.lens[i];
        bool eq = memchr(w, '=', wn) != NULL;
        if (bytes_are(w, wn, "--"))
            break;
        if ((wn >= 2 && memcmp(w, "--", 2) == 0 && !eq) || (wn == 2 && w[0] == '-' && !eq)) {
            if (words.n - i - 1 <= 1)
                break;
            i++;
            continue;
        }
        if (wn > 0 && w[0] != '-') {
            at = i;
            break;
        }
    }
    /* The command library drops the first word equal to the name, wherever it is. */
    for (size_t i = 0; i < at; i++)
        if (at < words.n && words.lens[i] == words.lens[at] &&
            memcmp(words.items[i], words.items[at], words.lens[at]) == 0)
            at = i;
    int kind = at < words.n ? request_kind(words.items[at], words.lens[at]) : REQ_NONE;
    if (kind == REQ_NONE) {
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "invalid txn request: ", line, len, "", 0);
        goto out;
    }
    char **rest = ctl_xmalloc(words.n * sizeof *rest);
    size_t *rest_lens = ctl_xmalloc(words.n * sizeof *rest_lens);
    size_t nrest = 0;
    for (size_t i = 0; i < words.n; i++) {
        if (i != at) {
            rest_lens[nrest] = words.lens[i];
            rest[nrest++] = words.items[i];
        }
    }

    put_opts po;
    get_opts go;
    del_opts dop;
    flag_spec specs[CTL_MAX_FLAGS];
    const char *usage;
    bool *help;
    if (kind == REQ_PUT) {
        put_bind_flags(&po, specs);
        usage = put_usage;
        help = &po.help;
    } else if (kind == REQ_GET) {
        get_bind_flags(&go, specs);
        usage = get_usage;
        help = &go.help;
    } else {
        del_bind_flags(&dop, specs);
        usage = del_usage;
        help = &dop.help;
    }
    flag_sets fs = {{specs}, 1};
    bool parsed = flags_parse(&fs, rest, rest_lens, nrest, &pos, &err);
    free(rest);
    free(rest_lens);
    if (!parsed || *help) {
        fflush(stdout);
        fprintf(stderr, "%s\n", usage);
        rc = fail_line(CTL_EXIT_INVALID_INPUT, "invalid txn request: ", line, len, "", 0);
        goto out;
    }
    if (kind == REQ_PUT)
        rc = put_build(&po, &pos, req);
    else if (kind == REQ_GET)
        rc = get_build(&go, &pos, req);
    else
        rc = del_build(&dop, &pos, req);
out:
    buf_free(&err);
    strlist_free(&pos);
    strlist_free(&words);
    return rc;
}
