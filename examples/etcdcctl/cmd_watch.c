/*
 * cmd_watch.c - "watch [options] KEY [RANGE_END] [-- CMD ARGS]": prints every change to a key
 * or a range as it happens (from --rev, history first), and runs CMD per event when given.
 * With -i, reads "watch ..." (and "progress") lines from stdin and runs each watch at once.
 *
 * Output per batch of events, as etcdctl prints it (see print_*.c). The watch runs until killed
 * or until the server ends it (say, the revision was compacted): then, as etcdctl, it says why,
 * prints the server's answer, and fails with "watch is canceled by the server" (status 5).
 *
 * The arguments are read again from the raw command line, as etcdctl reads them, so that the
 * same command lines fail the same way (ETCDCTL_WATCH_KEY and ETCDCTL_WATCH_RANGE_END stand in
 * for the key and the range end).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "gotext.h"
#include "watch_exec.h"

#define CTL_EXIT_INTERRUPTED 5

#define BAD_ARGS_NUM "bad number of arguments"
#define BAD_ARGS_ENV "bad number of arguments (found conflicting environment key)"
#define BAD_ARGS_SEP "bad number of arguments (found separator --, but no commands)"

/* The watch flags; interactive lines are parsed against a fresh copy of them. */
typedef struct watch_opts {
    int64_t rev;
    bool interactive, prefix, prev_kv, progress_notify, help;
} watch_opts;

