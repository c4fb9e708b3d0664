#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The local providers of the crawler and glue_job task types, through the real binary.

    test_glue_crawler.py WEIR_BINARY

Each case writes DAG files and data into a scratch folder, runs `weir run --json` there and
checks the run's result, the catalog (`weir catalog --json`, and the catalog tables of
weir.db), the job bookmarks and the output files. Exit 0 pass, 1 fail.
"""
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

WEIR = None
FAILS = []


def run(args, cwd, timeout=120):
    p = subprocess.run([WEIR] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def run_dag(work, text, inp=None):
    with open(os.path.join(work, "dag.yaml"), "w") as f:
        f.write(text)
    args = ["run", "dag.yaml", "--json", "--quiet"]
    if inp is not None:
        args += ["--input", json.dumps(inp)]
    rc, out, err = run(args, work)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("weir run printed no JSON (exit %d): %s %s" % (rc, out, err))


def catalog(work, what):
    rc, out, err = run(["catalog", what, "--json"], work)
    if rc != 0:
        return None
    return json.loads(out)


def write(work, rel, text):
    path = os.path.join(work, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def cols(table):
    return {c["Name"]: c["Type"] for c in table["Columns"]}


CRAWL = """
name: crawl
tasks:
  crawl:
    type: crawler
    crawler: raw_sales
    path: {path}
    database: sales_db
    table_prefix: raw_
{extra}
"""


def case_crawler_success_and_drift(work):
    write(work, "data/sales/dt=2026-01-01/a.csv", "id,qty,price,day\n1,2,3.5,2026-01-01\n2,1,4,2026-01-01\n")
    write(work, "data/sales/dt=2026-01-01/_SUCCESS", "")
    write(work, "data/sales/events/e.jsonl", '{"kind": "view", "user": {"id": 1}}\n')
    res = run_dag(work, CRAWL.format(path="data/sales", extra=""))
    check(res["status"] == "SUCCEEDED", res)
    out = res["output"]["crawl"]
    check(out["TablesCreated"] == 2 and out["TablesUpdated"] == 0, out)
    t = catalog(work, "sales_db.raw_sales")
    check(cols(t) == {"id": "bigint", "qty": "bigint", "price": "double", "day": "date"}, t)
    check([k["Name"] for k in t["PartitionKeys"]] == ["dt"], t)
    check([p["Values"] for p in t["Partitions"]] == [["2026-01-01"]], t)
    check([f["Path"] for f in t["Files"]] == ["data/sales/dt=2026-01-01/a.csv"], t)
    e = catalog(work, "sales_db.raw_events")
    check(cols(e) == {"kind": "string", "user": "struct<id:bigint>"}, e)
    # Schema drift: a new partition with a new column and a decimal quantity.
    write(work, "data/sales/dt=2026-01-02/b.csv", "id,qty,price,day,coupon\n3,1.5,2,2026-01-02,X\n")
    res = run_dag(work, CRAWL.format(path="data/sales", extra=""))
    out = res["output"]["crawl"]
    check(out["TablesCreated"] == 0 and out["TablesUpdated"] == 1, out)
    kinds = sorted((c["Kind"], c.get("Column")) for c in out["changes"])
    check(kinds == [("ColumnAdded", "coupon"), ("PartitionAdded", None), ("TypeChanged", "qty")],
          kinds)
    t = catalog(work, "sales_db.raw_sales")
    check(cols(t)["qty"] == "double" and cols(t)["coupon"] == "string", t)
    check(t["Version"] == 2 and len(t["Files"]) == 2, t)
    check([c["Kind"] for c in t["Changes"]] ==
          ["TableCreated", "TypeChanged", "ColumnAdded", "PartitionAdded"], t["Changes"])
    # Text no longer numeric widens to string; a re-crawl never narrows it back.
    write(work, "data/sales/dt=2026-01-03/c.csv", "id,qty,price,day\n4,n/a,2,2026-01-03\n")
    run_dag(work, CRAWL.format(path="data/sales", extra=""))
    check(cols(catalog(work, "sales_db.raw_sales"))["qty"] == "string", "qty not widened")
    os.remove(os.path.join(work, "data/sales/dt=2026-01-03/c.csv"))
    os.rmdir(os.path.join(work, "data/sales/dt=2026-01-03"))
    res = run_dag(work, CRAWL.format(path="data/sales", extra=""))
    t = catalog(work, "sales_db.raw_sales")
    check(cols(t)["qty"] == "string" and len(t["Partitions"]) == 2, t)
    check(any(c["Kind"] == "PartitionRemoved" for c in res["output"]["crawl"]["changes"]), res)
    rc, out, err = run(["catalog"], work)
    check(rc == 0 and "sales_db" in out, out + err)


def case_crawler_bad_inputs(work):
    # A missing folder fails the task; the catalog is left as it was.
    res = run_dag(work, CRAWL.format(path="data/nowhere", extra=""))
    t = res["tasks"]["crawl"]
    check(res["status"] == "FAILED" and t["error"] == "Glue.EntityNotFoundException", res)
    check("data/nowhere" in t["cause"], t)
    check(catalog(work, "sales_db") is None, "a database appeared")
    # A malformed CSV is left out and reported; the good file makes the table.
    write(work, "data/s/good.csv", "a,b\n1,x\n")
    write(work, "data/s/bad.csv", "a,b\n1,x,extra\n")
    write(work, "data/s/quote.csv", 'a,b\n1,"never closed\n')
    res = run_dag(work, CRAWL.format(path="data/s", extra=""))
    check(res["status"] == "SUCCEEDED", res)
    skipped = {os.path.basename(f["Path"]): f["Reason"]
               for f in res["output"]["crawl"]["FilesSkipped"]}
    check(set(skipped) == {"bad.csv", "quote.csv"} and "bad.csv:2" in skipped["bad.csv"],
          skipped)
    t = catalog(work, "sales_db.raw_s")
    check([f["Path"] for f in t["Files"]] == ["data/s/good.csv"], t)
    # A timeout kills the crawl (a file whose reads never end: a FIFO behind a .csv link);
    # nothing is written.
    os.mkfifo(os.path.join(work, "fifo"))
    write(work, "data/t/ok.csv", "a\n1\n")
    os.symlink(os.path.join(work, "fifo"), os.path.join(work, "data/t/stuck.csv"))
    start = time.time()
    res = run_dag(work, CRAWL.format(path="data/t", extra="    timeout: 1s"))
    check(res["tasks"]["crawl"]["error"] == "States.Timeout", res)
    check(time.time() - start < 20, "the timeout took too long")
    check(catalog(work, "sales_db.raw_t") is None, "a timed-out crawl wrote the catalog")
    # An aws connection has no provider yet.
    write(work, "weir.yaml", "connections:\n  prod: {type: aws, region: eu-west-1}\n")
    res = run_dag(work, CRAWL.format(path="data/s", extra="    connection: prod"))
    t = res["tasks"]["crawl"]
    check(t["error"] == "Weir.NotImplemented" and "'prod'" in t["cause"], t)
    res = run_dag(work, CRAWL.format(path="data/s", extra="    connection: nope"))
    check(res["tasks"]["crawl"]["error"] == "Weir.InvalidConnection", res)


JOB = """
name: job
tasks:
  job:
    type: glue_job
    job_name: clean
    script: clean.sql
    inputs: {{ raw: "{raw}" }}
    output: out/{{{{ run_id }}}}.csv
    bookmark: true
