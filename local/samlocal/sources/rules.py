"""EventBridge rules with Lambda targets, invoked asynchronously.

moto matches events against the rule's pattern and delivers them to an internal queue
(it cannot invoke Lambda). From there each event is invoked asynchronously, with Lambda's
retries and on-failure destination (`async_invoke.py`).
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from samlocal.provision import create_rule_queue
from samlocal.runtime.invocation import Runner
from samlocal.sources import Declared, Trigger
from samlocal.sources.async_invoke import AsyncInvoker
from samlocal.sources.pacing import Pacing
from samlocal.template import ACCOUNT_ID, FunctionSpec, RuleSource, only_properties

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack


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


def read(declared: Declared) -> RuleSource:
    spec = declared.properties
    only_properties(
        spec, {"EventBusName", "Pattern", "RuleName", "State", "RetryPolicy", "DeadLetterConfig"}, declared.where
    )
    return RuleSource(
        name=declared.name,
        bus_name=str(spec.get("EventBusName", "default")),
        pattern=spec["Pattern"],
        dead_letter_arn=declared.stack.rule_delivery(spec, declared.where),
    )


def start(stack: "LocalStack", function: FunctionSpec, rule: RuleSource) -> RuleInvoker:
    queue_url = create_rule_queue(stack.stack, stack.endpoint_url, function, rule, stack.resources)
    destination = function.async_config.on_failure_arn
    return RuleInvoker(
        stack.runner,
        function,
        queue_url=queue_url,
        sqs=stack.sqs,
        destination_url=None if destination is None else stack.resources.queue_url_for_arn(destination),
        pacing=stack.pacing,
    )


TRIGGER = Trigger(("EventBridgeRule",), RuleSource, "Rules", read, start, lambda r: f"bus {r.bus_name}")
