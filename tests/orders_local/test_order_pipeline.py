"""The service's own template, run in worker processes and driven over HTTP only, through the
fixtures of the project's pytest plugin (orders_local.pytest_plugin), as a team's tests use them."""

import json
import re
import uuid

from orders_local.pytest_plugin import OrdersEmails, OrdersQueues, OrdersWait
from samlocal import sigv4
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def test_an_order_created_over_http_ends_completed_with_one_email_and_no_address_in_any_log_line(
    orders_stack: LocalStack, orders_api: JsonClient, orders_wait: OrdersWait, orders_emails: OrdersEmails
) -> None:
    email = f"worker-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "customer_id": "c-w",
        "customer_email": email,
        "currency": "USD",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "9.99"}],
    }

    created = orders_api.request("POST", "/orders", body)
    assert created.status == 201
    orders_wait.idle(timeout=60)
    found = orders_api.request("GET", f"/orders/{created.body['order_id']}")

    assert found.body["status"] == "completed"
    mine = [sent for sent in orders_emails.all() if created.body["order_id"] in sent.subject]
    assert [sent.recipient for sent in mine] == [email]
    log_text = orders_stack.logs.text()
    assert '"OrderPlaced"' in log_text or "OrderPlaced" in log_text  # EMF metrics reached the log book
    assert EMAIL.search(log_text) is None


def test_a_poison_notification_is_dead_lettered_after_max_receives_and_good_ones_are_sent_once(
    orders_api: JsonClient, orders_queues: OrdersQueues, orders_wait: OrdersWait, orders_emails: OrdersEmails
) -> None:
    recipients = [f"good-{uuid.uuid4().hex[:8]}@example.com" for _ in range(4)]
    placed = [
        orders_api.request(
            "POST",
            "/orders",
            {
                "customer_id": "c-poison",
                "customer_email": r,
                "currency": "EUR",
                "items": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}],
            },
        ).body
        for r in recipients
    ]
    orders_wait.idle(timeout=60)
    # The orders' own notifications, queued again: send_notification mails only stored orders.
    good = [
        json.dumps(
            {
                "notification_id": f"{order['order_id']}:completed",
                "kind": "order_completed",
                "order_id": order["order_id"],
                "recipient": order["customer_email"],
                "currency": "EUR",
                "total": "1.00",
            }
        )
        for order in placed
    ]

    orders_queues.send("NotificationQueue", *good[:2], "{poison", *good[2:])  # one batch
    orders_wait.until(
        lambda: orders_queues.depth("NotificationDeadLetterQueue") >= 1, what="a dead letter", timeout=60, interval=0.2
    )
    orders_wait.idle(timeout=30)

    assert orders_queues.dead_letter_queue("NotificationQueue") == "NotificationDeadLetterQueue"
    (letter,) = orders_queues.dead_letters("NotificationQueue")
    assert letter.body == "{poison"
    assert letter.receive_count >= 5  # the template's maxReceiveCount
    sent = [email.recipient for email in orders_emails.all()]
    assert all(sent.count(recipient) == 1 for recipient in recipients)


def test_the_api_refuses_unsigned_and_badly_signed_requests_as_its_iam_authorizer_does(
    orders_stack: LocalStack, orders_api: JsonClient
) -> None:
    unsigned = JsonClient(orders_stack.api_url).request("GET", "/orders?customer_id=c-w")
    signed = orders_api.request("GET", "/orders?customer_id=c-w")
    headers = sigv4.sign("GET", f"{orders_stack.api_url}/orders?customer_id=c-w", {}, None)
    tampered = JsonClient(orders_stack.api_url).request("GET", "/orders?customer_id=someone-else", headers=headers)

    assert (unsigned.status, unsigned.body) == (403, {"message": "Missing Authentication Token"})
    assert signed.status == 200
    assert tampered.status == 403
    assert "signature" in tampered.body["message"]