"""


def bookmarks(work, job):
    con = sqlite3.connect(os.path.join(work, "weir.db"))
    try:
        return sorted(r[0] for r in con.execute(
            "SELECT file FROM job_bookmarks WHERE job = ?", (job,)))
    finally:
        con.close()


def read_csv(work, rel):
    with open(os.path.join(work, rel), newline="") as f:
        return list(csv.DictReader(f))


def case_glue_sql_bookmarks(work):
    write(work, "clean.sql", "SELECT id, qty * price AS total, dt FROM raw WHERE qty IS NOT NULL ORDER BY id\n")
    write(work, "raw/dt=1/a.csv", "id,qty,price\n1,2,1.5\n2,,3\n")
    write(work, "raw/dt=2/b.csv", "id,qty,price\n3,1,10\n")
    res = run_dag(work, JOB.format(raw="raw"))
    check(res["status"] == "SUCCEEDED", res)
    jr = res["output"]["job"]
    check(jr["JobRunState"] == "SUCCEEDED" and jr["JobName"] == "clean", jr)
    check(jr["JobRunId"].startswith("jr_") and jr["Id"] == jr["JobRunId"], jr)
    check(jr["rows"] == 2 and jr["files"] == ["raw/dt=1/a.csv", "raw/dt=2/b.csv"], jr)
    check([(r["id"], r["total"], r["dt"]) for r in read_csv(work, jr["output"])] ==
          [("1", "3.0", "1"), ("3", "10", "2")], read_csv(work, jr["output"]))
    check(bookmarks(work, "clean") == ["raw/dt=1/a.csv", "raw/dt=2/b.csv"], bookmarks(work, "clean"))
    # No new files: the job succeeds with rows 0 and an empty output with the columns.
    res = run_dag(work, JOB.format(raw="raw"))
    jr = res["output"]["job"]
    check(res["status"] == "SUCCEEDED" and jr["rows"] == 0 and jr["files"] == [], res)
    with open(os.path.join(work, jr["output"])) as f:
        check(f.read() == "id,total,dt\n", "empty output")
    # A malformed new file fails the job; the bookmark does not move.
    write(work, "raw/dt=3/c.csv", "id,qty,price\n4,1,1\n5,1\n")
    res = run_dag(work, JOB.format(raw="raw"))
    t = res["tasks"]["job"]
    check(t["error"] == "Glue.JobRunFailed" and "Weir.InputError" in t["cause"] and
          "c.csv:3" in t["cause"], t)
    check(len(bookmarks(work, "clean")) == 2, bookmarks(work, "clean"))
    # Fixed, plus one more file: the next run reads exactly those two.
    write(work, "raw/dt=3/c.csv", "id,qty,price\n4,1,1\n5,1,2\n")
    write(work, "raw/dt=3/d.csv", "id,qty,price\n6,2,2\n")
    res = run_dag(work, JOB.format(raw="raw"))
    jr = res["output"]["job"]
    check(jr["files"] == ["raw/dt=3/c.csv", "raw/dt=3/d.csv"] and jr["rows"] == 3, jr)
    check([r["id"] for r in read_csv(work, jr["output"])] == ["4", "5", "6"], jr)
    check(len(bookmarks(work, "clean")) == 4, bookmarks(work, "clean"))
    # From the catalog: crawl, then a job (from_catalog) and a local_transform (catalog:).
    write(work, "cat/p=a/x.csv", "n\n1\n2\n")
    write(work, "cat/p=b/y.csv", "n\n3\n")
    write(work, "sum.sql", "SELECT p, sum(n) AS s FROM cat GROUP BY p ORDER BY p")
    res = run_dag(work, """
