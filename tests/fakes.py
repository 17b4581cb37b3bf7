"""In-memory implementations of the service's ports, for fast unit tests."""

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from order_service.models.events import Notification, OrderPlaced
from order_service.models.order import Order, OrderStatus
from order_service.ports import (
    Email,
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderNotFoundError,
    OrderPage,
    PendingOrders,
    PublishError,
    TransitionConflictError,
)


class InMemoryOrders:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.transitions = 0
        self._lock = threading.Lock()

    def add(self, order: Order) -> None:
        with self._lock:
            if order.order_id in self.orders:
                raise OrderAlreadyExistsError(order.order_id)
            self.orders[order.order_id] = order

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def list_by_customer(self, customer_id: str, limit: int, page_token: str | None) -> OrderPage:
        mine = sorted(
            (order for order in self.orders.values() if order.customer_id == customer_id),
            key=lambda order: (order.created_at, order.order_id),
            reverse=True,
        )
        start = 0
        if page_token is not None:
            try:
                start = int(base64.b64decode(page_token))
            except ValueError:
                raise InvalidPageTokenError("bad token") from None
        page = mine[start : start + limit]
        more = start + limit < len(mine)
        return OrderPage(tuple(page), base64.b64encode(str(start + limit).encode()).decode() if more else None)

    def transition(
        self, order_id: str, *, expected: OrderStatus, new: OrderStatus, reason: str | None, at: datetime
    ) -> Order:
        with self._lock:
            current = self.orders.get(order_id)
            if current is None:
                raise OrderNotFoundError(order_id)
            if current.status is not expected:
                raise TransitionConflictError(current)
            updated = current.model_copy(
                update={"status": new, "reason": reason, "updated_at": at, "version": current.version + 1}
            )
            self.orders[order_id] = updated
            self.transitions += 1
            return updated

    def pending_before(self, cutoff: datetime, limit: int) -> PendingOrders:
        with self._lock:
            pending = [o for o in self.orders.values() if o.status is OrderStatus.PENDING and o.created_at < cutoff]
        return PendingOrders(tuple(sorted(pending, key=lambda order: (order.created_at, order.order_id))[:limit]))


@dataclass
class RecordingPublisher:
    published: list[OrderPlaced] = field(default_factory=list)
    fail: bool = False

    def publish_order_placed(self, event: OrderPlaced) -> None:
        if self.fail:
            raise PublishError("the bus is down")
        self.published.append(event)


@dataclass
class RecordingQueue:
    queued: list[Notification] = field(default_factory=list)

    def enqueue(self, notification: Notification) -> None:
        self.queued.append(notification)


@dataclass
class RecordingMailer:
    sent: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> str:
        self.sent.append(email)
        return f"message-{len(self.sent)}"


@dataclass
class SteppingClock:
    """Each call is one millisecond later than the last."""

    now: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now
