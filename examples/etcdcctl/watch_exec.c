/*
 * watch_exec.c - "watch KEY -- CMD ARGS": runs CMD once per event, as etcdctl does, with the
 * event in its environment (ETCD_WATCH_REVISION, ETCD_WATCH_EVENT_TYPE, ETCD_WATCH_KEY,
 * ETCD_WATCH_VALUE, the last three quoted as Go's %q quotes them), and fails as Go's os/exec
 * fails: the same words for a command not found, not startable, or exiting badly.
 *
 * The command is started with posix_spawn: the client's threads are running, and fork() is
 * not safe with them.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "gotext.h"
#include "watch_exec.h"

extern char **environ;

/* Go's error words are lower case where the C library's start with a capital. */
static void lower_first(ctl_buf *out, const char *s)
{
    if (*s) {
        buf_addc(out, (char)tolower((unsigned char)*s));
        buf_adds(out, s + 1);
    }
}

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111) != 0;
}

/* exec.LookPath for a name without a slash: the first executable file of that name in $PATH
 * (an empty entry is the current directory). */
static char *look_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "";
    for (;;) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        ctl_buf full = {0};
        if (n == 0)
            buf_adds(&full, ".");
        else
            buf_add(&full, path, n);
        buf_printf(&full, "/%s", name);
        if (executable(buf_str(&full)))
            return full.data;
        buf_free(&full);
        if (!colon)
            return NULL;
        path = colon + 1;
    }
}

static bool is_event_var(const char *e)
{
    static const char *const names[] = {"ETCD_WATCH_REVISION=", "ETCD_WATCH_EVENT_TYPE=", "ETCD_WATCH_KEY=",
                                        "ETCD_WATCH_VALUE="};
    for (size_t i = 0; i < 4; i++)
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

static char *quoted_var(const char *name, const uint8_t *p, size_t n)
{
    ctl_buf b = {0};
    buf_printf(&b, "%s=", name);
    go_quote(&b, p, n);
    return b.data;
}

/* Runs the command for one event; false with Go's error text in *why. */
static bool run_one(const ctl_strlist *cmd, int64_t revision, const etcd_event *ev, ctl_buf *why)
{
    const char *name = cmd->items[0];
    char *path = strchr(name, '/') ? ctl_xstrdup(name) : look_path(name);
    if (!path) {
        buf_adds(why, "exec: ");
        go_quote(why, name, strlen(name));
        buf_adds(why, ": executable file not found in $PATH");
        return false;
    }
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = ctl_xcalloc(n + 5, sizeof *env);
    size_t k = 0;
    /* Go's os/exec keeps the last of duplicate variables: these four are the event's. */
    for (size_t i = 0; i < n; i++)
        if (!is_event_var(environ[i]))
            env[k++] = environ[i];
    size_t first_own = k;
    ctl_buf rev = {0};
    buf_printf(&rev, "ETCD_WATCH_REVISION=%lld", (long long)revision);
    env[k++] = rev.data;
    const char *type = etcd_event_get_type(ev) == ETCD_EVENT_DELETE ? "DELETE" : "PUT";
    env[k++] = quoted_var("ETCD_WATCH_EVENT_TYPE", (const uint8_t *)type, strlen(type));
    size_t klen, vlen;
    const etcd_keyvalue *kv = etcd_event_kv(ev);
    const uint8_t *key = etcd_keyvalue_key(kv, &klen);
    const uint8_t *val = etcd_keyvalue_value(kv, &vlen);
    env[k++] = quoted_var("ETCD_WATCH_KEY", key, klen);
    env[k++] = quoted_var("ETCD_WATCH_VALUE", val, vlen);
    env[k] = NULL;

    char **argv = ctl_xcalloc(cmd->n + 1, sizeof *argv);
    for (size_t i = 0; i < cmd->n; i++)
        argv[i] = cmd->items[i];
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int err = posix_spawn(&pid, path, NULL, NULL, argv, env);
    bool ok = err == 0;
    if (!ok) {
        buf_printf(why, "fork/exec %s: ", path);
        lower_first(why, strerror(err));
    } else {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            buf_printf(why, "exit status %d", WEXITSTATUS(status));
            ok = false;
        } else if (WIFSIGNALED(status)) {
            buf_adds(why, "signal: ");
            lower_first(why, strsignal(WTERMSIG(status)));
            ok = false;
        }
    }
    for (size_t i = first_own; i < k; i++)
        free(env[i]);
    free(env);
    free(argv);
    free(path);
    return ok;
}

void watch_exec_events(const ctl_strlist *cmd, const etcd_response *resp)
{
    for (size_t i = 0; i < etcd_watch_response_event_count(resp); i++) {
        ctl_buf why = {0};
        if (run_one(cmd, etcd_response_revision(resp), etcd_watch_response_event_at(resp, i), &why))
            continue;
        /* As etcdctl: `command ["echo" "x"] error (exit status 1)`, and the watch is over. */
        ctl_buf msg = {0};
        buf_adds(&msg, "command [");
        for (size_t j = 0; j < cmd->n; j++) {
            if (j)
                buf_addc(&msg, ' ');
            go_quote(&msg, cmd->items[j], cmd->lens[j]);
        }
        buf_printf(&msg, "] error (%s)\n", buf_str(&why));
        fflush(stdout);
        buf_write(&msg, stderr);
        fflush(stderr);
        _exit(CTL_EXIT_ERROR);
    }
}