static void bind_flags(watch_opts *o, flag_spec *out, bool with_help)
{
    const flag_spec f[] = {
        {"interactive", 'i', FLAG_BOOL, "false", "Interactive mode", &o->interactive, false},
        {"prefix", 0, FLAG_BOOL, "false", "Watch on a prefix if prefix is set", &o->prefix, false},
        {"prev-kv", 0, FLAG_BOOL, "false", "get the previous key-value pair before the event happens", &o->prev_kv,
         false},
        {"progress-notify", 0, FLAG_BOOL, "false", "get periodic watch progress notification from server",
         &o->progress_notify, false},
        {"rev", 0, FLAG_INT64, "0", "Revision to start watching", &o->rev, false},
        {"help", 'h', FLAG_BOOL, "false", "help for watch", &o->help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    memset(o, 0, sizeof *o);
    memcpy(out, f, sizeof f);
    if (!with_help) /* a line's flags are a plain flag set: no help flag */
        memset(&out[5], 0, sizeof out[5]);
}

static watch_opts opts;

static flag_spec *watch_flags(void)
{
    static flag_spec specs[8];
    if (!specs[0].name)
        bind_flags(&opts, specs, true);
    return specs;
}

static bool word_is(const ctl_strlist *l, size_t i, const char *w)
{
    return l->lens[i] == strlen(w) && memcmp(l->items[i], w, l->lens[i]) == 0;
}

static bool same_word(const ctl_strlist *a, size_t i, const ctl_strlist *b, size_t j)
{
    return a->lens[i] == b->lens[j] && memcmp(a->items[i], b->items[j], a->lens[i]) == 0;
}

static void copy_range(ctl_strlist *dst, const ctl_strlist *src, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < src->n; i++)
        strlist_add(dst, src->items[i], src->lens[i]);
}

/* The first "--" at or after `from`, or src->n. */
static size_t find_sep(const ctl_strlist *l, size_t from)
{
    for (size_t i = from; i < l->n; i++)
        if (word_is(l, i, "--"))
            return i;
    return l->n;
}

typedef struct watch_args {
    ctl_strlist keys; /* key, range end */
    ctl_strlist exec; /* command and arguments; empty: none */
} watch_args;

static void watch_args_free(watch_args *a)
{
    strlist_free(&a->keys);
    strlist_free(&a->exec);
}

/*
 * What etcdctl makes of its arguments: `words` are the positional arguments as the flag parser
 * left them ("--" removed), `raw` the words the "--" search looks at. The command is what
 * follows the first "--" in raw; the keys are the environment's key and range end, then the
 * positional words before the last occurrence of the command's first word.
 */
static void split_args(const ctl_strlist *raw, const ctl_strlist *words, const char *env_key, const char *env_range,
                       watch_args *out)
{
    size_t sep = find_sep(raw, 0);
    if (*env_key) {
        strlist_adds(&out->keys, env_key);
        if (*env_range)
            strlist_adds(&out->keys, env_range);
    }
    copy_range(&out->keys, words, 0, words->n);
    if (sep >= raw->n)
        return;
    copy_range(&out->exec, raw, sep + 1, raw->n);
    size_t end = out->keys.n;
    while (end > 0 && !same_word(&out->keys, end - 1, raw, sep + 1))
        end--;
    /* Cut where the command starts (0 when it is not found: etcdctl would crash). */
    size_t cut = end > 0 ? end - 1 : 0;
    while (out->keys.n > cut)
        free(out->keys.items[--out->keys.n]);
}

/* The command line's checks (etcdctl's parseWatchArgs, outside interactive mode). */
static const char *parse_command_line(const ctl_globals *g, const ctl_strlist *args, const char *env_key,
                                      const char *env_range, watch_args *out)
{
    ctl_strlist raw = {0};
    int start = 0;
    for (int i = 0; i < g->argc; i++)
        if (strcmp(g->argv[i], "watch") == 0) {
            start = i + 1;
            break;
        }
    for (int i = start; i < g->argc; i++)
        strlist_adds(&raw, g->argv[i]);
    const char *why = NULL;
    size_t sep = find_sep(&raw, 0);
    bool has_sep = sep < raw.n;
    if (has_sep && sep == raw.n - 1)
        why = BAD_ARGS_SEP;
    else if (!has_sep && raw.n < 1 && !*env_key)
        why = BAD_ARGS_NUM;
    else if (has_sep && *env_key) {
        /* Positional words that are not at the end of the command line come before "--":
         * with the key from the environment, that is one key too many. */
        size_t r = raw.n;
        for (size_t w = args->n; w-- > 0 && r > 0;) {
            if (same_word(args, w, &raw, r - 1)) {
                r--;
                continue;
            }
            if (r - 1 == sep) {
                why = BAD_ARGS_ENV;
                break;
            }
        }
    } else if (!has_sep && args->n > 0 && *env_key)
        why = BAD_ARGS_ENV;
    if (!why)
        split_args(&raw, args, env_key, env_range, out);
    strlist_free(&raw);
    return why;
}

/* ---- running watches ---- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct watch_run {
    ctl_globals *g;
    etcd_watch_stream *stream;
    ctl_strlist exec;
    bool silent;         /* a watch from a negative revision: history is not shown */
    int64_t silent_upto; /* the revision when it was created */
    uint64_t cluster_id, member_id, raft_term; /* of the last answer, for the server's cancel */
} watch_run;

/* Opens a watch of keys (key, optional range end) with o's options. NULL, or the error text
 * (etcdctl's, for arguments it refuses). */
