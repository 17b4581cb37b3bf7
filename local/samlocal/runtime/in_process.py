"""Runs handlers inside this process: for tests and benchmarks, not for fidelity.

The runner imports a fresh copy of the service's modules under the functions' environment
(so two stacks in one process stay apart) and calls the handlers directly. Handlers keep
per-invocation state at module level (Powertools metrics and logger keys), so invocations
are serialised. Timeouts are not enforced (a thread cannot be killed): the worker runner
does that. What a handler prints during its invocation (EMF metrics) goes to the log book
under the function's name, as a worker's stdout does.
"""

import contextlib
import importlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

from samlocal.logs import LineWriter, LogBook, function_of
from samlocal.runtime.invocation import FunctionStats, Invocation, LambdaContext, new_request_id
from samlocal.template import FunctionSpec

Handler = Callable[[Mapping[str, Any], Any], Any]


def _error_details(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


class StdoutRouter:
    """sys.stdout while any in-process invocation runs: each thread's writes go to the stream its
    invocation set, other threads' to the stdout it replaced.

    contextlib.redirect_stdout swaps the process-wide sys.stdout: two invocations overlapping in
    two threads (two stacks in one process, each with its own lock) restore it in the wrong order,
    and one handler's metrics reach the real stdout."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._active = 0
        self._replaced: TextIO = sys.stdout

    def write(self, text: str) -> int:
        target: TextIO = getattr(self._local, "stream", None) or self._replaced
        return target.write(text)

    def flush(self) -> None:
        target: TextIO = getattr(self._local, "stream", None) or self._replaced
        target.flush()

    def __getattr__(self, name: str) -> Any:
        # Whatever else a caller asks of sys.stdout (isatty, encoding, fileno: pytest's terminal
        # reporter, a Rich console) is the answer of the stream this thread writes to.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(getattr(self._local, "stream", None) or self._replaced, name)

    @contextlib.contextmanager
    def routing(self, stream: TextIO) -> Iterator[None]:
        with self._lock:
            if self._active == 0 or sys.stdout is not self:
                self._replaced = sys.stdout
                sys.stdout = self
            self._active += 1
        self._local.stream = stream
        try:
            yield
        finally:
            self._local.stream = None
            with self._lock:
                self._active -= 1
                if self._active == 0 and sys.stdout is self:
                    sys.stdout = self._replaced


_STDOUT = StdoutRouter()


def handler_packages(functions: list[FunctionSpec]) -> set[str]:
    """The top-level packages the template's handlers live in: the functions' own code."""
    return {function.handler.split(".", 1)[0] for function in functions}


def _forget_modules(packages: set[str]) -> None:
    """So each stack imports its functions afresh, as each Lambda environment does."""
    for name in [name for name in sys.modules if name.split(".", 1)[0] in packages]:
        del sys.modules[name]


class InProcessRunner:
    def __init__(
        self, functions: list[FunctionSpec], base_environment: Mapping[str, str], logs: LogBook | None = None
    ) -> None:
        environment = dict(base_environment)
        for function in functions:
            for name, value in function.environment.items():
                if environment.setdefault(name, value) != value:
                    raise ValueError(
                        f"{function.logical_id} sets {name} differently from another function; "
                        "in-process runs share one environment: use the worker runner"
                    )
        # X-Ray needs the Lambda runtime's trace context, which a direct call does not have.
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
        # Restored at close, so a stack started later in this process does not inherit them.
        self._replaced = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        self._lock = threading.Lock()
        self._stats = {function.logical_id: FunctionStats() for function in functions}
        self._handlers: dict[str, Handler] = {}
        self._init_errors: dict[str, dict[str, Any]] = {}
        packages = handler_packages(functions)
        _forget_modules(packages)
        for function in functions:
            try:
                module_name, _, attribute = function.handler.rpartition(".")
                self._handlers[function.logical_id] = getattr(importlib.import_module(module_name), attribute)
            except Exception as error:  # reported on every invocation, as Lambda reports an init error
                self._init_errors[function.logical_id] = _error_details(error)
        book = logs if logs is not None else LogBook()
        service = environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        self._redirected = _redirect_log_handlers(LineWriter(book, function_of).as_stream(), service, packages)
        self._stdouts = {f.logical_id: LineWriter(book, _named(f.logical_id)).as_stream() for f in functions}

    def invoke(self, function: FunctionSpec, event: Mapping[str, Any]) -> Invocation:
        with self._lock:
            stats = self._stats[function.logical_id]
            cold = stats.cold_starts == 0
            request_id = new_request_id()
            started = time.perf_counter()
            init_error = self._init_errors.get(function.logical_id)
            if init_error is not None:
                invocation = Invocation(function.logical_id, request_id, False, None, init_error, cold, 0.0)
            else:
                context = LambdaContext(function, request_id, time.time() + function.timeout_seconds)
                try:
                    with _STDOUT.routing(self._stdouts[function.logical_id]):
                        payload = self._handlers[function.logical_id](event, context)
                    invocation = Invocation(function.logical_id, request_id, True, payload, None, cold, _ms(started))
                except Exception as error:  # a handler's failure is the invocation's result
                    invocation = Invocation(
                        function.logical_id, request_id, False, None, _error_details(error), cold, _ms(started)
                    )
            stats.record(invocation, event)
            return invocation

    def stats(self) -> Mapping[str, FunctionStats]:
        return self._stats

    def close(self) -> None:
        """Give the process its environment and log streams back; the handlers live and die with
        this process."""
        for handler, stream in self._redirected:
            handler.setStream(stream)
        for name, value in self._replaced.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _redirect_log_handlers(
    stream: TextIO, service: str, packages: set[str]
) -> list[tuple[logging.StreamHandler[TextIO], TextIO]]:
    """Point the functions' stdout log handlers (Powertools Logger's, named after the service)
    at the log book, and no one else's; return each handler with the stream it had, to be given
    back at close."""
    redirected = []
    for name in list(logging.root.manager.loggerDict):
        if name != service and not name.startswith((f"{service}.", *packages)):
            continue
        for handler in logging.getLogger(name).handlers:
            # Exactly StreamHandler: a test runner's capture handlers are subclasses.
            if type(handler) is logging.StreamHandler:
                redirected.append((handler, handler.setStream(stream) or stream))
    return redirected


def _named(function: str) -> Callable[[str], str]:
    return lambda _line: function


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
