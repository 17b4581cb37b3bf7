"""Orders: the request that places one, the stored order, and its status machine."""

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from order_service.models.money import (
    AmountPrecisionError,
    CurrencyCode,
    DecimalAmount,
    format_minor_units,
    to_minor_units,
)

MAX_ITEMS_PER_ORDER = 50
MAX_QUANTITY = 1_000

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
# A deliberately plain check: one @, no spaces, a dotted domain, RFC 5321 length limit.
# Deliverability is SES's business; this only refuses what can never be an address.
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"),
]
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class OrderStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self is not OrderStatus.PENDING


class LineItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
    unit_price: Annotated[DecimalAmount, Field(description="Decimal string in the order's currency, e.g. '12.50'")]


class PlaceOrderRequest(BaseModel):
    """Body of `POST /orders`. The total is never accepted from the client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: CustomerId
    customer_email: EmailAddress
    currency: CurrencyCode
    items: Annotated[list[LineItemRequest], Field(min_length=1, max_length=MAX_ITEMS_PER_ORDER)]

    @model_validator(mode="after")
    def _prices_fit_the_currency(self) -> Self:
        for item in self.items:
            try:
                to_minor_units(item.unit_price, self.currency)
            except AmountPrecisionError as error:
                raise ValueError(f"{item.sku}: {error}") from None
        return self


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


class Order(BaseModel):
    """An order as stored. Amounts are integer minor units of `currency`."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str
    customer_email: str
    currency: str
    items: tuple[LineItem, ...]
    total_minor: int
    status: OrderStatus
    reason: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    idempotency_key: str | None = None
    request_fingerprint: str | None = None

    @property
    def total(self) -> str:
        return format_minor_units(self.total_minor, self.currency)


def priced_items(request: PlaceOrderRequest) -> tuple[LineItem, ...]:
    return tuple(
        LineItem(
            sku=item.sku,
            quantity=item.quantity,
            unit_price_minor=to_minor_units(item.unit_price, request.currency),
        )
        for item in request.items
    )


def request_fingerprint(request: PlaceOrderRequest) -> str:
    """A digest of what the request means, so '12.5' and '12.50' count as the same request."""
    canonical = "\n".join(
        [request.customer_id, request.customer_email, request.currency]
        + [f"{item.sku}\t{item.quantity}\t{item.unit_price_minor}" for item in priced_items(request)]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class LineItemView(BaseModel):
    sku: str
    quantity: int
    unit_price: str
    line_total: str


class OrderView(BaseModel):
    """An order as the API shows it: amounts as decimal strings."""

    order_id: str
    customer_id: str
    customer_email: str
    status: OrderStatus
    reason: str | None
    currency: str
    total: str
    items: list[LineItemView]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> Self:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            customer_email=order.customer_email,
            status=order.status,
            reason=order.reason,
            currency=order.currency,
            total=order.total,
            items=[
                LineItemView(
                    sku=item.sku,
                    quantity=item.quantity,
                    unit_price=format_minor_units(item.unit_price_minor, order.currency),
                    line_total=format_minor_units(item.total_minor, order.currency),
                )
                for item in order.items
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderPageView(BaseModel):
    orders: list[OrderView]
    next_token: str | None = Field(description="Pass back as `next_token` for the next page")