static const char *open_watch(ctl_session *s, const watch_opts *o, const ctl_strlist *keys, etcd_watch_stream **out,
                              ctl_buf *err_text)
{
    *out = NULL;
    if (keys->n < 1)
        return BAD_ARGS_NUM;
    if (keys->n == 2 && o->prefix)
        return "`range_end` and `--prefix` are mutually exclusive";
    bool all = o->prefix && keys->lens[0] == 0;
    /* As etcd's Go client: a prefix of nothing is every key, from "\0" on. */
    etcd_watch_opts *wo = all ? etcd_watch_opts_new("", 1) : etcd_watch_opts_new(keys->items[0], keys->lens[0]);
    if (!wo)
        return "out of memory";
    if (all)
        etcd_watch_opts_with_from_key(wo);
    else if (o->prefix)
        etcd_watch_opts_with_prefix(wo);
    else if (keys->n == 2 && keys->lens[1] > 0) /* only with exactly two, as etcdctl */
        etcd_watch_opts_with_range_end(wo, keys->items[1], keys->lens[1]);
    /* From a negative revision, etcd 3.4 finds no history, reports what comes next, and fails
     * the watch if history was compacted: such a watch starts at revision 1, and the history
     * it replays is not shown (see print_watch()). */
    if (o->rev != 0)
        etcd_watch_opts_with_rev(wo, o->rev > 0 ? o->rev : 1);
    if (o->prev_kv)
        etcd_watch_opts_with_prev_kv(wo);
    if (o->progress_notify)
        etcd_watch_opts_with_progress_notify(wo);
    /* The created answer carries the header the server's cancel lacks. */
    etcd_watch_opts_with_created_notify(wo);
    etcd_watch_opts_set_require_leader(wo, 1);
    etcd_error *err = NULL;
    etcd_code rc = etcd_watch_open(etcd_client_watcher(s->client), wo, out, &err);
    etcd_watch_opts_free(wo);
    if (rc == ETCD_OK)
        return NULL;
    ctl_error_text(rc, err, err_text);
    etcd_error_free(err);
    return buf_str(err_text);
}

static void remember_header(watch_run *w, const etcd_response *resp)
{
    w->cluster_id = etcd_response_cluster_id(resp);
    w->member_id = etcd_response_member_id(resp);
    w->raft_term = etcd_response_raft_term(resp);
}

/* Prints the watch's batches until it ends; returns the exit status it ends with. */
static int print_watch(watch_run *w)
{
    ctl_buf out = {0};
    for (;;) {
        etcd_response *resp = NULL;
        etcd_error *err = NULL;
        etcd_code rc = etcd_watch_stream_next(w->stream, -1, &resp, &err);
        if (rc == ETCD_OK) {
            remember_header(w, resp);
            if (etcd_watch_response_created(resp))
                w->silent_upto = etcd_response_revision(resp);
            size_t nev = etcd_watch_response_event_count(resp);
            bool history = w->silent && nev > 0 &&
                           etcd_keyvalue_mod_revision(etcd_event_kv(etcd_watch_response_event_at(resp, nev - 1))) <=
                               w->silent_upto;
            if (etcd_watch_response_created(resp) || history) { /* etcdctl does not see these */
                etcd_response_free(resp);
                continue;
            }
            ctl_watch_view v = {resp, w->cluster_id, w->member_id, w->raft_term, etcd_response_revision(resp), 0,
                                false};
            pthread_mutex_lock(&out_mu);
            if (etcd_watch_response_progress(resp))
                buf_printf(&out, "progress notify: %lld\n", (long long)etcd_response_revision(resp));
            int prc = ctl_display_watch(w->g, &v, &out);
            ctl_flush_out(&out);
            fflush(stdout);
            if (prc) {
                pthread_mutex_unlock(&out_mu);
                etcd_response_free(resp);
                buf_free(&out);
                return prc;
            }
            if (w->exec.n)
                watch_exec_events(&w->exec, resp);
            pthread_mutex_unlock(&out_mu);
            etcd_response_free(resp);
            continue;
        }
        /* The watch is over: say why, then print the server's answer, as etcdctl does. */
        ctl_buf why = {0};
        ctl_error_text(rc, err, &why);
        ctl_watch_view v = {NULL, w->cluster_id, w->member_id, w->raft_term, 0, etcd_error_compact_revision(err),
                            true};
        etcd_error_free(err);
        pthread_mutex_lock(&out_mu);
        fflush(stdout);
        fprintf(stderr, "watch was canceled (%s)\n", buf_str(&why));
        fflush(stderr);
        int prc = ctl_display_watch(w->g, &v, &out);
        ctl_flush_out(&out);
        fflush(stdout);
        pthread_mutex_unlock(&out_mu);
        buf_free(&why);
        buf_free(&out);
        return prc ? prc : CTL_EXIT_INTERRUPTED;
    }
}

