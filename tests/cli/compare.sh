#!/usr/bin/env bash
#
# compare.sh - runs the same commands through etcdctl and etcdcctl against one etcd and compares
# what they print and how they exit.
#
# Usage: compare.sh ETCDCCTL [ETCDCTL]
#   ETCDCCTL_ENDPOINTS is not used; the endpoints come from $ETCDCTL_ENDPOINTS (required).
#   ETCDCTL defaults to $ETCDCTL_BIN, then /usr/bin/etcdctl.
#
# For each check both tools run the same arguments with the same stdin and environment, each
# after the same setup (so each sees the same keys and values), and must agree byte for byte on
# stdout, stderr and the exit status. Only what has to differ is normalised first:
#   - the program name (etcdcctl is printed as etcdctl);
#   - etcdctl's gRPC client log lines on stderr ({"level":"warn",...}), which etcdcctl lacks;
#   - the timestamp at the start of etcdctl's log lines ("2024-01-02 15:04:05.000000 W | ...");
#   - endpoint health times ("took = 1.2ms", "took":"1.2ms");
#   - revisions: both tools write to the same store one after the other, so every revision
#     ("revision", "create_revision", "mod_revision" in JSON, "Revision", "CreateRevision",
#     "ModRevision" in fields output, "compacted revision N") is rewritten relative to the
#     store's revision just before the command ran (protobuf output is compared only where
#     nothing is written, so its revisions agree as they are);
#   - usage text: the GLOBAL OPTIONS section (etcdcctl has fewer global flags), and the
#     --count-only and --progress-notify lines (etcdcctl extensions);
#   - lease IDs etcd picks for "lease grant" (with --new-lease), and the revision in etcdctl's
#     protobuf-text quote of a header ("revision:N");
#   - ETCD_WATCH_REVISION=N, as a watch's command prints it, relative like other revisions.
# Watches run until killed: with --bg the tool runs in the background, its stdin held open,
# until its watches are established (etcd's watcher gauge on /metrics), then --during runs,
# then it is stopped once --until holds (or after 5 s): interactive ones by closing stdin,
# which ends them as it ends etcdctl, others with SIGTERM.
# Arguments may contain @REV@, @REV+N@ or @REV-N@: the store revision before the command
# (plus or minus N), so that both tools get the same relative revision.
#
# Prints each mismatch as a diff, and finally "N passed, M failed". Exits 1 on any mismatch.

set -u

NEW=${1:?usage: compare.sh ETCDCCTL [ETCDCTL]}
REF=${2:-${ETCDCTL_BIN:-/usr/bin/etcdctl}}
: "${ETCDCTL_ENDPOINTS:?ETCDCTL_ENDPOINTS must name the etcd to test against}"
EP=$ETCDCTL_ENDPOINTS

# Only the endpoints reach the tools from the outside environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY grpc_proxy
for v in $(compgen -e); do
    case $v in ETCDCTL_ENDPOINTS) ;; ETCDCTL_*) unset "$v" ;; esac
done
export ETCDCTL_ENDPOINTS
export LC_ALL=C

for tool in "$NEW" "$REF"; do
    [[ -x $tool ]] || { echo "not executable: $tool" >&2; exit 2; }
done
command -v perl >/dev/null || { echo "perl is needed" >&2; exit 2; }

work=$(mktemp -d)
# Keys of this run sort after most others, so --from-key ranges only meet keys of this run.
P="~cli-$$-$RANDOM"
passed=0
failed=0

# The reference etcdctl, quietly, for setup and verification.
ref() { ETCDCTL_ENDPOINTS=$EP "$REF" "$@" 2>/dev/null; }

cleanup() {
    ref del --prefix "$P" >/dev/null
    [[ -n ${LEASE:-} ]] && "$NEW" lease revoke "$LEASE" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

cur_rev() {
    ref -w json get "$P/rev-probe" |
        sed -E 's/.*"header":\{[^}]*"revision":([0-9]+).*/\1/'
}

# @REV@, @REV+N@, @REV-N@ -> numbers
subst() {
    local s=$1 base=$2
    while [[ $s =~ @REV([+-][0-9]+)?@ ]]; do
        local m=${BASH_REMATCH[0]} d=${BASH_REMATCH[1]:-+0}
        s=${s/"$m"/$((base $d))}
    done
    s=${s//@LEASE@/${TL:-}}
    printf '%s' "$s"
}

# A lease of this side's own for a check, in $TL (@LEASE@ in arguments).
grant_tl() {
    TL=$("$NEW" lease grant "${1:-600}" 2>/dev/null | sed -E 's/^lease ([0-9a-f]+) granted.*/\1/')
}
# Revokes every lease but the run's fixture (those checks made).
revoke_new() {
    local id
    for id in $(ref lease list | tail -n +2); do
        [[ $id == "$LEASE" ]] || "$NEW" lease revoke "$id" >/dev/null 2>&1
    done
}
# For --bg: whether the tool's stdout has at least N lines.
lines() { [[ $(wc -l <"$out") -ge $1 ]]; }

norm_common='s/etcdcctl/etcdctl/g;
    s/took = \S+/took = <took>/g;
    s/"took":"[^"]*"/"took":"<took>"/g;
    s/^"Took" : \S+$/"Took" : <took>/;
    s/^"(\w*Revision)" : ([1-9]\d*)$/"\"$1\" : R" . ($2 - $ENV{BASE})/e;
    s/"(revision|create_revision|mod_revision)":(\d+)/"\"$1\":R" . ($2 - $ENV{BASE})/ge;
    s/^compacted revision (-?\d+)$/"compacted revision R" . ($1 - $ENV{BASE})/e;
    s/\brevision:(\d+)/"revision:R" . ($1 - $ENV{BASE})/ge;
    s/ETCD_WATCH_REVISION=(\d+)/"ETCD_WATCH_REVISION=R" . ($1 - $ENV{BASE})/ge;
    s/^progress notify: (\d+)$/"progress notify: R" . ($1 - $ENV{BASE})/e;
    s/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} (\w) \|/<time> $1 |/;'

normalise_out() { # mode base < in > out
    case $1 in
    usage) BASE=$2 perl -ne 'last if /^GLOBAL OPTIONS:/; next if /--count-only|--progress-notify/; '"$norm_common"' print' ;;
    none) cat >/dev/null ;;
    lease) BASE=$2 perl -pe 's/\b[0-9a-f]{16}\b/<id>/g; s/"(ID|id)":\d+/"$1":<id>/g; s/^"ID" : \d+$/"ID" : <id>/;'"$norm_common" ;;
    *) BASE=$2 perl -pe "$norm_common" ;;
    esac
}

normalise_err() { # base < in > out
    BASE=$1 perl -ne 'next if /^\{"level":/; next if /--count-only|--progress-notify/; '"$norm_common"' print'
}

