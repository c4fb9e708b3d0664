#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Step Functions API of `weir serve`, driven by the real AWS CLI: state machines
(create, list, describe, update, delete), executions (start, idempotent start by name,
describe, list, history with pagination, stop, start-sync), a waitForTaskToken task
completed with send-task-success, and AWS's error codes. When moto (moto 5, `moto.server`)
is importable, the same CLI calls run against moto's server with its
stepfunctions.execute_state_machine setting on, and the response SHAPES (keys and JSON
types) are compared; without moto that part is skipped, not the test.

    python3 test_sfn_api.py WEIR_BINARY
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
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/weir-test" % ACCOUNT

PASS_DEF = json.dumps({"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Parameters": {"got.$": "$.x"}, "Next": "B"},
    "B": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": True}}})
WAIT_DEF = json.dumps({"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 600, "End": True}}})
TOKEN_DEF = json.dumps({"StartAt": "T", "States": {
    "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
          "Parameters": {"FunctionName": "tokwait",
                         "Payload": {"token.$": "$$.Task.Token", "x.$": "$.x"}},
          "HeartbeatSeconds": 120, "End": True}}})


class Cli:
    """`aws stepfunctions --endpoint-url URL ...` with dummy credentials."""

    def __init__(self, url):
        self.url = url
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                        AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                        AWS_PAGER="", AWS_CONFIG_FILE="/dev/null",
                        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                        # StartSyncExecution's endpoint is "sync-" + host, which a loopback
                        # address cannot take.
                        AWS_DISABLE_HOST_PREFIX_INJECTION="true")

    def __call__(self, *args):
        """(parsed JSON output or None, error code or None)."""
        p = subprocess.run(["aws", "stepfunctions", "--endpoint-url", self.url, "--output",
                            "json"] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            err = p.stderr.strip()
            code = err.split("(", 1)[1].split(")", 1)[0] if "(" in err else err
            return None, code
        return (json.loads(p.stdout) if p.stdout.strip() else {}), None


def shape(v):
    """Keys and JSON types, recursively; lists by the shape of their items."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        merged = {}
        for x in v:
            s = shape(x)
            if isinstance(s, dict):
                merged.update(s)
            else:
                return [s]
        return [merged] if v else []
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return "string"


def shape_diff(ref, got, path=""):
    """What `got` lacks or types differently from `ref` (weir may have more keys)."""
    out = []
    if isinstance(ref, dict):
        if not isinstance(got, dict):
            return ["%s: %s, not an object" % (path or "$", got)]
        for k, v in ref.items():
            if k not in got:
                out.append("%s.%s missing" % (path, k))
            else:
                out += shape_diff(v, got[k], "%s.%s" % (path, k))
    elif isinstance(ref, list):
        if not isinstance(got, list):
            out.append("%s: not a list" % path)
        elif ref and got:
            out += shape_diff(ref[0], got[0], path + "[]")
    elif ref != got:
        out.append("%s: %s vs %s" % (path, ref, got))
    return out


def history_shapes(events):
    """Event shapes grouped by type (the details object differs per type)."""
    by = {}
    for e in events:
        by.setdefault(e["type"], {}).update(shape(e))
    return by


def scenario(cli, sm_name, token_file=None):
    """The calls both servers answer; returns {call: response shape} and checks results."""
    shapes = {}
    arn = "arn:aws:states:us-east-1:%s:stateMachine:%s" % (ACCOUNT, sm_name)

    out, err = cli("create-state-machine", "--name", sm_name, "--definition", PASS_DEF,
                   "--role-arn", ROLE)
    check(err is None and out.get("stateMachineArn") == arn, "create-state-machine: " + str(err))
    shapes["CreateStateMachine"] = shape(out)
    out, err = cli("list-state-machines")
    check(err is None and any(m["name"] == sm_name for m in out["stateMachines"]),
          "list-state-machines lists it")
    shapes["ListStateMachines"] = shape(out)
    out, err = cli("describe-state-machine", "--state-machine-arn", arn)
    check(err is None and json.loads(out["definition"]) == json.loads(PASS_DEF) and
          out["name"] == sm_name, "describe-state-machine")
    shapes["DescribeStateMachine"] = shape(out)

    out, err = cli("start-execution", "--state-machine-arn", arn, "--name", "e1", "--input",
                   '{"x": 7}')
    check(err is None and out["executionArn"].endswith(":execution:%s:e1" % sm_name),
          "start-execution")
    shapes["StartExecution"] = shape(out)
    earn = out["executionArn"] if out else ""
    desc = {}

    def succeeded():
        nonlocal desc
        desc, _ = cli("describe-execution", "--execution-arn", earn)
        return desc and desc.get("status") != "RUNNING"
    wait_for(succeeded, 60)
    check(desc.get("status") == "SUCCEEDED" and
          json.loads(desc.get("output", "null")) == {"got": 7, "r": "done"},
          "describe-execution until SUCCEEDED: %s" % desc.get("status"))
    shapes["DescribeExecution"] = shape(desc)
    out, err = cli("list-executions", "--state-machine-arn", arn)
    check(err is None and any(e["name"] == "e1" for e in out["executions"]), "list-executions")
    shapes["ListExecutions"] = shape(out)
    out, err = cli("get-execution-history", "--execution-arn", earn)
    events = out["events"] if out else []
    types = [e["type"] for e in events]
    check(types[:1] == ["ExecutionStarted"] and types[-1:] == ["ExecutionSucceeded"] and
          "PassStateEntered" in types, "get-execution-history: %s" % types)
    check([e["id"] for e in events] == list(range(1, len(events) + 1)), "event ids 1..N")
    shapes["GetExecutionHistory"] = {"events": history_shapes(events)}
    return shapes, arn, earn, events


def weir_only(cli, arn, earn, events, work):
    """What moto cannot be compared on: pagination, idempotency, stop, sync, tokens, errors."""
    # Pagination (the CLI pages by itself unless told not to).
    out, err = cli("get-execution-history", "--execution-arn", earn, "--no-paginate",
                   "--max-results", "2")
    check(err is None and len(out["events"]) == 2 and "nextToken" in out,
          "get-execution-history --max-results 2 gives a nextToken")
    if out and "nextToken" in out:
        out2, err = cli("get-execution-history", "--execution-arn", earn, "--no-paginate",
                        "--max-results", "2", "--next-token", out["nextToken"])
        check(err is None and [e["id"] for e in out2["events"]] == [3, 4], "second page 3, 4")
    out, err = cli("get-execution-history", "--execution-arn", earn, "--reverse-order")
    check(err is None and out["events"][0]["type"] == "ExecutionSucceeded", "--reverse-order")
    out, err = cli("get-execution-history", "--execution-arn", earn, "--page-size", "2")
    check(err is None and len(out["events"]) == len(events), "the CLI's paginator gets all")

    # Same name: same input -> same execution while it runs; different input -> conflict.
    cli("update-state-machine", "--state-machine-arn", arn, "--definition", WAIT_DEF)
    out1, e1 = cli("start-execution", "--state-machine-arn", arn, "--name", "w1", "--input",
                   '{"a":1}')
    out2, e2 = cli("start-execution", "--state-machine-arn", arn, "--name", "w1", "--input",
                   '{"a": 1}')
    check(e1 is None and e2 is None and out1["executionArn"] == out2["executionArn"] and
          out1["startDate"] == out2["startDate"], "start-execution is idempotent by name")
    _, e3 = cli("start-execution", "--state-machine-arn", arn, "--name", "w1", "--input",
                '{"a":2}')
    check(e3 == "ExecutionAlreadyExists", "same name, other input: ExecutionAlreadyExists")
    _, e4 = cli("start-execution", "--state-machine-arn", arn, "--name", "e1")
    check(e4 == "ExecutionAlreadyExists", "a finished execution's name: ExecutionAlreadyExists")

    # Stop the waiting execution with an error and a cause.
    warn = out1["executionArn"] if out1 else ""
    out, err = cli("stop-execution", "--execution-arn", warn, "--error", "Ops.Stop", "--cause",
                   "enough")
    check(err is None and isinstance(out.get("stopDate"), (int, float)), "stop-execution")
    d = {}

    def aborted():
        nonlocal d
        d, _ = cli("describe-execution", "--execution-arn", warn)
        return d and d["status"] != "RUNNING"
    wait_for(aborted, 30)
    check(d.get("status") == "ABORTED" and d.get("error") == "Ops.Stop" and
          d.get("cause") == "enough", "the stopped execution is ABORTED with its error/cause")
    out, _ = cli("get-execution-history", "--execution-arn", warn)
    check(out and out["events"][-1]["type"] == "ExecutionAborted", "history ends ExecutionAborted")

    # start-sync-execution waits for the end.
    cli("update-state-machine", "--state-machine-arn", arn, "--definition", PASS_DEF)
    out, err = cli("start-sync-execution", "--state-machine-arn", arn, "--input", '{"x": 1}')
    if err is not None and "sync-127.0.0.1" in err:
        print("skip: this AWS CLI cannot turn off the sync- host prefix; StartSyncExecution "
              "untested")
    else:
        check(err is None and out["status"] == "SUCCEEDED" and
              json.loads(out["output"]) == {"got": 1, "r": "done"},
              "start-sync-execution: %s" % err)

    # A waitForTaskToken task: the handler writes its token; send-task-success completes it.
    tarn = arn.replace(":stateMachine:sfn-test", ":stateMachine:tokens")
    cli("create-state-machine", "--name", "tokens", "--definition", TOKEN_DEF, "--role-arn", ROLE)
    out, err = cli("start-execution", "--state-machine-arn", tarn, "--name", "t1", "--input",
                   '{"x": 3}')
    tearn = out["executionArn"] if out else ""
    token_file = os.path.join(work, "token")
    check(wait_for(lambda: os.path.exists(token_file) and os.path.getsize(token_file) > 0, 30),
          "the handler received a task token")
    token = open(token_file).read().strip() if os.path.exists(token_file) else "x"
    time.sleep(0.5)
    d, _ = cli("describe-execution", "--execution-arn", tearn)
    check(d and d["status"] == "RUNNING", "the execution waits for its token")
    _, err = cli("send-task-heartbeat", "--task-token", token)
    check(err is None, "send-task-heartbeat")
    _, err = cli("send-task-success", "--task-token", token, "--task-output", '{"approved": true}')
    check(err is None, "send-task-success: %s" % err)

    def token_done():
        nonlocal d
        d, _ = cli("describe-execution", "--execution-arn", tearn)
        return d and d["status"] != "RUNNING"
    wait_for(token_done, 30)
    check(d.get("status") == "SUCCEEDED" and json.loads(d.get("output", "null")) ==
          {"approved": True}, "the token's output is the task's result")
    _, err = cli("send-task-success", "--task-token", token, "--task-output", "{}")
    check(err == "TaskDoesNotExist", "a used token: TaskDoesNotExist (%s)" % err)
    out, _ = cli("get-execution-history", "--execution-arn", tearn)
    types = [e["type"] for e in out["events"]] if out else []
    check("TaskSubmitted" in types and "TaskSucceeded" in types, "history has TaskSubmitted, "
          "TaskSucceeded")

    # Errors.
    _, err = cli("describe-state-machine", "--state-machine-arn", arn + "-nope")
    check(err == "StateMachineDoesNotExist", "StateMachineDoesNotExist (%s)" % err)
    _, err = cli("describe-execution", "--execution-arn", earn + "-nope")
    check(err == "ExecutionDoesNotExist", "ExecutionDoesNotExist (%s)" % err)
    _, err = cli("create-state-machine", "--name", "bad", "--role-arn", ROLE, "--definition",
                 '{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}')
    check(err == "InvalidDefinition", "InvalidDefinition (%s)" % err)
    _, err = cli("create-state-machine", "--name", "sfn-test", "--role-arn", ROLE,
                 "--definition", WAIT_DEF)
    check(err == "StateMachineAlreadyExists", "StateMachineAlreadyExists (%s)" % err)
    _, err = cli("start-execution", "--state-machine-arn", arn, "--input", "{nope")
    check(err == "InvalidExecutionInput", "InvalidExecutionInput (%s)" % err)
    _, err = cli("describe-execution", "--execution-arn", "arn:aws:states:us-east-1:1:thing:x")
    check(err == "InvalidArn", "InvalidArn (%s)" % err)

    # The REST API lists state machines created here.
    return tarn


def start_weir(work):
    port = free_port()
    fdir = os.path.join(work, "functions")
    os.makedirs(fdir)
    with open(os.path.join(fdir, "tokwait"), "w") as f:
        f.write("#!/usr/bin/env python3\nimport json, sys\nev = json.load(sys.stdin)\n"
                "open(%r, 'w').write(ev['token'])\nprint(json.dumps({'sent': True}))\n"
                % os.path.join(work, "token"))
    os.chmod(os.path.join(fdir, "tokwait"), 0o755)
    log = open(os.path.join(work, "serve.log"), "wb")
    proc = subprocess.Popen([WEIR, "serve", "--dags", "dags", "--db", "weir.db", "--functions",
                             "functions", "--listen", "127.0.0.1:%d" % port], cwd=work,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            urllib.request.urlopen(url + "/api/v1/health", timeout=2)
            return True
        except Exception:
            return proc.poll() is not None
    wait_for(up, 30)
    if proc.poll() is not None:
        raise SystemExit("weir serve did not start:\n" + open(log.name).read())
    return proc, url


def start_moto():
    try:
        subprocess.run([sys.executable, "-c", "import moto.server"], check=True,
                       capture_output=True, timeout=60)
    except Exception:
        return None, None
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            req = urllib.request.Request(
                url + "/moto-api/config", method="POST",
                data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
            urllib.request.urlopen(req, timeout=2)
            return True
        except Exception:
            return proc.poll() is not None
    if not wait_for(up, 30) or proc.poll() is not None:
        proc.kill()
        return None, None
    return proc, url


def main():
    if shutil.which("aws") is None:
        print("skip: no AWS CLI (apt-get install awscli)")
        print("0 passed, 0 failed")
        return 0
    work = tempfile.mkdtemp(prefix="weir-sfn-")
    os.makedirs(os.path.join(work, "dags"))
    proc, url = start_weir(work)
    try:
        cli = Cli(url)
        weir_shapes, arn, earn, events = scenario(cli, "sfn-test")
        weir_only(cli, arn, earn, events, work)
        wf = json.load(urllib.request.urlopen(url + "/api/v1/workflows/sfn-test"))
        check(wf.get("kind") == "asl", "the REST API shows the state machine (kind asl)")
        _, err = cli("delete-state-machine", "--state-machine-arn", arn)
        check(err is None, "delete-state-machine")
        _, err = cli("describe-state-machine", "--state-machine-arn", arn)
        check(err == "StateMachineDoesNotExist", "deleted: StateMachineDoesNotExist (%s)" % err)
        out, _ = cli("list-state-machines")
        check(out is not None and all(m["name"] != "sfn-test" for m in out["stateMachines"]),
              "deleted: not listed")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    mproc, murl = start_moto()
    if mproc is None:
        print("skip: moto is not available; the shape comparison is skipped")
    else:
        try:
            moto_shapes, _, _, _ = scenario(Cli(murl), "sfn-test")
            for call, ref in moto_shapes.items():
                if call == "GetExecutionHistory":
                    for t, s in ref["events"].items():
                        got = weir_shapes[call]["events"].get(t)
                        if got is None:
                            continue  # weir records that state differently; not a shape issue
                        d = shape_diff(s, got, t)
                        check(not d, "shape of history event %s like moto's %s" % (t, d))
                    continue
                d = shape_diff(ref, weir_shapes.get(call))
                check(not d, "shape of %s like moto's %s" % (call, d))
        finally:
            mproc.kill()
            mproc.wait()
    if not check.fails:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("work dir kept: " + work)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
