#!/usr/bin/env bash
# Installs what is missing, builds weir (release) and runs the example daily-sales pipeline
# offline, showing each task's progress.
#   tools/demo.sh [extra `weir run` args, e.g. --json]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

tools/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build weir
exec build/weir run dags/daily_sales.yaml "$@"
