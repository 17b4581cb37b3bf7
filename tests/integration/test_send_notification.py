"""send_notification, driven by SQS batches: one e-mail per notification id, failures alone."""

import json
import uuid
from collections.abc import Callable
from typing import Any

from orders_local.local_stack import LocalStack

from tests.events import sqs_batch

EmailsTo = Callable[[str], list[Any]]


def notification(recipient: str, notification_id: str | None = None) -> str:
    return json.dumps(
        {
            "notification_id": notification_id or f"{uuid.uuid4()}:completed",
            "kind": "order_completed",
            "order_id": str(uuid.uuid4()),
            "recipient": recipient,
            "currency": "EUR",
            "total": "28.05",
        }
    )


def failed_ids(response: Any) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def test_a_batch_of_ten_with_two_poison_records_sends_eight_emails_and_reports_exactly_those_two(
    stack: LocalStack, emails_to: EmailsTo
) -> None:
    recipient = f"batch-{uuid.uuid4().hex[:8]}@example.com"
    bodies = [notification(recipient) for _ in range(8)]
    bodies.insert(3, "{not json")
    bodies.insert(7, json.dumps({"notification_id": "x", "kind": "order_shipped"}))
    event = sqs_batch(bodies)
    poison = {event["Records"][3]["messageId"], event["Records"][7]["messageId"]}

    invocation = stack.invoke("SendNotificationFunction", event)

    assert invocation.ok
    assert failed_ids(invocation.payload) == poison
    assert len(emails_to(recipient)) == 8


def test_a_redelivered_notification_sends_no_second_email(stack: LocalStack, emails_to: EmailsTo) -> None:
    recipient = f"again-{uuid.uuid4().hex[:8]}@example.com"
    body = notification(recipient)

    first = stack.invoke("SendNotificationFunction", sqs_batch([body]))
    second = stack.invoke("SendNotificationFunction", sqs_batch([body]))

    assert failed_ids(first.payload) == failed_ids(second.payload) == set()
    assert len(emails_to(recipient)) == 1


def test_a_recipient_ses_refuses_fails_alone(stack: LocalStack, emails_to: EmailsTo) -> None:
    refused = f"bounce-{uuid.uuid4().hex[:8]}@example.com"
    fine = f"fine-{uuid.uuid4().hex[:8]}@example.com"
    stack.emulator.middleware.rejected_recipients.add(refused)
    event = sqs_batch([notification(fine), notification(refused)])

    invocation = stack.invoke("SendNotificationFunction", event)

    assert failed_ids(invocation.payload) == {event["Records"][1]["messageId"]}
    assert (len(emails_to(fine)), len(emails_to(refused))) == (1, 0)


def test_a_failed_send_can_be_retried_once_the_cause_is_gone(stack: LocalStack, emails_to: EmailsTo) -> None:
    recipient = f"later-{uuid.uuid4().hex[:8]}@example.com"
    body = notification(recipient)
    stack.emulator.middleware.rejected_recipients.add(recipient)
    failed = stack.invoke("SendNotificationFunction", sqs_batch([body]))
    stack.emulator.middleware.rejected_recipients.discard(recipient)

    retried = stack.invoke("SendNotificationFunction", sqs_batch([body]))

    assert len(failed_ids(failed.payload)) == 1
    assert failed_ids(retried.payload) == set()
    assert len(emails_to(recipient)) == 1


def logged(stack: LocalStack, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line.text) for line in stack.logs.lines if line.text.startswith("{")]
    return [line for line in lines if line.get("message") == message]


def metric_values(stack: LocalStack, name: str, since: int) -> list[float]:
    """The values of an EMF metric the function emitted since log line `since`."""
    lines = [json.loads(line.text) for line in stack.logs.lines[since:] if "CloudWatchMetrics" in line.text]
    return [value for line in lines for value in line.get(name, [])]


def test_a_batch_logs_one_line_naming_every_email_it_sent_and_counts_them_in_one_metric(
    stack: LocalStack,
) -> None:
    recipient = f"summary-{uuid.uuid4().hex[:8]}@example.com"
    bodies = [notification(recipient) for _ in range(3)]
    already_sent = bodies[0]
    stack.invoke("SendNotificationFunction", sqs_batch([already_sent]))
    before = len(logged(stack, "Notifications sent"))
    lines_before = len(stack.logs.lines)

    stack.invoke("SendNotificationFunction", sqs_batch([*bodies, "{not json"]))

    (summary,) = logged(stack, "Notifications sent")[before:]
    expected = [json.loads(body) for body in bodies[1:]]
    assert summary["sent"] == 2
    assert [(entry["notification_id"], entry["order_id"]) for entry in summary["notifications"]] == [
        (body["notification_id"], body["order_id"]) for body in expected
    ]
    assert all(entry["ses_message_id"] for entry in summary["notifications"])
    assert not {"order_id", "notification_id", "message_id"} & summary.keys()
    assert recipient not in json.dumps(summary)
    assert metric_values(stack, "NotificationSent", since=lines_before) == [2.0]
    assert metric_values(stack, "NotificationFailed", since=lines_before) == [1.0]
