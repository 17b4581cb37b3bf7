"""`send_notification`: SQS batches of notifications -> one e-mail per notification id.

A record that fails is reported alone (ReportBatchItemFailures); SQS redelivers it and,
after the queue's maxReceiveCount, moves it to the dead-letter queue. Powertools
idempotency, keyed on the notification id, makes a redelivered notification that was
already sent return the stored result instead of sending a second e-mail, for as long as the
record is kept (IDEMPOTENCY_TTL_SECONDS: a message's retention on the queue and then in the
dead-letter queue, so a redriven dead letter is still known).

The e-mail goes to the stored order's address with the stored order's text; a notification
its order does not announce (no such order, or another status) is dropped, counted
(NotificationDiscarded) and logged without any address, not retried: nothing will change it.

A send SES may have made without answering (a read timeout, a connection lost after the
request went out) is counted (AmbiguousEmailSends), and the record fails like any other: its
idempotency record is deleted, and the redelivery sends again. That e-mail is sent at least
once, and possibly twice: keeping the record instead would trade that for an e-mail perhaps
never sent. Two more may go twice: one SES sent whose record could not be saved within the
invocation (counted: SentEmailNotRemembered), and one whose invocation was stopped while SES
had it (a crash; nothing is left to count it, and its record expires with the invocation).
Any other notification id gets at most one e-mail.

What was sent is logged once per batch, one entry per e-mail: a line per e-mail cost a
third of the function's CPU per record (and a line of CloudWatch ingestion each). A record
that fails still gets its own warning line, with its order and notification ids.

SES throttling (its sending rate exceeded) is absorbed, never dead-lettered: the notification
goes back on the queue as a new message, delayed (doubling per deferral), and the rest of the
batch follows it without calling SES again, which paces the function to what SES accepts.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.aws_clients import dynamodb_client, sesv2_client, sqs_client
from order_service.adapters.idempotency_store import SaveRetryingPersistenceLayer
from order_service.adapters.order_store import order_repository
from order_service.adapters.ses_mailer import SesMailer
from order_service.adapters.sqs_notification_queue import DEFERRALS_ATTRIBUTE, SqsNotificationQueue
from order_service.adapters.time_budget import within_time_budget
from order_service.handlers.batch import LoggedBatchProcessor, partial_batch_response
from order_service.models.events import Notification
from order_service.observability import logger, metrics, tracer
from order_service.ports import SendingThrottledError, SendOutcomeUnknownError
from order_service.services.notification_service import (
    UnsendableNotificationError,
    defer_throttled,
    send_notification,
)
from order_service.settings import NotificationSettings, load_settings

settings = load_settings(NotificationSettings)
mailer = SesMailer(sesv2_client(settings))
orders = order_repository(settings)


@cache
def deferrals() -> SqsNotificationQueue:
    """Made at the first deferral, not at init: only SES throttling needs an SQS client, and a
    client costs every cold start ~10 ms."""
    return SqsNotificationQueue(sqs_client(settings), settings.notification_queue_url)


processor = LoggedBatchProcessor(EventType.SQS)
idempotency = IdempotencyConfig(
    event_key_jmespath="notification_id",
    expires_after_seconds=settings.idempotency_ttl_seconds,
)
persistence = SaveRetryingPersistenceLayer(
    table_name=settings.idempotency_table_name, boto3_client=dynamodb_client(settings)
)
_RECORD_LOG_KEYS = ("message_id", "order_id", "notification_id")
# E-mails sent by the current invocation, reported when its batch is done.
sent_in_batch: list[dict[str, str]] = []
# Set once SES throttles within the current invocation: the rest of its batch is deferred untried.
ses_throttling: list[bool] = []


# The idempotency payload is the key alone: Powertools deep-copies and hashes its payload on
# every call, and the notification id is all that decides whether this e-mail was sent.
# The order is read inside: a redelivery of a sent notification costs no read. A notification
# its order does not announce raises, so Powertools deletes its record: a queued message cannot
# use up the notification id of an order that will announce it later.
@idempotent_function(data_keyword_argument="once_per", config=idempotency, persistence_store=persistence)
def deliver(*, once_per: dict[str, str], notification: Notification) -> dict[str, str]:
    stored, message_id = send_notification(notification, orders=orders, sender=settings.sender_email, mailer=mailer)
    sent = {
        "notification_id": stored.notification_id,
        "order_id": stored.order_id,
        "kind": stored.kind.value,
        "ses_message_id": message_id,
    }
    sent_in_batch.append(sent)
    return {"notification_id": notification.notification_id, "ses_message_id": message_id}


# Not traced per record: a subsegment per record cost a third of the CPU of a batch; the
# invocation and every AWS call within it are traced already.
def deliver_record(record: SQSRecord) -> None:
    logger.remove_keys(_RECORD_LOG_KEYS)
    logger.append_keys(message_id=record.message_id)
    notification = Notification.model_validate_json(record.body)
    logger.append_keys(order_id=notification.order_id, notification_id=notification.notification_id)
    if not ses_throttling:
        try:
            deliver(once_per={"notification_id": notification.notification_id}, notification=notification)
            return
        except SendingThrottledError:
            ses_throttling.append(True)
        except UnsendableNotificationError as unsendable:
            logger.warning(
                "Notification discarded: its order does not announce it", extra={"reason": unsendable.reason}
            )
            metrics.add_metric(name="NotificationDiscarded", unit=MetricUnit.Count, value=1)
            return
        except SendOutcomeUnknownError:
            logger.warning("SES may have sent the e-mail without answering: retried, it may arrive twice")
            metrics.add_metric(name="AmbiguousEmailSends", unit=MetricUnit.Count, value=1)
            raise
        except IdempotencyPersistenceLayerError:
            if sent_in_batch and sent_in_batch[-1]["notification_id"] == notification.notification_id:
                # Sent, but its record could not be saved for as long as the invocation had time:
                # nothing stops the redelivery from sending it again.
                logger.warning("E-mail sent but not remembered: a redelivery sends it again")
                metrics.add_metric(name="SentEmailNotRemembered", unit=MetricUnit.Count, value=1)
            raise
    deferred_before = _deferrals_so_far(record)
    delay = defer_throttled(
        notification,
        deferred_before=deferred_before,
        base_seconds=settings.ses_throttle_deferral_seconds,
        deferrals=deferrals(),
    )
    logger.warning(
        "SES is throttling: notification deferred", extra={"delay_seconds": delay, "deferrals": deferred_before + 1}
    )
    metrics.add_metric(name="NotificationDeferred", unit=MetricUnit.Count, value=1)


def _deferrals_so_far(record: SQSRecord) -> int:
    """The message's count of deferrals; 0 when absent or not a whole number (anyone who may send
    to the queue can set message attributes)."""
    attribute = record.message_attributes[DEFERRALS_ATTRIBUTE]
    text = (attribute.string_value or "") if attribute is not None else ""
    return int(text) if text.isdigit() and len(text) < 10 else 0


def report_sent() -> None:
    if sent_in_batch:
        logger.info("Notifications sent", extra={"sent": len(sent_in_batch), "notifications": list(sent_in_batch)})
        metrics.add_metric(name="NotificationSent", unit=MetricUnit.Count, value=len(sent_in_batch))
    sent_in_batch.clear()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    ses_throttling.clear()
    try:
        return partial_batch_response(
            event, context, processor=processor, record_handler=deliver_record, failure_metric="NotificationFailed"
        )
    finally:
        logger.remove_keys(_RECORD_LOG_KEYS)
        report_sent()
