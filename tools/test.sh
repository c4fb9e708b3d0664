#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test with ctest (unit, integration, example
# pipelines, and the conformance suites in ../shared when that folder exists).
#   tools/test.sh [ctest args...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

tools/deps.sh test
# The benchmark smoke test compares with aws-local-stepfunctions (npm, locked versions); it is
# skipped, not failed, when npm cannot install it.
if command -v npm >/dev/null 2>&1 && [ ! -d tools/bench/node_modules ]; then
    (cd tools/bench && npm ci --silent --no-audit --no-fund) || echo "npm ci failed: the benchmark smoke test will skip its ASL peer"
fi
build=${WEIR_TEST_BUILD:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DWEIR_SANITIZE=address,undefined >/dev/null
ninja -C "$build"
tools/lint.sh
# LeakSanitizer stays on; ASan/UBSan failures abort the test that hit them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
