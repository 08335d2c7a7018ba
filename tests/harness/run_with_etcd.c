/*
 * run-with-etcd: starts a real etcd on free loopback ports, runs a command with
 * ETCDC_ENDPOINTS and ETCDCTL_ENDPOINTS pointing at it, stops etcd, and exits with the
 * command's status.
 *
 *   run-with-etcd [--members N] [--] COMMAND [ARGS...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_harness.h"

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

int main(int argc, char **argv)
{
    eh_opts opts = {.members = 1};
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--members") == 0 && i + 1 < argc)
            opts.members = atoi(argv[++i]);
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            break;
    }
    if (i >= argc || opts.members < 1) {
        fprintf(stderr, "usage: run-with-etcd [--members N] [--] COMMAND [ARGS...]\n");
        return 2;
    }
    eh_clear_proxy_env();
    eh_cluster *c = NULL;
    char msg[2048];
    if (eh_cluster_start(&opts, &c, msg, sizeof msg) != 0) {
        fprintf(stderr, "run-with-etcd: could not start etcd: %s\n", msg);
        return 2;
    }
    setenv("ETCDC_ENDPOINTS", eh_endpoints(c), 1);
    setenv("ETCDCTL_ENDPOINTS", eh_endpoints(c), 1);
    setenv("ETCDCTL_API", "3", 1);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "run-with-etcd: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (pid > 0) {
        child_pid = pid;
        signal(SIGINT, forward);
        signal(SIGTERM, forward);
        while (waitpid(pid, &status, 0) < 0)
            ;
    }
    eh_cluster_stop(c);
    if (pid < 0)
        return 2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
