/*
 * etcd_harness.c - start and stop real etcd processes for integration tests.
 * See etcd_harness.h for the interface.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "etcd_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EH_ETCD_DEFAULT "/usr/bin/etcd"
#define EH_ETCDCTL_DEFAULT "/usr/bin/etcdctl"

enum {
    POLL_INTERVAL_MS = 20,
    PROBE_TIMEOUT_MS = 2000, /* etcd's /health does a raft read with a 1 s timeout */
    STOP_GRACE_MS = 5000,
    ETCDCTL_TIMEOUT_MS = 60000,
    START_ATTEMPTS = 3,
    LOG_TAIL_BYTES = 1536,
};

/* wait_members() results */
enum { WAIT_OK = 0, WAIT_FAIL = -1, WAIT_PORT_IN_USE = -2 };

typedef struct eh_member {
    char name[16];
    char endpoint[32]; /* "127.0.0.1:C" */
    int client_port;
    int peer_port;
    char *data_dir;
    char *log_path;
    char **argv;     /* etcd command line, built once and reused on restart */
    pid_t pid;       /* -1 when not running */
    int wait_status; /* status of the last reaped process */
} eh_member;

struct eh_cluster {
    int n;
    eh_member *m;
    char *dir;       /* mkdtemp directory holding data dirs and logs */
    char *endpoints; /* "127.0.0.1:C0,127.0.0.1:C1,..." */
    pid_t owner;     /* process that started the cluster */
    bool files_removed;
    eh_cluster *next; /* process-wide registry */
    char err[4096];
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int remaining_ms(int64_t deadline)
{
    int64_t r = deadline - now_ms();
    return r < 0 ? 0 : r > INT32_MAX ? INT32_MAX : (int)r;
}

static void seterr(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Growable NULL-terminated vector of owned strings. */
typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} strv;

static void strv_push(strv *s, char *str)
{
    if (!str) {
        s->oom = true;
        return;
    }
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(str);
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static const char *etcd_bin(void)
{
    const char *p = getenv("EH_ETCD");
    return p && *p ? p : EH_ETCD_DEFAULT;
}

static const char *etcdctl_bin(void)
{
    const char *p = getenv("EH_ETCDCTL");
    return p && *p ? p : EH_ETCDCTL_DEFAULT;
}

static bool keep_logs(void)
{
    const char *p = getenv("EH_KEEP_LOGS");
    return p && *p;
}

/* ------------------------------------------------------------------------ */
/* Environment                                                              */

static const char *const proxy_vars[] = {
    "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy",
    "GRPC_PROXY", "no_proxy",    "NO_PROXY",   "all_proxy",   "ALL_PROXY",
};

static bool env_has_name(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

void eh_clear_proxy_env(void)
{
    for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars; i++)
        unsetenv(proxy_vars[i]);
}

/*
 * Copy of environ (pointers only, caller frees the array) without proxy
 * variables and without variables starting with drop_prefix (so a developer's
 * ETCD_* / ETCDCTL_* settings cannot conflict with the flags we pass), plus
 * the entries in add.  Built before fork: the child must not allocate.
 */
static char **build_env(const char *drop_prefix, const char *keep, const char *add)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **env = malloc((n + 2) * sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        bool drop = false;
        for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars && !drop; i++)
            drop = env_has_name(*e, proxy_vars[i]);
        if (!drop && drop_prefix && strncmp(*e, drop_prefix, strlen(drop_prefix)) == 0)
            drop = !(keep && env_has_name(*e, keep));
        if (!drop)
            env[k++] = *e;
    }
    if (add)
        env[k++] = (char *)add;
    env[k] = NULL;
    return env;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *path)
{
    if (path)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Last bytes of a file, starting at a line boundary; "" if unreadable. */
static void read_tail(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t start = size > (off_t)(cap - 1) ? size - (off_t)(cap - 1) : 0;
    ssize_t r = size > 0 ? pread(fd, buf, cap - 1, start) : 0;
    close(fd);
    if (r <= 0)
        return;
    buf[r] = '\0';
    if (start > 0) {
        char *nl = strchr(buf, '\n');
        if (nl)
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
    }
}

/* ------------------------------------------------------------------------ */
/* Ports and HTTP                                                           */

static int bind_loopback_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int eh_free_port(void)
{
    int port;
    int fd = bind_loopback_any(&port);
    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

/* k distinct free ports: all sockets stay bound until every port is picked. */
static int alloc_ports(int *ports, int k)
{
    int *fds = malloc((size_t)k * sizeof *fds);
    if (!fds)
        return -1;
    int i, rc = 0;
    for (i = 0; i < k; i++) {
        fds[i] = bind_loopback_any(&ports[i]);
        if (fds[i] < 0) {
            rc = -1;
            break;
        }
    }
    while (i-- > 0)
        close(fds[i]);
    free(fds);
    return rc;
}

/* Wait for events on fd until the deadline; true if ready. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

/* Non-blocking connect to 127.0.0.1:port; fd or -1. */
static int tcp_connect(int port, int64_t deadline)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static bool port_accepts(int port, int timeout_ms)
{
    int fd = tcp_connect(port, now_ms() + timeout_ms);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* GET /health over HTTP/1.0; true if it answers 200 with "health":"true". */
static bool health_ok(int port, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int fd = tcp_connect(port, deadline);
    if (fd < 0)
        return false;

    char req[96];
    int reqlen = snprintf(req, sizeof req, "GET /health HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    int off = 0;
    while (off < reqlen) {
        ssize_t w = send(fd, req + off, (size_t)(reqlen - off), MSG_NOSIGNAL);
        if (w > 0)
            off += (int)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline))
            continue;
        else
            break;
    }

    char resp[2048];
    size_t n = 0;
    bool eof = false;
    while (off == reqlen && n < sizeof resp - 1) {
        ssize_t r = recv(fd, resp + n, sizeof resp - 1 - n, 0);
        if (r > 0) {
            n += (size_t)r;
        } else if (r == 0) {
            eof = true;
            break;
        } else if (errno == EINTR || (errno == EAGAIN && wait_fd(fd, POLLIN, deadline))) {
            continue;
        } else {
            break;
        }
    }
    close(fd);
    if (!eof)
        return false;
    resp[n] = '\0';

    const char *body = strstr(resp, "\r\n\r\n");
    return n >= 12 && strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200", 4) == 0 && body &&
           strstr(body, "\"health\":\"true\"") != NULL;
}

/* ------------------------------------------------------------------------ */
/* Processes                                                                */

static const int reset_signals[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };

/*
 * fork + execve.  The test process may have gRPC threads running, so the
 * child only makes async-signal-safe calls before execve; everything it needs
 * is prepared here first.  An exec failure is reported back through a
 * close-on-exec pipe.
 */
static pid_t spawn_in(const char *dir, const char *path, char *const argv[], char *const envp[], int fd_in,
                      int fd_out, int fd_err, char *err, size_t errlen)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) {
        seterr(err, errlen, "pipe2: %s", strerror(errno));
        return -1;
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigset_t none;
    sigemptyset(&none);
    pid_t parent = getpid();

    pid_t pid = fork();
    if (pid < 0) {
        seterr(err, errlen, "fork: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        return -1;
    }
    if (pid == 0) {
        for (size_t i = 0; i < sizeof reset_signals / sizeof *reset_signals; i++)
            sigaction(reset_signals[i], &dfl, NULL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Die with the test process; if it is already gone, do not start. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        /* Own process group: a Ctrl-C in the terminal is not ours to get. */
        setpgid(0, 0);
        if ((!dir || chdir(dir) == 0) && dup2(fd_in, 0) >= 0 && dup2(fd_out, 1) >= 0 && dup2(fd_err, 2) >= 0)
            execve(path, argv, envp);
        int e = errno;
        ssize_t w = write(ep[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }

    close(ep[1]);
    int child_errno;
    ssize_t r;
    do
        r = read(ep[0], &child_errno, sizeof child_errno);
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (r == (ssize_t)sizeof child_errno) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        seterr(err, errlen, "cannot execute %s: %s", path, strerror(child_errno));
        return -1;
    }
    return pid;
}

static pid_t spawn(const char *path, char *const argv[], char *const envp[], int fd_in, int fd_out,
                   int fd_err, char *err, size_t errlen)
{
    return spawn_in(NULL, path, argv, envp, fd_in, fd_out, fd_err, err, errlen);
}

pid_t eh_spawn_etcd(char *const argv[], const char *dir, const char *log_path, char *err, size_t errlen)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        seterr(err, errlen, "open %s: %s", log_path, strerror(errno));
        return -1;
    }
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char **env = build_env("ETCD_", "ETCD_UNSUPPORTED_ARCH", NULL);
    pid_t pid = -1;
    if (nullfd < 0 || !env)
        seterr(err, errlen, "cannot prepare to start etcd: %s", strerror(errno));
    else
        pid = spawn_in(dir, etcd_bin(), argv, env, nullfd, logfd, logfd, err, errlen);
    close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    free(env);
    return pid;
}

static void describe_status(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned)st);
}

