/* gopeer's RESULT line, field for field. */
#include <stdio.h>
#include <stdlib.h>

#include "bare.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* gopeer's percentile: the sample at index p * (n - 1) of the sorted latencies, in us. */
static double pct_us(const uint64_t *sorted, uint64_t n, double p)
{
    return (double)sorted[(size_t)(p * (double)(n - 1))] / 1e3;
}

void bare_print_result(bare_result *r)
{
    const bare_flags *f = r->f;
    double cpu = r->user_s + r->sys_s;
    printf("RESULT peer=bare label=%s op=%s total=%lld inflight=%lld val=%lld errors=%llu wall_s=%.4f ", f->label,
           f->op, f->total, f->inflight, f->val_size, (unsigned long long)r->errors, r->wall_s);
    if (r->lat_ns) {
        qsort(r->lat_ns, r->n, sizeof *r->lat_ns, cmp_u64);
        double sum = 0;
        for (uint64_t i = 0; i < r->n; i++)
            sum += (double)r->lat_ns[i];
        printf("ops_s=%.1f avg_us=%.1f p50_us=%.1f p99_us=%.1f cpu_user_s=%.4f cpu_sys_s=%.4f cpu_s_per_10k=%.4f\n",
               (double)r->n / r->wall_s, sum / (double)r->n / 1e3, pct_us(r->lat_ns, r->n, 0.5),
               pct_us(r->lat_ns, r->n, 0.99), r->user_s, r->sys_s, cpu * 10000 / (double)r->n);
    } else {
        /* Stream workloads: per item, with the item count and the peak RSS. */
        uint64_t count = r->count ? r->count : 1;
        double per = r->wall_s / (double)count * 1e6;
        printf("ops_s=%.1f avg_us=%.1f p50_us=%.1f p99_us=%.1f cpu_user_s=%.4f cpu_sys_s=%.4f cpu_s_per_10k=%.4f "
               "count=%llu maxrss_kb=%ld\n",
               (double)count / r->wall_s, per, per, per, r->user_s, r->sys_s, cpu * 10000 / (double)count,
               (unsigned long long)r->count, r->maxrss_kb);
    }
    fflush(stdout);
}
