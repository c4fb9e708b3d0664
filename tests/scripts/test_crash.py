#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash test: weir serve is SIGKILLed at random moments while runs triggered through the REST
API are in flight, restarted each time, and at the end every invariant of a durable engine
must hold:

  - every run triggered reaches a terminal state (SUCCEEDED, or FAILED only where the DAG
    makes it fail), exactly once;
  - a task whose process died with the daemon failed that attempt with Weir.WorkerLost and
    followed its Retry policy;
  - each run's history is whole: one RunStarted, one terminal Run* event last, every
    TaskStarted followed by exactly one end of that attempt, no event twice;
  - PRAGMA integrity_check is ok.

    python3 test_crash.py WEIR_BINARY [SEED]
"""
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from weirtest import free_port

WEIR = os.path.abspath(sys.argv[1])
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 20261122
RUNS = 36
KILLS = 5

DAG = """
name: crashy
max_active_runs: 8
defaults:
  retry:
    - errors: [Weir.WorkerLost]
      interval: 0
      max_attempts: 10
tasks:
  extract:
    type: local_transform
    command: |
      sleep 0.$(( {{ input.n }} % 7 + 1 )); echo '{"n": {{ input.n }}}'
  transform:
    type: local_transform
    depends_on: [extract]
    command: sleep 0.$(( {{ input.n }} % 5 + 2 )); echo $(( {{ tasks.extract.output.n }} * 2 ))
  side:
    type: local_transform
    depends_on: [extract]
    command: sleep 0.3; test $(( {{ input.n }} % 9 )) -ne 4
  load:
    type: local_transform
    depends_on: [transform, side]
    trigger_rule: all_done
    command: echo loaded-{{ input.n }}
"""


def api(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1%s" % (port, path), data=data,
                                 method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start(work, port, log):
    p = subprocess.Popen([WEIR, "serve", "--dags", "dags", "--db", "weir.db", "--listen",
                          "127.0.0.1:%d" % port], cwd=work, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log)
    end = time.time() + 20
    while time.time() < end:
        try:
            if api(port, "GET", "/health")[0] == 200:
                return p
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("weir serve did not come up")


def main():
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="weir-crash-")
    os.makedirs(os.path.join(work, "dags"))
    with open(os.path.join(work, "dags", "crashy.yaml"), "w") as f:
        f.write(DAG)
    log = open(os.path.join(work, "serve.log"), "ab")
    port = free_port()
    proc = start(work, port, log)
    triggered = {}
    problems = []
    n = 0
    for k in range(KILLS):
        # Trigger a batch (with client run ids, some sent twice: never a second run).
        for _ in range(RUNS // KILLS + 1):
            if n >= RUNS:
                break
            rid = "crash-%03d" % n
            try:
                code, body = api(port, "POST", "/workflows/crashy/runs",
                                 {"input": {"n": n}, "run_id": rid})
            except OSError as e:
                problems.append("trigger %s: %s" % (rid, e))
                continue
            if code not in (200, 201):
                problems.append("trigger %s answered %d %r" % (rid, code, body))
                continue
            triggered[rid] = (n, body["id"])
            if rng.random() < 0.3:
                code2, body2 = api(port, "POST", "/workflows/crashy/runs",
                                   {"input": {"n": n}, "run_id": rid})
                if code2 != 200 or body2["id"] != body["id"]:
                    problems.append("a retried trigger of %s made another run" % rid)
            n += 1
        time.sleep(rng.uniform(0.2, 1.2))
        proc.kill()  # SIGKILL at a random moment
        proc.wait()
        port = free_port()
        proc = start(work, port, log)
    # Let everything finish.
    end = time.time() + 120
    while time.time() < end:
        code, body = api(port, "GET", "/workflows/crashy/runs?limit=200")
        runs = body.get("runs", []) if code == 200 else []
        if len(runs) >= len(triggered) and all(r["status"] in ("SUCCEEDED", "FAILED")
                                               for r in runs):
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    log.close()

    db = sqlite3.connect(os.path.join(work, "weir.db"))
    check = lambda cond, what: problems.append(what) if not cond else None
    check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check")
    rows = db.execute("SELECT id, status, client_run_id FROM runs").fetchall()
    check(len(rows) == len(triggered), "%d runs recorded for %d triggered" % (len(rows),
                                                                             len(triggered)))
    lost = 0
    for run_id, status, client in rows:
        n_in = triggered.get(client, (None,))[0]
        want = "FAILED" if n_in is not None and n_in % 9 == 4 else "SUCCEEDED"
        check(status == want, "run %s (n=%s) ended %s" % (client, n_in, status))
        ev = db.execute("SELECT type, task, attempt FROM events WHERE run_id = ? ORDER BY id",
                        (run_id,)).fetchall()
        types = [e[0] for e in ev]
        check(types.count("RunStarted") == 1, "%s: %d RunStarted" % (client,
                                                                     types.count("RunStarted")))
        check(types[-1] in ("RunSucceeded", "RunFailed") and
              sum(t in ("RunSucceeded", "RunFailed", "RunAborted") for t in types) == 1,
              "%s: one terminal event, last" % client)
        started = {}
        ended = {}
        for t, task, att in ev:
            key = (task, att)
            if t == "TaskStarted":
                started[key] = started.get(key, 0) + 1
            elif t in ("TaskSucceeded", "TaskFailed", "TaskRetryScheduled", "TaskCaught"):
                ended[key] = ended.get(key, 0) + 1
        check(all(v == 1 for v in started.values()), "%s: an attempt started twice" % client)
        check(started.keys() == ended.keys() and all(v == 1 for v in ended.values()),
              "%s: every attempt ends exactly once (started %s, ended %s)"
              % (client, sorted(started), sorted(ended)))
        lost += db.execute("SELECT count(*) FROM attempts WHERE run_id = ? AND error = "
                           "'Weir.WorkerLost'", (run_id,)).fetchone()[0]
        side = db.execute("SELECT state FROM task_instances WHERE run_id = ? AND task = 'side'",
                          (run_id,)).fetchone()[0]
        check(side == ("failed" if n_in % 9 == 4 else "succeeded"),
              "%s: side ended %s" % (client, side))
    print("%d runs, %d kills, %d attempts lost with the daemon and retried"
          % (len(rows), KILLS, lost))
    if problems:
        for p in problems[:40]:
            print("FAIL " + p)
        print("--- serve.log tail")
        with open(os.path.join(work, "serve.log"), errors="replace") as f:
            print(f.read()[-4000:])
        print("0 passed, 1 failed")
        sys.exit(1)
    shutil.rmtree(work)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
