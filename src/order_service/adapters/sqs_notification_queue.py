"""Queues notifications on SQS: new ones, and ones deferred while SES is throttling."""

from typing import TYPE_CHECKING

from order_service.models.events import Notification

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


# How many times a notification was deferred: its next deferral waits longer.
DEFERRALS_ATTRIBUTE = "deferrals"


class SqsNotificationQueue:
    def __init__(self, client: "SQSClient", queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, notification: Notification) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=notification.model_dump_json(),
            MessageAttributes={
                "notification_id": {"DataType": "String", "StringValue": notification.notification_id},
                "kind": {"DataType": "String", "StringValue": notification.kind.value},
            },
        )

    def defer(self, notification: Notification, *, delay_seconds: int, deferrals: int) -> None:
        """A new message rather than the same one made invisible: SQS counts every receive of a
        message towards the dead-letter queue, and a throttle must never send one there."""
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=notification.model_dump_json(),
            DelaySeconds=delay_seconds,
            MessageAttributes={
                "notification_id": {"DataType": "String", "StringValue": notification.notification_id},
                "kind": {"DataType": "String", "StringValue": notification.kind.value},
                DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals)},
            },
        )
