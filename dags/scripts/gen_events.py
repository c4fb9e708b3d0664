#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dags/scripts/gen_events.py: a JSON-lines file of app events for dags/glue_workflow.yaml
(the raw zone an upstream service would fill). Standard library only.

    python3 dags/scripts/gen_events.py --rows N --seed S --out FILE

Each line: {"event_id", "kind" (view/click/buy), "ts" (ISO time), "value" (a number),
"user": {"id", "country"}}; the folders of FILE are created when missing.
"""
import argparse
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    if os.path.dirname(a.out):
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for i in range(a.rows):
            kind = rnd.choice(["view", "view", "view", "click", "click", "buy"])
            f.write(json.dumps({
                "event_id": a.seed * 100000 + i,
                "kind": kind,
                "ts": "2026-01-05T%02d:%02d:%02d" % (rnd.randrange(24), rnd.randrange(60),
                                                    rnd.randrange(60)),
                "value": round(rnd.uniform(1, 200), 2) if kind == "buy" else 0,
                "user": {"id": rnd.randint(1, 500), "country": rnd.choice(["DE", "FR", "UK"])},
            }) + "\n")
    print(json.dumps({"rows": a.rows, "file": a.out}))


if __name__ == "__main__":
    main()