/* Reap member m if it has exited; true if it is not running (any more). */
static bool member_gone(eh_member *m)
{
    if (m->pid <= 0)
        return true;
    int st;
    pid_t r = waitpid(m->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return false;
    m->wait_status = r > 0 ? st : 0;
    m->pid = -1;
    return true;
}

static void member_reap(eh_member *m)
{
    int st = 0;
    while (waitpid(m->pid, &st, 0) < 0 && errno == EINTR)
        ;
    m->wait_status = st;
    m->pid = -1;
}

static void member_kill_now(eh_member *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGKILL);
        member_reap(m);
    }
}

/* ------------------------------------------------------------------------ */
/* Registry: everything started, so an exiting test leaves nothing behind.   */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static eh_cluster *g_clusters;
static bool g_atexit_installed;
static unsigned g_cluster_seq;

static void cluster_remove_files(eh_cluster *c)
{
    if (c->files_removed || !c->dir)
        return;
    c->files_removed = true;
    if (keep_logs()) {
        for (int i = 0; i < c->n; i++)
            rm_rf(c->m[i].data_dir);
        fprintf(stderr, "etcd_harness: logs kept in %s\n", c->dir);
    } else {
        rm_rf(c->dir);
    }
}

/*
 * Kills and removes, but does not free: other exit-time code may still hold
 * the cluster, and it stays reachable from g_clusters anyway.
 */
