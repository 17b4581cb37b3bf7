"""What every runner reports about one invocation, and per-function counters."""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from samlocal.template import FunctionSpec


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    ok: bool
    payload: Any
    error: Mapping[str, Any] | None
    cold: bool
    duration_ms: float
    timed_out: bool = False
    worker_pid: int | None = None

    @property
    def error_message(self) -> str:
        if self.error is None:
            return ""
        return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"


@dataclass
class FunctionStats:
    cold_starts: int = 0
    warm_invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    durations_ms: list[float] = field(default_factory=list)
    # What each timed-out invocation was given, so a test can tell an injected hang from a bug.
    timed_out_events: list[Mapping[str, Any]] = field(default_factory=list)

    def record(self, invocation: Invocation, event: Mapping[str, Any]) -> None:
        if invocation.cold:
            self.cold_starts += 1
        else:
            self.warm_invocations += 1
        if not invocation.ok:
            self.errors += 1
        if invocation.timed_out:
            self.timeouts += 1
            self.timed_out_events.append(event)
        self.durations_ms.append(invocation.duration_ms)


class Runner(Protocol):
    """Runs the stack's functions. Thread-safe: event sources call it concurrently."""

    def invoke(self, function: FunctionSpec, event: Mapping[str, Any]) -> Invocation: ...

    def stats(self) -> Mapping[str, FunctionStats]: ...

    def close(self) -> None: ...


class LambdaContext:
    """The context object a handler receives, as the Python runtime builds it."""

    def __init__(self, function: FunctionSpec, request_id: str, deadline: float) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/[$LATEST]{request_id[:8]}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def new_request_id() -> str:
    return str(uuid.uuid4())
