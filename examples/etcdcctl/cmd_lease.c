/*
 * cmd_lease.c - "lease grant TTL", "lease revoke ID", "lease timetolive ID [--keys]",
 * "lease list", "lease keep-alive [--once] ID". IDs are hexadecimal, as etcdctl prints them.
 *
 * As etcdctl: grant and revoke are bounded by --command-timeout; the others wait as long as it
 * takes (for a member to answer, or, keep-alive, until the lease is gone).
 */
#include <pthread.h>
#include <string.h>

#include "ctl.h"
#include "gotext.h"

static bool lease_help, grant_help, revoke_help, ttl_help, ttl_keys, list_help, ka_help, ka_once;

#define HELP_FLAGS(fn, var, text)                                                                                  \
    static flag_spec *fn(void)                                                                                     \
    {                                                                                                              \
        static flag_spec f[] = {                                                                                   \
            {"help", 'h', FLAG_BOOL, "false", text, &var, false},                                                  \
            {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},                                                         \
        };                                                                                                         \
        return f;                                                                                                  \
    }

HELP_FLAGS(lease_flags, lease_help, "help for lease")
HELP_FLAGS(grant_flags, grant_help, "help for grant")
HELP_FLAGS(revoke_flags, revoke_help, "help for revoke")
HELP_FLAGS(list_flags, list_help, "help for list")

static flag_spec *ttl_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for timetolive", &ttl_help, false},
        {"keys", 0, FLAG_BOOL, "false", "Get keys attached to this lease", &ttl_keys, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

static flag_spec *ka_flags(void)
{
    static flag_spec f[] = {
        {"help", 'h', FLAG_BOOL, "false", "help for keep-alive", &ka_help, false},
        {"once", 0, FLAG_BOOL, "false", "Resets the keep-alive time to its original value and exits immediately",
         &ka_once, false},
        {NULL, 0, FLAG_BOOL, NULL, NULL, NULL, false},
    };
    return f;
}

/* A lease ID argument, hexadecimal as etcdctl reads it. Returns 0, or an exit status after
 * printing why. */
static int lease_arg(const ctl_strlist *args, int64_t *id)
{
    ctl_buf why = {0};
    if (go_parse_int(args->items[0], args->lens[0], 16, id, &why)) {
        buf_free(&why);
        return 0;
    }
    ctl_buf msg = {0};
    buf_adds(&msg, "bad lease ID arg (");
    buf_add(&msg, why.data, why.len);
    buf_adds(&msg, "), expecting ID in Hex");
    int rc = ctl_fail_buf(CTL_EXIT_BAD_ARGS, &msg);
    buf_free(&msg);
    buf_free(&why);
    return rc;
}

/* Prints a failed call as etcdctl does: "Error: <pre><error text><post>". */
static int call_failed(int code, const char *pre, etcd_code rc, etcd_error *err, const char *post)
{
    ctl_buf text = {0};
    ctl_error_text(rc, err, &text);
    ctl_fail(code, "%s%s%s", pre, buf_str(&text), post);
    buf_free(&text);
    etcd_error_free(err);
    return code;
}

static int open_session(ctl_globals *g, bool bounded, ctl_session *s)
{
    int rc = ctl_setup(g);
    if (rc == 0)
        rc = ctl_connect_lazy(g, bounded, s);
    return rc;
}

static int run_grant(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "lease grant command needs TTL argument");
    int64_t ttl;
    ctl_buf why = {0};
    if (!go_parse_int(args->items[0], args->lens[0], 10, &ttl, &why)) {
        ctl_buf msg = {0};
        buf_adds(&msg, "bad TTL (");
        buf_add(&msg, why.data, why.len);
        buf_addc(&msg, ')');
        int rc = ctl_fail_buf(CTL_EXIT_BAD_ARGS, &msg);
        buf_free(&msg);
        buf_free(&why);
        return rc;
    }
    buf_free(&why);
    ctl_session s;
    int rc = open_session(g, true, &s);
    if (rc)
        return rc;
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    /* etcd takes a TTL of 0 or less as its minimum; the library only sends positive ones. */
    etcd_code c = etcd_lease_grant(etcd_client_lease(s.client), ttl > 0 ? ttl : 1, 0, &resp, &err);
    if (c != ETCD_OK)
        rc = call_failed(CTL_EXIT_ERROR, "failed to grant lease (", c, err, ")");
    else
        rc = ctl_display_lease(g, resp, 0, false);
    etcd_response_free(resp);
    ctl_close(&s);
    return rc;
}

