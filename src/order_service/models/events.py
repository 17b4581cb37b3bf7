"""What the service announces: the `OrderPlaced` event and the customer notification."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from order_service.models.bounds import MAX_AMOUNT_TEXT_LENGTH, MAX_ITEMS_PER_ORDER, NOTIFICATION_ID_MAX_LENGTH
from order_service.models.order import CustomerId, EmailAddress, Order, OrderId, OrderStatus, Reason

# An amount as a decimal string, as long as the largest amount an order may hold.
AmountText = Annotated[str, Field(min_length=1, max_length=MAX_AMOUNT_TEXT_LENGTH)]
Currency = Annotated[str, Field(min_length=3, max_length=3)]

ORDER_PLACED = "OrderPlaced"


class OrderPlaced(BaseModel):
    """`detail` of the EventBridge event, camelCase on the wire (`detail.orderId`).

    It carries no e-mail address: consumers that need one load the order.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    order_id: OrderId
    customer_id: CustomerId
    currency: Currency
    total: AmountText
    item_count: Annotated[int, Field(ge=1, le=MAX_ITEMS_PER_ORDER)]
    placed_at: datetime

    @classmethod
    def of(cls, order: Order) -> Self:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            currency=order.currency,
            total=order.total,
            item_count=len(order.items),
            placed_at=order.created_at,
        )


class NotificationKind(StrEnum):
    ORDER_COMPLETED = "order_completed"
    ORDER_REJECTED = "order_rejected"
    ORDER_CANCELLED = "order_cancelled"


_KIND_BY_STATUS = {
    OrderStatus.COMPLETED: NotificationKind.ORDER_COMPLETED,
    OrderStatus.REJECTED: NotificationKind.ORDER_REJECTED,
    OrderStatus.CANCELLED: NotificationKind.ORDER_CANCELLED,
}


class Notification(BaseModel):
    """One e-mail to one customer, queued on SQS. `notification_id` makes sending idempotent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notification_id: Annotated[str, Field(min_length=1, max_length=NOTIFICATION_ID_MAX_LENGTH)]
    kind: NotificationKind
    order_id: OrderId
    recipient: EmailAddress
    currency: Currency
    total: AmountText
    reason: Reason | None = None

    @classmethod
    def of(cls, order: Order) -> Self:
        """The notification for an order's final status; its id is stable across retries."""
        kind = _KIND_BY_STATUS[order.status]
        return cls(
            notification_id=f"{order.order_id}:{order.status.value}",
            kind=kind,
            order_id=order.order_id,
            recipient=order.customer_email,
            currency=order.currency,
            total=order.total,
            reason=order.reason,
        )
