#!/bin/bash
# peer_smoke.sh NAME OPS PEER [ARG...]: runs a benchmark peer once per workload in OPS (a list of
# op:inflight:total) against the etcd that run-with-etcd started (ETCDC_ENDPOINTS) and checks that
# each prints its RESULT line, as peer=NAME, without errors. Small totals: this proves the peer
# works, it measures nothing.
set -u
NAME=$1 OPS=$2
shift 2
PEER=("$@")
EP=${ETCDC_ENDPOINTS%%,*}
EP=${EP#http://}
fail=0
check() {  # check OP INFLIGHT TOTAL
    local op=$1 inf=$2 total=$3 out
    out=$("${PEER[@]}" --endpoint "$EP" --op "$op" --total "$total" --inflight "$inf" --val-size 256 --warmup 20 \
          --label smoke 2>&1)
    local rc=$? line
    line=$(grep '^RESULT ' <<<"$out")
    local want="RESULT peer=$NAME label=smoke op=$op total=$total inflight=$inf val=256 errors=0 "
    if [ $rc -ne 0 ] || [ "$(wc -l <<<"$line")" -ne 1 ] || [[ "$line" != "$want"* ]]; then
        echo "FAIL $op x$inf: exit $rc, want a line starting \"$want\", got:"; echo "$out"; fail=1; return
    fi
    for field in wall_s ops_s avg_us p50_us p99_us cpu_user_s cpu_sys_s cpu_s_per_10k; do
        grep -Eq " $field=[0-9]+(\.[0-9]+)?( |$)" <<<"$line" || { echo "FAIL $op x$inf: no number for $field: $line"; fail=1; }
    done
    case $op in
    watch|watchers)
        grep -Eq " count=$total maxrss_kb=[1-9][0-9]*$" <<<"$line" || { echo "FAIL $op: want count=$total and maxrss_kb: $line"; fail=1; } ;;
    keepalive)
        # Every lease is renewed at once, so each is answered at least once.
        local count
        count=$(grep -Eo " count=[0-9]+ maxrss_kb=[1-9][0-9]*$" <<<"$line" | grep -Eo "count=[0-9]+" | cut -d= -f2)
        [ -n "$count" ] && [ "$count" -ge "$total" ] ||
            { echo "FAIL keepalive: want count >= $total and maxrss_kb: $line"; fail=1; } ;;
    esac
    echo "ok $op x$inf: $line"
}
for w in $OPS; do
    IFS=: read -r op inf total <<<"$w"
    check "$op" "$inf" "$total"
done
# A flag it does not know is refused, not ignored.
if "${PEER[@]}" --endpoint "$EP" --no-such-flag 1 >/dev/null 2>&1; then echo "FAIL: an unknown flag was accepted"; fail=1; fi
exit $fail
