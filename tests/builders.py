"""Small builders of valid requests and orders, so each test states only what matters to it."""

import uuid
from typing import Any

from order_service.models.order import PlaceOrderRequest


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