name: cat
tasks:
  crawl: {type: crawler, crawler: c, path: cat, database: db}
  job:
    type: glue_job
    depends_on: [crawl]
    script: sum.sql
    from_catalog: db.cat
    output: out/sum.csv
  lt:
    type: local_transform
    depends_on: [crawl]
    inputs: {t: "catalog:db.cat"}
    sql: SELECT count(*) AS n FROM t
    output: out/lt.csv
""")
    check(res["status"] == "SUCCEEDED", res)
    check([(r["p"], r["s"]) for r in read_csv(work, "out/sum.csv")] == [("a", "3"), ("b", "3")],
          read_csv(work, "out/sum.csv"))
    check(read_csv(work, "out/lt.csv") == [{"n": "3"}], read_csv(work, "out/lt.csv"))
    res = run_dag(work, JOB.format(raw="catalog:db.missing"))
    check(res["tasks"]["job"]["error"] == "Glue.JobRunFailed" and
          "db.missing" in res["tasks"]["job"]["cause"], res)


EXE = """
name: exe
tasks:
{tasks}
"""


def case_glue_executable(work):
    write(work, "job.py", """#!/usr/bin/env python3
import json, os, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
with open("argv-%s.json" % os.environ["WEIR_TASK"], "w") as f:
    json.dump(sys.argv[1:], f)
time.sleep(float(args.get("--sleep", "0")))
if args.get("--fail"):
    print(json.dumps({"errorType": "Job.Bad", "errorMessage": "asked to fail"}))
    sys.exit(1)
