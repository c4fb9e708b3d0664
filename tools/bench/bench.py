#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/bench/bench.py: weir's benchmark scenarios (issue 5), side by side with real peers.

    python3 tools/bench/bench.py --weir BUILD/weir [--quick] [--scenario N]... [--pairs N]
                                 [--workdir DIR] [--sales-mb M] [--sales-big-mb M]

Normally started by tools/bench/run.sh, which builds the release binary and installs the
peers first. Each scenario with a peer runs a warm-up pair (where the outputs are checked:
every task ran once, the outputs equal the peer's), then PAIRS pairs alternately (weir, peer,
weir, peer, ...), and reports medians, the median of the pairwise ratios weir/peer and the
min-max. A peer that is not installed is skipped (its columns say so) and weir's side still
runs. --quick is the smoke mode of the test suite: tiny sizes, one pair, correctness only.

Exit status: 0 every check passed; 1 a correctness check failed (or weir failed); 77 weir
passed but at least one peer was missing (so its comparison was not checked).
Python 3 standard library only."""

import argparse
import csv
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# ==== Results ====


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Row:
    """One line of the results table."""

    def __init__(self, scenario, metric, unit, weir, peer_name=None, peer=None, ratios=None,
                 target="", met=None, note="", lower_is_better=True):
        self.scenario = scenario
        self.metric = metric
        self.unit = unit
        self.weir = list(weir)
        self.peer_name = peer_name
        self.peer = list(peer) if peer is not None else None
        self.ratios = list(ratios) if ratios else None
        self.target = target
        self.met = met
        self.note = note
        self.lower_is_better = lower_is_better

    def as_dict(self):
        return {k: v for k, v in self.__dict__.items()}


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.3f s" % v if v < 10 else "%.1f s" % v
    if unit == "ms":
        return "%.2f ms" % v if v < 100 else "%.0f ms" % v
    if unit == "MB":
        return "%.1f MB" % v
    if unit == "%":
        return "%.2f %%" % v
    if v >= 1000:
        return "%.0f %s" % (v, unit)
    return "%.3g %s" % (v, unit)


def span(vals, unit):
    if not vals:
        return "-"
    return "%s–%s" % (fmt(min(vals), unit), fmt(max(vals), unit))


def table(rows):
    head = ["#", "metric", "weir median", "peer", "peer median", "weir/peer",
            "weir min–max", "peer min–max", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        wmed = statistics.median(r.weir) if r.weir else None
        pmed = statistics.median(r.peer) if r.peer else None
        ratio = "%.2f" % statistics.median(r.ratios) if r.ratios else "-"
        met = {True: "yes", False: "**NO**", None: "-"}[r.met]
        peer = r.peer_name or "—"
        if r.peer_name and not r.peer:
            peer += " (not installed)" if r.note.startswith("peer missing") else ""
        cells = [str(r.scenario), r.metric, fmt(wmed, r.unit), peer,
                 fmt(pmed, r.unit) if r.peer else "-", ratio, span(r.weir, r.unit),
                 span(r.peer, r.unit) if r.peer else "-", r.target, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ==== Processes ====


def run_timed(argv, cwd, stdin=None, stdout=subprocess.PIPE, env=None):
    """Runs argv; returns (wall seconds, returncode, stdout bytes, stderr bytes, maxrss KB)."""
    fin = open(stdin, "rb") if isinstance(stdin, str) else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, stdin=fin, stdout=stdout, stderr=subprocess.PIPE,
                             env=env)
        out, err = p.communicate()
        wall = time.perf_counter() - t0
        # communicate() has reaped the child; its own rusage is not kept by Popen, so peak
        # RSS comes from a wait4 wrapper where it matters (run_rss).
        return wall, p.returncode, out or b"", err or b""
    finally:
        if fin is not subprocess.DEVNULL:
            fin.close()


def run_rss(argv, cwd, stdout_path=None, stdin_path=None):
    """Runs argv, sampling its peak RSS (VmHWM) every 10 ms while it runs: a forked child's
    rusage maxrss also counts this Python process's pages at fork time, so wait4 would not
    do. Returns (wall s, rc, stderr bytes, peak RSS MB)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    errf = tempfile.TemporaryFile()
    hwm = 0.0
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, stdin=fin, stdout=out, stderr=errf)
        while p.poll() is None:
            try:
                hwm = max(hwm, proc_status(p.pid, "VmHWM") or 0.0)
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        errf.seek(0)
        return wall, p.returncode, errf.read(), hwm
    finally:
        for f in (out, fin):
            if f is not subprocess.DEVNULL:
                f.close()
        errf.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in MB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return None


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


