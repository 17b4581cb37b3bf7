"""Turning stored order changes into announcements.

Every change the store records reaches this service through the store's own change log
(the DynamoDB stream, or the PostgreSQL outbox), so a stored change is never left
unannounced: a new order becomes `OrderPlaced` on the event bus; a final status becomes
the customer's notification on the queue.
"""

from dataclasses import dataclass
from enum import StrEnum

from order_service.models.events import Notification, OrderPlaced
from order_service.models.order import Order
from order_service.ports import NotificationQueue, OrderEventPublisher


@dataclass(frozen=True)
class OrderChange:
    """One stored change: `before` is None for a new order."""

    before: Order | None
    after: Order


class Announcement(StrEnum):
    ORDER_PLACED = "order_placed"
    NOTIFICATION_QUEUED = "notification_queued"
    NOTHING = "nothing"


def announce(change: OrderChange, *, events: OrderEventPublisher, notifications: NotificationQueue) -> Announcement:
    before, after = change.before, change.after
    if before is None:
        events.publish_order_placed(OrderPlaced.of(after))
        return Announcement.ORDER_PLACED
    if before.status is not after.status and after.status.is_final:
        notifications.enqueue(Notification.of(after))
        return Announcement.NOTIFICATION_QUEUED
    return Announcement.NOTHING
