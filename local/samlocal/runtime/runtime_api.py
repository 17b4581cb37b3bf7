"""A local implementation of the Lambda Runtime API, one server per worker process.

The worker's runtime client (awslambdaric, as in AWS's Python base images) long-polls
`GET /2018-06-01/runtime/invocation/next` and answers each invocation on
`.../invocation/{id}/response` or `.../invocation/{id}/error`; a failed init is reported on
`/2018-06-01/runtime/init/error`.

It is HTTP on a loopback port, so it refuses what every local server refuses (loopback.py): a
web page could otherwise take an invocation's event (an order, an address) or answer it.
"""

import contextlib
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from samlocal.loopback import LoopbackOnlyHandler

_PREFIX = "/2018-06-01/runtime"


@dataclass
class PendingInvocation:
    request_id: str
    event: bytes
    timeout_seconds: float
    function_arn: str
    trace_id: str
    # Set when the runtime takes the invocation: the function's timeout runs from there, as
    # on Lambda, where a cold start's init phase has its own limit.
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: dict[str, Any] | None = None


_STOP = object()


class RuntimeApi:
    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._in_flight: dict[str, PendingInvocation] = {}
        self._lock = threading.Lock()
        self.init_error: dict[str, Any] | None = None
        self.init_failed = threading.Event()
        api = self

        class Handler(LoopbackOnlyHandler):
            protocol_version = "HTTP/1.1"
            server_label = "Lambda Runtime API"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """The runtime protocol is not worth a log line per call."""

            def do_GET(self) -> None:
                if self.path != f"{_PREFIX}/invocation/next":
                    self._answer(404, {"errorMessage": "unknown path"})
                    return
                pending = api._queue.get()
                if pending is _STOP:
                    self._answer(410, {"errorMessage": "runtime is shutting down"})
                    return
                assert isinstance(pending, PendingInvocation)
                pending.deadline_ms = int((time.time() + pending.timeout_seconds) * 1000)
                self.send_response(200)
                # The native client crashes on a /next answer without a Content-Type.
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", pending.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(pending.deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", pending.function_arn)
                self.send_header("Lambda-Runtime-Trace-Id", pending.trace_id)
                self.send_header("Content-Length", str(len(pending.event)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(pending.event)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.removeprefix(_PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = _json_or_text(body)
                    api.init_failed.set()
                    self._answer(202, {"status": "OK"})
                    return
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in {"response", "error"}:
                    with api._lock:
                        pending = api._in_flight.pop(parts[1], None)
                    if pending is None:
                        self._answer(400, {"errorMessage": f"unknown or finished request {parts[1]}"})
                        return
                    if parts[2] == "response":
                        pending.result = _json_or_text(body)
                    else:
                        pending.error = _json_or_text(body) or {
                            "errorType": self.headers.get("Lambda-Runtime-Function-Error-Type", "Unknown")
                        }
                    pending.done.set()
                    self._answer(202, {"status": "OK"})
                    return
                self._answer(404, {"errorMessage": "unknown path"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the worker may be gone: killed at its timeout
                    self.wfile.write(payload)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_port}"

    def submit(self, pending: PendingInvocation) -> None:
        with self._lock:
            self._in_flight[pending.request_id] = pending
        self._queue.put(pending)

    def abandon(self, request_id: str) -> None:
        with self._lock:
            self._in_flight.pop(request_id, None)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A worker killed mid-call leaves a broken connection: expected, not worth a traceback."""


def _json_or_text(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"errorType": "Runtime.InvalidResponse", "errorMessage": body.decode(errors="replace")[:1000]}


def trace_header(request_id: str) -> str:
    """An X-Ray trace header as Lambda passes it: a new root, sampled."""
    epoch = f"{int(time.time()):08x}"
    return f"Root=1-{epoch}-{request_id.replace('-', '')[:24]};Parent={request_id.replace('-', '')[-16:]};Sampled=1"
