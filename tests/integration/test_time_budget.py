"""The invocation's deadline guard on every AWS client, over the emulator's real protocols."""

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ReadTimeoutError
from samlocal.local_stack import LocalStack

from order_service.adapters import time_budget
from order_service.adapters.aws_clients import dynamodb_client
from order_service.adapters.time_budget import DeadlineExceededError
from order_service.settings import NotificationSettings
from tests.builders import order_body
from tests.events import api_request

SETTINGS = NotificationSettings(
    sender_email="orders@example.com",
    idempotency_table_name="unused",
    notification_queue_url="http://queue",
    orders_table_name="orders",
)


@dataclasses.dataclass(frozen=True)
class Context:
    """A Lambda context with `seconds` left of its invocation when created."""

    seconds: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.fixture
def invocation_with() -> Iterator[type[Context]]:
    yield Context
    time_budget.end()


# Only this operation: the stack's own functions may call DynamoDB meanwhile (a scheduled sweep).
HUNG = "dynamodb:ListTables"


@pytest.fixture
def hung_dynamodb(stack: LocalStack) -> Iterator[None]:
    stack.emulator.middleware.hang(HUNG, 60)
    yield
    stack.emulator.middleware.end_hang(HUNG)


def test_an_attempt_that_could_not_finish_before_the_deadline_is_not_sent(
    stack: LocalStack, invocation_with: type[Context]
) -> None:
    client = dynamodb_client(SETTINGS)
    calls = stack.emulator.middleware.calls
    # 0.7 s usable after the reserve to answer in; one attempt may take 1.5 s.
    time_budget.start(invocation_with(seconds=time_budget.RESERVE_SECONDS + 0.7))
    before = calls["dynamodb:ListTables"]

    with pytest.raises(DeadlineExceededError, match=r"dynamodb\.ListTables not attempted"):
        client.list_tables()

    assert calls["dynamodb:ListTables"] == before


def test_the_same_call_with_time_left_is_sent(stack: LocalStack, invocation_with: type[Context]) -> None:
    client = dynamodb_client(SETTINGS)
    time_budget.start(invocation_with(seconds=10))

    client.list_tables()


@pytest.mark.usefixtures("hung_dynamodb")
def test_a_call_to_a_hung_service_makes_its_attempts_and_fails_within_its_worst_case(stack: LocalStack) -> None:
    client = dynamodb_client(SETTINGS)
    hung_before = stack.emulator.middleware.hung[HUNG]
    started = time.monotonic()

    with pytest.raises(ReadTimeoutError):
        client.list_tables()

    assert time.monotonic() - started <= SETTINGS.worst_case_call_seconds()
    assert stack.emulator.middleware.hung[HUNG] - hung_before == SETTINGS.aws_max_attempts


@pytest.mark.usefixtures("hung_dynamodb")
def test_a_call_to_a_hung_service_gives_up_retrying_before_the_deadline(invocation_with: type[Context]) -> None:
    client = dynamodb_client(SETTINGS)
    # 2.5 s usable: one attempt (1.5 s), then no room for another.
    time_budget.start(invocation_with(seconds=time_budget.RESERVE_SECONDS + 2.5))
    started = time.monotonic()

    with pytest.raises(DeadlineExceededError):
        client.list_tables()

    assert time.monotonic() - started < 2.5


def test_the_api_answers_503_with_retry_after_when_no_time_is_left_for_its_call(stack: LocalStack) -> None:
    # A 1 s invocation: less than one attempt's worth of time after the reserve to answer in.
    short = dataclasses.replace(stack.functions["ApiFunction"], timeout_seconds=1)

    invocation = stack.runner.invoke(short, api_request("POST", "/orders", body=order_body()))

    assert invocation.ok, invocation.error_message
    assert invocation.payload["statusCode"] == 503
    assert json.loads(invocation.payload["body"]) == {"message": "Temporarily unavailable, retry later"}
    assert invocation.payload["multiValueHeaders"]["Retry-After"] == ["1"]
