"""EventBridge schedules (`Schedule` events with a rate expression), invoked asynchronously.

Each period the function gets a "Scheduled Event" as EventBridge sends it; a run still going
when the next is due does not start a second one.
"""

import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from samlocal.runtime.invocation import Runner
from samlocal.sources import Declared, Trigger
from samlocal.sources.async_invoke import AsyncInvoker
from samlocal.sources.pacing import Pacing
from samlocal.template import ACCOUNT_ID, REGION, FunctionSpec, ScheduleSource, only_properties, rate_seconds

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    def __init__(
        self,
        runner: Runner,
        function: FunctionSpec,
        source: ScheduleSource,
        *,
        sqs: Any,
        destination_url: str | None,
        pacing: Pacing,
    ) -> None:
        self.function = function
        self.source = source
        self._pacing = pacing
        self._async = AsyncInvoker(runner, function, sqs=sqs, destination_url=destination_url, pacing=pacing)
        self._rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function.name}-{source.name}"
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"schedule-{function.logical_id}", daemon=True)

    @property
    def retries(self) -> int:
        return self._async.retries

    @property
    def busy(self) -> bool:
        return self._busy

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._pacing.wait(self.source.period_seconds):
            self._busy = True
            try:
                self._async.invoke(scheduled_event(self._rule_arn))
            finally:
                self._busy = False


def read(declared: Declared) -> ScheduleSource | None:
    spec = declared.properties
    only_properties(spec, {"Schedule", "Enabled", "Description", "Name"}, declared.where)
    if not spec.get("Enabled", True):
        return None
    return ScheduleSource(declared.name, rate_seconds(str(spec["Schedule"]), declared.where))


def start(stack: "LocalStack", function: FunctionSpec, schedule: ScheduleSource) -> Scheduler:
    destination = function.async_config.on_failure_arn
    return Scheduler(
        stack.runner,
        function,
        schedule,
        sqs=stack.sqs,
        destination_url=None if destination is None else stack.resources.queue_url_for_arn(destination),
        pacing=stack.pacing,
    )


TRIGGER = Trigger(("Schedule",), ScheduleSource, "Schedules", read, start, lambda s: f"every {s.period_seconds} s")
