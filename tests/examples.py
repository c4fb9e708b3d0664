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
        if os.path.basename(dag) == "customer_feedback.yaml":
            check_customer_feedback(work, res)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1 passed, 0 failed")


def alerts(work):
    """(topic, subject, message) of the alerts sns_alert stored in weir.db, oldest first."""
    import sqlite3
    con = sqlite3.connect(os.path.join(work, "weir.db"))
    try:
        return con.execute("SELECT topic, subject, message FROM alerts ORDER BY id").fetchall()
    finally:
        con.close()


def check_customer_feedback(work, res):
    import sqlite3
    con = sqlite3.connect(os.path.join(work, "warehouse.db"))
    rows = con.execute("SELECT count(*), count(DISTINCT feedback_id) FROM customer_feedback"
                       " WHERE sentiment IN ('positive', 'negative', 'neutral')").fetchone()
    neg = con.execute("SELECT count(*) FROM customer_feedback WHERE sentiment = 'negative'"
                      " AND lower(comment) NOT LIKE '%broken%' AND lower(comment) NOT LIKE"
                      " '%terrible%' AND lower(comment) NOT LIKE '%crash%' AND lower(comment)"
                      " NOT LIKE '%refund%' AND lower(comment) NOT LIKE '%too high%' AND"
                      " lower(comment) NOT LIKE '%disappointed%'").fetchone()[0]
    con.close()
    n = res["output"]["fetch"]["records"]
    if rows != (n, n) or res["output"]["load"]["rows"] != n or neg != 0:
        fail("customer_feedback: warehouse holds %r of %d records (%d misclassified)"
             % (rows, n, neg))
    summary = alerts(work)[-1]
    if summary[0] != "feedback-events" or "%d records loaded" % n not in summary[2]:
        fail("customer_feedback: summary alert %r" % (summary,))
    print("customer_feedback: %d records enriched and loaded, summary alert stored" % n)


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
    import sqlite3
    con = sqlite3.connect(os.path.join(work, "warehouse.db"))
    loaded = con.execute("SELECT count(*), count(DISTINCT order_id) FROM sales").fetchone()
    con.close()
    if out["load"]["rows"] != clean["rows"] or loaded != (clean["rows"], clean["rows"]):
        fail("warehouse table sales holds %r rows, clean rows %d" % (loaded, clean["rows"]))
    summary = alerts(work)[-1]
    if summary[0] != "pipeline-events" or "%d rows loaded" % clean["rows"] not in summary[2]:
        fail("summary alert %r" % (summary,))
    print("daily_sales: %d clean rows in the warehouse, totals and dates checked, summary alert"
          % clean["rows"])
    # An empty day: the check fails, the catch fires, the alert is recorded.
    rc, outs, errs = run(weir, ["run", rel, "--json", "--input", '{"rows": 0}'], work)
    res2 = json.loads(outs)
    if res2["tasks"]["check"]["state"] != "caught" or res2["tasks"]["alert"]["state"] != "succeeded":
        fail("empty day: expected check caught and alert succeeded", outs, errs)
    alert = alerts(work)[-1]
    if alert[0] != "pipeline-alerts" or not alert[2].startswith("Sales.EmptyDay: no clean rows"):
        fail("alert payload %r" % (alert,))
    print("daily_sales: empty day routed Sales.EmptyDay to the alert")
    check_daily_sales_bookmark(weir, rel, work, clean["rows"])


def check_daily_sales_bookmark(weir, rel, work, loaded_before):
    """A second batch lands one new raw file: the crawler adds it to sales_db.raw_sales and
    the Glue job's bookmark makes the run clean and load only that file's rows."""
    import csv
    import sqlite3
    rc, outs, errs = run(weir, ["run", rel, "--json", "--input", '{"seed": 8, "rows": 500}'],
                         work)
    res = json.loads(outs)
    if rc != 0 or res.get("status") != "SUCCEEDED":
        fail("second batch: run ended %s" % res.get("status"), outs, errs)
    out = res["output"]
    raw = out["extract"]["raw"]
    if out["clean"]["files"] != [raw]:
        fail("second batch: the job read %r, not only the new file %s"
             % (out["clean"]["files"], raw))
    with open(os.path.join(work, raw), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    valid = {tuple(r.values()) for r in rows
             if r["quantity"] != "" and r["unit_price"] != "" and int(r["quantity"]) > 0}
    if out["clean"]["rows"] != len(valid) or out["load"]["rows"] != len(valid):
        fail("second batch: cleaned %d and loaded %d rows, the new file has %d valid rows"
             % (out["clean"]["rows"], out["load"]["rows"], len(valid)))
    con = sqlite3.connect(os.path.join(work, "warehouse.db"))
    total = con.execute("SELECT count(*) FROM sales").fetchone()[0]
    con.close()
    if total != loaded_before + len(valid):
        fail("second batch: warehouse holds %d rows, expected %d + %d"
             % (total, loaded_before, len(valid)))
    rc, outc, errc = run(weir, ["catalog", "sales_db.raw_sales", "--json"], work)
    table = json.loads(outc) if rc == 0 else {}
    if len(table.get("Files", [])) != 2 or [k["Name"] for k in table["PartitionKeys"]] != ["dt"]:
        fail("second batch: catalog table sales_db.raw_sales %r" % table, outc, errc)
    print("daily_sales: second batch cleaned and loaded only the new file's %d rows"
          % len(valid))


if __name__ == "__main__":
    main()
