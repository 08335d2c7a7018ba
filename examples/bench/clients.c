/* Opening the etcdc clients a run spreads its requests over. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

bool bench_parse_dispatch(const char *s, etcd_dispatch *out)
{
    if (strcmp(s, "thread") == 0)
        *out = ETCD_DISPATCH_THREAD;
    else if (strcmp(s, "caller") == 0)
        *out = ETCD_DISPATCH_CALLER;
    else {
        fprintf(stderr, "--dispatch: \"%s\" is neither thread nor caller\n", s);
        return false;
    }
    return true;
}

bool bench_clients_open(bench_clients *cl, const char *endpoints, size_t n, etcd_dispatch mode,
                        long long request_timeout_ms)
{
    memset(cl, 0, sizeof *cl);
    cl->mode = mode;
    cl->c = calloc(n, sizeof *cl->c);
    if (!cl->c) {
        fprintf(stderr, "out of memory\n");
        return false;
    }
    etcd_error *err = NULL;
    etcd_config *cfg = etcd_config_new();
    if (!cfg || etcd_config_set_endpoints(cfg, endpoints, &err) != ETCD_OK ||
        etcd_config_set_dispatch(cfg, mode) != ETCD_OK ||
        etcd_config_set_request_timeout_ms(cfg, request_timeout_ms) != ETCD_OK) {
        fprintf(stderr, "endpoints \"%s\": %s\n", endpoints, err ? etcd_error_message(err) : "bad configuration");
        etcd_error_free(err);
        etcd_config_free(cfg);
        bench_clients_close(cl);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (etcd_client_new(cfg, &cl->c[i], &err) != ETCD_OK) {
            fprintf(stderr, "dial: %s\n", err ? etcd_error_message(err) : "failed");
            etcd_error_free(err);
            etcd_config_free(cfg);
            bench_clients_close(cl);
            return false;
        }
        cl->n++;
    }
    etcd_config_free(cfg);
    return true;
}

void bench_clients_close(bench_clients *cl)
{
    for (size_t i = 0; i < cl->n; i++)
        etcd_client_free(cl->c[i]);
    free(cl->c);
    memset(cl, 0, sizeof *cl);
}
