#!/usr/bin/env python3
"""Integration test driver: runs the real `weir` binary on one case folder.

    python3 tests/integration/driver.py WEIR_BINARY CASE_DIR

Standard library only. Exit 0 when every check of the case passes, 1 with one
"FAIL: ..." line per failed check otherwise (2 on a malformed case). It prints each check
it made ("ok: ...") so a passing log says what was verified.

Case folder
-----------
    NNNN-name/
      dag.yaml        the DAG file (the default FILE argument)
      expect.json     what to run and what to check (below)
      input.json      optional: passed as --input-file input.json to `weir run`
      functions/      optional: local Lambda handlers; every file in it is made executable
      ...             any other data files the DAG reads

The folder is copied to a fresh temporary directory, the command runs there (so
./weir.db lands there, beside the copied files) with stdin from /dev/null, and the
directory is removed afterwards.

expect.json
-----------
A JSON object; every key is optional. It describes one step, or holds "steps": a list of
step objects run one after the other in the same directory (for checks across runs).

  "command"        "run" (default) or "validate"
  "file"           the FILE argument (default "dag.yaml"; may name a missing file)
  "args"           extra arguments after FILE, e.g. ["--parallelism", "1"]
                   (`run` always gets --json; it gets --input-file input.json when
                   input.json exists and neither "--input" nor "--input-file" is in args)
  "exit"           expected exit code: an integer or "nonzero". Default for run: 0 when
                   json.status is SUCCEEDED, 1 when it is another status, else not checked;
                   for validate: "nonzero" unless "valid": true (then 0).
  "valid"          validate only: true expects exit 0
  "json"           `run` only: stdout must be exactly one JSON object, and this is a subset
                   match of it: objects match when every expected key matches (extra
                   actual keys are ignored), except "tasks", whose task names must be
                   exactly the expected ones; lists and scalars must be equal (JSON
                   equality: true is not 1). Two objects are matched exactly by key:
                   "tasks" (every task of the DAG) and "output" (every succeeded task).
                   A value {"$regex": "RE"} matches any string with re.search(RE).
  "cause_contains" a substring (or a list of them) of json.cause
  "stdout_contains", "stderr_contains"      lists of substrings
  "stderr_not_contains"                     list of substrings that must not appear
  "mentions"       list of substrings of stdout + stderr (validation messages)
  "db"             list of {"sql": "...", "rows": [[...], ...]}: the query runs with
                   python's sqlite3 on ./weir.db after the step; the rows must equal "rows"
                   exactly (order included). ":run_id" in the SQL is bound to the run id
                   from the --json output.
  "files"          {"path": "exact contents" | null}: null means the file must not exist
  "executable"     extra paths (files or folders) to chmod +x (functions/ always is)
  "pid_files"      files holding process ids (whitespace separated) written by the DAG's
                   commands; each file must exist, hold at least one pid, and every pid must
                   be gone (or a zombie) within 3 s after weir exits
  "signal"         {"send": "SIGINT"|"SIGTERM", "after_stderr": "TEXT", "delay": SECONDS}:
                   once TEXT shows on weir's stderr (and DELAY more seconds, default 0)
                   the signal is sent to the weir process only
  "intervals"      {"file": F, "count": N, "overlap": false}: F holds lines
                   "LABEL START END" (seconds, float); there must be N of them, and no two
                   may overlap in time ("overlap": false) or some two must ("overlap": true)
  "max_seconds"    upper bound on the step's wall time (only where something must have
                   been killed or run concurrently; always generous)
  "append"         {"path": "text"}: appended to the file before the step runs
  "copy"           {"dest": "source"}: file copied before the step runs

Placeholders in every expected string (json, files, db rows, substrings):
  ${TODAY}    today's date in UTC (YYYY-MM-DD); either side of midnight is accepted
  ${TODAY@Z}  today's date in the IANA time zone Z, e.g. ${TODAY@Pacific/Kiritimati}
  ${RUN_ID}   the run_id of this step's --json output
  ${DIR}      the absolute path of the temporary case directory

Whatever the case says, the driver also fails a step whose stderr holds a sanitizer
report (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer "runtime error:"),
or that does not end within 90 s (weir is then killed).
"""

import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time

STEP_TIMEOUT = 90.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")


class Case:
    def __init__(self, weir, case_dir, work):
        self.weir = weir
        self.case_dir = case_dir
        self.work = work
        self.failures = []
        self.checks = 0

    def ok(self, what):
        self.checks += 1
        print("ok: " + what)

    def fail(self, what):
        self.checks += 1
        self.failures.append(what)
        print("FAIL: " + what)

    def check(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what + (": " + detail if detail else ""))
        return cond


# ---- JSON matching ----

def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def show(v, limit=300):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[:limit] + "..."


