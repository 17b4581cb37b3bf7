from order_service.models.events import Notification, NotificationKind
from order_service.services.notification_service import (
    MAX_DEFERRAL_SECONDS,
    defer_throttled,
    deferral_delay,
    render,
    send_notification,
)
from tests.fakes import RecordingMailer


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


def test_sending_hands_one_rendered_email_to_the_mailer() -> None:
    mailer = RecordingMailer()

    message_id = send_notification(
        notification(NotificationKind.ORDER_COMPLETED), sender="shop@example.com", mailer=mailer
    )

    assert message_id == "message-1"
    assert [(e.sender, e.recipient, e.subject) for e in mailer.sent] == [
        ("shop@example.com", "ann@example.com", "Your order o-1 is confirmed")
    ]


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
