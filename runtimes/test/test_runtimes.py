"""Tests for Hearth's function runtimes (runtimes/python, runtimes/node).

Run from the repository root:

    python3 -m unittest discover -s runtimes/test -v

Each test starts a fake Runtime API server (FakeRuntimeAPI below) on
127.0.0.1, launches a runtime against it as its own process group, feeds it
events and checks what the runtime posted back and what it printed.
Standard library only.
"""

import base64
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY_BOOTSTRAP = os.path.join(REPO, "runtimes", "python", "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(REPO, "runtimes", "node", "bootstrap.mjs")
RIC_DIR = os.path.join(REPO, "test", "ric")
RIC_ENTRY = os.path.join(RIC_DIR, "node_modules", "aws-lambda-ric", "index.mjs")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:1"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PREFIX = "/2018-06-01/runtime"


# ---------------------------------------------------------------------------
# Fake Runtime API
# ---------------------------------------------------------------------------


class FakeRuntimeAPI:
    """A small Runtime API 2018-06-01 server.

    GET /invocation/next parks until an event is enqueued.  Every delivery and
    answer is recorded with a monotonic timestamp; in-flight = delivered minus
    answered.  The first POST /init/error gets 202, later ones 403 (as when
    another worker already reported).
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.queue = collections.deque()
        self.parked = 0
        self.max_parked = 0
        self.delivered = {}  # request id -> monotonic time
        self.answered = {}  # request id -> monotonic time
        self.responses = {}  # request id -> {"body", "headers", "trailers"}
        self.errors = {}  # request id -> {"body", "headers"}
        self.init_errors = []  # {"body", "headers", "status"}
        self.duplicates = []
        self.inflight = 0
        self.max_inflight = 0
        self.closed = False
        self.close_after_answer = False  # close each connection after answering a POST
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404, {"errorType": "NotFound"})
                event = api._park(self)
                if event is None:
                    return
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": event["id"],
                    "Lambda-Runtime-Deadline-Ms": str(event["deadline_ms"]),
                    "Lambda-Runtime-Invoked-Function-Arn": event["arn"],
                    "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                    "Content-Type": "application/json",
                }
                headers.update(event["headers"])
                self._send(200, event["body"], headers)

            def do_POST(self):
                body, trailers = self._read_body()
                path = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else self.path
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                if path == "/init/error":
                    with api.cond:
                        status = 202 if not api.init_errors else 403
                        api.init_errors.append({"body": body, "headers": hdrs, "status": status})
                        api.cond.notify_all()
                    if status == 202:
                        return self._reply(202, {"status": "OK"})
                    return self._reply(403, {"errorType": "InvalidStateTransition", "errorMessage": "init error already reported"})
                m = re.match(r"^/invocation/([^/]+)/(response|error)$", path)
                if not m:
                    return self._reply(404, {"errorType": "NotFound"})
                rid, kind = m.group(1), m.group(2)
                with api.cond:
                    if rid not in api.delivered:
                        status = 400
                    elif rid in api.answered:
                        api.duplicates.append(rid)
                        status = 403
                    else:
                        api.answered[rid] = time.monotonic()
                        api.inflight -= 1
                        record = {"body": body, "headers": hdrs, "trailers": trailers}
                        (api.responses if kind == "response" else api.errors)[rid] = record
                        status = 202
                    api.cond.notify_all()
                if api.close_after_answer:
                    self.close_connection = True  # unannounced, as when an idle connection is dropped
                if status == 202:
                    return self._reply(202, {"status": "OK"})
                return self._reply(status, {"errorType": "Runtime.InvalidInvokeId", "errorMessage": rid})

            def _read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            break
                        data += self.rfile.read(size)
                        self.rfile.readline()
                    trailers = {}
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b"\n", b""):
                            break
                        k, _, v = line.decode("latin-1").partition(":")
                        trailers[k.strip().lower()] = v.strip()
                    return data, trailers
                n = int(self.headers.get("Content-Length") or 0)
                return (self.rfile.read(n) if n else b""), {}

            def _reply(self, status, obj):
                self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

            def _send(self, status, body, headers):
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], OSError):  # runtimes killed mid-request are expected
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def _client_gone(self, handler):
        import select

        try:
            readable, _, _ = select.select([handler.connection], [], [], 0)
            if readable:
                import socket

                return handler.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def _park(self, handler):
        with self.cond:
            self.parked += 1
            self.max_parked = max(self.max_parked, self.parked)
            self.cond.notify_all()
            try:
                while not self.queue and not self.closed:
                    self.cond.wait(0.05)
                    if not self.queue and self._client_gone(handler):
                        handler.close_connection = True
                        return None
                if self.closed:
                    handler.close_connection = True
                    return None
                event = self.queue.popleft()
                self.delivered[event["id"]] = time.monotonic()
                self.inflight += 1
                self.max_inflight = max(self.max_inflight, self.inflight)
                return event
            finally:
                self.parked -= 1
                self.cond.notify_all()

    def enqueue(self, payload, request_id=None, deadline_ms=None, headers=None, raw=False):
        rid = request_id or str(uuid.uuid4())
        body = payload if raw else json.dumps(payload).encode()
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 10_000
        event = {"id": rid, "body": body, "deadline_ms": deadline_ms, "arn": FUNCTION_ARN, "headers": headers or {}}
        with self.cond:
            self.queue.append(event)
            self.cond.notify_all()
        return rid

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
            return True

    def wait_parked(self, n, timeout=10):
        return self.wait(lambda: self.parked >= n, timeout)

    def wait_answered(self, ids, timeout=10):
        return self.wait(lambda: all(i in self.answered for i in ids), timeout)

    def response_json(self, rid):
        return json.loads(self.responses[rid]["body"])

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# Runtime process
# ---------------------------------------------------------------------------


def _clip(text, limit=300):
    return text if len(text) <= limit else "%s...(%d chars)...%s" % (text[:150], len(text), text[-100:])


class RuntimeProcess:
    """A runtime launched in its own process group, with every output line recorded."""

    def __init__(self, argv, env, cwd):
        self.lines = []  # (stream name, text)
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for t in self.readers:
            t.start()

    def _read(self, pipe, name):
        for raw in iter(pipe.readline, b""):
            with self.cond:
                self.lines.append((name, raw.decode("utf-8", "replace").rstrip("\n")))
                self.cond.notify_all()
        pipe.close()

    def records(self):
        """Every output line parsed as JSON (fails the caller on a non-JSON line)."""
        with self.cond:
            lines = list(self.lines)
        out = []
        for name, text in lines:
            try:
                rec = json.loads(text)
            except ValueError:
                raise AssertionError("%s line is not JSON: %r" % (name, _clip(text)))
            if not isinstance(rec, dict):
                raise AssertionError("%s line is not a JSON object: %r" % (name, _clip(text)))
            out.append(rec)
        return out

    def wait_lines(self, predicate, timeout=5):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(list(self.lines)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
            return True

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def group_alive(self):
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for t in self.readers:
            t.join(2)

    def dump(self):
        with self.cond:
            return "\n".join("%s: %s" % (name, _clip(text)) for name, text in self.lines[-40:])


# ---------------------------------------------------------------------------
# Test functions
# ---------------------------------------------------------------------------

PY_APP = r'''
import json, logging, os, sys, time

log = logging.getLogger("app")
INIT_PID = os.getpid()
print("init in", INIT_PID)


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "echo":
        return {"event": event, "pid": os.getpid(), "init_pid": INIT_PID}
    if action == "context":
        cc = context.client_context
        return {
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "client_custom": cc.custom if cc else None,
            "client_app_title": cc.client.app_title if cc and cc.client else None,
            "identity_id": context.identity.cognito_identity_id if context.identity else None,
            "tenant_id": context.tenant_id,
            "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        }
    if action == "raise":
        raise ValueError("bad value " + event.get("msg", ""))
    if action == "sleep":
        time.sleep(event["seconds"])
        return {"pid": os.getpid()}
    if action == "log":
        tag = event["tag"]
        print("print", tag)
        time.sleep(0.1)
        log.info("logging %s", tag)
        print("multi\nline " + tag)
        sys.stderr.write("stderr " + tag + "\n")
        time.sleep(0.1)
        log.warning("warn %s", tag)
        return tag
    if action == "big":
        for i in range(event["count"]):
            print("%s %d %s" % (event["tag"], i, "x" * event["size"]))
        return "ok"
    if action == "crash":
        os._exit(event.get("code", 3))
    if action == "string":
        return "hello"
    if action == "bytes":
        return b"\x00raw bytes"
    return event
'''

NODE_APP = r'''
import { threadId } from 'node:worker_threads';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
console.log('init in thread', threadId);

export const handler = async (event, context) => {
  switch (event?.action) {
    case 'echo':
      return { event, threadId };
    case 'context':
      return {
        awsRequestId: context.awsRequestId,
        invokedFunctionArn: context.invokedFunctionArn,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        memoryLimitInMB: context.memoryLimitInMB,
        logGroupName: context.logGroupName,
        logStreamName: context.logStreamName,
        remaining: context.getRemainingTimeInMillis(),
        clientCustom: context.clientContext?.custom,
        identityId: context.identity?.cognitoIdentityId,
        tenantId: context.tenantId,
        traceEnv: process.env._X_AMZN_TRACE_ID ?? null,
      };
    case 'raise':
      throw new TypeError('bad value ' + (event.msg ?? ''));
    case 'reject-string':
      return Promise.reject('plain string');
    case 'sleep':
      await sleep(event.ms);
      return { threadId };
    case 'log': {
      const tag = event.tag;
      console.log(`log ${tag}`);
      await sleep(100);
      console.info('info %s', tag);
      console.error(new Error(`err ${tag}`));
      process.stdout.write(`stdout ${tag}\n`);
      await sleep(50);
      console.warn(`multi\nline ${tag}`);
      return tag;
    }
    case 'unhandled':
      Promise.reject(new RangeError('floating ' + event.tag));
      await sleep(400);
      return 'too late';
    case 'timer-throw':
      setTimeout(() => { throw new SyntaxError('from timer ' + event.tag); }, 10);
      await sleep(400);
      return 'too late';
    case 'big':
      for (let i = 0; i < event.count; i++) console.log(`${event.tag} ${i} ${'x'.repeat(event.size)}`);
      return 'ok';
    case 'crash':
      process.exit(event.code ?? 3);
      break;
    case 'string':
      return 'hello';
    case 'undefined':
      return undefined;
    default:
      return event;
  }
};
'''

RIC_APP = r'''
export const handler = async (event, context) => {
  console.log('start', event.i);
  await new Promise((r) => setTimeout(r, 500));
  return { i: event.i, id: context.awsRequestId };
};
'''


def write_files(root, files):
    for rel, content in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(textwrap.dedent(content))


def runtime_env(api, task_root, handler, max_concurrency=None, execution_env="AWS_Lambda_python3.13", extra=None):
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": os.path.dirname(task_root),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[1]0123456789abcdef",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": execution_env,
    }
    if max_concurrency is not None:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(max_concurrency)
    env.update(extra or {})
    return env


class RuntimeTestBase(unittest.TestCase):
    """Per test: a fake API, a temporary task root, and cleanup of every process started."""

    argv = None  # set by subclasses
    app_files = {}
    execution_env = None

    def setUp(self):
        self.api = FakeRuntimeAPI()
        self.addCleanup(self.api.close)
        self.task_root = tempfile.mkdtemp(prefix="hearth-rt-")
        self.addCleanup(shutil.rmtree, self.task_root, True)
        write_files(self.task_root, self.app_files)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def start(self, handler, n=None, extra_env=None, files=None, argv=None):
        if files:
            write_files(self.task_root, files)
        env = runtime_env(self.api, self.task_root, handler, n, self.execution_env, extra_env)
        proc = RuntimeProcess(argv or self.argv, env, self.task_root)
        self.procs.append(proc)
        return proc

    def ready(self, proc, parked):
        if not self.api.wait_parked(parked, timeout=10):
            self.fail("runtime did not park %d /next calls; output:\n%s" % (parked, proc.dump()))

    def answered(self, proc, ids, timeout=10):
        if not self.api.wait_answered(ids, timeout):
            self.fail("not all invocations answered; output:\n%s" % proc.dump())

    def assert_log_format(self, proc):
        for rec in proc.records():
            self.assertIn("timestamp", rec)
            self.assertRegex(rec["timestamp"], TIMESTAMP_RE)
            self.assertIn(rec.get("level"), {"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
            self.assertIsInstance(rec.get("message"), str)

    # -- shared scenarios -------------------------------------------------

    def check_large_events_and_dropped_connections(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        payload = {"action": "echo", "blob": "x" * (3 * 1024 * 1024)}  # many reads per body
        rid = self.api.enqueue(payload)
        self.answered(proc, [rid])
        self.assertEqual(self.api.response_json(rid)["event"], payload)
        self.api.close_after_answer = True
        ids = []
        for i in range(5):  # each on a new connection: the kept-alive one was dropped
            ids.append(self.api.enqueue({"action": "echo", "i": i}))
            self.answered(proc, ids[-1:])
        self.assertEqual([self.api.response_json(r)["event"]["i"] for r in ids], list(range(5)))

    def check_concurrency_cap(self, n, sleep_event, parked):
        proc = self.start("app.handler", n=n)
        self.ready(proc, parked)
        t0 = time.monotonic()
        ids = [self.api.enqueue(sleep_event) for _ in range(2 * n)]
        self.answered(proc, ids, timeout=10)
        done = sorted(self.api.answered[i] for i in ids)
        self.assertLess(done[n - 1] - t0, 0.9, "first %d sleeps took too long" % n)
        self.assertEqual(self.api.max_inflight, n, "in-flight must reach and never exceed N")
        self.assertEqual(self.api.errors, {})
        return [self.api.response_json(i) for i in ids]

    def check_log_attribution(self, n, parked, per_tag_min, extra_env=None):
        """n concurrent invocations each print per_tag_min lines naming their tag."""
        proc = self.start("app.handler", n=n, extra_env=extra_env)
        self.ready(proc, parked)
        tags = {("tag%d" % i): self.api.enqueue({"action": "log", "tag": "tag%d" % i}) for i in range(n)}
        self.answered(proc, list(tags.values()))

        def enough(lines):
            counts = collections.Counter(m.group(0) for _, t in lines for m in [re.search(r"\btag\d+\b", t)] if m)
            return all(counts[tag] >= per_tag_min for tag in tags)

        self.assertTrue(proc.wait_lines(enough, 5), proc.dump())
        self.assert_log_format(proc)
        # The agent scans raw lines for the compact bytes "requestId":"<id>" (no spaces).
        for _, text in list(proc.lines):
            m = re.search(r"\btag\d+\b", text)
            if m:
                self.assertIn('"requestId":"%s"' % tags[m.group(0)], text)
        seen = collections.Counter()
        for rec in proc.records():
            m = re.search(r"\btag\d+\b", rec["message"])
            if not m:
                continue
            tag = m.group(0)
            self.assertEqual(rec.get("requestId"), tags[tag], "line %r attributed to the wrong invocation" % rec)
            seen[tag] += 1
        for tag in tags:
            self.assertEqual(seen[tag], per_tag_min, tag)
        return proc

    def check_long_lines(self, n, parked, extra_env=None):
        """Concurrent workers printing lines far above PIPE_BUF: every line stays whole."""
        proc = self.start("app.handler", n=n, extra_env=extra_env)
        self.ready(proc, parked)
        count, size = 20, 100_000
        ids = {("big%d" % i): self.api.enqueue({"action": "big", "tag": "big%d" % i, "count": count, "size": size})
               for i in range(n)}
        self.answered(proc, list(ids.values()))
        want = n * count
        self.assertTrue(proc.wait_lines(lambda ls: sum(t.count('"message":"big') for _, t in ls) >= want, 5))
        recs = [r for r in proc.records() if r["message"].startswith("big")]
        self.assertEqual(len(recs), want)
        for r in recs:
            tag = r["message"].split()[0]
            self.assertEqual(r["requestId"], ids[tag])
            self.assertEqual(len(r["message"]), len(tag) + size + 2 + len(r["message"].split()[1]))

    def check_crash(self, n, parked):
        proc = self.start("app.handler", n=n)
        self.ready(proc, parked)
        crash1 = self.api.enqueue({"action": "crash", "code": 3})
        self.assertTrue(self.api.wait(lambda: crash1 in self.api.delivered, 5))
        ok = self.api.enqueue({"action": "echo", "x": 1})
        self.answered(proc, [ok], timeout=5)
        self.assertIsNone(proc.wait_exit(0.3), "runtime exited while a worker was left")
        crashes = [self.api.enqueue({"action": "crash", "code": 3}) for _ in range(n - 1)]
        code = proc.wait_exit(10)
        self.assertIsNotNone(code, "runtime did not exit after all workers crashed:\n" + proc.dump())
        self.assertNotEqual(code, 0)
        for rid in [crash1] + crashes:
            self.assertIn(rid, self.api.delivered)
            self.assertNotIn(rid, self.api.answered)
        deadline = time.monotonic() + 3
        while proc.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(proc.group_alive(), "runtime processes survived")


# ---------------------------------------------------------------------------
# Python runtime
# ---------------------------------------------------------------------------


class PythonRuntimeTest(RuntimeTestBase):
    argv = [sys.executable, PY_BOOTSTRAP]
    app_files = {"app.py": PY_APP}
    execution_env = "AWS_Lambda_python3.13"

    def test_success_round_trip(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        payload = {"action": "echo", "nested": {"list": [1, 2.5, "x", None, True]}, "unicode": "h\u00e9llo \u2603"}
        rid = self.api.enqueue(payload)
        self.answered(proc, [rid])
        out = self.api.response_json(rid)
        self.assertEqual(out["event"], payload)
        self.assertEqual(out["pid"], out["init_pid"])
        self.assertEqual(self.api.responses[rid]["headers"]["content-type"], "application/json")
        self.assert_log_format(proc)

    def test_large_events_and_dropped_connections(self):
        self.check_large_events_and_dropped_connections()

    def test_result_encodings(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        s = self.api.enqueue({"action": "string"})
        b = self.api.enqueue({"action": "bytes"})
        raw = self.api.enqueue(b"not json at all", raw=True)
        self.answered(proc, [s, b, raw])
        self.assertEqual(self.api.responses[s]["body"], b'"hello"')
        self.assertEqual(self.api.responses[b]["body"], b"\x00raw bytes")
        self.assertEqual(self.api.response_json(raw), "not json at all")

    def test_context_fields(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        headers = {
            "Lambda-Runtime-Client-Context": json.dumps({"custom": {"k": "v"}, "client": {"app_title": "t"}, "env": {}}),
            "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool"}),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
        }
        rid = self.api.enqueue({"action": "context"}, headers=headers)
        self.answered(proc, [rid])
        out = self.api.response_json(rid)
        self.assertEqual(out["aws_request_id"], rid)
        self.assertEqual(out["invoked_function_arn"], FUNCTION_ARN)
        self.assertEqual(out["function_name"], "fn")
        self.assertEqual(out["function_version"], "1")
        self.assertEqual(out["memory_limit_in_mb"], "512")
        self.assertEqual(out["log_group_name"], "/aws/lambda/fn")
        self.assertEqual(out["log_stream_name"], "2026/01/01/[1]0123456789abcdef")
        self.assertGreater(out["remaining"], 0)
        self.assertLessEqual(out["remaining"], 10_000)
        self.assertEqual(out["client_custom"], {"k": "v"})
        self.assertEqual(out["client_app_title"], "t")
        self.assertEqual(out["identity_id"], "id-1")
        self.assertEqual(out["tenant_id"], "tenant-7")
        self.assertTrue(out["trace_env"].startswith("Root="))

    def test_handler_exception_posts_error(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        rid = self.api.enqueue({"action": "raise", "msg": "x1"})
        after = self.api.enqueue({"action": "echo"})
        self.answered(proc, [rid, after])
        err = self.api.errors[rid]
        body = json.loads(err["body"])
        self.assertEqual(body["errorType"], "ValueError")
        self.assertEqual(body["errorMessage"], "bad value x1")
        self.assertEqual(body["requestId"], rid)
        self.assertTrue(any("app.py" in frame for frame in body["stackTrace"]), body["stackTrace"])
        self.assertFalse(any("bootstrap.py" in frame for frame in body["stackTrace"]), body["stackTrace"])
        self.assertEqual(err["headers"]["lambda-runtime-function-error-type"], "ValueError")
        self.assertIn(after, self.api.responses)  # the worker keeps serving
        self.assertTrue(proc.wait_lines(lambda ls: any('"errorType":"ValueError"' in t for _, t in ls), 3))
        errline = [r for r in proc.records() if r.get("errorType") == "ValueError"][0]
        self.assertEqual(errline["requestId"], rid)

    def check_init_error(self, handler, files, error_type, n=1):
        proc = self.start(handler, n=n, files=files)
        code = proc.wait_exit(10)
        self.assertIsNotNone(code, "runtime did not exit after an init error:\n" + proc.dump())
        self.assertNotEqual(code, 0)
        self.assertTrue(self.api.init_errors, "no /init/error posted")
        body = json.loads(self.api.init_errors[0]["body"])
        self.assertEqual(body["errorType"], error_type, body)
        self.assertEqual(self.api.init_errors[0]["headers"]["lambda-runtime-function-error-type"], error_type)
        self.assertTrue(body["errorMessage"])
        self.assertEqual(self.api.delivered, {})
        self.assert_log_format(proc)
        return body

    def test_init_error_syntax(self):
        body = self.check_init_error("bad.handler", {"bad.py": "def handler(event, context)\n    return 1\n"},
                                     "Runtime.UserCodeSyntaxError", n=3)
        self.assertIn("bad", body["errorMessage"])
        # Every worker reported; the fake answered 403 to all but the first.
        self.assertEqual(len(self.api.init_errors), 3)

    def test_init_error_missing_function(self):
        body = self.check_init_error("app.nothere", {}, "Runtime.HandlerNotFound")
        self.assertIn("nothere", body["errorMessage"])

    def test_init_error_missing_module(self):
        self.check_init_error("nomodule.handler", {}, "Runtime.ImportModuleError")

    def test_init_error_raised_in_module(self):
        body = self.check_init_error("boom.handler", {"boom.py": "raise RuntimeError('init failed')\n"}, "RuntimeError")
        self.assertEqual(body["errorMessage"], "init failed")

    def test_nested_module_paths(self):
        files = {"pkg/sub/mod.py": "def handler(event, context):\n    return {'mod': __name__}\n"}
        for handler in ("pkg/sub/mod.handler", "pkg.sub.mod.handler"):
            with self.subTest(handler=handler):
                proc = self.start(handler, n=1, files=files)
                self.ready(proc, 1)
                rid = self.api.enqueue({})
                self.answered(proc, [rid])
                self.assertEqual(self.api.response_json(rid), {"mod": "pkg.sub.mod"})
                proc.kill()
                self.assertTrue(self.api.wait(lambda: self.api.parked == 0, 5))

    def test_concurrency_processes(self):
        results = self.check_concurrency_cap(4, {"action": "sleep", "seconds": 0.5}, parked=4)
        self.assertEqual(len({r["pid"] for r in results}), 4)

    def test_log_lines_carry_request_id(self):
        proc = self.check_log_attribution(4, parked=4, per_tag_min=5)
        recs = proc.records()
        multi = [r for r in recs if r["message"].startswith("multi\nline ")]
        self.assertEqual(len(multi), 4, "a multi-line print must stay one JSON line")
        levels = {r["message"].split()[0]: r["level"] for r in recs if re.search(r"\btag\d", r["message"])}
        self.assertEqual(levels["print"], "INFO")
        self.assertEqual(levels["stderr"], "ERROR")
        self.assertEqual(levels["logging"], "INFO")
        self.assertEqual(levels["warn"], "WARNING")
        init_lines = [r for r in recs if r["message"].startswith("init in")]
        self.assertEqual(len(init_lines), 4)
        self.assertTrue(all("requestId" not in r for r in init_lines))

    def test_worker_crash(self):
        self.check_crash(2, parked=2)

    def test_long_lines_stay_whole(self):
        self.check_long_lines(4, parked=4)

    def test_sigterm_is_forwarded(self):
        proc = self.start("app.handler", n=3)
        self.ready(proc, 3)
        proc.proc.send_signal(signal.SIGTERM)
        code = proc.wait_exit(5)
        self.assertEqual(code, 128 + signal.SIGTERM)
        deadline = time.monotonic() + 3
        while proc.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(proc.group_alive(), "workers survived SIGTERM")


# ---------------------------------------------------------------------------
# Node runtime
# ---------------------------------------------------------------------------


@unittest.skipUnless(shutil.which("node"), "node is not installed")
class NodeRuntimeTest(RuntimeTestBase):
    argv = ["node", NODE_BOOTSTRAP]
    app_files = {"app.mjs": NODE_APP}
    execution_env = "AWS_Lambda_nodejs22.x"

    def test_success_round_trip(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        payload = {"action": "echo", "nested": {"list": [1, 2.5, "x", None, True]}, "unicode": "h\u00e9llo \u2603"}
        rid = self.api.enqueue(payload)
        self.answered(proc, [rid])
        self.assertEqual(self.api.response_json(rid)["event"], payload)
        self.assertEqual(self.api.responses[rid]["headers"]["content-type"], "application/json")
        self.assert_log_format(proc)

    def test_large_events_and_dropped_connections(self):
        self.check_large_events_and_dropped_connections()

    def test_result_encodings(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        s = self.api.enqueue({"action": "string"})
        u = self.api.enqueue({"action": "undefined"})
        raw = self.api.enqueue(b"not json", raw=True)
        self.answered(proc, [s, u, raw])
        self.assertEqual(self.api.responses[s]["body"], b'"hello"')
        self.assertEqual(self.api.responses[u]["body"], b"null")
        self.assertEqual(self.api.response_json(raw), "not json")

    def test_context_fields(self):
        proc = self.start("app.handler", n=1)
        self.ready(proc, 1)
        headers = {
            "Lambda-Runtime-Client-Context": json.dumps({"custom": {"k": "v"}}),
            "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool"}),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
        }
        rid = self.api.enqueue({"action": "context"}, headers=headers)
        self.answered(proc, [rid])
        out = self.api.response_json(rid)
        self.assertEqual(out["awsRequestId"], rid)
        self.assertEqual(out["invokedFunctionArn"], FUNCTION_ARN)
        self.assertEqual(out["functionName"], "fn")
        self.assertEqual(out["functionVersion"], "1")
        self.assertEqual(out["memoryLimitInMB"], "512")
        self.assertEqual(out["logGroupName"], "/aws/lambda/fn")
        self.assertEqual(out["logStreamName"], "2026/01/01/[1]0123456789abcdef")
        self.assertGreater(out["remaining"], 0)
        self.assertLessEqual(out["remaining"], 10_000)
        self.assertEqual(out["clientCustom"], {"k": "v"})
        self.assertEqual(out["identityId"], "id-1")
        self.assertEqual(out["tenantId"], "tenant-7")
        self.assertIsNone(out["traceEnv"], "_X_AMZN_TRACE_ID must not be set in multi-concurrent Node")

    def test_rejection_posts_error(self):
        proc = self.start("app.handler", n=2)
        self.ready(proc, 1)
        thrown = self.api.enqueue({"action": "raise", "msg": "x1"})
        rejected = self.api.enqueue({"action": "reject-string"})
        after = self.api.enqueue({"action": "echo"})
        self.answered(proc, [thrown, rejected, after])
        body = json.loads(self.api.errors[thrown]["body"])
        self.assertEqual(body["errorType"], "TypeError")
        self.assertEqual(body["errorMessage"], "bad value x1")
        self.assertTrue(body["trace"][0].startswith("TypeError: bad value x1"))
        self.assertTrue(any("app.mjs" in line for line in body["trace"]))
        self.assertEqual(self.api.errors[thrown]["headers"]["lambda-runtime-function-error-type"], "TypeError")
        body = json.loads(self.api.errors[rejected]["body"])
        self.assertEqual(body, {"errorType": "string", "errorMessage": "plain string", "trace": []})
        self.assertIn(after, self.api.responses)

    def test_unhandled_errors_fail_only_their_invocation(self):
        proc = self.start("app.handler", n=4)
        self.ready(proc, 1)
        slow = [self.api.enqueue({"action": "sleep", "ms": 300}) for _ in range(2)]
        floating = self.api.enqueue({"action": "unhandled", "tag": "f1"})
        timer = self.api.enqueue({"action": "timer-throw", "tag": "t1"})
        self.answered(proc, slow + [floating, timer])
        self.assertEqual(json.loads(self.api.errors[floating]["body"])["errorType"], "RangeError")
        self.assertEqual(json.loads(self.api.errors[timer]["body"])["errorType"], "SyntaxError")
        for rid in slow:
            self.assertIn(rid, self.api.responses)
        # The worker survives and keeps serving; the late "too late" results are dropped.
        after = self.api.enqueue({"action": "echo"})
        self.answered(proc, [after])
        time.sleep(0.3)
        self.assertEqual(self.api.duplicates, [])
        self.assertIsNone(proc.proc.poll())

    def check_init_error(self, handler, files, error_type, n=1):
        proc = self.start(handler, n=n, files=files)
        code = proc.wait_exit(10)
        self.assertIsNotNone(code, "runtime did not exit after an init error:\n" + proc.dump())
        self.assertNotEqual(code, 0)
        self.assertTrue(self.api.init_errors, "no /init/error posted")
        body = json.loads(self.api.init_errors[0]["body"])
        self.assertEqual(body["errorType"], error_type, body)
        self.assertEqual(self.api.init_errors[0]["headers"]["lambda-runtime-function-error-type"], error_type)
        self.assertTrue(body["errorMessage"])
        self.assertEqual(self.api.delivered, {})
        self.assert_log_format(proc)
        return body

    def test_init_error_syntax(self):
        self.check_init_error("bad.handler", {"bad.mjs": "export const handler = async (e) => { return }}};\n"},
                              "Runtime.UserCodeSyntaxError", n=2)
        self.assertEqual(len(self.api.init_errors), 2)

    def test_init_error_missing_export(self):
        body = self.check_init_error("app.nothere", {}, "Runtime.HandlerNotFound")
        self.assertIn("app.nothere", body["errorMessage"])

    def test_init_error_missing_module(self):
        self.check_init_error("nomodule.handler", {}, "Runtime.ImportModuleError")

    def test_init_error_callback_handler(self):
        files = {"cb.mjs": "export const handler = (event, context, callback) => callback(null, 1);\n"}
        body = self.check_init_error("cb.handler", files, "Runtime.CallbackHandlerDeprecated")
        self.assertIn("callback", body["errorMessage"])

    def test_init_error_thrown_at_top_level(self):
        body = self.check_init_error("boom.handler", {"boom.mjs": "throw new EvalError('init failed');\n"}, "EvalError")
        self.assertEqual(body["errorMessage"], "init failed")

    def test_module_formats(self):
        files = {
            "cjsfile.js": "exports.handler = async () => ({ kind: 'cjs-js', esm: typeof require === 'function' });\n",
            "other.cjs": "module.exports = { nested: { fn: async () => ({ kind: 'cjs' }) } };\n",
            "src/app.mjs": "export const handler = async () => ({ kind: 'nested-mjs' });\n",
            "esm/package.json": '{"type": "module"}\n',
            "esm/lib/mod.js": "export const handler = async () => ({ kind: 'esm-js', cjs: typeof require });\n",
            "sync.mjs": "export const handler = (event) => ({ kind: 'sync' });\n",
            "def.mjs": "export default { handler: async () => ({ kind: 'default' }) };\n",
        }
        expected = {
            "cjsfile.handler": {"kind": "cjs-js", "esm": True},
            "other.nested.fn": {"kind": "cjs"},
            "src/app.handler": {"kind": "nested-mjs"},
            "esm/lib/mod.handler": {"kind": "esm-js", "cjs": "undefined"},
            "sync.handler": {"kind": "sync"},
            "def.handler": {"kind": "default"},
        }
        for handler, want in expected.items():
            with self.subTest(handler=handler):
                proc = self.start(handler, n=1, files=files)
                self.ready(proc, 1)
                rid = self.api.enqueue({})
                self.answered(proc, [rid])
                self.assertEqual(self.api.response_json(rid), want)
                proc.kill()
                self.assertTrue(self.api.wait(lambda: self.api.parked == 0, 5))

    def test_concurrency_cap(self):
        # N=4 on this machine: W = min(4, cores) workers, ceil(4/W) in flight each.
        self.check_concurrency_cap(4, {"action": "sleep", "ms": 500}, parked=min(4, os.cpu_count() or 1))

    def test_two_workers_hold_eight_in_flight(self):
        proc = self.start("app.handler", n=8, extra_env={"AWS_LAMBDA_NODEJS_WORKER_COUNT": "2"})
        self.ready(proc, 2)
        t0 = time.monotonic()
        ids = [self.api.enqueue({"action": "sleep", "ms": 500}) for _ in range(8)]
        self.answered(proc, ids)
        self.assertLess(max(self.api.answered[i] for i in ids) - t0, 0.9)
        self.assertEqual(self.api.max_inflight, 8)
        self.assertLessEqual(self.api.max_parked, 2)
        self.assertEqual(len({self.api.response_json(i)["threadId"] for i in ids}), 2)

    def test_log_lines_carry_request_id(self):
        # 8 concurrent invocations on 2 workers: 4 interleave inside each worker.
        proc = self.check_log_attribution(8, parked=2, per_tag_min=5,
                                          extra_env={"AWS_LAMBDA_NODEJS_WORKER_COUNT": "2"})
        self.assertEqual(self.api.max_inflight, 8)
        levels = {}
        for rec in proc.records():
            if re.search(r"\btag\d+\b", rec["message"]):
                levels[rec["message"].split()[0]] = rec["level"]
                if rec["message"].startswith("Error: err"):
                    self.assertEqual(rec["errorType"], "Error")
                    self.assertIsInstance(rec["stackTrace"], list)
        self.assertEqual(levels, {"log": "INFO", "info": "INFO", "Error:": "ERROR", "stdout": "INFO", "multi": "WARN"})
        init_lines = [r for r in proc.records() if r["message"].startswith("init in thread")]
        self.assertEqual(len(init_lines), 2)
        self.assertTrue(all("requestId" not in r for r in init_lines))

    def test_worker_crash(self):
        self.check_crash(2, parked=2)

    def test_long_lines_stay_whole(self):
        self.check_long_lines(4, parked=4, extra_env={"AWS_LAMBDA_NODEJS_WORKER_COUNT": "4"})

    def test_response_streaming(self):
        files = {
            "stream.mjs": textwrap.dedent("""
                export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
                  if (event.fail) {
                    responseStream.write('partial');
                    throw new URIError('mid-stream');
                  }
                  const s = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { a: 'b' } });
                  s.write('hello ');
                  await new Promise((r) => setTimeout(r, 20));
                  s.end('world');
                });
            """),
        }
        proc = self.start("stream.handler", n=2, files=files)
        self.ready(proc, 1)
        ok = self.api.enqueue({})
        bad = self.api.enqueue({"fail": True})
        self.answered(proc, [ok, bad])
        r = self.api.responses[ok]
        self.assertEqual(r["headers"]["lambda-runtime-function-response-mode"], "streaming")
        self.assertEqual(r["headers"]["content-type"], "application/vnd.awslambda.http-integration-response")
        prelude, _, body = r["body"].partition(b"\x00" * 8)
        self.assertEqual(json.loads(prelude), {"statusCode": 201, "headers": {"a": "b"}})
        self.assertEqual(body, b"hello world")
        r = self.api.responses[bad]
        self.assertEqual(r["body"], b"partial")
        self.assertEqual(r["trailers"]["lambda-runtime-function-error-type"], "URIError")
        err = json.loads(base64.b64decode(r["trailers"]["lambda-runtime-function-error-body"]))
        self.assertEqual(err["errorMessage"], "mid-stream")

    def test_sigterm_exits(self):
        proc = self.start("app.handler", n=2)
        self.ready(proc, 2)
        proc.proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait_exit(5), 128 + signal.SIGTERM)


# ---------------------------------------------------------------------------
# The official Node runtime interface client against the same fake API
# ---------------------------------------------------------------------------


@unittest.skipUnless(shutil.which("node"), "node is not installed")
class OfficialNodeRICTest(RuntimeTestBase):
    app_files = {"index.mjs": RIC_APP}
    execution_env = "AWS_Lambda_nodejs22.x"

    def setUp(self):
        if not os.path.exists(RIC_ENTRY):
            self.skipTest("test/ric/node_modules is absent: run `npm ci` in test/ric (see test/ric/README.md)")
        super().setUp()

    def test_ric_eight_in_flight_with_two_workers(self):
        proc = self.start("index.handler", n=8, extra_env={"AWS_LAMBDA_NODEJS_WORKER_COUNT": "2"},
                          argv=["node", RIC_ENTRY])
        self.ready(proc, 2)
        t0 = time.monotonic()
        ids = [self.api.enqueue({"i": i}) for i in range(8)]
        self.answered(proc, ids)
        self.assertLess(max(self.api.answered[i] for i in ids) - t0, 1.0)
        self.assertEqual(self.api.max_inflight, 8)
        self.assertLessEqual(self.api.max_parked, 2)
        for n, rid in enumerate(ids):
            self.assertEqual(self.api.response_json(rid), {"i": n, "id": rid})
        # Its log lines have the same shape as Hearth's runtimes.
        self.assertTrue(proc.wait_lines(lambda ls: sum('"start' in t for _, t in ls) >= 8, 3), proc.dump())
        starts = [r for r in proc.records() if str(r.get("message", "")).startswith("start")]
        self.assertEqual({r["requestId"] for r in starts}, set(ids))
        self.assert_log_format(proc)


if __name__ == "__main__":
    unittest.main()
