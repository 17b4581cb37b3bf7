"""Orders: the request that places one, the stored order, and its status machine."""

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from order_service.models.bounds import (
    EMAIL_DOMAIN_LABEL_MAX_LENGTH,
    EMAIL_LOCAL_PART_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    ID_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_ITEMS_PER_ORDER,
    MAX_MINOR_UNITS,
    MAX_QUANTITY,
    REASON_MAX_LENGTH,
)
from order_service.models.money import (
    AmountPrecisionError,
    CurrencyCode,
    DecimalAmount,
    format_minor_units,
    to_minor_units,
)

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
# RFC 5321's mailbox: a dot-atom or a quoted local part of at most 64 characters, in ASCII
# because SES does not support SMTPUTF8, at a dotted domain. An address SES could never send
# to is refused here, not dead-lettered later; deliverability beyond that is SES's business.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
# No @ even between quotes: SES, like most software, splits an address at its first @.
_LOCAL_PART = rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:[!#-?A-\[\]-~]|\\[!-?A-~])+")'
_LABEL = f"[A-Za-z0-9-]{{1,{EMAIL_DOMAIN_LABEL_MAX_LENGTH}}}"


def _local_part_fits(address: str) -> str:
    if len(address.rsplit("@", 1)[0]) > EMAIL_LOCAL_PART_MAX_LENGTH:
        raise ValueError(f"the part before the @ must be at most {EMAIL_LOCAL_PART_MAX_LENGTH} characters")
    return address


def _explain_a_mismatch(address: object, validate: ValidatorFunctionWrapHandler) -> str:
    """Say what an address must be, instead of echoing the (long) pattern it failed."""
    try:
        checked: str = validate(address)
    except ValidationError as error:
        if any(issue["type"] == "string_pattern_mismatch" for issue in error.errors()):
            raise PydanticCustomError(
                "email_address",
                "must be an e-mail address SES can send to: an ASCII local part (letters, digits and"
                " !#$%&'*+/=?^_`{|}~- in dot-separated words, or a quoted string without @), @, and a"
                " dotted domain of letters, digits and hyphens",
            ) from None
        raise
    return checked


EmailAddress = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX_LENGTH, pattern=rf"^{_LOCAL_PART}@{_LABEL}(\.{_LABEL})+$"),
    WrapValidator(_explain_a_mismatch),
    AfterValidator(_local_part_fits),
]
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9-]+$")]
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Reason = Annotated[str, StringConstraints(max_length=REASON_MAX_LENGTH)]


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

    @field_validator("items")
    @classmethod
    def _amounts_fit_the_currency(cls, items: list[LineItemRequest], info: ValidationInfo) -> list[LineItemRequest]:
        currency = info.data.get("currency")
        if currency is None:  # refused on its own field
            return items
        total = 0
        for item in items:
            try:
                total += item.quantity * to_minor_units(item.unit_price, currency)
            except AmountPrecisionError as error:
                raise ValueError(f"{item.sku}: {error}") from None
        if total > MAX_MINOR_UNITS:
            largest = format_minor_units(MAX_MINOR_UNITS, currency)
            raise ValueError(f"the order total must not exceed {largest} {currency}")
        return items


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: Sku
    quantity: Quantity
    unit_price_minor: MinorUnits

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


class Order(BaseModel):
    """An order as stored. Amounts are integer minor units of `currency`."""

    model_config = ConfigDict(frozen=True)

    order_id: OrderId
    customer_id: CustomerId
    # Only its length: an address stored before a tighter check must still be readable.
    customer_email: Annotated[str, StringConstraints(min_length=3, max_length=EMAIL_MAX_LENGTH)]
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    items: Annotated[tuple[LineItem, ...], Field(min_length=1, max_length=MAX_ITEMS_PER_ORDER)]
    total_minor: MinorUnits
    status: OrderStatus
    reason: Reason | None = None
    created_at: datetime
    updated_at: datetime
    version: Annotated[int, Field(ge=1)] = 1
    idempotency_key: Annotated[str, StringConstraints(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)] | None = None
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
