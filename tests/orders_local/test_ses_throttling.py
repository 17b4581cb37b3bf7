"""SES throttling is absorbed: e-mails are slowed, none is lost, none dead-lettered, none doubled."""

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from orders_local.pytest_plugin import OrdersEmails, OrdersQueues, OrdersWait
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack

THROTTLE_SECONDS = 4.0


@pytest.fixture
def quick_deferrals(orders_stack: LocalStack) -> Iterator[None]:
    """Deferrals of 1 s (doubling), so a throttle of a few seconds is over in a few seconds."""
    function = orders_stack.functions["SendNotificationFunction"]
    orders_stack.update_function(
        replace(function, environment={**function.environment, "SES_THROTTLE_DEFERRAL_SECONDS": "1"})
    )
    yield
    orders_stack.update_function(function)


def test_while_ses_throttles_notifications_are_deferred_and_every_email_goes_out_once_afterwards(
    orders_stack: LocalStack,
    orders_api: JsonClient,
    orders_wait: OrdersWait,
    orders_emails: OrdersEmails,
    orders_queues: OrdersQueues,
    quick_deferrals: None,
) -> None:
    middleware = orders_stack.emulator.middleware
    recipients = [f"throttled-{uuid.uuid4().hex[:8]}@example.com" for _ in range(5)]
    dead_letters_before = orders_queues.depth("NotificationDeadLetterQueue")
    body = {
        "customer_id": "c-throttle",
        "currency": "EUR",
        "items": [{"sku": "B", "quantity": 1, "unit_price": "5.00"}],
    }

    middleware.throttles.add("ses")
    try:
        for recipient in recipients:
            assert orders_api.request("POST", "/orders", {**body, "customer_email": recipient}).status == 201
        orders_wait.until(lambda: middleware.throttled["ses:SendEmail"] >= 5, what="SES throttling sends", timeout=60)
        time.sleep(THROTTLE_SECONDS)  # the throttle lasts a while: deferrals go round meanwhile
        assert not [email for email in orders_emails.all() if email.recipient in recipients]
    finally:
        middleware.throttles.discard("ses")

    for recipient in recipients:
        orders_wait.email_to(recipient, timeout=90)
    orders_wait.idle(timeout=60)

    sent = [email.recipient for email in orders_emails.all() if email.recipient in recipients]
    assert sorted(sent) == sorted(recipients)  # each once
    assert orders_queues.depth("NotificationDeadLetterQueue") == dead_letters_before
    deferred = [line for line in orders_stack.logs.lines if "notification deferred" in line.text]
    assert len(deferred) >= len(recipients)
    assert not any(recipient in line.text for line in orders_stack.logs.lines for recipient in recipients)
