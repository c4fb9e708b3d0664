#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/scripts/test_api.py WEIR_BINARY: the REST API of `weir serve` (issue 3), end to end.
#
# Starts `weir serve` on a free loopback port with DAG files written here and covers every
# endpoint, including the error cases (404, 405, 400 malformed JSON, 413, 401/403 with auth
# required), idempotent run_id, cursor pagination, the long poll, log tailing, cancel, retry,
# pause, openapi.json and /metrics; then `weir trigger` exit codes and `weir token`.
# Stdlib only. Exit 0 pass, 1 fail, 77 skip (no `weir serve` in this build).
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from weirtest import free_port

WEIR = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "weir"
FAILURES = []
CHECKS = [0]

DAGS = {
    "hello.yaml": """
name: hello
schedule: "0 2 * * *"
timezone: Europe/London
tasks:
  a:
    type: local_transform
    command: "echo hello-out; echo hello-err >&2; echo '{\\"x\\": 1}'"
  b:
    type: local_transform
    depends_on: [a]
    command: "echo '\\"done\\"'"
""",
    "slow.yaml": """
name: slow
tasks:
  nap:
    type: local_transform
    command: "sleep {{ input.seconds }}; echo slept"
params:
  seconds: 1
""",
    "long.yaml": """
name: long
tasks:
  nap:
    type: local_transform
    command: "sleep 30"
""",
    "flaky.yaml": """
name: flaky
params:
  marker: /nonexistent
tasks:
  first:
    type: local_transform
    command: "echo first"
  check:
    type: local_transform
    depends_on: [first]
    command: "test -f {{ params.marker }} || { echo missing-marker >&2; exit 3; }"
  after:
    type: local_transform
    depends_on: [check]
    command: "echo after"
""",
    "broken.yaml": """
name: broken
tasks:
  x:
    type: no_such_type
""",
}


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


