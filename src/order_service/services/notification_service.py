"""Rendering and sending the customer's e-mail for a notification."""

from order_service.models.events import Notification, NotificationKind
from order_service.ports import Email, EmailSender, NotificationDeferrals

_SUBJECTS = {
    NotificationKind.ORDER_COMPLETED: "Your order {order_id} is confirmed",
    NotificationKind.ORDER_REJECTED: "Your order {order_id} could not be accepted",
    NotificationKind.ORDER_CANCELLED: "Your order {order_id} has been cancelled",
}

_BODIES = {
    NotificationKind.ORDER_COMPLETED: "Thank you. We have accepted your order {order_id} for {total} {currency}.",
    NotificationKind.ORDER_REJECTED: "We could not accept your order {order_id} for {total} {currency}: {reason}.",
    NotificationKind.ORDER_CANCELLED: "Your order {order_id} for {total} {currency} has been cancelled as you asked.",
}


def render(notification: Notification, *, sender: str) -> Email:
    fields = {
        "order_id": notification.order_id,
        "total": notification.total,
        "currency": notification.currency,
        "reason": notification.reason or "no reason given",
    }
    return Email(
        sender=sender,
        recipient=notification.recipient,
        subject=_SUBJECTS[notification.kind].format(**fields),
        body=_BODIES[notification.kind].format(**fields),
    )


def send_notification(notification: Notification, *, sender: str, mailer: EmailSender) -> str:
    """Send the notification's e-mail and return the provider's message id.

    Sending once per notification id is the caller's job (the handler wraps this in
    Powertools idempotency), so this stays a plain function that is easy to test.
    """
    return mailer.send(render(notification, sender=sender))


# SQS's longest message delay.
MAX_DEFERRAL_SECONDS = 900
# 2**10 times the shortest base (1 s) is past 900 s already.
_MAX_DOUBLINGS = 10


def deferral_delay(deferrals: int, *, base_seconds: int) -> int:
    """How long a notification waits after its `deferrals`-th deferral: doubling from
    `base_seconds`, at most SQS's 15 minutes, so a long throttle costs few attempts."""
    # The count arrives in a message attribute: bounded before it is an exponent.
    doublings = min(max(0, deferrals - 1), _MAX_DOUBLINGS)
    return int(min(MAX_DEFERRAL_SECONDS, base_seconds * 2**doublings))


def defer_throttled(
    notification: Notification, *, deferred_before: int, base_seconds: int, deferrals: NotificationDeferrals
) -> int:
    """SES is throttling: queue the notification again for later instead of failing it, so a
    throttle is absorbed (never dead-lettered). Returns the delay in seconds."""
    delay = deferral_delay(deferred_before + 1, base_seconds=base_seconds)
    deferrals.defer(notification, delay_seconds=delay, deferrals=deferred_before + 1)
    return delay
