#!/usr/bin/env bash
# Installs the Debian packages weir needs to build and test, if any is missing.
#   tools/deps.sh [build|test]
# "build" (default): compiler, CMake, Ninja, the -dev libraries, and python3 (the example
# pipelines' data generator and handlers).
# "test": also what the test suite uses (python3, procps for pgrep/ps, awscli for the
# Step Functions API test).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config git python3
      libuv1-dev libsqlite3-dev libyaml-dev libjansson-dev libpq-dev libcurl4-openssl-dev
      libmicrohttpd-dev libssl-dev)
if [ "${1:-build}" = test ]; then
    pkgs+=(python3 procps clang-format postgresql awscli miller sqlite3 wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