static int run_revoke(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "lease revoke command needs 1 argument");
    int64_t id;
    int rc = lease_arg(args, &id);
    ctl_session s = {0};
    if (rc == 0)
        rc = open_session(g, true, &s);
    if (rc)
        return rc;
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    etcd_code c = etcd_lease_revoke(etcd_client_lease(s.client), id, &resp, &err);
    if (c != ETCD_OK)
        rc = call_failed(CTL_EXIT_ERROR, "failed to revoke lease (", c, err, ")");
    else
        rc = ctl_display_lease(g, resp, id, false);
    etcd_response_free(resp);
    ctl_close(&s);
    return rc;
}

static int run_timetolive(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "lease timetolive command needs lease ID as argument");
    int64_t id;
    int rc = lease_arg(args, &id);
    ctl_session s = {0};
    if (rc == 0)
        rc = open_session(g, false, &s);
    if (rc)
        return rc;
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    etcd_code c = etcd_lease_time_to_live(etcd_client_lease(s.client), id, ttl_keys, &resp, &err);
    if (c != ETCD_OK)
        rc = call_failed(CTL_EXIT_BAD_CONNECTION, "", c, err, "");
    else
        rc = ctl_display_lease(g, resp, id, ttl_keys);
    etcd_response_free(resp);
    ctl_close(&s);
    return rc;
}

static int run_list(ctl_globals *g, const ctl_strlist *args)
{
    (void)args; /* as etcdctl: arguments are ignored */
    ctl_session s;
    int rc = open_session(g, false, &s);
    if (rc)
        return rc;
    etcd_response *resp = NULL;
    etcd_error *err = NULL;
    etcd_code c = etcd_lease_leases(etcd_client_lease(s.client), &resp, &err);
    if (c != ETCD_OK)
        rc = call_failed(CTL_EXIT_BAD_CONNECTION, "", c, err, "");
    else
        rc = ctl_display_lease(g, resp, 0, false);
    etcd_response_free(resp);
    ctl_close(&s);
    return rc;
}

/* A keepalive's renewals are printed from the client's thread; the command waits for its end. */
typedef struct keeper {
    const ctl_globals *g;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ended;                 /* nothing more to print */
    bool final;                 /* the keepalive's last callback ran: k may go */
    int rc;
} keeper;

static void on_keepalive(etcd_call *call, etcd_code code, etcd_response *resp, etcd_error *err, void *user_data)
{
    (void)call;
    keeper *k = user_data;
    pthread_mutex_lock(&k->mu);
    if (resp && !k->ended) {
        int rc = ctl_display_lease(k->g, resp, 0, false);
        if (rc) { /* as etcdctl, whose printer exits */
            k->rc = rc;
            k->ended = true;
        }
    } else if (!resp) {
        (void)code;
        k->ended = true;
        k->final = true;
    }
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    etcd_response_free(resp);
    etcd_error_free(err);
}

