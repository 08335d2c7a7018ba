#!/usr/bin/env bash
# Builds etcdc with -Werror and runs every test suite (unit, integration against real etcd
# processes, CLI, install, examples), again under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the async and loop-timer tests under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# Tests start their own etcd on loopback; no proxy may intercept that.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY grpc_proxy no_proxy NO_PROXY

run_suite() {
    local dir=$1; shift
    [ -f "$dir/build.ninja" ] || meson setup "$dir" -Dwerror=true "$@" >/dev/null
    ninja -C "$dir"
    meson test -C "$dir" --print-errorlogs --num-processes 2 || true
}

echo "== build and test (-Werror)"
run_suite build-test
echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false

echo "== async tests under ThreadSanitizer"
[ -f build-tsan/build.ninja ] || meson setup build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false >/dev/null
ninja -C build-tsan tests/integration/test_async tests/unit/test_loop_timers
TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    meson test -C build-tsan --no-rebuild --print-errorlogs async loop_timers || true

# One closing line over all runs, counted from meson's own logs.
python3 - build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json build-tsan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
