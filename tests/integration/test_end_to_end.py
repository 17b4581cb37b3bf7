"""The whole pipeline over HTTP: api -> stream -> announcer -> EventBridge -> process_order
-> stream -> announcer -> SQS -> send_notification -> SES."""

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

from orders_local.local_stack import LocalStack

from tests.builders import order_body

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_an_order_placed_over_http_ends_completed_with_exactly_one_email_and_no_address_in_the_logs(
    stack: LocalStack, emails_to: Callable[[str], list[Any]]
) -> None:
    body = order_body()

    status, created = http("POST", f"{stack.api_url}/orders", body)
    assert status == 201
    assert stack.wait_until_idle(timeout=60)
    _, order = http("GET", f"{stack.api_url}/orders/{created['order_id']}")

    assert order["status"] == "completed"
    (email,) = emails_to(body["customer_email"])
    assert email.subject == f"Your order {created['order_id']} is confirmed"
    log_text = stack.logs.text()
    assert created["order_id"] in log_text
    assert body["customer_email"] not in log_text
    assert EMAIL.search(log_text) is None
