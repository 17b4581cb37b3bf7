from datetime import UTC, datetime

import pytest

from order_service.models.events import Notification, NotificationKind
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.services.notification_service import (
    MAX_DEFERRAL_SECONDS,
    UnsendableNotificationError,
    defer_throttled,
    deferral_delay,
    render,
    send_notification,
)
from tests.fakes import InMemoryOrders, RecordingMailer


def notification(kind: NotificationKind, reason: str | None = None) -> Notification:
    return Notification(
        notification_id="o-1:x",
        kind=kind,
        order_id="o-1",
        recipient="ann@example.com",
        currency="EUR",
        total="28.05",
        reason=reason,
    )


def test_a_rejection_email_tells_the_customer_why() -> None:
    email = render(
        notification(NotificationKind.ORDER_REJECTED, reason="currency GBP is not supported"), sender="shop@example.com"
    )

    assert email.recipient == "ann@example.com"
    assert email.subject == "Your order o-1 could not be accepted"
    assert "currency GBP is not supported" in email.body


def stored(status: OrderStatus, reason: str | None = None) -> Order:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Order(
        order_id="o-1",
        customer_id="c-1",
        customer_email="ann@example.com",
        currency="EUR",
        items=(LineItem(sku="A", quantity=1, unit_price_minor=2805),),
        total_minor=2805,
        status=status,
        reason=reason,
        created_at=at,
        updated_at=at,
    )


def orders_holding(*held: Order) -> InMemoryOrders:
    orders = InMemoryOrders()
    for order in held:
        orders.add(order)
    return orders


def test_sending_hands_one_rendered_email_to_the_mailer() -> None:
    mailer = RecordingMailer()
    queued = Notification.of(stored(OrderStatus.COMPLETED))

    sent, message_id = send_notification(
        queued, orders=orders_holding(stored(OrderStatus.COMPLETED)), sender="shop@example.com", mailer=mailer
    )

    assert (sent, message_id) == (queued, "message-1")
    assert [(e.sender, e.recipient, e.subject) for e in mailer.sent] == [
        ("shop@example.com", "ann@example.com", "Your order o-1 is confirmed")
    ]


def test_a_queued_notification_naming_another_address_and_text_is_sent_as_the_stored_order_says() -> None:
    # Given a rejected order, and a queued notification of it that names another address, total and reason
    order = stored(OrderStatus.REJECTED, reason="currency GBP is not supported")
    forged = Notification.of(order).model_copy(
        update={"recipient": "mallory@example.net", "total": "0.01", "reason": "click https://evil.example"}
    )
    mailer = RecordingMailer()

    # When it is sent
    send_notification(forged, orders=orders_holding(order), sender="shop@example.com", mailer=mailer)

    # Then the e-mail goes to the stored address, with the stored total and reason
    (email,) = mailer.sent
    assert email.recipient == "ann@example.com"
    assert "28.05 EUR" in email.body
    assert "currency GBP is not supported" in email.body
    assert "evil" not in email.body
    assert "0.01" not in email.body


def test_a_notification_whose_order_does_not_exist_is_unsendable_and_sends_nothing() -> None:
    mailer = RecordingMailer()

    with pytest.raises(UnsendableNotificationError) as unsendable:
        send_notification(
            notification(NotificationKind.ORDER_COMPLETED),
            orders=InMemoryOrders(),
            sender="s@example.com",
            mailer=mailer,
        )

    assert unsendable.value.reason == "its order does not exist"
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("status", "queued_kind", "queued_id", "reason"),
    [
        (OrderStatus.PENDING, NotificationKind.ORDER_COMPLETED, "o-1:completed", "its order is pending, not final"),
        (
            OrderStatus.REJECTED,
            NotificationKind.ORDER_COMPLETED,
            "o-1:completed",
            "it is order_completed and its order is rejected",
        ),
        # The right kind, but the id of another notification: it would use up that one's id.
        (OrderStatus.COMPLETED, NotificationKind.ORDER_COMPLETED, "o-2:completed", None),
        (OrderStatus.COMPLETED, NotificationKind.ORDER_COMPLETED, "o-1:cancelled", None),
    ],
    ids=["pending", "another-status", "another-orders-id", "another-status-id"],
)
def test_a_notification_its_stored_order_does_not_announce_is_unsendable_and_sends_nothing(
    status: OrderStatus, queued_kind: NotificationKind, queued_id: str, reason: str | None
) -> None:
    # Given a stored order, and a queued notification that is not the one it announces
    queued = notification(queued_kind).model_copy(update={"notification_id": queued_id})
    mailer = RecordingMailer()

    # When it is sent
    with pytest.raises(UnsendableNotificationError) as unsendable:
        send_notification(queued, orders=orders_holding(stored(status)), sender="s@example.com", mailer=mailer)

    # Then nothing is sent, and the reason names statuses only
    assert mailer.sent == []
    if reason is not None:
        assert unsendable.value.reason == reason
    assert "@" not in str(unsendable.value)


class RecordedDeferrals:
    def __init__(self) -> None:
        self.deferred: list[tuple[str, int, int]] = []

    def defer(self, notification: Notification, *, delay_seconds: int, deferrals: int) -> None:
        self.deferred.append((notification.notification_id, delay_seconds, deferrals))


def test_a_throttled_notification_is_deferred_longer_each_time_up_to_sqs_longest_delay() -> None:
    queue = RecordedDeferrals()
    completed = notification(NotificationKind.ORDER_COMPLETED)

    delays = [
        defer_throttled(completed, deferred_before=before, base_seconds=30, deferrals=queue) for before in range(7)
    ]

    assert delays == [30, 60, 120, 240, 480, 900, 900]
    assert [deferrals for _, _, deferrals in queue.deferred] == [1, 2, 3, 4, 5, 6, 7]
    assert all(delay <= MAX_DEFERRAL_SECONDS for delay in delays)


def test_a_deferral_count_however_large_waits_at_most_sqs_longest_delay() -> None:
    assert deferral_delay(10**9, base_seconds=1) == MAX_DEFERRAL_SECONDS
    assert deferral_delay(-5, base_seconds=30) == 30
