/*
 * The report, laid out as etcd's benchmark prints it (pkg/report): summary, a 10-bucket latency
 * histogram, latency percentiles and the error distribution, in seconds with "%4.4f". Only
 * successful requests count towards the latencies, as there. Added: the client's CPU time per
 * 10k requests and its peak RSS, the figures the comparison with other clients is about.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
}

long bench_peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

void bench_print_errors(FILE *f, const bench_result *res, size_t max)
{
    const bench_errors *e = &res->errs;
    for (size_t k = 0; k < e->n && k < max; k++)
        fprintf(f, "  [%llu]\t%s\n", (unsigned long long)e->count[k], e->msg[k]);
    uint64_t rest = e->other;
    for (size_t k = max; k < e->n; k++)
        rest += e->count[k];
    if (rest)
        fprintf(f, "  [%llu]\t(other errors)\n", (unsigned long long)rest);
}

/* etcd's percentiles(): the first sorted sample whose rank reaches each percentile. */
static const double pctls[] = {10, 25, 50, 75, 90, 95, 99, 99.9};
#define NPCT (sizeof pctls / sizeof pctls[0])

static void percentiles(const double *s, size_t n, double *out)
{
    size_t j = 0;
    memset(out, 0, NPCT * sizeof *out);
    for (size_t i = 0; i < n && j < NPCT; i++)
        if ((double)i * 100.0 / (double)n >= pctls[j])
            out[j++] = s[i];
}

static void histogram(FILE *f, const double *s, size_t n)
{
    enum { BC = 10 };
    double buckets[BC + 1];
    size_t counts[BC + 1] = {0};
    double lo = s[0], hi = s[n - 1], bs = (hi - lo) / BC;
    for (int i = 0; i < BC; i++)
        buckets[i] = lo + bs * i;
    buckets[BC] = hi;
    size_t max = 0, bi = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] <= buckets[bi]) {
            i++;
            if (++counts[bi] > max)
                max = counts[bi];
        } else if (bi < BC) {
            bi++;
        } else {
            break; /* cannot happen: the last bucket is the slowest sample */
        }
    }
    fprintf(f, "\nResponse time histogram:\n");
    for (int i = 0; i <= BC; i++) {
        size_t bar = max ? counts[i] * 40 / max : 0;
        fprintf(f, "  %4.4f [%zu]\t|", buckets[i], counts[i]);
        for (size_t b = 0; b < bar; b++)
            fputs("\u220e", f);
        fputc('\n', f);
    }
}

void bench_report(FILE *f, const bench_result *res)
{
    /* The successful requests' latencies, sorted, in seconds. */
    uint64_t *ns = malloc((res->total ? res->total : 1) * sizeof *ns);
    double *s = malloc((res->total ? res->total : 1) * sizeof *s);
    if (!ns || !s) {
        fprintf(stderr, "out of memory for the report\n");
        free(ns);
        free(s);
        return;
    }
    size_t n = 0;
    for (uint64_t i = 0; i < res->total; i++)
        if (!res->failed[i])
            ns[n++] = res->lat_ns[i];
    bench_sort_u64(ns, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i] = (double)ns[i] / 1e9;
    free(ns);
    if (n > 0) {
        double avg = sum / (double)n, var = 0;
        for (size_t i = 0; i < n; i++)
            var += (s[i] - avg) * (s[i] - avg);
        fprintf(f, "\nSummary:\n");
        fprintf(f, "  Total:\t%4.4f secs.\n", res->wall_s);
        fprintf(f, "  Slowest:\t%4.4f secs.\n", s[n - 1]);
        fprintf(f, "  Fastest:\t%4.4f secs.\n", s[0]);
        fprintf(f, "  Average:\t%4.4f secs.\n", avg);
        fprintf(f, "  Stddev:\t%4.4f secs.\n", sqrt(var / (double)n));
        fprintf(f, "  Requests/sec:\t%4.4f\n", (double)n / res->wall_s);
        histogram(f, s, n);
        double p[NPCT];
        percentiles(s, n, p);
        fprintf(f, "\nLatency distribution:\n");
        for (size_t i = 0; i < NPCT; i++)
            if (p[i] > 0)
                fprintf(f, "  %g%% in %4.4f secs.\n", pctls[i], p[i]);
    }
    free(s);
    if (res->errors) {
        fprintf(f, "\nError distribution:\n");
        bench_print_errors(f, res, BENCH_MAX_ERROR_KINDS);
    }
    double cpu = res->cpu_user_s + res->cpu_sys_s;
    fprintf(f, "\nClient resources:\n");
    const char *unit = res->unit ? res->unit : "requests";
    fprintf(f, "  CPU:\t%4.4f secs per 10k %s (user %4.4f secs, sys %4.4f secs over %llu %s).\n",
            res->total ? cpu * 10000 / (double)res->total : 0, unit, res->cpu_user_s, res->cpu_sys_s,
            (unsigned long long)res->total, unit);
    fprintf(f, "  Peak RSS:\t%.1f MB.\n", (double)bench_peak_rss_kb() / 1024);
}
