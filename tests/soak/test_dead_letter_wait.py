"""The soak's wait for its dead letters, against the emulator's SQS: it returns once every
notification it expects to be dead-lettered is in the dead-letter queue and the queues are
empty, and at its deadline it names what is missing."""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from samlocal.dead_letters import await_dead_letters, notification_id_of, peek
from samlocal.emulator import Emulator
from samlocal.provision import aws_client

# Receives a message may have before SQS moves it to the dead-letter queue.
MAX_RECEIVES = 2


@dataclass(frozen=True)
class Queues:
    sqs: Any
    source: str
    dead_letters: str

    def send(self, notification_id: str) -> None:
        body = {"notification_id": notification_id, "order_id": notification_id.split(":")[0]}
        self.sqs.send_message(QueueUrl=self.source, MessageBody=json.dumps({**body, "recipient": "a@b.example"}))

    def dead_lettered(self) -> set[str | None]:
        return {notification_id_of(letter.body) for letter in peek(self.sqs, self.dead_letters)}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    yield running
    running.stop()


@pytest.fixture
def queues(emulator: Emulator) -> Queues:
    sqs = aws_client("sqs", emulator.endpoint_url)
    name = uuid.uuid4().hex[:8]
    dead_letters = sqs.create_queue(QueueName=f"dlq-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES})
    source = sqs.create_queue(QueueName=f"src-{name}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return Queues(sqs, source, dead_letters)


@pytest.fixture
def refusing_consumer(queues: Queues, emulator: Emulator) -> Iterator[Callable[[], None]]:
    """Starts one that receives as an event source does and fails every message: each comes
    back after 1 s, until SQS moves it to the dead-letter queue at the receive after its last."""
    stopping = threading.Event()
    sqs = aws_client("sqs", emulator.endpoint_url)

    def consume() -> None:
        while not stopping.is_set():
            sqs.receive_message(QueueUrl=queues.source, MaxNumberOfMessages=10, VisibilityTimeout=1, WaitTimeSeconds=1)

    consumer = threading.Thread(target=consume, daemon=True)
    yield consumer.start
    stopping.set()
    if consumer.ident is not None:
        consumer.join(timeout=5)


def order_notification() -> str:
    return f"{uuid.uuid4()}:completed"


def test_the_wait_returns_only_after_a_dead_letter_in_flight_at_its_start_has_arrived(
    queues: Queues, refusing_consumer: Callable[[], None]
) -> None:
    # Given an expected dead letter received and invisible for 2 s when the wait starts
    refused = order_notification()
    queues.send(refused)
    received = queues.sqs.receive_message(QueueUrl=queues.source, VisibilityTimeout=2).get("Messages", [])
    assert len(received) == 1
    refusing_consumer()
    started = time.monotonic()

    # When the soak waits for it
    problems = await_dead_letters(
        queues.sqs, queues.dead_letters, {refused}, queues={"source": queues.source}, timeout=30, settle=0.5
    )

    # Then it returned once the dead letter was there, not before its visibility timeout ended
    assert problems == []
    assert refused in queues.dead_lettered()
    assert time.monotonic() - started >= 2


def test_a_quiet_spell_before_an_expected_dead_letter_is_even_queued_does_not_end_the_wait(
    queues: Queues, refusing_consumer: Callable[[], None]
) -> None:
    # Given queues that are empty for longer than the quiet spell the wait asks for, and an
    # expected notification queued only after it (an order announced late, say)
    refused = order_notification()
    refusing_consumer()
    late = threading.Timer(2.0, queues.send, args=(refused,))
    late.start()

    # When the soak waits for it
    problems = await_dead_letters(
        queues.sqs, queues.dead_letters, {refused}, queues={"source": queues.source}, timeout=30, settle=0.5
    )

    # Then the wait went on until it was dead-lettered
    late.join()
    assert problems == []
    assert refused in queues.dead_lettered()


def test_at_its_deadline_the_wait_names_the_missing_dead_letter_and_where_it_stands(queues: Queues) -> None:
    # Given one expected dead letter already in the dead-letter queue, and another in flight
    # for longer than the wait will last
    arrived, stuck = order_notification(), order_notification()
    queues.sqs.send_message(QueueUrl=queues.dead_letters, MessageBody=json.dumps({"notification_id": arrived}))
    queues.send(stuck)
    assert queues.sqs.receive_message(QueueUrl=queues.source, VisibilityTimeout=60).get("Messages")
    started = time.monotonic()

    # When the soak waits for both, for 2 s
    problems = await_dead_letters(
        queues.sqs,
        queues.dead_letters,
        {arrived, stuck},
        queues={"source": queues.source},
        timeout=2,
        settle=0.5,
        busy=lambda: ["a poller is busy"],
    )

    # Then, at the deadline, one problem says how many and which, and in which state each queue
    # and source is, with no recipient address
    assert time.monotonic() - started >= 2
    assert len(problems) == 1
    problem = problems[0]
    assert "1 of 2 expected dead letters" in problem
    assert stuck in problem
    assert arrived not in problem
    assert "source: 0 waiting, 1 in flight, 0 delayed" in problem
    assert "a poller is busy" in problem
    assert "@" not in problem
