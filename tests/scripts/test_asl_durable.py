#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Durable state machine executions: `weir serve` is killed with SIGKILL twice in the middle
of an execution (once in a Wait, once in a Map of 200 items whose Task appends its item to a
file) and restarted each time. The execution must finish with the right output, no Map
iteration's Task may run twice unless it was in flight at a kill, the Wait must not restart
from zero, and the history must hold no duplicated event.

    python3 test_asl_durable.py WEIR_BINARY
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from weirtest import Checks, free_port, wait_for

WEIR = os.path.abspath(sys.argv[1])
check = Checks()
N = 200
CONC = 4
WAIT_S = 4

MACHINE = {
    "Comment": "durability: a Wait, a Map of N Tasks, a Parallel",
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": WAIT_S, "Next": "Each"},
        "Each": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": CONC, "ResultPath": "$.m",
            "ItemProcessor": {"StartAt": "Append", "States": {"Append": {
                "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:append",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                           "MaxAttempts": 3}],
                "End": True}}},
            "Next": "Both"},
        "Both": {
            "Type": "Parallel", "ResultPath": "$.p",
            "Branches": [
                {"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": 1, "End": True}}},
                {"StartAt": "Nap", "States": {
                    "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Two"},
                    "Two": {"Type": "Pass", "Result": 2, "End": True}}}],
            "Next": "Sum"},
        "Sum": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.m)",
                                               "m.$": "$.m", "p.$": "$.p"}, "End": True},
    },
}


class Serve:
    def __init__(self, work):
        self.work = work
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None

    def start(self):
        log = open(os.path.join(self.work, "serve.log"), "ab")
        self.proc = subprocess.Popen(
            [WEIR, "serve", "--dags", "dags", "--db", "weir.db", "--functions", "functions",
             "--listen", "127.0.0.1:%d" % self.port], cwd=self.work, stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        if not wait_for(lambda: self.get("/api/v1/health") is not None or
                        self.proc.poll() is not None, 30) or self.proc.poll() is not None:
            raise SystemExit("weir serve did not start:\n" + self.log())

    def log(self):
        with open(os.path.join(self.work, "serve.log"), errors="replace") as f:
            return f.read()

    def get(self, path):
        try:
            return json.load(urllib.request.urlopen(self.url + path, timeout=5))
        except Exception:
            return None

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        return json.load(urllib.request.urlopen(req, timeout=30))

    def kill9(self):
        self.proc.kill()  # SIGKILL: no clean-up at all
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def events_of(srv, run_id):
    out, after = [], 0
    while True:
        page = srv.get("/api/v1/runs/%s/events?after=%d&limit=5000" % (run_id, after))
        if page is None or not page["events"]:
            return out
        out += page["events"]
        after = page["next_after"]


def main():
    work = tempfile.mkdtemp(prefix="weir-durable-")
    os.makedirs(os.path.join(work, "dags"))
    os.makedirs(os.path.join(work, "functions"))
    log = os.path.join(work, "appended.log")
    with open(os.path.join(work, "dags", "durable.json"), "w") as f:
        json.dump(MACHINE, f, indent=2)
    with open(os.path.join(work, "functions", "append"), "w") as f:
        f.write("#!/bin/sh\nin=$(cat)\necho \"$in\" >> %s\nsleep 0.05\necho \"$in\"\n" % log)
    os.chmod(os.path.join(work, "functions", "append"), 0o755)

    srv = Serve(work)
    srv.start()
    try:
        if not wait_for(lambda: (srv.get("/api/v1/workflows/durable") or {}).get("kind") == "asl",
                        20):
            check(False, "weir serve loads dags/durable.json as a state machine")
            return finish(work)
        run = srv.post("/api/v1/workflows/durable/runs", {"input": {"items": list(range(N))}})
        run_id = run["id"]
        t0 = time.time()

        # First kill: inside the Wait.
        time.sleep(WAIT_S / 2)
        srv.kill9()
        check(not lines(log), "killed during the Wait: no item ran yet")
        srv.start()

        # Second kill: inside the Map.
        if not wait_for(lambda: len(lines(log)) >= N // 4, 60):
            check(False, "the Map runs after the restart (is the execution resumed?)")
            return finish(work)
        check(True, "the Map runs after the restart")
        srv.kill9()
        at_kill = len(lines(log))
        check(at_kill < N, "killed during the Map (%d of %d items appended)" % (at_kill, N))
        srv.start()

        def ended():
            r = srv.get("/api/v1/runs/" + run_id)
            return r is not None and r["status"] not in ("RUNNING", "QUEUED")
        check(wait_for(ended, 240), "the execution ends after the second restart")
        r = srv.get("/api/v1/runs/" + run_id) or {}
        check(r.get("status") == "SUCCEEDED", "it SUCCEEDED (%s %s)" % (r.get("status"),
                                                                       r.get("cause")))
        out = r.get("output") or {}
        if isinstance(out, str):
            out = json.loads(out)
        check(out.get("n") == N and out.get("m") == list(range(N)) and out.get("p") == [1, 2],
              "the output is right")

        # Each item ran at least once; only the ones in flight at the kill ran twice.
        got = [int(x) for x in lines(log)]
        dups = len(got) - len(set(got))
        check(set(got) == set(range(N)), "every item's Task ran")
        check(dups <= CONC, "%d items ran twice (at most %d were in flight)" % (dups, CONC))

        evs = events_of(srv, run_id)
        types = [e["type"] for e in evs]

        # The Wait kept its deadline across the first kill.
        entered = [e for e in evs if e["type"] == "WaitStateEntered" and e["task"] == "Hold"]
        exited = [e for e in evs if e["type"] == "WaitStateExited" and e["task"] == "Hold"]
        check(len(entered) == 1 and len(exited) == 1, "Hold entered and exited once")
        if entered and exited:
            def ms(e):
                return e["ts"] if isinstance(e["ts"], (int, float)) else iso_ms(e["ts"])
            span = (ms(exited[0]) - ms(entered[0])) / 1000.0
            check(WAIT_S - 0.2 <= span < WAIT_S + 1.5,
                  "the Wait took %.2fs, not %ds more after the restart" % (span, WAIT_S))

        # No duplicated event: each (type, state, frame, index, attempt) is recorded once.
        seen, dup = set(), []
        for e in evs:
            d = e.get("detail") or {}
            k = (e["type"], e.get("task"), d.get("frame"), d.get("index"), e.get("attempt"))
            if k in seen:
                dup.append(k)
            seen.add(k)
        check(not dup, "no duplicated event %s" % dup[:5])
        check(types.count("MapIterationSucceeded") == N, "one MapIterationSucceeded per item")
        check(types.count("ExecutionSucceeded") == 1, "one ExecutionSucceeded")
        lost = [e for e in evs if e["type"] == "TaskFailed" and
                (e.get("detail") or {}).get("error") == "Weir.WorkerLost"]
        # A lost attempt may have been killed before or after its side effect: only those
        # in flight at a kill can have run twice.
        check(len(lost) <= 2 * CONC and dups <= len(lost),
              "tasks in flight at the kills failed with Weir.WorkerLost and were retried "
              "(%d lost, %d items written twice)" % (len(lost), dups))
        print("elapsed %.1fs" % (time.time() - t0))
    finally:
        srv.stop()
    return finish(work)


def iso_ms(s):
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000.0


def finish(work):
    if not check.fails:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("work dir kept: " + work)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