static void eh_atexit(void)
{
    pthread_mutex_lock(&g_lock);
    for (eh_cluster *c = g_clusters; c; c = c->next) {
        if (c->owner != getpid()) /* exit() in a forked child of the test */
            continue;
        for (int i = 0; i < c->n; i++)
            member_kill_now(&c->m[i]);
        cluster_remove_files(c);
    }
    pthread_mutex_unlock(&g_lock);
}

static unsigned registry_add(eh_cluster *c)
{
    pthread_mutex_lock(&g_lock);
    if (!g_atexit_installed)
        g_atexit_installed = atexit(eh_atexit) == 0;
    c->next = g_clusters;
    g_clusters = c;
    unsigned seq = ++g_cluster_seq;
    pthread_mutex_unlock(&g_lock);
    return seq;
}

static void registry_remove(eh_cluster *c)
{
    pthread_mutex_lock(&g_lock);
    for (eh_cluster **pp = &g_clusters; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
}

/* ------------------------------------------------------------------------ */
/* Members                                                                  */

static eh_member *member_at(const eh_cluster *c, int i)
{
    return c && i >= 0 && i < c->n ? &c->m[i] : NULL;
}

static int member_spawn(eh_cluster *c, int i, bool restart, char *err, size_t errlen)
{
    eh_member *m = &c->m[i];
    int logfd = open(m->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        seterr(err, errlen, "open %s: %s", m->log_path, strerror(errno));
        return -1;
    }
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char **env = build_env("ETCD_", "ETCD_UNSUPPORTED_ARCH", NULL);
    if (nullfd < 0 || !env) {
        seterr(err, errlen, "cannot prepare to start %s: %s", m->name, strerror(errno));
        close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        free(env);
        return -1;
    }
    if (restart)
        dprintf(logfd, "==== etcd_harness: restarting %s ====\n", m->name);
    pid_t pid = spawn(etcd_bin(), m->argv, env, nullfd, logfd, logfd, err, errlen);
    close(logfd);
    close(nullfd);
    free(env);
    if (pid < 0)
        return -1;
    m->pid = pid;
    return 0;
}

/* Error text for member i that is not running, with its log tail.  Returns
   WAIT_PORT_IN_USE if etcd could not bind one of its ports. */
static int report_not_running(eh_cluster *c, int i, const char *when, char *err, size_t errlen)
{
    eh_member *m = &c->m[i];
    char status[96], tail[LOG_TAIL_BYTES];
    describe_status(m->wait_status, status, sizeof status);
    read_tail(m->log_path, tail, sizeof tail);
    seterr(err, errlen, "etcd member %s (client %s) %s %s; log %s ends with:\n%s", m->name,
           m->endpoint, status, when, m->log_path, tail);
    return strstr(tail, "address already in use") ? WAIT_PORT_IN_USE : WAIT_FAIL;
}

/*
 * Poll members [lo, hi) every POLL_INTERVAL_MS until each answers (health:
 * /health is true; otherwise: its client port accepts connections).  Fails at
 * once if one of them exits.
 */
static int wait_members(eh_cluster *c, int lo, int hi, bool health, int timeout_ms, char *err,
                        size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    int next = lo; /* members before next have answered */
    for (;;) {
        for (int j = lo; j < hi; j++)
            if (member_gone(&c->m[j]))
                return report_not_running(c, j, "while waiting for it to be ready", err, errlen);
        while (next < hi) {
            int t = remaining_ms(deadline);
            t = t < PROBE_TIMEOUT_MS ? t : PROBE_TIMEOUT_MS;
            int port = c->m[next].client_port;
            if (!(health ? health_ok(port, t) : port_accepts(port, t)))
                break;
            next++;
        }
        if (next == hi)
            return WAIT_OK;
        if (now_ms() >= deadline) {
            eh_member *m = &c->m[next];
            char tail[LOG_TAIL_BYTES];
            read_tail(m->log_path, tail, sizeof tail);
            seterr(err, errlen,
                   "etcd member %s (client %s, pid %d) not %s after %d ms; log %s ends with:\n%s",
                   m->name, m->endpoint, (int)m->pid,
                   health ? "healthy" : "accepting connections", timeout_ms, m->log_path, tail);
            return WAIT_FAIL;
        }
        sleep_ms(POLL_INTERVAL_MS);
    }
}

int eh_member_count(const eh_cluster *c)
{
    return c ? c->n : 0;
}

const char *eh_endpoints(const eh_cluster *c)
{
    return c ? c->endpoints : NULL;
}

const char *eh_member_endpoint(const eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    return m ? m->endpoint : NULL;
}

int eh_member_client_port(const eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    return m ? m->client_port : -1;
}

int eh_member_peer_port(const eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    return m ? m->peer_port : -1;
}

const char *eh_member_log_path(const eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    return m ? m->log_path : NULL;
}

const char *eh_last_error(const eh_cluster *c)
{
    return c ? c->err : "no cluster";
}

int eh_member_pid(const eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    if (!m || member_gone(m))
        return -1;
    return (int)m->pid;
}

int eh_member_kill(eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    if (!m)
        return -1;
    member_kill_now(m);
    return 0;
}

int eh_member_stop(eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    if (!m)
        return -1;
    if (member_gone(m))
        return 0;
    kill(m->pid, SIGTERM);
    int64_t deadline = now_ms() + STOP_GRACE_MS;
    while (!member_gone(m)) {
        if (now_ms() >= deadline) {
            member_kill_now(m);
            break;
        }
        sleep_ms(10);
    }
    return 0;
}

int eh_member_restart(eh_cluster *c, int i)
{
    eh_member *m = member_at(c, i);
    if (!m)
        return -1;
    c->err[0] = '\0';
    eh_member_stop(c, i);
    if (member_spawn(c, i, true, c->err, sizeof c->err) != 0)
        return -1;

    int running = 0;
    for (int j = 0; j < c->n; j++)
        running += !member_gone(&c->m[j]);
    /* Without a quorum no member can be healthy; settle for a bound port. */
    bool quorum = running > c->n / 2;
    if (wait_members(c, i, i + 1, quorum, EH_DEFAULT_TIMEOUT_MS, c->err, sizeof c->err) != WAIT_OK) {
        member_kill_now(m);
        return -1;
    }
    return 0;
}

int eh_member_wait_ready(eh_cluster *c, int i, int timeout_ms)
{
    eh_member *m = member_at(c, i);
    if (!m)
        return -1;
    c->err[0] = '\0';
    if (member_gone(m)) {
        report_not_running(c, i, "before the wait began", c->err, sizeof c->err);
        return -1;
    }
    return wait_members(c, i, i + 1, true, timeout_ms, c->err, sizeof c->err) == WAIT_OK ? 0 : -1;
}

int eh_cluster_wait_ready(eh_cluster *c, int timeout_ms)
{
    if (!c)
        return -1;
    c->err[0] = '\0';
    int64_t deadline = now_ms() + timeout_ms;
    int running = 0;
    for (int i = 0; i < c->n; i++) {
        if (member_gone(&c->m[i]))
            continue;
        running++;
        if (wait_members(c, i, i + 1, true, remaining_ms(deadline), c->err, sizeof c->err) != WAIT_OK)
            return -1;
    }
    if (running == 0) {
        seterr(c->err, sizeof c->err, "no member is running");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Clusters                                                                 */

static void cluster_free(eh_cluster *c)
{
    registry_remove(c);
    cluster_remove_files(c);
    for (int i = 0; i < c->n; i++) {
        free(c->m[i].data_dir);
        free(c->m[i].log_path);
        strv_free(c->m[i].argv);
    }
    free(c->m);
    free(c->dir);
    free(c->endpoints);
    free(c);
}

void eh_cluster_stop(eh_cluster *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        member_kill_now(&c->m[i]);
    cluster_free(c);
}

static char **member_argv(const eh_member *m, const eh_opts *o, const char *initial_cluster,
                          const char *token)
{
    strv a = { 0 };
    strv_push(&a, strdup(etcd_bin()));
    strv_push(&a, strdup("--name"));
    strv_push(&a, strdup(m->name));
    strv_push(&a, strdup("--data-dir"));
    strv_push(&a, strdup(m->data_dir));
    strv_push(&a, strdup("--listen-client-urls"));
    strv_push(&a, fmt_alloc("http://%s", m->endpoint));
    strv_push(&a, strdup("--advertise-client-urls"));
    strv_push(&a, fmt_alloc("http://%s", m->endpoint));
    strv_push(&a, strdup("--listen-peer-urls"));
    strv_push(&a, fmt_alloc("http://127.0.0.1:%d", m->peer_port));
    strv_push(&a, strdup("--initial-advertise-peer-urls"));
    strv_push(&a, fmt_alloc("http://127.0.0.1:%d", m->peer_port));
    strv_push(&a, strdup("--initial-cluster"));
    strv_push(&a, strdup(initial_cluster));
    strv_push(&a, strdup("--initial-cluster-state"));
    strv_push(&a, strdup("new"));
    strv_push(&a, strdup("--initial-cluster-token"));
    strv_push(&a, strdup(token));
    /* etcd 3.4 defaults to capnslog, which cannot write to a file path. */
    strv_push(&a, strdup("--logger"));
    strv_push(&a, strdup("zap"));
    strv_push(&a, strdup("--log-outputs"));
    strv_push(&a, strdup(m->log_path));
    if (o->heartbeat_ms > 0) {
        strv_push(&a, strdup("--heartbeat-interval"));
        strv_push(&a, fmt_alloc("%d", o->heartbeat_ms));
    }
    if (o->election_ms > 0) {
        strv_push(&a, strdup("--election-timeout"));
        strv_push(&a, fmt_alloc("%d", o->election_ms));
    }
    if (o->max_request_bytes > 0) {
        strv_push(&a, strdup("--max-request-bytes"));
        strv_push(&a, fmt_alloc("%ld", o->max_request_bytes));
    }
    if (o->max_txn_ops > 0) {
        strv_push(&a, strdup("--max-txn-ops"));
        strv_push(&a, fmt_alloc("%d", o->max_txn_ops));
    }
    for (const char *const *x = o->extra_args; x && *x; x++)
        strv_push(&a, strdup(*x));
    if (a.oom) {
        strv_free(a.v);
        return NULL;
    }
    return a.v;
}

/* Allocate a cluster with fresh ports, temp dir and command lines (not started). */
static eh_cluster *cluster_new(const eh_opts *o, char *err, size_t errlen)
{
    eh_cluster *c = calloc(1, sizeof *c);
    if (!c || !(c->m = calloc((size_t)o->members, sizeof *c->m))) {
        free(c);
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    c->n = o->members;
    c->owner = getpid();
    c->files_removed = true; /* until the temp dir exists */
    for (int i = 0; i < c->n; i++)
        c->m[i].pid = -1;
    unsigned seq = registry_add(c);

    char *ic = NULL, *token = NULL;
    int *ports = NULL;
    size_t iclen = 0, eplen = 0;
    FILE *icf = NULL, *epf = NULL;

    const char *tmp = getenv("TMPDIR");
    c->dir = fmt_alloc("%s/etcdc-harness-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!c->dir || !mkdtemp(c->dir)) {
        seterr(err, errlen, "mkdtemp %s: %s", c->dir ? c->dir : "", strerror(errno));
        goto fail;
    }
    c->files_removed = false;

    ports = malloc(2 * (size_t)c->n * sizeof *ports);
    if (!ports || alloc_ports(ports, 2 * c->n) != 0) {
        seterr(err, errlen, "cannot pick free loopback ports: %s", strerror(errno));
        goto fail;
    }

    icf = open_memstream(&ic, &iclen);
    epf = open_memstream(&c->endpoints, &eplen);
    if (!icf || !epf)
        goto oom;
    for (int i = 0; i < c->n; i++) {
        eh_member *m = &c->m[i];
        snprintf(m->name, sizeof m->name, "m%d", i);
        m->client_port = ports[2 * i];
        m->peer_port = ports[2 * i + 1];
        snprintf(m->endpoint, sizeof m->endpoint, "127.0.0.1:%d", m->client_port);
        m->data_dir = fmt_alloc("%s/%s.data", c->dir, m->name);
        m->log_path = fmt_alloc("%s/%s.log", c->dir, m->name);
        if (!m->data_dir || !m->log_path)
            goto oom;
        fprintf(icf, "%s%s=http://127.0.0.1:%d", i ? "," : "", m->name, m->peer_port);
        fprintf(epf, "%s%s", i ? "," : "", m->endpoint);
    }
    int e1 = fclose(icf), e2 = fclose(epf);
    icf = epf = NULL;
    if (e1 != 0 || e2 != 0)
        goto oom;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    token = fmt_alloc("etcdc-%ld-%u-%lld%09ld", (long)getpid(), seq, (long long)ts.tv_sec, ts.tv_nsec);
    if (!token)
        goto oom;
    for (int i = 0; i < c->n; i++)
        if (!(c->m[i].argv = member_argv(&c->m[i], o, ic, token)))
            goto oom;

    free(ports);
    free(ic);
    free(token);
    return c;

oom:
    seterr(err, errlen, "out of memory");
fail:
    if (icf)
        fclose(icf);
    if (epf)
        fclose(epf);
    free(ports);
    free(ic);
    free(token);
    cluster_free(c);
    return NULL;
}

int eh_cluster_start(const eh_opts *opts, eh_cluster **out, char *errbuf, size_t errlen)
{
    seterr(errbuf, errlen, "%s", "");
    if (!out) {
        seterr(errbuf, errlen, "out is NULL");
        return -1;
    }
    *out = NULL;
    eh_opts o = opts ? *opts : (eh_opts){ 0 };
    if (o.members == 0)
        o.members = 1;
    if (o.members < 0 || o.members > 1000 || o.heartbeat_ms < 0 || o.election_ms < 0 ||
        o.max_request_bytes < 0 || o.max_txn_ops < 0) {
        seterr(errbuf, errlen, "invalid eh_opts");
        return -1;
    }
    if (o.heartbeat_ms > 0 && o.election_ms > 0 && o.election_ms < 5 * o.heartbeat_ms) {
        seterr(errbuf, errlen, "election_ms (%d) must be at least 5x heartbeat_ms (%d)", o.election_ms,
               o.heartbeat_ms);
        return -1;
    }

    /* Ports are only reserved until we close them, so another process may
       grab one before etcd binds it; then start over with new ports. */
    for (int attempt = 1;; attempt++) {
        eh_cluster *c = cluster_new(&o, errbuf, errlen);
        if (!c)
            return -1;
        int rc = WAIT_OK;
        for (int i = 0; i < c->n && rc == WAIT_OK; i++)
            rc = member_spawn(c, i, false, errbuf, errlen);
        if (rc == WAIT_OK)
            rc = wait_members(c, 0, c->n, true, EH_DEFAULT_TIMEOUT_MS, errbuf, errlen);
        if (rc == WAIT_OK) {
            seterr(errbuf, errlen, "%s", ""); /* drop messages of failed attempts */
            *out = c;
            return 0;
        }
        eh_cluster_stop(c);
        if (rc != WAIT_PORT_IN_USE)
            return -1;
        if (attempt == START_ATTEMPTS) {
            size_t used = errbuf ? strnlen(errbuf, errlen) : 0;
            if (used < errlen)
                seterr(errbuf + used, errlen - used, "\n(gave up after %d attempts with fresh ports)",
                       attempt);
            return -1;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* etcdctl                                                                  */

typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

/* Read what is available from fd into b; false on EOF or error. */
static bool buf_read(buf_t *b, int fd)
{
    for (;;) {
        if (b->cap - b->n < 4096 + 1) {
            size_t cap = b->cap ? b->cap * 2 : 16384;
            char *p = realloc(b->p, cap);
            if (!p)
                return false;
            b->p = p;
            b->cap = cap;
        }
        ssize_t r = read(fd, b->p + b->n, b->cap - b->n - 1);
        if (r > 0) {
            b->n += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 && errno == EAGAIN;
    }
}

/* Hand b over as a NUL-terminated string (or free it if nobody wants it). */
static int buf_give(buf_t *b, char **out, size_t *outlen)
{
    if (outlen)
        *outlen = b->n;
    if (!out) {
        free(b->p);
        return 0;
    }
    if (!b->p && !(b->p = malloc(1)))
        return -1;
    b->p[b->n] = '\0';
    *out = b->p;
    return 0;
}

int eh_etcdctl(const eh_cluster *c, const char *const *argv, const void *stdin_data,
               size_t stdin_len, char **out, size_t *outlen, char **err, size_t *errlen,
               int *exit_status)
{
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    if (outlen)
        *outlen = 0;
    if (errlen)
        *errlen = 0;
    if (exit_status)
        *exit_status = -1;
    if (!c)
        return -1;

    strv a = { 0 };
    strv_push(&a, strdup(etcdctl_bin()));
    strv_push(&a, fmt_alloc("--endpoints=%s", c->endpoints));
    for (const char *const *x = argv; x && *x; x++)
        strv_push(&a, strdup(*x));
    char **env = build_env("ETCDCTL_", NULL, "ETCDCTL_API=3");

    /* stdin is a socket so writes can use MSG_NOSIGNAL: no SIGPIPE if etcdctl
       exits without reading its input. */
    int in[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
    pid_t pid = -1;
    if (a.oom || !env || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
        pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
        goto fail;
    pid = spawn(a.v[0], a.v, env, in[1], po[1], pe[1], NULL, 0);
    close(in[1]);
    close(po[1]);
    close(pe[1]);
    in[1] = po[1] = pe[1] = -1;
    if (pid < 0)
        goto fail;

    int fds[3] = { in[0], po[0], pe[0] };
    in[0] = po[0] = pe[0] = -1;
    for (int k = 0; k < 3; k++)
        fcntl(fds[k], F_SETFL, fcntl(fds[k], F_GETFL) | O_NONBLOCK);
    if (!stdin_data || stdin_len == 0) {
        close(fds[0]);
        fds[0] = -1;
    }

    buf_t bo = { 0 }, be = { 0 };
    size_t written = 0;
    int64_t deadline = now_ms() + ETCDCTL_TIMEOUT_MS;
    bool timed_out = false;
    while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd p[3] = {
            { .fd = fds[0], .events = POLLOUT },
            { .fd = fds[1], .events = POLLIN },
            { .fd = fds[2], .events = POLLIN },
        };
        int r = poll(p, 3, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = true;
            break;
        }
        if (fds[0] >= 0 && p[0].revents) {
            ssize_t w = send(fds[0], (const char *)stdin_data + written, stdin_len - written,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                written += (size_t)w;
            if (written == stdin_len || (w < 0 && errno != EAGAIN && errno != EINTR)) {
                close(fds[0]);
                fds[0] = -1;
            }
        }
        for (int k = 1; k < 3; k++) {
            if (fds[k] >= 0 && p[k].revents && !buf_read(k == 1 ? &bo : &be, fds[k])) {
                close(fds[k]);
                fds[k] = -1;
            }
        }
    }
    for (int k = 0; k < 3; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (exit_status)
        *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;

    strv_free(a.v);
    free(env);
    int rc_o = buf_give(&bo, out, outlen);
    int rc_e = buf_give(&be, err, errlen);
    return rc_o == 0 && rc_e == 0 ? 0 : -1;

fail:
    for (int k = 0; k < 2; k++) {
        if (in[k] >= 0)
            close(in[k]);
        if (po[k] >= 0)
            close(po[k]);
        if (pe[k] >= 0)
            close(pe[k]);
    }
    strv_free(a.v);
    free(env);
    return -1;
}
