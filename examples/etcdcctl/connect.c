/*
 * connect.c - from global settings to a connected client, and sending ops within the command's
 * time budget.
 *
 * etcdctl (3.4) dials in the background and lets each request wait for a connection until
 * --command-timeout passes; the client library instead connects up front within a dial timeout.
 * To fail the same way, the dial here is bounded by the command's budget too, and running out of
 * time at either step is reported as etcdctl reports it: "context deadline exceeded", status 1.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "gotext.h"

/* grpc-go, which etcdctl uses, never pings more often than this, whatever it is asked. */
#define MIN_KEEPALIVE_NS 10000000000LL
/* Stands in for "no timeout" where the library needs a bound (about 24 days). */
#define NO_TIMEOUT_MS ((int64_t)INT32_MAX)

int64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ctl_ns_to_ms(int64_t ns)
{
    if (ns <= 0)
        return 0;
    return ns / 1000000 + (ns % 1000000 ? 1 : 0);
}

/*
 * Authentication, TLS and DNS discovery are not implemented yet. A script that sets them expects
 * an authenticated, encrypted connection to the cluster it named; going on without them would
 * quietly send its requests unauthenticated and in the clear, or to other endpoints. So any
 * such setting other than its default stops the command before anything is sent.
 */
static int refuse_unimplemented(const ctl_globals *g)
{
    static const struct {
        const char *flag, *what;
    } settings[] = {
        {"user", "authentication"},
        {"password", "authentication"},
        {"cert", "TLS"},
        {"key", "TLS"},
        {"cacert", "TLS"},
        {"insecure-transport", "TLS"},
        {"insecure-skip-tls-verify", "TLS"},
        {"discovery-srv", "DNS discovery"},
        {"discovery-srv-name", "DNS discovery"},
        {"insecure-discovery", "DNS discovery"},
    };
    /* As etcdctl, before anything else: a certificate option given without a file. */
    for (const flag_spec *f = g->flags; f->name; f++) {
        bool file = strcmp(f->name, "cert") == 0 || strcmp(f->name, "key") == 0 || strcmp(f->name, "cacert") == 0;
        if (file && f->changed && ((const flag_str *)f->value)->n == 0)
            return ctl_fail(CTL_EXIT_BAD_ARGS, "empty string is passed to --%s option", f->name);
    }
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const flag_spec *f = g->flags;
        while (f->name && strcmp(f->name, settings[i].flag) != 0)
            f++;
        if (!f->name)
            continue;
        bool set = f->kind == FLAG_BOOL ? *(const bool *)f->value != (strcmp(f->def, "true") == 0)
                                        : ((const flag_str *)f->value)->n != 0;
        if (!set)
            continue;
        /* Name it as the user gave it: the variable, or the flag (a flag and its variable
         * together were refused already). */
        ctl_buf env = {0};
        buf_adds(&env, "ETCDCTL_");
        for (const char *p = f->name; *p; p++)
            buf_addc(&env, *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
        const char *v = getenv(buf_str(&env));
        ctl_buf shown = {0};
        if (v && *v)
            buf_printf(&shown, "%s", buf_str(&env));
        else if (f->kind == FLAG_BOOL)
            buf_printf(&shown, "--%s=%s", f->name, *(const bool *)f->value ? "true" : "false");
        else
            buf_printf(&shown, "--%s", f->name);
        int rc = ctl_fail(CTL_EXIT_BAD_FEATURE, "%s: %s is not supported by " CTL_NAME " (nothing was sent)",
                          buf_str(&shown), settings[i].what);
        buf_free(&env);
        buf_free(&shown);
        return rc;
    }
    return 0;
}

int ctl_setup(ctl_globals *g)
{
    int rc = ctl_apply_env(g);
    if (rc)
        return rc;
    rc = refuse_unimplemented(g);
    if (rc)
        return rc;
    flag_str w = g->write_out;
    if (flag_str_is(w, "simple"))
        g->format = CTL_FORMAT_SIMPLE;
    else if (flag_str_is(w, "json"))
        g->format = CTL_FORMAT_JSON;
    else if (flag_str_is(w, "fields"))
        g->format = CTL_FORMAT_FIELDS;
    else if (flag_str_is(w, "protobuf"))
        g->format = CTL_FORMAT_PROTOBUF;
    else if (flag_str_is(w, "table"))
        g->format = CTL_FORMAT_TABLE;
    else
        return ctl_fail(CTL_EXIT_BAD_FEATURE, "unsupported output format");
    return 0;
}

void ctl_endpoints_joined(const ctl_globals *g, ctl_buf *out)
{
    for (size_t i = 0; i < g->endpoints.n; i++) {
        const char *s = g->endpoints.items[i];
        size_t n = g->endpoints.lens[i];
        go_trim_space(&s, &n); /* as etcdctl trims each endpoint */
        if (i)
            buf_addc(out, ',');
        buf_add(out, s, n);
    }
}

etcd_code ctl_dial(const ctl_globals *g, const char *endpoints, const ctl_dial_opts *o, etcd_client **out,
                   etcd_error **err)
{
    int64_t dial_ms = o->dial_ms;
    *out = NULL;
    etcd_config *cfg = etcd_config_new();
    if (!cfg)
        return ETCD_E_NOMEM;
    etcd_code rc = etcd_config_set_endpoints(cfg, endpoints, err);
    if (rc == ETCD_OK)
        rc = etcd_config_set_dial_timeout_ms(cfg, dial_ms > 0 ? dial_ms : 1);
    if (rc == ETCD_OK) /* KV ops carry their own deadline */
        rc = etcd_config_set_request_timeout_ms(cfg, o->request_ms);
    if (rc == ETCD_OK && o->nonblocking)
        rc = etcd_config_set_dial_blocking(cfg, 0);
    if (rc == ETCD_OK && g->keepalive_time > 0) {
        int64_t t = g->keepalive_time < MIN_KEEPALIVE_NS ? MIN_KEEPALIVE_NS : g->keepalive_time;
        int64_t to = g->keepalive_timeout > 0 ? g->keepalive_timeout : 20000000000LL;
        rc = etcd_config_set_keepalive(cfg, ctl_ns_to_ms(t), ctl_ns_to_ms(to));
    }
    if (rc == ETCD_OK)
        rc = etcd_client_new(cfg, out, err);
    etcd_config_free(cfg);
    return rc;
}

