"""moto made as atomic as the AWS promises the pipeline relies on.

moto's server answers requests on many threads, but its backends check and then change
state without a lock. Two promises break under concurrent requests:

- SQS hides a received message from every other receiver for its visibility timeout. moto
  checks that a message is visible, then marks it received, so two pollers can take the
  same message, and both try to move an exhausted one to the dead-letter queue (one then
  fails with "list.remove(x): x not in list").
- DynamoDB applies a conditional write atomically. moto evaluates the condition, then
  writes, so two `status = pending` updates of one order can both succeed.

Here each SQS claim runs under a lock as a short poll, with long polls waiting outside it so
receivers do not queue behind each other's waits, and DynamoDB's writes run one at a time.
"""

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.models import SQSBackend

_SQS_CLAIM = threading.Lock()
# Re-entrant: a transaction or batch write may call the single-item writes.
_DYNAMODB_WRITE = threading.RLock()
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
# Between two claims of a long poll that found nothing: a wake-up from moto's queue, or this.
_MAX_WAIT_SECONDS = 1.0
_PATCHED = "_samlocal_atomic"


def make_moto_atomic() -> None:
    """Patch moto's SQS and DynamoDB backends in this process, once."""
    _patch(SQSBackend, "receive_message", _atomic_receive)
    for name in _DYNAMODB_WRITES:
        _patch(DynamoDBBackend, name, _serialised)


def _patch(backend: type, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(backend, name)
    if getattr(original, _PATCHED, False):
        return
    patched = wrap(original)
    setattr(patched, _PATCHED, True)
    setattr(backend, name, patched)


def _serialised(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_WRITE:
            return original(*args, **kwargs)

    return write


def _atomic_receive(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    @functools.wraps(original)
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            with _SQS_CLAIM:
                messages = original(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            waited_from = time.monotonic()
            self.get_queue(queue_name).wait_for_messages(min(_MAX_WAIT_SECONDS, remaining))  # type: ignore[arg-type]
            if time.monotonic() - waited_from < 0.001:
                # Visible messages none could claim wake the wait at once: do not spin on them.
                time.sleep(0.01)

    return receive_message