static int keep_alive(ctl_globals *g, ctl_session *s, int64_t id)
{
    keeper k = {.g = g, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    etcd_call *call = NULL;
    etcd_error *err = NULL;
    etcd_code c = etcd_lease_keep_alive(etcd_client_lease(s->client), id, 1, on_keepalive, &k, &call, &err);
    if (c != ETCD_OK)
        return call_failed(CTL_EXIT_BAD_CONNECTION, "", c, err, "");
    pthread_mutex_lock(&k.mu);
    while (!k.ended)
        pthread_cond_wait(&k.cv, &k.mu);
    int rc = k.rc;
    pthread_mutex_unlock(&k.mu);
    /* The callbacks use k: wait for the last one before k goes out of scope. */
    etcd_call_cancel(call);
    pthread_mutex_lock(&k.mu);
    while (!k.final)
        pthread_cond_wait(&k.cv, &k.mu);
    pthread_mutex_unlock(&k.mu);
    etcd_call_release(call);
    /* Lost or gone alike: etcdctl's channel closes, and only its simple output says so. */
    if (rc == 0 && g->format == CTL_FORMAT_SIMPLE) {
        ctl_buf out = {0};
        buf_adds(&out, "lease ");
        ctl_lease_hex(&out, id);
        buf_adds(&out, " expired or revoked.\n");
        ctl_flush_out(&out);
        buf_free(&out);
    }
    return rc;
}

static int run_keep_alive(ctl_globals *g, const ctl_strlist *args)
{
    if (args->n != 1)
        return ctl_fail(CTL_EXIT_BAD_ARGS, "lease keep-alive command needs lease ID as argument");
    int64_t id;
    int rc = lease_arg(args, &id);
    ctl_session s = {0};
    if (rc == 0)
        rc = open_session(g, false, &s);
    if (rc)
        return rc;
    if (ka_once) {
        etcd_response *resp = NULL;
        etcd_error *err = NULL;
        etcd_code c = etcd_lease_keep_alive_once(etcd_client_lease(s.client), id, &resp, &err);
        if (c != ETCD_OK)
            rc = call_failed(CTL_EXIT_BAD_CONNECTION, "", c, err, "");
        else
            rc = ctl_display_lease(g, resp, id, false);
        etcd_response_free(resp);
    } else {
        rc = keep_alive(g, &s, id);
    }
    ctl_close(&s);
    return rc;
}

ctl_command ctl_cmd_lease_grant = {
    .name = "grant",
    .use = "grant <ttl>",
    .short_desc = "Creates leases",
    .flags = grant_flags,
    .run = run_grant,
    .parent = &ctl_cmd_lease,
};

ctl_command ctl_cmd_lease_revoke = {
    .name = "revoke",
    .use = "revoke <leaseID>",
    .short_desc = "Revokes leases",
    .flags = revoke_flags,
    .run = run_revoke,
    .parent = &ctl_cmd_lease,
};

ctl_command ctl_cmd_lease_timetolive = {
    .name = "timetolive",
    .use = "timetolive <leaseID> [options]",
    .short_desc = "Get lease information",
    .flags = ttl_flags,
    .run = run_timetolive,
    .parent = &ctl_cmd_lease,
};

ctl_command ctl_cmd_lease_list = {
    .name = "list",
    .use = "list",
    .short_desc = "List all active leases",
    .flags = list_flags,
    .run = run_list,
    .parent = &ctl_cmd_lease,
};

ctl_command ctl_cmd_lease_keep_alive = {
    .name = "keep-alive",
    .use = "keep-alive [options] <leaseID>",
    .short_desc = "Keeps leases alive (renew)",
    .flags = ka_flags,
    .run = run_keep_alive,
    .parent = &ctl_cmd_lease,
};

/* Sorted by name, as etcdctl lists them. */
static ctl_command *const lease_subs[] = {
    &ctl_cmd_lease_grant, &ctl_cmd_lease_keep_alive, &ctl_cmd_lease_list, &ctl_cmd_lease_revoke,
    &ctl_cmd_lease_timetolive, NULL,
};
/* In the order etcdctl registers them. */
static const char *const etcdctl_lease_subs[] = {"grant", "revoke", "timetolive", "list", "keep-alive", NULL};

ctl_command ctl_cmd_lease = {
    .name = "lease",
    .use = "lease <subcommand>",
    .short_desc = "Lease related commands",
    .flags = lease_flags,
    .subs = lease_subs,
    .etcdctl_subs = etcdctl_lease_subs,
    .parent = &ctl_cmd_root,
};
