"""Small builders of valid requests and orders, so each test states only what matters to it."""

import uuid
from datetime import UTC, datetime
from typing import Any

from order_service.models.order import LineItem, Order, OrderStatus, PlaceOrderRequest


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": f"customer-{uuid.uuid4().hex[:12]}",
        "customer_email": f"buyer-{uuid.uuid4().hex[:8]}@example.com",
        "currency": "EUR",
        "items": [
            {"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"},
            {"sku": "PEN-9", "quantity": 1, "unit_price": "3.05"},
        ],
    }
    body.update(overrides)
    return body


def order_request(**overrides: Any) -> PlaceOrderRequest:
    return PlaceOrderRequest.model_validate(order_body(**overrides))


def a_pending_order(
    *,
    customer_id: str = "c-1",
    customer_email: str = "buyer@example.com",
    at: datetime | None = None,
    order_id: str | None = None,
    unit_price_minor: int = 100,
) -> Order:
    """A stored order as the service writes one: pending, one line item, its total computed."""
    placed_at = at or datetime.now(UTC)
    return Order(
        order_id=order_id or str(uuid.uuid4()),
        customer_id=customer_id,
        customer_email=customer_email,
        currency="EUR",
        items=(LineItem(sku="A", quantity=1, unit_price_minor=unit_price_minor),),
        total_minor=unit_price_minor,
        status=OrderStatus.PENDING,
        created_at=placed_at,
        updated_at=placed_at,
    )
