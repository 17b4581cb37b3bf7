"""The current invocation's deadline, and the guard that keeps every call inside it.

One AWS call fits the function's timeout by construction (settings.worst_case_call_seconds);
an invocation that makes several calls must still answer before Lambda stops it. Each handler
is wrapped in `within_time_budget`, which takes the deadline from the Lambda context, and every
AWS client of the service carries `refuse_late_attempts`: an attempt that could not finish
(connect and read timeout) before the deadline, less a reserve to answer in, is not started.
The call fails at once with DeadlineExceededError, which the API answers with 503 and a
Retry-After, and a batch handler reports as the record's failure, to be retried.

A Lambda environment runs one invocation at a time, so the deadline is a module global (the
database's watchdog thread reads it too). Outside an invocation there is no deadline and
nothing is refused.
"""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError

# Kept free at the end of an invocation to build and return the answer, log and flush metrics.
RESERVE_SECONDS = 1.0

_deadline: float | None = None


class DeadlineExceededError(BotoCoreError):
    """Not started: the call could not finish before the invocation's deadline.

    A BotoCoreError, so it is handled as any other failed AWS call: the API answers 503 with
    Retry-After, and a batch handler retries the record."""

    fmt = "{operation} not attempted: it needs up to {needed:.1f} s and {left:.1f} s are left of the invocation"


class _Context(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def start(context: _Context) -> None:
    """Take the invocation's deadline from its Lambda context."""
    global _deadline
    _deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000


def end() -> None:
    global _deadline
    _deadline = None


def seconds_left() -> float | None:
    """What is left of the invocation, less the reserve to answer in; None outside an invocation."""
    deadline = _deadline
    return None if deadline is None else deadline - time.monotonic() - RESERVE_SECONDS


def ensure_time_for(operation: str, needed: float) -> None:
    """Raise DeadlineExceededError unless `needed` seconds are left of the invocation."""
    left = seconds_left()
    if left is not None and left < needed:
        raise DeadlineExceededError(operation=operation, needed=needed, left=max(left, 0.0))


HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def within_time_budget(handler: HandlerT) -> HandlerT:
    """Run the Lambda handler with its invocation's deadline known to every call it makes."""

    @wraps(handler)
    def run(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        start(context)
        try:
            return handler(event, context, *args, **kwargs)
        finally:
            end()

    return run  # type: ignore[return-value]


def refuse_late_attempts(client: BaseClient, *, attempt_seconds: float) -> None:
    """Register the deadline guard on `client`, whose attempts take up to `attempt_seconds`
    (its connect and read timeouts): it runs before each attempt, retries included."""

    def before_send(event_name: str = "", **_: Any) -> None:
        # event_name: before-send.<service>.<Operation>
        ensure_time_for(event_name.removeprefix("before-send.") or "the call", attempt_seconds)

    client.meta.events.register("before-send", before_send)