EXACT_KEYS = ("json.tasks", "json.output")


def match(exp, act, path, problems):
    """Subset match of expected `exp` against actual `act`; appends to problems."""
    if isinstance(exp, dict) and set(exp.keys()) == {"$regex"}:
        if not isinstance(act, str) or re.search(exp["$regex"], act) is None:
            problems.append("%s: %s does not match /%s/" % (path, show(act), exp["$regex"]))
        return
    if kind(exp) != kind(act):
        problems.append("%s: expected %s, got %s" % (path, show(exp), show(act)))
        return
    if isinstance(exp, dict):
        if path in EXACT_KEYS and set(exp.keys()) != set(act.keys()):
            problems.append("%s: expected keys %s, got %s" %
                            (path, sorted(exp.keys()), sorted(act.keys())))
        for k, v in exp.items():
            if k not in act:
                problems.append("%s.%s: missing (expected %s)" % (path, k, show(v)))
            else:
                match(v, act[k], path + "." + k, problems)
        return
    if isinstance(exp, list):
        if len(exp) != len(act):
            problems.append("%s: expected %s, got %s" % (path, show(exp), show(act)))
            return
        for i, (e, a) in enumerate(zip(exp, act)):
            match(e, a, "%s[%d]" % (path, i), problems)
        return
    if exp != act:
        problems.append("%s: expected %s, got %s" % (path, show(exp), show(act)))


def substitute(v, subs):
    """Replaces ${NAME} placeholders in every string of v; returns a list of variants
    (one per alternative value of a placeholder such as ${TODAY})."""
    variants = [{}]
    for name, alts in subs.items():
        variants = [dict(d, **{name: a}) for d in variants for a in alts]

    def apply(x, d):
        if isinstance(x, str):
            for name, val in d.items():
                x = x.replace("${" + name + "}", val)
            return x
        if isinstance(x, list):
            return [apply(i, d) for i in x]
        if isinstance(x, dict):
            return {apply(k, d): apply(i, d) for k, i in x.items()}
        return x

    out = []
    for d in variants:
        r = apply(v, d)
        if r not in out:
            out.append(r)
    return out


# ---- Running one step ----

class Proc:
    """weir as a child with both output streams read by threads."""

    def __init__(self, argv, cwd):
        self.p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)
        self.out = bytearray()
        self.err = bytearray()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out)),
                        threading.Thread(target=self._pump, args=(self.p.stderr, self.err))]
        for t in self.threads:
            t.daemon = True
            t.start()

    def _pump(self, stream, buf):
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            with self.lock:
                buf.extend(chunk)

    def stderr_text(self):
        with self.lock:
            return self.err.decode("utf-8", "replace")

    def finish(self, deadline):
        try:
            rc = self.p.wait(timeout=max(0.1, deadline - time.monotonic()))
            timed_out = False
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
            timed_out = True
        for t in self.threads:
            t.join(5)
        return rc, timed_out, self.out.decode("utf-8", "replace"), self.stderr_text()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        state = st[st.rindex(")") + 2:].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, ValueError, IndexError):
        pass
    return True


def read_pids(path):
    with open(path) as f:
        return [int(x) for x in f.read().split() if x.strip().isdigit()]


def today_variants(t0, t1, zone=None):
    tz = datetime.timezone.utc
    if zone is not None:
        import zoneinfo  # Python 3.9+, reads the system time zone database
        tz = zoneinfo.ZoneInfo(zone)
    days = []
    for t in (t0, t1):
        d = datetime.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d")
        if d not in days:
            days.append(d)
    return days


