#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dags/scripts/summarize.py: an executable Glue job script (dags/glue_workflow.yaml). It
gets Glue-style arguments: its own (--input PATH) and the ones every job run gets
(--JOB_NAME, --JOB_RUN_ID, --WEIR_TOKEN, --job-bookmark-option), and prints its result as
one JSON line. A non-zero exit with {"errorType", "errorMessage"} fails the job run."""
import json
import sys


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    path = args.get("--input")
    if not path:
        print(json.dumps({"errorType": "Summary.NoInput", "errorMessage": "--input is required"}))
        return 1
    events = buys = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            events += row["events"]
            if row["kind"] == "buy":
                buys += row["events"]
    print(json.dumps({"job": args.get("--JOB_NAME"), "run": args.get("--JOB_RUN_ID"),
                      "events": events, "buys": buys}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
