"""The DynamoDB order repository: conditional writes, guarded transitions, GSI listing."""

import base64
import binascii
import heapq
import json
from datetime import datetime
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
from order_service.models.order import Order, OrderStatus
from order_service.ports import (
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderNotFoundError,
    OrderPage,
    TransitionConflictError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_PAGE_KEY_ATTRIBUTES = frozenset({"PK", "SK", "GSI1PK", "GSI1SK"})


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
            query["ExclusiveStartKey"] = _decode_page_token(page_token, customer_id)
        response = self._client.query(**query)
        last_key = response.get("LastEvaluatedKey")
        return OrderPage(
            orders=tuple(from_item(item) for item in response.get("Items", [])),
            next_token=None if last_key is None else _encode_page_token(last_key),
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

    def pending_before(self, cutoff: datetime, limit: int) -> tuple[Order, ...]:
        """Each shard of the sparse pending index holds its orders oldest first: the oldest
        `limit` overall are among the oldest `limit` of each shard. The index is eventually
        consistent, so an order decided a moment ago may still be listed."""
        bound = pending_sort_key_bound(cutoff)
        shards = [self._pending_in_shard(shard, bound, limit) for shard in range(PENDING_SHARDS)]
        oldest = heapq.merge(*shards, key=lambda order: (order.created_at, order.order_id))
        return tuple(islice(oldest, limit))

    def _pending_in_shard(self, shard: int, bound: str, limit: int) -> list[Order]:
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
            found.extend(from_item(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if last_key is None:
                break
            query["ExclusiveStartKey"] = last_key
        return found


def _encode_page_token(last_key: Any) -> str:
    plain = {name: value["S"] for name, value in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _decode_page_token(token: str, customer_id: str) -> dict[str, Any]:
    """Accept only a key this repository issued, and only for the same customer."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidPageTokenError("next_token is not a token this API issued") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != _PAGE_KEY_ATTRIBUTES
        or not all(isinstance(value, str) for value in plain.values())
        or plain["GSI1PK"] != customer_partition(customer_id)
    ):
        raise InvalidPageTokenError("next_token is not a token this API issued for this customer")
    return {name: {"S": value} for name, value in plain.items()}
