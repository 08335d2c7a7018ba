#!/usr/bin/env bash
# Builds etcdc with -Werror and runs every test suite (unit, integration against real etcd
# processes, CLI, install, examples), again under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the async, loop-timer, close, watch and lease tests under ThreadSanitizer.
#
# Ends with one line, "tests: N passed, N failed, N skipped", over all runs, and exits non-zero
# when any test failed, when meson test failed, or when a run did not run every test it should:
# a test that never ran counts as failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# Tests start their own etcd on loopback; no proxy may intercept that.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY grpc_proxy no_proxy NO_PROXY

# The ThreadSanitizer run: these tests (meson test names) and their executables.
tsan_tests=(async loop_timers close watch watch_many watch_flow lease lease_failover)
tsan_targets=(tests/integration/test_async tests/unit/test_loop_timers tests/integration/test_close
              tests/integration/test_watch tests/integration/test_watch_many tests/integration/test_watch_flow
              tests/integration/test_lease tests/integration/test_lease_failover)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=()

setup() {
    local dir=$1; shift
    [ -f "$dir/build.ninja" ] || meson setup "$dir" -Dwerror=true "$@" >/dev/null
}

# run_tests DIR [TEST...]: runs the named tests, or all of them, and records what the run must
# show: the tests it had to run (all that the build defines, or exactly the named ones), meson's
# exit status and a log written by this run, not left over from an earlier one.
run_tests() {
    local dir=$1; shift
    local n=${#runs[@]}
    local expected="$work/$n.expected" status="$work/$n.status"
    if [ $# -gt 0 ]; then
        printf '%s\n' "$@" >"$expected"
    else
        meson test -C "$dir" --no-rebuild --list | { grep ' / ' || true; } >"$expected"
    fi
    rm -f "$dir/meson-logs/testlog.json"
    local rc=0
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "${PROCESSES:-2}" "$@" || rc=$?
    echo "$rc" >"$status"
    runs+=("$dir" "$dir/meson-logs/testlog.json" "$expected" "$status")
}

echo "== build and test (-Werror)"
setup build-test
ninja -C build-test
run_tests build-test

echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
run_tests build-asan

echo "== async, watch and lease tests under ThreadSanitizer"
setup build-tsan -Db_sanitize=thread -Db_lundef=false
ninja -C build-tsan "${tsan_targets[@]}"
# One test at a time: ThreadSanitizer slows the client several times over, and two such tests
# side by side (each with its own etcd cluster) on a 2-core machine stretch the lease tests'
# deadlines for no gain in what TSan checks.
PROCESSES=1 TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" run_tests build-tsan "${tsan_tests[@]}"

# One closing line over all runs, counted from meson's own logs.
python3 - "${runs[@]}" <<'PY'
import json, os, sys

passed = failed = skipped = 0
problems = []
args = sys.argv[1:]
for i in range(0, len(args), 4):
    run, log, expected_file, status_file = args[i:i + 4]
    with open(expected_file) as f:
        expected = [line.strip() for line in f if line.strip()]
    with open(status_file) as f:
        status = int(f.read().strip())
    if not expected:
        problems.append(f"{run}: the build defines no tests")
    run_failed = 0
    ran = set()  # each test that ran, by its full name (project:suite / name) and by its name
    records = 0
    if not os.path.isfile(log):
        problems.append(f"{run}: meson test wrote no {log}")
    else:
        with open(log) as f:
            for line in f:
                rec = json.loads(line)
                records += 1
                r = rec.get("result")
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP":
                    skipped += 1
                else:
                    run_failed += 1
                ran.update((rec["name"], rec["name"].split(" / ", 1)[-1]))
        if not records:
            problems.append(f"{run}: meson test ran no test")
    missing = [n for n in expected if n not in ran]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        problems.append(f"{run}: {len(expected) - len(missing)} of the {len(expected)} tests it must run ran; "
                        f"never ran: {shown}")
        run_failed += len(missing)
    elif records < len(expected):
        problems.append(f"{run}: {records} results for {len(expected)} tests")
        run_failed += len(expected) - records
    if status != 0:
        problems.append(f"{run}: meson test exited with status {status}")
        run_failed = max(run_failed, 1)
    failed += run_failed
for p in problems:
    print("FAIL:", p)
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or problems else 0)
PY
