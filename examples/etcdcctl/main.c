/*
 * main.c - etcdcctl: an etcdctl-compatible command-line client for etcd's v3 API.
 *
 * The command line is read as etcdctl's command library reads it: global flags anywhere, the
 * command found by its name (or a prefix only it has among etcdctl's commands) among the words
 * that are not flags,
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
    .write_out = FLAG_STR("simple"),
    .user = FLAG_STR(""),
    .password = FLAG_STR(""),
    .cert = FLAG_STR(""),
    .key = FLAG_STR(""),
    .cacert = FLAG_STR(""),
    .discovery_srv = FLAG_STR(""),
    .discovery_srv_name = FLAG_STR(""),
    .insecure_transport = true,
    .insecure_discovery = true,
};

static flag_spec global_flags[] = {
    {"cacert", 0, FLAG_STRING, "", "verify certificates of TLS-enabled secure servers using this CA bundle",
     &globals.cacert, false},
    {"cert", 0, FLAG_STRING, "", "identify secure client using this TLS certificate file", &globals.cert, false},
    {"command-timeout", 0, FLAG_DURATION, "5s", "timeout for short running command (excluding dial timeout)",
     &globals.command_timeout, false},
    {"dial-timeout", 0, FLAG_DURATION, "2s", "dial timeout for client connections", &globals.dial_timeout, false},
    {"discovery-srv", 'd', FLAG_STRING, "", "domain name to query for SRV records describing cluster endpoints",
     &globals.discovery_srv, false},
    {"discovery-srv-name", 0, FLAG_STRING, "", "service name to query when using DNS discovery",
     &globals.discovery_srv_name, false},
    {"endpoints", 0, FLAG_STRINGS, "[127.0.0.1:2379]", "gRPC endpoints", &globals.endpoints, false},
    {"hex", 0, FLAG_BOOL, "false", "print byte strings as hex encoded strings", &globals.hex, false},
    {"insecure-discovery", 0, FLAG_BOOL, "true", "accept insecure SRV records describing cluster endpoints",
     &globals.insecure_discovery, false},
    {"insecure-skip-tls-verify", 0, FLAG_BOOL, "false",
     "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)",
     &globals.insecure_skip_tls_verify, false},
    {"insecure-transport", 0, FLAG_BOOL, "true", "disable transport security for client connections",
     &globals.insecure_transport, false},
    {"keepalive-time", 0, FLAG_DURATION, "2s", "keepalive time for client connections", &globals.keepalive_time,
     false},
    {"keepalive-timeout", 0, FLAG_DURATION, "6s", "keepalive timeout for client connections",
     &globals.keepalive_timeout, false},
    {"key", 0, FLAG_STRING, "", "identify secure client using this TLS key file", &globals.key, false},
    {"password", 0, FLAG_STRING, "",
     "password for authentication (if this option is used, --user option shouldn't include password)",
     &globals.password, false},
    {"user", 0, FLAG_STRING, "", "username[:password] for authentication (prompt if password is not supplied)",
     &globals.user, false},
    {"write-out", 'w', FLAG_STRING, "simple", "set the output format (fields, json, protobuf, simple, table)", &globals.write_out, false},
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
    &ctl_cmd_compaction, &ctl_cmd_del, &ctl_cmd_endpoint, &ctl_cmd_get,   &ctl_cmd_help,
    &ctl_cmd_lease,      &ctl_cmd_put, &ctl_cmd_txn,      &ctl_cmd_version, &ctl_cmd_watch, NULL,
};

/* etcdctl 3.4.23's commands, in the order it registers them; its command library adds help and
 * completion last. */
static const char *const etcdctl_root_subs[] = {
    "get",         "put",   "del",     "txn",   "compaction", "alarm",    "defrag",      "endpoint",
    "move-leader", "watch", "version", "lease", "member",     "snapshot", "make-mirror", "migrate",
    "lock",        "elect", "auth",    "user",  "role",       "check",    "help",        "completion",
    NULL,
};

