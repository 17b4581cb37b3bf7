"""Turning stored order changes into announcements.

Every change the store records reaches this service through the store's own change log
(the DynamoDB stream, or the PostgreSQL outbox), so a stored change is never left
unannounced: a new order becomes `OrderPlaced` on the event bus; a final status becomes
the customer's notification on the queue.
"""

from collections.abc import Callable
from enum import StrEnum

from order_service.models.events import Notification, OrderPlaced
from order_service.ports import ChangeOutbox, NotificationQueue, OrderChange, OrderEventPublisher, RelayedBatch


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


def relay_changes(
    outbox: ChangeOutbox,
    *,
    events: OrderEventPublisher,
    notifications: NotificationQueue,
    batch_size: int = 100,
    time_left: Callable[[], bool] = lambda: True,
) -> RelayedBatch:
    """Announce every pending change of the outbox, batch after batch, while time is left.

    Returns the totals; a change set aside (it can never be announced) does not stop the run.
    Time is checked before each change too: a slow bus or queue cuts a batch short, and what
    was announced of it is kept."""
    taken = published = set_aside = 0
    while time_left():
        batch = outbox.publish_pending(
            batch_size,
            lambda change: announce(change, events=events, notifications=notifications),
            time_left=time_left,
        )
        taken, published, set_aside = taken + batch.taken, published + batch.published, set_aside + batch.set_aside
        if batch.taken < batch_size:
            break
    return RelayedBatch(taken, published, set_aside)
