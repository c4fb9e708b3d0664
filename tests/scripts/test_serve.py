#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""weir serve without its HTTP front end's help: scheduling (with a fast test clock),
catchup, max_active_runs, reloading the DAG folder, file triggers, SIGTERM with a grace
period, and recovery after kill -9. Everything is checked in the database.

    python3 test_serve.py WEIR_BINARY
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from weirtest import Checks, free_port
from weirtest import wait_for as _wait_for


def wait_for(pred, seconds):
    """A database still being created reads as "not yet"."""
    return _wait_for(pred, seconds, ignore=(sqlite3.OperationalError,))

WEIR = os.path.abspath(sys.argv[1])
check = Checks()


class Serve:
    def __init__(self, work, clock=None, config=None):
        self.work = work
        self.clock = clock
        self.config = config
        self.proc = None
        self.log = os.path.join(work, "serve.log")

    def start(self):
        env = dict(os.environ)
        if self.clock:
            env["WEIR_CLOCK"] = self.clock
        args = [WEIR, "serve", "--dags", "dags", "--db", "weir.db",
                "--listen", "127.0.0.1:%d" % free_port()]
        if self.config:
            with open(os.path.join(self.work, "weir.yaml"), "w") as f:
                f.write(self.config)
            args += ["--config", "weir.yaml"]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, cwd=self.work, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf, env=env)
        wait_for(lambda: "listening on" in self.text() or self.proc.poll() is not None, 45)
        if self.proc.poll() is not None:
            raise SystemExit("weir serve did not start:\n" + self.text())

    def text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()


def process_alive(pid):
    """True unless the process is gone or a zombie (an orphan's parent may never reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def db(work, sql, *args):
    c = sqlite3.connect("file:%s?mode=ro" % os.path.join(work, "weir.db"), uri=True, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def write(work, rel, text):
    path = os.path.join(work, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def new_work():
    work = tempfile.mkdtemp(prefix="weir-serve-")
    os.makedirs(os.path.join(work, "dags"))
    return work


def test_schedule_catchup():
    work = new_work()
    write(work, "dags/hourly.yaml", """
name: hourly
schedule: "0 * * * *"
timezone: UTC
start_date: 2026-01-01
catchup: true
tasks:
  stamp:
    type: local_transform
    command: echo "{{ ds }} {{ logical_date }} {{ data_interval_start }}"
""")
    write(work, "dags/latest.yaml", """
name: latest
schedule: "0 * * * *"
start_date: 2026-01-01
catchup: false
tasks:
  t: {type: local_transform, command: echo ok}
""")
    # 05:30 on Jan 1st, one simulated hour per real second.
    s = Serve(work, clock="2026-01-01T05:30:00Z,3600")
    s.start()
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM runs r JOIN workflows w ON "
                                   "w.id = r.workflow_id WHERE w.name = 'hourly' AND "
                                   "r.status = 'SUCCEEDED'")[0][0] >= 8, 60)
    s.stop()
    rows = db(work, "SELECT r.logical_date, r.ds, r.interval_start, r.status FROM runs r "
                    "JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'hourly' "
                    "ORDER BY r.logical_date")
    dates = [r[0] for r in rows]
    check(ok and dates[:8] == ["2026-01-01T%02d:00:00+00:00" % h for h in range(8)],
          "catchup: true creates every missed hour in order, then keeps firing: %s" % dates[:9])
    check(len(dates) == len(set(dates)), "no logical date is created twice")
    check(all(r[1] == "2026-01-01" for r in rows[:8]), "ds is the fire time's date")
    check(rows[1][2] == "2026-01-01T00:00:00+00:00",
          "data_interval_start is the previous fire: %r" % (rows[1][2],))
    out = db(work, "SELECT t.output FROM task_instances t JOIN runs r ON r.id = t.run_id "
                   "WHERE r.logical_date = '2026-01-01T03:00:00+00:00'")
    check(out and json.loads(out[0][0]) == "2026-01-01 2026-01-01T03:00:00+00:00 "
                                           "2026-01-01T02:00:00+00:00",
          "templates of a scheduled run: %r" % (out,))
    latest = db(work, "SELECT min(r.logical_date) FROM runs r JOIN workflows w ON "
                      "w.id = r.workflow_id WHERE w.name = 'latest'")
    check(latest[0][0] == "2026-01-01T05:00:00+00:00",
          "catchup: false starts from the latest missed fire only: %r" % (latest[0][0],))
    # Restart on the same clock: nothing is created twice.
    before = db(work, "SELECT count(*), count(DISTINCT workflow_id || logical_date) FROM runs")
    s = Serve(work, clock="2026-01-01T05:30:00Z,3600")
    s.start()
    time.sleep(1.5)
    s.stop()
    after = db(work, "SELECT count(*), count(DISTINCT workflow_id || logical_date) FROM runs")
    check(after[0][0] == after[0][1], "after a restart, still one run per logical date")
    shutil.rmtree(work)


def test_max_active_runs():
    work = new_work()
    write(work, "dags/one_at_a_time.yaml", """