class Server:
    """`weir serve` in a temporary folder; its stderr is collected."""

    def __init__(self, root, config=None, listen_host="127.0.0.1"):
        self.root = root
        self.port = free_port()
        self.listen_host = listen_host
        self.log = []
        self.up = threading.Event()
        self.not_available = False
        args = [WEIR, "serve", "--dags", os.path.join(root, "dags"), "--db",
                os.path.join(root, "weir.db"), "--listen", "%s:%d" % (listen_host, self.port)]
        if config is not None:
            args += ["--config", config]
        self.proc = subprocess.Popen(args, cwd=root, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line)
            if "not available" in line:
                self.not_available = True
            if "listening on http://" in line:
                self.up.set()

    def wait_up(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.up.is_set():
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader collect the last lines
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


def request(port, method, path, body=None, token=None, raw=None, headers=None, timeout=60):
    """(status, parsed JSON or text, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    if token is not None:
        h["Authorization"] = "Bearer " + token
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    parsed = text
    if hdrs.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(text)
        except ValueError:
            check(False, "%s %s: body is not JSON: %r" % (method, path, text[:200]))
    return resp.status, parsed, hdrs


def is_error(status, body, want_status, want_code=None):
    ok = status == want_status and isinstance(body, dict) and "error" in body and \
        "message" in body
    if ok and want_code is not None:
        ok = body["error"] == want_code
    return ok


def trigger(port, name, body=None, token=None):
    return request(port, "POST", "/api/v1/workflows/%s/runs" % name, body or {}, token=token)


def wait_run(port, run_id, timeout=60, token=None):
    deadline = time.time() + timeout
    while True:
        st, run, _ = request(port, "GET", "/api/v1/runs/%s/wait?timeout=10" % run_id,
                             token=token)
        if st != 200:
            return run
        if run["status"] in ("SUCCEEDED", "FAILED", "ABORTED") or time.time() > deadline:
            return run


def run_count(port, name):
    st, page, _ = request(port, "GET", "/api/v1/workflows/%s/runs?limit=200" % name)
    return len(page["runs"]) if st == 200 else -1


# ==== The API without auth ====

def test_workflows(s):
    st, body, hdrs = request(s.port, "GET", "/api/v1/workflows")
    check(st == 200 and hdrs["content-type"] == "application/json", "GET /workflows 200 JSON")
    names = {w["name"]: w for w in body["workflows"]}
    check({"hello", "slow", "long", "flaky"} <= set(names), "workflows listed: %s" % names.keys())
    h = names.get("hello", {})
    check(h.get("schedule") == "0 2 * * *" and h.get("timezone") == "Europe/London",
          "schedule and zone")
    check(len(h.get("next_fire_times", [])) == 3 and
          all(re.match(r"^\d{4}-\d\d-\d\dT02:00:00[+-]\d\d:\d\d$", t)
              for t in h["next_fire_times"]), "next fire times: %s" % h.get("next_fire_times"))
    check(h.get("paused") is False and h.get("removed") is False, "paused/removed flags")
    errs = body.get("definition_errors", [])
    check(any(e["path"].endswith("broken.yaml") and e["errors"] for e in errs),
          "definition errors list broken.yaml: %s" % errs)

    st, w, _ = request(s.port, "GET", "/api/v1/workflows/hello")
    check(st == 200 and w["name"] == "hello", "GET /workflows/hello")
    check("name: hello" in (w.get("source") or ""), "definition source of the current version")
    check(len(w.get("versions", [])) >= 1 and "hash" in w["versions"][0], "versions list")
    check("last_runs" in w, "last runs")
    st, body, _ = request(s.port, "GET", "/api/v1/workflows/nope")
    check(is_error(st, body, 404, "not_found"), "GET unknown workflow 404: %s %s" % (st, body))


def test_pause(s):
    st, w, _ = request(s.port, "PATCH", "/api/v1/workflows/hello", {"paused": True})
    check(st == 200 and w.get("paused") is True, "PATCH paused true: %s %s" % (st, w))
    check(w.get("next_fire_times") == [], "a paused workflow lists no next fires")
    st, w, _ = request(s.port, "GET", "/api/v1/workflows/hello")
    check(w.get("paused") is True, "pause persisted")
    st, run, _ = trigger(s.port, "hello")
    check(st == 201, "manual runs still work while paused")
    wait_run(s.port, run["id"])
    st, w, _ = request(s.port, "PATCH", "/api/v1/workflows/hello", {"paused": False})
    check(st == 200 and w.get("paused") is False and len(w["next_fire_times"]) == 3,
          "unpause")
    st, body, _ = request(s.port, "PATCH", "/api/v1/workflows/hello", {"paused": "yes"})
    check(is_error(st, body, 400), "PATCH with a non-boolean 400")
    st, body, _ = request(s.port, "PATCH", "/api/v1/workflows/hello", raw=b"{\"paused\": tru")
    check(is_error(st, body, 400, "invalid_json"), "PATCH malformed JSON 400")
    st, w, _ = request(s.port, "GET", "/api/v1/workflows/hello")
    check(w.get("paused") is False, "malformed PATCH changed nothing")
    st, body, _ = request(s.port, "PATCH", "/api/v1/workflows/nope", {"paused": True})
    check(is_error(st, body, 404), "PATCH unknown workflow 404: %s %s" % (st, body))


def test_trigger_and_run(s):
    st, run, hdrs = trigger(s.port, "hello", {"input": {"k": 7}, "run_id": "ci-123"})
    check(st == 201, "POST runs 201: %s %s" % (st, run))
    rid = run.get("id")
    check(hdrs.get("location") == "/api/v1/runs/%s" % rid, "Location header")
    check(run.get("input") == {"k": 7} and run.get("workflow") == "hello", "run body")
    st, again, _ = trigger(s.port, "hello", {"input": {"k": 7}, "run_id": "ci-123"})
    check(st == 200 and again.get("id") == rid, "same run_id again: 200 and the same run")
    done = wait_run(s.port, rid)
    check(done.get("status") == "SUCCEEDED", "run succeeded: %s" % done.get("status"))
    st, r, _ = request(s.port, "GET", "/api/v1/runs/%s" % rid)
    check(st == 200 and r["status"] == "SUCCEEDED", "GET /runs/{id}")
    check(r.get("output") == {"a": {"x": 1}, "b": "done"}, "run output: %s" % r.get("output"))
    tasks = {t["name"]: t for t in r.get("tasks", [])}
    check(set(tasks) == {"a", "b"} and tasks["a"]["state"] == "succeeded" and
          tasks["a"]["attempts"] == 1, "tasks with state and attempts: %s" % tasks)
    check(len(tasks.get("a", {}).get("attempt_list", [])) == 1 and
          tasks["a"]["attempt_list"][0]["attempt"] == 1, "attempts of a task")
    check(r.get("client_run_id") == "ci-123" and r.get("ds"), "client_run_id and ds")

    # Events, paged with ?after=.
    st, ev, _ = request(s.port, "GET", "/api/v1/runs/%s/events" % rid)
    types = [e["type"] for e in ev.get("events", [])]
    check(st == 200 and types[:1] == ["RunStarted"] and "RunSucceeded" in types,
          "events history: %s" % types)
    first = ev["events"][0]["id"]
    st, ev2, _ = request(s.port, "GET", "/api/v1/runs/%s/events?after=%d&limit=2" % (rid, first))
    check(st == 200 and len(ev2["events"]) == 2 and ev2["events"][0]["id"] > first and
          ev2["next_after"] == ev2["events"][-1]["id"], "events ?after= paging")
    st, ev3, _ = request(s.port, "GET", "/api/v1/runs/%s/events?after=%d" % (rid, ev["next_after"]))
    check(st == 200 and ev3["events"] == [], "events after the last: none")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/%s/events?after=x" % rid)
    check(is_error(st, body, 400), "events bad after 400")

    # Logs, tailed with offset.
    st, lg, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs" % rid)
    check(st == 200 and lg["data"].startswith("hello-out\n") and lg["attempt"] == 1 and
          lg["complete"] is True, "task logs: %s" % lg)
    n = lg.get("next_offset", 0)
    check(n == len(lg["data"].encode()) and lg["size"] == n, "next_offset = size")
    st, lg2, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs?attempt=1&offset=6" % rid)
    check(st == 200 and lg2["data"] == lg["data"][6:] and lg2["offset"] == 6,
          "logs from an offset")
    st, lg3, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs?offset=%d" % (rid, n))
    check(st == 200 and lg3["data"] == "" and lg3["next_offset"] == n, "logs at the end: empty")
    st, lg4, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs?stream=stderr" % rid)
    check(st == 200 and lg4["data"] == "hello-err\n", "stderr stream: %s" % lg4)
    st, body, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs?attempt=9" % rid)
    check(is_error(st, body, 404), "logs of a missing attempt 404")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/zzz/logs" % rid)
    check(is_error(st, body, 404), "logs of an unknown task 404")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/a/logs?offset=-1" % rid)
    check(is_error(st, body, 400), "logs negative offset 400")

    # Errors of the trigger endpoint; nothing is created by a refused request.
    before = run_count(s.port, "hello")
    st, body, _ = request(s.port, "POST", "/api/v1/workflows/hello/runs", raw=b"{\"input\": {")
    check(is_error(st, body, 400, "invalid_json"), "malformed JSON 400: %s %s" % (st, body))
    st, body, _ = trigger(s.port, "hello", {"input": [1, 2]})
    check(is_error(st, body, 400), "input not an object 400")
    st, body, _ = trigger(s.port, "hello", {"inptu": {}})
    check(is_error(st, body, 400), "unknown field 400")
    st, body, _ = trigger(s.port, "hello", {"run_id": "bad id/"})
    check(is_error(st, body, 400), "bad run_id 400")
    big = b'{"input": {"blob": "' + b"x" * (1024 * 1024 + 10) + b'"}}'
    st, body, _ = request(s.port, "POST", "/api/v1/workflows/hello/runs", raw=big)
    check(is_error(st, body, 413, "payload_too_large"), "body over 1 MiB 413: %s" % st)
    check(run_count(s.port, "hello") == before, "refused requests created no run")
    st, body, _ = trigger(s.port, "nope")
    check(is_error(st, body, 404), "trigger unknown workflow 404: %s %s" % (st, body))
    st, body, _ = request(s.port, "GET", "/api/v1/runs/no-such-run")
    check(is_error(st, body, 404, "not_found"), "unknown run 404")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/no-such-run/events")
    check(is_error(st, body, 404), "events of an unknown run 404")
    return rid


def test_pagination(s):
    ids = []
    for i in range(5):
        st, run, _ = trigger(s.port, "slow", {"input": {"seconds": 0}})
        check(st == 201, "trigger slow #%d" % i)
        ids.append(run["id"])
        time.sleep(0.01)
    for rid in ids:
        wait_run(s.port, rid)
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/workflows/slow/runs?limit=2"
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor)
        st, page, _ = request(s.port, "GET", path)
        check(st == 200 and len(page["runs"]) <= 2, "a page of at most 2")
        seen += [r["id"] for r in page["runs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None or pages > 10:
            break
    check(seen[:5] == list(reversed(ids)) and len(seen) == len(set(seen)),
          "cursor pagination newest first, no repeats: %s vs %s" % (seen, ids))
    check(pages == 3, "5 runs in pages of 2: 3 pages (%d)" % pages)
    st, page, _ = request(s.port, "GET", "/api/v1/workflows/slow/runs?status=succeeded&limit=200")
    check(st == 200 and len(page["runs"]) >= 5 and
          all(r["status"] == "SUCCEEDED" for r in page["runs"]), "status filter")
    st, page, _ = request(s.port, "GET", "/api/v1/workflows/slow/runs?status=FAILED")
    check(st == 200 and page["runs"] == [], "status filter with no match")
    for bad in ("status=BOGUS", "limit=0", "limit=abc", "limit=201", "cursor=zz", "cursor=41"):
        st, body, _ = request(s.port, "GET", "/api/v1/workflows/slow/runs?" + bad)
        check(is_error(st, body, 400), "runs ?%s -> 400 (%s)" % (bad, st))
    st, body, _ = request(s.port, "GET", "/api/v1/workflows/nope/runs")
    check(is_error(st, body, 404), "runs of an unknown workflow 404")


def test_long_poll_and_cancel(s):
    # Completion: answers as soon as the run ends.
    st, run, _ = trigger(s.port, "slow", {"input": {"seconds": 2}})
    t0 = time.time()
    st, r, _ = request(s.port, "GET", "/api/v1/runs/%s/wait?timeout=30" % run["id"])
    dt = time.time() - t0
    check(st == 200 and r["status"] == "SUCCEEDED" and dt < 15,
          "long poll answers when the run ends (%.1fs, %s)" % (dt, r.get("status")))
    # Timeout: answers with the run still running.
    st, run, _ = trigger(s.port, "long")
    rid = run["id"]
    t0 = time.time()
    st, r, _ = request(s.port, "GET", "/api/v1/runs/%s/wait?timeout=1" % rid)
    dt = time.time() - t0
    check(st == 200 and r["status"] == "RUNNING" and 0.8 <= dt < 5,
          "long poll timeout (%.1fs, %s)" % (dt, r.get("status")))
    # A long poll does not hold up other requests.
    result = {}

    def poll():
        result["r"] = request(s.port, "GET", "/api/v1/runs/%s/wait?timeout=20" % rid)
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)
    t0 = time.time()
    st, _, _ = request(s.port, "GET", "/api/v1/health")
    check(st == 200 and time.time() - t0 < 2, "other requests are served during a long poll")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/%s/wait?timeout=abc" % rid)
    check(is_error(st, body, 400), "wait bad timeout 400")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/nope/wait?timeout=1")
    check(is_error(st, body, 404), "wait on an unknown run 404")
    # Cancel of the running run (a task sleeping 30 s) ends it ABORTED, and wakes the poll.
    time.sleep(0.5)
    t0 = time.time()
    st, r, _ = request(s.port, "POST", "/api/v1/runs/%s/cancel" % rid)
    check(200 <= st < 300, "cancel accepted: %s %s" % (st, r))
    done = wait_run(s.port, rid, timeout=30)
    check(done.get("status") == "ABORTED" and time.time() - t0 < 20,
          "cancelled run ends ABORTED: %s" % done.get("status"))
    th.join(30)
    st, r, _ = result.get("r", (0, {}, {}))
    check(st == 200 and r.get("status") == "ABORTED", "the waiting long poll saw the abort")
    st, body, _ = request(s.port, "POST", "/api/v1/runs/%s/cancel" % rid)
    check(is_error(st, body, 409), "cancel of a finished run 409: %s %s" % (st, body))
    st, body, _ = request(s.port, "POST", "/api/v1/runs/nope/cancel")
    check(is_error(st, body, 404), "cancel of an unknown run 404")


def test_retry(s, root):
    marker = os.path.join(root, "marker")
    st, run, _ = trigger(s.port, "flaky", {"input": {}})
    check(st == 201, "trigger flaky")
    rid = run["id"]
    # The marker file does not exist yet: the check task fails, its downstream does not run.
    done = wait_run(s.port, rid)
    check(done.get("status") == "FAILED", "flaky run fails first: %s" % done.get("status"))
    st, lg, _ = request(s.port, "GET", "/api/v1/runs/%s/tasks/check/logs?stream=stderr" % rid)
    check(st == 200 and "missing-marker" in lg.get("data", ""), "stderr of the failed task")
    st, body, _ = request(s.port, "POST", "/api/v1/runs/nope/retry")
    check(is_error(st, body, 404), "retry of an unknown run 404")
    return rid, marker


def test_retry_after_fix(s, rid):
    st, r, _ = request(s.port, "POST", "/api/v1/runs/%s/retry" % rid)
    check(200 <= st < 300, "retry accepted: %s %s" % (st, r))
    new_id = r.get("id", rid)
    done = wait_run(s.port, new_id)
    tasks = {t["name"]: t for t in done.get("tasks", [])}
    check(done.get("status") == "SUCCEEDED", "retried run succeeds: %s" % done.get("status"))
    check(tasks.get("first", {}).get("attempts") == 1, "retry does not re-run succeeded tasks")
    check(tasks.get("after", {}).get("state") == "succeeded", "downstream re-ran")


def test_routes(s):
    st, body, _ = request(s.port, "GET", "/api/v1/nothing-here")
    check(is_error(st, body, 404, "not_found"), "unknown route 404")
    st, body, _ = request(s.port, "GET", "/api/v1/workflows/")
    check(is_error(st, body, 404), "trailing slash 404")
    st, body, hdrs = request(s.port, "DELETE", "/api/v1/runs/x")
    check(is_error(st, body, 405, "method_not_allowed") and "GET" in hdrs.get("allow", ""),
          "wrong method 405 with Allow")
    st, body, hdrs = request(s.port, "PUT", "/api/v1/workflows/hello")
    check(is_error(st, body, 405) and "PATCH" in hdrs.get("allow", ""), "PUT 405")
    st, body, _ = request(s.port, "GET", "/api/v1/runs/x/cancel")
    check(is_error(st, body, 405), "GET on a POST route 405")

    st, h, _ = request(s.port, "GET", "/api/v1/health")
    check(st == 200 and h.get("status") == "ok" and h.get("workflows", 0) >= 4, "health: %s" % h)

    st, doc, hdrs = request(s.port, "GET", "/api/v1/openapi.json")
    check(st == 200 and isinstance(doc, dict) and doc.get("openapi", "").startswith("3."),
          "openapi.json parses as OpenAPI 3")
    want = {
        ("get", "/api/v1/workflows"), ("get", "/api/v1/workflows/{name}"),
        ("patch", "/api/v1/workflows/{name}"), ("post", "/api/v1/workflows/{name}/runs"),
        ("get", "/api/v1/workflows/{name}/runs"), ("get", "/api/v1/runs/{id}"),
        ("get", "/api/v1/runs/{id}/events"), ("get", "/api/v1/runs/{id}/tasks/{task}/logs"),
        ("post", "/api/v1/runs/{id}/cancel"), ("post", "/api/v1/runs/{id}/retry"),
        ("get", "/api/v1/runs/{id}/wait"), ("get", "/api/v1/health"),
        ("get", "/api/v1/openapi.json"), ("get", "/metrics"),
    }
    have = set()
    for path, ops in doc.get("paths", {}).items():
        for m in ops:
            if m in ("get", "post", "patch", "put", "delete"):
                have.add((m, path))
    check(have == want, "openapi lists exactly the routes: extra %s missing %s" %
          (have - want, want - have))
    # Every documented operation is served (no 404-for-route or 405).
    for m, path in sorted(have):
        p = path.replace("{name}", "hello").replace("{id}", "no-such-run").replace(
            "{task}", "a")
        if p.endswith("/wait"):
            p += "?timeout=0"
        st, body, _ = request(s.port, m.upper(), p, body={"paused": False}
                              if m == "patch" else ({} if m == "post" else None))
        routed = st != 405 and not (st == 404 and "no such endpoint" in str(body))
        check(routed, "documented %s %s is served (%s)" % (m, path, st))

    st, text, hdrs = request(s.port, "GET", "/metrics")
    check(st == 200 and hdrs.get("content-type", "").startswith("text/plain"), "metrics 200")
    for name in ("weir_runs{status=\"SUCCEEDED\"}", "weir_task_attempts_total{outcome=",
                 "weir_tasks_queued", "weir_tasks_running", "weir_runs_active",
                 "weir_scheduler_lag_seconds", "# TYPE weir_runs gauge"):
        check(name in text, "metrics has %s" % name)
    m = re.search(r'^weir_runs\{status="SUCCEEDED"\} (\d+)$', text, re.M)
    check(m is not None and int(m.group(1)) >= 1, "metrics counts succeeded runs")


# ==== weir trigger ====

def run_cli(args, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("WEIR_TOKEN", None)
    e.pop("WEIR_SERVER", None)
    e.update(env or {})
    p = subprocess.run([WEIR] + args, capture_output=True, text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def test_trigger_cli(s):
    rc, out, err = run_cli(["trigger", "hello", "--server", s.url, "--wait"])
    lines = out.split()
    check(rc == 0 and len(lines) == 2 and lines[1] == "%s/api/v1/runs/%s" % (s.url, lines[0]),
          "weir trigger --wait success exits 0 and prints id and URL: %d %r %r" % (rc, out, err))
    rc, out, err = run_cli(["trigger", "flaky", "--server", s.url, "--wait",
                            "--input", "{}"])
    check(rc == 1, "weir trigger --wait on a failing run exits 1: %d %r" % (rc, err))
    rc, out, err = run_cli(["trigger", "slow", "--input", '{"seconds": 0}', "--run-id",
                            "cli-1", "--server", s.url])
    rc2, out2, _ = run_cli(["trigger", "slow", "--input", '{"seconds": 0}', "--run-id",
                            "cli-1", "--server", s.url + "/"])
    check(rc == 0 and rc2 == 0 and out.split()[0] == out2.split()[0],
          "weir trigger --run-id twice: one run (%r %r)" % (out, out2))
    rc, _, err = run_cli(["trigger", "hello", "--server", s.url, "--input", "[1]"])
    check(rc == 2, "bad --input exits 2")
    rc, _, _ = run_cli(["trigger", "--server", s.url])
    check(rc == 2, "no NAME exits 2")
    rc, _, err = run_cli(["trigger", "nope", "--server", s.url])
    check(rc == 2 and "404" in err, "unknown workflow exits 2: %r" % err)
    rc, _, err = run_cli(["trigger", "hello", "--server", "http://127.0.0.1:%d" % free_port(),
                          "--wait"])
    check(rc == 2, "connection refused exits 2: %d %r" % (rc, err))
    rc, _, err = run_cli(["trigger", "hello", "--wait"], env={"WEIR_SERVER": s.url})
    check(rc == 0, "WEIR_SERVER is the default server: %r" % err)


# ==== Auth ====

def test_auth(root):
    cfg = os.path.join(root, "weir-auth.yaml")
    with open(cfg, "w") as f:
        f.write("auth: required\n")
    db = os.path.join(root, "weir.db")

    def token(role, name):
        rc, out, err = run_cli(["token", "create", "--role", role, "--name", name, "--db", db])
        check(rc == 0 and out.strip().startswith("weir_"), "token create %s: %r" % (role, err))
        return out.strip()
    viewer = token("viewer", "ci-view")
    operator = token("operator", "ci-op")
    admin = token("admin", "root")
    rc, _, _ = run_cli(["token", "create", "--role", "king", "--db", db])
    check(rc == 2, "token create with an unknown role exits 2")
    with open(db, "rb") as f:
        check(viewer.encode() not in f.read(), "the token itself is not stored")
    rc, out, _ = run_cli(["token", "list", "--json", "--db", db])
    toks = json.loads(out) if rc == 0 else []
    check(len(toks) == 3 and all("hash" not in t for t in toks), "token list: %r" % out)

    s = Server(root, config=cfg)
    try:
        check(s.wait_up(), "serve with auth: required starts: %s" % "".join(s.log[-5:]))
        st, body, hdrs = request(s.port, "GET", "/api/v1/workflows")
        check(is_error(st, body, 401, "unauthorized") and "bearer" in
              hdrs.get("www-authenticate", "").lower(), "no token 401")
        st, body, _ = request(s.port, "GET", "/api/v1/workflows", token="weir_wrong")
        check(is_error(st, body, 401), "unknown token 401")
        st, body, _ = request(s.port, "GET", "/metrics")
        check(st == 401, "metrics needs a token")
        st, _, _ = request(s.port, "GET", "/api/v1/health")
        check(st == 200, "health needs no token")
        st, _, _ = request(s.port, "GET", "/api/v1/openapi.json")
        check(st == 200, "openapi.json needs no token")
        st, _, _ = request(s.port, "GET", "/api/v1/workflows", token=viewer)
        check(st == 200, "viewer reads")
        st, body, _ = trigger(s.port, "hello", token=viewer)
        check(is_error(st, body, 403, "forbidden"), "viewer cannot trigger: 403")
        st, body, _ = request(s.port, "PATCH", "/api/v1/workflows/hello", {"paused": True},
                              token=viewer)
        check(is_error(st, body, 403), "viewer cannot pause: 403")
        st, run, _ = trigger(s.port, "hello", token=operator)
        check(st == 201, "operator triggers")
        st, _, _ = request(s.port, "GET", "/api/v1/runs/%s" % run.get("id"), token=admin)
        check(st == 200, "admin reads")
        rc, _, err = run_cli(["trigger", "hello", "--server", s.url, "--wait"])
        check(rc == 2 and "401" in err, "weir trigger without a token exits 2")
        rc, _, err = run_cli(["trigger", "hello", "--server", s.url, "--wait", "--token",
                              operator])
        check(rc == 0, "weir trigger --token: %r" % err)
        rc, _, err = run_cli(["trigger", "hello", "--server", s.url, "--wait"],
                             env={"WEIR_TOKEN": operator})
        check(rc == 0, "weir trigger with $WEIR_TOKEN: %r" % err)
        op_id = [t["id"] for t in toks if t["name"] == "ci-op"][0]
        rc, _, _ = run_cli(["token", "revoke", str(op_id), "--db", db])
        check(rc == 0, "token revoke")
        st, body, _ = trigger(s.port, "hello", token=operator)
        check(is_error(st, body, 401), "a revoked token is refused at once")
        rc, _, _ = run_cli(["token", "revoke", str(op_id), "--db", db])
        check(rc == 1, "revoking twice fails")
    finally:
        s.stop()

    # Listening beyond loopback needs auth: required.
    s = Server(root, listen_host="0.0.0.0")
    up = s.wait_up(timeout=15)
    rc = s.stop()
    check(not up and rc != 0 and any("auth: required" in l for l in s.log),
          "non-loopback without auth refuses to start: %s" % "".join(s.log[-3:]))
    s = Server(root, config=cfg, listen_host="0.0.0.0")
    try:
        check(s.wait_up(), "non-loopback with auth: required starts")
        st, _, _ = request(s.port, "GET", "/api/v1/workflows")
        check(st == 401, "non-loopback server requires tokens")
    finally:
        s.stop()


def main():
    root = tempfile.mkdtemp(prefix="weir-api-")
    try:
        os.makedirs(os.path.join(root, "dags"))
        for name, text in DAGS.items():
            with open(os.path.join(root, "dags", name), "w") as f:
                f.write(text.lstrip().replace("/nonexistent", os.path.join(root, "marker")))
        s = Server(root)
        if not s.wait_up():
            s.stop()
            if s.not_available:
                print("skip: weir serve is not available in this build")
                return 77
            print("weir serve did not start:\n" + "".join(s.log))
            return 1
        try:
            test_workflows(s)
            test_trigger_and_run(s)
            test_routes(s)
            test_pagination(s)
            test_pause(s)
            test_long_poll_and_cancel(s)
            flaky_id, marker = test_retry(s, root)
            with open(marker, "w") as f:
                f.write("ok\n")
            test_retry_after_fix(s, flaky_id)
            os.unlink(marker)
            test_trigger_cli(s)
        finally:
            rc = s.stop()
            check(rc == 0, "serve exits 0 on SIGTERM (%s)" % rc)
        test_auth(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("%d checks, %d failed" % (CHECKS[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
