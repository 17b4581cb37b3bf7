"""The DynamoDB order repository: conditional writes, guarded transitions, GSI listing."""

import heapq
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from order_service.adapters.dynamodb_items import (
    CUSTOMER_INDEX,
    PENDING_INDEX,
    PENDING_INDEX_ATTRIBUTES,
    PENDING_SHARDS,
    customer_partition,
    from_item,
    order_key,
    pending_partition,
    pending_sort_key_bound,
    to_item,
)
from order_service.adapters.page_tokens import dynamodb_page_token, dynamodb_start_key
from order_service.adapters.unreadable import read_order
from order_service.models.order import Order, OrderStatus
from order_service.ports import (
    OrderAlreadyExistsError,
    OrderNotFoundError,
    OrderPage,
    PendingOrders,
    TransitionConflictError,
    UnreadableOrder,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _is_conditional_check_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoDbOrderRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, order: Order) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(order),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if _is_conditional_check_failure(error):
                raise OrderAlreadyExistsError(order.order_id) from None
            raise

    def get(self, order_id: str) -> Order | None:
        response = self._client.get_item(TableName=self._table, Key=order_key(order_id), ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else from_item(item)

    def list_by_customer(self, customer_id: str, limit: int, page_token: str | None) -> OrderPage:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": "GSI1PK = :customer",
            "ExpressionAttributeValues": {":customer": {"S": customer_partition(customer_id)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if page_token is not None:
            query["ExclusiveStartKey"] = dynamodb_start_key(page_token, customer_id)
        response = self._client.query(**query)
        last_key = response.get("LastEvaluatedKey")
        orders, unreadable = _read_items(response.get("Items", []))
        return OrderPage(
            orders=orders,
            next_token=None if last_key is None else dynamodb_page_token(last_key),
            unreadable=unreadable,
        )

    def transition(
        self,
        order_id: str,
        *,
        expected: OrderStatus,
        new: OrderStatus,
        reason: str | None,
        at: datetime,
    ) -> Order:
        values: dict[str, Any] = {
            ":expected": {"S": expected.value},
            ":new": {"S": new.value},
            ":at": {"S": at.isoformat(timespec="microseconds")},
            ":one": {"N": "1"},
        }
        update = "SET #status = :new, updated_at = :at, version = version + :one"
        removed: list[str] = []
        if reason is None:
            removed.append("reason")
        else:
            update += ", reason = :reason"
            values[":reason"] = {"S": reason}
        if new is not OrderStatus.PENDING:
            # Out of the sparse pending index: the sweep no longer sees the order.
            removed.extend(PENDING_INDEX_ATTRIBUTES)
        if removed:
            update += " REMOVE " + ", ".join(removed)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=order_key(order_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(PK) AND #status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_conditional_check_failure(error):
                raise
            current: Any = error.response.get("Item")
            if current is None:
                raise OrderNotFoundError(order_id) from None
            raise TransitionConflictError(from_item(current)) from None
        return from_item(response["Attributes"])

    def pending_before(self, cutoff: datetime, limit: int) -> PendingOrders:
        """Each shard of the sparse pending index holds its orders oldest first: the oldest
        `limit` overall are among the oldest `limit` of each shard. The index is eventually
        consistent, so an order decided a moment ago may still be listed. An order that no
        longer reads is skipped, not counted, and named in `unreadable`."""
        bound = pending_sort_key_bound(cutoff)
        unreadable: list[UnreadableOrder] = []
        shards = [self._pending_in_shard(shard, bound, limit, unreadable) for shard in range(PENDING_SHARDS)]
        oldest = heapq.merge(*shards, key=lambda order: (order.created_at, order.order_id))
        return PendingOrders(tuple(islice(oldest, limit)), tuple(unreadable))

    def _pending_in_shard(self, shard: int, bound: str, limit: int, unreadable: list[UnreadableOrder]) -> list[Order]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "GSI2PK = :shard AND GSI2SK < :bound",
            "ExpressionAttributeValues": {":shard": {"S": pending_partition(shard)}, ":bound": {"S": bound}},
            "ScanIndexForward": True,
        }
        found: list[Order] = []
        while len(found) < limit:
            response = self._client.query(**query, Limit=limit - len(found))
            orders, skipped = _read_items(response.get("Items", []))
            found.extend(orders)
            unreadable.extend(skipped)
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                break
            query["ExclusiveStartKey"] = last_key
        return found


def _read_items(items: Iterable[Mapping[str, Any]]) -> tuple[tuple[Order, ...], tuple[UnreadableOrder, ...]]:
    """The items that read as orders, and the ones that do not, each in the order given."""
    orders: list[Order] = []
    unreadable: list[UnreadableOrder] = []
    for item in items:
        read = read_order(_stored_order_id(item), partial(from_item, item))
        if isinstance(read, UnreadableOrder):
            unreadable.append(read)
        else:
            orders.append(read)
    return tuple(orders), tuple(unreadable)


def _stored_order_id(item: Mapping[str, Any]) -> str:
    """The order's id, from its key if the attribute itself is the broken part."""
    key = item.get("PK", {}).get("S", "")
    return str(item.get("order_id", {}).get("S") or (key.removeprefix("order#") if isinstance(key, str) else "?"))
