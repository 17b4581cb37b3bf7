"""Runs a function's worker under debugpy, for a debugger client to attach (`samlocal up --debug`).

A debugged function gets one worker (concurrency 1), so its breakpoints are set in the process
that serves every invocation. The worker is started with the stack and runs
`samlocal.runtime.debuggee`: debugpy, then the same runtime client as any worker. Unless told
not to wait, the runtime client asks for its first invocation only once a client has attached
and sent its breakpoints, so no invocation runs before then.

How the runner knows that a client is attached: the port the client connects to belongs to the
runner, which relays each connection to the debug adapter of the function's current worker (on
a port of the system's choosing). While a relayed connection is open, a client is attached.
Asking the debuggee instead (`debugpy.is_client_connected()`, reported by a thread of its own)
would fail exactly when it matters: at a breakpoint debugpy suspends every thread of the
process, a reporting thread too. The relay also keeps the port stable when a worker is replaced
(killed at its timeout once the client left, or crashed): the new worker's adapter listens
elsewhere and the client attaches again to the same address.

While a client is attached, the function's timeout is suspended: the time it stays attached is
added to the invocation's deadline, so a paused breakpoint never gets the worker killed, and
once the client detaches the invocation has what was left of its time. The deadline the
function itself reads (`context.get_remaining_time_in_millis()`) is fixed when it starts; an
invocation started under a debugger is told of a deadline an hour later than its timeout, so
the service's own time budget does not refuse its AWS calls after a pause.
"""

import contextlib
import itertools
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samlocal.runtime.debuggee import PORT_FILE_VARIABLE, WAIT_VARIABLE
from samlocal.template import FunctionSpec

DEBUG_HOST = "127.0.0.1"
# debugpy's customary port; further functions take the next ones.
FIRST_PORT = 5678
# What an invocation's context is given beyond the function's timeout when a debugger holds the
# clock as it starts. The deadline a handler reads is fixed then and cannot stand still at a
# breakpoint: code that guards it (the service's time budget) would refuse every AWS call after a
# pause longer than the timeout. The runner still enforces the timeout itself once no debugger
# holds the clock.
DEBUG_DEADLINE_EXTENSION_SECONDS = 3600.0
# How long a client's connection waits for the worker's debug adapter to listen: a worker start
# and an adapter start, on a machine that may be busy.
UPSTREAM_PATIENCE_SECONDS = 60.0


@dataclass(frozen=True)
class DebugTarget:
    """A function to run under the debugger: its logical id, the port a client attaches to (0:
    one of the system's choosing), and whether a new worker waits for a client before it takes
    an invocation."""

    function: str
    port: int = 0
    wait: bool = True


class UnknownFunctionError(ValueError):
    def __init__(self, unknown: Sequence[str], known: Iterable[str]) -> None:
        names = ", ".join(repr(name) for name in unknown)
        super().__init__(f"No function {names} in the template to debug. Functions: {', '.join(known)}")


