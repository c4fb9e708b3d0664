#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""copy_to_redshift and sns_alert, local providers, through the real binary.

    test_copy_alerts.py WEIR_BINARY

Loads into the SQLite warehouse (checked with Python's sqlite3 module) and into a real
PostgreSQL started on loopback in a temporary folder (checked with psql); alerts are checked in
the weir database's alerts table and at a stdlib HTTP server playing the webhook. Exit 0 pass,
1 fail, 77 skip (never: the PostgreSQL part alone is skipped when its binaries are absent).
"""
import http.server
import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from weirtest import free_port

WEIR = os.path.abspath(sys.argv[1])
PG_BIN = "/usr/lib/postgresql/15/bin"
failures = []


def check(cond, what, detail=""):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what + (("\n     " + str(detail)[-2500:]) if detail else ""))
        failures.append(what)


def weir(args, cwd, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([WEIR] + args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=e)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def run_dag(cwd, text, name="t.yaml", extra=()):
    with open(os.path.join(cwd, name), "w") as f:
        f.write(text)
    rc, out, err = weir(["run", name, "--json", "--db", "weir.db"] + list(extra), cwd)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, {"status": "BADJSON", "stdout": out}, err


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def wh_rows(cwd, sql, db="warehouse.db"):
    con = sqlite3.connect(os.path.join(cwd, db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_exists(cwd, table, db="warehouse.db"):
    if not os.path.exists(os.path.join(cwd, db)):
        return False
    return bool(wh_rows(cwd, "SELECT 1 FROM sqlite_master WHERE name = '%s'" % table, db))


SALES = "order_id,region,qty,price,day\n1,north,2,2.50,2026-01-01\n2,south,1,10,2026-01-02\n" \
        "3,\"east, far\",5,1.25,2026-01-02\n"


# ==== copy_to_redshift, SQLite warehouse ====

def test_load_sqlite(d):
    write(os.path.join(d, "in/sales.csv"), SALES)
    rc, res, err = run_dag(d, """
name: load1
tasks:
  load:
    type: copy_to_redshift
    table: sales
    from: in/sales.csv
""")
    out = res.get("output", {}).get("load", {})
    check(rc == 0 and out.get("rows") == 3 and out.get("table") == "sales"
          and out.get("files") == ["in/sales.csv"] and "duration_ms" in out,
          "csv load: result has rows, table, files, duration_ms", (res, err))
    rows = wh_rows(d, "SELECT order_id, region, qty, price, day FROM sales ORDER BY order_id")
    check(rows == [(1, "north", 2, 2.5, "2026-01-01"), (2, "south", 1, 10.0, "2026-01-02"),
                   (3, "east, far", 5, 1.25, "2026-01-02")], "csv load: rows typed in warehouse",
          rows)
    types = dict((r[1], r[2]) for r in wh_rows(d, "PRAGMA table_info(sales)"))
    check(types == {"order_id": "INTEGER", "region": "TEXT", "qty": "INTEGER", "price": "REAL",
                    "day": "DATE"}, "csv load: column types inferred", types)
    loads = wh_rows(d, "SELECT tbl, rows FROM weir_loads")
    check(loads == [("sales", 3)], "csv load: recorded in weir_loads with the token", loads)

    # Append (default), then truncate.
    write(os.path.join(d, "in/more.csv"), "order_id,region,qty,price,day\n4,west,1,1,2026-01-03\n")
    rc, res, err = run_dag(d, """
name: load2
tasks:
  append:
    type: copy_to_redshift
    table: sales
    from: in/more.csv
""")
    n = wh_rows(d, "SELECT count(*) FROM sales")[0][0]
    check(rc == 0 and n == 4, "append: 3 + 1 rows", (n, res, err))
    rc, res, err = run_dag(d, """
name: load3
tasks:
  replace:
    type: copy_to_redshift
    table: sales
    from: in/more.csv
    truncate: true
""")
    rows = wh_rows(d, "SELECT order_id FROM sales")
    check(rc == 0 and rows == [(4,)], "truncate: only the new rows remain", (rows, res, err))


def test_bad_rows(d):
    write(os.path.join(d, "good.csv"), SALES)
    rc, _, _ = weir(["load", "--table", "sales", "--from", "good.csv"], d)
    check(rc == 0, "setup: sales table loaded")
    # Folder of two files: the second has a bad integer on line 3. Nothing may be loaded.
    write(os.path.join(d, "batch/a.csv"), "order_id,region,qty,price,day\n10,n,1,1,2026-02-01\n")
    write(os.path.join(d, "batch/b.csv"),
          "order_id,region,qty,price,day\n11,n,1,1,2026-02-01\n12,n,many,1,2026-02-01\n")
    rc, res, err = run_dag(d, """
name: bad
tasks:
  load:
    type: copy_to_redshift
    table: sales
    from: batch
    retry: [{errors: [States.ALL], max_attempts: 0}]
""")
    check(rc == 1 and res.get("error") == "Redshift.LoadError"
          and "batch/b.csv:3" in res.get("cause", "") and "qty" in res.get("cause", ""),
          "bad integer: Redshift.LoadError naming file:line and column", res)
    n = wh_rows(d, "SELECT count(*) FROM sales")[0][0]
    check(n == 3, "bad integer: nothing of the folder loaded (atomic)", n)
    # A malformed CSV row (unterminated quote) into a new table: the table is not created.
    write(os.path.join(d, "broken.csv"), "a,b\n1,2\n3,\"oops\n")
    rc, out, err = weir(["load", "--table", "fresh", "--from", "broken.csv"], d)
    res = json.loads(out.splitlines()[-1])
    check(rc == 1 and res["errorType"] == "Redshift.LoadError"
          and "broken.csv:3" in res["errorMessage"], "malformed CSV: file:line in the cause", res)
    check(not table_exists(d, "fresh"), "malformed CSV: table not created")
    # Too many fields.
    write(os.path.join(d, "wide.csv"), "order_id,region,qty,price,day\n20,x,1,1,2026-01-01,extra\n")
    rc, out, err = weir(["load", "--table", "sales", "--from", "wide.csv"], d)
    check(rc == 1 and "wide.csv:2" in out and "Extra column" in out, "extra column: rejected", out)
    # Dateformat: MM/DD/YYYY into the DATE column; a bad date is rejected.
    write(os.path.join(d, "us.csv"), "order_id,region,qty,price,day\n30,us,1,1,03/15/2026\n")
    rc, out, err = weir(["load", "--table", "sales", "--from", "us.csv", "--dateformat",
                         "MM/DD/YYYY"], d)
    rows = wh_rows(d, "SELECT day FROM sales WHERE order_id = 30")
    check(rc == 0 and rows == [("2026-03-15",)], "dateformat: MM/DD/YYYY stored as ISO",
          (rows, out, err))
    write(os.path.join(d, "baddate.csv"), "order_id,region,qty,price,day\n31,us,1,1,2026-02-30\n")
    rc, out, err = weir(["load", "--table", "sales", "--from", "baddate.csv"], d)
    check(rc == 1 and "baddate.csv:2" in out and "date" in out.lower(),
          "dateformat: February 30th rejected", out)
    # Delimiter and NULL AS.
    write(os.path.join(d, "pipe.txt"), "order_id|region|qty|price|day\n40|\\N|2|1|2026-01-05\n")
    rc, out, err = weir(["load", "--table", "sales", "--from", "pipe.txt", "--delimiter", "|",
                         "--null-as", "\\N"], d)
    rows = wh_rows(d, "SELECT region, qty FROM sales WHERE order_id = 40")
    check(rc == 0 and rows == [(None, 2)], "delimiter '|' and null_as '\\N'", (rows, out, err))


def test_missing_inputs(d):
    rc, res, err = run_dag(d, """
name: missing
tasks:
  file:
    type: copy_to_redshift
    table: t
    from: nowhere/x.csv
""")
    os.makedirs(os.path.join(d, "empty_dir"), exist_ok=True)
    check(rc == 1 and res.get("error") == "Redshift.FileNotFound"
          and "nowhere/x.csv" in res.get("cause", ""), "missing file: Redshift.FileNotFound", res)
    rc, res, err = run_dag(d, """
name: missing2
tasks:
  folder:
    type: copy_to_redshift
    table: t
    from: empty_dir
""")
    check(rc == 1 and res.get("error") == "Redshift.FileNotFound", "empty folder: FileNotFound",
          res)
    # Manifest: a missing mandatory file fails; a missing optional one is skipped.
    write(os.path.join(d, "m/part1.csv"), "id,v\n1,a\n")
    write(os.path.join(d, "m/load.manifest"), json.dumps({"entries": [
        {"url": "part1.csv", "mandatory": True},
        {"url": "part2.csv", "mandatory": True}]}))
    rc, out, err = weir(["load", "--table", "mt", "--from", "m/load.manifest"], d)
    check(rc == 1 and "Redshift.FileNotFound" in out and "part2.csv" in out
          and not table_exists(d, "mt"), "manifest: missing mandatory file fails", out)
    write(os.path.join(d, "m/ok.json"), json.dumps({"entries": [
        {"url": "file://" + os.path.join(d, "m/part1.csv"), "mandatory": True},
        {"url": "part3.csv", "mandatory": False}]}))
    rc, res, err = run_dag(d, """
name: manifest
tasks:
  load:
    type: copy_to_redshift
    table: mt
    from: m/ok.json
    manifest: true
""")
    out = res.get("output", {}).get("load", {})
    check(rc == 0 and out.get("rows") == 1 and len(out.get("files", [])) == 1,
          "manifest: optional missing file skipped", res)
    write(os.path.join(d, "m/bad.manifest"), "{not json")
    rc, out, err = weir(["load", "--table", "mt", "--from", "m/bad.manifest"], d)
    check(rc == 1 and "Redshift.InvalidManifest" in out, "manifest: bad JSON", out)


def test_json_and_tokens(d):
    write(os.path.join(d, "ev/1.jsonl"),
          '{"id": 1, "Kind": "click", "at": "2026-01-01 10:00:00", "ok": true, "meta": {"a": 1}}\n'
          '\n{"id": 2, "Kind": "view", "at": "2026-01-01T11:30:00", "ok": false}\n')
    rc, res, err = run_dag(d, """
name: json
tasks:
  load:
    type: copy_to_redshift
    table: events
    from: ev
    format: JSON
""")
    rows = wh_rows(d, "SELECT id, kind, at, ok, meta FROM events ORDER BY id")
    check(rc == 0 and rows == [(1, "click", "2026-01-01 10:00:00", 1, '{"a":1}'),
                               (2, "view", "2026-01-01 11:30:00", 0, None)],
          "json: keys become columns, typed, nested as JSON text", (rows, res, err))
    # The same token twice loads once.
    args = ["load", "--table", "events", "--from", "ev", "--format", "json", "--token", "tok-1"]
    rc1, out1, _ = weir(args, d)
    rc2, out2, _ = weir(args, d)
    n = wh_rows(d, "SELECT count(*) FROM events")[0][0]
    r2 = json.loads(out2)
    check(rc1 == 0 and rc2 == 0 and n == 4 and r2.get("duplicate") is True
          and r2.get("rows") == 2, "token: a second load with the same token loads nothing",
          (n, out1, out2))
    # A different token loads again.
    rc3, out3, _ = weir(args[:-1] + ["tok-2"], d)
    n = wh_rows(d, "SELECT count(*) FROM events")[0][0]
    check(rc3 == 0 and n == 6, "token: another token loads", (n, out3))


def test_sql_mode(d):
    write(os.path.join(d, "s.csv"), SALES)
    rc, res, err = run_dag(d, """
name: sqlmode
tasks:
  load:
    type: copy_to_redshift
    table: sales
    from: s.csv
  summary:
    type: copy_to_redshift
    depends_on: [load]
    sql: |
      CREATE TABLE IF NOT EXISTS region_totals (region TEXT, revenue REAL);
      DELETE FROM region_totals;
      INSERT INTO region_totals SELECT region, sum(qty * price) FROM sales GROUP BY region;
      SELECT region, revenue FROM region_totals ORDER BY region
  bad_sql:
    type: copy_to_redshift
    depends_on: [summary]
    sql: SELECT nope FROM missing_table
    retry: [{errors: [States.ALL], max_attempts: 0}]
""")
    out = res.get("output") or {}
    tasks = res.get("tasks", {})
    check(tasks.get("summary", {}).get("state") == "succeeded", "sql: statements ran", res)
    rows = wh_rows(d, "SELECT region, revenue FROM region_totals ORDER BY region")
    check(rows == [("east, far", 6.25), ("north", 5.0), ("south", 10.0)],
          "sql: table written in the warehouse", rows)
    check(rc == 1 and res.get("error") == "Redshift.SqlError"
          and "missing_table" in res.get("cause", ""), "sql: bad SQL is Redshift.SqlError", res)


def test_timeout_and_connections(d):
    # A load that times out: the child is killed and its transaction never commits.
    big = os.path.join(d, "big.csv")
    with open(big, "w") as f:
        f.write("id,v\n")
        for i in range(400000):
            f.write("%d,value-%d\n" % (i, i))
    rc, res, err = run_dag(d, """
name: slow
tasks:
  load:
    type: copy_to_redshift
    table: big
    from: big.csv
    timeout: 250ms
    retry: [{errors: [States.ALL], max_attempts: 0}]
""")
    check(rc == 1 and res.get("error") == "States.Timeout", "timeout: States.Timeout", res)
    check(not table_exists(d, "big"), "timeout: nothing loaded")
    write(os.path.join(d, "weir.yaml"), """
connections:
  prod: {type: aws, region: eu-west-1}
  other_wh: {type: local, warehouse: other.db}
""")
    write(os.path.join(d, "s.csv"), SALES)
    rc, res, err = run_dag(d, """
name: conns
tasks:
  aws:
    type: copy_to_redshift
    connection: prod
    table: sales
    from: s.csv
""")
    check(rc == 1 and res.get("error") == "Weir.NotImplemented" and "prod" in res.get("cause", ""),
          "aws connection: Weir.NotImplemented naming it", res)
    rc, res, err = run_dag(d, """
name: conns2
tasks:
  other:
    type: copy_to_redshift
    connection: other_wh
    table: sales
    from: s.csv
""")
    check(rc == 0 and wh_rows(d, "SELECT count(*) FROM sales", "other.db") == [(3,)],
          "local connection: its warehouse file", (res, err))
    os.unlink(os.path.join(d, "weir.yaml"))
    # Validation: neither sql nor table/from, bad format.
    write(os.path.join(d, "inv.yaml"), """
name: inv
tasks:
  a:
    type: copy_to_redshift
    table: x
    from: y
    format: parquet
""")
    rc, out, err = weir(["validate", "inv.yaml"], d)
    check(rc != 0 and "format" in err, "validate: bad format rejected", err)


# ==== PostgreSQL ====


def test_postgres(d):
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        print("skip PostgreSQL: %s/initdb not found" % PG_BIN)
        return
    pgdir = tempfile.mkdtemp(prefix="weir-pg-")
    os.chmod(pgdir, 0o755)
    data, sock = os.path.join(pgdir, "data"), os.path.join(pgdir, "sock")
    os.makedirs(sock)
    port = free_port()
    as_user = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(pgdir, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]

    def pg(*args, **kw):
        return subprocess.run(as_user + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120, **kw)

    p = pg(PG_BIN + "/initdb", "-D", data, "-U", "weir", "--auth=trust", "-E", "UTF8")
    if p.returncode != 0:
        check(False, "postgres: initdb", p.stdout.decode())
        return
    log = os.path.join(pgdir, "log")
    p = pg(PG_BIN + "/pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start", "-o",
           "-k %s -c listen_addresses=127.0.0.1 -p %d" % (sock, port))
    if p.returncode != 0:
        check(False, "postgres: pg_ctl start", p.stdout.decode())
        return
    dsn = "host=127.0.0.1 port=%d user=weir dbname=postgres" % port

    def psql(sql):
        r = subprocess.run([PG_BIN + "/psql", "-X", "-A", "-t", "-d", dsn, "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return r.stdout.decode().strip()

    try:
        write(os.path.join(d, "weir.yaml"),
              "connections:\n  pg: {type: local, dsn: '%s'}\ndefault_connection: pg\n" % dsn)
        write(os.path.join(d, "s.csv"), SALES)
        rc, res, err = run_dag(d, """
name: pg
tasks:
  load:
    type: copy_to_redshift
    table: sales
    from: s.csv
  total:
    type: copy_to_redshift
    depends_on: [load]
    sql: SELECT count(*) AS n, sum(qty * price) AS revenue FROM sales
""")
        out = res.get("output", {})
        check(rc == 0 and out.get("load", {}).get("rows") == 3
              and out.get("total", {}).get("records") == [{"n": 3, "revenue": 21.25}],
              "postgres: loaded and queried through the DSN", (res, err))
        check(psql("SELECT order_id || ':' || region || ':' || day FROM sales ORDER BY 1")
              == "1:north:2026-01-01\n2:south:2026-01-02\n3:east, far:2026-01-02",
              "postgres: psql sees the rows", psql("SELECT * FROM sales"))
        check(psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'sales'"
                   " AND column_name = 'day'") == "date", "postgres: DATE column created")
        check(psql("SELECT count(*) FROM weir_loads WHERE tbl = 'sales'") == "1"
              and psql("SELECT count(*) FROM weir_loads") == "2",
              "postgres: weir_loads rows for the load and the SQL")
        # Token, bad row, truncate, via the CLI (DSN in the environment).
        env = {"WEIR_LOAD_DSN": dsn}
        args = ["load", "--table", "sales", "--from", "s.csv", "--token", "pg-tok"]
        weir(args, d, env)
        rc2, out2, _ = weir(args, d, env)
        check(rc2 == 0 and '"duplicate":true' in out2 and psql("SELECT count(*) FROM sales")
              == "6", "postgres: same token loads once", (out2, psql("SELECT count(*) FROM sales")))
        write(os.path.join(d, "bad.csv"),
              "order_id,region,qty,price,day\n50,x,1,1,2026-01-01\n51,x,1,abc,2026-01-01\n")
        rc, out, _ = weir(["load", "--table", "sales", "--from", "bad.csv"], d, env)
        check(rc == 1 and "bad.csv:3" in out and psql("SELECT count(*) FROM sales") == "6",
              "postgres: bad row fails with file:line, nothing loaded", out)
        rc, out, _ = weir(["load", "--table", "sales", "--from", "s.csv", "--truncate"], d, env)
        check(rc == 0 and psql("SELECT count(*) FROM sales") == "3", "postgres: truncate", out)
        # The server rejects a value the checks let through (int4 overflow): file:line mapped.
        psql("CREATE TABLE small (id integer)")
        write(os.path.join(d, "big.csv"), "id\n1\n99999999999\n")
        rc, out, _ = weir(["load", "--table", "small", "--from", "big.csv"], d, env)
        check(rc == 1 and "big.csv:3" in out and psql("SELECT count(*) FROM small") == "0",
              "postgres: server-side rejection mapped to file:line", out)
    finally:
        pg(PG_BIN + "/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    # PostgreSQL down: a clean Redshift.ConnectionError.
    rc, res, err = run_dag(d, """
name: pgdown
tasks:
  load:
    type: copy_to_redshift
    table: sales
    from: s.csv
    retry: [{errors: [States.ALL], max_attempts: 0}]
""")
    check(rc == 1 and res.get("error") == "Redshift.ConnectionError"
          and "connect" in res.get("cause", ""), "postgres down: Redshift.ConnectionError", res)
    os.unlink(os.path.join(d, "weir.yaml"))
    shutil.rmtree(pgdir, ignore_errors=True)


# ==== sns_alert ====

class Hook(http.server.BaseHTTPRequestHandler):
    statuses = []  # statuses to answer with, in order; then 200
    bodies = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.bodies.append(json.loads(self.rfile.read(n)))
        code = Hook.statuses.pop(0) if Hook.statuses else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def alerts(d):
    con = sqlite3.connect(os.path.join(d, "weir.db"))
    try:
        return con.execute("SELECT topic, subject, message, attributes, delivery, token "
                           "FROM alerts ORDER BY id").fetchall()
    finally:
        con.close()


def test_alerts(d):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    dead = free_port()
    write(os.path.join(d, "weir.yaml"), """
topics:
  ops: {webhook: "http://127.0.0.1:%d/hook"}
  flaky: {webhook: "http://127.0.0.1:%d/hook"}
  down: {webhook: "http://127.0.0.1:%d/hook"}
""" % (port, port, dead))
    try:
        rc, res, err = run_dag(d, """
name: alert1
tasks:
  quiet:
    type: sns_alert
    topic: nohook
    message: stored only
  ops:
    type: sns_alert
    topic: ops
    subject: "Daily load for {{ ds }}"
    message: "3 rows loaded"
    attributes: {severity: high}
""")
        out = res.get("output", {})
        check(rc == 0 and out.get("quiet", {}).get("delivery") == "none"
              and len(out.get("quiet", {}).get("MessageId", "")) == 36,
              "alert without webhook: stored, MessageId returned", (res, err))
        check(out.get("ops", {}).get("delivery") == "delivered", "alert: webhook delivered", res)
        check("ALERT [ops]" in err, "alert: printed to stderr", err)
        body = Hook.bodies[-1] if Hook.bodies else {}
        check(body.get("Message") == "3 rows loaded" and "Daily load for" in body.get("text", "")
              and "3 rows loaded" in body.get("text", "")
              and body.get("MessageId") == out.get("ops", {}).get("MessageId")
              and body.get("MessageAttributes", {}).get("severity", {}).get("Value") == "high",
              "webhook: JSON with Slack-compatible text", body)
        rows = alerts(d)
        check(len(rows) == 2 and rows[1][0] == "ops" and rows[1][2] == "3 rows loaded"
              and json.loads(rows[1][3]) == {"severity": "high"} and rows[1][4] == "delivered"
              and rows[0][4] == "none", "alerts table: both stored, delivery recorded", rows)
        # 500 then 200: retried.
        Hook.statuses[:] = [500]
        n0 = len(Hook.bodies)
        rc, res, err = run_dag(d, """
name: alert2
tasks:
  flaky:
    type: sns_alert
    topic: flaky
    message: try again
""")
        out = res.get("output", {}).get("flaky", {})
        check(rc == 0 and out.get("delivery") == "delivered" and out.get("tries") == 2
              and len(Hook.bodies) - n0 == 2, "webhook 500 then 200: retried, delivered",
              (res, len(Hook.bodies) - n0))
        # Webhook down: the alert is stored, the task succeeds, the result says so.
        t0 = time.time()
        rc, res, err = run_dag(d, """
name: alert3
tasks:
  down:
    type: sns_alert
    topic: down
    message: nobody listens
""")
        out = res.get("output", {}).get("down", {})
        check(rc == 0 and out.get("delivery") == "failed" and out.get("tries") == 4
              and "delivery_error" in out, "webhook down: task succeeds, delivery failed",
              (res, err))
        rows = alerts(d)
        check(rows[-1][2] == "nobody listens" and rows[-1][4] == "failed",
              "webhook down: alert still stored", rows[-1:])
        check(time.time() - t0 < 30, "webhook down: retries are bounded")
        # Subject over 100 characters: rejected at validation.
        write(os.path.join(d, "long.yaml"), """
name: long
tasks:
  a:
    type: sns_alert
    topic: ops
    subject: "%s"
    message: m
""" % ("x" * 101))
        rc, outv, errv = weir(["validate", "long.yaml"], d)
        check(rc != 0 and "100" in errv, "subject > 100 characters: validation error", errv)
        # A templated subject that renders too long fails at run time, nothing stored.
        before = len(alerts(d))
        rc, res, err = run_dag(d, """
name: long2
params: {s: "%s"}
tasks:
  a:
    type: sns_alert
    topic: ops
    subject: "{{ params.s }}"
    message: m
    retry: [{errors: [States.ALL], max_attempts: 0}]
""" % ("y" * 120))
        check(rc == 1 and res.get("error") == "SNS.InvalidParameterException"
              and len(alerts(d)) == before, "rendered subject > 100: InvalidParameter", res)
        # The `weir alerts` command.
        rc, out, err = weir(["alerts", "--db", "weir.db", "--json", "--limit", "2"], d)
        lst = json.loads(out) if rc == 0 else []
        check(rc == 0 and len(lst) == 2 and lst[0]["message"] == "nobody listens",
              "weir alerts --json: newest first, limited", out + err)
        rc, out, err = weir(["alerts", "--db", "weir.db"], d)
        check(rc == 0 and "[ops] Daily load for" in out, "weir alerts: human listing", out)
        # Timeout during a slow webhook: the attempt ends with States.Timeout.
        write(os.path.join(d, "weir.yaml"), "topics:\n  slow: {webhook: 'http://127.0.0.1:%d/'}\n"
              % slow_port)
        rc, res, err = run_dag(d, """
name: alert4
tasks:
  slow:
    type: sns_alert
    topic: slow
    message: will time out
    timeout: 1s
    retry: [{errors: [States.ALL], max_attempts: 0}]
""")
        check(rc == 1 and res.get("error") == "States.Timeout", "slow webhook: States.Timeout",
              res)
    finally:
        srv.shutdown()
        os.unlink(os.path.join(d, "weir.yaml"))


def slow_server():
    """Accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    held = []

    def loop():
        while True:
            c, _ = s.accept()
            held.append(c)
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


slow_port = slow_server()


def main():
    tests = [test_load_sqlite, test_bad_rows, test_missing_inputs, test_json_and_tokens,
             test_sql_mode, test_timeout_and_connections, test_postgres, test_alerts]
    only = sys.argv[2:] if len(sys.argv) > 2 else None
    for t in tests:
        if only and t.__name__ not in only:
            continue
        d = tempfile.mkdtemp(prefix="weir-copy-")
        os.chmod(d, 0o755)
        try:
            print("== " + t.__name__)
            t(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print("%d failed: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