def run_step(case, step, n_steps, index):
    label = "" if n_steps == 1 else "step %d: " % (index + 1)
    work = case.work
    command = step.get("command", "run")
    if command not in ("run", "validate"):
        raise ValueError("command must be run or validate, not %r" % command)

    for dest, text in step.get("append", {}).items():
        with open(os.path.join(work, dest), "a", encoding="utf-8") as f:
            f.write(text)
    for dest, src in step.get("copy", {}).items():
        shutil.copyfile(os.path.join(work, src), os.path.join(work, dest))

    file_arg = step.get("file", "dag.yaml")
    args = list(step.get("args", []))
    argv = [case.weir, command, file_arg]
    if command == "run":
        argv.append("--json")
        if (os.path.exists(os.path.join(work, "input.json")) and "--input" not in args
                and "--input-file" not in args):
            argv += ["--input-file", "input.json"]
    argv += args
    print("%s$ %s" % (label, " ".join(argv[1:])))

    t0 = time.time()
    m0 = time.monotonic()
    proc = Proc(argv, work)
    deadline = m0 + STEP_TIMEOUT
    sig = step.get("signal")
    sent = False
    if sig:
        want = sig.get("after_stderr", "")
        while time.monotonic() < deadline and proc.p.poll() is None:
            if want in proc.stderr_text():
                break
            time.sleep(0.02)
        if proc.p.poll() is None and want in proc.stderr_text():
            time.sleep(float(sig.get("delay", 0)))
            if proc.p.poll() is None:
                os.kill(proc.p.pid, getattr(signal, sig["send"]))
                sent = True
        case.check(sent, label + "sent %s after %r showed on stderr" % (sig["send"], want),
                   "weir ended (or never printed it) before the signal could be sent")
    rc, timed_out, out, err = proc.finish(deadline)
    elapsed = time.monotonic() - m0
    t1 = time.time()

    def dump_streams():
        print("---- stdout ----\n" + out[-4000:])
        print("---- stderr ----\n" + err[-6000:])

    if timed_out:
        case.fail(label + "weir did not end within %.0f s (killed)" % STEP_TIMEOUT)
        dump_streams()
        return
    if rc < 0:
        case.fail(label + "weir was killed by signal %d" % -rc)

    # Parse --json output.
    doc = None
    if command == "run" and "json" in step:
        lines = [l for l in out.splitlines() if l.strip()]
        try:
            doc = json.loads(out)
            case.check(isinstance(doc, dict) and len(lines) == 1,
                       label + "stdout is exactly one JSON object",
                       "%d non-empty lines" % len(lines))
        except ValueError as e:
            case.fail(label + "stdout is not one JSON object (%s): %r" % (e, out[:500]))
    run_id = doc.get("run_id") if isinstance(doc, dict) and isinstance(doc.get("run_id"), str) \
        else ""
    subs = {"TODAY": today_variants(t0, t1), "RUN_ID": [run_id], "DIR": [work]}
    for zone in sorted(set(re.findall(r"\$\{TODAY@([A-Za-z0-9_/+-]+)\}", json.dumps(step)))):
        subs["TODAY@" + zone] = today_variants(t0, t1, zone)

    def first_ok(expected, test):
        """test(variant) -> list of problems; passes if any placeholder variant passes."""
        best = None
        for v in substitute(expected, subs):
            probs = test(v)
            if not probs:
                return []
            if best is None:
                best = probs
        return best

    # Exit code.
    exp_exit = step.get("exit")
    if exp_exit is None:
        if command == "validate":
            exp_exit = 0 if step.get("valid") else "nonzero"
        elif isinstance(step.get("json"), dict) and "status" in step["json"]:
            exp_exit = 0 if step["json"]["status"] == "SUCCEEDED" else 1
    if exp_exit == "nonzero":
        case.check(rc > 0, label + "exit code is non-zero (got %d)" % rc)
    elif exp_exit is not None:
        case.check(rc == exp_exit, label + "exit code %d" % exp_exit, "got %d" % rc)

    # JSON subset match.
    if doc is not None and isinstance(step.get("json"), dict):
        def test_json(e):
            probs = []
            match(e, doc, "json", probs)
            return probs
        probs = first_ok(step["json"], test_json)
        case.check(not probs, label + "--json output matches " + show(step["json"], 200),
                   "; ".join(probs))
    if "cause_contains" in step:
        wants = step["cause_contains"]
        wants = wants if isinstance(wants, list) else [wants]
        cause = doc.get("cause") if isinstance(doc, dict) else None
        for w in wants:
            case.check(isinstance(cause, str) and any(x in cause for x in substitute(w, subs)),
                       label + "cause contains %r" % w, "cause is %r" % cause)

    # Text checks.
    for key, text, name in (("stdout_contains", out, "stdout"),
                            ("stderr_contains", err, "stderr"),
                            ("mentions", out + err, "stdout+stderr")):
        for w in step.get(key, []):
            case.check(any(x in text for x in substitute(w, subs)),
                       label + "%s mentions %r" % (name, w), "not found in: %r" % text[-1500:])
    for w in step.get("stderr_not_contains", []):
        case.check(not any(x in err for x in substitute(w, subs)),
                   label + "stderr does not mention %r" % w)
    bad = [m for m in SANITIZER_MARKS if m in err]
    case.check(not bad, label + "no sanitizer report on stderr", "found %s" % bad)

    # Wall time.
    if "max_seconds" in step:
        case.check(elapsed <= step["max_seconds"],
                   label + "ended within %.1f s (took %.2f s)" % (step["max_seconds"], elapsed))

    # Processes that must be gone.
    for pf in step.get("pid_files", []):
        path = os.path.join(work, pf)
        if not case.check(os.path.exists(path), label + "pid file %s was written" % pf):
            continue
        pids = read_pids(path)
        if not case.check(len(pids) > 0, label + "pid file %s holds a pid" % pf):
            continue
        end = time.monotonic() + 3.0
        alive = [p for p in pids if pid_alive(p)]
        while alive and time.monotonic() < end:
            time.sleep(0.05)
            alive = [p for p in alive if pid_alive(p)]
        case.check(not alive, label + "processes %s from %s are gone" % (pids, pf),
                   "still alive: %s" % alive)
        for p in alive:  # do not leave them behind
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass

    # Files.
    for rel_pattern, want in step.get("files", {}).items():
        rels = substitute(rel_pattern, subs)
        rel = next((r for r in rels if os.path.exists(os.path.join(work, r))), rels[0])
        path = os.path.join(work, rel)
        if want is None:
            case.check(not os.path.exists(path), label + "file %s does not exist" % rel)
            continue
        if not case.check(os.path.isfile(path), label + "file %s exists" % rel):
            continue
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            got = f.read()
        probs = first_ok(want, lambda w: [] if w == got else ["differs"])
        case.check(not probs, label + "file %s has the expected contents" % rel,
                   "expected %r, got %r" % (want, got))

    # Time intervals.
    iv = step.get("intervals")
    if iv:
        path = os.path.join(work, iv["file"])
        spans = []
        if case.check(os.path.isfile(path), label + "interval file %s exists" % iv["file"]):
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3:
                        spans.append((parts[0], float(parts[1]), float(parts[2])))
            if "count" in iv:
                case.check(len(spans) == iv["count"],
                           label + "%d intervals recorded" % iv["count"], "got %d" % len(spans))
            overlaps = [(a[0], b[0]) for i, a in enumerate(spans) for b in spans[i + 1:]
                        if a[1] < b[2] and b[1] < a[2]]
            if iv.get("overlap", False):
                case.check(bool(overlaps), label + "some intervals overlap", str(spans))
            else:
                case.check(not overlaps, label + "no two intervals overlap",
                           "overlapping: %s in %s" % (overlaps, spans))

    # Database.
    if step.get("db"):
        dbpath = os.path.join(work, "weir.db")
        if case.check(os.path.exists(dbpath), label + "weir.db exists"):
            con = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True)
            try:
                for q in step["db"]:
                    sql = q["sql"]
                    try:
                        params = {"run_id": run_id} if ":run_id" in sql else {}
                        rows = [list(r) for r in con.execute(sql, params).fetchall()]
                    except sqlite3.Error as e:
                        case.fail(label + "db query failed: %s: %s" % (sql, e))
                        continue

                    def test_rows(want):
                        probs = []
                        match(want, rows, "rows", probs)
                        return probs
                    probs = first_ok(q["rows"], test_rows)
                    case.check(not probs, label + "db: %s -> %s" % (" ".join(sql.split()),
                                                                      show(q["rows"], 200)),
                               "got %s (%s)" % (show(rows, 600), "; ".join(probs)))
            finally:
                con.close()

    if case.failures:
        dump_streams()


