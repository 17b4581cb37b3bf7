"""EventBridge rules with Lambda targets, invoked asynchronously.

moto matches events against the rule's pattern and delivers them to an internal queue
(it cannot invoke Lambda). From there each event is invoked asynchronously, with Lambda's
retries and on-failure destination (`async_invoke.py`).
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from samlocal.runtime.invocation import Runner
from samlocal.sources.async_invoke import AsyncInvoker
from samlocal.sources.pacing import Pacing
from samlocal.template import ACCOUNT_ID, FunctionSpec


class RuleInvoker:
    def __init__(
        self,
        runner: Runner,
        function: FunctionSpec,
        *,
        queue_url: str,
        sqs: Any,
        destination_url: str | None,
        pacing: Pacing,
        concurrency: int = 4,
    ) -> None:
        self.function = function
        self.queue_url = queue_url
        self._runner = runner
        self._sqs = sqs
        self._destination_url = destination_url
        self._pacing = pacing
        self._in_flight = 0
        self._lock = threading.Lock()
        self._async = AsyncInvoker(runner, function, sqs=sqs, destination_url=destination_url, pacing=pacing)
        limit = function.reserved_concurrency or concurrency
        self._pool = ThreadPoolExecutor(
            max_workers=min(limit, concurrency), thread_name_prefix=f"async-{function.logical_id}"
        )
        self._thread = threading.Thread(target=self._poll, name=f"rule-{function.logical_id}", daemon=True)

    @property
    def retries(self) -> int:
        return self._async.retries

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._in_flight > 0

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _poll(self) -> None:
        while not self._pacing.stopping.is_set():
            try:
                response = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            except Exception:  # the emulator going away at shutdown
                if self._pacing.stopping.wait(0.5):
                    return
                continue
            for message in response.get("Messages", []):
                with self._lock:
                    self._in_flight += 1
                self._pool.submit(self._invoke_async, message)

    def _invoke_async(self, message: dict[str, Any]) -> None:
        try:
            event = json.loads(message["Body"])
            # moto's envelope lacks `account`, which every EventBridge event carries.
            event.setdefault("account", ACCOUNT_ID)
            self._async.invoke(event)
            if not self._pacing.stopping.is_set():
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            with self._lock:
                self._in_flight -= 1
