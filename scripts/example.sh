#!/usr/bin/env bash
# Builds etcdc and runs examples/put_get.c: against $ETCDC_ENDPOINTS when set, otherwise
# against a local etcd started on free loopback ports for the run and stopped after it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build examples/put_get tests/harness/run-with-etcd >/dev/null
if [ -n "${ETCDC_ENDPOINTS:-}" ]; then
    exec build/examples/put_get
fi
exec build/tests/harness/run-with-etcd build/examples/put_get
