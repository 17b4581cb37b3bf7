"""Inspecting, awaiting and redriving dead-letter queues."""

import json
import time
from collections.abc import Callable, Collection, Mapping
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


@dataclass(frozen=True)
class QueueCounts:
    """A queue's messages by state, as SQS counts them."""

    waiting: int
    # Received and neither deleted nor past their visibility timeout: between two receives.
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.waiting + self.in_flight + self.delayed

    def __str__(self) -> str:
        return f"{self.waiting} waiting, {self.in_flight} in flight, {self.delayed} delayed"


def queue_counts(sqs: Any, queue_url: str) -> QueueCounts:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    ).get("Attributes", {})
    return QueueCounts(
        waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages still on their way through the queue: waiting, in flight, or delayed (a
    notification deferred while SES throttles waits as a delayed message)."""
    return queue_counts(sqs, queue_url).total


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


def notification_id_of(body: str) -> str | None:
    """The notification a message carries, by its id (never its recipient)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    value = payload.get("notification_id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def await_dead_letters(
    sqs: Any,
    dead_letter_url: str,
    expected: Collection[str],
    *,
    queues: Mapping[str, str],
    timeout: float,
    settle: float = 3.0,
    busy: Callable[[], list[str]] = list,
    poll_seconds: float = 0.5,
) -> list[str]:
    """Wait until the notification of every id in `expected` is in the dead-letter queue and,
    for `settle` seconds, every queue of `queues` (name -> URL) holds nothing, waiting, in
    flight or delayed, and `busy()` names nothing still at work. Returns [] then; at the
    `timeout`, what is missing: how many and which ids, and where each queue stands.

    A quiet spell alone does not say that the dead letters are all in: a refused message may
    be between receives or deferred, SQS's counts are approximate (AWS: consistent only about a
    minute after the producers stop), and an order may yet be announced again. The ids in the
    dead-letter queue are what the wait is on."""
    deadline = time.monotonic() + timeout
    wanted = set(expected)
    arrived: set[str] = set()
    depth_read: int | None = None
    quiet_since: float | None = None
    while True:
        now = time.monotonic()
        depth = queue_depth(sqs, dead_letter_url)
        if wanted - arrived and depth != depth_read:
            # Peeking receives every dead letter once more: only when the queue has new ones.
            letters = peek(sqs, dead_letter_url, limit=100_000)
            arrived.update(identifier for letter in letters if (identifier := notification_id_of(letter.body)))
            depth_read = depth
        counts = {name: queue_counts(sqs, url) for name, url in queues.items()}
        working = busy()
        missing = sorted(wanted - arrived)
        if missing or working or any(state.total for state in counts.values()):
            quiet_since = None
        else:
            quiet_since = now if quiet_since is None else quiet_since
            if now - quiet_since >= settle:
                return []
        if now >= deadline:
            return [_unsettled(missing, len(wanted), dead_letter_url, counts, working, timeout)]
        time.sleep(poll_seconds)


def _unsettled(
    missing: list[str],
    expected: int,
    dead_letter_url: str,
    counts: Mapping[str, QueueCounts],
    working: list[str],
    timeout: float,
) -> str:
    where = "; ".join([f"{name}: {state}" for name, state in counts.items()] + working) or "nothing in flight"
    if not missing:
        return f"the pipeline did not settle in {timeout:.0f} s: {where}"
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    return (
        f"{len(missing)} of {expected} expected dead letters not in {dead_letter_url.rsplit('/', 1)[-1]} "
        f"after {timeout:.0f} s: {shown} ({where})"
    )


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