class Serve:
    """A `weir serve` process on a free loopback port, stopped by its pid."""

    def __init__(self, weir, cwd, dags, db, parallelism):
        self.port = free_port()
        self.log = open(os.path.join(cwd, "serve.log"), "wb")
        self.t_spawn = time.perf_counter()
        self.p = subprocess.Popen(
            [weir, "serve", "--dags", dags, "--db", db, "--listen",
             "127.0.0.1:%d" % self.port, "--parallelism", str(parallelism)],
            cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.p.pid

    def request(self, method, path, body=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None)
        finally:
            if conn is None:
                c.close()

    def wait_ready(self, deadline_s=30):
        end = time.time() + deadline_s
        while time.time() < end:
            check(self.p.poll() is None, "weir serve exited early (see serve.log)")
            try:
                st, _ = self.request("GET", "/api/v1/health")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise CheckFailed("weir serve did not answer within %d s" % deadline_s)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


# ==== Pairs ====


def pairs(n, a, b):
    """Warm-up (a, b) then n pairs alternately. a() and b() return one measurement each;
    b may be None (no peer). Returns (a values, b values, pairwise ratios a/b)."""
    a(True)
    if b:
        b(True)
    av, bv, ratios = [], [], []
    for _ in range(n):
        x = a(False)
        av.append(x)
        if b:
            y = b(False)
            bv.append(y)
            ratios.append(x / y if y else float("inf"))
    return av, bv, ratios


# ==== The benchmark context ====


class Bench:
    def __init__(self, args):
        self.args = args
        self.weir = os.path.abspath(args.weir)
        self.quick = args.quick
        self.n_pairs = args.pairs if args.pairs else (1 if args.quick else 5)
        self.work = os.path.abspath(args.workdir)
        os.makedirs(self.work, exist_ok=True)
        self.rows = []
        self.missing = []  # peers not installed
        self.ceil = {}
        self.par = 8  # weir's --parallelism and ninja -j
        self.node_modules = os.path.join(HERE, "node_modules")

    def log(self, msg):
        print("bench: " + msg, file=sys.stderr, flush=True)

    def have(self, tool):
        return shutil.which(tool) is not None

    def peer_missing(self, name):
        if name not in self.missing:
            self.missing.append(name)
        self.log("peer missing: %s (its side is skipped)" % name)

    def dir(self, name):
        d = os.path.join(self.work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def weir_run(self, cwd, dag, db, extra=(), fresh=True):
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
        argv = [self.weir, "run", dag, "--json", "--quiet", "--db", db,
                "--parallelism", str(self.par)] + list(extra)
        wall, rc, out, err = run_timed(argv, cwd)
        if rc != 0:
            raise CheckFailed("weir run %s: exit %d: %s %s" % (dag, rc, out[-400:], err[-400:]))
        return wall, json.loads(out)

    # ---- ceilings ----

    def ceilings(self):
        src = os.path.join(HERE, "ceil.c")
        exe = os.path.join(self.work, "ceil")
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            self.log("no C compiler: machine ceilings skipped")
            return
        if subprocess.call([cc, "-O2", "-o", exe, src, "-lsqlite3"]) != 0:
            self.log("ceil.c did not build: machine ceilings skipped")
            return
        n = 200 if self.quick else 3000
        for key, argv in (("spawn_true", [exe, "spawn", str(n)]),
                          ("spawn_sh", [exe, "shspawn", str(n)])):
            self.ceil[key] = statistics.median(
                float(subprocess.check_output(argv)) for _ in range(3))
        for sync, key, count in (("FULL", "commit_fsync", 100 if self.quick else 2000),
                                 ("NORMAL", "commit_nosync", 500 if self.quick else 20000)):
            vals = []
            for _ in range(3):
                db = os.path.join(self.work, "ceil.db")
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.unlink(db + suffix)
                vals.append(float(subprocess.check_output([exe, "sqlite", db, str(count),
                                                           sync])))
            self.ceil[key] = statistics.median(vals)
        self.log("ceilings: %s" % json.dumps(self.ceil))

    # ---- scenarios 1 and 2: DAGs of no-op commands vs ninja ----

    def layered(self, layers, width):
        names = [["t%02d_%03d" % (l, i) for i in range(width)] for l in range(layers)]
        deps = {n: (names[l - 1] if l else []) for l in range(layers) for n in names[l]}
        return [n for layer in names for n in layer], deps

    def chain(self, n):
        names = ["t%04d" % i for i in range(n)]
        return names, {names[i]: ([names[i - 1]] if i else []) for i in range(n)}

    def write_graph(self, d, name, names, deps):
        with open(os.path.join(d, "dag.yaml"), "w") as f:
            f.write("name: %s\nmax_active_tasks: 100000\ntasks:\n" % name)
            for n in names:
                f.write("  %s:\n    type: local_transform\n    command: \"true\"\n" % n)
                if deps[n]:
                    f.write("    depends_on: [%s]\n" % ", ".join(deps[n]))
        with open(os.path.join(d, "build.ninja"), "w") as f:
            f.write("rule noop\n  command = true\n\n")
            for n in names:
                f.write("build %s: noop%s\n" % (n, (" | " + " ".join(deps[n])) if deps[n] else ""))

    def check_dag_result(self, res, db, names):
        check(res.get("status") == "SUCCEEDED", "weir run status %s" % res.get("status"))
        tasks = res.get("tasks", {})
        check(len(tasks) == len(names), "weir ran %d tasks of %d" % (len(tasks), len(names)))
        for n in names:
            t = tasks.get(n, {})
            check(t.get("state") == "succeeded" and t.get("attempts") == 1,
                  "task %s: %s" % (n, t))
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            rows = con.execute("SELECT task, count(*) FROM attempts GROUP BY task").fetchall()
            bad = [r for r in rows if r[1] != 1]
            check(len(rows) == len(names) and not bad,
                  "attempts table: %d tasks recorded, not once: %s" % (len(rows), bad[:3]))
        finally:
            con.close()

    def ninja_run(self, d, n_tasks):
        for f in (".ninja_log", ".ninja_deps"):
            if os.path.exists(os.path.join(d, f)):
                os.unlink(os.path.join(d, f))
        wall, rc, out, err = run_timed(["ninja", "-j", str(self.par), "-f", "build.ninja"], d)
        check(rc == 0, "ninja failed: %s" % err[-300:])
        done = re.findall(rb"\[(\d+)/(\d+)\]", out)
        check(done and int(done[-1][0]) == n_tasks and int(done[-1][1]) == n_tasks,
              "ninja ran %s of %d" % (done[-1] if done else None, n_tasks))
        return wall

    def dag_vs_ninja(self, scen, title, names, deps):
        d = self.dir("s%d" % scen)
        self.write_graph(d, "bench%d" % scen, names, deps)
        db = os.path.join(d, "weir.db")
        gaps = []

        def a(warm):
            wall, res = self.weir_run(d, "dag.yaml", db)
            if warm or self.quick:
                self.check_dag_result(res, db, names)
            if scen == 2:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
                at = con.execute("SELECT task, started_at, ended_at FROM attempts "
                                 "ORDER BY task").fetchall()
                con.close()
                for i in range(1, len(at)):
                    gaps.append(at[i][1] - at[i - 1][2])
            return wall

        have_ninja = self.have("ninja")
        if not have_ninja:
            self.peer_missing("ninja")
        av, bv, ratios = pairs(self.n_pairs, a,
                               (lambda warm: self.ninja_run(d, len(names))) if have_ninja else None)
        wmed = statistics.median(av)
        ratio = statistics.median(ratios) if ratios else None
        row = Row(scen, title, "s", av, "ninja -j%d" % self.par, bv, ratios, "≤ 1.2 × ninja",
                  (ratio <= 1.2) if ratio is not None else None,
                  "" if have_ninja else "peer missing: ninja")
        self.rows.append(row)
        if "spawn_sh" in self.ceil:
            cores = min(os.cpu_count() or 1, self.par) if scen == 1 else 1
            floor = len(names) / (self.ceil["spawn_sh"] * cores)
            self.rows.append(Row(scen, "machine floor: %d × fork+exec `sh -c true`%s" %
                                 (len(names), " on %d cores" % cores if scen == 1 else ", serial"),
                                 "s", [floor], target="weir at %.0f %% of it" %
                                 (100 * floor / wmed)))
        if scen == 2 and gaps:
            # Gaps of the timed runs (the warm-up run's too): weir's own ms timestamps.
            p50, p99 = pct(gaps, 50), pct(gaps, 99)
            self.rows.append(Row(2, "scheduling gap p50 (attempts.ended_at → next started_at)",
                                 "ms", [p50], target="≤ 1 ms", met=p50 <= 1))
            self.rows.append(Row(2, "scheduling gap p99 (%d gaps)" % len(gaps), "ms", [p99],
                                 target="≤ 5 ms", met=p99 <= 5))
            self.rows.append(Row(2, "scheduling gap max", "ms", [max(gaps)]))

    def s1(self):
        layers, width = (3, 5) if self.quick else (10, 100)
        names, deps = self.layered(layers, width)
        self.dag_vs_ninja(1, "DAG %d no-op tasks, %d layers × %d, full deps: wall" %
                          (len(names), layers, width), names, deps)

    def s2(self):
        names, deps = self.chain(20 if self.quick else 1000)
        self.dag_vs_ninja(2, "chain of %d no-op tasks: wall" % len(names), names, deps)

    # ---- scenario 3: ASL vs aws-local-stepfunctions ----

    def s3(self):
        n = 50 if self.quick else 10000
        d = self.dir("s3")
        loop = {"Comment": "Choice/Pass loop with States.MathAdd", "StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
            "Check": {"Type": "Choice", "Default": "Done", "Choices": [
                {"Variable": "$.i", "NumericLessThan": n, "Next": "Inc"}]},
            "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                    "Next": "Check"},
            "Done": {"Type": "Succeed"}}}
        mapdef = {"Comment": "Map over the input items, a Pass inside", "StartAt": "Map",
                  "States": {"Map": {
                      "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                                        "States": {"P": {"Type": "Pass",
                                                         "Parameters": {"v.$": "$.v",
                                                                        "seen": True},
                                                         "End": True}}},
                      "ResultSelector": {"n.$": "States.ArrayLength($)",
                                         "last.$": "$[%d]" % (n - 1)},
                      "End": True}}}
        json.dump(loop, open(os.path.join(d, "loop.json"), "w"))
        json.dump(mapdef, open(os.path.join(d, "map.json"), "w"))
        items = {"items": [{"v": i} for i in range(n)]}
        json.dump(items, open(os.path.join(d, "map_input.json"), "w"))
        expect = {"loop": {"i": n}, "map": {"n": n, "last": {"v": n - 1, "seen": True}}}
        states = {"loop": 2 * n + 3, "map": n + 1}  # states entered by a run
        have_peer = self.have("node") and os.path.isdir(
            os.path.join(self.node_modules, "aws-local-stepfunctions"))
        if not have_peer:
            self.peer_missing("aws-local-stepfunctions (node + tools/bench/node_modules)")
        db = os.path.join(d, "weir.db")
        for name in ("loop", "map"):
            extra = ["--input-file", "map_input.json"] if name == "map" else []
            rates = []
            unsupported = []

            def a(warm, name=name, extra=extra, rates=rates):
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.unlink(db + suffix)
                argv = [self.weir, "run", name + ".json", "--json", "--quiet", "--db", db] + extra
                wall, rc, out, err = run_timed(argv, d)
                if rc == 2 and not unsupported:
                    unsupported.append(err.decode(errors="replace").strip()[-200:])
                    raise CheckFailed("unsupported")
                check(rc == 0, "weir run %s.json: exit %d %s" % (name, rc, err[-300:]))
                res = json.loads(out)
                check(res.get("status") == "SUCCEEDED" and res.get("output") == expect[name],
                      "weir %s output %s" % (name, str(res)[:300]))
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
                entered = con.execute("SELECT count(*) FROM events WHERE type LIKE "
                                      "'%StateEntered'").fetchone()[0]
                n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
                con.close()
                check(entered == states[name], "weir %s: %d states entered, expected %d" %
                      (name, entered, states[name]))
                rates.append((entered / wall, n_events / wall))
                return wall

            def b(warm, name=name):
                argv = ["node", os.path.join(HERE, "asl_peer.mjs"), name + ".json"]
                if name == "map":
                    argv.append(json.dumps(items))
                wall, rc, out, err = run_timed(argv, d)
                check(rc == 0, "aws-local-stepfunctions %s: exit %d %s" % (name, rc, err[-300:]))
                check(json.loads(out) == expect[name], "peer %s output %s" % (name, out[:300]))
                return wall

            title = ("Choice/Pass loop, %d iterations (States.MathAdd): wall" % n if name == "loop"
                     else "Map over %d items, Pass inside: wall" % n)
            try:
                av, bv, ratios = pairs(self.n_pairs, a, b if have_peer else None)
            except CheckFailed as e:
                if not unsupported:
                    raise
                self.rows.append(Row(3, title, "s", [], "aws-local-stepfunctions",
                                     note="not supported yet: " + unsupported[0]))
                self.log("scenario 3 %s: not supported yet: %s" % (name, e))
                continue
            ratio = statistics.median(ratios) if ratios else None
            self.rows.append(Row(3, title, "s", av, "aws-local-stepfunctions", bv, ratios,
                                 "faster than the peer", (ratio < 1) if ratio else None,
                                 "" if have_peer else "peer missing"))
            trans = [r[0] for r in rates]
            ev = statistics.median(r[1] for r in rates)
            tmed = statistics.median(trans)
            self.rows.append(Row(3, "%s: durable state transitions/s (%d events/s)" % (name, ev),
                                 "/s", trans, target="≥ 50,000/s", met=tmed >= 50000,
                                 lower_is_better=False))
            if "commit_nosync" in self.ceil:
                self.rows.append(Row(3, "%s: events/s vs this disk's WAL commits/s "
                                     "(synchronous=NORMAL, weir's setting)" % name, "/s",
                                     [self.ceil["commit_nosync"]],
                                     target="weir at %.0f %% of it" %
                                     (100 * ev / self.ceil["commit_nosync"])))

    # ---- scenarios 4 and 6: weir serve under the REST API ----

    def five_task_dag(self, dags):
        with open(os.path.join(dags, "five.yaml"), "w") as f:
            f.write("name: five\nmax_active_runs: 100000\ntasks:\n"
                    "  a: {type: local_transform, command: \"true\"}\n"
                    "  b: {type: local_transform, command: \"true\", depends_on: a}\n"
                    "  c: {type: local_transform, command: \"true\", depends_on: a}\n"
                    "  d: {type: local_transform, command: \"true\", depends_on: a}\n"
                    "  e: {type: local_transform, command: \"true\", depends_on: [b, c, d]}\n")

    def trigger_many(self, srv, n, threads=16):
        """POSTs n runs from `threads` keep-alive connections; returns the run ids."""
        ids, errors = [], []
        lock = threading.Lock()
        todo = list(range(n))

        def worker():
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            while True:
                with lock:
                    if not todo:
                        break
                    todo.pop()
                try:
                    st, body = srv.request("POST", "/api/v1/workflows/five/runs", {}, conn=c)
                except (OSError, http.client.HTTPException) as e:
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                    with lock:
                        errors.append(str(e))
                    continue
                with lock:
                    if st == 201:
                        ids.append(body["id"])
                    else:
                        errors.append("%d %s" % (st, body))
            c.close()

        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(not errors, "POST runs: %d errors, e.g. %s" % (len(errors), errors[:2]))
        return ids

    def wait_runs(self, db, ids, deadline_s):
        """Waits until every run in ids ended; returns max(ended_at) in Unix ms."""
        end = time.time() + deadline_s
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            while True:
                row = con.execute("SELECT count(*), max(ended_at) FROM runs WHERE trigger='api' "
                                  "AND status IN ('SUCCEEDED','FAILED','ABORTED')").fetchone()
                if row[0] >= len(ids):
                    return row[1]
                check(time.time() < end, "%d of %d runs ended after %d s" %
                      (row[0], len(ids), deadline_s))
                time.sleep(0.02)
        finally:
            con.close()

    def check_runs(self, db, ids):
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            st = dict(con.execute("SELECT status, count(*) FROM runs WHERE trigger='api' "
                                  "GROUP BY status").fetchall())
            check(st.get("SUCCEEDED", 0) == len(ids), "runs by status: %s" % st)
            n, distinct, maxa = con.execute(
                "SELECT count(*), count(DISTINCT run_id || '/' || task), max(attempt) "
                "FROM attempts WHERE run_id IN (SELECT id FROM runs WHERE trigger='api')"
            ).fetchone()
            check(n == 5 * len(ids) and distinct == n and maxa == 1,
                  "attempts: %d rows, %d distinct tasks, max attempt %s (want %d, once each)"
                  % (n, distinct, maxa, 5 * len(ids)))
        finally:
            con.close()

    def wrk(self, srv, path, seconds):
        out = subprocess.run(["wrk", "-t2", "-c50", "-d%ds" % seconds, "--latency",
                              "http://127.0.0.1:%d%s" % (srv.port, path)],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)
        p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        check(bad is None, "wrk: %s non-2xx answers" % (bad.group(1) if bad else ""))
        errs = re.search(r"Socket errors:.*", out)
        return rps, p99, errs.group(0) if errs else ""

    def s4_s6(self, do4, do6):
        n = 10 if self.quick else 1000
        reps = self.n_pairs if self.quick else max(3, self.n_pairs)
        wrk_s = 1 if self.quick else 5
        have_wrk = self.have("wrk")
        if do6 and not have_wrk:
            self.peer_missing("wrk")
        walls, tps, hwm, idle_rps, idle_p99, busy_rps, busy_p99 = [], [], [], [], [], [], []
        notes = []
        for rep in range(reps + 1):  # the first is a warm-up
            d = self.dir("s4")
            dags = os.path.join(d, "dags")
            os.makedirs(dags)
            self.five_task_dag(dags)
            db = os.path.join(d, "weir.db")
            srv = Serve(self.weir, d, "dags", db, self.par)
            try:
                srv.wait_ready()
                if do4:
                    t0 = time.time() * 1000
                    ids = self.trigger_many(srv, n)
                    last = self.wait_runs(db, ids, 600)
                    self.check_runs(db, ids)
                    wall = (last - t0) / 1000.0
                    if rep:
                        walls.append(wall)
                        tps.append(5 * n / wall)
                if do6 and have_wrk:
                    ids0 = self.trigger_many(srv, 1)
                    self.wait_runs(db, ids0 if not do4 else ids + ids0, 120)
                    rps, p99, errs = self.wrk(srv, "/api/v1/runs/" + ids0[0], wrk_s)
                    if rep:
                        idle_rps.append(rps)
                        idle_p99.append(p99)
                    # During scenario 4: n more runs triggered while wrk reads.
                    res = {}
                    th = threading.Thread(target=lambda: res.update(
                        w=self.wrk(srv, "/api/v1/runs/" + ids0[0], wrk_s)))
                    th.start()
                    more = self.trigger_many(srv, n)
                    th.join()
                    self.wait_runs(db, (ids if do4 else []) + ids0 + more, 600)
                    if rep:
                        busy_rps.append(res["w"][0])
                        busy_p99.append(res["w"][1])
                    if errs:
                        notes.append(errs)
                if rep:
                    hwm.append(proc_status(srv.pid, "VmHWM"))
            finally:
                srv.stop()
        if do4:
            self.rows.append(Row(4, "%d runs of a 5-task DAG via POST at once: wall to last "
                                 "run ended" % n, "s", walls, target="all complete", met=True))
            self.rows.append(Row(4, "tasks/s", "/s", tps, lower_is_better=False))
            self.rows.append(Row(4, "`weir serve` peak RSS (VmHWM)", "MB", hwm,
                                 target="≤ 64 MB", met=statistics.median(hwm) <= 64))
        if do6 and have_wrk:
            self.rows.append(Row(6, "GET /runs/{id} idle, wrk -t2 -c50: req/s", "/s", idle_rps,
                                 target="≥ 15,000/s",
                                 met=statistics.median(idle_rps) >= 15000,
                                 lower_is_better=False))
            self.rows.append(Row(6, "GET /runs/{id} idle: p99 latency", "ms", idle_p99,
                                 target="≤ 10 ms", met=statistics.median(idle_p99) <= 10))
            self.rows.append(Row(6, "GET /runs/{id} during %d API runs: req/s" % n, "/s",
                                 busy_rps, target="≥ 5,000/s",
                                 met=statistics.median(busy_rps) >= 5000,
                                 lower_is_better=False))
            self.rows.append(Row(6, "GET /runs/{id} during %d API runs: p99 latency" % n, "ms",
                                 busy_p99, note="; ".join(sorted(set(notes)))))
        elif do6:
            self.rows.append(Row(6, "GET /runs/{id} under wrk", "/s", [],
                                 note="peer missing: wrk"))

    # ---- scenario 5: a DAG folder of 1,000 files ----

    def s5(self):
        n = 20 if self.quick else 1000
        idle_s = 1 if self.quick else 5
        loads, rss, cpu, loglines = [], [], [], []
        for rep in range(max(1, self.n_pairs if self.quick else 3) + 1):
            d = self.dir("s5")
            dags = os.path.join(d, "dags")
            os.makedirs(dags)
            for k in range(n):
                with open(os.path.join(dags, "dag%04d.yaml" % k), "w") as f:
                    # start_date in the future: nothing fires (a past interval would start
                    # 1,000 runs at once, and that is scenario 4's job), yet every DAG has its
                    # next fire times computed.
                    f.write("name: dag%04d\nschedule: \"%d %d * * *\"\nstart_date: 2099-01-01\n"
                            "catchup: false\ntasks:\n" % (k, k % 60, k % 24))
                    for t in range(10):
                        f.write("  t%d: {type: local_transform, command: \"true\"%s}\n" %
                                (t, ", depends_on: t%d" % (t - 1) if t else ""))
            srv = Serve(self.weir, d, "dags", os.path.join(d, "weir.db"), self.par)
            try:
                conn = None
                end = time.time() + 120
                while True:
                    check(srv.p.poll() is None, "weir serve exited (see %s/serve.log)" % d)
                    check(time.time() < end, "weir serve did not list %d workflows in 120 s" % n)
                    try:
                        conn = conn or http.client.HTTPConnection("127.0.0.1", srv.port,
                                                                  timeout=60)
                        st, body = srv.request("GET", "/api/v1/workflows", conn=conn)
                        if st == 200 and len(body["workflows"]) >= n:
                            t_loaded = time.perf_counter() - srv.t_spawn
                            bad = [w["name"] for w in body["workflows"] if w.get("load_error")
                                   or (not w.get("next_fire_times"))]
                            check(not bad and not body["definition_errors"],
                                  "workflows not loaded or not scheduled: %s" % bad[:3])
                            break
                    except (OSError, http.client.HTTPException):
                        if conn:
                            conn.close()
                        conn = None
                    time.sleep(0.01)
                conn.close()
                time.sleep(1.0)
                c0, t0 = proc_cpu_s(srv.pid), time.perf_counter()
                time.sleep(idle_s)
                c1, t1 = proc_cpu_s(srv.pid), time.perf_counter()
                con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "weir.db"), uri=True)
                n_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
                con.close()
                check(n_runs == 0, "%d runs started: the folder was not idle" % n_runs)
                if rep:
                    loads.append(t_loaded)
                    rss.append(proc_status(srv.pid, "VmRSS"))
                    cpu.append(100.0 * (c1 - c0) / (t1 - t0))
            finally:
                srv.stop()
        self.rows.append(Row(5, "%d DAG files × 10 tasks: start → all listed with next fire "
                             "times (GET /workflows)" % n, "s", loads, target="≤ 1 s",
                             met=statistics.median(loads) <= 1))
        self.rows.append(Row(5, "idle RSS after loading", "MB", rss, target="≤ 32 MB",
                             met=statistics.median(rss) <= 32))
        self.rows.append(Row(5, "idle CPU over %d s (%% of one core)" % idle_s, "%", cpu,
                             target="≈ 0 (≤ 1 %)", met=statistics.median(cpu) <= 1))

    # ---- scenario 7: SQL transform vs Miller and the sqlite3 shell ----

    SQL = """SELECT DISTINCT order_id, customer_id, product, {qty} AS quantity,
       printf('%.2f', unit_price) AS unit_price,
       printf('%.2f', quantity * unit_price) AS total,
       date(CASE
              WHEN order_date LIKE '__/__/____'
                THEN substr(order_date, 7, 4) || '-' || substr(order_date, 4, 2) || '-' ||
                     substr(order_date, 1, 2)
              WHEN order_date LIKE '____/__/__' THEN replace(order_date, '/', '-')
              ELSE order_date
            END) AS order_date,
       region
FROM raw
WHERE {where}"""

    MLR_PUT = r'''$unit_price = fmtnum($unit_price, "%.2f");
$total = fmtnum($quantity * $unit_price, "%.2f");
d = $order_date;
if (d =~ "^([0-9]{2})/([0-9]{2})/([0-9]{4})$") {
  $order_date = "\3-\2-\1";
} elif (d =~ "^([0-9]{4})/([0-9]{2})/([0-9]{2})$") {
  $order_date = "\1-\2-\3";
} else {
  $order_date = substr0(d, 0, 9);
}
'''

    def sales(self, mb):
        path = os.path.join(self.work, "sales-%gmb-seed7.csv" % mb)
        if not os.path.exists(path):
            self.log("generating %s" % path)
            subprocess.check_call([sys.executable, os.path.join(ROOT, "tools", "gen_sales.py"),
                                   "--size-mb", str(mb), "--seed", "7", "--out", path + ".tmp"])
            os.rename(path + ".tmp", path)
        return path

    def canon(self, path):
        """Row count and a hash of the sorted rows (parsed as CSV, so quoting style does not
        matter); the header must be the expected one."""
        tmp = path + ".canon"
        with open(path, newline="") as f, open(tmp, "w") as out:
            r = csv.reader(f)
            header = next(r)
            check(header == ["order_id", "customer_id", "product", "quantity", "unit_price",
                             "total", "order_date", "region"], "%s: header %s" % (path, header))
            n = 0
            for row in r:
                out.write("\x1f".join(row) + "\n")
                n += 1
        srt = subprocess.run(["sort", "-S", "25%", tmp], capture_output=True,
                             env=dict(os.environ, LC_ALL="C"), check=True).stdout
        os.unlink(tmp)
        return n, hashlib.sha256(srt).hexdigest()

    def s7(self):
        mb = 1 if self.quick else self.args.sales_mb
        d = self.dir("s7")
        src = self.sales(mb)
        with open(os.path.join(d, "job.sql"), "w") as f:
            f.write(self.SQL.format(qty="quantity", where="quantity IS NOT NULL AND unit_price "
                                    "IS NOT NULL AND quantity > 0") + "\n")
        with open(os.path.join(d, "job.mlr"), "w") as f:
            f.write(self.MLR_PUT)
        with open(os.path.join(d, "shell.sql"), "w") as f:
            f.write(".import --csv %s raw\n.headers on\n.mode csv\n.once sqlite3.csv\n%s;\n" % (
                src, self.SQL.format(qty="CAST(quantity AS INTEGER)",
                                     where="quantity <> '' AND unit_price <> '' AND "
                                     "CAST(quantity AS INTEGER) > 0")))
        size_mb = os.path.getsize(src) / 1048576.0
        rss = {}

        def weir(warm):
            out = os.path.join(d, "weir.csv")
            wall, rc, err, mrss = run_rss([self.weir, "sql", "--input", "raw=" + src,
                                           "--sql-file", "job.sql", "--output", out,
                                           "--db", os.path.join(d, "weir.db")], d)
            check(rc == 0, "weir sql: exit %d %s" % (rc, err[-300:]))
            rss.setdefault("weir", []).append(mrss)
            return wall

        def mlr(warm):
            wall, rc, err, mrss = run_rss(
                ["mlr", "--icsv", "--ocsv", "filter",
                 '!is_empty($quantity) && !is_empty($unit_price) && $quantity > 0',
                 "then", "put", "-f", "job.mlr", "then", "reorder", "-e", "-f",
                 "total,order_date,region", "then", "uniq", "-a", src], d,
                stdout_path=os.path.join(d, "mlr.csv"))
            check(rc == 0, "mlr: exit %d %s" % (rc, err[-300:]))
            rss.setdefault("mlr", []).append(mrss)
            return wall

        def shell(warm):
            tdb = os.path.join(d, "shell.db")
            if os.path.exists(tdb):
                os.unlink(tdb)
            wall, rc, err, mrss = run_rss(["sqlite3", "shell.db"], d,
                                          stdin_path=os.path.join(d, "shell.sql"))
            check(rc == 0 and not err.strip(), "sqlite3: exit %d %s" % (rc, err[-300:]))
            rss.setdefault("sqlite3", []).append(mrss)
            return wall

        peers = []
        for name, fn, tool in (("mlr", mlr, "mlr"), ("sqlite3", shell, "sqlite3")):
            if self.have(tool):
                peers.append((name, fn))
            else:
                self.peer_missing(tool)
        # Warm-up round, then check the outputs agree before trusting any timing.
        weir(True)
        ref = self.canon(os.path.join(d, "weir.csv"))
        check(ref[0] > 0, "weir sql wrote no rows")
        for name, fn in peers:
            fn(True)
            got = self.canon(os.path.join(d, name + ".csv"))
            check(got == ref, "scenario 7: %s output differs from weir's: %d rows vs %d" %
                  (name, got[0], ref[0]))
        self.log("scenario 7: outputs agree (%d rows)" % ref[0])
        rss.clear()
        wv, pv, rv = [], {n: [] for n, _ in peers}, {n: [] for n, _ in peers}
        for _ in range(self.n_pairs):
            x = weir(False)
            wv.append(x)
            for name, fn in peers:
                y = fn(False)
                pv[name].append(y)
                rv[name].append(x / y)
        for name, _ in peers:
            ratio = statistics.median(rv[name])
            tgt = "≥ 2 × Miller's throughput (ratio ≤ 0.5)" if name == "mlr" else ""
            self.rows.append(Row(7, "%.0f MB sales CSV → cleaned CSV (%d rows): wall" %
                                 (size_mb, ref[0]), "s", wv, name, pv[name], rv[name], tgt,
                                 (ratio <= 0.5) if name == "mlr" else None))
            self.rows.append(Row(7, "peak RSS, %.0f MB input" % size_mb, "MB", rss["weir"],
                                 name, rss[name]))
        if not peers:
            self.rows.append(Row(7, "%.0f MB sales CSV → cleaned CSV: wall" % size_mb, "s", wv,
                                 "mlr", note="peer missing"))
        self.rows.append(Row(7, "weir throughput, %.0f MB input" % size_mb, "MB/s",
                             [size_mb / w for w in wv], lower_is_better=False))
        big = 0 if self.quick else self.args.sales_big_mb
        if big:
            src_big = self.sales(big)
            out = os.path.join(d, "weir-big.csv")
            wall, rc, err, mrss = run_rss([self.weir, "sql", "--input", "raw=" + src_big,
                                           "--sql-file", "job.sql", "--output", out,
                                           "--db", os.path.join(d, "weir.db")], d)
            check(rc == 0, "weir sql (big): exit %d %s" % (rc, err[-300:]))
            bmb = os.path.getsize(src_big) / 1048576.0
            os.unlink(out)
            self.rows.append(Row(7, "weir alone on the %.0f MB CSV: wall (one run)" % bmb, "s",
                                 [wall], note="%.1f MB/s" % (bmb / wall)))
            self.rows.append(Row(7, "weir peak RSS on the %.0f MB CSV" % bmb, "MB", [mrss],
                                 target="≤ 256 MB", met=mrss <= 256))

    # ---- scenario 8: `weir run` of a 3-task DAG, whole process ----

    def s8(self):
        d = self.dir("s8")
        with open(os.path.join(d, "three.yaml"), "w") as f:
            f.write("name: three\ntasks:\n"
                    "  a: {type: local_transform, command: \"true\"}\n"
                    "  b: {type: local_transform, command: \"true\", depends_on: a}\n"
                    "  c: {type: local_transform, command: \"true\", depends_on: b}\n")
        db = os.path.join(d, "weir.db")
        reps = 3 if self.quick else 100
        _, res = self.weir_run(d, "three.yaml", db)  # creates the database: not timed
        self.check_dag_result(res, db, ["a", "b", "c"])
        walls = []
        for _ in range(reps):
            wall, res = self.weir_run(d, "three.yaml", db, fresh=False)
            check(res.get("status") == "SUCCEEDED", "weir run three.yaml: %s" % res)
            walls.append(wall * 1000)
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        n = con.execute("SELECT count(*) FROM runs WHERE status='SUCCEEDED'").fetchone()[0]
        con.close()
        check(n == reps + 1, "%d runs recorded, expected %d" % (n, reps + 1))
        med = statistics.median(walls)
        self.rows.append(Row(8, "`weir run` 3-task chain, whole process (%d runs, existing db)"
                             % reps, "ms", walls, target="≤ 20 ms", met=med <= 20))
        if "spawn_sh" in self.ceil:
            floor = 1000.0 * (1 / self.ceil["spawn_true"] + 3 / self.ceil["spawn_sh"])
            self.rows.append(Row(8, "machine floor: 1 fork+exec + 3 × `sh -c true`", "ms",
                                 [floor], target="weir at %.0f %% of it" % (100 * floor / med)))


