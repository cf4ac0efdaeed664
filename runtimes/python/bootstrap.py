"""Hearth runtime for Python functions (Lambda Managed Instances model).

Run as ``python3 bootstrap.py`` with the Lambda runtime environment
(AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_MAX_CONCURRENCY, ...).

Concurrency model: one OS process per unit of concurrency.  The master process
forks N = AWS_LAMBDA_MAX_CONCURRENCY workers (1 when unset).  Each worker
imports the handler itself (per-process init) and runs a sequential loop
against the Runtime API: GET /next, call the handler, POST the response or
error.  The master only supervises: it forwards SIGTERM/SIGINT to the workers
and, once every worker has exited, exits with the last non-zero exit code.

Logging: in the workers, print()/sys.stdout/sys.stderr and the logging module
emit one JSON object per line:
  {"timestamp": "...Z", "level": "INFO", "requestId": "<id>", "message": "..."}
"requestId" is present while an invocation runs and absent during init.

Standard library only.
"""

import ctypes
import datetime
import decimal
import http.client
import socket
import importlib
import io
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import traceback

try:
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
MAX_NEXT_FAILURES = 20
PIPE_BUF = 4096
PR_SET_PDEATHSIG = 1

# ---------------------------------------------------------------------------
# Structured (JSON) log lines
# ---------------------------------------------------------------------------


def _timestamp(epoch=None):
    if epoch is None:
        epoch = time.time()
    dt = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


class _InvokeState:
    """Per-process invocation state.  A worker runs one invocation at a time,
    so a process-wide value is exact (threads started by the handler inherit it)."""

    request_id = None
    tenant_id = None
    trace_set = False  # whether _X_AMZN_TRACE_ID is currently in os.environ


