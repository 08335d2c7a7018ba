/*
 * ctl.h - what the parts of etcdcctl share: exit statuses, global settings, the command tree,
 * the connection to the cluster, and output.
 */
#ifndef ETCDCCTL_CTL_H
#define ETCDCCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <etcdc/etcdc.h>

#include "buf.h"
#include "flags.h"

/* The program's name, as it appears in usage and messages. */
#define CTL_NAME "etcdcctl"
/* The etcd API version the command set follows. */
#define CTL_API_VERSION "3.4"

/* Exit statuses, numbered as etcdctl numbers them so scripts can tell failures apart. */
enum {
    CTL_EXIT_SUCCESS = 0,
    CTL_EXIT_ERROR = 1,
    CTL_EXIT_BAD_CONNECTION = 2,
    CTL_EXIT_INVALID_INPUT = 3, /* txn input that does not parse */
    CTL_EXIT_BAD_FEATURE = 4,   /* a valid flag with an unsupported value */
    CTL_EXIT_BAD_ARGS = 128,
};

typedef enum ctl_format {
    CTL_FORMAT_SIMPLE,
    CTL_FORMAT_JSON,
    CTL_FORMAT_FIELDS,
    CTL_FORMAT_PROTOBUF,
    CTL_FORMAT_TABLE
} ctl_format;

/* Settings every command shares (etcdctl's global flags). Durations are in nanoseconds. */
typedef struct ctl_globals {
    ctl_strlist endpoints; /* as given: comma-separated, possibly with spaces */
    int64_t dial_timeout;
    int64_t command_timeout;
    int64_t keepalive_time;
    int64_t keepalive_timeout;
    flag_str write_out;
    bool hex;
    /* Security settings etcdctl has and etcdcctl does not implement yet: they are parsed as
     * etcdctl parses them, and refused when set (see ctl_setup()). */
    flag_str user, password, cert, key, cacert, discovery_srv, discovery_srv_name;
    bool insecure_transport, insecure_skip_tls_verify, insecure_discovery;
    flag_spec *flags;  /* the global flags, bound to the fields above */
    ctl_format format; /* decided by ctl_setup() */
    /* The command line as given, program name included, for watch, which reads it again as
     * etcdctl does. */
    int argc;
    char **argv;
    /* Set by watch: ETCDCTL_WATCH_KEY and ETCDCTL_WATCH_RANGE_END are its own, not unknown. */
    bool watch_env;
} ctl_globals;

typedef struct ctl_command ctl_command;
struct ctl_command {
    const char *name;
    const char *use;        /* usage line after the program name, e.g. "get [options] <key> [range_end]" */
    const char *short_desc;
    const char *long_desc;  /* NULL: none */
    flag_spec *(*flags)(void);                            /* local flags (help included) */
    int (*run)(ctl_globals *g, const ctl_strlist *args); /* NULL: only shows usage */
    ctl_command *const *subs; /* NULL-terminated, or NULL */
    /* etcdctl's own subcommands here, in the order it registers them (NULL-terminated): a word
     * is matched against these, as etcdctl matches it, so that an abbreviation runs only the
     * command etcdctl would run, and suggestions name what etcdctl would name. */
    const char *const *etcdctl_subs;
    ctl_command *parent;
};

extern ctl_command ctl_cmd_root, ctl_cmd_get, ctl_cmd_put, ctl_cmd_del, ctl_cmd_txn, ctl_cmd_compaction,
    ctl_cmd_endpoint, ctl_cmd_endpoint_health, ctl_cmd_version, ctl_cmd_watch, ctl_cmd_lease;

/* Whether the command's help flag was given. */
bool ctl_help_requested(ctl_command *cmd);

/* --- errors.c --- */
/* Prints "Error: <message>" on stderr as etcdctl does and returns `code`, for `return ctl_fail(...)`. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a message of any bytes (user input may hold NULs, which etcdctl prints as they are). */
int ctl_fail_buf(int code, const ctl_buf *msg);
/* "Error: " and the bytes, on stderr, without an exit status (for messages printed twice). */
void ctl_print_error(const ctl_buf *msg);
/* The text etcdctl would print for a failed call (e.g. "context deadline exceeded",
 * "etcdserver: mvcc: required revision has been compacted"). */
void ctl_error_text(etcd_code rc, const etcd_error *err, ctl_buf *out);

