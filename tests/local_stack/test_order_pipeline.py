"""The service's own template, run in worker processes and driven over HTTP only."""

import json
import re
import time
import uuid

from orders_local import sigv4
from orders_local.http_client import JsonClient
from orders_local.local_stack import LocalStack

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def test_an_order_created_over_http_ends_completed_with_one_email_and_no_address_in_any_log_line(
    order_stack: LocalStack,
) -> None:
    client = order_stack.api_client()
    email = f"worker-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "customer_id": "c-w",
        "customer_email": email,
        "currency": "USD",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "9.99"}],
    }

    created = client.request("POST", "/orders", body)
    assert created.status == 201
    assert order_stack.wait_until_idle(timeout=60)
    found = client.request("GET", f"/orders/{created.body['order_id']}")

    assert found.body["status"] == "completed"
    mine = [sent for sent in order_stack.emulator.middleware.sent_emails if created.body["order_id"] in sent.subject]
    assert [sent.recipient for sent in mine] == [email]
    log_text = order_stack.logs.text()
    assert '"OrderPlaced"' in log_text or "OrderPlaced" in log_text  # EMF metrics reached the log book
    assert EMAIL.search(log_text) is None


def test_a_poison_notification_is_dead_lettered_after_max_receives_and_good_ones_are_sent_once(
    order_stack: LocalStack,
) -> None:
    sqs = order_stack.client("sqs")
    queue = order_stack.resources.queue_urls["NotificationQueue"]
    dead = order_stack.resources.queue_urls["NotificationDeadLetterQueue"]
    recipients = [f"good-{uuid.uuid4().hex[:8]}@example.com" for _ in range(4)]
    good = [
        json.dumps(
            {
                "notification_id": f"n-{r}",
                "kind": "order_completed",
                "order_id": f"o-{index}",
                "recipient": r,
                "currency": "EUR",
                "total": "1.00",
            }
        )
        for index, r in enumerate(recipients)
    ]
    entries = [{"Id": str(index), "MessageBody": text} for index, text in enumerate([*good[:2], "{poison", *good[2:]])]

    sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    deadline = time.monotonic() + 60
    while order_stack.queue_depth(dead) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert order_stack.wait_until_idle(timeout=30)

    (letter,) = sqs.receive_message(QueueUrl=dead, AttributeNames=["All"])["Messages"]
    assert letter["Body"] == "{poison"
    assert int(letter["Attributes"]["ApproximateReceiveCount"]) >= 5  # the template's maxReceiveCount
    sent = [email.recipient for email in order_stack.emulator.middleware.sent_emails]
    assert all(sent.count(recipient) == 1 for recipient in recipients)


def test_the_api_refuses_unsigned_and_badly_signed_requests_as_its_iam_authorizer_does(order_stack: LocalStack) -> None:
    unsigned = JsonClient(order_stack.api_url).request("GET", "/orders?customer_id=c-w")
    signed = order_stack.api_client().request("GET", "/orders?customer_id=c-w")
    headers = sigv4.sign("GET", f"{order_stack.api_url}/orders?customer_id=c-w", {}, None)
    tampered = JsonClient(order_stack.api_url).request("GET", "/orders?customer_id=someone-else", headers=headers)

    assert (unsigned.status, unsigned.body) == (403, {"message": "Missing Authentication Token"})
    assert signed.status == 200
    assert tampered.status == 403
    assert "signature" in tampered.body["message"]
