#!/usr/bin/env bash
# Runs one conformance suite from the shared folder beside the project:
#   conformance.sh SHARED_DIR SUITE WEIR_BINARY
# Exits 77 (ctest: skipped) when the suite is not there.
set -u
shared=$1 suite=$2 weir=$3
dir="$shared/conformance/$suite"
if [ ! -x "$dir/run.sh" ] && [ ! -f "$dir/run.sh" ]; then
    echo "conformance suite $suite not found at $dir: skipped"
    exit 77
fi
exec bash "$dir/run.sh" "$weir"
