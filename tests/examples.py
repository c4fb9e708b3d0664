#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one example pipeline from dags/ the way the README does, offline, and checks it.

    examples.py WEIR_BINARY DAGS_FILE

The repository's dags/ and tools/ folders and weir.yaml are linked into a scratch folder, so
the run's data/ and weir.db land there. Every example must validate and end SUCCEEDED with
each task succeeded or (catch targets nobody needed) skipped. The daily sales pipeline is also
run on an empty day, where its check fails and the catch sends the alert.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def run(weir, args, cwd):
    p = subprocess.run([weir] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def fail(msg, out="", err=""):
    print("FAIL: " + msg)
    if out:
        print("--- stdout\n" + out[-3000:])
    if err:
        print("--- stderr\n" + err[-3000:])
    sys.exit(1)


def main():
    weir, dag = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    repo = os.path.dirname(os.path.dirname(dag))
    rel = os.path.relpath(dag, repo)
    work = tempfile.mkdtemp(prefix="weir-example-")
    try:
        for name in ("dags", "tools"):
            os.symlink(os.path.join(repo, name), os.path.join(work, name))
        shutil.copy(os.path.join(repo, "weir.yaml"), work)
        rc, out, err = run(weir, ["validate", rel], work)
        if rc != 0:
            fail("weir validate %s exited %d" % (rel, rc), out, err)
        print("validated " + rel)
        rc, out, err = run(weir, ["run", rel, "--json"], work)
        try:
            res = json.loads(out)
        except ValueError:
            fail("stdout is not one JSON object", out, err)
        if rc != 0 or res.get("status") != "SUCCEEDED":
            fail("run ended %s (exit %d)" % (res.get("status"), rc), out, err)
        for name, t in res.get("tasks", {}).items():
            if t["state"] not in ("succeeded", "skipped"):
                fail("task %s ended %s" % (name, t["state"]), out, err)
        print("ran %s: SUCCEEDED, %d tasks" % (rel, len(res.get("tasks", {}))))
        if os.path.basename(dag) == "daily_sales.yaml":
            check_daily_sales(weir, rel, work, res)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1 passed, 0 failed")


def check_daily_sales(weir, rel, work, res):
    out = res["output"]
    clean = out["clean"]
    path = os.path.join(work, clean["output"])
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    if header != ["order_id", "customer_id", "product", "quantity", "unit_price",
                  "total_sales", "order_date", "region"]:
        fail("unexpected header %r" % header)
    if len(lines) - 1 != clean["rows"] or clean["rows"] < 1000:
        fail("clean rows %d, file has %d lines" % (clean["rows"], len(lines) - 1))
    ids = set()
    import csv
    for row in csv.DictReader(lines):
        if row["quantity"] == "" or row["unit_price"] == "":
            fail("a row without quantity or price survived: %r" % row)
        if abs(float(row["total_sales"]) - round(int(row["quantity"]) * float(row["unit_price"]), 2)) > 0.005:
            fail("wrong total in %r" % row)
        d = row["order_date"]
        if len(d) != 10 or d[4] != "-" or d[7] != "-":
            fail("order_date not ISO: %r" % row)
        if row["order_id"] in ids:
            fail("duplicate order_id %s" % row["order_id"])
        ids.add(row["order_id"])
    wh = os.path.join(work, out["load"]["output"])
    with open(wh, encoding="utf-8") as f:
        regions = [json.loads(l) for l in f]
    if sum(r["orders"] for r in regions) != clean["rows"]:
        fail("warehouse orders do not add up to the clean rows")
    print("daily_sales: %d clean rows, %d regions, totals and dates checked"
          % (clean["rows"], len(regions)))
    # An empty day: the check fails, the catch fires, the alert is recorded.
    rc, outs, errs = run(weir, ["run", rel, "--json", "--input", '{"rows": 0}'], work)
    res2 = json.loads(outs)
    if res2["tasks"]["check"]["state"] != "caught" or res2["tasks"]["alert"]["state"] != "succeeded":
        fail("empty day: expected check caught and alert succeeded", outs, errs)
    with open(os.path.join(work, "data", "alerts.jsonl"), encoding="utf-8") as f:
        alert = json.loads(f.read().splitlines()[-1])
    if alert["error"] != "Sales.EmptyDay" or "no clean rows" not in alert["message"]:
        fail("alert payload %r" % alert)
    print("daily_sales: empty day routed Sales.EmptyDay to the alert")


if __name__ == "__main__":
    main()