int ctl_connect(ctl_globals *g, bool bounded, ctl_session *s)
{
    memset(s, 0, sizeof *s);
    if (g->endpoints.n == 0)
        return ctl_fail(CTL_EXIT_BAD_CONNECTION, "etcdclient: no available endpoints");
    int64_t start = ctl_now_ms();
    int64_t dial_ms = g->dial_timeout > 0 ? ctl_ns_to_ms(g->dial_timeout) : NO_TIMEOUT_MS;
    s->bounded = bounded;
    if (bounded) {
        if (g->command_timeout <= 0)
            return ctl_fail(CTL_EXIT_ERROR, "context deadline exceeded");
        int64_t budget = ctl_ns_to_ms(g->command_timeout);
        s->deadline_ms = start + budget;
        if (budget < dial_ms)
            dial_ms = budget;
    }
    ctl_buf eps = {0};
    ctl_endpoints_joined(g, &eps);
    etcd_error *err = NULL;
    ctl_dial_opts o = {.dial_ms = dial_ms};
    etcd_code rc = ctl_dial(g, buf_str(&eps), &o, &s->client, &err);
    buf_free(&eps);
    if (rc != ETCD_OK) {
        ctl_buf text = {0};
        ctl_error_text(rc, err, &text);
        /* A dial that ran out of time is the request timing out, as etcdctl sees it. */
        int code = rc == ETCD_E_DEADLINE ? CTL_EXIT_ERROR : CTL_EXIT_BAD_CONNECTION;
        ctl_fail(code, "%s", buf_str(&text));
        buf_free(&text);
        etcd_error_free(err);
        return code;
    }
    s->kv = etcd_client_kv(s->client);
    return 0;
}

int ctl_connect_lazy(ctl_globals *g, bool bounded, ctl_session *s)
{
    memset(s, 0, sizeof *s);
    if (g->endpoints.n == 0)
        return ctl_fail(CTL_EXIT_BAD_CONNECTION, "etcdclient: no available endpoints");
    ctl_dial_opts o = {.dial_ms = NO_TIMEOUT_MS, .nonblocking = true};
    if (bounded) {
        if (g->command_timeout <= 0)
            return ctl_fail(CTL_EXIT_ERROR, "context deadline exceeded");
        o.request_ms = ctl_ns_to_ms(g->command_timeout);
        s->bounded = true;
        s->deadline_ms = ctl_now_ms() + o.request_ms;
    }
    ctl_buf eps = {0};
    ctl_endpoints_joined(g, &eps);
    etcd_error *err = NULL;
    etcd_code rc = ctl_dial(g, buf_str(&eps), &o, &s->client, &err);
    buf_free(&eps);
    if (rc != ETCD_OK) {
        ctl_buf text = {0};
        ctl_error_text(rc, err, &text);
        ctl_fail(CTL_EXIT_BAD_CONNECTION, "%s", buf_str(&text));
        buf_free(&text);
        etcd_error_free(err);
        return CTL_EXIT_BAD_CONNECTION;
    }
    s->kv = etcd_client_kv(s->client);
    return 0;
}

int ctl_send(ctl_session *s, etcd_op *op, etcd_response **resp)
{
    *resp = NULL;
    if (s->bounded) {
        int64_t left = s->deadline_ms - ctl_now_ms();
        if (left <= 0)
            return ctl_fail(CTL_EXIT_ERROR, "context deadline exceeded");
        etcd_op_set_timeout_ms(op, left);
    }
    etcd_error *err = NULL;
    etcd_code rc = etcd_kv_do(s->kv, op, resp, &err);
    if (rc == ETCD_OK)
        return 0;
    ctl_buf text = {0};
    ctl_error_text(rc, err, &text);
    ctl_fail(CTL_EXIT_ERROR, "%s", buf_str(&text));
    buf_free(&text);
    etcd_error_free(err);
    return CTL_EXIT_ERROR;
}

_Noreturn void ctl_leave(int rc)
{
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
}

void ctl_close(ctl_session *s)
{
    etcd_client_free(s->client);
    s->client = NULL;
    s->kv = NULL;
}

int ctl_execute(ctl_globals *g, const ctl_request *req, ctl_session *s, etcd_response **resp)
{
    int rc = ctl_setup(g);
    if (rc == 0)
        rc = ctl_connect(g, true, s);
    if (rc == 0 && req->server_error)
        rc = ctl_fail(CTL_EXIT_ERROR, "%s", req->server_error);
    if (rc == 0)
        rc = ctl_send(s, req->op, resp);
    return rc;
}

int ctl_execute_and_display(ctl_globals *g, ctl_request *req, int build_rc)
{
    ctl_session s = {0};
    etcd_response *resp = NULL;
    int rc = build_rc;
    if (rc == 0)
        rc = ctl_execute(g, req, &s, &resp);
    if (rc == 0)
        rc = ctl_display(g, resp, false);
    etcd_response_free(resp);
    ctl_close(&s);
    etcd_op_free(req->op);
    return rc;
}
