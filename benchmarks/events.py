"""AWS-shaped events for the benchmarks, one fresh subject per call."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from order_service.adapters.dynamodb_items import to_item
from order_service.models.events import Notification, OrderPlaced
from order_service.models.order import LineItem, Order, OrderStatus


def new_order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    now = datetime.now(UTC)
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id="bench",
        customer_email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
        currency="EUR",
        items=(LineItem(sku="BOOK-1", quantity=2, unit_price_minor=1250),),
        total_minor=2500,
        status=status,
        created_at=now,
        updated_at=now,
    )


def place_order_request() -> dict[str, Any]:
    body = {
        "customer_id": "bench",
        "customer_email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
        "currency": "EUR",
        "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}],
    }
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "v1",
            "httpMethod": "POST",
            "path": "/v1/orders",
            "resourcePath": "/orders",
            "identity": {"sourceIp": "127.0.0.1"},
            "accountId": "123456789012",
            "apiId": "bench",
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def order_placed(order: Order) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "OrderPlaced",
        "source": "order-service",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(OrderPlaced.of(order).model_dump_json(by_alias=True)),
    }


def stream_insert(order: Order, stream_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()),
                    "Keys": {"PK": {"S": f"order#{order.order_id}"}, "SK": {"S": "order"}},
                    "NewImage": to_item(order),
                    "SequenceNumber": str(uuid.uuid4().int % 10**20),
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": stream_arn,
            }
        ]
    }


def notification_batch(size: int = 1, *, store: Callable[[Order], None] | None = None) -> dict[str, Any]:
    """Notifications of completed orders; `store` keeps each order where the function reads it
    (send_notification mails only an order it finds)."""
    records = []
    for _ in range(size):
        order = new_order(OrderStatus.COMPLETED)
        if store is not None:
            store(order)
        body = Notification.of(order).model_dump_json()
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "bench"},
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}
