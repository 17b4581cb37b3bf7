"""process_order, driven by EventBridge events, with the pipeline running behind it."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from samlocal.local_stack import LocalStack

from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository
from order_service.services.order_lifecycle import ProcessOutcome, process_order
from order_service.services.rules import OrderRules
from tests.builders import order_body
from tests.events import api_request, order_placed
from tests.integration.conftest import ApiAnswer, eventually

CallApi = Callable[[dict[str, Any]], ApiAnswer]


def stored_version(stack: LocalStack, order_id: str) -> tuple[str, int]:
    table = stack.resources.tables["OrdersTable"]
    item = stack.client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": f"order#{order_id}"}, "SK": {"S": "order"}}, ConsistentRead=True
    )["Item"]
    return item["status"]["S"], int(item["version"]["N"])


def placed_event(order: dict[str, Any]) -> dict[str, Any]:
    return order_placed(
        {
            "orderId": order["order_id"],
            "customerId": order["customer_id"],
            "currency": order["currency"],
            "total": order["total"],
            "itemCount": len(order["items"]),
            "placedAt": order["created_at"],
        }
    )


def status_changes(stack: LocalStack, order_id: str) -> int:
    """MODIFY records of the order's stream whose status differs from the old image's."""
    streams = stack.client("dynamodbstreams")
    arn = stack.resources.stream_arns["OrdersTable"]
    changes = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                images = record["dynamodb"]
                if record["eventName"] == "MODIFY" and images["NewImage"]["order_id"]["S"] == order_id:
                    changes += images["NewImage"]["status"]["S"] != images["OldImage"]["status"]["S"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return changes


def test_processing_a_pending_order_marks_it_completed_with_exactly_one_update(
    stack: LocalStack, call_api: CallApi
) -> None:
    order = call_api(api_request("POST", "/orders", body=order_body())).body

    eventually(lambda: stored_version(stack, order["order_id"]) == ("completed", 2))
    again = stack.invoke("ProcessOrderFunction", placed_event(order))

    assert again.ok
    assert again.payload == {"orderId": order["order_id"], "status": "completed", "transitioned": False}
    assert stored_version(stack, order["order_id"]) == ("completed", 2)


def test_an_order_over_the_limit_is_rejected_with_its_reason(stack: LocalStack, call_api: CallApi) -> None:
    body = order_body(currency="EUR", items=[{"sku": "CAR", "quantity": 2, "unit_price": "9000.00"}])
    order_id = call_api(api_request("POST", "/orders", body=body)).body["order_id"]

    eventually(lambda: stored_version(stack, order_id)[0] == "rejected")
    found = call_api(
        api_request("GET", f"/orders/{order_id}", resource="/orders/{order_id}", path_parameters={"order_id": order_id})
    )
    assert found.body["reason"] == "total 18000.00 EUR exceeds the maximum of 10000.00 EUR"


def test_the_same_event_delivered_twice_and_concurrently_transitions_once_and_emails_once(
    stack: LocalStack, call_api: CallApi, emails_to: Callable[[str], list[Any]]
) -> None:
    body = order_body()
    order = call_api(api_request("POST", "/orders", body=body)).body
    event = placed_event(order)
    repository = DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])
    rules = OrderRules(max_totals={"EUR": Decimal("10000")})
    barrier = threading.Barrier(2)
    outcomes: list[ProcessOutcome] = []

    def deliver_concurrently() -> None:
        barrier.wait()
        outcomes.append(
            process_order(order["order_id"], orders=repository, rules=rules, clock=lambda: datetime.now(UTC))
        )

    threads = [threading.Thread(target=deliver_concurrently) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duplicates = [stack.invoke("ProcessOrderFunction", event) for _ in range(2)]
    assert stack.wait_until_idle(timeout=30)

    assert [duplicate.payload["transitioned"] for duplicate in duplicates] == [False, False]
    assert sum(outcome.transitioned for outcome in outcomes) <= 1
    assert stored_version(stack, order["order_id"]) == ("completed", 2)
    assert status_changes(stack, order["order_id"]) == 1
    assert len(emails_to(body["customer_email"])) == 1


def test_an_invalid_event_is_refused_with_the_failing_fields_so_it_reaches_the_failure_destination(
    stack: LocalStack,
) -> None:
    invocation = stack.invoke("ProcessOrderFunction", order_placed({"orderId": "x"}))

    assert not invocation.ok
    assert invocation.error is not None
    assert invocation.error["errorType"] == "InvalidOrderEventError"
    for field in ("detail.customerId", "detail.total", "detail.placedAt"):
        assert field in invocation.error["errorMessage"]


def test_a_refused_event_logs_no_order_id_left_over_from_the_previous_invocation(
    stack: LocalStack, call_api: CallApi
) -> None:
    order = call_api(api_request("POST", "/orders", body=order_body())).body
    eventually(lambda: stored_version(stack, order["order_id"])[0] == "completed")
    assert stack.invoke("ProcessOrderFunction", placed_event(order)).ok
    before = len(stack.logs.lines)

    stack.invoke("ProcessOrderFunction", order_placed({"orderId": "x"}))

    (refusal,) = [line.text for line in stack.logs.lines[before:] if "Refusing an event" in line.text]
    assert order["order_id"] not in refusal
