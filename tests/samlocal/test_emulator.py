"""The embedded emulator keeps the promises the pipeline relies on under concurrent requests:
one receiver per SQS message, and DynamoDB conditional writes that are atomic."""

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.parsing.validators import UpdateExpressionValidator
from moto.sqs.models import Message
from samlocal.emulator import Emulator
from samlocal.provision import aws_client


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    yield running
    running.stop()


@pytest.fixture
def slow_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between seeing a message visible and marking it received."""
    mark_received = Message.mark_received

    def slowly(self: Message, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.005)
        mark_received(self, *args, **kwargs)

    monkeypatch.setattr(Message, "mark_received", slowly)


def test_concurrent_receivers_never_get_the_same_message_within_its_visibility_timeout(
    emulator: Emulator, slow_claims: None
) -> None:
    sqs = aws_client("sqs", emulator.endpoint_url)
    url = sqs.create_queue(QueueName="one-receiver-each")["QueueUrl"]
    for first in range(0, 60, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(first + n)} for n in range(10)])
    deliveries: Counter[str] = Counter()

    def receive_until_empty() -> None:
        client = aws_client("sqs", emulator.endpoint_url)
        while messages := client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=1
        ).get("Messages", []):
            deliveries.update(message["MessageId"] for message in messages)

    receivers = [threading.Thread(target=receive_until_empty) for _ in range(4)]
    for receiver in receivers:
        receiver.start()
    for receiver in receivers:
        receiver.join()

    assert len(deliveries) == 60
    assert [message for message, count in deliveries.items() if count > 1] == []


def test_a_long_poll_still_returns_as_soon_as_a_message_arrives(emulator: Emulator) -> None:
    sqs = aws_client("sqs", emulator.endpoint_url)
    url = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="late")).start()

    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])

    assert [message["Body"] for message in messages] == ["late"]
    assert time.monotonic() - started < 5


@pytest.fixture
def slow_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between checking an update's condition and applying the update."""

    class SlowValidator(UpdateExpressionValidator):
        def validate(self) -> Any:
            time.sleep(0.02)
            return super().validate()

    monkeypatch.setattr("moto.dynamodb.models.UpdateExpressionValidator", SlowValidator)


def test_concurrent_conditional_updates_of_one_item_let_exactly_one_succeed(
    emulator: Emulator, slow_updates: None
) -> None:
    dynamodb = aws_client("dynamodb", emulator.endpoint_url)
    dynamodb.create_table(
        TableName="guarded",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="guarded", Item={"id": {"S": "1"}, "status": {"S": "pending"}})
    barrier = threading.Barrier(4)
    wins: list[str] = []

    def decide(status: str) -> None:
        client = aws_client("dynamodb", emulator.endpoint_url)
        barrier.wait()
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName="guarded",
                Key={"id": {"S": "1"}},
                UpdateExpression="SET #status = :new",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":new": {"S": status}, ":pending": {"S": "pending"}},
            )
            wins.append(status)

    deciders = [threading.Thread(target=decide, args=(status,)) for status in ("a", "b", "c", "d")]
    for decider in deciders:
        decider.start()
    for decider in deciders:
        decider.join()

    assert len(wins) == 1
