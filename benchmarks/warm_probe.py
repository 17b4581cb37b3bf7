"""Runs inside the Lambda-like environment: CPU per event of one handler, its ports faked.

    python warm_probe.py SUBJECT COUNT   ->  prints {"cpu_us_per_unit": ..., "units": ...}

SUBJECT is process_order, send_notification, seed (the article's handler) or seed_batch (its
Pattern 4). Tracing and metrics stay on, as in production; their output is discarded.
"""

import contextlib
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10
os.environ.update(
    {
        "AWS_LAMBDA_FUNCTION_NAME": "bench-warm",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "LAMBDA_TASK_ROOT": str(ROOT / "src"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "POWERTOOLS_SERVICE_NAME": "order-service",
        "POWERTOOLS_METRICS_NAMESPACE": "OrderService",
        "LOG_LEVEL": "INFO",
        "ORDERS_TABLE_NAME": "orders",
        "MAX_ORDER_TOTALS": '{"EUR": "10000.00"}',
        "SENDER_EMAIL": "orders@example.com",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "NOTIFICATION_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/notifications",
        "TABLE_NAME": "orders",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/notifications",
    }
)
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks" / "baselines")]


class Context:
    function_name = "bench-warm"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-warm"
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/bench-warm"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class FakeTable:
    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": {"PK": "order#1", "status": "pending"}}

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {}


class FakeSqs:
    def send_message(self, **_: Any) -> dict[str, Any]:
        return {"MessageId": "m"}


def _sqs_batch(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:n",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def prepare(subject: str, count: int) -> tuple[Any, list[dict[str, Any]], int]:
    """The handler with its ports faked, `count` events for it, and units (events or records) per event."""
    from benchmarks import events

    if subject == "process_order":
        from order_service.handlers import process_order

        sys.path.insert(0, str(ROOT))
        from tests.fakes import InMemoryOrders

        orders = InMemoryOrders()
        placed = [events.new_order() for _ in range(count)]
        for order in placed:
            orders.add(order)
        process_order.orders = orders
        return process_order.handler, [events.order_placed(order) for order in placed], 1
    if subject == "seed":
        import seed_pattern

        seed_pattern.table = FakeTable()
        seed_pattern.sqs = FakeSqs()
        return seed_pattern.handler, [events.order_placed(events.new_order()) for _ in range(count)], 1
    if subject == "send_notification":
        from order_service.handlers import send_notification
        from order_service.models.events import Notification
        from order_service.models.order import OrderStatus

        sys.path.insert(0, str(ROOT))
        from tests.fakes import InMemoryOrders, RecordingMailer

        send_notification.mailer = RecordingMailer()  # type: ignore[assignment]
        _fake_persistence(send_notification.persistence)
        # The orders the e-mails are about, where the function reads them.
        stored = InMemoryOrders()
        send_notification.orders = stored
        completed = [events.new_order(OrderStatus.COMPLETED) for _ in range(count * BATCH)]
        for order in completed:
            stored.add(order)
        bodies = [Notification.of(order).model_dump_json() for order in completed]
        return (
            send_notification.handler,
            [_sqs_batch(bodies[i : i + BATCH]) for i in range(0, len(bodies), BATCH)],
            BATCH,
        )
    if subject == "seed_batch":
        import seed_batch
        import seed_pattern

        seed_pattern.table = FakeTable()
        seed_pattern.sqs = FakeSqs()
        bodies = [
            json.dumps({"order_id": str(uuid.uuid4()), "customer_id": "bench", "amount": 25.0, "currency": "EUR"})
            for _ in range(count * BATCH)
        ]
        return seed_batch.handler, [_sqs_batch(bodies[i : i + BATCH]) for i in range(0, len(bodies), BATCH)], BATCH
    raise SystemExit(f"unknown subject {subject}")


def _fake_persistence(persistence: Any) -> None:
    """The idempotency table, in memory: Powertools' own logic runs unchanged on top of it."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyItemAlreadyExistsError,
        IdempotencyItemNotFoundError,
    )

    records: dict[str, Any] = {}

    def put(data_record: Any) -> None:
        if data_record.idempotency_key in records:
            raise IdempotencyItemAlreadyExistsError()
        records[data_record.idempotency_key] = data_record

    def get(idempotency_key: str) -> Any:
        if idempotency_key not in records:
            raise IdempotencyItemNotFoundError()
        return records[idempotency_key]

    persistence._put_record = put
    persistence._get_record = get
    persistence._update_record = lambda data_record: records.__setitem__(data_record.idempotency_key, data_record)
    persistence._delete_record = lambda data_record: records.pop(data_record.idempotency_key, None)


def main() -> None:
    subject, count = sys.argv[1], int(sys.argv[2])
    warm_up = 50
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        handler, batch, units = prepare(subject, count + warm_up)
        for event in batch[:warm_up]:
            handler(event, Context())
        sink.seek(0)
        sink.truncate()
        started = time.process_time()
        for event in batch[warm_up:]:
            handler(event, Context())
            sink.seek(0)
            sink.truncate()
        elapsed = time.process_time() - started
    print(json.dumps({"cpu_us_per_unit": elapsed / (count * units) * 1e6, "units": count * units}))


if __name__ == "__main__":
    main()
