"""An order's life: placed, read, listed, cancelled, and decided."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from order_service.models.order import (
    Order,
    OrderStatus,
    PlaceOrderRequest,
    priced_items,
    request_fingerprint,
)
from order_service.ports import (
    Clock,
    OrderAlreadyExistsError,
    OrderNotFoundError,
    OrderPage,
    OrderRepository,
    TransitionConflictError,
)
from order_service.services.rules import OrderRules

# Order ids derived from an Idempotency-Key live in their own UUID namespace.
_IDEMPOTENT_ORDER_IDS = uuid.UUID("8f0e5b7e-55a7-4c4e-9a43-3f1b0c3a6d21")


class IdempotencyKeyReusedError(Exception):
    """The same Idempotency-Key came back with a different request."""


class InvalidTransitionError(Exception):
    def __init__(self, order: Order, wanted: OrderStatus) -> None:
        super().__init__(f"order {order.order_id} is {order.status.value}; it cannot become {wanted.value}")
        self.order = order
        self.wanted = wanted


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    replayed: bool


@dataclass(frozen=True)
class ProcessOutcome:
    order: Order
    transitioned: bool


def order_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """A fresh id, or the same id every time a customer retries with the same key."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENT_ORDER_IDS, f"{customer_id}\n{idempotency_key}"))


def pending_order(request: PlaceOrderRequest, *, at: datetime, idempotency_key: str | None = None) -> Order:
    """The order `request` places, as it is stored: pending, with the total the service computes
    and, under an Idempotency-Key, the id derived from it."""
    items = priced_items(request)
    return Order(
        order_id=order_id_for(request.customer_id, idempotency_key),
        customer_id=request.customer_id,
        customer_email=request.customer_email,
        currency=request.currency,
        items=items,
        total_minor=sum(item.total_minor for item in items),
        status=OrderStatus.PENDING,
        created_at=at,
        updated_at=at,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint(request) if idempotency_key is not None else None,
    )


def place_order(
    request: PlaceOrderRequest,
    *,
    orders: OrderRepository,
    clock: Clock,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Store a new pending order with a server-computed total.

    With an Idempotency-Key the order id is derived from it, so the store's conditional
    write is what refuses a second order: a retry returns the first order, and a different
    request under the same key is refused.
    """
    order = pending_order(request, at=clock(), idempotency_key=idempotency_key)
    try:
        orders.add(order)
    except OrderAlreadyExistsError:
        existing = orders.get(order.order_id)
        if existing is None or existing.request_fingerprint != order.request_fingerprint:
            raise IdempotencyKeyReusedError("this Idempotency-Key was already used with a different request") from None
        return PlacedOrder(existing, replayed=True)
    return PlacedOrder(order, replayed=False)


def get_order(order_id: str, *, orders: OrderRepository) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def list_orders(customer_id: str, *, limit: int, page_token: str | None, orders: OrderRepository) -> OrderPage:
    return orders.list_by_customer(customer_id, limit, page_token)


def cancel_order(order_id: str, *, orders: OrderRepository, clock: Clock) -> Order:
    """Cancel a pending order; InvalidTransitionError once it has been decided."""
    try:
        return orders.transition(
            order_id,
            expected=OrderStatus.PENDING,
            new=OrderStatus.CANCELLED,
            reason="cancelled by the customer",
            at=clock(),
        )
    except TransitionConflictError as conflict:
        raise InvalidTransitionError(conflict.current, OrderStatus.CANCELLED) from None


def process_order(order_id: str, *, orders: OrderRepository, rules: OrderRules, clock: Clock) -> ProcessOutcome:
    """Decide a pending order: `pending -> completed` or `pending -> rejected` with a reason.

    The transition is a guarded update, so a duplicate or concurrent delivery of the same
    event finds the order already decided and changes nothing.
    """
    order = get_order(order_id, orders=orders)
    if order.status is not OrderStatus.PENDING:
        return ProcessOutcome(order, transitioned=False)
    status, reason = rules.decide(order)
    try:
        decided = orders.transition(order_id, expected=OrderStatus.PENDING, new=status, reason=reason, at=clock())
    except TransitionConflictError as conflict:
        return ProcessOutcome(conflict.current, transitioned=False)
    return ProcessOutcome(decided, transitioned=True)
