"""One SQS message, one receiver: moto's ReceiveMessage made atomic.

moto checks that a message is visible and marks it received without holding a lock, so two
concurrent ReceiveMessage calls (the event source mapping's pollers) can both take the same
message, and both try to move an exhausted one to the dead-letter queue (one of them then
fails with a 500). SQS claims a message for one receiver per visibility timeout. Here each
claim runs under a lock as a short poll; long polling waits outside the lock, so receivers
do not queue behind each other's waits.
"""

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.sqs.models import SQSBackend

_CLAIM_LOCK = threading.Lock()
# Between two claims of a long poll that found nothing: a wake-up from moto's queue, or this.
_MAX_WAIT_SECONDS = 1.0
_PATCHED = "_orders_local_atomic"


def make_receives_atomic() -> None:
    """Patch moto's SQS backend in this process, once."""
    original = SQSBackend.receive_message
    if getattr(original, _PATCHED, False):
        return
    patched = _atomic(original)
    setattr(patched, _PATCHED, True)
    SQSBackend.receive_message = patched  # type: ignore[method-assign]


def _atomic(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
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
            with _CLAIM_LOCK:
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
