"""The business rules that decide an order's fate."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from order_service.models.money import format_minor_units, to_minor_units
from order_service.models.order import Order, OrderStatus


@dataclass(frozen=True)
class OrderRules:
    """Supported currencies, each with its maximum order total (in major units)."""

    max_totals: Mapping[str, Decimal]

    def decide(self, order: Order) -> tuple[OrderStatus, str | None]:
        limit = self.max_totals.get(order.currency)
        if limit is None:
            return OrderStatus.REJECTED, f"currency {order.currency} is not supported"
        limit_minor = to_minor_units(limit, order.currency)
        if order.total_minor > limit_minor:
            limit_text = format_minor_units(limit_minor, order.currency)
            return (
                OrderStatus.REJECTED,
                f"total {order.total} {order.currency} exceeds the maximum of {limit_text} {order.currency}",
            )
        return OrderStatus.COMPLETED, None