# The number of watchers etcd has (its etcd_debugging_mvcc_watcher_total gauge).
watchers() {
    local hp=${EP%%,*}
    hp=${hp#http://}
    local host=${hp%:*} port=${hp##*:} n
    exec 9<>"/dev/tcp/$host/$port" || return 1
    printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$hp" >&9
    n=$(awk '/^etcd_debugging_mvcc_watcher_total /{print $2}' <&9)
    exec 9<&-
    printf '%s' "${n%%.*}"
}

# Polls until etcd has at least (--ge) or exactly (--eq) N watchers; up to 5 s.
wait_watchers() {
    local how=$1 want=$2 i n
    for ((i = 0; i < 100; i++)); do
        n=$(watchers)
        if [[ $how == --ge && ${n:-0} -ge $want ]] || [[ $how == --eq && ${n:-0} -eq $want ]]; then return 0; fi
        sleep 0.05
    done
    return 1
}

# Runs one long-running tool (see --bg): bin args... with $work/in as the first stdin.
run_bg() {
    local side=$1
    shift
    rm -f "$work/fifo"
    mkfifo "$work/fifo"
    wait_watchers --eq 0 # the other tool's watches are gone
    (
        [[ $no_env == 1 ]] && unset ETCDCTL_ENDPOINTS
        exec env ${envs[@]+"${envs[@]}"} "$@"
    ) <"$work/fifo" >"$work/$side.out" 2>"$work/$side.err" &
    local pid=$! i
    exec 8>"$work/fifo"
    cat "$work/in" >&8
    wait_watchers --ge "$bg_watchers"
    if [[ -n $bg_during ]]; then eval "$bg_during" >/dev/null 2>&1; fi
    local out=$work/$side.out
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        if eval "$bg_until"; then break; fi
        sleep 0.05
    done
    exec 8>&-
    if [[ $bg_eof == 1 ]]; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    echo $? >"$work/$side.rc"
    rm -f "$work/fifo"
}

# check NAME [options] -- ARGS...
#   --setup CODE   shell code run before each tool's run (use `ref`)
#   --post CODE    shell code run after each tool's run; its output is compared too
#   --input TEXT   stdin for the command (default: empty)
#   --env K=V      extra environment for the command
#   --no-env       run without ETCDCTL_ENDPOINTS in the environment
#   --usage        stdout is usage text: compare it without the GLOBAL OPTIONS section
#   --no-stdout    do not compare stdout
#   --new-lease    stdout shows a lease etcd granted: its ID is not compared
#   --bg UNTIL     a watch: run as described at the top, until the shell condition UNTIL holds
#                  ($out is the tool's stdout so far)
#   --watchers N   with --bg: the number of watches to wait for (default 1)
#   --during CODE  with --bg: shell code run once the watches are established (use `ref`)
#   --eof          with --bg: the tool ends when its stdin ends (interactive watch)
check() {
    local name=$1
    shift
    local setup="" post="" input="" mode=out no_env=0 bg_until="" bg_during="" bg_watchers=1 bg_eof=0
    local -a envs=()
    while [[ $1 != -- ]]; do
        case $1 in
        --new-lease) mode=lease; shift ;;
        --bg) bg_until=$2; shift 2 ;;
        --watchers) bg_watchers=$2; shift 2 ;;
        --during) bg_during=$2; shift 2 ;;
        --eof) bg_eof=1; shift ;;
        --setup) setup=$2; shift 2 ;;
        --post) post=$2; shift 2 ;;
        --input) input=$2; shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        --no-env) no_env=1; shift ;;
        --usage) mode=usage; shift ;;
        --no-stdout) mode=none; shift ;;
        *) echo "check $name: bad option $1" >&2; exit 2 ;;
        esac
    done
    shift
    local side bin base
    for side in ref new; do
        [[ $side == ref ]] && bin=$REF || bin=$NEW
        if [[ -n $setup ]]; then eval "$setup" >/dev/null 2>&1; fi
        base=$(cur_rev)
        if [[ ! $base =~ ^[0-9]+$ ]]; then
            echo "FAIL: $name: cannot read the store revision from $EP"
            failed=$((failed + 1))
            return
        fi
        subst "$input" "$base" >"$work/in"
        local -a args=()
        local a
        for a in "$@"; do args+=("$(subst "$a" "$base")"); done
        if [[ -n $bg_until ]]; then
            run_bg "$side" "$bin" "${args[@]}"
        else
            (
                [[ $no_env == 1 ]] && unset ETCDCTL_ENDPOINTS
                exec env ${envs[@]+"${envs[@]}"} "$bin" "${args[@]}"
            ) <"$work/in" >"$work/$side.out" 2>"$work/$side.err"
            echo $? >"$work/$side.rc"
        fi
        if [[ -n $post ]]; then eval "$post" >>"$work/$side.out" 2>&1; fi
        normalise_out "$mode" "$base" <"$work/$side.out" >"$work/$side.nout"
        normalise_err "$base" <"$work/$side.err" >"$work/$side.nerr"
    done
    if cmp -s "$work/ref.nout" "$work/new.nout" && cmp -s "$work/ref.nerr" "$work/new.nerr" &&
        cmp -s "$work/ref.rc" "$work/new.rc"; then
        passed=$((passed + 1))
        return
    fi
    failed=$((failed + 1))
    echo "FAIL: $name: $(printf '%q ' "$@")"
    diff -u -a --label "etcdctl stdout" --label "etcdcctl stdout" "$work/ref.nout" "$work/new.nout"
    diff -u -a --label "etcdctl stderr" --label "etcdcctl stderr" "$work/ref.nerr" "$work/new.nerr"
    if ! cmp -s "$work/ref.rc" "$work/new.rc"; then
        echo "exit status: etcdctl $(cat "$work/ref.rc"), etcdcctl $(cat "$work/new.rc")"
    fi
}

# expect NAME STDOUT STATUS [--input TEXT] [--err TEXT] [--env K=V] -- ARGS...: etcdcctl alone,
# for where it differs from etcdctl 3.4 on purpose (each such difference is in the man page):
# stdout ("<any>": not compared) and the exit status must be as given, and stderr must contain
# the --err text.
expect() {
    local name=$1 want=$2 status=$3 input="" err=""
    local -a envs=()
    shift 3
    while [[ $1 != -- ]]; do
        case $1 in
        --input) input=$2; shift 2 ;;
        --err) err=$2; shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        *) echo "expect $name: bad option $1" >&2; exit 2 ;;
        esac
    done
    shift
    local got rc
    got=$(printf '%s' "$input" | env ${envs[@]+"${envs[@]}"} "$NEW" "$@" 2>"$work/expect.err")
    rc=$?
    # Nothing but etcdcctl's own messages may reach stderr (no sanitizer reports).
    if [[ ($want == "<any>" || $got == "$want") && $rc == "$status" ]] && { [[ -z $err ]] || grep -q -F -e "$err" "$work/expect.err"; } &&
        ! grep -q -E 'runtime error|Sanitizer' "$work/expect.err"; then
        passed=$((passed + 1))
        return
    fi
    failed=$((failed + 1))
    echo "FAIL: $name: $(printf '%q ' "$@")"
    echo "want (status $status, stderr with: $err):"
    printf '%s\n' "$want"
    echo "got (status $rc):"
    printf '%s\n' "$got"
    cat "$work/expect.err"
}

# ---------------------------------------------------------------------------------------------
# Fixtures

LEASE=$("$NEW" lease grant 600 2>/dev/null | sed -E 's/^lease ([0-9a-f]+) granted.*/\1/')
[[ $LEASE =~ ^[0-9a-f]+$ ]] || { echo "cannot grant a lease against $EP" >&2; exit 2; }

G=$P/g # keys read by the get checks
reset_g() {
    ref del --prefix "$G/"
    ref put "$G/a" 1
    ref put "$G/b" 22
    ref put "$G/c" 333
    ref put "$G/d" 4444
    ref put "$G/sp ace" "välue with spaces"
    printf 'bin\0\377\n\001end' | ref put "$G/e"
    ref put "$G/a" 11 # version 2
    ref put "$G/c" 3  # sorts differently by value
}
reset_k() { # one key, value v1
    ref del --prefix "$P/k"
    ref put "$P/k" v1
}
reset_d() {
    ref del --prefix "$P/d/"
    for k in a b c d; do ref put "$P/d/$k" "val-$k"; done
}
reset_t() {
    ref del --prefix "$P/t/"
    ref put "$P/t/x" 1
    ref put "$P/t/y" 2
    ref put "$P/t/y" 3
}
reset_z() { # the last keys of this run, for --from-key on del
    ref del --prefix "$P/zz/"
    for k in a b c; do ref put "$P/zz/$k" "z-$k"; done
}

