#!/usr/bin/env bash
# tools/bench/run.sh: weir's benchmark suite in one command (issue 5; see BENCHMARKS.md).
#   tools/bench/run.sh [--quick] [--scenario N]... [--pairs N] [--sales-mb M] [--sales-big-mb M]
# Builds a release binary in build-bench/, installs the peers that are missing (Debian:
# ninja-build miller sqlite3 wrk; npm: aws-local-stepfunctions from tools/bench/package-lock.json
# with `npm ci`), then runs tools/bench/bench.py: every scenario with weir and its peer
# alternately, a table at the end. The table and a JSON copy are kept in build-bench/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$root/tools/bench"
build="$root/build-bench"

"$root/tools/deps.sh" build
pkgs=(ninja-build miller sqlite3 wrk nodejs npm libsqlite3-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian: only install them when the commands are absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}")
    missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d "$bench/node_modules/aws-local-stepfunctions" ]; then
    (cd "$bench" && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" weir >/dev/null

out="$build/bench-results"
set +e
python3 "$bench/bench.py" --weir "$build/weir" --workdir "$build/bench-work" \
    --json-out "$out.json" "$@" | tee "$out.txt"
rc=${PIPESTATUS[0]}
echo "bench: results in $out.txt and $out.json" >&2
exit "$rc"
