"""The whole pipeline over HTTP: api -> stream -> announcer -> EventBridge -> process_order
-> stream -> announcer -> SQS -> send_notification -> SES."""

import re
from collections.abc import Callable
from typing import Any

from samlocal.local_stack import LocalStack

from tests.builders import order_body

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def test_an_order_placed_over_http_ends_completed_with_exactly_one_email_and_no_address_in_the_logs(
    stack: LocalStack, emails_to: Callable[[str], list[Any]]
) -> None:
    body = order_body()

    client = stack.api_client()
    placed = client.request("POST", "/orders", body)
    assert placed.status == 201
    created = placed.body
    assert stack.wait_until_idle(timeout=60)
    order = client.request("GET", f"/orders/{created['order_id']}").body

    assert order["status"] == "completed"
    (email,) = emails_to(body["customer_email"])
    assert email.subject == f"Your order {created['order_id']} is confirmed"
    log_text = stack.logs.text()
    assert created["order_id"] in log_text
    assert body["customer_email"] not in log_text
    assert EMAIL.search(log_text) is None


def test_a_drain_gives_up_once_nothing_moves_and_says_what_is_still_in_flight(stack: LocalStack) -> None:
    # Given an order whose announcement the bus refuses, again and again
    stack.emulator.middleware.outages.add("events:PutEvents")
    try:
        placed = stack.api_client().request("POST", "/orders", order_body())
        assert placed.status == 201

        # When the pipeline is drained with little patience
        stuck = stack.drain(patience=2.0, settle=0.5, limit=60)
    finally:
        stack.emulator.middleware.outages.discard("events:PutEvents")

    # Then it gives up long before the limit, naming the stream that keeps retrying
    assert stuck == ["StreamPoller of AnnounceOrderChangesFunction is busy"]
    assert stack.wait_until_idle(timeout=60)
