"""What the service announces: the `OrderPlaced` event and the customer notification."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from order_service.models.order import EmailAddress, Order, OrderId, OrderStatus

ORDER_PLACED = "OrderPlaced"


class OrderPlaced(BaseModel):
    """`detail` of the EventBridge event, camelCase on the wire (`detail.orderId`).

    It carries no e-mail address: consumers that need one load the order.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    order_id: OrderId
    customer_id: Annotated[str, Field(max_length=64)]
    currency: Annotated[str, Field(max_length=3)]
    total: Annotated[str, Field(max_length=17)]
    item_count: Annotated[int, Field(ge=1)]
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

    notification_id: Annotated[str, Field(min_length=1, max_length=128)]
    kind: NotificationKind
    order_id: OrderId
    recipient: EmailAddress
    currency: Annotated[str, Field(max_length=3)]
    total: Annotated[str, Field(max_length=17)]
    reason: Annotated[str | None, Field(max_length=500)] = None

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