def main(argv):
    if len(argv) != 3:
        print("usage: driver.py WEIR_BINARY CASE_DIR", file=sys.stderr)
        return 2
    weir = os.path.abspath(argv[1])
    case_dir = os.path.abspath(argv[2])
    if not os.access(weir, os.X_OK):
        print("driver.py: %s is not executable" % weir, file=sys.stderr)
        return 2
    try:
        with open(os.path.join(case_dir, "expect.json"), encoding="utf-8") as f:
            expect = json.load(f)
    except (OSError, ValueError) as e:
        print("driver.py: %s/expect.json: %s" % (case_dir, e), file=sys.stderr)
        return 2
    steps = expect.get("steps", [expect])
    print("case %s" % os.path.basename(case_dir))
    tmp = tempfile.mkdtemp(prefix="weir-it-")
    work = os.path.join(os.path.realpath(tmp), os.path.basename(case_dir))
    try:
        shutil.copytree(case_dir, work, symlinks=True)
        execs = ["functions"] + list(expect.get("executable", []))
        for e in execs:
            p = os.path.join(work, e)
            paths = []
            if os.path.isdir(p):
                for root, _, files in os.walk(p):
                    paths += [os.path.join(root, x) for x in files]
            elif os.path.isfile(p):
                paths.append(p)
            for x in paths:
                os.chmod(x, os.stat(x).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        case = Case(weir, case_dir, work)
        for i, step in enumerate(steps):
            try:
                run_step(case, step, len(steps), i)
            except (KeyError, ValueError, TypeError) as e:
                print("driver.py: malformed expect.json: %r" % (e,), file=sys.stderr)
                return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if case.failures:
        print("%s: %d of %d checks failed" % (os.path.basename(case_dir), len(case.failures),
                                              case.checks))
        return 1
    print("%s: all %d checks passed" % (os.path.basename(case_dir), case.checks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
