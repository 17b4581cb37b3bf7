"""Lambda's asynchronous invocation: retries with backoff, then the on-failure destination.

Rules followed (see docs/local-stack.md for the AWS page): up to MaximumRetryAttempts
retries (default 2), one minute before the second attempt and two minutes before the third;
no retry once the event is older than MaximumEventAgeInSeconds; then the event and the last
error go to the on-failure destination.
"""

import time
from typing import Any

from samlocal.runtime.invocation import Runner
from samlocal.sources.destinations import async_failure_record
from samlocal.sources.pacing import Pacing
from samlocal.template import FunctionSpec

_RETRY_DELAYS_SECONDS = (60, 120)


class AsyncInvoker:
    def __init__(
        self, runner: Runner, function: FunctionSpec, *, sqs: Any, destination_url: str | None, pacing: Pacing
    ) -> None:
        self.function = function
        self._runner = runner
        self._sqs = sqs
        self._destination_url = destination_url
        self._pacing = pacing
        self.retries = 0

    def invoke(self, event: Any) -> bool:
        """Run the event to its end: True once handled, False if it went to the destination
        or the stack stopped first."""
        received = time.time()
        attempts = 0
        config = self.function.async_config
        while True:
            invocation = self._runner.invoke(self.function, event)
            attempts += 1
            if invocation.ok:
                return True
            if time.time() - received > config.maximum_event_age_seconds:
                self._fail(event, invocation, "EventAgeExceeded", attempts)
                return False
            if attempts > config.maximum_retry_attempts:
                self._fail(event, invocation, "RetriesExhausted", attempts)
                return False
            self.retries += 1
            if self._pacing.wait(_RETRY_DELAYS_SECONDS[min(attempts, len(_RETRY_DELAYS_SECONDS)) - 1]):
                return False

    def _fail(self, event: Any, invocation: Any, condition: str, attempts: int) -> None:
        if self._destination_url is not None:
            body = async_failure_record(self.function, event, invocation, condition=condition, attempts=attempts)
            self._sqs.send_message(QueueUrl=self._destination_url, MessageBody=body)
