"""Queues notifications on SQS."""

from typing import TYPE_CHECKING

from order_service.models.events import Notification

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


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
