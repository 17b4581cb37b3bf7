"""send_notification, driven by SQS batches, on both stores: one e-mail per notification id, to
the stored order's address with the stored order's text, failures alone."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from orders_local.stack import OrderStack, OrderStackOptions

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.orders import PostgresOrderRepository
from order_service.models.events import Notification
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.ports import OrderRepository
from tests.events import sqs_batch


@dataclass(frozen=True)
class Store:
    """A running stack, and its order store as the functions see it."""

    stack: OrderStack
    orders: OrderRepository

    def emails_to(self, recipient: str) -> list[Any]:
        return [email for email in self.stack.emulator.middleware.sent_emails if email.recipient == recipient]

    def add_final_order(self, status: OrderStatus = OrderStatus.COMPLETED, reason: str | None = None) -> Order:
        """An order stored already decided: the pipeline announces it (OrderPlaced, which
        changes nothing) but queues no notification of its own."""
        now = datetime.now(UTC)
        order = Order(
            order_id=str(uuid.uuid4()),
            customer_id="c-notify",
            customer_email=f"buyer-{uuid.uuid4().hex[:8]}@example.com",
            currency="EUR",
            items=(LineItem(sku="BOOK-1", quantity=1, unit_price_minor=2805),),
            total_minor=2805,
            status=status,
            reason=reason,
            created_at=now,
            updated_at=now,
        )
        self.orders.add(order)
        return order


@pytest.fixture(scope="module", params=["dynamodb", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "dynamodb":
        stack: OrderStack = request.getfixturevalue("stack")
        yield Store(stack, DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"]))
        return
    options = OrderStackOptions(runner="in-process", stack_name="notify-pg", time_scale=0.01, store="postgres")
    options.database_url = request.getfixturevalue("postgres_server")
    with OrderStack(options) as running:
        assert running.database is not None
        url = running.database.url
        database = Database(lambda: connect(url, statement_timeout_ms=5000))
        yield Store(running, PostgresOrderRepository(database))
        database.close()


def body_of(order: Order, **changes: str) -> str:
    """The notification the announcer queues for the order, with `changes` made to it."""
    return Notification.of(order).model_copy(update=changes).model_dump_json(exclude_none=True)


def failed_ids(response: Any) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def logged(stack: OrderStack, message: str, since: int = 0) -> list[dict[str, Any]]:
    lines = [json.loads(line.text) for line in stack.logs.lines[since:] if line.text.startswith("{")]
    return [line for line in lines if line.get("message") == message]


def metric_values(stack: OrderStack, name: str, since: int) -> list[float]:
    """The values of an EMF metric the function emitted since log line `since`."""
    lines = [json.loads(line.text) for line in stack.logs.lines[since:] if "CloudWatchMetrics" in line.text]
    return [value for line in lines for value in line.get(name, [])]


def test_a_batch_of_ten_with_two_poison_records_sends_eight_emails_and_reports_exactly_those_two(
    store: Store,
) -> None:
    orders = [store.add_final_order() for _ in range(8)]
    bodies = [body_of(order) for order in orders]
    bodies.insert(3, "{not json")
    bodies.insert(7, json.dumps({"notification_id": "x", "kind": "order_shipped"}))
    event = sqs_batch(bodies)
    poison = {event["Records"][3]["messageId"], event["Records"][7]["messageId"]}

    invocation = store.stack.invoke("SendNotificationFunction", event)

    assert invocation.ok
    assert failed_ids(invocation.payload) == poison
    assert [len(store.emails_to(order.customer_email)) for order in orders] == [1] * 8


def test_a_redelivered_notification_sends_no_second_email(store: Store) -> None:
    order = store.add_final_order()
    body = body_of(order)

    first = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))
    second = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))

    assert failed_ids(first.payload) == failed_ids(second.payload) == set()
    assert len(store.emails_to(order.customer_email)) == 1


def test_a_queued_notification_naming_another_address_and_text_is_sent_to_the_stored_address_with_the_stored_text(
    store: Store,
) -> None:
    # Given a rejected order, and a message on the queue for it that names another address and reason
    order = store.add_final_order(OrderStatus.REJECTED, reason="currency GBP is not supported")
    forged_to = f"mallory-{uuid.uuid4().hex[:8]}@example.net"
    body = body_of(order, recipient=forged_to, total="0.01", reason="visit https://evil.example to pay")

    # When send_notification takes it
    invocation = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))

    # Then the one e-mail goes to the stored address, saying what the stored order says
    assert failed_ids(invocation.payload) == set()
    assert store.emails_to(forged_to) == []
    (email,) = store.emails_to(order.customer_email)
    assert "28.05 EUR" in email.body
    assert "currency GBP is not supported" in email.body
    assert "evil" not in email.body


@pytest.mark.parametrize("case", ["no-such-order", "another-status"])
def test_a_notification_its_stored_order_does_not_announce_sends_nothing_is_counted_and_is_not_retried(
    store: Store, case: str
) -> None:
    # Given a message on the queue naming an order that does not exist, or one final in another status
    forged_to = f"mallory-{uuid.uuid4().hex[:8]}@example.net"
    if case == "no-such-order":
        order = store.add_final_order().model_copy(update={"order_id": str(uuid.uuid4())})
        body = body_of(order, recipient=forged_to)
    else:
        order = store.add_final_order(OrderStatus.REJECTED, reason="too large")
        body = body_of(order.model_copy(update={"status": OrderStatus.COMPLETED}), recipient=forged_to)
    since = len(store.stack.logs.lines)

    # When send_notification takes it
    invocation = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))

    # Then nothing is sent to anyone, the record is done with (not retried), and it is counted
    # and logged without an address
    assert failed_ids(invocation.payload) == set()
    assert store.emails_to(forged_to) == store.emails_to(order.customer_email) == []
    assert metric_values(store.stack, "NotificationDiscarded", since=since) == [1.0]
    (line,) = logged(store.stack, "Notification discarded: its order does not announce it", since=since)
    assert "@" not in json.dumps(line)


def test_a_discarded_notification_leaves_its_id_free_for_the_one_its_order_announces(store: Store) -> None:
    # Given a message naming an order's notification id before the order is final
    order = store.add_final_order()
    pending_twin = order.model_copy(update={"order_id": str(uuid.uuid4()), "status": OrderStatus.PENDING})
    store.orders.add(pending_twin)
    early = body_of(pending_twin.model_copy(update={"status": OrderStatus.COMPLETED}))
    store.stack.invoke("SendNotificationFunction", sqs_batch([early]))
    store.orders.transition(
        pending_twin.order_id,
        expected=OrderStatus.PENDING,
        new=OrderStatus.COMPLETED,
        reason=None,
        at=datetime.now(UTC),
    )

    # When the order's own notification comes (the pipeline queues it too)
    store.stack.invoke("SendNotificationFunction", sqs_batch([early]))
    assert store.stack.wait_until_idle(timeout=30)

    # Then it is sent, once: the early one used nothing up
    assert len(store.emails_to(pending_twin.customer_email)) == 1


def test_a_send_ses_may_have_made_without_answering_is_counted_and_retried(store: Store) -> None:
    # Given SES that takes the next e-mail and never answers (longer than the client waits)
    order = store.add_final_order()
    body = body_of(order)
    middleware = store.stack.emulator.middleware
    assert store.stack.wait_until_idle(timeout=30)  # so that the hang holds this e-mail
    middleware.hang("ses:SendEmail", 6.0, from_next_call=True)
    since = len(store.stack.logs.lines)

    # When send_notification sends it
    try:
        timed_out = store.stack.invoke("SendNotificationFunction", event := sqs_batch([body]))
    finally:
        middleware.end_hang("ses:SendEmail")

    # Then the send is counted as ambiguous, logged without an address, and the record fails,
    # so its redelivery sends it (at least once: here SES had not sent it)
    assert failed_ids(timed_out.payload) == {event["Records"][0]["messageId"]}
    assert metric_values(store.stack, "AmbiguousEmailSends", since=since) == [1.0]
    (warning,) = logged(
        store.stack, "SES may have sent the e-mail without answering: retried, it may arrive twice", since=since
    )
    assert "@" not in json.dumps(warning)
    retried = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))
    assert failed_ids(retried.payload) == set()
    assert len(store.emails_to(order.customer_email)) == 1


def test_a_recipient_ses_refuses_fails_alone(store: Store) -> None:
    refused, fine = store.add_final_order(), store.add_final_order()
    store.stack.emulator.middleware.rejected_recipients.add(refused.customer_email)
    event = sqs_batch([body_of(fine), body_of(refused)])

    invocation = store.stack.invoke("SendNotificationFunction", event)

    assert failed_ids(invocation.payload) == {event["Records"][1]["messageId"]}
    assert (len(store.emails_to(fine.customer_email)), len(store.emails_to(refused.customer_email))) == (1, 0)


def test_a_failed_send_can_be_retried_once_the_cause_is_gone(store: Store) -> None:
    order = store.add_final_order()
    body = body_of(order)
    store.stack.emulator.middleware.rejected_recipients.add(order.customer_email)
    failed = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))
    store.stack.emulator.middleware.rejected_recipients.discard(order.customer_email)

    retried = store.stack.invoke("SendNotificationFunction", sqs_batch([body]))

    assert len(failed_ids(failed.payload)) == 1
    assert failed_ids(retried.payload) == set()
    assert len(store.emails_to(order.customer_email)) == 1


def test_a_batch_logs_one_line_naming_every_email_it_sent_and_counts_them_in_one_metric(store: Store) -> None:
    orders = [store.add_final_order() for _ in range(3)]
    bodies = [body_of(order) for order in orders]
    store.stack.invoke("SendNotificationFunction", sqs_batch([bodies[0]]))
    since = len(store.stack.logs.lines)

    store.stack.invoke("SendNotificationFunction", sqs_batch([*bodies, "{not json"]))

    (summary,) = logged(store.stack, "Notifications sent", since=since)
    assert summary["sent"] == 2
    assert [(entry["notification_id"], entry["order_id"]) for entry in summary["notifications"]] == [
        (f"{order.order_id}:completed", order.order_id) for order in orders[1:]
    ]
    assert all(entry["ses_message_id"] for entry in summary["notifications"])
    assert not {"order_id", "notification_id", "message_id"} & summary.keys()
    assert "@" not in json.dumps(summary)
    assert metric_values(store.stack, "NotificationSent", since=since) == [2.0]
    assert metric_values(store.stack, "NotificationFailed", since=since) == [1.0]


def test_an_email_sent_whose_record_cannot_be_saved_is_counted_as_not_remembered(store: Store) -> None:
    # Given an order, and the idempotency table refusing every update for the whole invocation
    order = store.add_final_order()
    stack = store.stack
    assert stack.wait_until_idle(timeout=30)
    since = len(stack.logs.lines)
    stack.emulator.middleware.outages.add("dynamodb:UpdateItem")

    # When its notification is sent
    try:
        event = sqs_batch([body_of(order)])
        invocation = stack.invoke("SendNotificationFunction", event)
    finally:
        stack.emulator.middleware.outages.discard("dynamodb:UpdateItem")

    # Then the e-mail went out, the record fails (a redelivery will send it again), and that is counted
    assert len(store.emails_to(order.customer_email)) == 1
    assert failed_ids(invocation.payload) == {event["Records"][0]["messageId"]}
    assert metric_values(stack, "SentEmailNotRemembered", since=since) == [1.0]
    assert logged(stack, "E-mail sent but not remembered: a redelivery sends it again", since=since)
