"""Rendering and sending the customer's e-mail for a notification.

The queued notification says which order and which of its final statuses to announce; what
the e-mail says, and to whom, comes from the stored order. Anyone allowed to send to the queue
could otherwise have the shop mail any text to any address.
"""

from order_service.models.events import Notification, NotificationKind
from order_service.ports import Email, EmailSender, NotificationDeferrals, OrderRepository

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


class UnsendableNotificationError(Exception):
    """The notification is not one the stored order announces: its order does not exist, is
    not final, or is final in another status. Sending it later would not change that, so it
    is dropped, not retried. `reason` names statuses and kinds only, never customer data."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"notification not sent: {reason}")
        self.reason = reason


def stored_notification(notification: Notification, *, orders: OrderRepository) -> Notification:
    """The notification as the stored order makes it (its address, total and reason), provided
    it is the queued one: the same id, for the status the order has.

    An order's final status never changes again, so a mismatch is final too. The id must match
    as well as the kind: it is the key that stops a second e-mail, and a queued notification
    naming another order's id would otherwise use up that order's e-mail."""
    order = orders.get(notification.order_id)
    if order is None:
        raise UnsendableNotificationError("its order does not exist")
    if not order.status.is_final:
        raise UnsendableNotificationError(f"its order is {order.status.value}, not final")
    stored = Notification.of(order)
    if stored.kind is not notification.kind or stored.notification_id != notification.notification_id:
        raise UnsendableNotificationError(f"it is {notification.kind.value} and its order is {order.status.value}")
    return stored


def send_notification(
    notification: Notification, *, orders: OrderRepository, sender: str, mailer: EmailSender
) -> tuple[Notification, str]:
    """Send the e-mail of the stored order the notification is about; return what was sent and
    the provider's message id. UnsendableNotificationError when the order does not announce it.

    Sending once per notification id is the caller's job (the handler wraps this in
    Powertools idempotency), so this stays a plain function that is easy to test.
    """
    stored = stored_notification(notification, orders=orders)
    return stored, mailer.send(render(stored, sender=sender))


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
