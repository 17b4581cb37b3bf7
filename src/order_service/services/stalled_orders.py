"""Re-announcing orders left pending: nothing waits forever.

An order is announced once, from the store's change log. Should that `OrderPlaced` still be
lost on the way (the rule's delivery to Lambda given up, `process_order` failing three times),
the order would stay pending for good. The sweep publishes `OrderPlaced` again for every order
still pending past an age; `process_order` is a guarded transition, so an order that was
decided in the meantime, or is announced twice, is decided once and notified once.

A pending order that no longer reads as an order (a bound tightened since, a corrupted item)
cannot be announced; it is reported, and the sweep goes on with the others.
"""

from collections.abc import Callable
from datetime import timedelta

from order_service.models.events import OrderPlaced
from order_service.models.order import Order
from order_service.ports import Clock, OrderEventPublisher, OrderRepository, UnreadableOrder


def reannounce_stalled_orders(
    *,
    orders: OrderRepository,
    events: OrderEventPublisher,
    clock: Clock,
    older_than: timedelta,
    limit: int,
    time_left: Callable[[], bool] = lambda: True,
    on_reannounced: Callable[[Order], object] = lambda _order: None,
    on_unreadable: Callable[[UnreadableOrder], object] = lambda _order: None,
) -> int:
    """Publish `OrderPlaced` again for up to `limit` orders pending for longer than `older_than`,
    oldest first, while time is left; return how many were published. A publish that fails stops
    the sweep and is raised: the orders not yet published are the next run's work. Each pending
    order that no longer reads goes to `on_unreadable` first, and takes no place in `limit`."""
    stalled = orders.pending_before(clock() - older_than, limit)
    for unreadable in stalled.unreadable:
        on_unreadable(unreadable)
    published = 0
    for order in stalled.orders:
        if not time_left():
            break
        events.publish_order_placed(OrderPlaced.of(order))
        on_reannounced(order)
        published += 1
    return published