name: one_at_a_time
schedule: "0 * * * *"
start_date: 2026-01-01
catchup: true
max_active_runs: 1
tasks:
  t:
    type: local_transform
    command: echo start $(date +%s%N) >> ../../spans.txt; sleep 0.3; echo end $(date +%s%N) >> ../../spans.txt
    cwd: dags/..
""".replace("../../spans.txt", os.path.join(work, "spans.txt")))
    s = Serve(work, clock="2026-01-01T03:30:00Z,1")
    s.start()
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM runs WHERE status = 'SUCCEEDED'")[0][0]
                  >= 4, 60)
    s.stop()
    if not ok:
        print(s.text()[-3000:])
    check(ok, "four catch-up runs complete")
    with open(os.path.join(work, "spans.txt")) as f:
        marks = [l.split()[0] for l in f.read().split("\n") if l]
    check(marks == ["start", "end"] * (len(marks) // 2),
          "max_active_runs: 1 runs them one after the other")
    queued = db(work, "SELECT count(*) FROM events WHERE type = 'RunQueued'")[0][0]
    check(queued >= 3, "the others waited as QUEUED (%d RunQueued events)" % queued)
    shutil.rmtree(work)


def test_pools_and_task_limits():
    work = new_work()
    spans = os.path.join(work, "spans.txt")
    cmd = ('echo "{{ run_id }} {{ attempt }} start $(date +%%s%%N)" >> %s; sleep 0.4; '
           'echo "{{ run_id }} {{ attempt }} end $(date +%%s%%N)" >> %s' % (spans, spans))
    write(work, "dags/pooled.yaml", """
name: pooled
schedule: "0 * * * *"
start_date: 2026-01-01
end_date: 2026-01-01
catchup: true
max_active_runs: 10
tasks:
  a: {type: local_transform, pool: warehouse, command: '%s'}
  b: {type: local_transform, pool: warehouse, command: '%s'}
""" % (cmd, cmd))
    s = Serve(work, clock="2026-01-01T02:30:00Z,1", config="pools: {warehouse: 1}\n")
    s.start()
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM runs WHERE status = 'SUCCEEDED'")[0][0]
                  == 3, 60)
    time.sleep(0.5)
    s.stop()
    check(ok, "three runs (00:00, 01:00, 02:00) complete")
    with open(spans) as f:
        marks = [l.split()[2] for l in f.read().split("\n") if l]
    check(len(marks) == 12 and marks == ["start", "end"] * 6,
          "a pool of 1 slot runs its tasks one at a time across runs: %s" % marks)
    shutil.rmtree(work)
    work = new_work()
    write(work, "dags/bounded.yaml", """
name: bounded
schedule: "@daily"
timezone: Asia/Kolkata
start_date: 2026-01-01
end_date: 2026-01-03
catchup: true
tasks:
  t: {type: local_transform, command: 'echo {{ ds }}'}
""")
    s = Serve(work, clock="2026-01-10T00:00:00Z,1")
    s.start()
    wait_for(lambda: db(work, "SELECT count(*) FROM runs WHERE status = 'SUCCEEDED'")[0][0]
             == 3, 45)
    time.sleep(0.5)
    s.stop()
    rows = db(work, "SELECT logical_date, ds FROM runs ORDER BY logical_date")
    check(rows == [("2026-01-0%dT00:00:00+05:30" % d, "2026-01-0%d" % d) for d in (1, 2, 3)],
          "start_date and end_date bound the schedule, in the DAG's zone: %r" % (rows,))
    shutil.rmtree(work)


def test_state_machine_schedule():
    work = new_work()
    write(work, "dags/sm.yaml", """
name: sm_every_minute
schedule: "* * * * *"
timezone: UTC
state_machine:
  StartAt: Hello
  States:
    Hello:
      Type: Pass
      Parameters:
        greeting.$: States.Format('hello {}', $$.Execution.Name)
      End: true
