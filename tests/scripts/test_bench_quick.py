#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/scripts/test_bench_quick.py: the benchmark suite's smoke mode, so it never rots.

    python3 test_bench_quick.py WEIR_BINARY

Runs tools/bench/bench.py --quick (tiny sizes, one pair) against the given binary, in a
temporary folder. It asserts correctness only, never timing: every task ran once and was
recorded, the ASL outputs equal aws-local-stepfunctions', the SQL transform's rows equal
Miller's and the sqlite3 shell's. Nothing is installed here: a peer that is missing is
skipped and weir's side still runs. Exit 0 pass, 1 fail, 77 skip (weir's side passed but a
peer was missing, so not every comparison was made)."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("WEIR_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))


def main():
    if len(sys.argv) != 2:
        print("usage: test_bench_quick.py WEIR_BINARY", file=sys.stderr)
        return 1
    weir = os.path.abspath(sys.argv[1])
    bench = os.path.join(ROOT, "tools", "bench", "bench.py")
    with tempfile.TemporaryDirectory(prefix="weir-bench-quick-") as work:
        p = subprocess.run([sys.executable, bench, "--weir", weir, "--quick", "--workdir", work],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=540)
    print(p.stdout)
    if p.returncode == 0:
        print("1 passed, 0 failed")
        return 0
    if p.returncode == 77:
        print("skipped: a peer is not installed (weir's side passed); "
              "tools/bench/run.sh --quick installs them")
        return 77
    print("bench --quick failed (exit %d)" % p.returncode)
    return 1


if __name__ == "__main__":
    sys.exit(main())