class _LineSink:
    """Writes whole lines to a file descriptor.

    All workers share the agent's stdout/stderr pipes.  A write of at most
    PIPE_BUF bytes to a pipe is atomic; longer lines take an flock on a lock
    file private to this process tree so lines from different workers never
    interleave.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._flock_fd = None

    def set_flock_fd(self, fd):
        self._flock_fd = fd

    def write_line(self, fd, data):
        with self._lock:
            locked = False
            if len(data) > PIPE_BUF and self._flock_fd is not None and fcntl is not None:
                try:
                    fcntl.flock(self._flock_fd, fcntl.LOCK_EX)
                    locked = True
                except OSError:
                    pass
            try:
                view = memoryview(data)
                while view:
                    try:
                        n = os.write(fd, view)
                    except InterruptedError:
                        continue
                    except OSError:
                        return  # reader gone: drop the line
                    view = view[n:]
            finally:
                if locked:
                    try:
                        fcntl.flock(self._flock_fd, fcntl.LOCK_UN)
                    except OSError:
                        pass


_SINK = _LineSink()


def _json_default(obj):
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    return str(obj)


def emit_log(level, message, fd=1, extra=None, epoch=None):
    # Compact JSON with "requestId" before "message": the agent finds the id by
    # scanning for the bytes "requestId":" without parsing the line.
    record = {"timestamp": _timestamp(epoch), "level": level}
    if _InvokeState.request_id is not None:
        record["requestId"] = _InvokeState.request_id
    if _InvokeState.tenant_id is not None:
        record["tenantId"] = _InvokeState.tenant_id
    record["message"] = message
    if extra:
        for key, value in extra.items():
            if key not in record and value is not None:
                record[key] = value
    try:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError, RecursionError):
        record = {k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in record.items()}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    _SINK.write_line(fd, (line + "\n").encode("utf-8", "replace"))


class _BytesAdapter:
    """Stand-in for sys.stdout.buffer: bytes written are decoded and logged."""

    def __init__(self, text_stream):
        self._text = text_stream

    def write(self, data):
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        self._text.flush()

    def writable(self):
        return True


class JsonLineStream(io.TextIOBase):
    """Replacement for sys.stdout / sys.stderr in workers.

    Text is buffered until a write ends with a newline; the buffered text
    (without the final newline) becomes the message of one JSON log line, so
    print("a\\nb") stays one line with the newline escaped.
    """

    def __init__(self, fd, level, name):
        super().__init__()
        self._fd = fd
        self._level = level
        self._name = name
        self._buf = []
        self._lock = threading.RLock()
        self.buffer = _BytesAdapter(self)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "replace"

    @property
    def line_buffering(self):
        return True

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if not s:
            return 0
        with self._lock:
            self._buf.append(s)
            if s.endswith("\n"):
                self._emit()
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if not self._buf:
            return  # nothing buffered: no lock (runs after every invocation)
        with self._lock:
            if self._buf:
                self._emit()

    def _emit(self):
        text = "".join(self._buf)
        self._buf = []
        if text.endswith("\n"):
            text = text[:-1]
        emit_log(self._level, text, fd=self._fd)

    def close(self):
        # Never really close: the agent's pipe must stay usable.
        self.flush()


_LOG_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
}


class JsonLogHandler(logging.Handler):
    """Root logging handler: one JSON line per record (WARNING and above on stderr)."""

    def emit(self, record):
        try:
            extra = {"logger": record.name}
            if record.exc_info and record.exc_info[0] is not None:
                etype, value, tb = record.exc_info
                extra["errorType"] = etype.__name__
                extra["errorMessage"] = str(value)
                extra["stackTrace"] = traceback.format_tb(tb)
                extra["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
            for key, value in record.__dict__.items():
                if key not in _LOG_RECORD_FIELDS and not key.startswith("_"):
                    extra.setdefault(key, value)
            level = logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10)
            fd = 2 if record.levelno >= logging.WARNING else 1
            emit_log(level, record.getMessage(), fd=fd, extra=extra, epoch=record.created)
        except Exception:  # pragma: no cover - never let logging break the handler
            self.handleError(record)


def _log_level_from_env():
    value = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    value = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(value, value)
    if value in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        return getattr(logging, value)
    return logging.INFO  # JSON log format implies INFO unless configured


def setup_worker_logging():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    sys.stdout = JsonLineStream(1, "INFO", "<stdout>")
    sys.stderr = JsonLineStream(2, "ERROR", "<stderr>")
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(JsonLogHandler())
    root.setLevel(_log_level_from_env())


def runtime_log(level, message, **extra):
    """Log a line from the runtime itself (master or worker)."""
    emit_log(level, message, fd=1 if level in ("INFO", "DEBUG") else 2, extra=extra)


# ---------------------------------------------------------------------------
# Runtime API client
# ---------------------------------------------------------------------------


class RuntimeAPIError(Exception):
    pass


class _Headers(dict):
    """Response headers keyed by lower-case name; get() is case-insensitive."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class _Response:
    __slots__ = ("status", "headers", "will_close")

    def __init__(self, status, headers, will_close):
        self.status = status
        self.headers = headers
        self.will_close = will_close

    def getheader(self, name, default=None):
        return self.headers.get(name, default)