def parse_debug_targets(values: Sequence[str], *, wait: bool = True) -> list[DebugTarget]:
    """`FUNCTION` or `FUNCTION:PORT` each; a function without a port gets the next of 5678,
    5679, ... that no other is given."""
    named: list[tuple[str, int | None]] = []
    for value in values:
        function, separator, port_text = value.partition(":")
        if not function or (separator and not port_text.isdigit()) or int(port_text or 0) > 65535:
            raise ValueError(f"expected FUNCTION or FUNCTION:PORT (a port up to 65535), got {value!r}")
        named.append((function, int(port_text) if separator else None))
    functions = [function for function, _ in named]
    repeated = sorted({function for function in functions if functions.count(function) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} given more than once")
    given = [port for _, port in named if port]
    if len(given) != len(set(given)):
        raise ValueError("two functions cannot share a debug port")
    free = (port for port in itertools.count(FIRST_PORT) if port not in given)
    return [DebugTarget(function, next(free) if port is None else port, wait) for function, port in named]


def launch_configuration(function: FunctionSpec, port: int) -> dict[str, Any]:
    """The VS Code launch.json entry that attaches to the function's worker."""
    source = str(function.code_path)
    return {
        "name": f"Attach to {function.logical_id} (samlocal up)",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": DEBUG_HOST, "port": port},
        # The worker runs the files where they are: the local folder is the remote one.
        "pathMappings": [{"localRoot": source, "remoteRoot": source}],
        "justMyCode": False,
    }


@dataclass
class _Launch:
    """One worker process of the debugged function, as the relay sees it."""

    port_file: Path
    alive: Callable[[], bool]
    met_client: bool = False

    def adapter_port(self) -> int | None:
        try:
            return int(self.port_file.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return None


class Debugger:
    """One function under the debugger: the relay on its port, and the worker behind it."""

    def __init__(self, target: DebugTarget, function: FunctionSpec) -> None:
        self.target = target
        self.function = function
        self._listener = socket.create_server((DEBUG_HOST, target.port))
        # accept() wakes up now and then to notice close(), which does not wake it everywhere.
        self._listener.settimeout(0.5)
        self.port: int = self._listener.getsockname()[1]
        self._folder = Path(tempfile.mkdtemp(prefix=f"samlocal-debug-{function.logical_id}-"))
        self._numbers = itertools.count(1)
        self._next_port_file = self._folder / "worker-0.port"
        self._current: _Launch | None = None
        self._attached = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._start_worker: Callable[[], None] = lambda: None
        self._log: Callable[[str], None] = lambda _: None

    @property
    def attached(self) -> bool:
        with self._lock:
            return self._attached > 0

    def serve(self, start_worker: Callable[[], None], log: Callable[[str], None]) -> None:
        """Relay clients from now on. `start_worker` puts a worker in the function's pool: one
        now, for a client to attach to before the first invocation, and another whenever a
        client comes while none is alive (the last one was killed or crashed)."""
        self._start_worker, self._log = start_worker, log
        threading.Thread(target=self._accept, name=f"debug-{self.function.logical_id}", daemon=True).start()
        start_worker()
        waits = "its invocations wait for a debugger client" if self.target.wait else "it runs without waiting"
        log(f"Debugger listening on {DEBUG_HOST}:{self.port}; {waits}")

    def launch(self, python: str, handler: str) -> tuple[list[str], dict[str, str]]:
        """The command and extra environment of the function's next worker."""
        self._next_port_file = self._folder / f"worker-{next(self._numbers)}.port"
        # Frozen standard modules would make breakpoints set in them silently miss.
        command = [python, "-Xfrozen_modules=off", "-m", "samlocal.runtime.debuggee", handler]
        environment = {
            PORT_FILE_VARIABLE: str(self._next_port_file),
            WAIT_VARIABLE: "1" if self.target.wait else "0",
            # Its warning about frozen modules, which the option above answers.
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        return command, environment

    def started(self, alive: Callable[[], bool]) -> None:
        """The worker of the last `launch` is running: the relay forwards to it from now on."""
        with self._lock:
            self._current = _Launch(self._next_port_file, alive)

    def holds_clock(self) -> bool:
        """Whether an invocation's time stands still: a client is attached, or the worker still
        waits for its first client before taking the invocation."""
        with self._lock:
            if self._attached:
                return True
            current = self._current
            return self.target.wait and current is not None and not current.met_client

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        upstream = self._connect_upstream()
        if upstream is None:
            client.close()
            if not self._closed.is_set():
                self._log("A debugger client connected, but the worker's debugger could not be reached")
            return
        pair = (client, upstream)
        for end in pair:
            # DAP is small messages, each answered: Nagle's algorithm would hold every one back.
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._attached += 1
            self._sockets.update(pair)
        self._log("Debugger attached: the function's timeout is suspended while it stays attached")
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        with self._lock:
            self._attached -= 1
            self._sockets.difference_update(pair)
        for end in pair:
            end.close()
        if not self._closed.is_set():
            self._log("Debugger detached: the function's timeout applies again")

    def _connect_upstream(self) -> socket.socket | None:
        """A connection to the current worker's debug adapter, starting a worker if none is alive."""
        deadline = time.monotonic() + UPSTREAM_PATIENCE_SECONDS
        starts = 0
        while time.monotonic() < deadline and not self._closed.is_set():
            with self._lock:
                current = self._current
            if current is None or not current.alive():
                if starts == 2:  # a worker that dies as it starts is not worth a third try
                    return None
                starts += 1
                try:
                    self._start_worker()
                except RuntimeError:  # the stack is stopping
                    return None
                continue
            port = current.adapter_port()
            if port is not None:
                with contextlib.suppress(OSError):
                    upstream = socket.create_connection((DEBUG_HOST, port), timeout=10)
                    upstream.settimeout(None)
                    with self._lock:
                        current.met_client = True
                    return upstream
            self._closed.wait(0.05)
        return None

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            ends = list(self._sockets)
        for end in ends:
            _hang_up(end)
        shutil.rmtree(self._folder, ignore_errors=True)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction until either end closes; then end both, which ends the other direction."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    _hang_up(source)
    _hang_up(sink)


def _hang_up(end: socket.socket) -> None:
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)


def context_timeout(timeout_seconds: float, debugger: Debugger | None) -> float:
    """The timeout an invocation's context counts down from."""
    if debugger is not None and debugger.holds_clock():
        return timeout_seconds + DEBUG_DEADLINE_EXTENSION_SECONDS
    return timeout_seconds


class HeldClock:
    """How long a debugger held the clock in the current phase of one invocation, by which that
    phase's deadline moves back. The phases: until the runtime takes the invocation, under the
    init limit; from then on, under the function's timeout."""

    def __init__(self, debugger: Debugger | None) -> None:
        self._debugger = debugger
        self._phase: object = None
        self._held = 0.0
        self._last = time.monotonic()

    def seconds(self, phase: object) -> float:
        if self._debugger is None:
            return 0.0
        now = time.monotonic()
        if phase != self._phase:
            self._phase, self._held = phase, 0.0
        elif self._debugger.holds_clock():
            self._held += now - self._last
        self._last = now
        return self._held


def start_debuggers(targets: Sequence[DebugTarget], functions: Iterable[FunctionSpec]) -> dict[str, Debugger]:
    """A debugger per target, listening; refuses a function the template lacks, or a taken port."""
    by_id = {function.logical_id: function for function in functions}
    unknown = [target.function for target in targets if target.function not in by_id]
    if unknown:
        raise UnknownFunctionError(unknown, by_id)
    debuggers: dict[str, Debugger] = {}
    for target in targets:
        try:
            debuggers[target.function] = Debugger(target, by_id[target.function])
        except OSError as error:
            for debugger in debuggers.values():
                debugger.close()
            raise ValueError(
                f"Cannot listen for a debugger of {target.function} on {DEBUG_HOST}:{target.port} "
                f"({error.strerror}): choose another port with --debug {target.function}:PORT"
            ) from error
    return debuggers