# ---------------------------------------------------------------------------------------------
# put

check "put" --setup "ref del $P/k" --post "ref get $P/k" -- put "$P/k" v1
check "put simple prev-kv" --setup reset_k -- put "$P/k" v2 --prev-kv
check "put json" --setup "ref del $P/k" -- -w json put "$P/k" v1
check "put json prev-kv" --setup reset_k -- -w json put "$P/k" v2 --prev-kv
check "put hex prev-kv" --setup reset_k -- --hex put "$P/k" v2 --prev-kv
check "put prev-kv of a new key" --setup "ref del $P/k" -- put --prev-kv "$P/k" v
check "put value from stdin" --setup "ref del $P/k" --input $'line 1\nline 2\n' --post "ref get $P/k --hex" -- put "$P/k"
check "put binary from stdin" --setup "ref del $P/k" --input $'\001\002 \377\t' --post "ref -w json get $P/k" -- put "$P/k"
check "put empty stdin" -- put "$P/k"
check "put no arguments" -- put
check "put extra arguments" --setup "ref del $P/k" --post "ref get $P/k" -- put "$P/k" v1 ignored
check "put after --" --setup "ref del $P/k" --post "ref get $P/k" -- put "$P/k" -- -dash-value
check "put -- before key" --setup "ref del $P/k" --post "ref get $P/k" -- put -- "$P/k" -v
check "put empty value" --setup reset_k --post "ref -w json get $P/k" -- put "$P/k" ""
check "put lease" --setup "ref del $P/k" --post "ref -w json get $P/k" -- put "$P/k" v --lease="$LEASE"
check "put lease (space form)" --setup "ref del $P/k" --post "ref -w json get $P/k" -- put "$P/k" v --lease "$LEASE"
check "put bad lease" -- put "$P/k" v --lease=xyz
check "put unknown lease" -- put "$P/k" v --lease=123abc
check "put ignore-value" --setup reset_k --post "ref -w json get $P/k" -- put "$P/k" --ignore-value --prev-kv
check "put ignore-value missing key" --setup "ref del $P/k" -- put "$P/k" --ignore-value
check "put ignore-value with value" -- put "$P/k" v --ignore-value
check "put ignore-lease" --setup "ref del $P/k; ref put $P/k v0 --lease=$LEASE" --post "ref -w json get $P/k" \
    -- put "$P/k" v1 --ignore-lease
check "put ignore-lease and lease" -- put "$P/k" v --ignore-lease --lease="$LEASE"
check "put empty key" -- put "" v
check "put bool flag value" --setup reset_k -- put "$P/k" v2 --prev-kv=false
check "put bad bool flag value" --usage -- put "$P/k" v2 --prev-kv=maybe
big_value=$(head -c 2100000 /dev/zero | tr '\0' v)
check "put over the client's message limit" --input "$big_value" -- put "$P/k"
check "put over the server's request limit" --input "${big_value:0:1600000}" -- put "$P/k"
check "put fields" --setup reset_k -- -w fields put "$P/k" v2
check "put fields prev-kv" --setup reset_k -- -w fields put "$P/k" v2 --prev-kv
check "put protobuf is written" --setup "ref del $P/k" --post "ref get $P/k" --no-stdout -- -w protobuf put "$P/k" v
check "put help" --usage -- put --help
check "put -h" --usage -- put -h

# ---------------------------------------------------------------------------------------------
# get

reset_g
check "get key" -- get "$G/a"
check "get missing key" -- get "$G/nope"
check "get json" -- -w json get "$G/a"
check "get json missing key" -- -w json get "$G/nope"
check "get range" -- get "$G/a" "$G/c"
check "get range json" -- -w json get "$G/a" "$G/c"
check "get extra arguments" -- get "$G/a" "$G/c" ignored
check "get prefix" -- get "$G/" --prefix
check "get prefix json" -- -w json get "$G/" --prefix
check "get prefix hex" -- get "$G/" --prefix --hex
check "get hex binary" -- --hex get "$G/e"
check "get raw binary" -- get "$G/e"
check "get json binary" -- -w json get "$G/e"
check "get spaces and utf-8" -- get "$G/sp ace"
check "get from-key" -- get "$G/b" --from-key --limit 3
check "get from-key keys-only" -- get "$P/zz" --from-key --keys-only --limit=2
check "get limit" -- get "$G/" --prefix --limit 2
check "get limit json (more)" -- -w json get "$G/" --prefix --limit=2
check "get negative limit" -- get "$G/" --prefix --limit=-1
check "get hex limit" -- get "$G/" --prefix --limit=0x2
check "get keys-only" -- get "$G/" --prefix --keys-only
check "get keys-only json" -- -w json get "$G/" --prefix --keys-only
check "get print-value-only" -- get "$G/" --prefix --print-value-only
check "get print-value-only hex" -- get "$G/b" --print-value-only --hex
check "get print-value-only json" -- -w json get "$G/a" --print-value-only
check "get print-value-only table" -- -w table get "$G/a" --print-value-only
check "get serializable" -- get "$G/a" --consistency=s
check "get linearizable" -- get "$G/a" --consistency l
check "get bad consistency" -- get "$G/a" --consistency=x
check "get sort value descend" -- get "$G/" --prefix --sort-by=VALUE --order=DESCEND
check "get sort value (default order)" -- get "$G/" --prefix --sort-by=value
check "get sort create descend" -- get "$G/" --prefix --sort-by=CREATE --order=descend
check "get sort modify" -- get "$G/" --prefix --sort-by=MODIFY --order=ASCEND
check "get sort version descend" -- get "$G/" --prefix --sort-by=VERSION --order=DESCEND --keys-only
check "get sort key descend" -- get "$G/" --prefix --sort-by=KEY --order=DESCEND
check "get sort key ascend json" -- -w json get "$G/" --prefix --sort-by=KEY --order=ASCEND --limit 2
check "get order alone" -- get "$G/" --prefix --order=DESCEND --limit 2
check "get bad order" -- get "$G/" --prefix --order=up
check "get bad sort target" -- get "$G/" --prefix --sort-by=size
check "get rev" --setup "reset_g; ref put $G/a 111" -- get "$G/a" --rev=@REV-1@
check "get rev json" --setup "reset_g; ref put $G/a 111" -- -w json get "$G/a" --rev @REV-1@
check "get future rev" -- get "$G/a" --rev=@REV+1000@
check "get no arguments" -- get
check "get prefix and from-key" -- get "$G/" --prefix --from-key
check "get prefix with range" -- get "$G/a" "$G/c" --prefix
check "get from-key with range" -- get "$G/a" "$G/c" --from-key
check "get empty key" -- get ""
check "get empty key and range end" -- get "" ""
check "get bad limit" --usage -- get "$G/a" --limit=abc
check "get bad limit (space form)" --usage -- get "$G/a" --limit abc
check "get huge limit" --usage -- get "$G/a" --limit=99999999999999999999
check "get limit without value" --usage -- get "$G/a" --limit
check "get unknown flag" --usage -- get --bogus "$G/a"
check "get unknown shorthand" --usage -- get -x "$G/a"
check "get bad flag syntax" --usage -- get "$G/a" ---x
check "get help" --usage -- get --help
check "get by prefix of the command name" -- ge "$G/a"
check "get table" -- -w table get "$G/a"
check "get fields" -- -w fields get "$G/" --prefix
check "get fields binary" -- -w fields get "$G/e"
check "get fields limit" -- -w fields get "$G/" --prefix --limit 2
check "get fields missing key" -- -w fields get "$G/nope"
check "get protobuf" -- -w protobuf get "$G/" --prefix
check "get protobuf missing key" -- -w protobuf get "$G/nope"
check "get fields env" --env ETCDCTL_WRITE_OUT=fields -- get "$G/a"
check "get print-value-only fields" -- -w fields get "$G/a" --print-value-only