class RuntimeAPIClient:
    """One persistent HTTP/1.1 connection to the Runtime API (no timeout).

    A minimal client on a raw socket: the Runtime API always answers with Content-Length, and
    http.client's general-purpose parsing costs more than the handler on small invocations.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise RuntimeAPIError("invalid AWS_LAMBDA_RUNTIME_API %r" % address)
        self.host = host.strip("[]")
        self.port = int(port)
        self.sock = None
        self.buffer = b""
        self.host_header = ("Host: %s:%d\r\n" % (self.host, self.port)).encode()

    def _connect(self):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        return self.sock

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
            self.buffer = b""

    def _read_until(self, sock, marker):
        while True:
            at = self.buffer.find(marker)
            if at >= 0:
                return at
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("Runtime API closed the connection")
            self.buffer += chunk

    def request(self, method, path, body=None, headers=None):
        sock = self._connect()
        try:
            head = [("%s %s%s HTTP/1.1\r\n" % (method, API_PREFIX, path)).encode(), self.host_header]
            if headers:
                for name, value in headers.items():
                    head.append(("%s: %s\r\n" % (name, value)).encode())
            if body is not None:
                if isinstance(body, str):
                    body = body.encode()
                head.append(b"Content-Length: %d\r\n" % len(body))
            head.append(b"\r\n")
            if body:
                head.append(body)
            sock.sendall(b"".join(head))
            end = self._read_until(sock, b"\r\n\r\n")
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            self.buffer = self.buffer[end + 4:]
            status = int(lines[0].split(" ", 2)[1])
            parsed = _Headers()
            for line in lines[1:]:
                name, _, value = line.partition(":")
                parsed[name.strip().lower()] = value.strip()
            length = int(parsed.get("content-length", "0") or 0)
            while len(self.buffer) < length:
                chunk = sock.recv(max(65536, length - len(self.buffer)))
                if not chunk:
                    raise ConnectionError("Runtime API closed the connection")
                self.buffer += chunk
            data = self.buffer[:length]
            self.buffer = self.buffer[length:]
        except (OSError, ValueError, IndexError) as e:
            self.close()
            if isinstance(e, OSError):
                raise
            raise ConnectionError("malformed Runtime API response: %s" % e)
        will_close = parsed.get("connection", "").lower() == "close"
        if will_close:
            self.close()
        return status, _Response(status, parsed, will_close), data

    def post(self, path, body, headers):
        """POST with one retry on a fresh connection if the kept-alive one failed."""
        last = None
        for _ in range(2):
            try:
                return self.request("POST", path, body=body, headers=headers)
            except (OSError, http.client.HTTPException) as e:
                last = e
        raise last


# ---------------------------------------------------------------------------
# Context object
# ---------------------------------------------------------------------------


class Client:
    def __init__(self, client):
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")

    def __repr__(self):
        return "Client(%r)" % vars(self)


class ClientContext:
    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None

    def __repr__(self):
        return "ClientContext(custom=%r, env=%r, client=%r)" % (self.custom, self.env, self.client)


class CognitoIdentity:
    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity(%r, %r)" % (self.cognito_identity_id, self.cognito_identity_pool_id)


class LambdaContext:
    def __init__(self, request_id, function_arn, deadline_ms, client_context, identity, tenant_id, trace_id):
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = tenant_id
        self.xray_trace_id = trace_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        if self._deadline_ms is None:
            return 0
        return max(self._deadline_ms - int(round(time.time() * 1000)), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%r,"
            "identity=%r,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


class FaultException(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.msg = message
        self.trace = trace or []


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except ValueError as e:
        raise FaultException(
            "Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e)
        )


def build_context(headers, request_id):
    deadline = headers.get("Lambda-Runtime-Deadline-Ms")
    try:
        deadline_ms = int(deadline) if deadline else None
    except ValueError:
        deadline_ms = None
    client_context = None
    raw = headers.get("Lambda-Runtime-Client-Context")
    if raw:
        data = _parse_json_header(raw, "Client Context")
        client_context = ClientContext(data) if isinstance(data, dict) else data
    identity = None
    raw = headers.get("Lambda-Runtime-Cognito-Identity")
    if raw:
        data = _parse_json_header(raw, "Cognito Identity")
        identity = CognitoIdentity(data) if isinstance(data, dict) else data
    return LambdaContext(
        request_id,
        headers.get("Lambda-Runtime-Invoked-Function-Arn"),
        deadline_ms,
        client_context,
        identity,
        headers.get("Lambda-Runtime-Aws-Tenant-Id"),
        headers.get("Lambda-Runtime-Trace-Id"),
    )


# ---------------------------------------------------------------------------
# Handler loading and invocation
# ---------------------------------------------------------------------------


def load_handler(handler_string):
    try:
        modname, fname = handler_string.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            "Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler_string, e)
        )
    if not modname or not fname:
        raise FaultException("Runtime.MalformedHandlerName", "Bad handler '%s'" % handler_string)
    modname = modname.replace("/", ".")
    if modname.split(".")[0] in sys.builtin_module_names:
        raise FaultException(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % modname,
        )
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise FaultException(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace
        )
    try:
        handler = getattr(module, fname)
    except AttributeError:
        raise FaultException(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname)
        )
    if not callable(handler):
        raise FaultException(
            "Runtime.HandlerNotFound", "Handler '%s' on module '%s' is not callable" % (fname, modname)
        )
    return handler


def _user_traceback(tb):
    frames = traceback.extract_tb(tb)
    this_file = os.path.abspath(__file__)
    i = 0
    while i < len(frames) and os.path.abspath(frames[i].filename) == this_file:
        i += 1
    return traceback.format_list(frames[i:])


def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def error_from_exception(exc, request_id=None):
    if isinstance(exc, FaultException):
        return make_error(exc.msg, exc.error_type, exc.trace, request_id)
    return make_error(str(exc), type(exc).__name__, _user_traceback(exc.__traceback__), request_id)


def log_error_result(error):
    runtime_log(
        "ERROR",
        "%s: %s" % (error["errorType"], error["errorMessage"]),
        errorType=error["errorType"],
        errorMessage=error["errorMessage"],
        stackTrace=error["stackTrace"],
    )


def decode_event(body):
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def encode_result(result):
    """Returns (body bytes, content type). bytes pass through; anything else is JSON."""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), "application/octet-stream"
    try:
        return (
            json.dumps(result, ensure_ascii=False, default=_marshal_default).encode("utf-8"),
            "application/json",
        )
    except (TypeError, ValueError, RecursionError) as e:
        raise FaultException("Runtime.MarshalError", "Unable to marshal response: %s" % e)


def _marshal_default(obj):
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def post_error(client, path, error):
    body = json.dumps(error, ensure_ascii=False, default=str).encode("utf-8")
    headers = {
        "Content-Type": "application/vnd.aws.lambda.error+json",
        ERROR_TYPE_HEADER: _header_safe(error["errorType"]),
    }
    return client.post(path, body, headers)


def _header_safe(value):
    value = "".join(ch for ch in str(value) if 0x20 <= ord(ch) < 0x7F)
    return value or "Unhandled"


def report_init_error(client, exc):
    error = error_from_exception(exc)
    error.pop("requestId", None)
    log_error_result(error)
    try:
        status, _, data = post_error(client, "/init/error", error)
        if status == 403:
            pass  # another worker already reported the init error
        elif status >= 300:
            runtime_log("WARN", "init/error answered %d: %s" % (status, data[:200].decode("utf-8", "replace")))
    except (OSError, http.client.HTTPException) as e:
        runtime_log("ERROR", "could not post init error: %s" % e)


def next_invocation(client):
    """GET /next with retries; returns (headers, body) or exits the worker."""
    failures = 0
    while True:
        try:
            status, resp, body = client.request("GET", "/invocation/next")
        except (OSError, http.client.HTTPException) as e:
            failures += 1
            if failures >= MAX_NEXT_FAILURES:
                runtime_log("ERROR", "giving up on the Runtime API after %d failures: %s" % (failures, e))
                worker_exit(1)
            time.sleep(min(0.1 * (2 ** (failures - 1)), 1.0))
            continue
        if status == 200:
            return resp.headers, body
        if status >= 500:
            runtime_log("ERROR", "/next answered %d; exiting: %s" % (status, body[:200].decode("utf-8", "replace")))
            worker_exit(1)
        failures += 1
        runtime_log("WARN", "/next answered %d: %s" % (status, body[:200].decode("utf-8", "replace")))
        if failures >= MAX_NEXT_FAILURES:
            worker_exit(1)
        time.sleep(min(0.1 * (2 ** (failures - 1)), 1.0))


def handle_invocation(client, handler, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    if not request_id:
        runtime_log("ERROR", "/next response without Lambda-Runtime-Aws-Request-Id")
        return
    _InvokeState.request_id = request_id
    _InvokeState.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
        _InvokeState.trace_set = True
    elif _InvokeState.trace_set:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
        _InvokeState.trace_set = False
    path = "/invocation/%s" % request_id
    try:
        try:
            context = build_context(headers, request_id)
            event = decode_event(body)
            result = handler(event, context)
            payload, content_type = encode_result(result)
        except Exception as e:
            error = error_from_exception(e, request_id)
            log_error_result(error)
            _flush_std()
            status, _, data = post_error(client, path + "/error", error)
        else:
            _flush_std()
            status, _, data = client.post(path + "/response", payload, {"Content-Type": content_type})
        if status >= 300:
            runtime_log("WARN", "Runtime API answered %d for %s: %s" % (status, request_id, data[:200].decode("utf-8", "replace")))
    except (OSError, http.client.HTTPException) as e:
        runtime_log("ERROR", "could not post the result of %s: %s" % (request_id, e))
    finally:
        _flush_std()
        _InvokeState.request_id = None
        _InvokeState.tenant_id = None


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def worker_exit(code):
    _flush_std()
    os._exit(code)


def worker_main(master_pid, lock_fd):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    _set_parent_death_signal(master_pid)
    if lock_fd is not None:
        try:
            _SINK.set_flock_fd(os.open("/proc/self/fd/%d" % lock_fd, os.O_RDWR | os.O_CLOEXEC))
        except OSError:
            pass
        try:
            os.close(lock_fd)
        except OSError:
            pass
    setup_worker_logging()
    code = 0
    try:
        client = RuntimeAPIClient(os.environ.get("AWS_LAMBDA_RUNTIME_API", ""))
        try:
            handler = load_handler(os.environ.get("_HANDLER", ""))
        except Exception as e:
            report_init_error(client, e)
            worker_exit(1)
        while True:
            headers, body = next_invocation(client)
            handle_invocation(client, handler, headers, body)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    worker_exit(code)


def _set_parent_death_signal(master_pid):
    ok = False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except Exception:
        ok = False
    if os.getppid() != master_pid:
        os._exit(1)  # the master died before the death signal was armed
    if not ok:

        def watch():
            while True:
                time.sleep(1.0)
                if os.getppid() != master_pid:
                    os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# ---------------------------------------------------------------------------
# Master
# ---------------------------------------------------------------------------


def _max_concurrency():
    try:
        n = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
    except ValueError:
        n = 1
    return max(n, 1)


def _exit_code(status):
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != script_dir]
    sys.path.insert(0, task_root)

    n = _max_concurrency()
    master_pid = os.getpid()
    lock_fd = None
    try:
        lock_file = tempfile.TemporaryFile(prefix="hearth-log-")
        lock_fd = os.dup(lock_file.fileno())
        lock_file.close()
    except OSError:
        lock_fd = None

    children = set()
    stopping = []

    def forward(signum, _frame):
        stopping.append(signum)
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)

    _flush_std()
    for _ in range(n):
        if stopping:
            break
        pid = os.fork()
        if pid == 0:
            children.clear()
            worker_main(master_pid, lock_fd)
            os._exit(1)  # not reached
        children.add(pid)

    last_nonzero = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        children.discard(pid)
        code = _exit_code(status)
        if code != 0:
            last_nonzero = code
            emit_log(
                "ERROR",
                "worker %d exited with code %d (%d of %d workers left)" % (pid, code, len(children), n),
                fd=2,
            )
    emit_log("ERROR" if last_nonzero else "INFO", "all workers exited", fd=2 if last_nonzero else 1)
    os._exit(last_nonzero)


if __name__ == "__main__":
    main()
