"""Batch handling shared by the stream and queue handlers: partial responses, logged failures.

Three rules on top of Powertools' BatchProcessor:
- a batch stops taking records when too little of the invocation is left, and reports the
  rest as failed, so they are retried instead of being cut off by the timeout;
- `in_order` (streams): once a record fails, no later record of the batch is handled, so
  nothing overtakes it; the stream retries from the failed record;
- `set_aside`: a record that failed for a reason retrying cannot fix is handed to it (a
  failure destination) and counted as done, so it never blocks the records behind it.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.failures import describe_failure, failure_detail, is_permanent
from order_service.observability import logger, metrics

SetAside = Callable[[Any, BaseException], None]
# Below this much time left, a batch takes no further record: one record's calls (each bounded
# by its client's timeouts) must finish before Lambda ends the invocation.
DEFAULT_TIME_RESERVE_MS = 2_000


class LoggedBatchProcessor(BatchProcessor):
    """Reports failed records alone and logs why, one line per record, with no payload.

    The whole batch is never raised as an invocation error: a batch where every record
    failed is answered like any other, with every record in `batchItemFailures`.
    """

    def __init__(
        self,
        event_type: EventType,
        *,
        in_order: bool = False,
        set_aside: SetAside | None = None,
        time_reserve_ms: int = DEFAULT_TIME_RESERVE_MS,
    ) -> None:
        super().__init__(event_type=event_type, raise_on_entire_batch_failure=False)
        self._in_order = in_order
        self._set_aside = set_aside
        self._time_reserve_ms = time_reserve_ms
        self.halted: str | None = None
        self.left_for_retry = 0
        self.set_aside_count = 0

    def _prepare(self) -> None:
        super()._prepare()  # type: ignore[no-untyped-call]  # untyped in Powertools
        self.halted = None
        self.left_for_retry = 0
        self.set_aside_count = 0

    def _process_record(self, record: dict[str, Any]) -> Any:
        if self.halted is None and self._short_of_time():
            self.halted = "too little time was left in the invocation"
        if self.halted is not None:
            self.left_for_retry += 1
            data = self._to_batch_type(record=record, event_type=self.event_type, model=self.model)
            return BatchProcessor.failure_handler(self, data, (None, None, None))
        outcome = super()._process_record(record)
        if outcome[0] == "fail" and self._in_order:
            self.halted = "an earlier record of the batch failed"
        return outcome

    def _short_of_time(self) -> bool:
        context = self.lambda_context
        return context is not None and context.get_remaining_time_in_millis() < self._time_reserve_ms

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> Any:
        error = exception[1]
        if self._set_aside is not None and error is not None and is_permanent(error):
            try:
                self._set_aside(record, error)
            except Exception as unsaved:  # then it is an ordinary failure: retried, in order
                return self._report(record, (type(unsaved), unsaved, unsaved.__traceback__))
            self.set_aside_count += 1
            logger.error(
                "Record set aside: retrying cannot fix it",
                extra={"record_id": _record_id(record), "error": describe_failure(error)},
            )
            return self.success_handler(record, None)
        return self._report(record, exception)

    def _report(self, record: Any, exception: ExceptionInfo) -> Any:
        error = exception[1]
        logger.warning(
            "Record failed; reported for retry",
            extra={
                "record_id": _record_id(record),
                "error_type": type(error).__name__,
                "error": failure_detail(error) if error is not None else "",
            },
        )
        return super().failure_handler(record, exception)


def _record_id(record: Any) -> Any:
    return record.get("messageId") or record.get("eventID")


def partial_batch_response(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    processor: LoggedBatchProcessor,
    record_handler: Callable[[Any], None],
    failure_metric: str,
    set_aside_metric: str = "RecordSetAside",
) -> dict[str, Any]:
    """Process every record; answer with the failed ones only, and count them."""
    response: PartialItemFailureResponse = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    if failed:
        metrics.add_metric(name=failure_metric, unit=MetricUnit.Count, value=failed)
    if processor.set_aside_count:
        metrics.add_metric(name=set_aside_metric, unit=MetricUnit.Count, value=processor.set_aside_count)
    if processor.left_for_retry:
        logger.info(
            "Records left for a retry", extra={"records": processor.left_for_retry, "because": processor.halted}
        )
    return dict(response)