# ---------------------------------------------------------------------------------------------
# del

check "del" --setup reset_d --post "ref get $P/d/ --prefix --keys-only" -- del "$P/d/a"
check "del missing" --setup reset_d -- del "$P/d/nope"
check "del prev-kv" --setup reset_d -- del "$P/d/a" --prev-kv
check "del prefix prev-kv" --setup reset_d -- del "$P/d/" --prefix --prev-kv
check "del prefix json" --setup reset_d -- -w json del "$P/d/" --prefix --prev-kv
check "del json missing" --setup reset_d -- -w json del "$P/d/nope"
check "del range" --setup reset_d --post "ref get $P/d/ --prefix --keys-only" -- del "$P/d/a" "$P/d/c"
check "del hex prev-kv" --setup reset_d -- --hex del "$P/d/b" --prev-kv
check "del from-key" --setup "reset_d; reset_z" --post "ref get $P/zz/ --prefix" -- del "$P/zz/b" --from-key
check "del no arguments" -- del
check "del too many arguments" -- del a b c
check "del prefix and from-key" -- del "$P/d/" --prefix --from-key
check "del prefix with range" -- del "$P/d/a" "$P/d/c" --prefix
check "del empty key" -- del ""
check "del fields prev-kv" --setup reset_d -- -w fields del "$P/d/" --prefix --prev-kv
check "del fields missing" --setup reset_d -- -w fields del "$P/d/nope"
check "del help" --usage -- del -h

# ---------------------------------------------------------------------------------------------
# txn

