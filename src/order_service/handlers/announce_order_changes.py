"""`announce_order_changes`: the orders table's stream -> OrderPlaced events and notifications.

Storing and announcing cannot diverge: this function reads what the table committed, and
a record is only checkpointed once its announcement was accepted. When a record fails for a
reason that may pass (the bus or the queue failing, a timeout), it and every later record of
the batch are reported (ReportBatchItemFailures) and none of them is announced, so the
stream retries from it and nothing overtakes it. A record that can never be announced (it
is invalid, or the code has a bug) is set aside on the unannounced-changes queue with its
reason, counted, and the stream goes on: one bad record never holds up the orders behind it.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.aws_clients import events_client, sqs_client
from order_service.adapters.dynamodb_stream import order_change, unannounced_change
from order_service.adapters.eventbridge_publisher import EventBridgePublisher
from order_service.adapters.failures import describe_failure
from order_service.adapters.sqs_notification_queue import SqsNotificationQueue
from order_service.adapters.sqs_set_aside import SqsSetAsideQueue
from order_service.adapters.time_budget import within_time_budget
from order_service.handlers.batch import LoggedBatchProcessor, partial_batch_response
from order_service.observability import logger, metrics, redact_emails, tracer
from order_service.services.announcements import Announcement, announce
from order_service.settings import AnnouncerSettings, load_settings

settings = load_settings(AnnouncerSettings)
publisher = EventBridgePublisher(
    events_client(settings), bus_name=settings.event_bus_name, source=settings.event_source
)
notifications = SqsNotificationQueue(sqs_client(settings), settings.notification_queue_url)
unannounced = SqsSetAsideQueue(sqs_client(settings), settings.unannounced_changes_queue_url)


def set_aside(record: DynamoDBRecord, error: BaseException) -> None:
    unannounced.set_aside(unannounced_change(record.raw_event, redact_emails(describe_failure(error))))


processor = LoggedBatchProcessor(EventType.DynamoDBStreams, in_order=True, set_aside=set_aside)

_METRIC_BY_ANNOUNCEMENT = {
    Announcement.ORDER_PLACED: "OrderPlacedAnnounced",
    Announcement.NOTIFICATION_QUEUED: "NotificationQueued",
}


# Not traced per record (see send_notification): the invocation and its AWS calls are.
def announce_record(record: DynamoDBRecord) -> None:
    logger.remove_keys(["order_id"])
    change = order_change(record.raw_event)
    if change is None:
        return
    logger.append_keys(order_id=change.after.order_id)
    announced = announce(change, events=publisher, notifications=notifications)
    if announced is not Announcement.NOTHING:
        logger.info(
            "Order change announced", extra={"announcement": announced.value, "status": change.after.status.value}
        )
        metrics.add_metric(name=_METRIC_BY_ANNOUNCEMENT[announced], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_batch_response(
        event,
        context,
        processor=processor,
        record_handler=announce_record,
        failure_metric="AnnouncementFailed",
        set_aside_metric="AnnouncementSetAside",
    )