ctl_command ctl_cmd_root = {
    .name = CTL_NAME,
    .use = CTL_NAME,
    .short_desc = "An etcdctl-compatible command line client for etcd3.",
    .flags = root_flags,
    .subs = root_subs,
    .etcdctl_subs = etcdctl_root_subs,
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

/* How a word on the command line resolved against a command's subcommands. */
typedef enum lookup {
    LOOKUP_FOUND,       /* a command of ours */
    LOOKUP_UNKNOWN,     /* etcdctl has no such command either (or the abbreviation is ambiguous) */
    LOOKUP_UNSUPPORTED, /* an etcdctl command that is not implemented here */
} lookup;

static ctl_command *sub_named(ctl_command *cmd, const char *name)
{
    for (ctl_command *const *s = cmd->subs; s && *s; s++)
        if (strcmp((*s)->name, name) == 0)
            return *s;
    return NULL;
}

/*
 * The subcommand a word names, as etcdctl's command library finds it: by exact name, or by a
 * prefix that only one of etcdctl's subcommands has. Matching against etcdctl's list (not only
 * ours) means an abbreviation never runs a command etcdctl would not run: "d" is ambiguous
 * (del, defrag) and "comp" too (compaction, completion). *upstream gets etcdctl's name.
 */
static lookup find_next(ctl_command *cmd, const char *word, ctl_command **out, const char **upstream)
{
    *out = NULL;
    *upstream = NULL;
    size_t len = strlen(word), matches = 0;
    const char *match = NULL;
    for (const char *const *n = cmd->etcdctl_subs; n && *n; n++) {
        if (strcmp(*n, word) == 0) {
            match = *n;
            matches = 1;
            break;
        }
        if (strncmp(*n, word, len) == 0) {
            match = *n;
            matches++;
        }
    }
    if (matches != 1)
        return LOOKUP_UNKNOWN;
    *upstream = match;
    *out = sub_named(cmd, match);
    return *out ? LOOKUP_FOUND : LOOKUP_UNSUPPORTED;
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

/* Where the walk down the command tree stopped, when it found no command to run. */
typedef struct lookup_failure {
    lookup kind;
    ctl_command *at; /* the command whose subcommand was not found */
    char *word;      /* as typed */
    const char *upstream;
} lookup_failure;

/* Walks down the command tree; *args loses the command names found. Returns NULL with *fail
 * filled when a word names no command of ours. */
static ctl_command *find_command(ctl_strlist *args, lookup_failure *fail)
{
    ctl_command *cmd = &ctl_cmd_root;
    memset(fail, 0, sizeof *fail);
    for (;;) {
        if (!cmd->subs)
            return cmd;
        flag_sets fs = sets_for(cmd);
        ctl_strlist words = {0};
        strip_flags(&fs, args->items, args->n, &words);
        if (words.n == 0) {
            strlist_free(&words);
            return cmd;
        }
        ctl_command *next;
        const char *upstream;
        lookup k = find_next(cmd, words.items[0], &next, &upstream);
        if (k != LOOKUP_FOUND) {
            *fail = (lookup_failure){k, cmd, ctl_xstrdup(words.items[0]), upstream};
            strlist_free(&words);
            return NULL;
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

/* "unknown command "x" for "etcdcctl"", with the commands etcdctl would suggest (its own
 * commands, in its order, help left out). */
static void unknown_command_text(const lookup_failure *f, ctl_buf *out)
{
    buf_adds(out, "unknown command ");
    go_quote(out, f->word, strlen(f->word));
    if (f->at == &ctl_cmd_root)
        buf_adds(out, " for \"" CTL_NAME "\"");
    else
        buf_printf(out, " for \"" CTL_NAME " %s\"", f->at->name);
    bool any = false;
    size_t len = strlen(f->word);
    for (const char *const *n = f->at->etcdctl_subs; n && *n; n++) {
        if (strcmp(*n, "help") == 0)
            continue;
        bool prefix = strlen(*n) >= len && strncasecmp(*n, f->word, len) == 0;
        if (prefix || levenshtein(f->word, *n) <= 2) {
            if (!any)
                buf_adds(out, "\n\nDid you mean this?\n");
            any = true;
            buf_printf(out, "\t%s\n", *n);
        }
    }
}

/* Prints why no command runs; returns the exit status. */
static int report_lookup_failure(const lookup_failure *f)
{
    if (f->kind == LOOKUP_UNSUPPORTED) {
        if (f->at == &ctl_cmd_root)
            return ctl_fail(CTL_EXIT_ERROR, "etcdctl's \"%s\" command is not implemented in " CTL_NAME, f->upstream);
        return ctl_fail(CTL_EXIT_ERROR, "etcdctl's \"%s %s\" command is not implemented in " CTL_NAME,
                        f->at->name, f->upstream);
    }
    ctl_buf text = {0};
    unknown_command_text(f, &text);
    int rc;
    if (f->at == &ctl_cmd_root) {
        /* As etcdctl: its command library prints the error with a hint, then etcdctl once more. */
        fprintf(stderr, "Error: %s\nRun '" CTL_NAME " --help' for usage.\n", buf_str(&text));
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", buf_str(&text));
    } else {
        /* etcdctl shows the usage and succeeds here, which a script cannot tell from success. */
        fprintf(stderr, "Error: %s\nRun '" CTL_NAME " %s --help' for usage.\n", buf_str(&text), f->at->name);
        rc = CTL_EXIT_ERROR;
    }
    buf_free(&text);
    return rc;
}

static int run_help(ctl_globals *g, const ctl_strlist *args)
{
    ctl_strlist rest = {0};
    for (size_t i = 0; i < args->n; i++)
        strlist_adds(&rest, args->items[i]);
    lookup_failure fail;
    ctl_command *cmd = find_command(&rest, &fail);
    if (!cmd) {
        fputs("Unknown help topic [", stderr);
        for (size_t i = 0; i < args->n; i++)
            fprintf(stderr, "%s`%s`", i ? " " : "", args->items[i]);
        fputs("]\n", stderr);
        cmd = &ctl_cmd_root;
    }
    ctl_usage(cmd, g, stdout);
    free(fail.word);
    strlist_free(&rest);
    return 0;
}

static int run(int argc, char **argv)
{
    ctl_strlist args = {0}, pos = {0};
    ctl_buf err = {0};
    lookup_failure fail;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        strlist_adds(&args, argv[i]);

    ctl_command *cmd = find_command(&args, &fail);
    if (!cmd) {
        rc = report_lookup_failure(&fail);
        goto out;
    }
    flag_sets fs = sets_for(cmd);
    if (!flags_parse(&fs, args.items, args.lens, args.n, &pos, &err)) {
        /* As etcdctl: the error, the usage on stdout, then the error once more. */
        ctl_print_error(&err);
        ctl_usage(cmd, &globals, stdout);
        fputc('\n', stderr);
        rc = ctl_fail_buf(CTL_EXIT_ERROR, &err);
        goto out;
    }
    if (ctl_help_requested(cmd) || !cmd->run) {
        ctl_usage(cmd, &globals, stdout);
        goto out;
    }
    rc = cmd->run(&globals, &pos);
out:
    free(fail.word);
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
    globals.argc = argc;
    globals.argv = argv;
    strlist_adds(&globals.endpoints, "127.0.0.1:2379");
    int rc = run(argc, argv);
    fflush(stdout);
    strlist_free(&globals.endpoints);
    return rc;
}
