#!/bin/bash
# bench.sh: etcdc beside Go's clientv3 and the bare gRPC-core peer, on the shared peer workloads.
#
#   scripts/bench.sh            # the full matrix, 3 rounds (about an hour on 2 cores)
#   SMOKE=1 scripts/bench.sh    # 1 round of small totals: proves the set-up works, measures nothing
#
# Builds etcdc-bench and etcdc-bare-peer (release build in $BUILD), the Go peer with the shared
# peers' build-peers.sh when Debian's Go packages are there, then runs the shared runner
# (run-matrix.sh: a fresh etcd for every run) for each phase and summarizes every result file.
# Env: BUILD (build-bench)  ROUNDS (3)  PHASES ("kv-pin kv-nopin stream")
#      PEERS_DIR (<repo>/../shared/peers)  PEERS_WORK (/tmp/etcdc-peers)  RESULTS (a new dir under it)
#      PEERS (default: gopeer when built, the bare peer, etcdc)  STREAM_PEERS (the same)
#      KV_WORKLOADS, STREAM_WORKLOADS (op:inflight:total ...; defaults below)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
export PEERS_WORK=${PEERS_WORK:-/tmp/etcdc-peers}
PHASES=${PHASES:-"kv-pin kv-nopin stream"}
say() { echo "bench.sh: $*" >&2; }
die() { say "$*"; exit 2; }

if [ "${SMOKE:-0}" = 1 ]; then
    ROUNDS=${ROUNDS:-1} SEQ=200 CONC=2000
    STREAM_DEFAULT="watch:1:2000 watchers:1:500 keepalive:1:100 keepalive:1:1000"
else
    ROUNDS=${ROUNDS:-3} SEQ=10000 CONC=50000
    STREAM_DEFAULT="watch:1:50000 watchers:1:10000 keepalive:1:1000 keepalive:1:10000"
fi
KV_WORKLOADS=${KV_WORKLOADS:-"put:1:$SEQ put:64:$CONC put:256:$CONC get:1:$SEQ get:64:$CONC get:256:$CONC sget:1:$SEQ sget:64:$CONC sget:256:$CONC"}
STREAM_WORKLOADS=${STREAM_WORKLOADS:-$STREAM_DEFAULT}

# The runner, its etcd and its tools. Without the shared peers there is no runner to put the
# clients side by side on one server: say what is missing rather than measure something else.
[ -x "$PEERS_DIR/run-matrix.sh" ] && [ -x "$PEERS_DIR/run-one.sh" ] && [ -x "$PEERS_DIR/summarize.py" ] ||
    die "the shared peer runner is not at $PEERS_DIR (run-matrix.sh, run-one.sh, summarize.py).
  It lives beside the repository as ../shared/peers; set PEERS_DIR=/path/to/shared/peers.
  Without it this script cannot run the comparison (etcdc-bench peer and etcdc-bare-peer can still
  be run by hand against any etcd: see examples/bench/bare/README.md)."
PEERS_DIR=$(cd "$PEERS_DIR" && pwd)
for tool in etcd etcdctl taskset python3 meson ninja; do
    command -v "$tool" >/dev/null || die "$tool is not installed (Debian: etcd-server, etcd-client, util-linux, python3, meson, ninja-build)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (Debian: time); the runner measures whole-process CPU with it"
# The runner's etcd listens on fixed ports: another etcd there would be measured instead.
if (exec 3<>/dev/tcp/127.0.0.1/23790) 2>/dev/null; then
    die "something already listens on 127.0.0.1:23790 (another benchmark's etcd?); the runner needs that port"
fi

# Build: release, without the tests.
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=false >/dev/null || die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" examples/bench/etcdc-bench examples/bench/bare/etcdc-bare-peer >/dev/null ||
    die "building etcdc-bench and etcdc-bare-peer in $BUILD failed (ninja -C $BUILD shows why)"
ETCDC="$BUILD/examples/bench/etcdc-bench,peer"
BARE="$BUILD/examples/bench/bare/etcdc-bare-peer"

