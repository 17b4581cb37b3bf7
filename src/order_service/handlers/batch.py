"""Batch handling shared by the stream and queue handlers: partial responses, logged failures."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from order_service.observability import logger, metrics


def describe_failure(error: BaseException) -> str:
    """The error's message, without the offending input when the error would echo it."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '<root>'}: {issue['msg']}"
            for issue in error.errors(include_input=False, include_url=False)
        )
    return str(error)


class LoggedBatchProcessor(BatchProcessor):
    """Reports failed records alone and logs why, one line per record, with no payload.

    The whole batch is never raised as an invocation error: a batch where every record
    failed is answered like any other, with every record in `batchItemFailures`.
    """

    def __init__(self, event_type: EventType) -> None:
        super().__init__(event_type=event_type, raise_on_entire_batch_failure=False)

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> Any:
        error = exception[1]
        logger.warning(
            "Record failed; reported for retry",
            extra={
                "record_id": record.get("messageId") or record.get("eventID"),
                "error_type": type(error).__name__,
                "error": describe_failure(error) if error is not None else "",
            },
        )
        return super().failure_handler(record, exception)


def partial_batch_response(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    processor: LoggedBatchProcessor,
    record_handler: Callable[[Any], None],
    failure_metric: str,
) -> dict[str, Any]:
    """Process every record; answer with the failed ones only, and count them."""
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    if failed:
        metrics.add_metric(name=failure_metric, unit=MetricUnit.Count, value=failed)
    return dict(response)
