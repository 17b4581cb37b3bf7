"""`send_notification`: SQS batches of notifications -> one e-mail per notification id.

A record that fails is reported alone (ReportBatchItemFailures); SQS redelivers it and,
after the queue's maxReceiveCount, moves it to the dead-letter queue. Powertools
idempotency, keyed on the notification id, makes a redelivered notification that was
already sent return the stored result instead of sending a second e-mail.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.aws_clients import dynamodb_client, sesv2_client
from order_service.adapters.ses_mailer import SesMailer
from order_service.handlers.batch import LoggedBatchProcessor, partial_batch_response
from order_service.models.events import Notification
from order_service.observability import logger, metrics, tracer
from order_service.services.notification_service import send_notification
from order_service.settings import NotificationSettings, load_settings

settings = load_settings(NotificationSettings)
mailer = SesMailer(sesv2_client(settings))
processor = LoggedBatchProcessor(EventType.SQS)
idempotency = IdempotencyConfig(
    event_key_jmespath="notification_id",
    expires_after_seconds=settings.idempotency_ttl_seconds,
)
persistence = DynamoDBPersistenceLayer(
    table_name=settings.idempotency_table_name, boto3_client=dynamodb_client(settings)
)


@idempotent_function(data_keyword_argument="notification", config=idempotency, persistence_store=persistence)
def deliver(notification: Notification) -> dict[str, str]:
    message_id = send_notification(notification, sender=settings.sender_email, mailer=mailer)
    logger.info("Notification sent", extra={"kind": notification.kind.value, "ses_message_id": message_id})
    metrics.add_metric(name="NotificationSent", unit=MetricUnit.Count, value=1)
    return {"notification_id": notification.notification_id, "ses_message_id": message_id}


# Not traced per record: a subsegment per record cost a third of the CPU of a batch; the
# invocation and every AWS call within it are traced already.
def deliver_record(record: SQSRecord) -> None:
    logger.remove_keys(["order_id", "notification_id"])
    logger.append_keys(message_id=record.message_id)
    notification = Notification.model_validate_json(record.body)
    logger.append_keys(order_id=notification.order_id, notification_id=notification.notification_id)
    deliver(notification=notification)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return partial_batch_response(
        event, context, processor=processor, record_handler=deliver_record, failure_metric="NotificationFailed"
    )
