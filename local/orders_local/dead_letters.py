"""Inspecting and redriving dead-letter queues."""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    summary: str
    body: str


def _summary(body: str) -> str:
    """What the message is about, without the recipient's address."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "(not JSON)"
    if not isinstance(payload, dict):
        return "(not an object)"
    shown = {key: payload[key] for key in ("notification_id", "kind", "order_id") if key in payload}
    return ", ".join(f"{key}={value}" for key, value in shown.items()) or ", ".join(sorted(payload))[:80]


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages still on their way through the queue: waiting, in flight, or delayed (a
    notification deferred while SES throttles waits as a delayed message)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    ).get("Attributes", {})
    return sum(int(value) for value in attributes.values())


def peek(sqs: Any, queue_url: str, limit: int = 100) -> list[DeadLetter]:
    """Read messages without consuming them: each is made visible again at once."""
    letters: dict[str, DeadLetter] = {}
    handles = []
    while len(letters) < limit:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            handles.append(message["ReceiptHandle"])
            letters.setdefault(
                message["MessageId"],
                DeadLetter(
                    message["MessageId"],
                    int(message["Attributes"].get("ApproximateReceiveCount", "0")),
                    _summary(message["Body"]),
                    message["Body"],
                ),
            )
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(letters.values())


def source_queue_of(sqs: Any, dead_letter_url: str, candidates: dict[str, str]) -> str:
    """The queue whose redrive policy sends its failures to this dead-letter queue."""
    arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for url in candidates.values():
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"].get(
            "RedrivePolicy"
        )
        if policy and json.loads(policy)["deadLetterTargetArn"] == arn:
            return url
    raise LookupError("no queue of the stack redrives to this dead-letter queue")


def redrive(sqs: Any, dead_letter_url: str, source_url: str) -> int:
    """Move every message back to its source queue: sent first, then deleted, so none is lost."""
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                **({"MessageAttributes": attributes} if attributes else {}),
            )
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def failure_reasons(log_lines: list[str]) -> dict[str, str]:
    """The last reason each record failed, by message id, from the functions' JSON log lines
    (`Record failed; reported for retry`). On AWS the same lines answer a Logs Insights query."""
    return {record: reasons[-1] for record, reasons in failure_history(log_lines).items()}


def failure_history(log_lines: list[str]) -> dict[str, list[str]]:
    """Every reason each record failed, in order, by message id (see `failure_reasons`)."""
    history: dict[str, list[str]] = {}
    for line in log_lines:
        if "Record failed" not in line:
            continue
        try:
            entry = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("record_id"):
            reason = f"{entry.get('error_type', '?')}: {entry.get('error', '')}"
            history.setdefault(str(entry["record_id"]), []).append(reason)
    return history
