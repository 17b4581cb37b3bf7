"""The article's handler as a reader would ship it: its Patterns 1 to 3 put together.

Module-level Logger, Tracer and Metrics; a `boto3.resource` table and an SQS client created
once per container; a Pydantic model validating the event; the decorators of Pattern 1 with
`log_event=True`; the order loaded, updated and a notification queued.
"""

import json
import os
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, field_validator

logger = Logger(service="order-service")
tracer = Tracer()
metrics = Metrics(namespace="OrderService")

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(os.environ["TABLE_NAME"])
sqs = boto3.client("sqs")


class OrderEvent(BaseModel):
    order_id: str
    customer_id: str
    amount: float
    currency: str = "USD"
    created_at: datetime | None = None

    @field_validator("amount")
    @classmethod
    def amount_must_be_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("Amount must be positive")
        return value


def process_order(order: OrderEvent) -> dict[str, Any]:
    key = {"PK": f"order#{order.order_id}", "SK": "order"}
    table.get_item(Key=key)
    table.update_item(
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed"},
    )
    sqs.send_message(
        QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps({"action": "notify", "order_id": order.order_id})
    )
    return {"order_id": order.order_id, "status": "completed"}


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = event["detail"]["orderId"]
    logger.info("Processing order", extra={"order_id": order_id})
    try:
        order = OrderEvent(
            order_id=order_id,
            customer_id=event["detail"]["customerId"],
            amount=float(event["detail"]["total"]),
            currency=event["detail"]["currency"],
        )
        result = process_order(order)
        metrics.add_metric(name="OrderProcessed", unit=MetricUnit.Count, value=1)
        return {"statusCode": 200, "body": result}
    except Exception:
        logger.exception("Failed to process order")
        metrics.add_metric(name="OrderFailed", unit=MetricUnit.Count, value=1)
        raise
