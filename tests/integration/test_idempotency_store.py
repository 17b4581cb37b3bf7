"""The idempotency record that says an e-mail went out is saved, even through a failing table."""

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from botocore.exceptions import ClientError
from samlocal.local_stack import LocalStack

from order_service.adapters import time_budget
from order_service.adapters.aws_clients import dynamodb_client
from order_service.adapters.idempotency_store import SaveRetryingPersistenceLayer
from order_service.settings import NotificationSettings

SETTINGS = NotificationSettings(
    sender_email="orders@example.com",
    idempotency_table_name="unused",
    notification_queue_url="http://queue",
    orders_table_name="orders",
)
UPDATE = "dynamodb:UpdateItem"
# Longer than one save's attempts and their backoff can last (3 attempts, at most 1 s + 2 s apart).
OUTAGE_SECONDS = 3.5


@dataclass(frozen=True)
class Context:
    seconds: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.fixture
def store(stack: LocalStack) -> SaveRetryingPersistenceLayer:
    table = stack.resources.tables["IdempotencyTable"]
    layer = SaveRetryingPersistenceLayer(table_name=table, boto3_client=dynamodb_client(SETTINGS))
    layer.configure(IdempotencyConfig(event_key_jmespath="notification_id"), function_name="test-idempotency")
    return layer


@pytest.fixture
def updates_fail_for_a_while(stack: LocalStack) -> Iterator[None]:
    outages = stack.emulator.middleware.outages
    outages.add(UPDATE)
    lifted = threading.Timer(OUTAGE_SECONDS, outages.discard, args=(UPDATE,))
    lifted.start()
    yield
    lifted.cancel()
    outages.discard(UPDATE)
    time_budget.end()


@pytest.mark.usefixtures("updates_fail_for_a_while")
def test_within_an_invocation_a_failed_save_is_retried_until_it_is_recorded(
    store: SaveRetryingPersistenceLayer,
) -> None:
    sent = {"notification_id": str(uuid.uuid4())}
    store.save_inprogress(sent, remaining_time_in_millis=10_000)
    time_budget.start(Context(seconds=10))

    store.save_success(sent, {"ses_message_id": "m-1"})

    record = store.get_record(sent)
    assert record is not None
    assert record.status == "COMPLETED"


@pytest.mark.usefixtures("updates_fail_for_a_while")
def test_a_save_that_cannot_succeed_before_the_deadline_gives_up_in_time(store: SaveRetryingPersistenceLayer) -> None:
    sent = {"notification_id": str(uuid.uuid4())}
    store.save_inprogress(sent, remaining_time_in_millis=10_000)
    time_budget.start(Context(seconds=time_budget.RESERVE_SECONDS + 2.0))
    started = time.monotonic()

    with pytest.raises((ClientError, time_budget.DeadlineExceededError)):
        store.save_success(sent, {"ses_message_id": "m-2"})

    assert time.monotonic() - started < 2.0 + 0.5