""")
    s = Serve(work, clock="2026-03-01T00:00:30Z,60")
    s.start()
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM runs WHERE status = 'SUCCEEDED' "
                                   "AND trigger = 'schedule'")[0][0] >= 2, 45)
    s.stop()
    check(ok, "a state machine's `state_machine:` wrapper schedule fires")
    kinds = db(work, "SELECT kind FROM workflows WHERE name = 'sm_every_minute'")
    check(kinds == [("asl",)], "it is recorded as a state machine: %r" % (kinds,))
    dates = [r[0] for r in db(work, "SELECT logical_date FROM runs ORDER BY logical_date")]
    check(dates[:2] == ["2026-03-01T00:01:00+00:00", "2026-03-01T00:02:00+00:00"],
          "without start_date it fires from its first load on, with the fire times as "
          "logical dates: %s" % dates[:3])
    shutil.rmtree(work)


def test_logs_while_running():
    work = new_work()
    write(work, "dags/tail.yaml", """
name: tail
tasks:
  chatty:
    type: local_transform
    command: |
      echo line 1; echo err 1 >&2; sleep 3; echo line 2
""")
    s = Serve(work)
    s.start()
    import urllib.request
    port = int(s.text().split("listening on http://127.0.0.1:")[1].split()[0])
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/workflows/tail/runs" % port,
                                 data=b"{}", method="POST")
    run_id = json.loads(urllib.request.urlopen(req, timeout=10).read())["id"]
    live = lambda: db(work, "SELECT l.stream, l.data FROM task_logs l JOIN task_instances t ON "
                            "t.run_id = l.run_id AND t.task = l.task WHERE t.state = 'running' "
                            "ORDER BY l.stream")
    ok = wait_for(lambda: live() == [("stderr", "err 1\n"), ("stdout", "line 1\n")], 45)
    check(ok, "a running attempt's output is in the database before it ends: %r" % (live(),))
    url = "http://127.0.0.1:%d/api/v1/runs/%s/tasks/chatty/logs?attempt=1" % (port, run_id)
    body = json.loads(urllib.request.urlopen(url, timeout=10).read())
    check("line 1" in json.dumps(body) and "line 2" not in json.dumps(body),
          "and the API tails it: %s" % json.dumps(body)[:200])
    wait_for(lambda: db(work, "SELECT status FROM runs") == [("SUCCEEDED",)], 45)
    final = db(work, "SELECT data FROM task_logs WHERE stream = 'stdout'")
    check(final == [("line 1\nline 2\n",)], "the final log is whole: %r" % (final,))
    s.stop()
    shutil.rmtree(work)


def test_reload_and_errors():
    work = new_work()
    write(work, "dags/a.yaml", "tasks: {t: {type: local_transform, command: echo a}}\n")
    write(work, "dags/bad.yaml", "tasks: {t: {type: teleport}}\n")
    s = Serve(work)
    s.start()
    check(db(work, "SELECT name, removed FROM workflows") == [("a", 0)],
          "the valid file is loaded and the invalid one is not")
    err = db(work, "SELECT errors FROM definition_errors")
    check(err and "teleport" in err[0][0] and "bad.yaml:1:" in err[0][0],
          "the invalid file's problem is recorded with its position")
    write(work, "dags/b.yaml", "tasks: {t: {type: local_transform, command: echo b}}\n")
    ok = wait_for(lambda: ("b",) in db(work, "SELECT name FROM workflows"), 45)
    check(ok, "an added file is loaded while running")
    write(work, "dags/a.yaml", "tasks: {t: {type: local_transform, command: echo a2}}\n")
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM workflow_versions v JOIN workflows w "
                                   "ON w.id = v.workflow_id WHERE w.name = 'a'")[0][0] == 2, 45)
    check(ok, "a changed file records a new version")
    os.remove(os.path.join(work, "dags/b.yaml"))
    ok = wait_for(lambda: db(work, "SELECT removed FROM workflows WHERE name = 'b'") == [(1,)], 45)
    check(ok, "a removed file marks its workflow removed")
    write(work, "dags/bad.yaml", "tasks: {t: {type: local_transform, command: echo fixed}}\n")
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM definition_errors")[0][0] == 0, 45)
    check(ok, "fixing the invalid file clears its problem")
    rc = s.stop()
    check(rc == 0, "SIGTERM stops the server cleanly (exit %r)" % rc)
    shutil.rmtree(work)


def test_file_trigger():
    work = new_work()
    inbox = os.path.join(work, "inbox")
    os.makedirs(inbox)
    write(work, "dags/ingest.yaml", """
name: ingest
triggers:
  - file: {path: %s, pattern: "*.csv"}
tasks:
  count:
    type: local_transform
    command: wc -l < "{{ input.file }}"