T=$P/t
txn_ok="value(\"$T/x\") = \"1\"
version(\"$T/y\") = \"2\"
mod(\"$T/y\") > \"0\"
create(\"$T/x\") < \"@REV@\"

put $T/new \"hello world\"
put $T/x 10 --prev-kv
get $T/ --prefix
del $T/y --prev-kv

get $T/x

"
txn_fail="val(\"$T/x\") != \"1\"

put $T/never 1

put $T/else else-value
get $T/x --keys-only
get $T/ --prefix --limit 1

"
txn_post="ref get $T/ --prefix"
check "txn success" --setup reset_t --input "$txn_ok" --post "$txn_post" -- txn
check "txn success json" --setup reset_t --input "$txn_ok" --post "$txn_post" -- -w json txn
check "txn success hex" --setup reset_t --input "$txn_ok" -- --hex txn
check "txn failure" --setup reset_t --input "$txn_fail" --post "$txn_post" -- txn
check "txn failure json" --setup reset_t --input "$txn_fail" -- --write-out=json txn
check "txn success fields" --setup reset_t --input "$txn_ok" --post "$txn_post" -- -w fields txn
check "txn failure fields" --setup reset_t --input "$txn_fail" -- -w fields txn
check "txn protobuf without writes" --setup reset_t --input "val(\"$T/x\") = \"1\"

get $T/ --prefix
get $T/x --keys-only

" -- -w protobuf txn
check "txn interactive" --setup reset_t --input "$txn_ok" -- txn -i
check "txn interactive (long flag)" --setup reset_t --input "$txn_fail" -- txn --interactive
check "txn nothing" --input $'\n\n\n' -- txn
check "txn short target names" --setup reset_t --input "ver(\"$T/x\") > \"0\"
c(\"$T/x\") != \"0\"
m(\"$T/x\") > \"0\"
val(\"$T/y\") = \"3\"

get $T/x

" -- txn
check "txn quoted words" --setup reset_t --input "value(\`$T/x\`) = \`1\`

put \"$T/sp ace\" \"tab\\there\\x00\\xff\" --prev-kv
get \"$T/sp ace\"
put $T/q \"quote \\\" inside\"
get $T/q

" -- --hex txn
check "txn compare with spaces" --setup reset_t --input "  value(\"$T/x\")   =   \"1\"  "$'\n\n'"  put $T/z 1  "$'\n\n\n' -- txn
check "txn empty key in request" --input $'\n\nput "" v\n\n' -- txn
check "txn prefix of request name" --setup reset_t --input $'\n\n'"g $T/x"$'\n\n' -- txn
check "txn delete range" --setup reset_t --input $'\n\n'"del $T/x $T/z"$'\n'"get $T/ --prefix --keys-only"$'\n\n' -- txn
check "txn argument" -- txn extra
check "txn empty input" -- txn
check "txn no blank line after failure" --input $'\n\nget k\n' -- txn
check "txn last line without newline" --input $'\n\n\nget k' -- txn
check "txn unknown target" --input $'foo("k") > "0"\n\n\n' -- txn
check "txn target with space" --input $'value ("k") = "1"\n\n\n' -- txn
check "txn no parenthesis" --input $'value "k" = "1"\n\n\n' -- txn
check "txn unquoted key" --input $'version(k) > "1"\n\n\n' -- txn
check "txn missing value" --input $'version("k") >\n\n\n' -- txn
check "txn no space before operator" --input $'value("k")="v"\n\n\n' -- txn
check "txn unterminated value" --input $'value("k") = "v\n\n\n' -- txn
check "txn unterminated key" --input $'value("k) = "v"\n\n\n' -- txn
check "txn bad escape" --input $'value("k\\q") = "1"\n\n\n' -- txn
check "txn bad number" --input $'version("k") > "x"\n\n\n' -- txn
check "txn one-word request" --input $'\nput\n\n\n' -- txn
check "txn unknown request" --input $'\nfoo a b\n\n\n' -- txn
check "txn put without value" --input $'\nput a\n\n\n' -- txn
check "txn put bad lease" --input $'\nput a b --lease=zz\n\n\n' -- txn
check "txn get bad sort" --input $'\nget a --sort-by=x\n\n\n' -- txn
check "txn del without key" --input $'\n\ndel --prefix\n\n' -- txn
check "txn put unknown flag" --input $'\nput k v --bogus\n\n\n' -- txn
check "txn get unknown flag" --input $'\nget k --bogus\n\n\n' -- txn
check "txn del unknown flag" --input $'\n\ndel k --bogus\n\n' -- txn
check "txn bad quoted word" --input $'\nput "a\\q" b\n\n\n' -- txn
check "txn help" --usage -- txn --help
# Words are byte strings: a NUL inside one (written \x00 in a quoted word) is part of it.
check "txn put key with NUL" --setup "reset_t; ref put $T/a orig" --post "ref -w json get $T/a --prefix" \
    --input $'\nput "'"$T"$'/a\\x00b" v\n\n\n' -- txn
check "txn del prefix with NUL" --setup "reset_t; ref put $T/fo 1; ref put $T/foo 2; ref put $T/fo/x 3" \
    --post "ref get $T/ --prefix --keys-only" --input $'\ndel "'"$T"$'/fo\\x00" --prefix\n\n\n' -- txn
check "txn get key with NUL" --setup "reset_t; ref put $T/a orig" --input $'\nget "'"$T"$'/a\\x00"\n\n\n' -- txn
check "txn range end with NUL" --setup reset_t --input $'\nget '"$T"$'/ "'"$T"$'/x\\x00"\n\n\n' -- txn
check "txn lease with NUL" --input $'\nput k v --lease "1\\x00"\n\n\n' -- txn
check "txn limit with NUL" --input $'\nget k --limit "1\\x00"\n\n\n' -- txn
check "txn sort target with NUL" --input $'\nget k --sort-by "KEY\\x00"\n\n\n' -- txn
check "txn consistency with NUL" --input $'\nget k --consistency "s\\x00"\n\n\n' -- txn
check "txn flag name with NUL" --input $'\nget k "--pre\\x00fix"\n\n\n' -- txn
check "txn request name with NUL" --input $'\n"get\\x00" k\n\n\n' -- txn
check "txn compare key with NUL" --setup "reset_t; ref put $T/a 1" \
    --input 'value("'"$T"'/a\x00") = "1"'$'\n\n'"put $T/b yes"$'\n\n'"put $T/b no"$'\n\n' --post "ref get $T/b" -- txn
check "txn compare on the empty key" --input $'value("") = "x"\n\nput '"$T/e"$' v\n\n\n' --post "ref get $T/e" -- txn
check "txn compare on the empty key json" --input $'version("") > "0"\n\n\n\n' -- -w json txn
check "txn compare on the empty key, bad number" --input $'version("") > "x"\n\n\n\n' -- txn
# etcdctl reads the txn 4 KiB ahead, and a put without a value takes what is left of stdin.
gets=$(for i in $(seq 300); do echo "get $T/x$i"; done)
check "txn longer than 4 KiB with a put without value" --setup reset_t --post "ref get $T/v" \
    --input $'\n'"put $T/v"$'\n'"$gets"$'\n\n\n' -- txn
pad=$(head -c 6000 /dev/zero | tr '\0' p)
check "txn put without value, input beyond 4 KiB" --setup reset_t --post "ref get $T/v --hex" \
    --input $'\n'"put $T/v"$'\n\n\n'"$pad" -- txn

# ---------------------------------------------------------------------------------------------
# global flags, environment and errors

check "endpoints flag" --no-env -- --endpoints="$EP" get "$G/a"
check "endpoints flag (space form)" --no-env -- --endpoints "$EP" get "$G/a"
check "endpoints flag after command" --no-env -- get "$G/a" --endpoints="$EP"
check "endpoints list" --no-env -- --endpoints="$EP,$EP" get "$G/a"
check "endpoints with spaces" --no-env -- --endpoints=" $EP " get "$G/a"
check "endpoints repeated" --no-env -- --endpoints=127.0.0.1:1 --endpoints="$EP" -w json get "$G/a"
check "endpoints with scheme" --no-env -- --endpoints="http://$EP" get "$G/a"
check "no endpoints" --no-env -- --endpoints= get "$G/a"
check "no endpoints (txn)" --no-env --input $'\n\n\n' -- --endpoints= txn
check "endpoints env and flag" -- --endpoints="$EP" get "$G/a"
check "write-out shorthand" -- -wjson get "$G/a"
check "write-out shorthand =" -- -w=json get "$G/a"
check "write-out long" -- --write-out json get "$G/a"
check "write-out simple" -- -w simple get "$G/a"
check "write-out unknown" -- -w yaml get "$G/a"
check "write-out table" -- -w table put "$P/k" v
check "write-out env" --env ETCDCTL_WRITE_OUT=json -- get "$G/a"
check "hex env" --env ETCDCTL_HEX=true -- get "$G/a"
check "hex env bad value" --env ETCDCTL_HEX=yes -- get "$G/a"
check "write-out env and flag" --env ETCDCTL_WRITE_OUT=json -- -w simple get "$G/a"
check "unknown env variable" --env ETCDCTL_FOO=bar -- get "$G/a"
check "empty env variable" --env ETCDCTL_HEX= -- get "$G/a"
check "api env 3" --env ETCDCTL_API=3 -- get "$G/a"
check "security defaults in the environment" --env ETCDCTL_INSECURE_TRANSPORT=true \
    --env ETCDCTL_INSECURE_SKIP_TLS_VERIFY=false --env ETCDCTL_INSECURE_DISCOVERY=true -- get "$G/a"
check "security defaults as flags" -- --insecure-transport --insecure-skip-tls-verify=false get "$G/a"
check "empty user and discovery" -- --user= --password= -d "" --discovery-srv-name= get "$G/a"
check "empty cert" -- --cert= get "$G/a"
check "empty key" -- --key "" get "$G/a"
check "empty cacert" -- --cacert= get "$G/a"
check "dial-timeout" -- --dial-timeout=1s get "$G/a"
check "dial-timeout compound" -- --dial-timeout 1m1.5s get "$G/a"
check "command-timeout" -- --command-timeout=10s get "$G/a"
check "keepalive flags" -- --keepalive-time=30s --keepalive-timeout=10s get "$G/a"
check "bad dial-timeout" --usage -- --dial-timeout=abc get "$G/a"
check "dial-timeout without unit" --usage -- --dial-timeout=5 get "$G/a"
check "dial-timeout bad unit" --usage -- --dial-timeout=5y get "$G/a"
check "bad hex value" --usage -- --hex=2 get "$G/a"
check "unknown command" -- bogus
check "unknown command with suggestion" -- gte "$G/a"
check "abbreviation shared with an etcdctl command" --setup reset_d --post "ref get $P/d/ --prefix --keys-only" \
    -- d "$P/d/a"
check "abbreviation shared with completion" -- comp 1
check "abbreviation of one etcdctl command" -- pu "$P/k" v
check "help for an ambiguous abbreviation" --no-stdout -- help d
check "help by abbreviation" --usage -- he del
check "unknown global flag" -- --bogus get "$G/a"
check "unknown flag before command" --usage -- --bogus=1 get "$G/a"
check "help command" --usage -- help get
check "flag value looking like a command" --no-env -- --endpoints "$EP" put "$P/k" --prev-kv=false v
check "unreachable get" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s get "$G/a"
check "unreachable put" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s put "$P/k" v
check "unreachable del" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s del "$P/k"
check "unreachable compaction" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s \
    compaction 5
check "unreachable get protobuf" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s \
    -w protobuf get "$G/a"
check "unreachable put fields" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms --command-timeout=1s \
    -w fields put "$P/k" v
check "unreachable with bad args" --no-env -- --endpoints=127.0.0.1:1 --dial-timeout=300ms get

check "root help" --no-stdout -- -h
check "root with only flags" --no-stdout -- -w json
check "help before command" --no-stdout -- --help get
check "help for an unknown topic" --no-stdout -- help bogus
check "flag needs an argument" --usage -- put "$P/k" v -w
check "long flag needs an argument" --usage -- get "$G/a" --limit
check "shorthand cluster" --usage -- get -hx "$G/a"
check "bool flag false" -- get --prefix=false "$G/a"
check "bool flag 1" --setup reset_d -- del "$P/d/a" --prev-kv=1
check "sort lower case" -- get "$G/" --prefix --order=ascend --sort-by=key
check "consistency upper case" -- get "$G/a" --consistency=S
check "negative rev" -- get "$G/a" --rev=-5
check "zero command-timeout" -- --command-timeout=0s get "$G/a"
check "negative command-timeout" -- --command-timeout=-1s get "$G/a"
check "zero dial-timeout" -- --dial-timeout=0 get "$G/a"
check "put negative lease" -- put "$P/k" v --lease=-1
check "put lease with 0x" -- put "$P/k" v --lease=0x10
check "put huge lease" -- put "$P/k" v --lease=ffffffffffffffffff
check "txn interactive with argument" -- txn -i extra
check "endpoint health unknown flag" --usage -- endpoint health --bogus
check "endpoint health extra argument" -- endpoint health extra

# ---------------------------------------------------------------------------------------------
# endpoint health

check "endpoint health" -- endpoint health
check "endpoint health json" -- -w json endpoint health
check "endpoint health hex" -- --hex endpoint health
check "endpoint health two" --no-env -- --endpoints="$EP,$EP" endpoint health
check "endpoint health json two" --no-env -- --endpoints="$EP,$EP" -w json endpoint health
check "endpoint health unhealthy" --no-env -- --endpoints="$EP,127.0.0.1:1" --dial-timeout=300ms \
    --command-timeout=1s endpoint health
check "endpoint health unhealthy json" --no-env -- --endpoints="127.0.0.1:1,$EP" --dial-timeout=300ms \
    --command-timeout=1s -w json endpoint health
check "endpoint health endpoint with spaces" --no-env -- --endpoints="$EP, $EP " --dial-timeout=300ms \
    --command-timeout=1s endpoint health
check "endpoint health endpoint with spaces json" --no-env -- --endpoints=" $EP" --dial-timeout=300ms \
    --command-timeout=1s -w json endpoint health
check "endpoint health no endpoints" --no-env -- --endpoints= endpoint health
check "endpoint health no endpoints json" --no-env -- --endpoints= -w json endpoint health
check "endpoint health unsupported format" --no-env -- --endpoints="$EP" -w yaml endpoint health
check "endpoint health fields" -- -w fields endpoint health
check "endpoint health protobuf" -- -w protobuf endpoint health
check "endpoint health protobuf unhealthy" --no-env -- --endpoints="$EP,127.0.0.1:1" --dial-timeout=300ms \
    --command-timeout=1s -w protobuf endpoint health
check "endpoint health env and flag" -- --endpoints="$EP" endpoint health
check "endpoint alone" --no-stdout -- endpoint
check "endpoint health help" --usage -- endpoint health --help

# ---------------------------------------------------------------------------------------------
# watch (history replayed from a known revision prints the same every time)

W=$P/w
reset_w() { # five events: put a, put a, delete a, put b (binary), put c
    ref del --prefix "$W/"
    ref put "$W/a" 1
    ref put "$W/a" 2
    ref del "$W/a"
    printf 'x\001y' | ref put "$W/b"
    ref put "$W/c" "sp ace"
}
check "watch prefix history" --setup reset_w --bg "lines 15" -- watch --rev @REV-4@ --prefix "$W/"
check "watch prefix history prev-kv" --setup reset_w --bg "lines 19" -- watch --rev=@REV-4@ --prefix "$W/" --prev-kv
check "watch json" --setup reset_w --bg "lines 1" -- -w json watch --rev @REV-4@ --prefix "$W/" --prev-kv
check "watch fields" --setup reset_w --bg "grep -q 'sp ace' \"\$out\"" -- -w fields watch --rev @REV-4@ --prefix "$W/" --prev-kv
# Protobuf output is compared as it is: both tools replay the same history, written once.
reset_w >/dev/null 2>&1
wrev=$(cur_rev)
check "watch protobuf" --bg '[[ -s $out ]]' -- -w protobuf watch --rev $((wrev - 4)) --prefix "$W/" --prev-kv
check "watch hex" --setup reset_w --bg "lines 15" -- --hex watch --rev @REV-4@ --prefix "$W/"
check "watch range" --setup reset_w --bg "lines 12" -- watch --rev @REV-4@ "$W/a" "$W/c"
check "watch key" --setup reset_w --bg "lines 9" -- watch --rev @REV-4@ "$W/a"
check "watch three keys (the third is ignored)" --setup reset_w --bg "lines 12" -- watch --rev @REV-4@ "$W/a" "$W/c" x
check "watch everything" --setup reset_w --bg "lines 3" -- watch --rev @REV@ --prefix ""
check "watch live" --setup "ref del --prefix $W/" --during "ref put $W/live 1; ref put $W/live 2" --bg "lines 6" \
    -- watch "$W/live"
check "watch live json" --setup "ref del --prefix $W/" --during "ref put $W/live 1" --bg "lines 1" \
    -- -w json watch "$W/live" --prev-kv
check "watch live delete" --setup "reset_w" --during "ref del $W/c" --bg "lines 5" -- watch "$W/c" --prev-kv
check "watch table" --setup reset_w --bg false -- -w table watch --rev @REV-4@ --prefix "$W/"
watch_env='echo "ETCD_WATCH_REVISION=$ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE"'
check "watch exec" --setup reset_w --bg "lines 20" -- watch --rev @REV-4@ --prefix "$W/" -- sh -c "$watch_env"
check "watch exec with arguments" --setup reset_w --bg "lines 12" -- watch --rev @REV-4@ "$W/a" -- echo "a b" c
check "watch exec, range end before --" --setup reset_w --bg "lines 16" -- watch --rev @REV-4@ "$W/a" "$W/c" -- echo x
check "watch exec key after flags" --setup reset_w --bg "lines 12" -- watch "$W/a" --rev @REV-4@ -- echo "$W/a"
check "watch exec failing" --setup reset_w --bg false -- watch --rev @REV-4@ --prefix "$W/" -- false
check "watch exec not found" --setup reset_w --bg false -- watch --rev @REV-4@ "$W/c" -- "no-such-command-$$" x
check "watch exec path not found" --setup reset_w --bg false -- watch --rev @REV-4@ "$W/c" -- ./no/such
check "watch exec not executable" --setup reset_w --bg false -- watch --rev @REV-4@ "$W/c" -- /etc/hostname
check "watch exec killed" --setup reset_w --bg false -- watch --rev @REV-4@ "$W/c" -- sh -c 'kill -9 $$'
check "watch no arguments" -- watch
check "watch only flags" -- watch --rev 5
check "watch separator without command" -- watch "$W/a" --
check "watch range and prefix" -- watch "$W/a" "$W/c" --prefix
check "watch bad rev" --usage -- watch --rev=x "$W/a"
check "watch unknown flag" --usage -- watch --bogus "$W/a"
check "watch help" --usage -- watch --help
check "watch key from the environment" --setup reset_w --env "ETCDCTL_WATCH_KEY=$W/a" --bg "lines 9" -- watch --rev @REV-4@
check "watch range from the environment" --setup reset_w --env "ETCDCTL_WATCH_KEY=$W/a" \
    --env "ETCDCTL_WATCH_RANGE_END=$W/c" --bg "lines 12" -- watch --rev @REV-4@
check "watch key from the environment, exec" --setup reset_w --env "ETCDCTL_WATCH_KEY=$W/c" --bg "lines 4" \
    -- watch --rev @REV-4@ -- echo x
check "watch key from the environment and the command line" --env "ETCDCTL_WATCH_KEY=$W/a" -- watch "$W/a"
check "watch key from the environment and the command line, exec" --env "ETCDCTL_WATCH_KEY=$W/a" \
    -- watch "$W/b" -- echo x
check "watch range end from the environment alone" --env "ETCDCTL_WATCH_RANGE_END=$W/c" -- watch "$W/a"
check "watch empty key variable" --setup reset_w --env "ETCDCTL_WATCH_KEY=" --bg "lines 3" -- watch --rev @REV@ "$W/c"
check "watch by abbreviation, exec" --setup reset_w --bg "lines 4" -- wat --rev @REV@ "$W/c" -- echo x
check "watch interactive" --setup reset_w --input "watch --rev @REV-4@ --prefix $W/"$'\n' --eof --bg "lines 15" \
    -- watch -i
check "watch interactive json" --setup reset_w --input "watch --rev @REV-4@ --prefix $W/ --prev-kv"$'\n' --eof \
    --bg "lines 1" -- -w json watch --interactive
check "watch interactive bad lines" --setup reset_w \
    --input $'\nfoo bar\nwatch\nwatch a b --prefix\n'"watch --rev @REV-4@ \"$W/a\""$'\n' --eof --bg "lines 9" -- watch -i
check "watch interactive exec" --setup reset_w --input "watch --rev @REV-4@ $W/a -- echo \"a b\""$'\n' --eof \
    --bg "lines 12" -- watch -i
check "watch interactive separator without command" --input $'watch k --\n' --eof --bg false -- watch -i
check "watch interactive unknown flag" --input $'watch --bogus k\n' --eof --bg false -- watch -i
check "watch interactive bad quoting" --input $'watch "k\\q"\n' --eof --bg false -- watch -i
check "watch interactive last line without newline" --input 'watch k' --eof --bg false -- watch -i
check "watch interactive progress" --setup "ref del --prefix $W/" --input "watch $W/p"$'\n' \
    --during 'echo progress >&8' --eof --bg "lines 1" -- watch -i
check "watch interactive key from the environment" --setup reset_w --env "ETCDCTL_WATCH_KEY=$W/c" \
    --input $'watch --rev @REV@\n' --eof --bg "lines 3" -- watch -i
check "watch unreachable" --no-env --watchers 0 --bg '((i >= 20))' -- --endpoints=127.0.0.1:1 watch k

# ---------------------------------------------------------------------------------------------
# lease

check "lease list" -- lease list
check "lease list json" -- -w json lease list
check "lease list fields" -- -w fields lease list
check "lease list protobuf" -- -w protobuf lease list
check "lease list argument" -- lease list x
check "lease grant" --new-lease --post revoke_new -- lease grant 60
check "lease grant json" --new-lease --post revoke_new -- -w json lease grant 60
check "lease grant fields" --new-lease --post revoke_new -- -w fields lease grant 60
check "lease grant protobuf" --new-lease --post revoke_new -- -w protobuf lease grant 60
check "lease grant table" --new-lease --post revoke_new -- -w table lease grant 60
check "lease grant zero (etcd's minimum)" --new-lease --post revoke_new -- lease grant 0
check "lease grant negative" --new-lease --post revoke_new -- lease grant -- -5
check "lease grant too large" -- lease grant 99999999999
check "lease grant no arguments" -- lease grant
check "lease grant two arguments" -- lease grant 1 2
check "lease grant bad ttl" -- lease grant 1x
check "lease grant hex ttl" -- lease grant 0x10
check "lease grant by abbreviation" --new-lease --post revoke_new -- lease gr 60
check "lease grant help" --usage -- lease grant --help
check "lease revoke" --setup grant_tl --new-lease --post 'ref lease timetolive $TL' -- lease revoke @LEASE@
check "lease revoke json" --setup grant_tl --new-lease -- -w json lease revoke @LEASE@
check "lease revoke fields" --setup grant_tl --new-lease -- -w fields lease revoke @LEASE@
check "lease revoke protobuf" --setup grant_tl --new-lease -- -w protobuf lease revoke @LEASE@
check "lease revoke deletes its keys" --setup "grant_tl; ref put $P/lk v --lease=\$TL" --new-lease \
    --post "ref get $P/lk" -- lease revoke @LEASE@
check "lease revoke unknown" -- lease revoke 1234
check "lease revoke no arguments" -- lease revoke
check "lease revoke bad id" -- lease revoke zz
check "lease revoke id with 0x" -- lease revoke 0x12
check "lease revoke huge id" -- lease revoke ffffffffffffffffff
# The remaining TTL counts down: each of these asks about a lease granted just before it, so
# both clients see the same second (a lease of the whole run would differ whenever the two
# calls fall on either side of a second).
fresh() { "$NEW" lease grant 600 2>/dev/null | sed -E 's/^lease ([0-9a-f]+) granted.*/\1/'; }
FRESH=$(fresh)
check "lease timetolive" -- lease timetolive "$FRESH"
# One key: etcd lists a lease's keys in no particular order.
check "lease timetolive keys" --setup "grant_tl; ref put $P/lk1 v --lease=\$TL" \
    --new-lease --post revoke_new -- lease timetolive @LEASE@ --keys
check "lease timetolive keys json" --setup "grant_tl; ref put $P/lk1 v --lease=\$TL" --new-lease --post revoke_new \
    -- -w json lease timetolive --keys @LEASE@
check "lease timetolive keys fields" --setup "grant_tl; ref put $P/lk1 v --lease=\$TL" --new-lease --post revoke_new \
    -- -w fields lease timetolive --keys @LEASE@
check "lease timetolive no keys" --setup grant_tl --new-lease --post revoke_new -- lease timetolive @LEASE@ --keys
FRESH=$(fresh)
check "lease timetolive json" -- -w json lease timetolive "$FRESH"
FRESH=$(fresh)
check "lease timetolive protobuf" -- -w protobuf lease timetolive "$FRESH"
check "lease timetolive unknown" -- lease timetolive 1234
check "lease timetolive unknown json" -- -w json lease timetolive 1234 --keys
check "lease timetolive unknown fields" -- -w fields lease timetolive 1234
check "lease timetolive table" -- -w table lease timetolive 1234
check "lease timetolive no arguments" -- lease timetolive
check "lease timetolive two arguments" -- lease timetolive 1 2
check "lease timetolive bad id" -- lease timetolive -- -x
check "lease keep-alive once" -- lease keep-alive --once "$LEASE"
check "lease keep-alive once json" -- -w json lease keep-alive --once "$LEASE"
check "lease keep-alive once fields" -- -w fields lease keep-alive --once "$LEASE"
check "lease keep-alive once protobuf" -- -w protobuf lease keep-alive --once "$LEASE"
check "lease keep-alive once table" -- -w table lease keep-alive --once "$LEASE"
check "lease keep-alive once unknown" -- lease keep-alive --once 1234
check "lease keep-alive" --watchers 0 --bg "lines 1" -- lease keep-alive "$LEASE"
check "lease keep-alive json" --watchers 0 --bg "lines 1" -- -w json lease keep-alive "$LEASE"
check "lease keep-alive table" --watchers 0 --bg false -- -w table lease keep-alive "$LEASE"
check "lease keep-alive unknown" -- lease keep-alive 1234
check "lease keep-alive unknown json" -- -w json lease keep-alive 1234
check "lease keep-alive no arguments" -- lease keep-alive
check "lease keep-alive bad id" -- lease keep-alive 12g
check "lease keep-alive help" --usage -- lease keep-alive -h
check "lease alone" --usage -- lease
check "lease unreachable grant" --no-env -- --endpoints=127.0.0.1:1 --command-timeout=1s lease grant 10
check "lease unreachable revoke" --no-env -- --endpoints=127.0.0.1:1 --command-timeout=1s lease revoke 10
check "lease unreachable list" --no-env --watchers 0 --bg '((i >= 20))' -- --endpoints=127.0.0.1:1 lease list

# ---------------------------------------------------------------------------------------------
# compaction (last: it makes old revisions unreadable)

compact_setup="ref put $P/c 1; ref put $P/c 2"
check "compaction" --setup "$compact_setup" -- compaction @REV-1@
check "compaction physical" --setup "$compact_setup" -- compaction @REV@ --physical
check "compaction json" --setup "$compact_setup" -- -w json compaction @REV-1@
check "compaction fields" --setup "$compact_setup" -- -w fields compaction @REV-1@
check "compaction protobuf" --setup "$compact_setup" -- -w protobuf compaction @REV-1@
check "compaction table" --setup "$compact_setup" -- -w table compaction @REV-1@
check "compaction fields env" --setup "$compact_setup" --env ETCDCTL_WRITE_OUT=fields -- compaction @REV-1@
check "compaction fields compacted" -- -w fields compaction 1
check "compaction compacted" -- compaction 1
check "compaction zero" -- compaction 0
check "compaction negative" -- compaction -- -3
check "compaction future" -- compaction @REV+1000@
check "compaction not a number" -- compaction abc
check "compaction no arguments" -- compaction
check "compaction two arguments" -- compaction 1 2
check "compaction number with suffix" -- compaction 1x
check "compaction out of range" -- compaction 99999999999999999999
check "compaction help" --usage -- compaction --help
check "get compacted rev" -- get "$G/a" --rev=1
check "watch compacted rev" -- watch --rev 1 "$G/a"
check "watch compacted rev json" -- -w json watch --rev 1 "$G/a"
check "watch compacted rev fields" -- -w fields watch --rev 1 "$G/a"
check "watch compacted rev protobuf" -- -w protobuf watch --rev 1 "$G/a"
check "watch negative rev, compacted" -- watch --rev=-1 "$G/a"
check "watch compacted rev interactive" --input $'watch --rev 1 k\n' --eof --bg "grep -q canceled \"\$work/\$side.err\"" \
    -- watch -i

# ---------------------------------------------------------------------------------------------
# etcdcctl only: what etcdctl 3.4 lacks (--count-only) or crashes on (lease compares)

reset_g
count=$(ref get "$G/" --prefix --keys-only | grep -c "^$G/")
expect "get count-only" "$count" 0 -- get "$G/" --prefix --count-only
want=$(ref -w json get "$G/" --prefix | sed -E 's/"kvs":\[[^]]*\],//')
expect "get count-only json" "$want" 0 -- -w json get "$G/" --prefix --count-only
expect "get count-only and keys-only" "" 128 -- get "$G/" --prefix --count-only --keys-only
ref put "$P/l" v --lease="$LEASE" >/dev/null
expect "txn lease compare" $'SUCCESS\n\nOK' 0 --input "lease(\"$P/l\") = \"$LEASE\""$'\n\n'"put $P/l2 v"$'\n\n\n' -- txn
expect "txn lease compare false" "FAILURE" 0 --input "lease(\"$P/l\") != \"$LEASE\""$'\n\n\n\n' -- txn
expect "txn unknown operator" "" 3 --input $'version("k") >= "1"\n\n\n' -- txn
# etcdctl 3.4 waits forever for help inside a txn, and garbles single-quoted words.
expect "txn help request" "" 3 --err "invalid txn request: help put" --input $'\nhelp put\n\n\n' -- txn
expect "txn request help flag" "" 3 --err "invalid txn request: put --help" --input $'\nput --help\n\n\n' -- txn
ref del "$P/sq key" >/dev/null
expect "txn single-quoted word" $'SUCCESS\n\nOK' 0 --input $'\nput \''"$P"$'/sq key\' \'a "b"\'\n\n\n' -- txn
if [[ $(ref get "$P/sq key" --print-value-only) != 'a "b"' ]]; then
    failed=$((failed + 1))
    echo "FAIL: txn single-quoted word: not written as given"
fi
expect "debug flag" "<any>" 1 --err "unknown flag: --debug" -- get "$G/a" --debug
expect "endpoint health cluster flag" "<any>" 1 --err "unknown flag: --cluster" -- endpoint health --cluster
expect "endpoint health table" "" 4 --err "table not supported as output format" -- -w table endpoint health
# etcdctl shows the usage and exits 0 for a subcommand it does not know: a script sees success.
expect "endpoint unknown subcommand" "" 1 --err 'unknown command "bogus" for "etcdcctl endpoint"' -- endpoint bogus
expect "endpoint ambiguous subcommand" "" 1 --err $'Did you mean this?\n\thealth\n\thashkv' -- endpoint h
expect "endpoint status" "" 1 --err "\"endpoint status\" command is not implemented" -- endpoint status
expect "endpoint hashkv" "" 1 --err "\"endpoint hashkv\" command is not implemented" -- endpoint hashkv
expect "etcdctl command not implemented" "" 1 --err "\"member\" command is not implemented" -- member list
expect "abbreviation of an etcdctl command not implemented" "" 1 --err "\"member\" command is not implemented" -- mem list
expect "lease unknown subcommand" "" 1 --err 'unknown command "bogus" for "etcdcctl lease"' -- lease bogus
# etcdctl 3.4 has no --progress-notify (3.5 has): the watch runs as without it.
expect "watch progress-notify" "" 5 --err "watch was canceled (etcdserver: mvcc: required revision has been compacted)" \
    -- watch --progress-notify --rev 1 "$G/a"

# Authentication, TLS and DNS discovery are not implemented: setting them must stop the command
# before anything is sent (etcdctl would authenticate, encrypt, or look the endpoints up).
refused() { # NAME TEXT [expect options] -- ARGS...: refused, with TEXT on stderr, $P/refused not written
    local name=$1 text=$2
    shift 2
    expect "$name" "" 4 --err "$text: " "$@"
    if [[ -n $(ref get "$P/refused") ]]; then
        failed=$((failed + 1))
        echo "FAIL: $name: the put was sent"
        ref del "$P/refused" >/dev/null
    fi
}
refused "user flag" "--user" -- --user root:secret put "$P/refused" v
refused "password flag" "--password" -- --user= --password secret put "$P/refused" v
refused "cert flag" "--cert" -- --cert /dev/null put "$P/refused" v
refused "key flag" "--key" -- --key=/dev/null put "$P/refused" v
refused "cacert flag" "--cacert" -- --cacert /dev/null put "$P/refused" v
refused "insecure-transport=false" "--insecure-transport=false" -- --insecure-transport=false put "$P/refused" v
refused "insecure-skip-tls-verify" "--insecure-skip-tls-verify=true" -- --insecure-skip-tls-verify \
    put "$P/refused" v
refused "discovery-srv shorthand" "--discovery-srv" -- -d example.com put "$P/refused" v
refused "ETCDCTL_USER" "ETCDCTL_USER" --env ETCDCTL_USER=root:secret -- put "$P/refused" v
refused "ETCDCTL_PASSWORD" "ETCDCTL_PASSWORD" --env ETCDCTL_PASSWORD=secret -- put "$P/refused" v
refused "ETCDCTL_CERT" "ETCDCTL_CERT" --env ETCDCTL_CERT=/dev/null -- put "$P/refused" v
refused "ETCDCTL_KEY" "ETCDCTL_KEY" --env ETCDCTL_KEY=/dev/null -- put "$P/refused" v
refused "ETCDCTL_CACERT" "ETCDCTL_CACERT" --env ETCDCTL_CACERT=/dev/null -- put "$P/refused" v
refused "ETCDCTL_INSECURE_TRANSPORT" "ETCDCTL_INSECURE_TRANSPORT" --env ETCDCTL_INSECURE_TRANSPORT=false \
    -- put "$P/refused" v
refused "ETCDCTL_INSECURE_SKIP_TLS_VERIFY" "ETCDCTL_INSECURE_SKIP_TLS_VERIFY" \
    --env ETCDCTL_INSECURE_SKIP_TLS_VERIFY=true -- put "$P/refused" v
refused "ETCDCTL_INSECURE_DISCOVERY" "ETCDCTL_INSECURE_DISCOVERY" --env ETCDCTL_INSECURE_DISCOVERY=false \
    -- put "$P/refused" v
refused "ETCDCTL_DISCOVERY_SRV" "ETCDCTL_DISCOVERY_SRV" --env ETCDCTL_DISCOVERY_SRV=example.com -- put "$P/refused" v
refused "txn with --user" "--user" --input $'\nput '"$P/refused"$' v\n\n\n' -- --user root txn
expect "user flag value is not a command" "" 4 --err "--user: " -- --user del get "$G/a"
expect "compaction with --user" "" 4 --err "--user: " -- --user root compaction 1
expect "endpoint health with --cacert" "" 4 --err "--cacert: " -- --cacert /dev/null endpoint health

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
