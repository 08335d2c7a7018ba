/*
 * main.c - etcdcctl: an etcdctl-compatible command-line client for etcd's v3 API.
 *
 * The command line is read as etcdctl's command library reads it: global flags anywhere, the
 * command found by its name (or a unique prefix of it) among the words that are not flags,
 * then all flags parsed by that command. Messages, usage and exit statuses follow etcdctl.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "gotext.h"

static ctl_globals globals = {
    .dial_timeout = 2000000000LL,
    .command_timeout = 5000000000LL,
    .keepalive_time = 2000000000LL,
    .keepalive_timeout = 6000000000LL,
    .write_out = "simple",
};

static flag_spec global_flags[] = {
    {"command-timeout", 0, FLAG_DURATION, "5s", "timeout for short running command (excluding dial timeout)",
     &globals.command_timeout, false},
    {"dial-timeout", 0, FLAG_DURATION, "2s", "dial timeout for client connections", &globals.dial_timeout, false},
    {"endpoints", 0, FLAG_STRINGS, "[127.0.0.1:2379]", "gRPC endpoints", &globals.endpoints, false},
    {"hex", 0, FLAG_BOOL, "false", "print byte strings as hex encoded strings", &globals.hex, false},
    {"keepalive-time", 0, FLAG_DURATION, "2s", "keepalive time for client connections", &globals.keepalive_time,
     false},
    {"keepalive-timeout", 0, FLAG_DURATION, "6s", "keepalive timeout for client connections",
     &globals.keepalive_timeout, false},
    {"write-out", 'w', FLAG_STRING, "simple", "set the output format (json, simple)", &globals.write_out, false},
    {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
};

/* ---- root, help and version ---- */

static bool root_help, help_help, version_help;

static flag_spec *root_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for " CTL_NAME, &root_help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static flag_spec *help_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for help", &help_help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static flag_spec *version_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for version", &version_help, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static int run_help(ctl_globals *g, const ctl_strlist *args);

static int run_version(ctl_globals *g, const ctl_strlist *args)
{
    (void)g;
    (void)args;
    printf("%s version: %s\nAPI version: %s\n", CTL_NAME, etcd_version(), CTL_API_VERSION);
    return 0;
}

static ctl_command ctl_cmd_help = {
    .name = "help",
    .use = "help [command]",
    .short_desc = "Help about any command",
    .long_desc = "Help provides help for any command in the application.\n"
                 "Simply type " CTL_NAME " help [path to command] for full details.",
    .flags = help_flags,
    .run = run_help,
    .parent = &ctl_cmd_root,
};

ctl_command ctl_cmd_version = {
    .name = "version",
    .use = "version",
    .short_desc = "Prints the version of " CTL_NAME,
    .flags = version_flags,
    .run = run_version,
    .parent = &ctl_cmd_root,
};

/* Sorted by name, as etcdctl lists and matches them. */
static ctl_command *const root_subs[] = {
    &ctl_cmd_compaction, &ctl_cmd_del, &ctl_cmd_endpoint, &ctl_cmd_get, &ctl_cmd_help,
    &ctl_cmd_put,        &ctl_cmd_txn, &ctl_cmd_version,  NULL,
};

ctl_command ctl_cmd_root = {
    .name = CTL_NAME,
    .use = CTL_NAME,
    .short_desc = "An etcdctl-compatible command line client for etcd3.",
    .flags = root_flags,
    .subs = root_subs,
};

bool ctl_help_requested(ctl_command *cmd)
{
    for (flag_spec *f = cmd->flags(); f->name; f++)
        if (strcmp(f->name, "help") == 0)
            return *(bool *)f->value;
    return false;
}

/* ---- finding the command ---- */

static flag_sets sets_for(ctl_command *cmd)
{
    flag_sets fs = {{cmd->flags(), globals.flags}, 2};
    return fs;
}

/* The words that are not flags (nor values of flags), as the command library guesses them
 * before it knows which command's flags apply: an unknown "--flag" is taken to have a value,
 * and so is --help, which the library only defines later. */
static void strip_flags(const flag_sets *fs, char **args, size_t n, ctl_strlist *words)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = args[i];
        size_t remaining = n - i - 1;
        if (strcmp(s, "--") == 0)
            break;
        bool eq = strchr(s, '=') != NULL;
        const flag_spec *f = NULL;
        bool takes_value = false;
        if (strncmp(s, "--", 2) == 0 && !eq) {
            f = flags_lookup(fs, s + 2, strlen(s + 2));
            takes_value = !f || !flags_is_bool(f) || strcmp(f->name, "help") == 0;
        } else if (s[0] == '-' && !eq && strlen(s) == 2) {
            f = flags_lookup_short(fs, s[1]);
            takes_value = !f || !flags_is_bool(f) || strcmp(f->name, "help") == 0;
        }
        if (takes_value) {
            /* The library stops looking when such a flag is among the last two words. */
            if (remaining <= 1)
                break;
            i++;
            continue;
        }
        if (s[0] != '\0' && s[0] != '-')
            strlist_adds(words, s);
    }
}

/* A subcommand by exact name, or by a prefix that only one subcommand has. */
static ctl_command *find_next(ctl_command *cmd, const char *name)
{
    ctl_command *match = NULL;
    size_t matches = 0, len = strlen(name);
    for (ctl_command *const *s = cmd->subs; s && *s; s++) {
        if (strcmp((*s)->name, name) == 0)
            return *s;
        if (strncmp((*s)->name, name, len) == 0) {
            match = *s;
            matches++;
        }
    }
    return matches == 1 ? match : NULL;
}