/* --- env.c --- */
/* Applies ETCDCTL_<FLAG> environment variables to global flags not given on the command line,
 * warns about unknown ETCDCTL_ variables, and refuses a variable that a flag shadows. Returns 0,
 * or the exit status after printing why. */
int ctl_apply_env(ctl_globals *g);
/* A log line in etcdctl's logger format: "2006-01-02 15:04:05.000000 W | pkg/flags: ...". */
void ctl_log(char level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- connect.c --- */
/* What etcdctl does before it talks to the cluster: environment, then the output format.
 * Returns 0 or an exit status (the error is printed). */
int ctl_setup(ctl_globals *g);

/* A connected client and the time budget of the command. */
typedef struct ctl_session {
    etcd_client *client;
    etcd_kv *kv;
    bool bounded;        /* whether --command-timeout applies */
    int64_t deadline_ms; /* on ctl_now_ms()'s clock, when bounded */
} ctl_session;

int64_t ctl_now_ms(void);
/* Milliseconds from nanoseconds, rounded up (a positive duration never becomes 0). */
int64_t ctl_ns_to_ms(int64_t ns);
/* The endpoints, trimmed and joined with commas, into *out. */
void ctl_endpoints_joined(const ctl_globals *g, ctl_buf *out);
/* How ctl_dial() connects. */
typedef struct ctl_dial_opts {
    int64_t dial_ms;    /* the longest wait for a first connection (with blocking) */
    int64_t request_ms; /* each call's deadline unless it sets its own; 0: none */
    bool nonblocking;   /* return at once; calls wait for a member (as etcdctl's client does) */
} ctl_dial_opts;
/* Connects to `endpoints`. */
etcd_code ctl_dial(const ctl_globals *g, const char *endpoints, const ctl_dial_opts *o, etcd_client **out,
                   etcd_error **err);
/* Connects to the global endpoints. `bounded`: the whole command must finish within
 * --command-timeout, as etcdctl's commands (except txn) do. Returns 0 or an exit status. */
int ctl_connect(ctl_globals *g, bool bounded, ctl_session *s);
/* Connects without waiting for a member, as etcdctl's client does: calls without a deadline (a
 * watch, "lease list") wait until one answers. With `bounded`, every call gets what is left of
 * --command-timeout as its deadline. Returns 0 or an exit status. */
int ctl_connect_lazy(ctl_globals *g, bool bounded, ctl_session *s);
/* Sends an op within the session's budget. Returns 0, or 1 after printing the error. */
int ctl_send(ctl_session *s, etcd_op *op, etcd_response **resp);
void ctl_close(ctl_session *s);
/* Ends the process with rc, output flushed, without freeing the session's client. For commands
 * that used a watch or a keepalive stream: freeing such a client can crash in the library (a
 * stream's end or timer runs after the watcher or lease interface is gone). */
_Noreturn void ctl_leave(int rc);

/* --- output.c, print_simple.c, print_json.c --- */
/* Prints a response in the chosen format. value_only: only values (get --print-value-only).
 * Returns 0, or an exit status when the format cannot show it. */
int ctl_display(const ctl_globals *g, const etcd_response *resp, bool value_only);
void ctl_print_simple(ctl_buf *out, const etcd_response *resp, bool hex, bool value_only);
void ctl_print_json(ctl_buf *out, const etcd_response *resp);
void ctl_print_fields(ctl_buf *out, const etcd_response *resp);
void ctl_print_protobuf(ctl_buf *out, const etcd_response *resp);
/* Writes out to stdout and empties it. */
void ctl_flush_out(ctl_buf *out);

/* Lease responses. id: the lease the command named (revoke answers without it); keys:
 * "timetolive --keys". Returns 0, or an exit status when the format cannot show it. */
int ctl_display_lease(const ctl_globals *g, const etcd_response *resp, int64_t id, bool keys);
void ctl_print_lease_simple(ctl_buf *out, const etcd_response *resp, int64_t id, bool keys);
void ctl_print_lease_json(ctl_buf *out, const etcd_response *resp);
void ctl_print_lease_fields(ctl_buf *out, const etcd_response *resp);
/* false (with etcdctl's error in *err) for a response etcdctl cannot marshal. */
bool ctl_print_lease_protobuf(ctl_buf *out, const etcd_response *resp, ctl_buf *err);
/* Go's %016x of a lease ID. */
void ctl_lease_hex(ctl_buf *out, int64_t id);

/* One watch response as etcdctl prints it: a batch of events (resp), or the server's cancel of
 * the watch (resp NULL), which has a header without a revision and the compact revision. */
typedef struct ctl_watch_view {
    const etcd_response *resp;
    uint64_t cluster_id, member_id, raft_term;
    int64_t revision, compact_revision;
    bool canceled;
} ctl_watch_view;
/* Returns 0, or an exit status when the format cannot show it. */
int ctl_display_watch(const ctl_globals *g, const ctl_watch_view *v, ctl_buf *out);
void ctl_print_watch_simple(ctl_buf *out, const ctl_watch_view *v, bool hex);
void ctl_print_watch_json(ctl_buf *out, const ctl_watch_view *v);
void ctl_print_watch_fields(ctl_buf *out, const ctl_watch_view *v);
void ctl_print_watch_protobuf(ctl_buf *out, const ctl_watch_view *v);

/* One endpoint's health, as etcdctl's "endpoint health" reports it. */
typedef struct ctl_health {
    char *endpoint;
    bool healthy;
    int64_t took_ns;
    char *error; /* NULL when healthy */
} ctl_health;
void ctl_print_health_simple(ctl_buf *err_out, const ctl_health *h, size_t n);
void ctl_print_health_json(ctl_buf *out, const ctl_health *h, size_t n);
void ctl_print_health_fields(ctl_buf *out, const ctl_health *h, size_t n);

/* --- usage.c --- */
/* Prints a command's usage in etcdctl's layout on `out`. */
void ctl_usage(const ctl_command *cmd, const ctl_globals *g, FILE *out);

/* --- the KV commands' request builders, shared with txn --- */

/* Some requests etcd itself rejects cannot be built with the client library (it checks them
 * first); for those the builders leave etcd's error text here, to report once connected. */
typedef struct ctl_request {
    etcd_op *op;
    const char *server_error; /* NULL, or e.g. "etcdserver: key is not provided" */
} ctl_request;

/* What every single-op command does once its request is built: set up, connect (bounded by the
 * command timeout), report an error etcd itself would have given, send. */
int ctl_execute(ctl_globals *g, const ctl_request *req, ctl_session *s, etcd_response **resp);
/* The rest of a single-op command whose output is the plain response: ctl_execute(), print, free
 * the request. build_rc is the builder's result; nothing is sent when it is not 0. */
int ctl_execute_and_display(ctl_globals *g, ctl_request *req, int build_rc);

typedef struct put_opts {
    flag_str lease;
    bool prev_kv, ignore_value, ignore_lease, help;
} put_opts;
typedef struct get_opts {
    flag_str consistency, order, sort_by;
    int64_t limit, rev;
    bool prefix, from_key, keys_only, count_only, print_value_only, help;
} get_opts;
typedef struct del_opts {
    bool prefix, prev_kv, from_key, help;
} del_opts;

/* Bind each command's flags to an options struct; `out` must hold CTL_MAX_FLAGS specs. */
#define CTL_MAX_FLAGS 16
void put_bind_flags(put_opts *o, flag_spec *out);
void get_bind_flags(get_opts *o, flag_spec *out);
void del_bind_flags(del_opts *o, flag_spec *out);
/* Check the arguments and build the request as etcdctl's put/get/del do (put without a value
 * reads the rest of stdin, inside a txn as well). Return 0, or an exit status after printing why. */
int put_build(const put_opts *o, const ctl_strlist *args, ctl_request *req);
int get_build(const get_opts *o, const ctl_strlist *args, ctl_request *req);
int del_build(const del_opts *o, const ctl_strlist *args, ctl_request *req);

/* --- txn_parse.c --- */
/* One compare line ("value(\"k\") = \"v\""), as etcdctl parses it. Returns 0, or an exit
 * status after printing why. A compare on the empty key, which etcd refuses and the library
 * cannot build, leaves *out NULL and etcd's error in *server_error. */
int txn_parse_compare(const char *line, size_t len, etcd_cmp **out, const char **server_error);
/* One request line ("put k v --prev-kv"). Returns 0, or an exit status after printing why. */
int txn_parse_request(const char *line, size_t len, ctl_request *req);
/* Splits a line into words as etcdctl does for txn requests and interactive watch. False when a
 * double-quoted word is not a valid Go string literal. */
bool ctl_argify(const char *s, size_t n, ctl_strlist *words);

#endif /* ETCDCCTL_CTL_H */
