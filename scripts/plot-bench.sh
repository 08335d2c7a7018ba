#!/bin/bash
# plot-bench.sh [-o OUT.svg|.png] [-t TITLE] RESULTS.txt...
# Client CPU per operation by workload and peer, from the runner's ROW lines (run-matrix.sh output,
# as scripts/bench.sh keeps them): the median over rounds of each peer's in-loop CPU, in
# microseconds per operation (s per 10k ops x 100), one cluster of bars per workload, the
# min-max of the rounds as error bars. Needs gnuplot (Debian: gnuplot-nox).
set -eu
OUT=perf-cpu.svg
TITLE="Client CPU per operation (median of rounds, min-max bars)"
while getopts o:t: opt; do
    case $opt in
    o) OUT=$OPTARG ;;
    t) TITLE=$OPTARG ;;
    *) echo "usage: $0 [-o OUT.svg|OUT.png] [-t TITLE] RESULTS.txt..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-o OUT.svg|OUT.png] [-t TITLE] RESULTS.txt..." >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "$0: gnuplot is not installed (Debian: apt-get install gnuplot-nox)" >&2; exit 2; }
DATA=$(mktemp)
trap 'rm -f "$DATA"' EXIT

# One row per workload, three columns (median, min, max) per peer; "-" where a peer has no figure.
python3 - "$DATA" "$@" <<'PY' || exit 2
import collections, statistics, sys
out, files = sys.argv[1], sys.argv[2:]
cpu = collections.defaultdict(list)
peers, workloads = [], []
for fn in files:
    for line in open(fn):
        if not line.startswith('ROW '):
            continue
        kv = dict(x.split('=', 1) for x in line.split()[1:])
        op = kv['op']
        peer = {'gopeer': 'Go clientv3', 'etcdc-bench': 'etcdc', 'etcdc-bare-peer': 'bare gRPC core'}.get(kv['peer'], kv['peer'])
        # KV workloads differ by in-flight count, stream ones by their item count.
        wl = f"{op} x{kv['inflight']}" if op in ('put', 'get', 'sget') else f"{op} {int(kv['total']):,}"
        if peer not in peers:
            peers.append(peer)
        if wl not in workloads:
            workloads.append(wl)
        cpu[(wl, peer)].append(float(kv['cpu_s_per_10k']) * 100)  # s per 10k ops -> us per op
if not workloads:
    sys.exit(f'no ROW lines in {" ".join(files)}')
order = {'put': 0, 'get': 1, 'sget': 2, 'watch': 3, 'watchers': 4, 'keepalive': 5}
def key(wl):
    op, n = wl.split(' ')
    return order.get(op, 9), int(n.lstrip('x').replace(',', ''))
with open(out, 'w') as f:
    f.write('workload ' + ' '.join(f'"{p}" min max' for p in peers) + '\n')
    for wl in sorted(workloads, key=key):
        cols = []
        for p in peers:
            v = cpu.get((wl, p))
            cols += [f'{statistics.median(v):.3f}', f'{min(v):.3f}', f'{max(v):.3f}'] if v else ['-', '-', '-']
        f.write(f'"{wl}" ' + ' '.join(cols) + '\n')
PY
NPEERS=$(head -1 "$DATA" | grep -o '" min max' | wc -l)
case $OUT in
*.png) TERM_SET="set terminal pngcairo size 1000,500 noenhanced" ;;
*) TERM_SET="set terminal svg size 1000,500 dynamic noenhanced font 'sans,12'" ;;
esac
gnuplot <<EOF
$TERM_SET
set output '$OUT'
set title "$TITLE"
set ylabel "client CPU, microseconds per operation"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set datafile missing '-'
set key outside top center horizontal autotitle columnheader
set rmargin 8
set bmargin 6
set grid ytics
set yrange [0:*]
set xtics rotate by -30
plot for [i=0:$((NPEERS - 1))] '$DATA' using 2+3*i:3+3*i:4+3*i:xtic(1) title columnheader(2+3*i)
EOF
echo "$OUT"
