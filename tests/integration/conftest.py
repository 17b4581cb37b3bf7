"""One local stack per test session: moto's server on a loopback port, the template's
resources in it, and the handlers running in-process with the whole pipeline wired."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from orders_local.stack import OrderStack, OrderStackOptions


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture(scope="session")
def stack() -> Iterator[OrderStack]:
    with OrderStack(OrderStackOptions(runner="in-process", stack_name="it", time_scale=0.01)) as running:
        yield running


@pytest.fixture(scope="session")
def call_api(stack: OrderStack) -> Callable[[dict[str, Any]], ApiAnswer]:
    """Invoke the api function with an API Gateway event and decode its proxy answer."""

    def call(event: dict[str, Any]) -> ApiAnswer:
        invocation = stack.invoke("ApiFunction", event)
        assert invocation.ok, invocation.error_message
        answer = invocation.payload
        body = json.loads(answer["body"]) if answer.get("body") else None
        headers = {**answer.get("headers", {}), **{k: v[-1] for k, v in answer.get("multiValueHeaders", {}).items()}}
        return ApiAnswer(answer["statusCode"], body, headers)

    return call


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def emails_to(stack: OrderStack) -> Callable[[str], list[Any]]:
    def sent(recipient: str) -> list[Any]:
        return [email for email in stack.emulator.middleware.sent_emails if email.recipient == recipient]

    return sent