""" % inbox)
    s = Serve(work)
    s.start()
    write(work, "inbox/ignored.txt", "x\n")
    tmp = write(work, "inbox/.part", "a\nb\nc\n")
    os.rename(tmp, os.path.join(inbox, "day1.csv"))
    ok = wait_for(lambda: db(work, "SELECT count(*) FROM runs WHERE status = 'SUCCEEDED'")[0][0]
                  == 1, 45)
    check(ok, "a new complete file starts one run")
    out = db(work, "SELECT t.output, r.input FROM task_instances t JOIN runs r ON r.id = t.run_id")
    check(out and json.loads(out[0][0]) == 3 and json.loads(out[0][1])["file"].endswith("day1.csv"),
          "the run got {{ input.file }}: %r" % (out,))
    s.stop()
    s = Serve(work)
    s.start()
    time.sleep(3)
    s.stop()
    check(db(work, "SELECT count(*) FROM runs")[0][0] == 1,
          "after a restart the same file does not fire again")
    shutil.rmtree(work)


def test_sigterm_grace_and_kill9_recovery():
    work = new_work()
    marker = os.path.join(work, "marker")
    # Every minute from a clock at 10:00:30: the 10:00 fire is the latest missed one.
    write(work, "dags/slow.yaml", """
name: slow
schedule: "* * * * *"
start_date: 2026-01-01
tasks:
  first:
    type: local_transform
    command: echo first
  wait:
    type: local_transform
    depends_on: [first]
    command: echo $$ > %s.pid.{{ attempt }}; sleep 30; echo done
    retry:
      - errors: [Weir.WorkerLost]
        interval: 0
        max_attempts: 2
  quick:
    type: local_transform
    depends_on: [first]
    command: sleep 1; echo quick
    retry:
      - errors: [Weir.WorkerLost]
        interval: 0
""" % marker)
    s = Serve(work, clock="2026-06-01T10:00:30Z,1", config="shutdown_grace: 2s\n")
    s.start()
    ok = wait_for(lambda: os.path.exists(marker + ".pid.1"), 45)
    check(ok, "the scheduled run's long task started")
    # A process group is recorded once its attempt has run 200 ms.
    ok = wait_for(lambda: db(work, "SELECT pid FROM attempts WHERE task = 'wait'") not in
                  ([], [(None,)]), 45)
    check(ok, "the running attempt's process group is recorded")
    s.kill9()
    with open(marker + ".pid.1") as f:
        pid1 = int(f.read().strip())
    s = Serve(work, clock="2026-06-01T10:00:40Z,1", config="shutdown_grace: 2s\n")
    s.start()
    ok = wait_for(lambda: os.path.exists(marker + ".pid.2"), 45)
    check(ok, "after kill -9 the lost attempt is retried (Weir.WorkerLost)")
    alive = process_alive(pid1)
    check(not alive, "the orphaned process group of the lost attempt was stopped")
    lost = db(work, "SELECT error FROM attempts WHERE task = 'wait' AND attempt = 1")
    check(lost == [("Weir.WorkerLost",)], "the lost attempt is recorded as Weir.WorkerLost: %r"
          % (lost,))
    started = time.time()
    rc = s.stop()
    took = time.time() - started
    check(rc == 0 and took < 20, "SIGTERM stops after the grace period (%.1fs, exit %r)"
          % (took, rc))
    st = db(work, "SELECT t.state, r.status FROM task_instances t JOIN runs r ON "
                  "r.id = t.run_id WHERE t.task = 'wait'")
    check(st and st[0] == ("queued", "RUNNING"),
          "the interrupted task is queued again and its run still RUNNING: %r" % (st,))
    quick = db(work, "SELECT state FROM task_instances WHERE task = 'quick'")
    check(quick and quick[0][0] == "succeeded", "a task that ends within the grace period "
          "is recorded normally: %r" % (quick,))
    integrity = db(work, "PRAGMA integrity_check")
    check(integrity == [("ok",)], "integrity_check ok")
    events = db(work, "SELECT count(*), count(DISTINCT id) FROM events")
    check(events[0][0] == events[0][1], "no duplicated history event")
    shutil.rmtree(work)


def main():
    for t in (test_schedule_catchup, test_max_active_runs, test_pools_and_task_limits,
              test_state_machine_schedule, test_logs_while_running,
              test_reload_and_errors,
              test_file_trigger, test_sigterm_grace_and_kill9_recovery):
        print("== " + t.__name__)
        t()
    sys.exit(check.summary())


if __name__ == "__main__":
    main()