static void remove_first(ctl_strlist *args, const char *word)
{
    for (size_t i = 0; i < args->n; i++) {
        if (strcmp(args->items[i], word) == 0) {
            free(args->items[i]);
            memmove(&args->items[i], &args->items[i + 1], (args->n - i - 1) * sizeof *args->items);
            memmove(&args->lens[i], &args->lens[i + 1], (args->n - i - 1) * sizeof *args->lens);
            args->n--;
            return;
        }
    }
}

/* Walks down the command tree; *args loses the command names found. On an unknown command
 * word at the top, returns NULL with *unknown set. */
static ctl_command *find_command(ctl_strlist *args, char **unknown)
{
    ctl_command *cmd = &ctl_cmd_root;
    *unknown = NULL;
    for (;;) {
        flag_sets fs = sets_for(cmd);
        ctl_strlist words = {0};
        strip_flags(&fs, args->items, args->n, &words);
        ctl_command *next = words.n ? find_next(cmd, words.items[0]) : NULL;
        if (!next) {
            if (cmd == &ctl_cmd_root && words.n)
                *unknown = ctl_xstrdup(words.items[0]);
            strlist_free(&words);
            return *unknown ? NULL : cmd;
        }
        remove_first(args, words.items[0]);
        strlist_free(&words);
        cmd = next;
    }
}

/* Edit distance ignoring case, by which unknown commands get suggestions. */
static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *d = ctl_xmalloc((lb + 1) * sizeof *d);
    for (size_t j = 0; j <= lb; j++)
        d[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = d[0];
        d[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t tmp = d[j];
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            size_t best = d[j] + 1 < d[j - 1] + 1 ? d[j] + 1 : d[j - 1] + 1;
            d[j] = prev + cost < best ? prev + cost : best;
            prev = tmp;
        }
    }
    size_t r = d[lb];
    free(d);
    return r;
}

/* "unknown command "x" for "etcdcctl"", with the commands it may have meant. */
static void unknown_command_text(const char *word, ctl_buf *out)
{
    buf_adds(out, "unknown command ");
    go_quote(out, word, strlen(word));
    buf_adds(out, " for \"" CTL_NAME "\"");
    bool any = false;
    size_t len = strlen(word);
    for (ctl_command *const *s = root_subs; *s; s++) {
        if (*s == &ctl_cmd_help)
            continue;
        bool prefix = strlen((*s)->name) >= len && strncasecmp((*s)->name, word, len) == 0;
        if (prefix || levenshtein(word, (*s)->name) <= 2) {
            if (!any)
                buf_adds(out, "\n\nDid you mean this?\n");
            any = true;
            buf_printf(out, "\t%s\n", (*s)->name);
        }
    }
}

static int run_help(ctl_globals *g, const ctl_strlist *args)
{
    ctl_strlist rest = {0};
    for (size_t i = 0; i < args->n; i++)
        strlist_adds(&rest, args->items[i]);
    char *unknown = NULL;
    ctl_command *cmd = find_command(&rest, &unknown);
    if (!cmd) {
        fputs("Unknown help topic [", stderr);
        for (size_t i = 0; i < args->n; i++)
            fprintf(stderr, "%s`%s`", i ? " " : "", args->items[i]);
        fputs("]\n", stderr);
        cmd = &ctl_cmd_root;
    }
    ctl_usage(cmd, g, stdout);
    free(unknown);
    strlist_free(&rest);
    return 0;
}

static int run(int argc, char **argv)
{
    ctl_strlist args = {0}, pos = {0};
    ctl_buf err = {0};
    char *unknown = NULL;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        strlist_adds(&args, argv[i]);

    ctl_command *cmd = find_command(&args, &unknown);
    if (!cmd) {
        ctl_buf text = {0};
        unknown_command_text(unknown, &text);
        fprintf(stderr, "Error: %s\nRun '" CTL_NAME " --help' for usage.\n", buf_str(&text));
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", buf_str(&text));
        buf_free(&text);
        goto out;
    }
    flag_sets fs = sets_for(cmd);
    if (!flags_parse(&fs, args.items, args.n, &pos, &err)) {
        /* As etcdctl: the error, the usage on stdout, then the error once more. */
        fprintf(stderr, "Error: %s\n", buf_str(&err));
        ctl_usage(cmd, &globals, stdout);
        fputc('\n', stderr);
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", buf_str(&err));
        goto out;
    }
    if (ctl_help_requested(cmd) || !cmd->run) {
        ctl_usage(cmd, &globals, stdout);
        goto out;
    }
    rc = cmd->run(&globals, &pos);
out:
    free(unknown);
    buf_free(&err);
    strlist_free(&pos);
    strlist_free(&args);
    return rc;
}

int main(int argc, char **argv)
{
    /* As etcdctl: ETCDCTL_API picks the API; only v3 exists here. */
    const char *api = getenv("ETCDCTL_API");
    if (api && *api && strcmp(api, "3") != 0) {
        fprintf(stderr, "unsupported API version %s\n", api);
        return 1;
    }
    unsetenv("ETCDCTL_API");
    globals.flags = global_flags;
    strlist_adds(&globals.endpoints, "127.0.0.1:2379");
    int rc = run(argc, argv);
    fflush(stdout);
    strlist_free(&globals.endpoints);
    return rc;
}