def machine():
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else "?"
    except OSError:
        info["cpu"] = "?"
    try:
        src = subprocess.run(["df", "--output=source,fstype", "."], capture_output=True,
                             text=True).stdout.split("\n")[1].split()
        dev = os.path.basename(src[0])
        rot = open("/sys/block/%s/queue/rotational" % re.sub(r"p?\d+$", "", dev)).read().strip()
        info["disk"] = "%s (%s, %s)" % (src[0], src[1], "rotational" if rot == "1" else
                                        "non-rotational / virtual")
    except (OSError, IndexError):
        info["disk"] = "?"
    try:
        info["load_before"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weir", required=True, help="the weir binary")
    ap.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes, one pair")
    ap.add_argument("--scenario", action="append", type=int, help="run only scenario N "
                    "(repeatable)")
    ap.add_argument("--pairs", type=int, help="pairs after the warm-up (default 5; quick 1)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build-bench", "bench-work"))
    ap.add_argument("--sales-mb", type=float, default=64,
                    help="CSV size of the paired scenario 7 runs (default 64)")
    ap.add_argument("--sales-big-mb", type=float, default=1024,
                    help="CSV size of weir's lone scenario 7 run, for peak RSS (0: skip)")
    ap.add_argument("--json-out", help="write the rows and machine info as JSON here")
    args = ap.parse_args()

    b = Bench(args)
    want = sorted(set(args.scenario or range(1, 9)))
    info = machine()
    b.log("machine: %s" % json.dumps(info))
    failures = []
    t_all = time.perf_counter()
    if any(s in want for s in (1, 2, 3, 8)):
        b.ceilings()
    steps = [(1, b.s1), (2, b.s2), (3, b.s3), (5, b.s5), (7, b.s7), (8, b.s8)]
    for s, fn in steps + [(4, None)]:
        if s not in want:
            continue
        t0 = time.perf_counter()
        b.log("scenario %d ..." % s)
        try:
            if s == 4 or (s == 6 and 4 not in want):
                b.s4_s6(4 in want, 6 in want)
            else:
                fn()
        except CheckFailed as e:
            failures.append("scenario %d: %s" % (s, e))
            b.log("FAILED scenario %d: %s" % (s, e))
        b.log("scenario %d took %.1f s" % (s, time.perf_counter() - t0))
    if 6 in want and 4 not in want:
        try:
            b.s4_s6(False, True)
        except CheckFailed as e:
            failures.append("scenario 6: %s" % e)
    rows = sorted(b.rows, key=lambda r: r.scenario)
    print("machine: %d cores, %s, disk %s; load average before: %s" % (
        info["nproc"], info["cpu"], info["disk"], " ".join(info.get("load_before", []))))
    if b.ceil:
        print("ceilings: fork+exec /bin/true %.0f/s, `sh -c true` %.0f/s, SQLite WAL commits "
              "%.0f/s fsync'd (synchronous=FULL), %.0f/s synchronous=NORMAL" % (
                  b.ceil["spawn_true"], b.ceil["spawn_sh"], b.ceil["commit_fsync"],
                  b.ceil["commit_nosync"]))
    print("pairs: %d after a warm-up%s; total %.0f s\n" % (
        b.n_pairs, " (quick mode)" if args.quick else "", time.perf_counter() - t_all))
    print(table(rows))
    notes = [(r.scenario, r.note) for r in rows if r.note]
    for s, n in notes:
        print("note %d: %s" % (s, n))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": info, "ceilings": b.ceil, "pairs": b.n_pairs,
                       "quick": args.quick, "rows": [r.as_dict() for r in rows],
                       "failures": failures, "peers_missing": b.missing}, f, indent=1)
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    if b.missing:
        print("\npeers missing (their comparisons were not checked): " + ", ".join(b.missing))
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