static const char *env_or_empty(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

/* Ends the process from the interactive loop while watches print on other threads. */
static _Noreturn void leave(int rc)
{
    pthread_mutex_lock(&out_mu);
    ctl_leave(rc);
}

static void *watch_thread(void *arg)
{
    watch_run *w = arg;
    int rc = print_watch(w);
    if (rc != CTL_EXIT_INTERRUPTED) /* a format that cannot be shown ends etcdctl */
        leave(rc);
    etcd_watch_stream_close(w->stream);
    strlist_free(&w->exec);
    free(w);
    return NULL;
}

/* One "watch ..." line of interactive mode (words without the leading "watch"). Returns 0, or
 * the exit status after printing why. */
static int interactive_watch(ctl_globals *g, ctl_session *s, const ctl_strlist *words, const char *line,
                             const char *env_key, const char *env_range)
{
    size_t sep = find_sep(words, 0);
    bool has_sep = sep < words->n;
    if (has_sep && sep == words->n - 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, BAD_ARGS_SEP);
    watch_opts o;
    flag_spec specs[8];
    bind_flags(&o, specs, false);
    flag_sets fs = {{specs}, 1};
    ctl_strlist pos = {0};
    ctl_buf err = {0};
    int rc = 0;
    watch_args a = {0};
    if (!flags_parse(&fs, words->items, words->lens, words->n, &pos, &err)) {
        rc = ctl_fail_buf(CTL_EXIT_BAD_ARGS, &err);
        goto out;
    }
    /* etcdctl counts what its flag parser leaves, the command included. */
    if (!has_sep && !*env_key && pos.n < 1) {
        rc = ctl_fail(CTL_EXIT_BAD_ARGS, BAD_ARGS_NUM);
        goto out;
    }
    if (!has_sep && pos.n > 0 && *env_key) {
        rc = ctl_fail(CTL_EXIT_BAD_ARGS, BAD_ARGS_ENV);
        goto out;
    }
    split_args(words, &pos, env_key, env_range, &a);
    etcd_watch_stream *stream;
    ctl_buf text = {0};
    const char *why = open_watch(s, &o, &a.keys, &stream, &text);
    if (why) {
        pthread_mutex_lock(&out_mu);
        fflush(stdout);
        fprintf(stderr, "Invalid command %s (%s)\n", line, why);
        pthread_mutex_unlock(&out_mu);
        buf_free(&text);
        goto out;
    }
    buf_free(&text);
    watch_run *w = ctl_xcalloc(1, sizeof *w);
    w->g = g;
    w->stream = stream;
    w->exec = a.exec;
    w->silent = o.rev < 0;
    a.exec = (ctl_strlist){0};
    pthread_t t;
    if (pthread_create(&t, NULL, watch_thread, w) != 0) {
        rc = ctl_fail(CTL_EXIT_ERROR, "cannot start a thread");
        etcd_watch_stream_close(stream);
        strlist_free(&w->exec);
        free(w);
        goto out;
    }
    pthread_detach(t);
out:
    watch_args_free(&a);
    strlist_free(&pos);
    buf_free(&err);
    return rc;
}

static void invalid(const char *fmt, const char *line)
{
    pthread_mutex_lock(&out_mu);
    fflush(stdout);
    fprintf(stderr, fmt, line);
    fflush(stderr);
    pthread_mutex_unlock(&out_mu);
}

/* Reads watch requests from stdin until its end, which ends the command as it ends etcdctl. */
static _Noreturn void run_interactive(ctl_globals *g, ctl_session *s, const char *env_key, const char *env_range)
{
    ctl_buf line = {0};
    for (;;) {
        buf_reset(&line);
        bool got_newline = false;
        char c;
        ssize_t n;
        while ((n = read(0, &c, 1)) == 1) {
            if (c == '\n') {
                got_newline = true;
                break;
            }
            buf_addc(&line, c);
        }
        if (!got_newline) {
            pthread_mutex_lock(&out_mu);
            pthread_mutex_unlock(&out_mu);
            ctl_fail(CTL_EXIT_INVALID_INPUT, "Error reading watch request line: EOF");
            leave(CTL_EXIT_INVALID_INPUT);
        }
        ctl_strlist words = {0};
        if (!ctl_argify(line.data ? line.data : "", line.len, &words)) {
            ctl_fail(CTL_EXIT_INVALID_INPUT, "invalid syntax");
            leave(CTL_EXIT_INVALID_INPUT);
        }
        const char *l = buf_str(&line);
        if (words.n < 1) {
            invalid("Invalid command: %s (watch and progress supported)\n", l);
        } else if (word_is(&words, 0, "watch")) {
            if (words.n < 2 && !*env_key) {
                invalid("Invalid command %s (command type or key is not provided)\n", l);
            } else {
                ctl_strlist rest = {0};
                copy_range(&rest, &words, 1, words.n);
                int rc = interactive_watch(g, s, &rest, l, env_key, env_range);
                strlist_free(&rest);
                if (rc)
                    leave(rc);
            }
        } else if (word_is(&words, 0, "progress")) {
            etcd_error *err = NULL;
            etcd_code rc = etcd_watch_request_progress(etcd_client_watcher(s->client), &err);
            /* No watch stream open yet: no watch could be told anything. */
            if (rc == ETCD_E_UNAVAILABLE) {
                etcd_error_free(err);
            } else if (rc != ETCD_OK) {
                ctl_buf text = {0};
                ctl_error_text(rc, err, &text);
                ctl_fail_buf(CTL_EXIT_ERROR, &text);
                leave(CTL_EXIT_ERROR);
            }
        } else {
            invalid("Invalid command %s (only support watch)\n", l);
        }
        strlist_free(&words);
    }
}

static int run_watch(ctl_globals *g, const ctl_strlist *args)
{
    const char *env_key = env_or_empty("ETCDCTL_WATCH_KEY"), *env_range = env_or_empty("ETCDCTL_WATCH_RANGE_END");
    if (!*env_key && *env_range) {
        ctl_buf q = {0};
        go_quote(&q, env_range, strlen(env_range));
        int rc = ctl_fail(CTL_EXIT_BAD_ARGS, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=%s",
                          buf_str(&q));
        buf_free(&q);
        return rc;
    }
    g->watch_env = true;
    ctl_session s = {0};
    if (opts.interactive) {
        int rc = ctl_setup(g);
        if (rc == 0)
            rc = ctl_connect_lazy(g, false, &s);
        if (rc)
            return rc;
        run_interactive(g, &s, env_key, env_range);
    }
    watch_args a = {0};
    const char *why = parse_command_line(g, args, env_key, env_range, &a);
    if (why) {
        watch_args_free(&a);
        return ctl_fail(CTL_EXIT_BAD_ARGS, "%s", why);
    }
    int rc = ctl_setup(g);
    if (rc == 0)
        rc = ctl_connect_lazy(g, false, &s);
    if (rc == 0) {
        watch_run w = {.g = g};
        ctl_buf text = {0};
        why = open_watch(&s, &opts, &a.keys, &w.stream, &text);
        if (why) {
            rc = ctl_fail(CTL_EXIT_BAD_ARGS, "%s", why);
        } else {
            w.exec = a.exec;
            w.silent = opts.rev < 0;
            rc = print_watch(&w);
            if (rc == CTL_EXIT_INTERRUPTED)
                ctl_fail(rc, "watch is canceled by the server");
        }
        buf_free(&text);
        if (w.stream)
            etcd_watch_stream_close(w.stream);
    }
    ctl_close(&s);
    watch_args_free(&a);
    return rc;
}

ctl_command ctl_cmd_watch = {
    .name = "watch",
    .use = "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
    .short_desc = "Watches events stream on keys or prefixes",
    .flags = watch_flags,
    .run = run_watch,
    .parent = &ctl_cmd_root,
};