# The Go peer, from Debian's packages only.
GOPEER=
if command -v go >/dev/null && [ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; then
    # build-peers.sh builds the Node peer afterwards; only the Go peer matters here.
    "$PEERS_DIR/build-peers.sh" >/dev/null 2>&1
    [ -x "$PEERS_WORK/bin/gopeer" ] && GOPEER=gopeer || say "the Go peer did not build ($PEERS_DIR/build-peers.sh shows why); running without it"
else
    say "Debian's Go packages (golang-go, golang-etcd-server-dev) are not installed: running without the Go peer"
fi
PEERS=${PEERS:-"$GOPEER $BARE $ETCDC"}
STREAM_PEERS=${STREAM_PEERS:-$PEERS}

# Which stream workloads a peer has: it names them in its --help (gopeer's -h prints the same).
peer_has() {  # peer_has PEER OP
    local peer=$1 cmd
    if [ "$peer" = gopeer ]; then cmd=("$PEERS_WORK/bin/gopeer"); else IFS=, read -r -a cmd <<<"$peer"; fi
    "${cmd[@]}" --help 2>&1 | grep -qw -- "$2"
}

RESULTS=${RESULTS:-$PEERS_WORK/results/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
matrix() {  # matrix OUT PIN "PEERS" "WORKLOADS"
    OUT=$1 PIN=$2 PEERS=$3 WORKLOADS=$4 ROUNDS=$ROUNDS CTL_N=0 MODE=shm "$PEERS_DIR/run-matrix.sh" >&2
    grep -c '^ROW ' "$1" 2>/dev/null | sed "s|^|bench.sh: $(basename "$1"): |;s|$| runs|" >&2
}

files=()
for phase in $PHASES; do
    case $phase in
    kv-pin) say "KV, pinned (server core 0, client core 1)"; matrix "$RESULTS/kv-pin1.txt" 1 "$PEERS" "$KV_WORKLOADS"; files+=("$RESULTS/kv-pin1.txt") ;;
    kv-nopin) say "KV, unpinned"; matrix "$RESULTS/kv-pin0.txt" 0 "$PEERS" "$KV_WORKLOADS"; files+=("$RESULTS/kv-pin0.txt") ;;
    stream)
        for wl in $STREAM_WORKLOADS; do
            IFS=: read -r op _ total <<<"$wl"
            sp=()
            for p in $STREAM_PEERS; do
                if peer_has "$p" "$op"; then sp+=("$p"); else say "$(basename "${p%%,*}") has no $op workload: skipped"; fi
            done
            [ ${#sp[@]} -gt 0 ] || continue
            say "stream $op --total $total, pinned: ${sp[*]##*/}"
            # One file per workload: the summary keys rows on op and in-flight count, not on total.
            matrix "$RESULTS/stream-$op-$total-pin1.txt" 1 "${sp[*]}" "$wl"
            files+=("$RESULTS/stream-$op-$total-pin1.txt")
        done ;;
    *) die "unknown phase \"$phase\" (kv-pin, kv-nopin, stream)" ;;
    esac
done

{
    echo "# bench.sh results, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null), ROUNDS=$ROUNDS${SMOKE:+ SMOKE=$SMOKE}"
    for f in "${files[@]}"; do
        [ -s "$f" ] || continue
        echo; echo "## $(basename "$f" .txt)"; echo
        "$PEERS_DIR/summarize.py" "$f"
        grep '^FAILED' "$f" || true
    done
} >"$RESULTS/summary.md"
cat "$RESULTS/summary.md"
if command -v gnuplot >/dev/null && [ -s "$RESULTS/kv-pin1.txt" ]; then
    "$ROOT/scripts/plot-bench.sh" -o "$RESULTS/perf-cpu.svg" "$RESULTS/kv-pin1.txt" && say "plot: $RESULTS/perf-cpu.svg"
fi
say "results in $RESULTS"
