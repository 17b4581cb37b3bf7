"""The EventBridge publisher, the SQS queue and the SES mailer over the emulator's protocols."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from samlocal.local_stack import LocalStack

from order_service.adapters.eventbridge_publisher import EventBridgePublisher
from order_service.adapters.ses_mailer import SesMailer
from order_service.adapters.sqs_notification_queue import SqsNotificationQueue
from order_service.models.events import Notification, NotificationKind, OrderPlaced
from order_service.ports import Email, PublishError

EVENT = OrderPlaced(
    order_id="o-1", customer_id="c", currency="EUR", total="1.00", item_count=1, placed_at=datetime.now(UTC)
)


def test_a_partially_failed_put_events_is_raised_not_ignored(stack: LocalStack) -> None:
    publisher = EventBridgePublisher(
        stack.client("events"), bus_name=stack.resources.event_buses[0], source="order-service"
    )
    stack.emulator.middleware.outages.add("events:PutEvents")
    try:
        with pytest.raises(PublishError, match="InternalFailure"):
            publisher.publish_order_placed(EVENT)
    finally:
        stack.emulator.middleware.outages.discard("events:PutEvents")


def test_a_queued_notification_arrives_as_json_with_its_id_as_an_attribute(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    notification = Notification(
        notification_id="o-1:completed",
        kind=NotificationKind.ORDER_COMPLETED,
        order_id="o-1",
        recipient="q@example.com",
        currency="EUR",
        total="1.00",
    )

    SqsNotificationQueue(sqs, url).enqueue(notification)

    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert Notification.model_validate_json(message["Body"]) == notification
    assert message["MessageAttributes"]["notification_id"]["StringValue"] == "o-1:completed"
    assert json.loads(message["Body"])["kind"] == "order_completed"


def test_the_mailer_sends_through_ses_from_the_verified_identity(stack: LocalStack) -> None:
    recipient = f"mail-{uuid.uuid4().hex[:8]}@example.com"

    message_id = SesMailer(stack.client("sesv2")).send(Email("orders@example.com", recipient, "Hello", "Body"))

    (sent,) = [email for email in stack.emulator.middleware.sent_emails if email.recipient == recipient]
    assert (sent.message_id, sent.subject, sent.sender) == (message_id, "Hello", "orders@example.com")
