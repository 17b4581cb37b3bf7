"""How an order is laid out as a DynamoDB item (also how stream images are read back).

Single table: `PK = order#<id>`, `SK = order`; the `GSI1` index lists a customer's
orders newest first (`GSI1PK = customer#<id>`, `GSI1SK = <created_at>#<id>`). The sparse
`GSI2` index holds only the orders still pending, oldest first, spread over
`PENDING_SHARDS` partitions by a hash of the order id so no partition takes every write
(`GSI2PK = pending#<shard>`, `GSI2SK = <created_at in UTC>#<id>`): an order enters it when
stored pending, and leaves it when its guarded transition REMOVEs both attributes.
"""

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from order_service.models.order import Order, OrderStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = Mapping[str, "AttributeValueTypeDef"]
ORDER_SK = "order"
CUSTOMER_INDEX = "GSI1"
PENDING_INDEX = "GSI2"
# Only ever grow this: a pending order stays in the shard it was written to, and the sweep
# queries shards 0..PENDING_SHARDS-1.
PENDING_SHARDS = 8
PENDING_INDEX_ATTRIBUTES = ("GSI2PK", "GSI2SK")


def order_key(order_id: str) -> dict[str, "AttributeValueTypeDef"]:
    return {"PK": {"S": f"order#{order_id}"}, "SK": {"S": ORDER_SK}}


def customer_partition(customer_id: str) -> str:
    return f"customer#{customer_id}"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def pending_partition(shard: int) -> str:
    return f"pending#{shard}"


def pending_shard(order_id: str) -> int:
    """A stable shard for the order: the same in every process (unlike `hash`)."""
    return zlib.crc32(order_id.encode()) % PENDING_SHARDS


def pending_sort_key_bound(moment: datetime) -> str:
    """What `GSI2SK` starts with for an order created at `moment`; an order created exactly then
    sorts after it (`<created_at>#<id>` > `<created_at>`), so `GSI2SK < bound` is "created before".
    In UTC, so that string order is time order whatever offset an order was created with."""
    return _timestamp(moment.astimezone(UTC))


def to_item(order: Order) -> dict[str, "AttributeValueTypeDef"]:
    item: dict[str, AttributeValueTypeDef] = {
        **order_key(order.order_id),
        "GSI1PK": {"S": customer_partition(order.customer_id)},
        "GSI1SK": {"S": f"{_timestamp(order.created_at)}#{order.order_id}"},
        "order_id": {"S": order.order_id},
        "customer_id": {"S": order.customer_id},
        "customer_email": {"S": order.customer_email},
        "currency": {"S": order.currency},
        "total_minor": {"N": str(order.total_minor)},
        "items": {
            "L": [
                {
                    "M": {
                        "sku": {"S": item.sku},
                        "quantity": {"N": str(item.quantity)},
                        "unit_price_minor": {"N": str(item.unit_price_minor)},
                    }
                }
                for item in order.items
            ]
        },
        "status": {"S": order.status.value},
        "created_at": {"S": _timestamp(order.created_at)},
        "updated_at": {"S": _timestamp(order.updated_at)},
        "version": {"N": str(order.version)},
    }
    if order.status is OrderStatus.PENDING:
        item["GSI2PK"] = {"S": pending_partition(pending_shard(order.order_id))}
        item["GSI2SK"] = {"S": f"{pending_sort_key_bound(order.created_at)}#{order.order_id}"}
    if order.reason is not None:
        item["reason"] = {"S": order.reason}
    if order.idempotency_key is not None:
        item["idempotency_key"] = {"S": order.idempotency_key}
    if order.request_fingerprint is not None:
        item["request_fingerprint"] = {"S": order.request_fingerprint}
    return item


def _optional_string(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def from_item(item: Mapping[str, Any]) -> Order:
    """An order from a DynamoDB item or stream image (both use the typed JSON form).

    Validated as one document, so that an error names its field's whole path (`items.0.sku`)."""
    return Order.model_validate(
        {
            "order_id": item["order_id"]["S"],
            "customer_id": item["customer_id"]["S"],
            "customer_email": item["customer_email"]["S"],
            "currency": item["currency"]["S"],
            "items": [
                {
                    "sku": entry["M"]["sku"]["S"],
                    "quantity": int(entry["M"]["quantity"]["N"]),
                    "unit_price_minor": int(entry["M"]["unit_price_minor"]["N"]),
                }
                for entry in item["items"]["L"]
            ],
            "total_minor": int(item["total_minor"]["N"]),
            "status": OrderStatus(item["status"]["S"]),
            "reason": _optional_string(item, "reason"),
            "created_at": datetime.fromisoformat(item["created_at"]["S"]),
            "updated_at": datetime.fromisoformat(item["updated_at"]["S"]),
            "version": int(item["version"]["N"]),
            "idempotency_key": _optional_string(item, "idempotency_key"),
            "request_fingerprint": _optional_string(item, "request_fingerprint"),
        }
    )
