/*
 * usage.c - command usage in etcdctl's layout: NAME, USAGE, (VERSION, API VERSION, COMMANDS),
 * DESCRIPTION, OPTIONS and GLOBAL OPTIONS, with flags listed by name as
 * "  -w, --write-out=\"simple\"<TAB>usage", aligned by tabwriter.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"
#include "tabwriter.h"

static int by_name(const void *a, const void *b)
{
    const flag_spec *x = *(const flag_spec *const *)a, *y = *(const flag_spec *const *)b;
    return strcmp(x->name, y->name);
}

static void flag_lines(ctl_buf *t, flag_spec *const *sets, size_t nsets)
{
    const flag_spec *list[64];
    size_t n = 0;
    for (size_t i = 0; i < nsets; i++)
        for (const flag_spec *f = sets[i]; f && f->name && n < 64; f++)
            list[n++] = f;
    qsort(list, n, sizeof *list, by_name);
    for (size_t i = 0; i < n; i++) {
        const flag_spec *f = list[i];
        if (f->shorthand)
            buf_printf(t, "  -%c, --%s", f->shorthand, f->name);
        else
            buf_printf(t, "      --%s", f->name);
        if (f->kind == FLAG_BOOL) {
            buf_printf(t, "[=%s]", f->def);
        } else if (f->kind == FLAG_STRING) {
            buf_addc(t, '=');
            go_quote(t, f->def, strlen(f->def));
        } else {
            buf_printf(t, "=%s", f->def);
        }
        buf_printf(t, "\t%s\n", f->usage);
    }
}

/* The command's path below `from`, e.g. "endpoint health". */
static void path_below(ctl_buf *t, const ctl_command *cmd, const ctl_command *from)
{
    if (cmd->parent && cmd->parent != from) {
        path_below(t, cmd->parent, from);
        buf_addc(t, ' ');
    }
    buf_adds(t, cmd->name);
}

/* The full path from the program name, e.g. "etcdcctl endpoint". */
static void full_path(ctl_buf *t, const ctl_command *cmd)
{
    if (cmd->parent) {
        full_path(t, cmd->parent);
        buf_addc(t, ' ');
    }
    buf_adds(t, cmd->name);
}

static void list_commands(ctl_buf *t, const ctl_command *cmd, const ctl_command *from)
{
    for (ctl_command *const *s = cmd->subs; s && *s; s++) {
        if ((*s)->run) {
            buf_addc(t, '\t');
            path_below(t, *s, from);
            buf_printf(t, "\t%s\n", (*s)->short_desc);
        }
        list_commands(t, *s, from);
    }
}

void ctl_usage(const ctl_command *cmd, const ctl_globals *g, FILE *out)
{
    ctl_buf t = {0};
    bool has_subs = cmd->subs && cmd->subs[0];
    buf_adds(&t, "NAME:\n\t");
    if (cmd->parent)
        path_below(&t, cmd, &ctl_cmd_root);
    else
        buf_adds(&t, cmd->name);
    buf_printf(&t, " - %s\n\nUSAGE:\n\t", cmd->short_desc);
    if (cmd->parent) {
        full_path(&t, cmd->parent);
        buf_addc(&t, ' ');
    }
    buf_printf(&t, "%s [flags]\n", cmd->use);
    if (!cmd->parent)
        buf_printf(&t, "\nVERSION:\n\t%s\n", etcd_version());
    if (has_subs) {
        buf_printf(&t, "\nAPI VERSION:\n\t%s\n", CTL_API_VERSION);
        buf_adds(&t, "\n\nCOMMANDS:\n");
        list_commands(&t, cmd, cmd);
    }
    if (cmd->long_desc) {
        buf_adds(&t, "\nDESCRIPTION:\n");
        const char *s = cmd->long_desc, *e = s + strlen(s);
        while (s < e && (*s == '\n' || *s == '\t' || *s == ' '))
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\t' || e[-1] == ' '))
            e--;
        while (s < e) {
            const char *nl = memchr(s, '\n', (size_t)(e - s));
            if (!nl)
                nl = e;
            buf_printf(&t, "\t%.*s\n", (int)(nl - s), s);
            s = nl + 1;
        }
    }
    flag_spec *local = cmd->flags ? cmd->flags() : NULL;
    if (!cmd->parent) {
        flag_spec *both[] = {local, g->flags};
        buf_adds(&t, "\nOPTIONS:\n");
        flag_lines(&t, both, 2);
    } else {
        if (local && local->name) {
            buf_adds(&t, "\nOPTIONS:\n");
            flag_lines(&t, &local, 1);
        }
        buf_adds(&t, "\nGLOBAL OPTIONS:\n");
        flag_lines(&t, &g->flags, 1);
    }
    buf_addc(&t, '\n');
    tabwriter_write(out, buf_str(&t), t.len);
    fflush(out);
    buf_free(&t);
}