print(json.dumps({"date": args.get("--date")}))
""")
    os.chmod(os.path.join(work, "job.py"), 0o755)
    res = run_dag(work, EXE.format(tasks="""
  a:
    type: glue_job
    script: job.py
    arguments: {"--date": "{{ ds }}", "n": 3}
    worker_type: G.1X
"""))
    check(res["status"] == "SUCCEEDED", res)
    jr = res["output"]["a"]
    check(jr["JobName"] == "job" and jr["Result"]["date"] == jr["Arguments"]["--date"], jr)
    check(jr["Arguments"]["--n"] == "3" and jr["WorkerType"] == "G.1X", jr)
    for k in ("StartedOn", "CompletedOn", "ExecutionTime", "Attempt"):
        check(k in jr, "JobRun lacks " + k)
    with open(os.path.join(work, "argv-a.json")) as f:
        argv = json.load(f)
    opts = dict(zip(argv[0::2], argv[1::2]))
    check(opts["--JOB_NAME"] == "job" and opts["--JOB_RUN_ID"] == jr["JobRunId"], argv)
    check(opts["--WEIR_TOKEN"].endswith(":a:1") and opts["--job-bookmark-option"] ==
          "job-bookmark-disable", argv)
    # Failure, with the script's own error in the cause.
    res = run_dag(work, EXE.format(tasks="""
  a: {type: glue_job, script: job.py, arguments: {"--fail": "1"}}
"""))
    t = res["tasks"]["a"]
    check(t["error"] == "Glue.JobRunFailed" and "Job.Bad: asked to fail" in t["cause"], t)
    # Timeout: the task's timeout stops the job run.
    start = time.time()
    res = run_dag(work, EXE.format(tasks="""
  a: {type: glue_job, script: job.py, arguments: {"--sleep": "30"}, timeout: 1s}
"""))
    check(res["tasks"]["a"]["error"] == "States.Timeout" and time.time() - start < 15, res)
    # A missing script.
    res = run_dag(work, EXE.format(tasks="""
  a: {type: glue_job, script: nope.sh}
"""))
    check(res["tasks"]["a"]["error"] == "Glue.EntityNotFoundException", res)
    # max_concurrent_runs: two runs of one job at once; the second fails (default 1)...
    two = """
  a: {{type: glue_job, job_name: j, script: job.py, arguments: {{"--sleep": "1"}}{extra}}}
  b: {{type: glue_job, job_name: j, script: job.py, arguments: {{"--sleep": "1"}}{extra}}}
"""
    res = run_dag(work, EXE.format(tasks=two.format(extra="")))
    states = sorted((t["state"], t.get("error")) for t in res["tasks"].values())
    check(states == [("failed", "Glue.ConcurrentRunsExceededException"), ("succeeded", None)],
          states)
    # ... and both run with max_concurrent_runs: 2; a later run is not blocked by them.
    res = run_dag(work, EXE.format(tasks=two.format(extra=", max_concurrent_runs: 2")))
    check(res["status"] == "SUCCEEDED", res)
    # Validation: bookmark on an executable, and an aws connection.
    write(work, "bad.yaml", "name: bad\ntasks:\n  a: {type: glue_job, script: job.py, bookmark: true}\n")
    rc, out, err = run(["validate", "bad.yaml"], work)
    check(rc != 0 and "bookmark" in err, err)
    write(work, "weir.yaml", "default_connection: prod\nconnections:\n  prod: {type: aws}\n")
    res = run_dag(work, EXE.format(tasks="""
  a: {type: glue_job, script: job.py}
"""))
    t = res["tasks"]["a"]
    check(t["error"] == "Weir.NotImplemented" and "'prod'" in t["cause"], t)


def main():
    global WEIR
    WEIR = os.path.abspath(sys.argv[1])
    cases = [case_crawler_success_and_drift, case_crawler_bad_inputs, case_glue_sql_bookmarks,
             case_glue_executable]
    for case in cases:
        work = tempfile.mkdtemp(prefix="weir-glue-")
        try:
            case(work)
            print("ok " + case.__name__)
        except (AssertionError, KeyError, TypeError, ValueError) as e:
            FAILS.append(case.__name__)
            print("FAIL %s: %s: %.2000s" % (case.__name__, type(e).__name__, e))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (len(cases) - len(FAILS), len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
