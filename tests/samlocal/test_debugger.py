"""`orders up --debug`: a function's worker under debugpy, and a debugger client attached over DAP."""

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from samlocal import cli
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack, StackOptions
from samlocal.runtime import workers
from samlocal.runtime.debugging import (
    Debugger,
    DebugTarget,
    launch_configuration,
    parse_debug_targets,
    start_debuggers,
)
from samlocal.runtime.workers import WorkerRunner

FIXTURES = Path(__file__).parent / "fixture_app"
ECHO_SOURCE = FIXTURES / "functions" / "echo.py"
ROOT = Path(__file__).resolve().parents[2]
# What API Gateway puts in every event, which the Echo function reads.
EMPTY_REQUEST: dict[str, Any] = {
    "pathParameters": None,
    "multiValueQueryStringParameters": None,
    "multiValueHeaders": {},
    "body": None,
    "isBase64Encoded": False,
}
# Waits for what a busy machine makes slow (a worker start, an adapter start), never for a result.
PATIENCE = 60.0


class DapClient:
    """A minimal Debug Adapter Protocol client: Content-Length framed JSON messages over TCP."""

    def __init__(self, port: int) -> None:
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self._buffer = b""
        self._numbers = itertools.count(1)
        self._unread: list[dict[str, Any]] = []
        self._detached = False

    def __enter__(self) -> "DapClient":
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if not self._detached:
            self.detach()

    def detach(self) -> None:
        """What an IDE's Disconnect does: the answer comes once debugpy has let the process go."""
        self._detached = True
        try:
            self.request("disconnect", {})
        finally:
            self._socket.close()

    def send(self, command: str, arguments: Mapping[str, Any] | None = None) -> int:
        seq = next(self._numbers)
        message = {"seq": seq, "type": "request", "command": command, "arguments": dict(arguments or {})}
        body = json.dumps(message).encode()
        self._socket.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return seq

    def request(self, command: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.response(self.send(command, arguments))

    def response(self, seq: int) -> dict[str, Any]:
        answer = self._next(lambda m: m["type"] == "response" and m["request_seq"] == seq, f"an answer to #{seq}")
        assert answer["success"], answer
        return answer

    def event(self, name: str) -> dict[str, Any]:
        return self._next(lambda m: m["type"] == "event" and m["event"] == name, f"a {name!r} event")

    def attach(self, configuration: Mapping[str, Any], breakpoints: Mapping[Path, Sequence[int]]) -> None:
        """What an IDE does: initialize, attach, set the breakpoints once initialized, then
        configurationDone, after which debugpy answers the attach request."""
        self.request("initialize", {"clientID": "tests", "adapterID": "debugpy", "pathFormat": "path"})
        attach = self.send("attach", configuration)
        self.event("initialized")
        for path, lines in breakpoints.items():
            answer = self.request(
                "setBreakpoints", {"source": {"path": str(path)}, "breakpoints": [{"line": line} for line in lines]}
            )
            assert [point["verified"] for point in answer["body"]["breakpoints"]] == [True] * len(lines)
        self.request("configurationDone")
        self.response(attach)

    def _next(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        for index, message in enumerate(self._unread):
            if wanted(message):
                return self._unread.pop(index)
        deadline = time.monotonic() + PATIENCE
        while True:
            message = self._read(deadline, what)
            if wanted(message):
                return message
            # The attach request is answered last: its failure must not pass for a slow start.
            assert message["type"] != "response" or message["success"], message
            self._unread.append(message)

    def _read(self, deadline: float, what: str) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._fill(deadline, what)
        header, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        length = int(header.split(b":")[1])
        while len(self._buffer) < length:
            self._fill(deadline, what)
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        message: dict[str, Any] = json.loads(body)
        return message

    def _fill(self, deadline: float, what: str) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {what} within {PATIENCE} s")
        self._socket.settimeout(remaining)
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError(f"the debug adapter hung up while the test waited for {what}")
        self._buffer += chunk


@pytest.fixture(scope="module")
def debugged_stack() -> Iterator[LocalStack]:
    """The fixture app with Echo (timeout 1 s) under the debugger, on a port of the system's choosing."""
    options = StackOptions(template=FIXTURES / "template.yaml", stack_name="debugged", debug=[DebugTarget("Echo")])
    with LocalStack(options) as stack:
        yield stack


def echo_debugger(stack: LocalStack) -> Debugger:
    assert isinstance(stack.runner, WorkerRunner)
    return stack.runner.debuggers["Echo"]


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_calls_paused_at_a_breakpoint_outlive_the_timeout_in_one_worker_and_complete_once_continued(
    debugged_stack: LocalStack,
) -> None:
    # Given a debugger attached to Echo, as the printed launch.json entry configures it, with a
    # breakpoint in its handler
    debugger = echo_debugger(debugged_stack)
    echo = debugged_stack.functions["Echo"]
    timeouts_before = debugged_stack.runner.stats()["Echo"].timeouts
    line = line_of(ECHO_SOURCE, 'if query.get("crash"):')
    with DapClient(debugger.port) as dap, ThreadPoolExecutor(max_workers=2) as calls:
        dap.attach(launch_configuration(echo, debugger.port), {ECHO_SOURCE: [line]})

        # When the API is called twice at once
        clients = [JsonClient(debugged_stack.api_url, timeout=PATIENCE * 2) for _ in range(2)]
        both = [calls.submit(client.request, "GET", "/pid") for client in clients]

        # Then one call stops at the breakpoint
        stopped = dap.event("stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        thread = stopped["body"]["threadId"]
        top = dap.request("stackTrace", {"threadId": thread, "levels": 1})["body"]["stackFrames"][0]
        assert (top["source"]["path"], top["line"]) == (str(ECHO_SOURCE), line)
        # and, paused past the function's timeout, neither call is done, the worker alive
        done, _ = wait_for_futures(both, timeout=echo.timeout_seconds * 2.5)
        assert not done

        # When the debugger continues, and again when the other call stops there in its turn
        dap.request("continue", {"threadId": thread})
        dap.request("continue", {"threadId": dap.event("stopped")["body"]["threadId"]})

        # Then both calls complete, served one after the other by the worker the debugger is in
        answers = [call.result(timeout=PATIENCE) for call in both]
    assert [answer.status for answer in answers] == [200, 200], [answer.body for answer in answers]
    assert answers[0].body["pid"] == answers[1].body["pid"]
    # with time left on the clock their handlers read, though they were paused past the timeout
    assert min(answer.body["remaining_ms"] for answer in answers) > echo.timeout_seconds * 1000
    assert debugged_stack.runner.stats()["Echo"].timeouts == timeouts_before


def test_a_debugged_functions_call_waits_for_a_debugger_and_runs_once_one_attaches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Echo under the debugger with no client yet, Picky too but not waiting for one, and
    # an init limit shorter than the wait below
    targets = [DebugTarget("Echo"), DebugTarget("Picky", wait=False)]
    options = StackOptions(template=FIXTURES / "template.yaml", stack_name="waiting", debug=targets)
    with LocalStack(options) as stack, ThreadPoolExecutor(max_workers=1) as calls:
        picky = stack.invoke("Picky", {"Records": []})
        monkeypatch.setattr(workers, "INIT_LIMIT_SECONDS", 0.5)
        echo = stack.functions["Echo"]

        # When Echo is called
        call = calls.submit(stack.invoke, "Echo", {"queryStringParameters": None, "path": "/pid"} | EMPTY_REQUEST)

        # Then the call waits past its init limit and timeout, its worker untouched
        done, _ = wait_for_futures([call], timeout=echo.timeout_seconds * 2.5)
        assert not done

        # When a debugger attaches, with a breakpoint in the handler
        debugger = echo_debugger(stack)
        line = line_of(ECHO_SOURCE, "query = event.get(")
        with DapClient(debugger.port) as dap:
            dap.attach(launch_configuration(echo, debugger.port), {ECHO_SOURCE: [line]})

            # Then the call runs, into the breakpoint, and completes once continued
            stopped = dap.event("stopped")
            dap.request("continue", {"threadId": stopped["body"]["threadId"]})
            invocation = call.result(timeout=PATIENCE)
    assert invocation.ok, invocation.error_message
    assert picky.ok, picky.error_message


def test_once_the_debugger_detaches_the_timeout_applies_again(debugged_stack: LocalStack) -> None:
    # Given a debugger that attached to Echo and left
    debugger = echo_debugger(debugged_stack)
    echo = debugged_stack.functions["Echo"]
    with DapClient(debugger.port) as dap:
        dap.attach(launch_configuration(echo, debugger.port), {})
        dap.detach()
    assert until(lambda: not debugger.attached)

    # When a call overruns the function's timeout
    invocation = debugged_stack.invoke("Echo", {"queryStringParameters": {"sleep": "30"}, "path": "/pid"})

    # Then the worker is stopped at the timeout, as without a debugger
    assert invocation.timed_out
    assert "Task timed out after 1.00 seconds" in invocation.error_message


def test_the_printed_launch_json_entry_attaches_to_the_functions_debug_port(debugged_stack: LocalStack) -> None:
    debugger = echo_debugger(debugged_stack)

    with cli.console.capture() as captured:
        cli.announce_debuggers(debugged_stack)

    printed = captured.get()
    assert f"Echo: attach a debugger to 127.0.0.1:{debugger.port}" in printed
    entry, _ = json.JSONDecoder().raw_decode(printed, printed.index("{"))
    source = str(debugged_stack.functions["Echo"].code_path)
    assert entry["type"] == "debugpy"
    assert entry["request"] == "attach"
    assert entry["connect"] == {"host": "127.0.0.1", "port": debugger.port}
    assert entry["pathMappings"] == [{"localRoot": source, "remoteRoot": source}]


def test_a_debug_port_in_use_is_refused_with_a_hint(debugged_stack: LocalStack) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        with pytest.raises(ValueError, match=f"127.0.0.1:{port} .*choose another port with --debug Echo:PORT"):
            start_debuggers([DebugTarget("Echo", port)], [debugged_stack.functions["Echo"]])


def test_debug_ports_default_to_5678_upward_around_the_ports_given() -> None:
    targets = parse_debug_targets(["ApiFunction", "ProcessOrderFunction:5679", "SendNotificationFunction"])

    assert [(target.function, target.port) for target in targets] == [
        ("ApiFunction", 5678),
        ("ProcessOrderFunction", 5679),
        ("SendNotificationFunction", 5680),
    ]


@pytest.mark.parametrize("value", ["Api:port", "Api:70000", ":5678"])
def test_a_malformed_debug_target_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="FUNCTION:PORT"):
        parse_debug_targets([value])


def test_up_refuses_to_debug_a_function_the_template_lacks_and_names_those_it_has(tmp_path: Path) -> None:
    command = ["up", "--template", str(FIXTURES / "template.yaml"), "--port", "0", "--debug", "Nope"]

    done = subprocess.run(
        [sys.executable, "-m", "samlocal", *command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "SAMLOCAL_STATE": str(tmp_path / "stack.json")},
        check=False,
    )

    assert done.returncode == 2
    assert "No function 'Nope' in the template to debug" in done.stderr
    assert "Echo, SleeperOnQueue, SleeperOnBus, SlowInit, Broken, Picky" in done.stderr
